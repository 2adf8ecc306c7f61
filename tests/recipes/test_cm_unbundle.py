"""``recipes/cm/unbundle.py``: a shipped fusion's branch back as a run folder that ``fuse.py`` reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

CM = Path(__file__).resolve().parents[2] / "recipes" / "cm"


def test_an_unbundled_branch_feeds_fuse_card_writer(tmp_path: Path) -> None:
    from voxguard.models import create_model
    from voxguard.models._hub import read_config, resolve_pretrained_dir

    out = tmp_path / "wide"
    subprocess.run(
        [sys.executable, str(CM / "unbundle.py"), "lcnn_triplesam_engine", "0.1", str(out)],
        check=True,
        capture_output=True,
    )
    best = torch.load(out / "best.pt", weights_only=True)
    assert best["model_name"] == "lcnn_wide"
    create_model("lcnn_wide").load_state_dict(best["model"])  # the weights fit the architecture
    summary = json.loads((out / "summary.json").read_text())
    card = read_config(resolve_pretrained_dir("lcnn_triplesam_engine"))["card"]
    assert summary["attacks_seen"] == card["attacks_seen"] and summary["attacks_seen"]

    sys.path.insert(0, str(CM))
    try:
        from fuse import record_training
    finally:
        sys.path.remove(str(CM))
    fused = {
        "fusion": {"weights": [1.0, 2.0]},
        "training": {"model": "x"},
        "attacks_seen": ["voc-x"],
    }
    keys = record_training(fused, out, summary)  # raised KeyError on 'attacks_seen' before
    assert "branch_1_training" in keys and fused["branch_1_training"]["model"] == "lcnn_wide"
    assert set(fused["attacks_seen"]) == {"voc-x", *card["attacks_seen"]}


def test_a_branch_the_tree_lacks_is_a_one_line_error(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            str(CM / "unbundle.py"),
            "lcnn_triplesam_engine",
            "2",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "no branch 2" in r.stderr and "Traceback" not in r.stderr
