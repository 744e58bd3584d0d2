"""How an ensemble turns its members' probabilities into one.

``"mean"`` averages the probabilities. ``"geometric"`` averages the log-probabilities and
renormalises (a normalised geometric mean): a class that one member all but rules out stays
unlikely, instead of being carried by the others. On the Mars held-out rows it scored 0.002-0.004
mIoU above ``"mean"`` for each of four different three-member ensembles, and higher on 75 of 80
random halves of the held-out photographs (20 halves per ensemble).
A manifest without a ``"combine"`` key means ``"mean"``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["COMBINE_RULES", "combine_probs"]

COMBINE_RULES = ("mean", "geometric")

#: Floor for log-probabilities: a member's exact 0 must not veto a class outright.
_FLOOR = 1e-6


def combine_probs(member_probs: np.ndarray, rule: str = "mean") -> np.ndarray:
    """Ensemble probabilities ``(...)`` from member probabilities ``(M, ...)`` (classes last)."""
    member_probs = np.asarray(member_probs, dtype=np.float32)
    if rule == "mean":
        return member_probs.mean(0)
    if rule == "geometric":
        log_mean = np.log(np.maximum(member_probs, _FLOOR)).mean(0)
        log_mean -= log_mean.max(-1, keepdims=True)
        probs = np.exp(log_mean)
        return probs / probs.sum(-1, keepdims=True)
    raise ValueError(f"combine rule: expected one of {', '.join(COMBINE_RULES)}, found {rule!r}")
