"""``recipes/speaker/wise_ft.py``: it interpolates a fine-tune only with the start its card names."""

from __future__ import annotations

import json
import sys

import pytest


def _run(tmp_path, init_from):
    best = tmp_path / "run" / "best"
    best.mkdir(parents=True)
    card = {"distill": {"init_from": init_from}} if init_from is not None else {}
    (best / "config.json").write_text(json.dumps({"model": "bccmt_tiny", "card": card}))
    return tmp_path / "run"


@pytest.mark.parametrize(
    ("init_from", "message"),
    [("some_other_bundle", "started from 'some_other_bundle'"), (None, "started from None")],
)
def test_refuses_a_run_that_did_not_start_from_start(
    import_recipe, monkeypatch, tmp_path, init_from, message
):
    wise = import_recipe("speaker", "wise_ft")
    run = _run(tmp_path, init_from)
    argv = ["wise_ft.py", str(tmp_path / "no_cache"), str(tmp_path / "out"), str(run)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit, match=message):
        wise.main()
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--alpha", "1.5"], "--alpha 1.5"), ([], "no best/config.json")],
)
def test_refuses_bad_alpha_and_a_directory_that_is_not_a_run(
    import_recipe, monkeypatch, tmp_path, extra, message
):
    wise = import_recipe("speaker", "wise_ft")
    argv = ["wise_ft.py", str(tmp_path / "c"), str(tmp_path / "out"), str(tmp_path), *extra]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit, match=message):
        wise.main()
