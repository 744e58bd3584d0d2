"""How an ensemble turns its members' probabilities into one.

``"mean"`` averages the probabilities. ``"geometric"`` averages the log-probabilities and
renormalises (a normalised geometric mean): a class that one member all but rules out stays
unlikely, instead of being carried by the others. On the Mars held-out rows it scored 0.002-0.004
mIoU above ``"mean"`` for each of four different three-member ensembles, and higher on 75 of 80
random halves of the held-out photographs (20 halves per ensemble).
A manifest without a ``"combine"`` key means ``"mean"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autobot.errors import DataError

__all__ = ["COMBINE_RULES", "LOG_FLOOR", "accumulate", "check_rule", "combine_probs", "entropy", "finish"]

COMBINE_RULES = ("mean", "geometric")

#: Floor for log-probabilities: a member's exact 0 must not veto a class outright.
LOG_FLOOR = 1e-6


def check_rule(rule: Any, source: Any, key: str) -> str:
    """``rule`` if it is one of :data:`COMBINE_RULES`, else a DataError naming where it came from."""
    if rule not in COMBINE_RULES:
        raise DataError(source, key, f"one of {', '.join(COMBINE_RULES)}", repr(rule)[:80])
    return rule


def combine_probs(member_probs: np.ndarray, rule: str = "mean") -> np.ndarray:
    """Ensemble probabilities ``(...)`` from member probabilities ``(M, ...)`` (classes last)."""
    member_probs = np.asarray(member_probs, dtype=np.float32)
    check = _check(rule)
    total = np.zeros(member_probs.shape[1:], np.float32)
    scratch = np.empty_like(total) if check == "geometric" else None
    for probs in member_probs:
        accumulate(total, probs, check, scratch)
    return finish(total, len(member_probs), check)


def accumulate(total: np.ndarray, probs: np.ndarray, rule: str, scratch: np.ndarray | None = None) -> None:
    """Add one member's probabilities to a running ``total`` (float32, in place), for :func:`finish`.

    Streaming the members this way gives :func:`combine_probs`' result without ever holding all
    of them: serving a large batch then needs one array of probabilities, not one per member.
    ``scratch`` (the shape of ``total``) saves an allocation per call under ``"geometric"``.
    """
    if _check(rule) == "mean":
        total += probs
        return
    member_log = scratch if scratch is not None else np.empty_like(total)
    np.log(np.maximum(probs, LOG_FLOOR, out=member_log), out=member_log)
    total += member_log


def finish(total: np.ndarray, count: int, rule: str) -> np.ndarray:
    """The ensemble's probabilities from the running ``total`` of ``count`` members (in place)."""
    total /= count
    if _check(rule) == "geometric":  # in [log(LOG_FLOOR), 0]: exp cannot overflow or underflow
        np.exp(total, out=total)
        total /= total.sum(-1, keepdims=True)
    return total


def entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy (nats) over the last axis, float32: the ensemble's uncertainty per image or pixel."""
    terms = np.clip(probs, 1e-8, 1.0).astype(np.float32, copy=False)  # one temporary, reused in place
    np.log(terms, out=terms)
    terms *= probs
    return -terms.sum(-1, dtype=np.float32)


def _check(rule: str) -> str:
    if rule not in COMBINE_RULES:
        raise ValueError(f"combine rule: expected one of {', '.join(COMBINE_RULES)}, found {rule!r}")
    return rule
