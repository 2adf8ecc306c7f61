"""Attention-map knowledge distillation (BC-CMT, SPEC §1.3).

BC-CMT's self-attention is 1-D over time, so a map is ``(B, heads, T', T')`` whatever the
model's width or frequency resolution: a student's maps can be matched to a teacher's directly.
Maps are averaged over heads (head counts may differ) and each row — the attention
distribution of one query frame — is matched with KL(teacher || student) (``"kl"``) or with the
mean squared error (``"mse"``). Student block ``i`` of ``S`` is matched to teacher block
``round((i + 1) T / S) - 1`` of ``T`` (evenly spread, last to last) unless a map is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def default_layer_map(n_student: int, n_teacher: int) -> list[int]:
    """Teacher block index for each student block: evenly spread, the last matched to the last."""
    if n_student < 1 or n_teacher < 1:
        raise ValueError("both models need at least one attention block to distil maps")
    return [max(0, round((i + 1) * n_teacher / n_student) - 1) for i in range(n_student)]


def attention_kd_loss(
    student: Sequence[torch.Tensor],
    teacher: Sequence[torch.Tensor],
    layer_map: Sequence[int] | None = None,
    kind: str = "kl",
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Distance between student and teacher attention maps, averaged over matched blocks.

    Args:
        student: student maps, each ``(B, H_s, T, T)``.
        teacher: teacher maps, each ``(B, H_t, T, T)`` (no gradient needed).
        layer_map: teacher index for each student block (default :func:`default_layer_map`).
        kind: ``"kl"`` (row-wise KL(teacher || student)) or ``"mse"``.
        lengths: valid frames per item; padded query rows are ignored.

    Returns:
        A scalar loss.
    """
    if kind not in ("kl", "mse"):
        raise ValueError(f"unknown attention KD loss {kind!r}; use 'kl' or 'mse'")
    layer_map = (
        list(layer_map) if layer_map is not None else default_layer_map(len(student), len(teacher))
    )
    if len(layer_map) != len(student) or max(layer_map) >= len(teacher):
        raise ValueError(
            f"layer_map {layer_map} must give one teacher block (< {len(teacher)}) per student block "
            f"({len(student)})"
        )
    total = student[0].new_zeros(())
    for s_map, t_idx in zip(student, layer_map, strict=True):
        t_map = teacher[t_idx].detach()
        if s_map.shape[-2:] != t_map.shape[-2:]:
            raise ValueError(
                f"attention maps differ in time size: student {tuple(s_map.shape)} vs teacher "
                f"{tuple(t_map.shape)}; feed both models the same frames"
            )
        s, t = s_map.mean(1), t_map.mean(1)  # (B, T, T)
        if kind == "kl":
            rows = (t * (torch.log(t.clamp(min=1e-8)) - torch.log(s.clamp(min=1e-8)))).sum(-1)
        else:
            rows = ((s - t) ** 2).sum(-1)
        if lengths is None:
            total = total + rows.mean()
        else:
            mask = (
                torch.arange(rows.shape[1], device=rows.device)[None] < lengths[:, None]
            ).float()
            total = total + (rows * mask).sum() / mask.sum().clamp(min=1.0)
    return total / len(student)
