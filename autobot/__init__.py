"""Autobot: blood-cell classification and Mars-terrain segmentation, end to end."""

from autobot.errors import DataError
from autobot.tasks import BLOOD, MARS, TASKS, TaskSpec, get_task

__version__ = "0.1.0"

__all__ = ["BLOOD", "MARS", "TASKS", "DataError", "TaskSpec", "get_task", "__version__"]
