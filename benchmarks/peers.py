"""The peers measured next to `track()`: Segment's and PostHog's Python clients.

Both run with their default settings, pointed at `SinkServer`, a do-nothing HTTP server on
127.0.0.1 in a background thread of this process that answers 200 to everything and counts the
events it receives. `guard_loopback` makes sure nothing in the process opens a connection to
anything else: any other address is refused and counted.

Each contender has its own timed loop (`run`), written out so that every client is called
directly, the way a shop calls it, with no adapter frame in the timing.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from typing import Any

from personalize_sdk import Personalizer

LOOPBACK = "127.0.0.1"
Call = tuple[str, str, dict[str, Any]]
"""(visitor_id, event name, properties): one call of the timed mix."""
Runner = Callable[[Sequence[Call], list[int]], None]


# -- the sink ------------------------------------------------------------------------------------


class _SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as both clients' HTTP sessions expect
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # one write per response: no Nagle/delayed-ACK stalls
    server: SinkServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.record(self.path, body)
        self._answer()

    def do_GET(self) -> None:
        self.server.record(self.path, b"")
        self._answer()

    def _answer(self) -> None:
        payload = b'{"status": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the benchmark prints its own figures."""


class SinkServer(ThreadingHTTPServer):
    """Answers 200 to every request on 127.0.0.1 and counts requests and events per path."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((LOOPBACK, 0), _SinkHandler)
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.events: dict[str, int] = {}
        self._thread = threading.Thread(target=self.serve_forever, name="sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}"

    def start(self) -> SinkServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def record(self, path: str, body: bytes) -> None:
        # Counting keys in the raw body is a C-speed scan; parsing JSON here would bill the
        # peers for work their real server does on another machine.
        events = body.count(b'"messageId"') or body.count(b'"uuid"')
        with self._lock:
            self.requests[path] = self.requests.get(path, 0) + 1
            self.events[path] = self.events.get(path, 0) + events


# -- safety and diagnostics ----------------------------------------------------------------------

_refused: list[str] = []


@functools.cache
def guard_loopback() -> list[str]:
    """Refuse, process-wide, any connection or name lookup other than 127.0.0.1.

    Returns the live list of refused targets. Audit hooks cannot be removed (hence installed
    once); the hook returns at once for anything but socket events, so it costs nothing
    measurable elsewhere.
    """
    sys.addaudithook(_audit)
    return _refused


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else address
    elif event == "socket.getaddrinfo":
        host = args[0]
    else:
        return
    if host not in (LOOPBACK, "localhost", None):
        _refused.append(f"{event} {host!r}")
        raise PermissionError(f"benchmarks: only {LOOPBACK} may be contacted, not {host!r}")


def thread_cpu_seconds(threads: list[threading.Thread]) -> float | None:
    """CPU time of `threads`, from Linux's /proc (None elsewhere): the scheduler's own count in
    nanoseconds where the kernel keeps one (``schedstat``), else user + system time in clock
    ticks (10 ms each, too coarse for a thread that is mostly asleep)."""
    try:
        nanoseconds = 0
        for thread in threads:
            with open(f"/proc/self/task/{thread.native_id}/schedstat") as stat:
                nanoseconds += int(stat.read().split()[0])
        return nanoseconds / 1e9
    except (OSError, IndexError, ValueError):
        pass
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for thread in threads:
        try:
            with open(f"/proc/self/task/{thread.native_id}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / ticks


class LogCounter(logging.Handler):
    """Counts the warnings and errors a peer logs (a full queue is logged, then dropped)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = record.getMessage()[:160]


def count_logs(logger_name: str) -> LogCounter:
    counter = LogCounter()
    logger = logging.getLogger(logger_name)
    logger.addHandler(counter)
    logger.propagate = False
    return counter


# -- contenders ----------------------------------------------------------------------------------


@dataclass
class Contender:
    """One client under test: a timed loop, and how to empty its queue between batches."""

    name: str
    run: Runner
    drain: Callable[[], int] = lambda: 0
    """Flush outside the timing; returns the queue depth found before flushing."""
    close: Callable[[], None] = lambda: None
    sink_path: str | None = None
    logs: LogCounter | None = None
    queue_size: int = 0
    workers: Callable[[], list[threading.Thread]] = list
    """The client's background threads, whose CPU time `background_cpu` reports."""
    depths: list[int] = field(default_factory=list)
    """Queue depth found before each flush: how much the background thread left to send."""
    flush_seconds: float = 0.0

    def background_cpu(self) -> float | None:
        """CPU seconds used so far by the client's background threads (None if unknown)."""
        return thread_cpu_seconds(self.workers())

    def flush(self) -> None:
        started = time.perf_counter()
        self.depths.append(self.drain())
        self.flush_seconds += time.perf_counter() - started


def positional_loop(function: Callable[[str, str, dict[str, Any]], object]) -> Runner:
    """The timed loop for a `function(visitor_id, event, properties)`."""

    def run(calls: Sequence[Call], stamps: list[int]) -> None:
        clock = time.perf_counter_ns
        stamps[0] = clock()
        for i, (visitor_id, event, properties) in enumerate(calls, 1):
            function(visitor_id, event, properties)
            stamps[i] = clock()

    return run


def ours(pz: Personalizer) -> Contender:
    return Contender("personalize-sdk", positional_loop(pz.track))


def segment(sink: SinkServer) -> Contender:
    from segment.analytics import Client

    client = Client("bench-write-key", host=sink.url)  # defaults otherwise
    track = client.track

    def run(calls: Sequence[Call], stamps: list[int]) -> None:
        clock = time.perf_counter_ns
        stamps[0] = clock()
        for i, (visitor_id, event, properties) in enumerate(calls, 1):
            track(user_id=visitor_id, event=event, properties=properties)
            stamps[i] = clock()

    def drain() -> int:
        depth = client.queue.qsize()
        client.flush()
        return depth

    return Contender(
        f"segment-analytics-python {version('segment-analytics-python')}",
        run,
        drain,
        client.shutdown,
        sink_path="/v1/batch",
        logs=count_logs("segment"),
        queue_size=client.queue.maxsize,
        workers=lambda: list(client.consumers or []),
    )


def posthog(sink: SinkServer) -> Contender:
    from posthog import Posthog

    # Defaults otherwise. Without a personal API key there is no flag poller, and exception
    # autocapture is off by default; say both anyway, so a future default cannot call out.
    client = Posthog(
        "phc_bench_project_key",
        host=sink.url,
        enable_exception_autocapture=False,
        personal_api_key=None,
    )
    capture = client.capture
    # posthog 7 keeps its queue and consumer threads on an "analytics lane"; read only, to
    # report the queue depth and the threads' CPU time.
    lane = getattr(client, "_analytics_lane", client)
    queue = lane.queue

    def run(calls: Sequence[Call], stamps: list[int]) -> None:
        clock = time.perf_counter_ns
        stamps[0] = clock()
        for i, (visitor_id, event, properties) in enumerate(calls, 1):
            capture(event, distinct_id=visitor_id, properties=properties)
            stamps[i] = clock()

    def drain() -> int:
        depth = queue.qsize()
        client.flush()
        return depth

    return Contender(
        f"posthog {version('posthog')}",
        run,
        drain,
        client.shutdown,
        sink_path="/batch/",
        logs=count_logs("posthog"),
        queue_size=queue.maxsize,
        workers=lambda: list(lane.consumers),
    )
