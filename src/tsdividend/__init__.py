"""tsdividend: self-supervised pretraining of time-series encoders and the pre-training dividend."""

__version__ = "0.1.0"
