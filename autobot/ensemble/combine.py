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

__all__ = ["COMBINE_RULES", "check_rule", "combine_probs"]

COMBINE_RULES = ("mean", "geometric")

#: Floor for log-probabilities: a member's exact 0 must not veto a class outright.
_FLOOR = 1e-6


def check_rule(rule: Any, source: Any, key: str) -> str:
    """``rule`` if it is one of :data:`COMBINE_RULES`, else a DataError naming where it came from."""
    if rule not in COMBINE_RULES:
        raise DataError(source, key, f"one of {', '.join(COMBINE_RULES)}", repr(rule)[:80])
    return rule


def combine_probs(member_probs: np.ndarray, rule: str = "mean") -> np.ndarray:
    """Ensemble probabilities ``(...)`` from member probabilities ``(M, ...)`` (classes last)."""
    member_probs = np.asarray(member_probs, dtype=np.float32)
    if rule == "mean":
        return member_probs.mean(0)
    if rule == "geometric":  # in place, member by member: this runs on every served batch
        total = np.zeros(member_probs.shape[1:], np.float32)
        member_log = np.empty_like(total)
        for probs in member_probs:
            np.log(np.maximum(probs, _FLOOR, out=member_log), out=member_log)
            total += member_log
        total /= len(member_probs)  # in [log(_FLOOR), 0]: exp cannot overflow or underflow
        np.exp(total, out=total)
        total /= total.sum(-1, keepdims=True)
        return total
    raise ValueError(f"combine rule: expected one of {', '.join(COMBINE_RULES)}, found {rule!r}")
