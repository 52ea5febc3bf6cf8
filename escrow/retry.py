"""How long a writer waits before it tries again after a concurrent append (a conflict).

Exponential backoff with full jitter: before retry ``k`` (0-based) a writer sleeps a uniformly
random time in ``[0, min(CAP, BASE * 2**k)]``. Writers that collided then spread out instead of
colliding again in lockstep. The randomness is only about *when* a retry runs, never about what
it decides: each retry decides afresh on the state it reads.
"""

from __future__ import annotations

import random

__all__ = ["BACKOFF_BASE_S", "BACKOFF_CAP_S", "backoff_delay"]

BACKOFF_BASE_S = 0.005
"""The ceiling of the first wait (5 ms); it doubles with each retry."""

BACKOFF_CAP_S = 0.5
"""No single wait is longer than this."""

_jitter = random.Random()


def backoff_delay(retry: int) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(retry, 30))
    return _jitter.uniform(0.0, ceiling)
