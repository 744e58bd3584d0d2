"""Combining member probabilities: the arithmetic and the normalised geometric mean."""

from __future__ import annotations

import numpy as np
import pytest

from autobot.cli import evaluate as evaluate_cli
from autobot.ensemble.combine import COMBINE_RULES, combine_probs


def test_mean_is_the_average_of_the_members():
    members = np.array([[[0.7, 0.2, 0.1]], [[0.1, 0.6, 0.3]]], np.float32)
    np.testing.assert_allclose(combine_probs(members, "mean"), [[0.4, 0.4, 0.2]], atol=1e-7)


def test_geometric_is_the_normalised_product_and_breaks_the_mean_tie():
    members = np.array([[[0.7, 0.2, 0.1]], [[0.1, 0.6, 0.3]]], np.float32)
    product = np.sqrt(members[0] * members[1])
    np.testing.assert_allclose(combine_probs(members, "geometric"), product / product.sum(-1, keepdims=True), atol=1e-6)
    # the mean ties classes 0 and 1; the geometric mean prefers 1, which neither member gives under 0.2
    assert combine_probs(members, "geometric")[0].argmax() == 1


def test_geometric_survives_exact_zeros_and_keeps_the_shape_of_masks():
    rng = np.random.default_rng(0)
    members = rng.dirichlet(np.ones(5), size=(3, 2, 4, 6)).astype(np.float32)
    members[0, 0, 0, 0] = [1, 0, 0, 0, 0]
    combined = combine_probs(members, "geometric")
    assert combined.shape == (2, 4, 6, 5) and combined.dtype == np.float32
    assert np.isfinite(combined).all()
    np.testing.assert_allclose(combined.sum(-1), 1, atol=1e-5)
    np.testing.assert_allclose(combine_probs(members[:1], "geometric"), np.maximum(members[0], 1e-6)
                               / np.maximum(members[0], 1e-6).sum(-1, keepdims=True), atol=1e-6)


def test_an_unknown_rule_is_refused_by_name():
    with pytest.raises(ValueError, match="mean, geometric.*'median'"):
        combine_probs(np.ones((1, 1, 2)) / 2, "median")


def test_the_cli_offers_exactly_the_rules():
    import argparse

    from autobot.cli import assemble as assemble_cli

    evaluate_parser = argparse.ArgumentParser()
    evaluate_cli.add_ensemble_arguments(evaluate_parser, data_help="")
    assemble_parser = argparse.ArgumentParser().add_subparsers()
    assemble_cli.register(assemble_parser)
    for parser in (evaluate_parser, assemble_parser.choices["assemble"]):
        choices = next(a.choices for a in parser._actions if a.dest == "combine")
        assert tuple(choices) == COMBINE_RULES
