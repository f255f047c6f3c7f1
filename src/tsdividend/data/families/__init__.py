"""The built-in dataset families, one module each, registered in ``FAMILIES`` on import.

Registration order is the order of listings and of the name patterns in errors, so the modules
are imported in :data:`BUILTIN` order (not alphabetically): ``ucr``, ``uea``, ``anomaly/ucr``,
``anomaly/nab``, ``anomaly/msl``, ``forecast``. A family of your own is one more module (or test
module) calling :func:`tsdividend.data.family.register_family`.
"""

import importlib

from tsdividend.data.family import FAMILIES, Bundled, FamilySpec, register_family

BUILTIN_MODULES = ("ucr", "uea", "anomaly_ucr", "nab", "msl", "forecast")
BUILTIN: tuple[FamilySpec, ...] = tuple(
    importlib.import_module(f"{__name__}.{m}").SPEC for m in BUILTIN_MODULES
)
"""The built-in families, in registration order."""

__all__ = ["BUILTIN", "BUILTIN_MODULES", "FAMILIES", "Bundled", "FamilySpec", "register_family"]
