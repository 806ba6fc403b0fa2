"""Reproducible performance harness: `python -m benchmarks [track|segments|memory ...]`.

Each benchmark prints its figures, its targets and whether they are met; none asserts anything.
See README.md for what each one measures and how.
"""

from __future__ import annotations

BENCHMARKS: tuple[str, ...] = (
    "track",
    "instructions",
    "segments",
    "memory",
    "widgets",
    "http",
    "redis",
    "delivery",
    "collect",
)
"""Benchmark module names, in the order `python -m benchmarks` runs them."""

MODULES: dict[str, str] = {"redis": "redis_store"}
"""Benchmarks whose module is not named after them (`redis.py` would shadow redis-py in tools)."""
