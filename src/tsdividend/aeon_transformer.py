"""The encoder as an aeon collection transformer (aeon's own checks pass; see
docs/estimators.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
from aeon.transformations.collection import BaseCollectionTransformer

from tsdividend.estimators import EncoderTransformer

__all__ = ["EncoderCollectionTransformer"]


class EncoderCollectionTransformer(BaseCollectionTransformer):
    """The frozen encoder's embeddings as an aeon ``BaseCollectionTransformer``: aeon checks and
    converts the collection (equal-length 3-D NumPy or a list of (C, T_i) arrays of unequal
    lengths, missing values allowed) and ``transform`` returns (n_cases, D) features.
    Parameters as :class:`~tsdividend.estimators.EncoderTransformer`."""

    _tags = {  # noqa: RUF012  (aeon's tag protocol: a class-level dict)
        "capability:multivariate": True,
        "capability:unequal_length": True,
        "capability:missing_values": True,
        "X_inner_type": ["numpy3D", "np-list"],
        "output_data_type": "Tabular",
        "fit_is_empty": False,
    }

    def __init__(self, encoder: Any = "random", architecture: Any = None, seed: int = 0,
                 device: str = "cpu", batch_size: int = 256) -> None:  # fmt: skip
        self.encoder = encoder
        self.architecture = architecture
        self.seed = seed
        self.device = device
        self.batch_size = batch_size
        super().__init__()

    def _fit(self, X: Any, y: Any = None) -> EncoderCollectionTransformer:
        self.transformer_ = EncoderTransformer(self.encoder, architecture=self.architecture,
                                               seed=self.seed, device=self.device,
                                               batch_size=self.batch_size)  # fmt: skip
        self.transformer_.fit(_collection(X))
        return self

    def _transform(self, X: Any, y: Any = None) -> np.ndarray:
        return self.transformer_.transform(_collection(X))


def _collection(X: Any) -> Any:
    """aeon's inner types as :func:`tsdividend.data.to_collection` input."""
    return list(X) if isinstance(X, list) else np.asarray(X)
