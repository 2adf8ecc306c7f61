"""A voice login fails closed, and user mistakes get one line (nineteenth session's probe):
non-finite thresholds, a NaN score in the cascade, enrollment from silence or noise, unusable
enrollment files, bad numeric options, unknown devices, non-UTF-8 or BOM manifests."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from voxguard.api import SASVSystem, SpeakerVerifier, SpoofDetector, load_embedding, save_embedding
from voxguard.api.verifier import Verification
from voxguard.cli.main import main
from voxguard.data.manifest import read_manifest
from voxguard.errors import AudioError, VoxguardError
from voxguard.testing.audio import synthetic_speech, write_wav


@pytest.fixture(scope="module")
def permissive_cm():
    # a threshold far below any score: every input with speech is called bona fide
    return SpoofDetector.from_pretrained("debug_cm", random_init=True, threshold=-1e9)


@pytest.fixture(scope="module")
def asv():
    return SpeakerVerifier.from_pretrained("debug_spk", random_init=True, threshold=-1.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_thresholds_are_refused_by_the_api(bad, asv, permissive_cm):
    with pytest.raises(VoxguardError, match="finite"):
        SpoofDetector.from_pretrained("debug_cm", random_init=True, threshold=bad)
    with pytest.raises(VoxguardError, match="finite"):
        SpeakerVerifier.from_pretrained("debug_spk", random_init=True, threshold=bad)
    with pytest.raises(VoxguardError, match="finite"):
        SASVSystem(permissive_cm, asv, threshold=bad)


def test_a_nan_asv_score_never_passes_the_cascade(permissive_cm, asv, monkeypatch):
    speech = synthetic_speech(2.0)
    system = SASVSystem(permissive_cm, asv)
    enrollment = asv.embed_array(speech)
    assert system.verify(enrollment, speech, 16000).decision == "accept"  # the control
    monkeypatch.setattr(asv, "verify", lambda e, t: Verification("<array>", float("nan")))
    result = system.verify(enrollment, speech, 16000)
    assert result.cm_decision == "bonafide"
    # before: min(cm margin, NaN) is the cm margin in Python, so the impostor was accepted
    assert result.asv_decision == "reject" and result.decision == "reject"


@pytest.mark.parametrize(
    "signal",
    [
        np.zeros(48000),
        # white noise is "speech" to the energy gate that tests use by default: the real VAD
        pytest.param(
            0.1 * np.random.default_rng(0).standard_normal(48000),
            marks=pytest.mark.vad,
            id="white-noise",
        ),
    ],
    ids=["silence", "white-noise"],
)
def test_no_speaker_is_enrolled_from_silence_or_noise(asv, signal):
    with pytest.raises(AudioError, match="no speech to enroll"):
        asv.enroll([synthetic_speech(3.0), signal.astype(np.float32)])
    assert asv.enroll([synthetic_speech(3.0)]).shape == (
        asv.embed_array(synthetic_speech(1.0)).size,
    )


def test_cli_enroll_refuses_silence_and_writes_nothing(tmp_path, capsys):
    good = write_wav(tmp_path / "good.wav", 3.0, seed=1)
    silent = tmp_path / "silent.wav"
    import soundfile as sf

    sf.write(silent, np.zeros(48000, np.float32), 16000)
    out = tmp_path / "spk.npy"
    args = [
        "enroll",
        str(good),
        str(silent),
        "-o",
        str(out),
        "--model",
        "debug_spk",
        "--random-init",
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "silent.wav" in err and "no speech to enroll" in err
    assert not out.exists()


def test_unusable_enrollment_files_are_refused(tmp_path, asv):
    for name, data in {"nan.npy": np.full(8, np.nan), "zeros.npy": np.zeros(8)}.items():
        np.save(tmp_path / name, data.astype(np.float32))
        with pytest.raises(VoxguardError, match="not a usable speaker embedding"):
            load_embedding(tmp_path / name)
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(VoxguardError, match="not an embedding file"):
        load_embedding(tmp_path / "empty.npy")
    with pytest.raises(VoxguardError, match="not a usable speaker embedding"):
        asv.score(np.full(8, np.nan, np.float32), synthetic_speech(1.0))
    (tmp_path / "text.npy").write_text("not an array")
    with pytest.raises(VoxguardError, match="not a NumPy .npy array") as exc:
        load_embedding(tmp_path / "text.npy")
    assert "pickle" not in str(exc.value)
    with pytest.raises(VoxguardError, match="is a folder"):
        load_embedding(tmp_path)
    with pytest.raises(VoxguardError, match=r"\.npy or \.json"):
        save_embedding(tmp_path / "spk.txt", np.ones(8, np.float32))
    assert not (tmp_path / "spk.txt.npy").exists()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["detect", "--threshold", "nan", "x.wav"], "--threshold: nan is not a finite number"),
        (["verify", "--enrollment", "a.npy", "--fused-threshold", "inf", "b"], "not a finite"),
        (["detect", "--threads", "0", "x.wav"], "--threads: 0 must be 1 or more"),
        (["score", "d", "-o", "s.tsv", "--batch-size", "0"], "--batch-size: 0 must be 1 or more"),
        (["detect", "--aggregate", "p200", "x.wav"], "--aggregate: aggregate must be"),
        (["complexity", "debug_cm", "--seconds", "nan"], "--seconds: nan is not a finite"),
        (["calibrate", "s", "k", "--l2=-5"], "--l2: -5 must be 0 or more"),
        (["evaluate", "cm"], "the following arguments are required"),
        (["serve", "--port", "99999"], "--port: 99999 is not a TCP port (1-65535)"),
    ],
)
def test_bad_options_give_one_line_and_status_2(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "--help" in err
    assert len(err.strip().splitlines()) == 1 and "usage:" not in err


@pytest.mark.parametrize(
    "device, needle", [("bogus", "not a torch device"), ("cuda:7", "no CUDA GPU")]
)
def test_unknown_or_absent_devices_are_clear_errors(device, needle):
    torch = pytest.importorskip("torch")
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(VoxguardError, match=needle):
        SpoofDetector.from_pretrained("debug_cm", random_init=True, device=device)


def test_manifest_with_a_bom_reads_and_non_utf8_is_one_line(tmp_path):
    line = json.dumps({"utt": "u1", "path": "a.wav", "label": "bonafide"}) + "\n"
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + line.encode())
    assert [u.utt for u in read_manifest(bom)] == ["u1"]
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(line.encode() + b'{"utt": "caf\xe9"}\n')
    with pytest.raises(VoxguardError, match="latin.jsonl: not UTF-8 text"):
        read_manifest(latin)


def test_models_says_when_nothing_matches(capsys):
    assert main(["models", "zzz*"]) == 1
    assert "no registered model matches 'zzz*'" in capsys.readouterr().err
    assert main(["models", "debug_*"]) == 0
    assert "debug_cm" in capsys.readouterr().out


def test_embed_flags_an_input_without_speech(tmp_path, capsys):
    import soundfile as sf

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    good = write_wav(tmp_path / "good.wav", 2.0, seed=2)
    args = ["embed", str(good), str(silent), "--json", "--model", "debug_spk", "--random-init"]
    assert main(args) == 0
    out = capsys.readouterr()
    records = {json.loads(x)["file"]: json.loads(x) for x in out.out.splitlines()}
    assert records[str(silent)]["speech_fraction"] == 0.0
    assert records[str(good)]["speech_fraction"] > 0.5
    assert "silent.wav: 0 % speech" in out.err and "good.wav" not in out.err


def test_a_folder_given_as_audio_is_named_as_a_folder(tmp_path):
    from voxguard.audio.io import audio_info, load_audio

    for read in (load_audio, audio_info):
        with pytest.raises(AudioError, match="is a folder, not an audio file"):
            read(tmp_path)
    with pytest.raises(AudioError, match="file not found"):
        load_audio(tmp_path / "missing.wav")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_a_pipe_given_as_audio_is_named_as_one_not_read(tmp_path, capsys):
    """A FIFO exists but is no regular file: reading it would block, and "not found" would mislead."""
    from voxguard.audio.io import audio_info, load_audio

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    for read in (load_audio, audio_info):
        with pytest.raises(AudioError, match="is not a regular file"):
            read(fifo)
    assert main(["detect", str(fifo), "--model", "debug_cm", "--random-init"]) != 0
    err = capsys.readouterr().err
    assert "pipe.wav: is not a regular file" in err and "Traceback" not in err


def test_weights_without_a_model_name(tmp_path, debug_weights):
    with pytest.raises(VoxguardError, match="missing.safetensors: weights file not found"):
        SpoofDetector.from_pretrained(weights=tmp_path / "missing.safetensors")
    bare = tmp_path / "w.safetensors"
    bare.write_bytes((debug_weights["debug_cm"] / "model.safetensors").read_bytes())
    with pytest.raises(VoxguardError, match="needs the registered model it belongs to"):
        SpoofDetector.from_pretrained(weights=bare)
    # a weights directory names its own model
    det = SpoofDetector.from_pretrained(weights=debug_weights["debug_cm"])
    assert det.name == "debug_cm"


def test_verify_refuses_a_bad_enrollment_before_printing_anything(tmp_path, capsys):
    np.save(tmp_path / "nan.npy", np.full(8, np.nan, np.float32))
    good = write_wav(tmp_path / "t.wav", 1.0, seed=4)
    args = ["verify", "--enrollment", str(tmp_path / "nan.npy"), str(good)]
    assert main(args) == 2  # before any model loads, and before the operating-point line
    out = capsys.readouterr()
    assert out.out == "" and "not a usable speaker embedding" in out.err


def test_enroll_refuses_an_output_in_a_missing_folder_before_work(tmp_path, capsys):
    good = write_wav(tmp_path / "good.wav", 2.0, seed=1)
    out = tmp_path / "missing" / "spk.npy"
    args = ["enroll", str(good), "-o", str(out), "--model", "debug_spk", "--random-init"]
    assert main(args) == 2
    assert "does not exist; create it first" in capsys.readouterr().err
    assert not out.parent.exists()


def test_an_enrollment_of_another_model_is_one_error_not_one_per_file(
    tmp_path, capsys, debug_weights
):
    # an enrollment from a model with another embedding size is wrong for every trial: one line,
    # status 2, no decision printed (it used to be a per-file error and status 1)
    np.save(tmp_path / "other.npy", np.ones(7, np.float32))
    tests = [str(write_wav(tmp_path / f"t{i}.wav", 1.0, seed=i)) for i in range(2)]
    cm, spk = str(debug_weights["debug_cm"]), str(debug_weights["debug_spk"])
    args = ["verify", *tests, "--enrollment", str(tmp_path / "other.npy"), "--cm-model", cm]
    assert main([*args, "--asv-model", spk, "--json"]) == 2
    out = capsys.readouterr()
    assert "has 7 dimensions" in out.err and len(out.err.strip().splitlines()) == 1
    assert not [line for line in out.out.splitlines() if line.startswith("{")]
