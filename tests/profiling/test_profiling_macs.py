"""MAC counting against hand-derived counts (conv, linear, matmul, SDPA, MHA, LSTM/GRU)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import voxguard
from voxguard.profiling import count_macs, rnn_macs


def test_conv_and_linear_match_hand_count():
    model = nn.Sequential(nn.Conv1d(3, 5, 7, stride=2), nn.Flatten(), nn.LazyLinear(4))
    x = torch.randn(1, 3, 101)
    model(x)  # materialise the lazy layer
    frames = (101 - 7) // 2 + 1  # 48
    expected = frames * 5 * 3 * 7 + (5 * frames) * 4
    assert count_macs(model, x).total == expected


def test_debug_cm_macs_match_hand_count():
    model = voxguard.create_model("debug_cm").eval()
    n = 16000
    frames = (n - 400) // 160 + 1  # Conv1d(1, 8, 400, stride=160)
    conv = frames * 8 * 1 * 400 + frames * 16 * 8 * 3  # + Conv1d(8, 16, 3, padding=1)
    report = count_macs(model, torch.zeros(1, n))
    assert report.total == conv + 16 * 2
    assert report.of("conv") == conv
    assert report.of("out") == 32


class _Attention(nn.Module):
    def __init__(self, use_einsum: bool) -> None:
        super().__init__()
        self.use_einsum = use_einsum

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if self.use_einsum:
            a = torch.einsum("bhqe,bhke->bhqk", q, k).softmax(-1)
            return torch.einsum("bhqk,bhke->bhqe", a, v)
        return F.scaled_dot_product_attention(q, k, v)


@pytest.mark.parametrize("use_einsum", [False, True])
def test_attention_counts_both_products(use_einsum):
    b, h, lq, lk, e = 2, 3, 5, 11, 8
    q, k, v = torch.randn(b, h, lq, e), torch.randn(b, h, lk, e), torch.randn(b, h, lk, e)
    expected = 2 * b * h * lq * lk * e  # Q·Kᵀ and A·V
    assert count_macs(_Attention(use_einsum), q, k, v).total == expected


def test_multihead_attention_eval_fast_path_is_counted():
    e, t = 16, 9

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mha = nn.MultiheadAttention(e, 4, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.mha(x, x, x, need_weights=False)[0]

    x = torch.randn(1, t, e)
    expected = 3 * t * e * e + 2 * t * t * e + t * e * e  # in-proj, attention, out-proj
    assert count_macs(SelfAttention().eval(), x).total == expected


class _LoopLSTM(nn.Module):
    """Single-layer LSTM written with matmuls, which FlopCounterMode counts itself."""

    def __init__(self, lstm: nn.LSTM) -> None:
        super().__init__()
        self.lstm = lstm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w_ih, w_hh = self.lstm.weight_ih_l0, self.lstm.weight_hh_l0
        h = x.new_zeros(x.shape[0], self.lstm.hidden_size)
        c = torch.zeros_like(h)
        for t in range(x.shape[1]):
            gates = x[:, t] @ w_ih.T + h @ w_hh.T
            i, f, g, o = gates.chunk(4, dim=-1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h = o.sigmoid() * c.tanh()
        return h


def test_lstm_analytic_count_equals_matmul_implementation():
    lstm = nn.LSTM(12, 7, batch_first=True, bias=False)
    x = torch.randn(3, 10, 12)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        _LoopLSTM(lstm)(x)
    assert count_macs(lstm, x).total == counter.get_total_flops() // 2 == 3 * 10 * 4 * 7 * (12 + 7)


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize(
    "rnn, per_step",
    [
        # 2 layers x 2 directions: layer 0 sees 6 inputs, layer 1 sees 2*5 = 10
        (
            nn.LSTM(6, 5, num_layers=2, bidirectional=True),
            2 * 4 * 5 * (6 + 5) + 2 * 4 * 5 * (10 + 5),
        ),
        (nn.GRU(6, 5), 3 * 5 * (6 + 5)),
        (nn.RNN(6, 5), 5 * (6 + 5)),
        (nn.LSTM(6, 5, proj_size=3), 4 * 5 * (6 + 3) + 3 * 5),
    ],
)
def test_rnn_analytic_formula(rnn, per_step):
    assert rnn_macs(rnn, steps=1) == per_step
    x = torch.randn(13, 2, 6)  # (T, B, D)
    assert count_macs(rnn, x).total == per_step * 13 * 2


def test_packed_sequence_counts_real_steps_only():
    lstm = nn.LSTM(4, 3, batch_first=True)
    x = torch.randn(2, 9, 4)
    packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor([9, 4]), batch_first=True)
    assert count_macs(lstm, packed).total == 4 * 3 * (4 + 3) * (9 + 4)


def test_lstm_inside_components_is_attributed():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.frontend = nn.Linear(4, 8)
            self.backend = nn.LSTM(8, 6, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.backend(self.frontend(x))[0]

    report = count_macs(Net(), torch.randn(1, 20, 4))
    assert report.of("frontend") == 20 * 4 * 8
    assert report.of("backend") == 20 * 4 * 6 * (8 + 6)
    assert report.total == report.of("frontend") + report.of("backend") == report.of("")


def test_matrix_vector_products_are_counted():
    class MV(nn.Module):
        def forward(self, a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return a @ v + torch.dot(v, v)

    assert count_macs(MV(), torch.randn(5, 7), torch.randn(7)).total == 5 * 7 + 7


def test_fft_is_reported_as_uncounted():
    class Spec(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.fft.rfft(x).abs()

    report = count_macs(Spec(), torch.randn(1, 64))
    assert report.total == 0
    assert report.uncounted_ops == ["aten._fft_r2c"]
