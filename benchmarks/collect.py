"""`collect`: events/s one `personalize collect` worker accepts from Segment's Python client.

The collector runs as its own process (`personalize collect`, uvicorn, the embedded memory
store, one write key) on 127.0.0.1. Senders are separate processes running Segment's own client
(`segment-analytics-python`): each builds its share of the round's messages with the client's
`track()`/`page()` (``send=False``: the message the client would queue, timestamp, messageId and
context included), puts them on a queue, and then Segment's own uploader threads (its
`Consumer`: batches of 100, JSON, its HTTP session and retries) drain the queue into the
collector. The round's clock runs from the start of the uploads to the last queue drained, every
batch answered 200. Building the messages is the client's cost, paid by the app that tracks, and
is kept out of the clock so that the client is not what is measured; it is reported beside.

On a machine with 2 cores or more the collector is pinned to one core and the senders to the
others (as `http` does), so the figure is what one worker does with a core of its own. Reported:
accepted events/s per round (median), the collector's CPU per event (from /proc), and the
collector's own counters at exit (every event accepted once, none rejected).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .stats import header, median, verdict

KEY = "bench-key"
TARGET = 20_000
SENDERS = 2
UPLOADERS = 2
"""Segment uploader threads per sender process: 4 connections in all, enough to keep one
worker busy."""
VISITORS = 500


def run(quick: bool = False) -> None:
    print(header("collect: one `personalize collect` worker, fed by Segment's Python client"))
    try:
        from segment.analytics import Client  # noqa: F401 - the dev extra has it
    except ImportError:
        print("  segment-analytics-python is not installed (dev extra): skipped")
        return
    rounds, per_round = (2, 6_000) if quick else (5, 60_000)
    collector_cpus, sender_cpus = _cores()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "personalize.toml"
        config.write_text(f'[collector]\nserver_keys = ["{KEY}"]\n')
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "personalize_sdk.cli", "collect", "--port", str(port),
             "--config", str(config), "--store", "memory://"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            if collector_cpus:
                os.sched_setaffinity(server.pid, collector_cpus)
            assert server.stdout is not None
            print(f"  {server.stdout.readline().strip()}")
            _wait_listening(port)
            if collector_cpus:
                print(f"  collector pinned to CPU {sorted(collector_cpus)}, senders to "
                      f"{sorted(sender_cpus)}")  # fmt: skip
            context = multiprocessing.get_context("spawn")
            rates, cpu_per_event, build_us = [], [], []
            for number in range(rounds):
                cpu_before = _cpu_seconds(server.pid)
                elapsed, built, errors = _round(context, port, per_round, number, sender_cpus)
                cpu = _cpu_seconds(server.pid) - cpu_before
                rates.append(per_round / elapsed)
                cpu_per_event.append(cpu / per_round)
                build_us.append(built)
                note = f"; the senders saw {errors} errors" if errors else ""
                print(f"  round {number + 1}: {per_round:,} events in {elapsed:.2f} s = "
                      f"{per_round / elapsed:,.0f} events/s; collector CPU "
                      f"{cpu / per_round * 1e6:.1f} us/event{note}")  # fmt: skip
        finally:
            server.terminate()
            tail, _ = server.communicate(timeout=30)
    counters = next(
        (line.strip() for line in tail.splitlines() if line.startswith("collector stats:")),
        "collector stats: not printed",
    )
    rate = median(rates)
    cpu_us = median(cpu_per_event) * 1e6
    print(f"  {counters} (expected accepted={rounds * per_round:,})")
    print(f"  Segment's client building a message (track/page, outside the clock): "
          f"{median(build_us):.0f} us each")  # fmt: skip
    print(f"  median: {rate:,.0f} events/s accepted; collector CPU {cpu_us:.1f} us per event "
          f"(= {1e6 / cpu_us:,.0f} events/s of CPU)")  # fmt: skip
    print(verdict(f"collector ingest >= {TARGET:,} events/s", -rate, -TARGET, f"{rate:,.0f}/s"))


def _round(
    context: Any, port: int, total: int, number: int, cpus: set[int]
) -> tuple[float, float, int]:
    """(seconds to upload, us per message built, errors the senders saw)."""
    built = context.Barrier(SENDERS + 1)
    go = context.Event()
    done = context.Queue()
    share = total // SENDERS
    workers = [
        context.Process(target=_send, args=(port, share, f"r{number}s{n}", cpus, built, go, done))
        for n in range(SENDERS)
    ]
    for worker in workers:
        worker.start()
    built.wait(300)
    started = time.perf_counter()
    go.set()
    results = [done.get(timeout=300) for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join(30)
    return elapsed, median([r[0] for r in results]), sum(r[1] for r in results)


def _send(port: int, count: int, tag: str, cpus: set[int], built: Any, go: Any, done: Any) -> None:
    from segment.analytics import Client
    from segment.analytics.consumer import Consumer

    if cpus:
        os.sched_setaffinity(0, cpus)
    maker = Client(KEY, send=False)  # builds the messages, queues nothing
    started = time.perf_counter()
    messages = []
    for n in range(count):
        visitor = f"{tag}-v{n % VISITORS}"
        if n % 10 == 0:
            message = maker.page(anonymous_id=visitor, name="Home", properties={"path": "/"})
        else:
            message = maker.track(
                anonymous_id=visitor,
                event="Product Viewed",
                properties={"product_id": f"sku-{n % 2000}", "category": "watches",
                            "price": 25.0},
            )  # fmt: skip
        messages.append(message[1])
    build_us = (time.perf_counter() - started) / count * 1e6
    pending: queue.Queue[Any] = queue.Queue()
    for message in messages:
        pending.put(message)
    errors: list[Any] = []
    lock = threading.Lock()

    def failed(error: Exception, batch: list[Any]) -> None:
        with lock:
            errors.append(error)

    uploaders = [
        Consumer(pending, KEY, host=f"http://127.0.0.1:{port}", on_error=failed)
        for _ in range(UPLOADERS)
    ]
    built.wait(300)
    go.wait(300)
    for uploader in uploaders:
        uploader.start()
    pending.join()  # every message uploaded and answered
    for uploader in uploaders:
        uploader.pause()
    for uploader in uploaders:
        uploader.join(10)
    done.put((build_us, len(errors)))


def _cores() -> tuple[set[int], set[int]]:
    """(the collector's CPU, the senders' CPUs), or two empty sets where pinning is out."""
    try:
        available = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(), set()
    if len(available) < 2:
        return set(), set()
    return {available[0]}, set(available[1:])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the collector did not start listening")
