"""One registry and one factory for every model Autobot can build.

Entrypoints register with :func:`register_model`; everything else (training, the app,
tests) builds models only through :func:`build_model`, so a variant is a name plus kwargs.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["register_model", "build_model", "list_models", "model_task"]

_ENTRY: dict[str, Callable] = {}
_TASK: dict[str, str] = {}


def register_model(task: str) -> Callable[[Callable], Callable]:
    """Register a builder under its function name for ``task`` ("blood" or "mars").

    Args:
        task: The task the model's default input shape and outputs are made for.
    """

    def decorator(fn: Callable) -> Callable:
        _ENTRY[fn.__name__] = fn
        _TASK[fn.__name__] = task
        return fn

    return decorator


def _ensure_loaded() -> None:
    # Importing the model modules fills the registry; done lazily to keep import cheap.
    from autobot.models import classifiers, unet  # noqa: F401


def list_models(task: str | None = None) -> list[str]:
    """Registered model names, sorted; only those for ``task`` when given."""
    _ensure_loaded()
    return sorted(n for n in _ENTRY if task is None or _TASK[n] == task)


def model_task(name: str) -> str:
    """The task a registered model belongs to."""
    _ensure_loaded()
    _check(name)
    return _TASK[name]


def _check(name: str) -> None:
    if name not in _ENTRY:
        raise ValueError(f"unknown model: expected one of {tuple(list_models())}; got {name!r}")


def build_model(name: str, **kw):
    """Build model ``name``; ``None`` kwargs are dropped so the builder's defaults win.

    Args:
        name: A name from :func:`list_models`.
        **kw: Builder arguments (input_shape, num_classes, widths, weights, ...).

    Returns:
        An uncompiled ``keras.Model`` whose outputs are softmax probabilities.
    """
    _ensure_loaded()
    _check(name)
    kw = {k: v for k, v in kw.items() if v is not None}
    return _ENTRY[name](**kw)
