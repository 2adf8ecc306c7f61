"""``from_pretrained("org/name")`` through huggingface_hub's cache, never the network.

The cache layout (``models--org--name/refs/main`` + ``snapshots/<commit>/``) is built here under
a temporary ``HF_HUB_CACHE``; ``HF_HUB_OFFLINE=1`` makes sure nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("huggingface_hub")

from voxguard.api import SpoofDetector  # noqa: E402
from voxguard.errors import WeightsError  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch, debug_weights):
    cache = tmp_path / "hub"
    repo = cache / "models--voxguard-test--debug-cm"
    snap = repo / "snapshots" / COMMIT
    shutil.copytree(debug_weights["debug_cm"], snap)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return snap


def test_cached_hub_repo_loads_like_its_directory(hub_cache, debug_weights, audio_files):
    hub = SpoofDetector.from_pretrained("voxguard-test/debug-cm")
    local = SpoofDetector.from_pretrained(str(debug_weights["debug_cm"]))
    assert hub.name == "debug_cm" and hub.weights_path == hub_cache
    wav = audio_files["good"]
    assert hub.score_file(wav).score == pytest.approx(local.score_file(wav).score, abs=1e-6)


def test_tampered_hub_download_fails_the_sha256_check(hub_cache):
    meta = json.loads((hub_cache / "config.json").read_text())
    weights = hub_cache / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    assert meta["card"]["sha256"]
    with pytest.raises(WeightsError, match="sha256|hash|checksum"):
        SpoofDetector.from_pretrained("voxguard-test/debug-cm")


def test_uncached_repo_offline_is_a_clear_error(hub_cache):
    with pytest.raises(WeightsError, match="not in the Hugging Face cache"):
        SpoofDetector.from_pretrained("voxguard-test/not-there")
