"""SIGReg: sketched isotropic Gaussian regularisation (Balestriero & LeCun 2025, LeJEPA).

Embeddings are projected on K random unit directions; on each 1-D projection the Epps-Pulley
statistic measures the distance between the empirical characteristic function (ECF) and that of
N(0, 1):

    T = N * integral_{-inf}^{inf} |phi_N(t) - exp(-t^2/2)|^2 * exp(-t^2/2) dt,
    phi_N(t) = mean_n cos(t z_n) + i * mean_n sin(t z_n).

The integrand is even in t, so it is integrated on [0, t_max] (3 by default) by the trapezoid rule
on 17 knots and doubled, as in the official LeJEPA minimal recipe (rbalestr-lab/lejepa
``MINIMAL.md``). The loss is the mean of T over the slices. Cost O(N*D*K + N*K*knots): linear
in the batch, no N^2 term.

Under data parallelism the ECF means are averaged over ranks (``all_reduce``) before the distance
is taken, and N is the global sample count, so every rank computes exactly the single-process
statistic of the global batch (assuming equal per-rank batch sizes, which the trainer enforces).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


def random_directions(dim: int, num_slices: int, generator: torch.Generator) -> Tensor:
    """K random unit directions as columns, shape (dim, num_slices), on the generator's device.

    Resample every step from a generator seeded identically on every rank (e.g. by the global
    step) so all ranks project on the same directions.
    """
    a = torch.randn(dim, num_slices, generator=generator, device=generator.device)
    return a / a.norm(dim=0, keepdim=True)


def _trapezoid_weights(t_max: float, n_knots: int, device: torch.device) -> tuple[Tensor, Tensor]:
    t = torch.linspace(0.0, t_max, n_knots, device=device, dtype=torch.float32)
    w = torch.full_like(t, t_max / (n_knots - 1))
    w[0] = w[-1] = w[0] / 2
    return t, 2.0 * w  # doubled: the integral over the negative half equals the positive one


def epps_pulley(
    z: Tensor, t_max: float = 3.0, n_knots: int = 17, distributed: bool | None = None
) -> Tensor:
    """Epps-Pulley normality statistic of each column of ``z``.

    Args:
        z: projections, shape (N, K): N samples of K one-dimensional slices.
        t_max: upper end of the integration range [0, t_max].
        n_knots: trapezoid knots (>= 2).
        distributed: all-reduce the ECF means over ranks; default: when torch.distributed is
            initialised with more than one process.

    Returns:
        Statistic per slice, shape (K,), computed in float32. ~0 (O(1) noise) for N(0, 1)
        samples, growing linearly with N for any other distribution.
    """
    if z.ndim != 2:
        raise ValueError(f"epps_pulley expects (N, K) projections, got shape {tuple(z.shape)}")
    if n_knots < 2:
        raise ValueError(f"n_knots must be >= 2, got {n_knots}")
    z = z.float()
    t, w = _trapezoid_weights(t_max, n_knots, z.device)
    zt = z.unsqueeze(-1) * t  # (N, K, knots)
    cos_mean = torch.cos(zt).mean(0)  # (K, knots)
    sin_mean = torch.sin(zt).mean(0)
    n = z.shape[0]
    if distributed is None:
        distributed = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    if distributed:
        world = dist.get_world_size()
        stacked = torch.stack([cos_mean, sin_mean])
        stacked = _all_reduce_mean(stacked, world)
        cos_mean, sin_mean = stacked[0], stacked[1]
        n = n * world
    gauss = torch.exp(-0.5 * t**2)
    err = (cos_mean - gauss) ** 2 + sin_mean**2  # |phi_N(t) - phi(t)|^2
    return n * (err * gauss * w).sum(-1)


def _all_reduce_mean(x: Tensor, world: int) -> Tensor:
    """Differentiable all-reduce mean (gradients flow back to each rank's own contribution)."""
    import torch.distributed.nn.functional as dist_fn

    return dist_fn.all_reduce(x) / world


def sigreg(
    x: Tensor,
    directions: Tensor,
    t_max: float = 3.0,
    n_knots: int = 17,
    distributed: bool | None = None,
) -> Tensor:
    """SIGReg loss: mean Epps-Pulley statistic of ``x`` projected on ``directions``.

    Args:
        x: embeddings, shape (N, D).
        directions: unit directions, shape (D, K) (see :func:`random_directions`).
        t_max, n_knots, distributed: see :func:`epps_pulley`.

    Returns:
        Scalar loss (float32).
    """
    if x.ndim != 2 or directions.ndim != 2 or x.shape[1] != directions.shape[0]:
        raise ValueError(
            f"sigreg expects x (N, D) and directions (D, K); got {tuple(x.shape)} and "
            f"{tuple(directions.shape)}"
        )
    proj = x.float() @ directions.float()
    return epps_pulley(proj, t_max=t_max, n_knots=n_knots, distributed=distributed).mean()
