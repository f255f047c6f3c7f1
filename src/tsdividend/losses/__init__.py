"""Loss math as small pure functions; objectives compose them."""

from tsdividend.losses.sigreg import epps_pulley, random_directions, sigreg

__all__ = ["epps_pulley", "random_directions", "sigreg"]
