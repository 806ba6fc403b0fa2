"""`delivery`: what forwarding costs the caller, how fast events get out, and a burst.

Everything goes to `_delivery_sink.Sink`, an HTTP server on 127.0.0.1 in a process of its own
that counts the events in every body. The `track` benchmark's loopback guard refuses any other
address for the whole run.

1. **Caller cost**: `track()` with a `segment` forwarder, `track()` without any forwarder and
   Segment's `Client.track()`, on the `track` mix, in `track`'s interleaved timed batches
   (`track._measure`): every contender's queue is emptied after each batch, outside the timing.
2. **Delivered throughput** from one process, `http` forwarder in msgpack and `segment`
   forwarder in JSON: (a) the pipeline alone, pre-built `Event`s fed to an `Outbox` as fast as
   one thread can; (b) end to end, `pz.track()` for every event. The clock runs from the first
   event to the sink counting the last; the delivery thread's CPU comes from /proc.
3. **A burst** of 200,000 `track()` calls as fast as one thread can make them, default settings,
   each client in a process of its own: ours (segment forwarder), Segment's and PostHog's.
"""

from __future__ import annotations

import gc
import itertools
import logging
import multiprocessing
import resource
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgpack

from personalize_sdk import Personalizer
from personalize_sdk._ids import new_message_id
from personalize_sdk.delivery import Outbox
from personalize_sdk.delivery_config import DeliverySettings
from personalize_sdk.events import Event
from personalize_sdk.forwarders import BaseForwarder, HttpForwarder, SegmentForwarder
from personalize_sdk.frozen_event import frozen
from personalize_sdk.segment_message import to_message

from . import peers
from ._delivery_sink import LOOPBACK, RESPONSE, Counts, Sink
from .peers import Call, Contender
from .stats import header, median, percentile, ratio, us, verdict
from .track import BATCH, REWARM, WARMUP_BATCHES, Timings, _harness_overhead, _measure
from .workload import make_catalog, rejected, track_mix

WRITE_KEY = "bench-write-key"
VISITORS = 5_000
TARGET_CALL_US = 12.0
TARGET_PEER_RATIO = 0.25
TARGET_MSGPACK = 100_000
TARGET_SEGMENT = 50_000
EVENTS = 200_000
"""Events per throughput round, and in the burst."""
ROUNDS = 3
IDLE_SECONDS = 10.0
FLUSH_BOUND = 120.0
"""The longest any client may take to deliver what it queued, in seconds."""

# The sink's paths: one per part and contender, so that no count mixes two of them.
CALLER_OURS = "/caller"
CALLER_SEGMENT = "/v1/batch"  # `peers.segment` posts to the sink's root
MSGPACK = "/msgpack"
SEGMENT = "/segment"
CAPACITY_MSGPACK = "/capacity/msgpack"
CAPACITY_JSON = "/capacity/json"
BURST = {"personalize-sdk": "/burst/ours", "segment": "/burst/segment", "posthog": "/burst/posthog"}
PATHS = (
    f"{CALLER_OURS}/v1/batch",
    CALLER_SEGMENT,
    MSGPACK,
    f"{SEGMENT}/v1/batch",
    CAPACITY_MSGPACK,
    CAPACITY_JSON,
    f"{BURST['personalize-sdk']}/v1/batch",
    f"{BURST['segment']}/v1/batch",
    f"{BURST['posthog']}/batch/",
)


def run(quick: bool = False) -> None:
    visitors = VISITORS // 10 if quick else VISITORS
    events = EVENTS // 10 if quick else EVENTS
    print(header("delivery: the forwarders' caller cost, delivered throughput, a burst vs peers"))
    refused = peers.guard_loopback()
    mix = track_mix(make_catalog(), visitors)
    calls: list[Call] = [(c.visitor_id, c.event, c.properties) for c in mix]
    with Sink(PATHS) as sink, tempfile.TemporaryDirectory(prefix="pz-delivery-") as folder:
        spool = Path(folder)
        print(
            f"  sink: a process of its own on {sink.url} (pid {sink.pid}); spools under {spool};"
            f" {len(calls):,} events of {visitors:,} visitors (the `track` mix)"
        )
        capacity = _sink_capacity(sink, mix)
        _caller_cost(sink, calls, spool)
        _idle(sink, calls[0], spool, IDLE_SECONDS // 5 if quick else IDLE_SECONDS)
        _throughput(sink, mix, calls, spool, events, capacity)
        _burst(sink, spool, events, visitors)
        _report_sink(sink)
    print(f"\n  connections refused (anything but {LOOPBACK}): {len(refused)} {refused[:3]}")


# -- the sink's capacity ---------------------------------------------------------------------------


@dataclass
class Capacity:
    rate: float
    """Events/s the sink counted from a raw-socket client posting pre-built bodies."""
    cpu: float
    """The sink's CPU seconds per event meanwhile."""


def _sink_capacity(sink: Sink, mix: Sequence[Any]) -> dict[str, Capacity]:
    """How fast the sink counts our own bodies (500 events each), sent back to back."""
    messages = [to_message(_event(track)) for track in mix[:500]]
    packed = HttpForwarder(sink.url, format="msgpack")
    segment = SegmentForwarder(WRITE_KEY, host=sink.url)
    bodies = {
        CAPACITY_MSGPACK: (packed.body([packed.prepare(m) or b"" for m in messages]), "msgpack"),
        CAPACITY_JSON: (segment.body([segment.prepare(m) or b"" for m in messages]), "json"),
    }
    result = {}
    for path, (body, kind) in bodies.items():
        requests = 200
        cpu = sink.cpu_seconds()
        started = time.perf_counter()
        _post_raw(sink.port, path, body, f"application/{kind}", requests)
        elapsed = time.perf_counter() - started
        counted = sink.counts(path).events
        result[kind] = Capacity(counted / elapsed, (sink.cpu_seconds() - cpu) / max(counted, 1))
    print(
        "  sink capacity, counting our own 500-event bodies posted back to back over one "
        "keep-alive connection (the client's cost included):"
    )
    for kind, figure in result.items():
        print(
            f"    {kind}: {figure.rate:,.0f} events/s; the sink's CPU {us(figure.cpu * 1e9)} us "
            f"per event (so up to {1 / figure.cpu:,.0f} events/s on a core of its own)"
        )
    return result


def _post_raw(port: int, path: str, body: bytes, content_type: str, count: int) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    request = head + body
    with socket.create_connection((LOOPBACK, port)) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            connection.sendall(request)
            answered = 0
            while answered < len(RESPONSE):
                chunk = connection.recv(65536)
                if not chunk:
                    raise ConnectionError("the sink closed the connection")
                answered += len(chunk)


# -- 1. caller cost ----------------------------------------------------------------------------


def _caller_cost(sink: Sink, calls: Sequence[Call], spool: Path) -> None:
    print(header("delivery 1/3: track() with a segment forwarder, without, and Segment's track()"))
    print(
        f"  batches of {BATCH}, interleaved, the first {WARMUP_BATCHES} untimed, the first "
        f"{REWARM} calls of each untimed (as `track`); every queue emptied after each batch, "
        "outside the timing"
    )
    forwarding = Personalizer(
        forwarders=[SegmentForwarder(WRITE_KEY, host=sink.url + CALLER_OURS)],
        delivery=DeliverySettings(spool_dir=spool / "caller"),
    )
    plain = Personalizer()
    contenders = [
        _ours_forwarding(forwarding),
        Contender("personalize-sdk, no forwarder", peers.positional_loop(plain.track)),
        peers.segment(sink),  # it needs only the sink's url
    ]
    overhead = _harness_overhead(calls[: 20 * BATCH])
    try:
        timings = _measure(contenders, calls)
        background = [contender.background_cpu() for contender in contenders]
        stats = forwarding.delivery_stats()["segment"]
    finally:
        for contender in contenders:
            contender.close()
    _report_caller_cost(contenders, timings, overhead)
    sent = len(calls)
    print("\n  delivery (every event, warm-up included)")
    for contender, cpu, path in zip(
        contenders, background, (f"{CALLER_OURS}/v1/batch", None, CALLER_SEGMENT), strict=True
    ):
        if path is None:
            continue
        received = sink.events(path)
        line = f"  {contender.name}: sent {sent:,}, the sink received {received:,}"
        if cpu is not None:
            line += f"; its background thread used {us(cpu * 1e9 / sent)} us of CPU per event"
        print(line)
    print(
        f"  ours, delivery_stats(): sent {stats['sent']:,}, dropped {stats['dropped'] or 0}, "
        f"spilled {stats['spilled']:,}, batches {stats['batches']:,}; rejected by track(): "
        f"{rejected(forwarding) + rejected(plain)}"
    )
    logs = contenders[2].logs
    if logs is not None:
        print(f"  Segment's client logged {logs.count} warnings/errors")


def _ours_forwarding(pz: Personalizer) -> Contender:
    def drain() -> int:
        depth = sum(counts["queued"] for counts in pz.delivery_stats().values())
        pz.flush(FLUSH_BOUND)
        return depth

    outbox = pz._outbox
    return Contender(
        "personalize-sdk + segment forwarder",
        peers.positional_loop(pz.track),
        drain,
        pz.close,
        workers=lambda: [outbox._thread] if outbox is not None and outbox._thread else [],
    )


def _report_caller_cost(
    contenders: list[Contender], timings: list[Timings], overhead: float
) -> None:
    batches = f"batches of {BATCH}"
    print(f"\n  {'us per call':<38}{batches:>16}{'single calls':>21}")
    print(f"  {'':<38}" + "".join(f"{h:>8}" for h in ("median", "p90", "median", "p90", "p99")))
    for contender, timing in zip(contenders, timings, strict=True):
        figures = [
            median(timing.batch_means),
            percentile(timing.batch_means, 90),
            median(timing.calls),
            percentile(timing.calls, 90),
            percentile(timing.calls, 99),
        ]
        print(f"  {contender.name:<38}" + "".join(f"{us(f):>8}" for f in figures))
    print(f"  (harness overhead, included in all figures: {us(overhead)} us per call)")
    forwarding, plain, segment = (timing.headline for timing in timings)
    print(
        f"  the forwarder adds {us(forwarding - plain)} us per call (batch medians; single-call "
        f"medians: {us(median(timings[0].calls) - median(timings[1].calls))} us)"
    )
    print(f"  ours with the forwarder / Segment's: {ratio(forwarding, segment)}")
    print()
    print(
        verdict(
            f"track() with a segment forwarder, median <= {TARGET_CALL_US:g} us",
            forwarding / 1000,
            TARGET_CALL_US,
            f"{us(forwarding)} us",
        )
    )
    print(
        verdict(
            f"the same <= {TARGET_PEER_RATIO:g}x Segment's track() ({us(segment)} us)",
            forwarding / segment,
            TARGET_PEER_RATIO,
            f"ratio {ratio(forwarding, segment)}",
        )
    )


# -- an idle process ---------------------------------------------------------------------------


def _idle(sink: Sink, call: Call, spool: Path, seconds: float) -> None:
    print(f"\n  idle: after one event, delivered, {seconds:g} s with nothing to send")
    pz = Personalizer(
        forwarders=[SegmentForwarder(WRITE_KEY, host=sink.url + CALLER_OURS)],
        delivery=DeliverySettings(spool_dir=spool / "idle"),
    )
    contenders = [_ours_forwarding(pz), peers.segment(sink)]
    try:
        for contender in contenders:
            contender.run([call], [0, 0])
            contender.drain()
        time.sleep(1.0)  # a retry or a last batch settles
        before = [contender.background_cpu() for contender in contenders]
        time.sleep(seconds)
        after = [contender.background_cpu() for contender in contenders]
    finally:
        for contender in contenders:
            contender.close()
    for contender, first, last in zip(contenders, before, after, strict=True):
        if first is None or last is None:
            print(f"  {contender.name}: n/a (its background threads could not be read)")
            continue
        share = (last - first) / seconds * 100
        print(f"  {contender.name}: its background threads used {share:.2f}% of a core")


# -- 2. delivered throughput -------------------------------------------------------------------


@dataclass
class Delivered:
    """One throughput round."""

    events: int
    fed: float
    """Seconds to put (or track) every event."""
    seconds: float
    """From the first event to the sink counting the last."""
    received: int
    requests: int
    sender_cpu: float | None
    """The delivery thread's CPU seconds."""
    sink_cpu: float
    stats: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Case:
    label: str
    path: str
    build: Callable[[Sink], BaseForwarder]
    target: int


CASES = (
    Case(
        "http msgpack",
        MSGPACK,
        lambda sink: HttpForwarder(sink.url + MSGPACK, format="msgpack"),
        TARGET_MSGPACK,
    ),
    Case(
        "segment JSON",
        f"{SEGMENT}/v1/batch",
        lambda sink: SegmentForwarder(WRITE_KEY, host=sink.url + SEGMENT),
        TARGET_SEGMENT,
    ),
)
MODES = ("pipeline alone", "end to end")


def _throughput(
    sink: Sink,
    mix: Sequence[Any],
    calls: Sequence[Call],
    spool: Path,
    count: int,
    capacity: dict[str, Capacity],
) -> None:
    print(header("delivery 2/3: delivered events/s from one process to the sink process"))
    events = [_event(track) for track in itertools.islice(itertools.cycle(mix), count)]
    tracked = list(itertools.islice(itertools.cycle(calls), count))
    print(
        f"  {count:,} events per round (the `track` mix, cycled), {ROUNDS} rounds, the cases "
        "interleaved; default DeliverySettings (16 MB in memory per forwarder, then the disk)\n"
        "  (a) pipeline alone: pre-built Events put on an Outbox as fast as one thread can;"
        " (b) end to end: Personalizer.track() for each"
    )
    results: dict[tuple[str, str], list[Delivered]] = {}
    for number in range(ROUNDS):
        for case in CASES:
            for mode in MODES:
                folder = spool / f"throughput-{number}-{case.path.strip('/').replace('/', '-')}"
                if mode == MODES[0]:
                    round_ = _pipeline_round(sink, case, events, folder)
                else:
                    round_ = _end_to_end_round(sink, case, tracked, folder)
                results.setdefault((case.label, mode), []).append(round_)
    _report_throughput(results, count)
    _report_costs(events[:20_000], sink)
    print()
    for case in CASES:
        for mode in MODES:
            rate = median([r.rate for r in results[case.label, mode]])
            print(
                verdict(
                    f"{case.label}, {mode}, >= {case.target:,} events/s",
                    -rate,
                    -case.target,
                    f"{rate:,.0f} events/s",
                )
            )
    highest = max(r.rate for rounds in results.values() for r in rounds)
    slowest = min(figure.rate for figure in capacity.values())
    busiest = max(r.sink_cpu / r.seconds for rounds in results.values() for r in rounds)
    print(
        f"  the sink was not the bottleneck: at most {busiest:.0%} of one core busy in any round,"
        f" and it counts {slowest:,.0f} events/s or more (the highest rate measured here: "
        f"{highest:,.0f})"
        if busiest < 0.5 and slowest > 2 * highest
        else f"  WARNING: the sink may have limited a round (busy up to {busiest:.0%} of a core,"
        f" capacity {slowest:,.0f} events/s against {highest:,.0f} measured)"
    )


def _event(track: Any) -> Event:
    """The event `track()` would accept: stamped now (by the clock, as a live shop's are), with a
    new message id. (The mix's own timestamps are its simulated day: a few per second.)"""
    return Event(track.visitor_id, track.event, track.properties, time.time(), new_message_id())


def _pipeline_round(sink: Sink, case: Case, events: Sequence[Event], folder: Path) -> Delivered:
    outbox = Outbox([case.build(sink)], DeliverySettings(spool_dir=folder))
    before, sink_cpu = sink.counts(case.path), sink.cpu_seconds()
    gc.collect()
    gc.freeze()  # the pre-built events are the harness's: no client's collector walks them
    try:
        put = outbox.put
        started = time.monotonic_ns()
        for event in events:
            put(event)
        fed = time.monotonic_ns()
        outbox.flush(FLUSH_BOUND)  # else the last batch, not full, waits its interval (1 s)
        after = sink.wait_for(case.path, before.events + len(events), _bound(len(events)))
        thread = outbox._thread
        cpu = peers.thread_cpu_seconds([thread]) if thread is not None else None
        stats = outbox.stats()[outbox.forwarders[0].name]
    finally:
        gc.unfreeze()
    outbox.close(FLUSH_BOUND)
    return _delivered(sink, before, after, started, fed, cpu, sink_cpu, stats, len(events))


def _end_to_end_round(sink: Sink, case: Case, calls: Sequence[Call], folder: Path) -> Delivered:
    pz = Personalizer(forwarders=[case.build(sink)], delivery=DeliverySettings(spool_dir=folder))
    outbox = pz._outbox
    assert outbox is not None
    before, sink_cpu = sink.counts(case.path), sink.cpu_seconds()
    gc.collect()
    gc.freeze()
    try:
        track = pz.track
        started = time.monotonic_ns()
        for visitor_id, event, properties in calls:
            track(visitor_id, event, properties)
        fed = time.monotonic_ns()
        pz.flush(FLUSH_BOUND)
        after = sink.wait_for(case.path, before.events + len(calls), _bound(len(calls)))
        thread = outbox._thread
        cpu = peers.thread_cpu_seconds([thread]) if thread is not None else None
        stats = pz.delivery_stats()[outbox.forwarders[0].name]
    finally:
        gc.unfreeze()
    pz.close()
    if rejected(pz):
        print(f"  WARNING: track() rejected {rejected(pz)} events")
    return _delivered(sink, before, after, started, fed, cpu, sink_cpu, stats, len(calls))


def _bound(events: int) -> float:
    """How long a round may wait for the sink: long enough for 5,000 events/s."""
    return 30.0 + events / 5_000


def _delivered(
    sink: Sink,
    before: Counts,
    after: Counts,
    started: int,
    fed: int,
    cpu: float | None,
    sink_cpu: float,
    stats: dict[str, Any],
    events: int,
) -> Delivered:
    return Delivered(
        events=events,
        fed=(fed - started) / 1e9,
        seconds=(after.last_ns - started) / 1e9,
        received=after.events - before.events,
        requests=after.requests - before.requests,
        sender_cpu=cpu,
        sink_cpu=sink.cpu_seconds() - sink_cpu,
        stats=stats,
    )


def _report_throughput(results: dict[tuple[str, str], list[Delivered]], count: int) -> None:
    print(
        f"\n  {'':<30}{'events/s':>10}{'rounds':>26}{'fed in':>8}{'sender CPU':>12}"
        f"{'CPU-bound':>11}{'spilled':>9}{'requests':>9}{'sink busy':>10}"
    )
    print(f"  {'':<30}{'median':>10}{'':>26}{'s':>8}{'us/event':>12}{'events/s':>11}")
    for (label, mode), rounds in results.items():
        rates = " ".join(f"{r.rate:>8,.0f}" for r in rounds)
        cpus = [r.sender_cpu / r.received for r in rounds if r.sender_cpu and r.received]
        chosen = sorted(rounds, key=lambda r: r.rate)[len(rounds) // 2]
        print(
            f"  {f'{label}, {mode}':<30}{median([r.rate for r in rounds]):>10,.0f}{rates:>26}"
            f"{chosen.fed:>8.2f}{us(median(cpus) * 1e9) if cpus else 'n/a':>12}"
            f"{1 / median(cpus) if cpus else 0:>11,.0f}"
            f"{chosen.stats['spilled']:>9,}{chosen.requests:>9,}"
            f"{chosen.sink_cpu / chosen.seconds:>10.0%}"
        )
        lost = [r for r in rounds if r.received != count]
        dropped = [r.stats["dropped"] for r in rounds if r.stats["dropped"]]
        if lost or dropped:
            print(
                f"    WARNING: received {[r.received for r in lost]} of {count:,}; "
                f"dropped {dropped}"
            )
    print(
        "  (events/s: events the sink counted over the time from the first event to the last "
        "one counted, flush() called after the last; the median round's other columns; sender "
        "CPU: the delivery thread's, from /proc, per event delivered; CPU-bound: the rate that "
        "CPU per event would give the sender with a core to itself, which a noisy neighbour "
        "moves less)"
    )


def _report_costs(events: Sequence[Event], sink: Sink) -> None:
    """Where a sender's CPU per event goes, measured on its own in this thread (best of 3)."""
    messages = [to_message(event) for event in events]
    forwarders = {case.label: case.build(sink) for case in CASES}
    rows = [("to_message (Segment-spec dict)", lambda: [to_message(e) for e in events])]
    pack = msgpack.Packer(default=str).pack
    queued = [frozen(event, pack) for event in events]
    rows.append(("frozen (in track(), the caller's)", lambda: [frozen(e, pack) for e in events]))
    for label, forwarder in forwarders.items():
        prepare = forwarder.prepare
        rows.append((f"{label}: prepare (encode)", lambda p=prepare: [p(m) for m in messages]))
        direct = forwarder.direct_encoder()
        if direct is not None:  # what the pipeline runs instead of the two above
            rows.append((f"{label}: direct, frozen", lambda d=direct: [d(q) for q in queued]))
    print("\n  per event, measured alone on the same events (best of 3), for reading the above:")
    for label, work in rows:
        best = min(_seconds(work) for _ in range(3))
        print(f"    {label:<34}{us(best * 1e9 / len(events)):>8} us")


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


# -- 3. the burst ------------------------------------------------------------------------------


@dataclass
class Burst:
    name: str
    called: float
    """Seconds to make every call."""
    delivered: float | None
    """Seconds from the first call to the sink counting the last event (None: none arrived)."""
    finished: float
    """Seconds from the first call to flush/shutdown returning."""
    received: int
    dropped: int
    rss_mb: float
    baseline_mb: float
    logged: int
    detail: str


def _burst(sink: Sink, spool: Path, count: int, visitors: int) -> None:
    print(header(f"delivery 3/3: a burst of {count:,} track() calls, one thread, defaults"))
    print(
        "  each client in a spawned process of its own, the `track` mix cycled; then its "
        f"flush (ours: flush({FLUSH_BOUND:g}), then close) and shutdown, bounded; ours with "
        "DeliverySettings() but for spool_dir"
    )
    context = multiprocessing.get_context("spawn")
    rows = [
        _burst_one(context, sink, name, count, visitors, spool / "burst")
        for name in ("personalize-sdk", "segment", "posthog")
    ]
    print(
        f"\n  {'client':<28}{'received':>10}{'dropped':>10}{'calls':>8}{'delivered':>11}"
        f"{'done':>8}{'peak RSS':>10}{'before':>8}{'logged':>8}"
    )
    print(f"  {'':<28}{'':>10}{'':>10}{'s':>8}{'s':>11}{'s':>8}{'MB':>10}{'MB':>8}")
    for row in rows:
        delivered = f"{row.delivered:.2f}" if row.delivered is not None else "-"
        print(
            f"  {row.name:<28}{row.received:>10,}{row.dropped:>10,}{row.called:>8.2f}"
            f"{delivered:>11}{row.finished:>8.2f}{row.rss_mb:>10.0f}{row.baseline_mb:>8.0f}"
            f"{row.logged:>8,}"
        )
    print(
        "  (calls: time to make every call; delivered: from the first call to the sink counting "
        "the last event; done: to flush/shutdown returning; peak RSS: VmHWM of the process, "
        "'before' the same just before the first call, with the mix loaded; logged: warnings "
        "and errors the client logged)"
    )
    for row in rows:
        if row.detail:
            print(f"  {row.name}: {row.detail}")
    ours = rows[0]
    print()
    print(verdict("ours: 0 dropped in the burst", ours.dropped, 0, f"{ours.dropped:,} dropped"))
    missing = count - ours.received
    print(verdict("ours: every event at the sink", missing, 0, f"{missing:,} missing"))


def _burst_one(
    context: Any, sink: Sink, name: str, count: int, visitors: int, spool: Path
) -> Burst:
    prefix = BURST[name]
    path = f"{prefix}/batch/" if name == "posthog" else f"{prefix}/v1/batch"
    before = sink.counts(path).events
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_burst_child,
        args=(name, sink.url + prefix, count, visitors, str(spool), send),
        name=f"burst-{name}",
    )
    process.start()
    send.close()
    report: dict[str, Any] = {}
    if receive.poll(FLUSH_BOUND + 120):
        report = receive.recv()
    process.join(10)
    if process.is_alive():
        process.terminate()
        process.join(5)
    counts = sink.wait_for(path, before + count, timeout=10, idle=1.0)
    received = counts.events - before
    if not report:
        return Burst(name, 0, None, 0, received, count - received, 0, 0, 0, "did not finish")
    started = report["started"]
    delivered = (counts.last_ns - started) / 1e9 if counts.last_ns > started else None
    dropped = report.get("dropped")
    label = {
        "personalize-sdk": "personalize-sdk (segment fwd)",
        "segment": f"segment-analytics-python {report['version']}",
        "posthog": f"posthog {report['version']}",
    }[name]
    return Burst(
        label,
        called=(report["called"] - started) / 1e9,
        delivered=delivered,
        finished=(report["finished"] - started) / 1e9,
        received=received,
        dropped=count - received if dropped is None else dropped,
        rss_mb=report["rss_kb"] / 1024,
        baseline_mb=report["baseline_kb"] / 1024,
        logged=report["logged"],
        detail=report["detail"],
    )


def _burst_child(
    name: str, url: str, count: int, visitors: int, spool: str, results: Connection
) -> None:
    """One contender of the burst, in a spawned process: build, call `count` times, flush."""
    from importlib.metadata import version

    refused = peers.guard_loopback()
    calls: list[Call] = [
        (c.visitor_id, c.event, c.properties) for c in track_mix(make_catalog(), visitors)
    ]
    calls = list(itertools.islice(itertools.cycle(calls), count))
    logs = peers.LogCounter()
    for logger_name in ({"personalize-sdk": "personalize_sdk"}.get(name, name), "backoff"):
        logger = logging.getLogger(logger_name)  # backoff: Segment's retries
        logger.addHandler(logs)
        logger.propagate = False
    report: dict[str, Any] = {"version": "", "dropped": None, "detail": ""}
    if name == "personalize-sdk":
        pz = Personalizer(
            forwarders=[SegmentForwarder(WRITE_KEY, host=url)],
            delivery=DeliverySettings(spool_dir=spool),
        )
        gc.collect()
        gc.freeze()
        report["baseline_kb"] = _peak_rss_kb()
        track = pz.track
        report["started"] = time.monotonic_ns()
        for visitor_id, event, properties in calls:
            track(visitor_id, event, properties)
        report["called"] = time.monotonic_ns()
        flushed = pz.flush(FLUSH_BOUND)
        stats = pz.delivery_stats()["segment"]
        pz.close()
        report["dropped"] = sum(stats["dropped"].values())
        report["detail"] = (
            f"flush returned {flushed}; delivery_stats(): sent {stats['sent']:,}, spilled to disk "
            f"{stats['spilled']:,}, dropped {stats['dropped'] or 0}, queued {stats['queued']:,}, "
            f"retried {stats['retried']}, last_error {stats['last_error']!r}; track() rejected "
            f"{rejected(pz)}"
        )
    elif name == "segment":
        from segment.analytics import Client

        client = Client(WRITE_KEY, host=url)  # defaults otherwise
        report["version"] = version("segment-analytics-python")
        gc.collect()
        gc.freeze()
        report["baseline_kb"] = _peak_rss_kb()
        segment_track = client.track
        report["started"] = time.monotonic_ns()
        for visitor_id, event, properties in calls:
            segment_track(user_id=visitor_id, event=event, properties=properties)
        report["called"] = time.monotonic_ns()
        client.flush()
        client.shutdown()
    else:
        from posthog import Posthog

        # Defaults otherwise; no personal API key (no flag poller), exception autocapture off
        # (its default, said anyway), as in `peers.posthog`.
        client = Posthog(
            "phc_bench_project_key",
            host=url,
            enable_exception_autocapture=False,
            personal_api_key=None,
        )
        report["version"] = version("posthog")
        gc.collect()
        gc.freeze()
        report["baseline_kb"] = _peak_rss_kb()
        capture = client.capture
        report["started"] = time.monotonic_ns()
        for visitor_id, event, properties in calls:
            capture(event, distinct_id=visitor_id, properties=properties)
        report["called"] = time.monotonic_ns()
        client.flush()
        client.shutdown()
    report["finished"] = time.monotonic_ns()
    report["rss_kb"] = _peak_rss_kb()
    report["logged"] = logs.count
    if logs.first:
        report["detail"] += f"{'; ' if report['detail'] else ''}first logged: {logs.first!r}"
    if refused:
        report["detail"] += f"; connections refused: {refused[:3]}"
    results.send(report)
    results.close()


def _peak_rss_kb() -> int:
    """This process's peak resident set size, in KB: VmHWM from /proc (Linux). `ru_maxrss`
    would do elsewhere, but on Linux it carries the parent's peak over the exec of a spawned
    child (measured: 321 MB reported for a 15 MB child of a 321 MB parent)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- the sink's own report ---------------------------------------------------------------------


def _report_sink(sink: Sink) -> None:
    totals = [sink.counts(path) for path in sink.paths]
    checked = sum(c.checked for c in totals)
    mismatches = sum(c.mismatches for c in totals)
    errors = sum(c.errors for c in totals)
    other = sink.counts("other")
    print(
        f"\n  sink: {sum(c.requests for c in totals):,} requests, "
        f"{sum(c.events for c in totals):,} events; {checked:,} bodies decoded in full to check "
        f"the count: {mismatches} mismatches; {errors} unreadable requests; "
        f"{other.requests} on unexpected paths"
    )
