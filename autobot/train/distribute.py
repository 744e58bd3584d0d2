"""Training on several devices or hosts through the framework's own engine.

One recipe option, ``distribute``, picks the engine; the model, loss and data code do
not change:

- TensorFlow backend: ``tf.distribute.MirroredStrategy`` over this host's GPUs (or logical
  CPUs), ``MultiWorkerMirroredStrategy`` across hosts described by ``TF_CONFIG``.
- JAX backend: ``keras.distribution.DataParallel`` over all devices (after
  ``jax.distributed.initialize()`` when several hosts take part).

The batch size stays the *global* batch: each of R replicas computes on batch/R images.
Ensemble members are independent, so spreading them over workers as separate jobs is
the other, simpler way to use several machines.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator

import keras

STRATEGIES = ("none", "auto", "mirrored", "multi_worker", "data_parallel")


def split_logical_cpus(count: int) -> None:
    """Make this host's CPU look like ``count`` devices (to try distribution without GPUs).

    Must run before the backend creates its devices: first thing in a process.
    """
    if count <= 1:
        return
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    elif keras.backend.backend() == "jax":
        flag = f"--xla_force_host_platform_device_count={count}"
        if flag not in os.environ.get("XLA_FLAGS", ""):
            raise RuntimeError(f"under JAX, set XLA_FLAGS={flag} before Python starts")
    else:
        raise RuntimeError(f"logical CPU devices are not supported on the {keras.backend.backend()} backend")


def resolve(strategy: str) -> str:
    """``auto``: several hosts if TF_CONFIG names them, all local devices if there are several."""
    if strategy not in STRATEGIES:
        raise ValueError(f"distribute: expected one of {STRATEGIES}; got {strategy!r}")
    backend = keras.backend.backend()
    if strategy == "auto":
        workers = len(json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {}).get("worker", []))
        if backend == "tensorflow" and workers > 1:
            return "multi_worker"
        devices = _accelerators() or _cpus()
        if len(devices) <= 1:
            return "none"
        return "data_parallel" if backend == "jax" else "mirrored"
    if backend == "jax" and strategy in ("mirrored", "multi_worker"):
        return "data_parallel"
    if backend == "tensorflow" and strategy == "data_parallel":
        return "mirrored"
    return strategy


def _accelerators() -> list[str]:
    return [d for d in keras.distribution.list_devices() if not d.lower().startswith("cpu")]


def _cpus() -> list[str]:
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_logical_devices("CPU")]
    return [d for d in keras.distribution.list_devices() if d.lower().startswith("cpu")]


@contextlib.contextmanager
def distribution_scope(strategy: str = "none") -> Iterator[int]:
    """Build, compile and fit the model inside this scope; yields the number of replicas.

    Under JAX the distribution is global state that ``fit`` reads to shard each batch, so
    fitting outside the scope would silently train on one device.
    """
    name = resolve(strategy)
    if name == "none":
        yield 1
        return
    if name == "data_parallel":
        devices = _accelerators() or keras.distribution.list_devices()
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        try:
            yield len(devices)
        finally:
            keras.distribution.set_distribution(previous)
        return
    import tensorflow as tf

    if name == "multi_worker":
        engine = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
        engine = tf.distribute.MirroredStrategy(gpus or _cpus())
    with engine.scope():
        yield engine.num_replicas_in_sync


def active_engine() -> str:
    """What distributes the computation right now, e.g. ``"DataParallel x2"`` (recorded by training)."""
    if keras.backend.backend() == "jax":
        current = keras.distribution.distribution()
        return "none" if current is None else f"{type(current).__name__} x{len(current.device_mesh.devices.flat)}"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.distribute.has_strategy():
            strategy = tf.distribute.get_strategy()
            return f"{type(strategy).__name__} x{strategy.num_replicas_in_sync}"
    return "none"
