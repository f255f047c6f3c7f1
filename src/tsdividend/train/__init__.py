"""Pretraining engine: the one training loop, checkpoints, distributed helpers (the schedules it
uses are the leaf module :mod:`tsdividend.schedules`)."""
