"""Time-decayed affinity scores in log form.

A score `s` that halves every `half_life` seconds is stored as ``v = log2(s) + t / half_life``,
the value it had at its last update time `t`. Then ``s(now) = 2 ** (v - now / half_life)`` for
any later `now`, so decay needs no per-key timestamp and no rewrite of the other keys; adding
weight `w` at time `t` is ``v' = log2(s(t) + w) + t / half_life`` (the reducer does this inline,
on the hot path); and merging two profiles adds scores exactly (``log2(2**a + 2**b)``). Stored
values order keys as their scores do, at any time.

The form depends on the half-life: a profile keeps the one its values are in
(`Profile.affinity_half_life`), is read with it, and is `rebased` when a config with another one
changes its affinities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

_log2 = math.log2


def score(stored: float, now: float, half_life: float) -> float:
    """The decayed score at `now` of a key whose stored form is `stored`."""
    exponent = stored - now / half_life
    return 2.0**exponent if exponent < 1000 else math.inf


def rebased(stored: Mapping[str, float], at: float, old: float, new: float) -> dict[str, float]:
    """Values in the form of half-life `old`, in the form of half-life `new`: each score at
    `at` is kept, and decays at the new rate from then on (a config changed the half-life)."""
    shift = at / new - at / old
    return {key: value + shift for key, value in stored.items()}


def combine(a: float, b: float) -> float:
    """Stored form of the sum of two scores (used when merging profiles)."""
    high, low = (a, b) if a >= b else (b, a)
    return high + _log2(1.0 + 2.0 ** (low - high))


def strongest(stored: dict[str, float], limit: int) -> dict[str, float]:
    """`stored` itself if it has at most `limit` keys, else its `limit` strongest keys.

    Stored values order keys exactly as their scores do at any one time, so no time is needed.
    """
    if len(stored) <= limit:
        return stored
    return dict(sorted(stored.items(), key=lambda item: item[1], reverse=True)[:limit])


def scores(stored: Mapping[str, float], now: float, half_life: float) -> dict[str, float]:
    """All keys' decayed scores at `now`, highest first."""
    phase = now / half_life
    decayed = {key: 2.0 ** min(value - phase, 1000.0) for key, value in stored.items()}
    return dict(sorted(decayed.items(), key=lambda item: item[1], reverse=True))
