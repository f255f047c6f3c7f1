"""Loss math as small pure functions; objectives compose them."""

from tsdividend.losses.distillation import dino_loss, update_center
from tsdividend.losses.latent import (
    positional_covariance,
    positional_variance,
    token_regression,
)
from tsdividend.losses.multiview import sigreg_per_view, view_invariance
from tsdividend.losses.reconstruction import floored_stats, masked_mse
from tsdividend.losses.sigreg import epps_pulley, random_directions, sigreg
from tsdividend.losses.similarity import normalized_mse

__all__ = [
    "dino_loss",
    "normalized_mse",
    "update_center",
    "epps_pulley",
    "floored_stats",
    "masked_mse",
    "positional_covariance",
    "positional_variance",
    "random_directions",
    "sigreg",
    "sigreg_per_view",
    "token_regression",
    "view_invariance",
]
