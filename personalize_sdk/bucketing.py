"""Deterministic A/B bucketing: GrowthBook's hash, bucket ranges and variation choice.

A visitor's variant is a pure function of the campaign's seed and the visitor's id, so the same
visitor sees the same variant on every request, every process and every machine, and another
language reproduces the assignment with a dozen lines of code::

    n = hash(seed="homepage-hero", value=visitor_id)    # a float in [0, 1)
    ranges = bucket_ranges(2, coverage=0.8, weights=[0.5, 0.5])
    variation = choose_variation(n, ranges)             # 0, 1, or -1 (not in the experiment)

The algorithms are GrowthBook's documented SDK functions (`hash`, `getBucketRanges`,
`chooseVariation`, `inRange`) and pass its conformance cases. The hash is FNV-1a 32-bit:

- version 2 (the default, unbiased): ``(fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000``
- version 1 (GrowthBook's original, kept for old experiments): ``(fnv1a32(value + seed) % 1000)
  / 1000``
- any other version: None.

Text is hashed as its UTF-8 bytes, the standard FNV-1a input (lone surrogates, which UTF-8 cannot
hold, are written as their 3-byte forms instead of failing). For ASCII values, which covers UUIDs
and the ids the SDK generates, this matches every GrowthBook SDK. For other text GrowthBook's own
SDKs disagree with one another (Go hashes UTF-8 bytes, as here; JavaScript hashes UTF-16 code units;
Python hashes code points), so non-ASCII ids match the Go SDK, not the JavaScript or Python ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["BucketRange", "bucket_ranges", "choose_variation", "fnv1a32", "hash", "in_range"]

_OFFSET_BASIS = 0x811C9DC5
_PRIME = 0x01000193
_MASK = 0xFFFFFFFF

BucketRange = tuple[float, float]
"""``[start, end)``: a hash value n is in the range when ``start <= n < end``."""


def _fnv1a32(data: bytes, state: int = _OFFSET_BASIS) -> int:
    # The fastest pure-Python form measured on CPython 3.11: a plain loop over the bytes that
    # masks every step (about 80 ns a byte). `% 2**32`, reduce(), masking every second byte and
    # the shift-and-add form of the multiply were 10% to 3x slower.
    for byte in data:
        state = ((state ^ byte) * _PRIME) & _MASK
    return state


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogatepass")
    except AttributeError:
        raise TypeError(f"{what} must be str, got {type(text).__name__}") from None


@lru_cache(maxsize=1024)
def _seed_state(seed: str) -> int:
    """The FNV-1a state after the seed's bytes.

    Version 2 hashes ``seed + value``, and seeds are few (one per campaign), so each seed's share
    of the work is done once. The cache is bounded in case seeds come from an unbounded source.
    """
    return _fnv1a32(_utf8(seed, "seed"))


def fnv1a32(text: str) -> int:
    """The 32-bit FNV-1a hash of `text`'s UTF-8 bytes, an int in ``[0, 2**32)``."""
    return _fnv1a32(_utf8(text, "text"))


# The name shadows the builtin on purpose: `personalize_sdk.bucketing.hash` is the public contract,
# after GrowthBook's `hash`. Nothing in this module needs the builtin.
def hash(seed: str, value: str, version: int = 2) -> float | None:
    """GrowthBook's bucketing hash of `value` under `seed`: a float in [0, 1), or None.

    Version 2 gives 4 decimals (``0.0505``), version 1 gives 3 (``0.22``); an unknown version
    (anything but 1 or 2; True is not 1) gives None, so the caller skips the experiment.
    Non-text `seed` or `value` raise TypeError.
    """
    if version == 2:
        # Inline rather than `_utf8`: this path runs on every widget decision.
        if type(seed) is not str and not isinstance(seed, str):
            raise TypeError(f"seed must be str, got {type(seed).__name__}")
        try:
            data = value.encode("utf-8", "surrogatepass")
        except AttributeError:
            raise TypeError(f"value must be str, got {type(value).__name__}") from None
        inner = _fnv1a32(data, _seed_state(seed))
        return _fnv1a32(str(inner).encode("ascii")) % 10000 / 10000
    if version == 1 and version is not True:
        return _fnv1a32(_utf8(value, "value") + _utf8(seed, "seed")) % 1000 / 1000
    return None


def _equal_weights(num_variations: int) -> list[float]:
    if num_variations <= 0:
        return []
    return [1 / num_variations] * num_variations


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def bucket_ranges(
    num_variations: int,
    coverage: float = 1.0,
    weights: Sequence[float] | None = None,
) -> tuple[BucketRange, ...]:
    """GrowthBook's `getBucketRanges`: one ``[start, end)`` range per variation.

    Variation i owns the slice of [0, 1) after the weights before it; `coverage` (clamped to
    [0, 1]) keeps the first part of every slice, so reducing coverage never moves an included
    visitor to another variation. Weights that are missing, of another length than
    `num_variations`, or not summing to 1 within 0.01 fall back to equal weights, as GrowthBook
    does. So do negative or non-finite weights (GrowthBook would build overlapping or empty
    ranges from them). The arithmetic follows GrowthBook's order of operations, so the bounds are
    the same floats as in its SDKs.
    """
    if type(num_variations) is not int:
        raise TypeError(f"num_variations must be int, got {type(num_variations).__name__}")
    if not _is_number(coverage):
        raise TypeError(f"coverage must be a number, got {type(coverage).__name__}")
    if math.isnan(coverage):
        raise ValueError("coverage is NaN")
    coverage = min(max(coverage, 0.0), 1.0)

    if weights is not None:
        for weight in weights:
            if not _is_number(weight):
                raise TypeError(f"weights must be numbers, got {type(weight).__name__}")
    if weights is None or len(weights) != num_variations:
        chosen = _equal_weights(num_variations)
    else:
        chosen = list(weights)
        total = 0.0
        for weight in chosen:
            total += weight
        if not 0.99 <= total <= 1.01 or not all(0 <= weight < math.inf for weight in chosen):
            chosen = _equal_weights(num_variations)

    ranges = []
    cumulative = 0.0
    for weight in chosen:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return tuple(ranges)


def in_range(n: float, bucket: Sequence[float]) -> bool:
    """GrowthBook's `inRange`: ``bucket[0] <= n < bucket[1]``."""
    return bucket[0] <= n < bucket[1]


def choose_variation(n: float, ranges: Sequence[Sequence[float]]) -> int:
    """GrowthBook's `chooseVariation`: the index of the first range holding `n`, or -1.

    An empty range (``start == end``, a variation with no weight or no coverage) holds nothing.
    """
    for index, (start, end) in enumerate(ranges):
        if start <= n < end:
            return index
    return -1
