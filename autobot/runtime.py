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
