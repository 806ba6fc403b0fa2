"""`track`: the per-call cost of `Personalizer.track()` next to Segment's and PostHog's clients.

All three get the same pre-generated event mix (`workload.track_mix`), in the same order, in
batches of `BATCH` calls. Batches are interleaved (a batch of one, then the same batch of the
next, rotating who goes first) so a noisy neighbour hits all three alike. Each call is stamped
with `time.perf_counter_ns`: a batch's per-call average gives the headline median, the single
calls give the percentiles and the per-event-name medians. Between batches, outside the timing,
each peer's queue is flushed to the sink, so their bounded queues never fill (a full queue
drops events, which would make a peer look faster than it is).

Switching contenders leaves the CPU's caches full of the previous one's code and data (the
peers serialise and upload 200 events in their flush), which a shop running one SDK never
pays. So the first `REWARM` calls of every batch re-warm the caches and are not timed, for every
contender alike.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from personalize_sdk import Personalizer

from . import peers
from .peers import Call, Contender, SinkServer
from .stats import batch_means, call_times, header, median, percentile, ratio, us, verdict
from .workload import make_catalog, rejected, track_mix

BATCH = 200
REWARM = 40
"""Calls at the start of each batch that are run but not timed (see the module docstring)."""
WARMUP_BATCHES = 3
VISITORS = 5_000
TARGET_US = 10.0
TARGET_PEER_RATIO = 0.25


@dataclass
class Timings:
    """What one contender's timed batches produced (nanoseconds)."""

    batch_means: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    """Single-call durations, in the order of the timed calls."""

    @property
    def headline(self) -> float:
        return median(self.batch_means)


def run(quick: bool = False) -> None:
    visitors = VISITORS // 10 if quick else VISITORS
    catalog = make_catalog()
    mix = track_mix(catalog, visitors)
    calls: list[Call] = [(c.visitor_id, c.event, c.properties) for c in mix]
    names = [c.event for c in mix]
    print(header("track: per-call cost of track() and of two peers' track/capture, same mix"))
    print(
        f"  {visitors:,} visitors, {len(calls):,} events over {len(Counter(names))} event names; "
        f"batches of {BATCH}, the first {WARMUP_BATCHES} untimed (warm-up), the first {REWARM}"
        " calls of each untimed (re-warm)"
    )
    refused = peers.guard_loopback()
    sink = SinkServer().start()
    pz = Personalizer()
    contenders = [peers.ours(pz), peers.segment(sink), peers.posthog(sink)]
    overhead = _harness_overhead(calls[: 20 * BATCH])
    try:
        timings = _measure(contenders, calls)
        background = [contender.background_cpu() for contender in contenders]
    finally:
        for contender in contenders:
            contender.close()
        sink.stop()
    timed_names = [
        name
        for start in range(WARMUP_BATCHES * BATCH, len(names), BATCH)
        for name in names[start + REWARM : start + BATCH]
        if len(names[start + REWARM : start + BATCH]) > 0
    ]
    _report(contenders, timings, timed_names, overhead)
    print(f"\n  events track() rejected or failed on: {rejected(pz)}")
    _report_peers(contenders, sink, len(calls), refused, background)


def _batches(calls: Sequence[Call]) -> list[Sequence[Call]]:
    return [calls[start : start + BATCH] for start in range(0, len(calls), BATCH)]


def _measure(contenders: list[Contender], calls: Sequence[Call]) -> list[Timings]:
    """Run every batch through every contender, interleaved; return each one's timings."""
    timings = [Timings() for _ in contenders]
    gc.collect()
    gc.freeze()  # the pre-generated mix is the harness's, not a cost of any client's GC
    try:
        for number, batch in enumerate(_batches(calls)):
            shift = number % len(contenders)
            for index in [*range(shift, len(contenders)), *range(shift)]:
                stamps = [0] * (len(batch) + 1)
                contenders[index].run(batch, stamps)
                contenders[index].flush()
                timed = stamps[REWARM:]
                if number >= WARMUP_BATCHES and len(timed) > 1:
                    timings[index].batch_means.extend(batch_means(timed, len(timed) - 1))
                    timings[index].calls.extend(call_times(timed))
    finally:
        gc.unfreeze()
    return timings


def _noop(*args: object) -> None:
    return None


def _harness_overhead(calls: Sequence[Call]) -> float:
    """Per-call cost (ns) of the timed loop itself: iteration, stamping and an empty call."""
    empty = Contender("empty", peers.positional_loop(_noop))
    means = []
    for batch in _batches(calls):
        stamps = [0] * (len(batch) + 1)
        empty.run(batch, stamps)
        means.extend(batch_means(stamps, len(batch)))
    return median(means)


# -- reporting -----------------------------------------------------------------------------------


def _short(contender: Contender) -> str:
    return contender.name.split()[0].removesuffix("-analytics-python")


def _report(
    contenders: list[Contender], timings: list[Timings], names: list[str], overhead: float
) -> None:
    batches = f"batches of {BATCH}"
    print(f"\n  {'us per call':<32}{batches:>16}{'single calls':>21}")
    print(f"  {'':<32}" + "".join(f"{h:>8}" for h in ("median", "p90", "median", "p90", "p99")))
    for contender, timing in zip(contenders, timings, strict=True):
        singles = timing.calls
        figures = [
            median(timing.batch_means),
            percentile(timing.batch_means, 90),
            median(singles),
            percentile(singles, 90),
            percentile(singles, 99),
        ]
        print(f"  {contender.name:<32}" + "".join(f"{us(f):>8}" for f in figures))
    print(f"  (harness overhead, included in all figures: {us(overhead)} us per call)")
    ours, *others = timings
    for contender, timing in zip(contenders[1:], others, strict=True):
        print(
            f"  ours/{_short(contender)}: {ratio(ours.headline, timing.headline)} (batch medians), "
            f"{ratio(median(ours.calls), median(timing.calls))} (single-call medians)"
        )
    _report_by_event(contenders, timings, names)
    _report_targets(contenders, timings)


def _report_by_event(contenders: list[Contender], timings: list[Timings], names: list[str]) -> None:
    print("\n  per event name, median of single calls, us")
    columns = "".join(f"{_short(c):>17}" for c in contenders)
    print(f"  {'event':<22}{'count':>7}{columns}{'ours/fastest peer':>19}")
    for name, count in Counter(names).most_common():
        medians = [
            median([t for t, n in zip(timing.calls, names, strict=True) if n == name])
            for timing in timings
        ]
        cells = "".join(f"{us(m):>17}" for m in medians)
        print(f"  {name:<22}{count:>7}{cells}{ratio(medians[0], min(medians[1:])):>19}")


def _report_targets(contenders: list[Contender], timings: list[Timings]) -> None:
    ours, *others = timings
    fastest = min(range(len(others)), key=lambda i: others[i].headline)
    peer = others[fastest].headline
    mine = ours.headline
    print()
    print(verdict(f"track() median <= {TARGET_US:g} us", mine / 1000, TARGET_US, f"{us(mine)} us"))
    print(
        verdict(
            f"track() median <= 1/4 of the fastest peer "
            f"({_short(contenders[fastest + 1])}, {us(peer)} us)",
            mine / peer,
            TARGET_PEER_RATIO,
            f"ratio {ratio(mine, peer)}",
        )
    )


def _report_peers(
    contenders: list[Contender],
    sink: SinkServer,
    sent: int,
    refused: list[str],
    background: list[float | None],
) -> None:
    print("\n  peers' queues and delivery (every event, warm-up included)")
    for contender, cpu in zip(contenders[1:], background[1:], strict=True):
        received = sink.events.get(contender.sink_path or "", 0)
        depths = contender.depths
        print(
            f"  {contender.name}: queue bound {contender.queue_size:,}; depth before each "
            f"flush: median {median(depths):.0f}, max {max(depths, default=0)}; sent {sent:,}, "
            f"sink received {received:,} ({sent - received:,} lost); flushes took "
            f"{contender.flush_seconds:.1f} s, untimed"
        )
        if cpu is not None:
            print(
                f"    its background thread used {cpu:.1f} s of CPU, {us(cpu * 1e9 / sent)} us "
                "per event, on top of the timed calls (serialising and uploading)"
            )
        logs = contender.logs
        if logs is not None:
            first = f" (first: {logs.first!r})" if logs.first else ""
            print(f"    warnings/errors it logged: {logs.count}{first}")
    print(f"  sink requests by path: {sink.requests}")
    print(f"  connections refused (anything but 127.0.0.1): {len(refused)} {refused[:3]}")
