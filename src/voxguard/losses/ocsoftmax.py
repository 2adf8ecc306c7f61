"""One-class softmax (OC-softmax) for spoofing countermeasures.

Zhang, Jiang & Duan, "One-class learning towards synthetic voice spoofing detection", IEEE SPL
2021 (reference code: ``yzyouzhang/AIR-ASVspoof``, ``loss.py``, class ``OCSoftmax``). Bona fide
embeddings are pulled inside a tight cone around one learned direction ``w`` and spoofs pushed
out of a wide one, so unseen attacks need not resemble the training spoofs to fall outside:

    L = mean_i  softplus( alpha * (m_{y_i} - cos(w, x_i)) * (-1)^{y_i} )

with ``m_bona = 0.9``, ``m_spoof = 0.2``, ``alpha = 20`` (the paper's values). The reference
code writes the bona fide class as label 0 and flips the score's sign; voxguard's CM contract has
index 1 = bona fide, so here ``labels == 1`` is bona fide and the score is ``cos(w, x)`` itself
(larger = more bona fide). The head that computes the cosine is
``voxguard.models.cm.lcnn.OneClassHead``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

M_BONA = 0.9
M_SPOOF = 0.2
ALPHA = 20.0


def oc_softmax_loss(
    cos: torch.Tensor,
    labels: torch.Tensor,
    m_bona: float = M_BONA,
    m_spoof: float = M_SPOOF,
    alpha: float = ALPHA,
) -> torch.Tensor:
    """OC-softmax loss of cosine scores ``cos (B,)`` for labels ``(B,)`` (1 = bona fide, 0 = spoof)."""
    if cos.shape != labels.shape:
        raise ValueError(
            f"oc_softmax_loss: cos {tuple(cos.shape)} and labels {tuple(labels.shape)} differ"
        )
    bona = labels == 1
    # bona fide: softplus(alpha (m_bona - cos)); spoof: softplus(alpha (cos - m_spoof))
    margin = torch.where(bona, alpha * (m_bona - cos), alpha * (cos - m_spoof))
    return F.softplus(margin).mean()
