"""How long to wait before trying a batch again: exponential backoff with full jitter (each
wait is uniform in [0, min(cap, base * 2**attempt)]), or what the destination's Retry-After
asked for, capped, so a misbehaving server cannot park a forwarder for a day."""

from __future__ import annotations

import random

BASE = 0.2
CAP = 30.0
RETRY_AFTER_CAP = 60.0


def retry_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = BASE,
    cap: float = CAP,
    retry_after_cap: float = RETRY_AFTER_CAP,
    rng: random.Random | None = None,
) -> float:
    """Seconds before retry number `attempt` (0 for the first retry)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), retry_after_cap)
    ceiling = min(cap, base * 2 ** min(attempt, 32))
    return (rng or random).uniform(0.0, ceiling)
