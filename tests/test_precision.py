"""bfloat16 serving: layers compute in bfloat16, probabilities stay float32, and only where the CPU has it."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from autobot.cli import main
from autobot.ensemble import load_ensemble
from autobot.errors import DataError
from autobot.models import build_model
from autobot.models.fold import fold_batchnorm
from autobot.models.precision import with_precision
from autobot.runtime import PRECISION_VARIABLE, cpu_has_bfloat16, onednn_enabled, serving_precision
from conftest import TINY_SHAPES, from_scratch_models, tiny_model

AVX512_BF16 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"


@pytest.fixture(autouse=True)
def _clear():
    yield
    keras.backend.clear_session()


@pytest.mark.parametrize("name", from_scratch_models())
def test_bfloat16_copy_computes_in_bfloat16_and_returns_float32_probabilities(name):
    model, shape = tiny_model(name)
    model = fold_batchnorm(model)
    served = with_precision(model, "bfloat16")
    x = np.random.default_rng(1).uniform(0, 255, (4, *shape)).astype("float32")
    expected, got = np.asarray(model(x, training=False)), served(x, training=False)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(np.asarray(got), expected, atol=0.03)
    computes = {layer.compute_dtype for layer in served.layers if layer.weights and layer.name not in served.output_names}
    assert computes == {"bfloat16"}
    assert all(w.dtype == "float32" for w in served.weights)  # weights stay float32: only the arithmetic is cheaper
    assert served.get_layer(served.output_names[0]).compute_dtype == "float32"


def test_float32_is_the_model_itself_and_unknown_precisions_are_refused():
    model = build_model("custom_cnn", input_shape=TINY_SHAPES["blood"], num_classes=8)
    assert with_precision(model, "float32") is model
    with pytest.raises(ValueError, match="float16"):
        with_precision(model, "float16")


def test_cpu_flags_decide_native_bfloat16(tmp_path):
    (tmp_path / "bf16").write_text(AVX512_BF16)
    (tmp_path / "avx2").write_text(AVX2_ONLY)
    assert cpu_has_bfloat16(tmp_path / "bf16") and not cpu_has_bfloat16(tmp_path / "avx2")
    assert not cpu_has_bfloat16(tmp_path / "missing")
    assert serving_precision("auto", tmp_path / "avx2") == "float32"  # emulated bfloat16 would be slower
    import tensorflow as tf

    native = bool(onednn_enabled()) and not tf.config.list_physical_devices("GPU")
    assert serving_precision("auto", tmp_path / "bf16") == ("bfloat16" if native else "float32")


def test_an_explicit_choice_wins_and_a_bad_one_names_where_it_came_from(monkeypatch, tmp_path):
    (tmp_path / "avx2").write_text(AVX2_ONLY)
    assert serving_precision("bfloat16", tmp_path / "avx2") == "bfloat16"
    monkeypatch.setenv(PRECISION_VARIABLE, "FLOAT32")
    assert serving_precision(None) == "float32"
    monkeypatch.setenv(PRECISION_VARIABLE, "half")
    with pytest.raises(DataError, match=PRECISION_VARIABLE) as err:
        serving_precision(None)
    assert "'half'" in str(err.value) and "bfloat16" in str(err.value)
    with pytest.raises(DataError, match="--precision"):
        serving_precision("fp8")


def test_a_bfloat16_ensemble_predicts_what_the_float32_one_does(tiny_models, mars_raw):
    exact = load_ensemble(tiny_models / "mars", precision="float32")
    fast = load_ensemble(tiny_models / "mars", precision="bfloat16")
    assert (exact.precision, fast.precision) == ("float32", "bfloat16")
    images = mars_raw["training_set"][:16, 0].astype(np.uint8)
    a, b = exact.predict(images), fast.predict(images)
    assert b.probs.dtype == np.float32
    np.testing.assert_allclose(b.probs, a.probs, atol=0.05)
    assert np.mean(a.labels == b.labels) > 0.97


def test_evaluate_reports_the_precision_it_ran_in(tiny_models, blood_subset_npz, capsys):
    assert main(["evaluate", "--task", "blood", "--data", str(blood_subset_npz), "--models",
                 str(tiny_models / "blood"), "--precision", "bfloat16", "--limit", "8"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["precision"] == "bfloat16" and report["n"] == 8
