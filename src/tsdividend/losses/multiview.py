"""Multi-view terms of LeJEPA (Balestriero & LeCun 2025): invariance and per-view SIGReg.

For V views of N samples with embeddings ``z[v, n]`` (V, N, D):

    invariance = mean_n mean_v || z[v, n] - mean_v' z[v', n] ||^2      (LeJEPA's L_pred)
    SIGReg     = mean_v SIGReg(z[v])                                    (one statistic per view)

The official minimal recipe (rbalestr-lab/lejepa ``MINIMAL.md``) computes the invariance as
``(z.mean(0) - z).square().mean()``, i.e. the same quantity divided by D; λ = 0.02 was tuned with
that scale, so :func:`view_invariance` offers both reductions. SIGReg is taken per view with the
view's own sample count N (as in the minimal recipe) rather than on the V*N stacked embeddings:
views of one series are strongly correlated, so stacking them would count near-duplicates as
independent samples and inflate the statistic's N factor by V.
"""

from __future__ import annotations

from torch import Tensor

from tsdividend.losses.sigreg import epps_pulley

REDUCTIONS = ("mean", "sum")


def _check_views(z: Tensor) -> None:
    if z.ndim != 3 or z.shape[0] < 2:
        raise ValueError(f"expected (V, N, D) embeddings with V >= 2, got {tuple(z.shape)}")


def view_invariance(z: Tensor, reduction: str = "sum") -> Tensor:
    """Per-sample mean over views of the squared distance to the views' mean embedding.

    Args:
        z: (V, N, D) embeddings of V >= 2 views of N samples.
        reduction: over the D features, "sum" (the squared L2 norm: LeJEPA's formula) or "mean"
            (the norm divided by D: the official minimal code).

    Returns:
        (N,) float32 per-sample invariance (mean over samples = the LeJEPA term).
    """
    _check_views(z)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction {reduction!r} unknown; valid: {list(REDUCTIONS)}")
    z = z.float()
    sq = (z - z.mean(dim=0, keepdim=True)).pow(2)
    per_view = sq.sum(dim=-1) if reduction == "sum" else sq.mean(dim=-1)  # (V, N)
    return per_view.mean(dim=0)


def sigreg_per_view(
    z: Tensor,
    directions: Tensor,
    t_max: float = 3.0,
    n_knots: int = 17,
    distributed: bool | None = None,
) -> Tensor:
    """Mean over views of the SIGReg statistic of each view (same directions for every view).

    Equal to ``mean_v sigreg(z[v], directions)`` (see :func:`tsdividend.losses.sigreg.sigreg`),
    computed in one Epps-Pulley call (one all-reduce under data parallelism) by treating the
    (view, slice) pairs as V*K slices of the same N samples.

    Args:
        z: (V, N, D) embeddings.
        directions: (D, K) unit directions (:func:`tsdividend.losses.sigreg.random_directions`).
        t_max, n_knots, distributed: see :func:`tsdividend.losses.sigreg.epps_pulley`.

    Returns:
        Scalar float32 loss.
    """
    _check_views(z)
    if directions.ndim != 2 or directions.shape[0] != z.shape[-1]:
        raise ValueError(
            f"directions must be ({z.shape[-1]}, K) for embeddings {tuple(z.shape)}, got "
            f"{tuple(directions.shape)}"
        )
    v, n, _ = z.shape
    proj = z.float() @ directions.float().to(z.device)  # (V, N, K)
    slices = proj.permute(1, 0, 2).reshape(n, -1)  # (N, V*K)
    return epps_pulley(slices, t_max=t_max, n_knots=n_knots, distributed=distributed).mean()
