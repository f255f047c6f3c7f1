"""Pretraining engine: schedules, the one training loop, checkpoints, distributed helpers."""
