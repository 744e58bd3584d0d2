"""Model registry: ``build_model(name, **cfg)`` is the only constructor."""

from autobot.models import layers as _layers  # noqa: F401  (registers custom layers: loading a saved model needs them)
from autobot.models.registry import build_model, list_models, model_task, register_model

__all__ = ["build_model", "list_models", "model_task", "register_model"]
