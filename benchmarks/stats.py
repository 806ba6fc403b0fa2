"""Tiny statistics and reporting helpers shared by the benchmarks.

Timings on a shared, noisy machine are skewed by pauses (other tenants, GC, a peer's
background thread), so the figures are medians and percentiles, never means of raw calls.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100) by linear interpolation between the closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def batch_means(stamps: Sequence[int], batch: int) -> list[float]:
    """Per-call averages (ns) of consecutive runs of `batch` calls, from call-end timestamps.

    `stamps[0]` is taken before the first call and `stamps[i]` after call `i`.
    """
    return [
        (stamps[end] - stamps[start]) / (end - start)
        for start in range(0, len(stamps) - 1, batch)
        for end in [min(start + batch, len(stamps) - 1)]
    ]


def call_times(stamps: Sequence[int]) -> list[int]:
    """Durations (ns) of the single calls between consecutive timestamps."""
    return [later - earlier for earlier, later in itertools.pairwise(stamps)]


def us(ns: float) -> str:
    """Nanoseconds as microseconds, with a precision that suits the magnitude."""
    value = ns / 1000.0
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.3f}" if theirs else "n/a"


def verdict(label: str, value: float, limit: float, shown: str) -> str:
    """One target line such as 'target track() median <= 10 us: met (7.9 us)'. Never raises."""
    status = "met" if value <= limit else "MISSED"
    return f"  target {label}: {status} ({shown})"


def header(title: str) -> str:
    line = "=" * max(len(title), 72)
    return f"\n{line}\n{title}\n{line}"
