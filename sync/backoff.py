"""Capped exponential backoff with full jitter, as a pure function.

The agent waits on its stop event rather than sleeping, so SIGTERM ends a long wait at once;
that is why the delay is computed here instead of inside a retrying decorator.
"""

from __future__ import annotations

import random


def delay(attempt: int, *, initial: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1 = first retry): uniform in [0, min(cap, initial·2^(n-1))]."""
    if attempt < 1:
        return 0.0
    ceiling = min(cap, initial * 2 ** min(attempt - 1, 62))
    return (rng or random).uniform(0, ceiling)
