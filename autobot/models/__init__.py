"""Model registry: ``build_model(name, **cfg)`` is the only constructor."""

from autobot.models.registry import build_model, list_models, model_task, register_model

__all__ = ["build_model", "list_models", "model_task", "register_model"]
