"""Downstream protocols: classification, anomaly detection, forecasting, clustering, baselines.

Importing any module of this package first imports the task registry
(:mod:`tsdividend.tasks.registry`, torch-free), so the built-in tasks are registered in one fixed
order whatever is imported first.
"""

from tsdividend.tasks.registry import TASKS, TaskSpec, register_task

__all__ = ["TASKS", "TaskSpec", "register_task"]
