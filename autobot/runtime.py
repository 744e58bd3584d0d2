"""Process-wide backend choices that only take effect before TensorFlow loads.

TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI, BF16 or AMX
(since 2.9); on AVX2-only CPUs (many cloud machines and laptops; this project's 2-core AMD EPYC
since session 17) it runs its older Eigen kernels. There oneDNN is faster for batches and slower
for one image (README, "Training": a base-16 ``unet_se`` training step 1.24-1.38 s -> 0.99-1.08 s;
the shipped Mars ensemble 21 -> 36 images/s in batches but 55 -> 72 ms for one image). So
``python -m autobot``, whose commands all work on batches (training jobs run through it too),
asks for it first thing, and the app, which answers one image at a time, keeps TensorFlow's
own choice.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"


def prefer_onednn() -> bool:
    """Ask TensorFlow for oneDNN kernels unless the user chose (``TF_ENABLE_ONEDNN_OPTS`` set).

    Returns whether the request can still take effect: False once TensorFlow is imported (the
    setting is read once, at import) or when the user's own value stands.
    """
    if ONEDNN_VARIABLE in os.environ or "tensorflow" in sys.modules:
        return False
    os.environ[ONEDNN_VARIABLE] = "1"
    return True


def onednn_enabled() -> bool | None:
    """Whether the loaded TensorFlow runs oneDNN kernels (None: TensorFlow not loaded, or no way to tell)."""
    if "tensorflow" not in sys.modules:
        return None
    try:
        from tensorflow.python.util import _pywrap_util_port  # the flag TensorFlow itself logs at import
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


PRECISION_VARIABLE = "AUTOBOT_SERVING_PRECISION"
#: CPU flags (``/proc/cpuinfo``) of instruction sets that compute bfloat16 natively.
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


def serving_precision(choice: str | None = None, cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """``"float32"`` or ``"bfloat16"``: what loaded ensembles compute in (``autobot.models.precision``).

    ``choice`` (else ``AUTOBOT_SERVING_PRECISION``, else ``"auto"``) may name one; ``"auto"`` picks
    bfloat16 only where it is faster and as accurate: TensorFlow on a CPU with native bfloat16
    (AVX-512 BF16 or AMX) and oneDNN kernels on, and no GPU. Elsewhere bfloat16 is emulated and slower.
    """
    from autobot.errors import DataError

    source = "--precision" if choice is not None else PRECISION_VARIABLE
    value = (choice if choice is not None else os.environ.get(PRECISION_VARIABLE, "auto")).strip().lower()
    if value in ("float32", "bfloat16"):
        return value
    if value != "auto":
        raise DataError(None, source, "auto, float32 or bfloat16", repr(value))
    return "bfloat16" if native_bfloat16(cpuinfo) else "float32"


def native_bfloat16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether this process would run bfloat16 convolutions natively (see :func:`serving_precision`)."""
    import keras

    if keras.backend.backend() != "tensorflow" or not cpu_has_bfloat16(cpuinfo) or not onednn_enabled():
        return False
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")


def cpu_has_bfloat16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether the CPU flags in ``cpuinfo`` include AVX-512 BF16 or AMX BF16 (False if unreadable)."""
    return bool(cpu_flags(cpuinfo) & set(BFLOAT16_FLAGS))


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The first CPU's flags in ``cpuinfo`` (empty if unreadable: then no special instructions are assumed)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return set()
    return set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
