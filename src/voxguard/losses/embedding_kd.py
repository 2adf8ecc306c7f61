"""Embedding distillation: make a student reproduce a pretrained teacher's speaker embeddings.

The student's embedding ``s`` (dim ``E_s``) goes through a learned linear projection ``P``
(``E_s -> E_t``, used in training only) and is pulled towards the teacher's embedding ``t`` of the
same speech with ``1 - cos(P s, t)``. Several teacher targets (e.g. of the clean crop and of the
clean whole utterance) can be weighted together.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class EmbeddingDistillLoss(nn.Module):
    """``sum_k w_k * mean(1 - cos(P s, t_k))`` with a learned projection ``P`` (identity if dims match
    and ``project=False``)."""

    def __init__(self, student_dim: int, teacher_dim: int, project: bool = True) -> None:
        super().__init__()
        if not project and student_dim != teacher_dim:
            raise ValueError(
                f"student dim {student_dim} != teacher dim {teacher_dim}: set project=True"
            )
        self.proj = nn.Linear(student_dim, teacher_dim, bias=False) if project else nn.Identity()

    def forward(
        self,
        student: torch.Tensor,
        targets: Sequence[torch.Tensor],
        weights: Sequence[float],
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Total loss and the per-target mean cosine similarities (for logging)."""
        z = nn.functional.normalize(self.proj(student), dim=-1)
        total = student.new_zeros(())
        cosines = []
        for t, w in zip(targets, weights, strict=True):
            cos = (z * nn.functional.normalize(t, dim=-1)).sum(-1).mean()
            cosines.append(cos.detach())
            total = total + w * (1.0 - cos)
        return total, cosines


def similarity_matching_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """``1 - Pearson correlation`` between the student's and the teacher's cosine similarities
    over the distinct pairs of a batch (similarity-preserving KD, Tung & Mori, ICCV 2019, on the
    cosine Gram matrix of the embeddings).

    :class:`EmbeddingDistillLoss` matches each embedding to its teacher target through the learned
    projection ``P``, while verification scores the cosine of ``s`` itself; this term shapes that
    scoring geometry directly: pairs the teacher finds more alike should be more alike in ``s``.
    The correlation, not the squared difference, because a verification score's errors do not
    change under an affine map of it, and the two spaces differ by one (the teacher's ReLU
    embeddings have all-positive cosines, mean about 0.5; a student's are centred near 0): a
    squared difference would spend the term on that offset.
    """
    n = student.shape[0]
    if n < 3:
        return student.new_zeros(())
    zs = nn.functional.normalize(student, dim=-1)
    zt = nn.functional.normalize(teacher, dim=-1)
    off = ~torch.eye(n, dtype=torch.bool, device=student.device)
    a, b = (zs @ zs.T)[off], (zt @ zt.T)[off]
    a, b = a - a.mean(), b - b.mean()
    return 1.0 - (a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12)
