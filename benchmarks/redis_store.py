"""`redis`: `RedisStore` on the loopback Redis: write throughput from 1 and 4 processes,
`widgets()` with a warm and a cold local cache next to `MemoryStore`, and how soon a write in
one process shows in another.

Everything runs against Redis on 127.0.0.1:6379, database 15, under a key prefix of this run's
own (`pzbench-<random>:`), deleted at the end; the loopback guard refuses any other address.

- throughput: each process (spawned, its own shoppers of the shared `track` mix) waits at a
  barrier, then tracks its events into `Personalizer(store=RedisStore(...))` and calls
  `store.flush()`; events/s is events over the time from the first `track` to `flush`
  returning, so every event is in Redis. The stored profiles are read back afterwards and
  their counters must add up to the events tracked.
- widgets: the shoppers and campaigns of `benchmarks/widgets.py` (100 campaigns), replayed into
  a `MemoryStore` and a `RedisStore` Personalizer; memory, warm (the profile in the local
  cache) and cold (the local caches of profiles and links emptied before the call, so it reads
  link and profile from Redis and evaluates the segments again) interleaved batch by batch.
- visibility: process A tracks an event and stamps the system-wide monotonic clock as `track`
  returns; process B, which holds a copy of that profile, polls `pz.profile()` every 0.2 ms
  until it shows the event and stamps the clock again.

Stores are flushed and left open (their threads are daemons; the processes exit): `close()`
shuts the client while the invalidation listener waits in `get_message`, which then logs a
traceback that would only clutter the report.
"""

from __future__ import annotations

import gc
import multiprocessing
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import redis

from personalize_sdk import Page, Personalizer
from personalize_sdk.profile import profile_key
from personalize_sdk.profile_codec import decode
from personalize_sdk.redis_store import RedisStore

from . import _redis_first_page, peers, widgets
from .peers import Call
from .stats import call_times, header, median, percentile, us, verdict
from .workload import (
    NOW,
    make_catalog,
    product_properties,
    rejected,
    replay,
    shopper_histories,
    track_mix,
)

URL = "redis://127.0.0.1:6379/15"
PROCESSES = (1, 4)
THROUGHPUT_ROUNDS = 3
VISITORS_PER_PROCESS = 3_000
"""About 26,000 events per process (one visit each, the `track` benchmark's mix)."""
TARGET_EVENTS_PER_S = 20_000.0

CAMPAIGNS = 100
VISITORS = 1_000
BATCH = 100
ROUNDS = 3
TARGET_WARM_RATIO = 1.2
TARGET_COLD_P99_MS = 1.0
LOCAL_TTL = 600.0
"""The widgets store's local cache TTL (default 30 s): warm stays warm for the whole run."""

SAMPLES = 300
WARMUP_SAMPLES = 20
POLL_SECONDS = 0.0002
GIVE_UP_SECONDS = 2.0
TARGET_VISIBLE_MS = 50.0


def _mono() -> int:
    """Nanoseconds of the system-wide monotonic clock (the same in every process on Linux)."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def _at_least(label: str, value: float, floor: float, shown: str) -> str:
    status = "met" if value >= floor else "MISSED"
    return f"  target {label}: {status} ({shown})"


def run(quick: bool = False) -> None:
    print(header("redis: RedisStore on 127.0.0.1: throughput, widgets, visibility, first page"))
    refused = peers.guard_loopback()
    client = redis.Redis.from_url(URL, socket_timeout=5)
    try:
        info = client.info("server")
        client.ping()
    except Exception as error:  # noqa: BLE001 - a benchmark reports, it never fails
        print(f"  no Redis at {URL} ({error}): skipped")
        return
    prefix = f"pzbench-{uuid.uuid4().hex[:10]}:"
    print(f"  Redis {info.get('redis_version')} at {URL}, key prefix {prefix!r}")
    context = multiprocessing.get_context("spawn")
    try:
        _throughput(context, prefix, quick)
        _widgets(prefix, quick)
        _visibility(context, prefix, quick)
        _redis_first_page.run(URL, prefix, quick)
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        left = sum(1 for _ in client.scan_iter(match=f"{prefix}*", count=1000))
        print(f"\n  deleted this run's {len(keys):,} keys ({left} left)")
        client.close()
    print(f"  connections refused (anything but 127.0.0.1): {len(refused)} {refused[:3]}")


# -- 1. throughput ---------------------------------------------------------------------------------


def _throughput(context: Any, prefix: str, quick: bool) -> None:
    visitors = VISITORS_PER_PROCESS // 10 if quick else VISITORS_PER_PROCESS
    rounds = 1 if quick else THROUGHPUT_ROUNDS
    print(
        f"\n  1. throughput: track() into RedisStore until flush() returns; {visitors:,} "
        f"shoppers per process (one visit each), {rounds} rounds of 1 then 4 processes"
    )
    print(
        f"  {'':<14}{'events':>9}{'events/s':>10}{'per proc':>10}{'track us':>10}"
        f"{'p99 us':>8}{'1st us':>8}{'cpu us':>10}{'flush ms':>10}{'batches':>9}"
        f"{'writes':>8}{'confl.':>7}  stored"
    )
    per_process: dict[int, list[float]] = {n: [] for n in PROCESSES}
    aggregate: dict[int, list[float]] = {n: [] for n in PROCESSES}
    for number in range(rounds):
        for processes in PROCESSES:
            run_prefix = f"{prefix}t{number}-{processes}:"
            results = _spawn_trackers(context, run_prefix, processes, visitors)
            check = _check_stored(run_prefix, results)
            began = min(r["began"] for r in results)
            ended = max(r["ended"] for r in results)
            events = sum(r["events"] for r in results)
            rates = [r["events"] / ((r["ended"] - r["began"]) / 1e9) for r in results]
            total = events / ((ended - began) / 1e9)
            per_process[processes].append(median(rates))
            aggregate[processes].append(total)
            label = f"round {number + 1}, {processes} proc"
            print(
                f"  {label:<14}{events:>9,}{total:>10,.0f}{median(rates):>10,.0f}"
                f"{us(median([r['track_mean'] for r in results])):>10}"
                f"{us(max(r['track_p99'] for r in results)):>8}"
                f"{us(median([r['first_median'] for r in results])):>8}"
                f"{_cpu(results):>10}"
                f"{median([r['flush_ns'] for r in results]) / 1e6:>10.1f}"
                f"{sum(r['batches'] for r in results):>9,}"
                f"{sum(r['stats'].get('writes', 0) for r in results):>8,}"
                f"{sum(r['stats'].get('conflicts', 0) for r in results):>7,}  {check}"
            )
            if processes > 1:
                print(f"  {'':<14}per process events/s: " + ", ".join(f"{x:,.0f}" for x in rates))
            faults = {k: v for r in results for k, v in r["stats"].items() if "fault" in k}
            if faults or any(r["rejected"] or not r["flushed"] for r in results):
                print(f"  {'':<14}faults {faults}, rejected {[r['rejected'] for r in results]}, "
                      f"flushed {[r['flushed'] for r in results]}")  # fmt: skip
    print(
        "  (track us: caller-side mean per track(), flush excluded; p99: worst process's p99 of "
        "single calls; 1st us: median first event of a shopper, which reads nothing (a blind "
        "copy; the writer reads what is stored before it writes); cpu us: CPU per event of the "
        "tracking thread + the writer thread; "
        "batches: writer batches; writes: profiles written by compare-and-set)"
    )
    for processes in PROCESSES:
        print(
            f"  {processes} process(es): median over rounds {median(per_process[processes]):,.0f}"
            f" events/s per process, {median(aggregate[processes]):,.0f} events/s in all"
        )
    for processes in PROCESSES:
        value = median(per_process[processes])
        print(_at_least(f">= {TARGET_EVENTS_PER_S:,.0f} events/s per process, {processes} "
                        "process(es)", value, TARGET_EVENTS_PER_S, f"{value:,.0f}"))  # fmt: skip


def _cpu(results: list[dict[str, Any]]) -> str:
    caller = median([r["cpu_us"][0] for r in results])
    writer = median([r["cpu_us"][1] for r in results])
    return f"{caller:.0f}+{writer:.0f}"


def _spawn_trackers(
    context: Any, prefix: str, processes: int, visitors: int
) -> list[dict[str, Any]]:
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=_tracker, args=(prefix, number, visitors, barrier, results), daemon=True
        )
        for number in range(processes)
    ]
    for worker in workers:
        worker.start()
    collected = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    return sorted(collected, key=lambda r: r["number"])


def _tracker(prefix: str, number: int, visitors: int, barrier: Any, results: Any) -> None:
    """One process of the throughput run (spawned): its own shoppers, tracked then flushed."""
    peers.guard_loopback()
    mix = track_mix(make_catalog(), visitors, seed=100 + number)
    calls: list[Call] = [(c.visitor_id, c.event, c.properties) for c in mix]
    store = RedisStore(URL, prefix=prefix)
    batches = [0]
    write = store._write

    def counted(batch: list[Any], *rest: Any) -> None:  # the writer's batches, counted
        batches[0] += 1
        write(batch, *rest)

    store._write = counted  # type: ignore[method-assign]
    pz = Personalizer(store=store)
    stamps = [0] * (len(calls) + 1)
    clock = time.perf_counter_ns
    track = pz.track
    gc.collect()
    gc.freeze()  # the pre-generated mix is the harness's, not the store's garbage
    barrier.wait()
    cpu = time.thread_time()
    began = _mono()
    stamps[0] = clock()
    for index, (visitor, event, properties) in enumerate(calls, 1):
        track(visitor, event, properties)
        stamps[index] = clock()
    tracked = _mono()
    flushed = store.flush(timeout=120)
    ended = _mono()
    cpu = time.thread_time() - cpu
    gc.unfreeze()
    writer = peers.thread_cpu_seconds([store._writer]) if store._writer else None
    singles = call_times(stamps)
    seen: set[str] = set()
    first = []
    for (visitor, _, _), duration in zip(calls, singles, strict=True):
        if visitor not in seen:
            seen.add(visitor)
            first.append(duration)
    results.put(
        {
            "number": number,
            "events": len(calls),
            "expected": dict(Counter(visitor for visitor, _, _ in calls)),
            "began": began,
            "ended": ended,
            "flush_ns": ended - tracked,
            "flushed": flushed,
            "track_mean": (stamps[-1] - stamps[0]) / len(calls),
            "track_p99": percentile(singles, 99),
            "first_median": median(first),
            "batches": batches[0],
            "cpu_us": (cpu * 1e6 / len(calls), (writer or 0.0) * 1e6 / len(calls)),
            "stats": store.stats(),
            "rejected": rejected(pz) + len(calls) - pz.stats().get("events", 0),
        }
    )


def _check_stored(prefix: str, results: list[dict[str, Any]]) -> str:
    """Read every profile back from Redis: its counters must add up to the events tracked."""
    expected: dict[str, int] = {}
    for result in results:
        expected.update(result["expected"])
    store = RedisStore(URL, prefix=prefix)
    pipe = store.redis.pipeline(transaction=False)
    visitors = list(expected)
    for visitor in visitors:
        pipe.hget(store.keys.profile(f"v:{visitor}"), "d")
    stored = 0
    wrong = 0
    for visitor, data in zip(visitors, pipe.execute(), strict=True):
        counted = 0 if data is None else sum(decode(data).counters.values())
        stored += counted
        wrong += counted != expected[visitor]
    store.redis.close()
    total = sum(expected.values())
    if stored == total and not wrong:
        return f"{stored:,} = tracked, none lost"
    return f"{stored:,} of {total:,} tracked, {wrong} profiles wrong: EVENTS LOST"


# -- 2. widgets, warm and cold ---------------------------------------------------------------------


def _widgets(prefix: str, quick: bool) -> None:
    visitors_count = VISITORS // 5 if quick else VISITORS
    rounds = 1 if quick else ROUNDS
    print(
        f"\n  2. widgets(): {CAMPAIGNS} campaigns, product page, {visitors_count:,} shoppers of "
        "the widgets benchmark; MemoryStore vs RedisStore warm and cold local cache"
    )
    catalog = make_catalog()
    histories = list(shopper_histories(catalog, visitors_count, seed=5))
    product = catalog.products[0]
    page = Page(type="product", path=f"/p/{product.product_id}", product_id=product.product_id,
                category=product.category, device="desktop")  # fmt: skip
    config = {"campaigns": widgets.campaigns(CAMPAIGNS)}
    memory = Personalizer(config, clock=lambda: NOW, secret="b" * 32)
    store = RedisStore(URL, prefix=f"{prefix}w:", local_ttl=LOCAL_TTL)
    # The shared popularity feed runs on the Personalizer's clock (NOW), as memory's counters
    # do: by the real clock the replayed days would fall out of its window at the first pull.
    remote = Personalizer(config, store=store, clock=lambda: NOW, secret="b" * 32)
    started = time.perf_counter()
    visitors = [steps[0].visitor_id for steps in histories if replay(memory, steps)]
    for steps in histories:
        replay(remote, steps)
    remote.flush()
    if remote.popularity is not None:
        remote.popularity.sync()  # pushed and pulled back before anything is timed
    print(
        f"  replayed {sum(len(h) for h in histories):,} steps into each store "
        f"({time.perf_counter() - started:.1f} s); rejected: memory {rejected(memory)}, "
        f"redis {rejected(remote)}"
    )
    for visitor in visitors:  # warm: segments cached, as on any page after the first
        memory.widgets(visitor, page)
        remote.widgets(visitor, page)
    same, differ = _compare(memory, remote, visitors, page)
    shown = [len(memory.widgets(v, page)) for v in visitors]
    print(
        f"  {sum(shown) / len(shown):.1f} widgets per page; the same campaigns from both stores "
        f"for {same:,} of {len(visitors):,} shoppers"
        + (f" (differing: {differ})" if differ else "")
    )
    names = ("memory", "redis warm", "redis cold")
    runners = (
        lambda batch: _timed(memory, batch, page, None),
        lambda batch: _timed(remote, batch, page, None),
        lambda batch: _timed(remote, batch, page, store),
    )
    times: list[list[int]] = [[] for _ in names]
    batch_medians: list[list[float]] = [[] for _ in names]
    gc.collect()
    gc.freeze()
    try:
        number = 0
        for _ in range(rounds):
            for start in range(0, len(visitors), BATCH):
                batch = visitors[start : start + BATCH]
                shift = number % len(names)
                for index in [*range(shift, len(names)), *range(shift)]:
                    durations = runners[index](batch)
                    times[index].extend(durations)
                    batch_medians[index].append(median(durations))
                number += 1
    finally:
        gc.unfreeze()
    print(f"  us per call{'median':>15}{'p90':>8}{'p99':>8}{'batch med.':>12}  x memory (med, p99)")
    base = times[0]
    for name, durations, medians in zip(names, times, batch_medians, strict=True):
        figures = [median(durations), percentile(durations, 90), percentile(durations, 99)]
        print(
            f"  {name:<12}" + f"{us(figures[0]):>14}" + "".join(f"{us(f):>8}" for f in figures[1:])
            + f"{us(median(medians)):>12}  x{figures[0] / median(base):.2f}, "
            f"x{figures[2] / percentile(base, 99):.2f}"
        )  # fmt: skip
    print(
        "  (cold: profile and link caches emptied before each call, untimed; the call reads the "
        "link and the profile from Redis, decodes it and evaluates the segments again)"
    )
    warm = median(times[1]) / median(base)
    cold_p99 = percentile(times[2], 99) / 1e6
    print(verdict(f"warm median <= {TARGET_WARM_RATIO:g}x MemoryStore", warm, TARGET_WARM_RATIO,
                  f"x{warm:.2f}"))  # fmt: skip
    print(verdict(f"cold p99 <= {TARGET_COLD_P99_MS:g} ms", cold_p99, TARGET_COLD_P99_MS,
                  f"{cold_p99:.2f} ms; median {median(times[2]) / 1e6:.2f} ms"))  # fmt: skip
    print(f"  redis store stats: {store.stats()}")


def _compare(
    memory: Personalizer, remote: Personalizer, visitors: list[str], page: Page
) -> tuple[int, dict[str, int]]:
    """Shoppers shown the same campaigns by both, and the kinds of the widgets that differ."""
    same = 0
    differ: Counter[str] = Counter()
    for visitor in visitors:
        ours = [(w.campaign_id, w.kind) for w in memory.widgets(visitor, page)]
        theirs = [(w.campaign_id, w.kind) for w in remote.widgets(visitor, page)]
        same += ours == theirs
        differ.update(kind for _, kind in set(ours) ^ set(theirs))
    return same, dict(differ)


def _timed(
    pz: Personalizer, batch: Sequence[str], page: Page, cold: RedisStore | None
) -> list[int]:
    clock = time.perf_counter_ns
    widgets_of = pz.widgets
    durations = []
    for visitor in batch:
        if cold is not None:
            _forget_locally(cold, visitor)
        began = clock()
        widgets_of(visitor, page)
        durations.append(clock() - began)
    return durations


def _forget_locally(store: RedisStore, visitor: str) -> None:
    """Drop the shopper's link and profile from the local cache (and only theirs), as in a
    process that never served them: the next call reads both from Redis."""
    with store._lock:
        user = store._links.pop(visitor, None)
        store._cache.pop(profile_key(visitor, user or None), None)


# -- 3. visibility across processes ----------------------------------------------------------------


def _visibility(context: Any, prefix: str, quick: bool) -> None:
    samples = SAMPLES // 5 if quick else SAMPLES
    print(
        f"\n  3. visibility: process A tracks, process B (holding a copy of the profile) polls "
        f"pz.profile() every {POLL_SECONDS * 1e3:g} ms; {samples} samples after "
        f"{WARMUP_SAMPLES} untimed"
    )
    run_prefix = f"{prefix}x:"
    total = samples + WARMUP_SAMPLES
    writer_end, reader_end = context.Pipe()
    results = context.Queue()
    workers = [
        context.Process(target=_writer, args=(run_prefix, total, writer_end), daemon=True),
        context.Process(target=_reader, args=(run_prefix, total, reader_end, results), daemon=True),
    ]
    for worker in workers:
        worker.start()
    outcome = results.get(timeout=120)
    for worker in workers:
        worker.join(timeout=30)
    delays = [d / 1e6 for d in outcome["delays"][WARMUP_SAMPLES:] if d is not None]
    missed = sum(d is None for d in outcome["delays"][WARMUP_SAMPLES:])
    if not delays:
        print(f"  no sample seen within {GIVE_UP_SECONDS:g} s")
        return
    polls = outcome["polls"][WARMUP_SAMPLES:]
    print(
        f"  delay ms: p50 {median(delays):.2f}, p90 {percentile(delays, 90):.2f}, "
        f"p99 {percentile(delays, 99):.2f}, max {max(delays):.2f}; {missed} not seen within "
        f"{GIVE_UP_SECONDS:g} s; B polled {median(polls):.0f} times (median); "
        f"B's store: {outcome['stats']}"
    )
    worst = percentile(delays, 99) if not missed else float("inf")
    print(verdict(f"p99 <= {TARGET_VISIBLE_MS:g} ms", worst, TARGET_VISIBLE_MS,
                  f"p99 {percentile(delays, 99):.2f} ms, max {max(delays):.2f} ms"))  # fmt: skip


def _visitor(index: int) -> str:
    return f"vis-{index:05d}"


def _writer(prefix: str, total: int, pipe: Any) -> None:
    """Process A: one first event per shopper (flushed), then, on B's word, one more each."""
    peers.guard_loopback()
    store = RedisStore(URL, prefix=prefix)
    pz = Personalizer(store=store)
    product = make_catalog().products[3]
    for index in range(total):
        pz.track(_visitor(index), "Page Viewed", {"path": "/"})
    store.flush()
    pipe.send("ready")
    for _ in range(total):
        index = pipe.recv()
        pz.track(_visitor(index), "Product Viewed", product_properties(product))
        pipe.send(_mono())
    pipe.recv()


def _reader(prefix: str, total: int, pipe: Any, results: Any) -> None:
    """Process B: load the shopper (a cached copy), let A track, poll until it shows."""
    peers.guard_loopback()
    store = RedisStore(URL, prefix=prefix)
    pz = Personalizer(store=store)
    pz.profile(_visitor(0))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # both processes' listeners subscribed
        if store.redis.pubsub_numsub(store.keys.channel)[0][1] >= 2:
            break
        time.sleep(0.01)
    pipe.recv()
    delays: list[int | None] = []
    polls: list[int] = []
    for index in range(total):
        visitor = _visitor(index)
        pz.profile(visitor)  # B's copy, as a worker that served this shopper before
        pipe.send(index)
        give_up = time.monotonic() + GIVE_UP_SECONDS
        count = 0
        seen = None
        while seen is None and time.monotonic() < give_up:
            count += 1
            if pz.profile(visitor).counters.get("Product Viewed"):
                seen = _mono()
            else:
                time.sleep(POLL_SECONDS)
        tracked = pipe.recv()
        delays.append(None if seen is None else seen - tracked)
        polls.append(count)
    pipe.send("done")
    results.put({"delays": delays, "polls": polls, "stats": store.stats()})
