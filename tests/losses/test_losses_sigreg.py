"""SIGReg pinned against an independent numerical-integration reference."""

import numpy as np
import pytest
import torch
from scipy import integrate

from tsdividend.losses import epps_pulley, random_directions, sigreg


def _reference_statistic(z: np.ndarray, t_max: float) -> float:
    """N * int_{-t_max}^{t_max} |ECF(t) - exp(-t^2/2)|^2 exp(-t^2/2) dt (adaptive quadrature)."""

    def integrand(t: float) -> float:
        ecf_re = np.cos(t * z).mean()
        ecf_im = np.sin(t * z).mean()
        g = np.exp(-0.5 * t * t)
        return ((ecf_re - g) ** 2 + ecf_im**2) * g

    val, _ = integrate.quad(integrand, -t_max, t_max, limit=200)
    return len(z) * val


@pytest.mark.parametrize("shift,scale", [(0.0, 1.0), (0.7, 1.0), (0.0, 0.3), (0.0, 2.0)])
def test_matches_numerical_integration(shift, scale):
    rng = np.random.default_rng(0)
    z = rng.normal(shift, scale, size=(400, 1))
    ours = epps_pulley(torch.tensor(z), t_max=3.0, n_knots=17).item()
    ref = _reference_statistic(z[:, 0], t_max=3.0)
    # 17-knot trapezoid vs adaptive quadrature: smooth integrand, so a few percent at most.
    assert ours == pytest.approx(ref, rel=0.03, abs=2e-3)
    fine = epps_pulley(torch.tensor(z), t_max=3.0, n_knots=1001).item()
    assert fine == pytest.approx(ref, rel=1e-4, abs=1e-6)


def test_small_for_gaussian_large_for_collapsed_or_shifted():
    g = torch.Generator().manual_seed(0)
    n, d = 2048, 32
    gaussian = torch.randn(n, d, generator=g)
    dirs = random_directions(d, 256, torch.Generator().manual_seed(1))
    ok = sigreg(gaussian, dirs).item()
    collapsed = sigreg(torch.zeros(n, d) + 0.01 * torch.randn(n, d, generator=g), dirs).item()
    shifted = sigreg(gaussian + 1.0, dirs).item()
    low_rank = sigreg(torch.randn(n, 1, generator=g).repeat(1, d), dirs).item()
    # For N(0, 1) projections E[T] = int (1 - e^{-t^2}) e^{-t^2/2} dt over [-3, 3] (the ECF's
    # variance), about 1.06 whatever N; averaged over 256 slices it is close to that.
    expected, _ = integrate.quad(lambda t: (1 - np.exp(-t * t)) * np.exp(-0.5 * t * t), -3, 3)
    assert ok == pytest.approx(expected, rel=0.25)
    # Departures from N(0, I) grow linearly with N.
    assert collapsed > 100 * ok and shifted > 100 * ok and low_rank > 100 * ok


def test_directions_are_unit_and_seeded():
    a = random_directions(16, 8, torch.Generator().manual_seed(3))
    b = random_directions(16, 8, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert torch.allclose(a.norm(dim=0), torch.ones(8))


def test_gradient_flows_and_shape_errors():
    x = torch.randn(64, 8, requires_grad=True)
    dirs = random_directions(8, 16, torch.Generator().manual_seed(0))
    sigreg(x * 3, dirs).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"x \(N, D\) and directions \(D, K\)"):
        sigreg(torch.randn(4, 3), dirs)
