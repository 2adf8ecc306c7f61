"""``voxguard.losses.embedding_kd``: teacher-embedding distillation and similarity matching."""

from __future__ import annotations

import numpy as np
import torch

from voxguard.losses.embedding_kd import EmbeddingDistillLoss, similarity_matching_loss


def test_distill_loss_is_one_minus_cosine_without_projection() -> None:
    s = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    t = torch.tensor([[0.0, 2.0], [3.0, 3.0]])
    loss, cos = EmbeddingDistillLoss(2, 2, project=False)(s, [t], [2.0])
    # cosines by hand: 0 and 1, mean 0.5; loss 2 * (1 - 0.5)
    assert torch.isclose(cos[0], torch.tensor(0.5))
    assert torch.isclose(loss, torch.tensor(1.0))


def test_similarity_matching_is_zero_for_the_same_geometry() -> None:
    g = torch.Generator().manual_seed(0)
    t = torch.randn(16, 8, generator=g)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    # a rotation and a rescaling of every embedding keep all cosines
    s = (t @ q) * torch.rand(16, 1, generator=g).add(0.5)
    assert similarity_matching_loss(s, t).abs() < 1e-5
    assert similarity_matching_loss(t, t).abs() < 1e-6


def test_similarity_matching_is_one_minus_the_pearson_correlation_of_pair_cosines() -> None:
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(6, 4, generator=g), torch.randn(6, 5, generator=g)

    def pair_cosines(x: np.ndarray) -> np.ndarray:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        c = x @ x.T
        return c[~np.eye(len(x), dtype=bool)]

    expected = (
        1.0 - np.corrcoef(pair_cosines(s.double().numpy()), pair_cosines(t.double().numpy()))[0, 1]
    )
    assert abs(similarity_matching_loss(s, t).item() - expected) < 1e-5


def test_similarity_matching_of_two_embeddings_is_zero() -> None:
    # one pair has no correlation to take: the term is off, not NaN
    s, t = torch.randn(2, 4), torch.randn(2, 4)
    assert similarity_matching_loss(s, t) == 0
