"""Fast start: backend='onnx' runs a fresh export without torch; --workers keeps scores and order."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from voxguard.api import SpoofDetector
from voxguard.cli.main import main

pytest.importorskip("onnxruntime")


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXGUARD_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_onnx_backend_reuses_the_export_without_building_the_model(debug_weights, cache, tmp_path):
    weights = tmp_path / "cm"
    weights.mkdir()
    for f in debug_weights["debug_cm"].iterdir():
        (weights / f.name).write_bytes(f.read_bytes())
    first = SpoofDetector.from_pretrained(str(weights), backend="onnx")
    assert first.model is not None  # no export yet: built in torch and exported
    again = SpoofDetector.from_pretrained(str(weights), backend="onnx")
    assert again.model is None and again.runner.policy.length == first.runner.policy.length
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 40000).astype(np.float32)
    assert again.score_array(x).score == pytest.approx(first.score_array(x).score, abs=1e-4)
    code = (
        "import sys, numpy as np\n"
        "from voxguard.api import SpoofDetector\n"
        f"d = SpoofDetector.from_pretrained({str(weights)!r}, backend='onnx')\n"
        "d.score_array(np.random.default_rng(0).uniform(-0.5, 0.5, 40000).astype('float32'))\n"
        "assert d.model is None and 'torch' not in sys.modules, sorted(sys.modules)[:5]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_speaker_export_is_refused_as_a_cm(debug_weights, cache):
    from voxguard.api import SpeakerVerifier
    from voxguard.errors import WeightsError

    SpeakerVerifier.from_pretrained(str(debug_weights["debug_spk"]), backend="onnx")
    with pytest.raises(WeightsError, match="not a countermeasure"):
        SpoofDetector.from_pretrained(str(debug_weights["debug_spk"]), backend="onnx")


def test_score_workers_give_the_same_file_in_the_same_order(debug_weights, audio_files, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["good", "nan", "good2", "long", "good"]
    for i, name in enumerate(names):  # a bad file in the middle: its error row must stay
        src = audio_files[name]
        (folder / f"{i:02d}_{name}{src.suffix}").write_bytes(src.read_bytes())
    outs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}.tsv"
        argv = ["score", str(folder), "-o", str(out), "--model", str(debug_weights["debug_cm"])]
        rc = main(argv + ["--workers", str(workers), "--chunk-size", "2", "-q"])
        assert rc == 1  # one file fails either way
        outs[workers] = out.read_text()
    one, two = (text.splitlines() for text in (outs[1], outs[2]))
    assert [r.split("\t")[0] for r in one] == [r.split("\t")[0] for r in two]  # same order
    assert one[-1] == two[-1] and "error=" in two[-1]  # the same error row
    # same scores up to float rounding (files are batched with different neighbours)
    np.testing.assert_allclose(
        [float(r.split("\t")[1]) for r in one[1:-1]],
        [float(r.split("\t")[1]) for r in two[1:-1]],
        rtol=1e-6,
    )


def test_chunk_plan_covers_every_file_once_and_balances_the_tail():
    from voxguard.inference.executors import plan_chunks

    # 200 files, 2 workers, chunks of 16: 16s while >= 64 remain (9 chunks = 144 files), then
    # ceil(remaining / 4): 56 -> 14, 42 -> 11, 31 -> 8, 23 -> 6, 17 -> 5, 12 -> 3, 9 -> 3, 6 -> 2,
    # 4 -> 1, 3 -> 1, 2 -> 1, 1 -> 1 (worked out by hand)
    assert plan_chunks(200, 2, 16) == [16] * 9 + [14, 11, 8, 6, 5, 3, 3, 2, 1, 1, 1, 1]
    for n, workers, size in [(0, 2, 16), (1, 4, 16), (17, 2, 16), (1000, 3, 7)]:
        plan = plan_chunks(n, workers, size)
        assert sum(plan) == n and all(1 <= s <= size for s in plan)
        assert plan == sorted(plan, reverse=True)  # never grows again
