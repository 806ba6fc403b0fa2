"""The `delivery` benchmark's sink: a small HTTP server on 127.0.0.1 in a process of its own.

It answers 200 to every request and counts, per path, the requests, the events in their bodies
and when the last one arrived (the system-wide monotonic clock, comparable across processes).
Counts live in shared memory, so reading them costs the sink nothing.

Built to stay out of the way, since a sender with one request in flight waits for every
answer: a bare asyncio protocol (keep-alive HTTP/1.1, Content-Length bodies, gzip bodies
decompressed) that answers as soon as a body has arrived and counts after. A msgpack body's
events are the length of its ``batch`` array, read from the array's header; a JSON body's are
found by a C-speed scan for the per-event key (``"messageId"``, PostHog's ``"uuid"``). A sample of
bodies (the first three per path, then every 100th) is decoded in full and the count checked
against the length of its ``batch``: the report prints the mismatches (there must be none).
`Sink.cpu_seconds` reads the process's CPU time from /proc, so the report can show how busy the
sink was and that it was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import multiprocessing
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import msgpack

LOOPBACK = "127.0.0.1"
BATCH_KEY = b"\xa5batch"
"""``"batch"`` as msgpack spells a 5-byte string: the array of messages follows it."""
JSON_KEYS = (b'"messageId"', b'"uuid"')
RESPONSE = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"status": 1}'
)
REFUSED = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
FIELDS = ("requests", "events", "last_ns", "bytes", "checked", "mismatches", "errors")
_WIDTH = len(FIELDS)
_EVERY = 100


@dataclass(frozen=True)
class Counts:
    """What the sink counted on one path."""

    requests: int
    events: int
    last_ns: int
    """`time.monotonic_ns()` when the last request on this path was counted (0: none yet)."""
    bytes: int
    """Body bytes as received (compressed, when they came compressed)."""
    checked: int
    """Bodies decoded in full to check the count."""
    mismatches: int
    errors: int
    """Requests the sink could not read (chunked bodies, bad heads): must be 0."""


class Sink:
    """The sink process, and the shared counters for `paths` (others count as "other")."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = (*paths, "other")
        context = multiprocessing.get_context("spawn")
        self._shared: Any = context.Array("q", _WIDTH * len(self.paths), lock=False)
        self._port_in, port_out = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve, args=(self.paths, self._shared, port_out), name="sink", daemon=True
        )
        self.port = 0

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Sink:
        self._process.start()
        if not self._port_in.poll(30):
            raise RuntimeError("the sink process did not start")
        self.port = self._port_in.recv()
        return self

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(5)

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def counts(self, path: str) -> Counts:
        start = self.paths.index(path) * _WIDTH
        return Counts(*self._shared[start : start + _WIDTH])

    def events(self, path: str) -> int:
        return self._shared[self.paths.index(path) * _WIDTH + 1]

    def wait_for(self, path: str, expected: int, timeout: float, idle: float = 1.0) -> Counts:
        """Until `expected` events have arrived on `path`, nothing arrived for `idle` seconds
        (after at least one), or `timeout`; returns the counts then."""
        deadline = time.monotonic() + timeout
        slot = self.paths.index(path) * _WIDTH + 1
        shared = self._shared
        seen, changed = shared[slot], time.monotonic()
        while shared[slot] < expected:
            now = time.monotonic()
            if now >= deadline or (seen and now - changed >= idle):
                break
            time.sleep(0.005)  # rarely: each wake-up takes the GIL from the sender
            if shared[slot] != seen:
                seen, changed = shared[slot], time.monotonic()
        return self.counts(path)

    def cpu_seconds(self) -> float:
        """User + system CPU time the sink process has used (from /proc)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the server (in the sink process) -------------------------------------------------------------


class _Counter:
    def __init__(self, paths: Sequence[str], shared: Any) -> None:
        self.slots = {path.encode(): index * _WIDTH for index, path in enumerate(paths)}
        self.other = (len(paths) - 1) * _WIDTH
        self.shared = shared

    def record(self, path: bytes, body: bytes, packed: bool) -> None:
        shared = self.shared
        slot = self.slots.get(path, self.other)
        if packed:
            events = _packed_count(body)
        else:
            events = body.count(JSON_KEYS[0]) or body.count(JSON_KEYS[1])
        requests = shared[slot] + 1
        if requests <= 3 or requests % _EVERY == 0:
            shared[slot + 4] += 1
            if _decoded_count(body, packed) != events:
                shared[slot + 5] += 1
        shared[slot + 1] += events
        shared[slot] = requests
        shared[slot + 2] = time.monotonic_ns()

    def error(self, path: bytes) -> None:
        self.shared[self.slots.get(path, self.other) + 6] += 1

    def add_bytes(self, path: bytes, size: int) -> None:
        self.shared[self.slots.get(path, self.other) + 3] += size


def _packed_count(body: bytes) -> int:
    """The length of the ``batch`` array, from its msgpack header (-1: not found)."""
    at = body.find(BATCH_KEY)
    if at < 0 or at + 6 > len(body):
        return -1
    at += len(BATCH_KEY)
    kind = body[at]
    if 0x90 <= kind <= 0x9F:  # fixarray
        return kind - 0x90
    if kind == 0xDC:  # array 16
        return int.from_bytes(body[at + 1 : at + 3], "big")
    if kind == 0xDD:  # array 32
        return int.from_bytes(body[at + 1 : at + 5], "big")
    return -1


def _decoded_count(body: bytes, packed: bool) -> int:
    if not body:
        return 0
    try:
        decoded = msgpack.unpackb(body) if packed else json.loads(body)
        return len(decoded["batch"])
    except (ValueError, KeyError, TypeError):
        return -1


class _Connection(asyncio.Protocol):
    def __init__(self, counter: _Counter) -> None:
        self.counter = counter
        self.pending = b""
        """Bytes of a request head not complete yet."""
        self.head: tuple[bytes, int, bool, bool, bool] | None = None
        """(path, body length, msgpack, gzip, close after answering) of the request being read."""
        self.parts: list[bytes] = []
        """The body read so far, as it came: joined once (a bytearray grown and trimmed in
        place costs 50 times more for a 768 KB body)."""
        self.have = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        while True:
            if self.head is None:
                if not data:
                    return
                data = self.pending + data if self.pending else data
                end = data.find(b"\r\n\r\n")
                if end < 0:
                    self.pending = data
                    return
                head, data, self.pending = data[:end], data[end + 4 :], b""
                self.head = _parse_head(head)
                if self.head is None:
                    self.counter.error(head.split(b" ", 2)[1] if b" " in head else b"")
                    transport.write(REFUSED)
                    transport.close()
                    return
                self.parts, self.have = [], 0
            path, length, packed, zipped, close = self.head
            need = length - self.have
            if len(data) < need:
                self.parts.append(data)
                self.have += len(data)
                return
            self.parts.append(data if len(data) == need else data[:need])
            data = data[need:]
            body = b"".join(self.parts)
            self.head, self.parts, self.have = None, [], 0
            transport.write(RESPONSE)  # first: the client waits for it, the counting does not
            self.counter.add_bytes(path, length)
            self.counter.record(path, gzip.decompress(body) if zipped else body, packed)
            if close:
                transport.close()
                return


def _parse_head(head: bytes) -> tuple[bytes, int, bool, bool, bool] | None:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        return None
    length, packed, zipped, close = 0, False, False, parts[2] == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"content-type":
            packed = b"msgpack" in value
        elif name == b"content-encoding":
            zipped = value == b"gzip"
        elif name == b"transfer-encoding":
            return None  # no client here sends chunked bodies: refuse, counted as an error
        elif name == b"connection":
            close = value == b"close"
    return parts[1], length, packed, zipped, close


def _serve(paths: Sequence[str], shared: Any, port_out: Connection) -> None:
    asyncio.run(_main(paths, shared, port_out))


async def _main(paths: Sequence[str], shared: Any, port_out: Connection) -> None:
    counter = _Counter(paths, shared)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(counter), LOOPBACK, 0, backlog=128, reuse_address=True
    )
    port_out.send(server.sockets[0].getsockname()[1])
    port_out.close()
    with contextlib.suppress(asyncio.CancelledError):
        await server.serve_forever()
