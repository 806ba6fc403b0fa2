"""`segments`: reading a shopper's segments, cached and cold.

Profiles are built by replaying the shared event mix (2-4 visits over 90 days per shopper, a
third signing in) into a `Personalizer` configured with fifty custom segments
(`segment_config.CONDITIONS`), with the clock fixed at the simulated "now".

- cached: `pz.segments(visitor_id)` again for a visitor whose profile has not changed, which is
  what every page after the first asks;
- first call: the same call when the cache holds nothing for the visitor, as after their profile
  changed (cache miss, evaluate, store);
- cold: `SegmentEvaluator(config).evaluate(profile, now)` with the fifty custom segments, and
  with the built-ins only for reference, batches of the two alternating.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from personalize_sdk import Personalizer
from personalize_sdk.profile import Profile
from personalize_sdk.segments import SegmentEvaluator

from .segment_config import CONDITIONS, config
from .stats import header, median, percentile, ratio, us, verdict
from .workload import NOW, make_catalog, rejected, replay, shopper_histories

VISITORS = 2_000
BATCH = 100
ROUNDS = 5
CACHED_PASSES_PER_ROUND = 20
TARGET_CACHED_US = 2.0
TARGET_COLD_US = 100.0


def run(quick: bool = False) -> None:
    visitors = VISITORS // 10 if quick else VISITORS
    print(header("segments: pz.segments() cached, and cold evaluation of 50 custom segments"))
    pz, visitor_ids, events = _build(visitors)
    profiles = [pz.profile(visitor_id) for visitor_id in visitor_ids]
    known = sum(profile.user_id is not None for profile in profiles)
    print(
        f"  {len(profiles):,} shoppers ({known:,} signed in) from {events:,} events "
        f"({events / len(profiles):.0f} per shopper, {rejected(pz)} rejected); "
        f"{len(CONDITIONS)} custom segments"
    )
    first, cached, custom, builtin = _measure(pz, visitor_ids, profiles)
    _report_coverage(profiles)
    _report(first, cached, custom, builtin)


def _build(visitors: int) -> tuple[Personalizer, list[str], int]:
    pz = Personalizer(config(), clock=lambda: NOW)
    visitor_ids = []
    events = 0
    for steps in shopper_histories(make_catalog(), visitors, seed=3):
        events += replay(pz, steps)
        visitor_ids.append(steps[0].visitor_id)
    return pz, visitor_ids, events


def _time_calls(function: Callable[[Any], object], items: Sequence[Any]) -> list[float]:
    """Per-call averages (ns) of `function(item)` over batches of `BATCH` items."""
    clock = time.perf_counter_ns
    means = []
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        began = clock()
        for item in batch:
            function(item)
        means.append((clock() - began) / len(batch))
    return means


def _time_evaluate(evaluator: SegmentEvaluator, profiles: Sequence[Profile]) -> float:
    """Per-call average (ns) of a cold evaluation over one batch of profiles."""
    evaluate = evaluator.evaluate
    now = NOW
    clock = time.perf_counter_ns
    began = clock()
    for profile in profiles:
        evaluate(profile, now)
    return (clock() - began) / len(profiles)


def _measure(
    pz: Personalizer, visitor_ids: list[str], profiles: list[Profile]
) -> tuple[list[float], ...]:
    """Batch means of first and cached `pz.segments()` calls and of cold evaluation (fifty custom
    segments, built-ins only), in rounds, so that a noisy moment hits all four alike."""
    evaluators = (SegmentEvaluator(config()), SegmentEvaluator(config(custom=False)))
    first: list[float] = []
    cached: list[float] = []
    cold: tuple[list[float], list[float]] = ([], [])
    order = list(visitor_ids)
    for number in range(ROUNDS):
        # A new Personalizer over the same store starts with an empty segment cache.
        fresh = Personalizer(pz.config, store=pz.store, clock=pz.clock)
        first.extend(_time_calls(fresh.segments, order))
        for _ in range(CACHED_PASSES_PER_ROUND):
            random.Random(len(cached)).shuffle(order)
            cached.extend(_time_calls(fresh.segments, order))
        for start in range(0, len(profiles), BATCH):
            batch = profiles[start : start + BATCH]
            ahead = (start // BATCH + number) % 2
            for index in (ahead, 1 - ahead):
                cold[index].append(_time_evaluate(evaluators[index], batch))
    return first, cached, *cold


def _report_coverage(profiles: list[Profile]) -> None:
    """How realistic the conditions are: how many shoppers each matches."""
    evaluator = SegmentEvaluator(config())
    matched = [evaluator.evaluate(profile, NOW) for profile in profiles]
    custom = [found & CONDITIONS.keys() for found in matched]
    hits = {name: sum(name in found for found in custom) for name in CONDITIONS}
    never = sorted(name for name, count in hits.items() if count == 0)
    always = sorted(name for name, count in hits.items() if count == len(profiles))
    print(
        f"  segments per shopper: {median([len(f) for f in matched]):.0f} median "
        f"({median([len(f) for f in custom]):.0f} custom); custom segments matching some "
        f"shoppers: {len(CONDITIONS) - len(never)}/{len(CONDITIONS)}, matching all: {len(always)}"
    )
    if never:
        print(f"  matched by nobody: {', '.join(never)}")


def _report(
    first: list[float], cached: list[float], custom: list[float], builtin: list[float]
) -> None:
    rows = [
        ("pz.segments(), cached", cached),
        ("pz.segments(), first call after a change", first),
        (f"cold evaluate(), built-ins + {len(CONDITIONS)} custom", custom),
        ("cold evaluate(), built-ins only (reference)", builtin),
    ]
    print(f"\n  per call, us (median and p90 of batch means of {BATCH} calls)")
    for label, means in rows:
        print(f"  {label:<48} {us(median(means)):>7} {us(percentile(means, 90)):>7}")
    extra = (median(custom) - median(builtin)) / len(CONDITIONS)
    print(
        f"  custom segments cost {us(extra)} us each on top of the built-ins "
        f"(cold custom/built-ins: {ratio(median(custom), median(builtin))})"
    )
    print()
    cached_us, cold_us = median(cached) / 1000, median(custom) / 1000
    print(
        verdict(
            f"cached pz.segments() median <= {TARGET_CACHED_US:g} us",
            cached_us,
            TARGET_CACHED_US,
            f"{us(median(cached))} us",
        )
    )
    print(
        verdict(
            f"cold evaluation of {len(CONDITIONS)} custom segments median <= {TARGET_COLD_US:g} us",
            cold_us,
            TARGET_COLD_US,
            f"{us(median(custom))} us",
        )
    )
