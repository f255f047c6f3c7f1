"""Collapse diagnostics of an encoder's embeddings: per-dimension std and RankMe.

RankMe (Garrido et al. 2023, "RankMe: Assessing the downstream performance of pretrained
self-supervised representations by their rank") is the exponential of the entropy of the
normalised singular values of the (N, D) embedding matrix: D for isotropic embeddings, 1 for a
collapse onto a line. A falling RankMe or a std near 0 flags (dimensional) collapse.
"""

from __future__ import annotations

import torch
from torch import Tensor


def rankme(z: Tensor, eps: float = 1e-7) -> float:
    """Effective rank of embeddings ``z`` (N, D): ``exp(-sum p_k log p_k)``, p = s / sum(s)."""
    s = torch.linalg.svdvals(z.float())
    p = s / (s.sum() + eps) + eps
    return float(torch.exp(-(p * p.log()).sum()))


def embedding_std(z: Tensor) -> float:
    """Mean over dimensions of the std over samples of L2-normalised embeddings (N, D).

    For unit vectors spread uniformly this is about 1/sqrt(D); 0 means collapse (SimSiam's check).
    """
    z = torch.nn.functional.normalize(z.float(), dim=1)
    return float(z.std(dim=0).mean())
