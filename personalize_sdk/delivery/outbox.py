"""`Outbox`: takes accepted events from `track()`/`identify()` and delivers them to every
forwarder, from one background thread per process.

The caller's side is a msgpack copy of the event's mappings and one ``deque.append``: no lock, no
I/O, never blocks. The thread, started with the first event, runs an asyncio loop with one
`Lane` per forwarder (so a slow destination delays no other) and a dispatcher that hands the
queued events to the lanes, each encoding them for its forwarder (`segment_bytes`).

Fork-safe: `os.register_at_fork` (and a process id check in `flush`) gives a forked child
(gunicorn ``--preload``, uWSGI, Celery prefork) a fresh queue, thread and connections; what
the parent had queued stays the parent's to deliver. The thread imports nothing (the
forwarders import what they use when they are built): a fork in the middle of another
thread's import leaves the child a half-initialised module. At interpreter exit every outbox drains
within one shared deadline; what is left then waits in the spool for the next start. A
multiprocessing (or billiard: Celery prefork) child ends with ``os._exit``, past atexit: it
drains from multiprocessing's own exit hook instead.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from .._exceptions import ConfigError
from ..delivery_config import DeliverySettings
from ..events import Event
from ..forwarders import Forwarder
from ..frozen_event import FrozenEvent, freeze
from ..segment_message import Identified
from .alarm import Alarm
from .lane import Lane
from .spool import Spool

logger = logging.getLogger("personalize_sdk.delivery")

_BUSY_TICK = 0.002
"""The dispatcher's nap after a full round (`_ROUND` events moved): a backlog to catch up on."""
_CALM_TICK = 0.1
"""Its nap after a round of fewer: a batch waits for its `interval` (1 s by default) anyway, and
waking up costs CPU (on the 2-core reference machine 70 us even for ``time.sleep``, 250 us for an
asyncio loop), so a shop's quiet workers should not wake up hundreds of times a second."""
_IDLE_TICK = 0.02
"""Every nap with ``memory_bytes = 0``: every event is then on disk within about this long of
`track()`, as the docs promise."""
_LONGEST_IDLE_TICK = 0.25
"""With nothing to sort, it naps twice as long each round, up to this: the first event after a
quiet spell waits at most this long to be sorted to the lanes (`flush` sorts at once)."""
_ROUND = 5000
"""Events moved per dispatcher round before the lanes get a turn."""
_EXIT_PRIORITY = 100
"""Of the drain among a multiprocessing child's exit finalizers: before multiprocessing's own
(15 and lower: pools, queues), which a shop's logging may go through."""


class Outbox:
    def __init__(
        self, forwarders: Sequence[Forwarder], settings: DeliverySettings | None = None
    ) -> None:
        names = [forwarder.name for forwarder in forwarders]
        if len(set(names)) != len(names):
            raise ConfigError(
                f"two forwarders share a name, give each its own: {names}", field="forwarders"
            )
        self.forwarders = tuple(forwarders)
        self.settings = settings or DeliverySettings()
        self._closed = False
        self.late = 0
        """Events put after `close()`: not delivered, counted."""
        self._reset()
        _OUTBOXES.add(self)

    def _reset(self) -> None:
        self._intake: deque[FrozenEvent | Event | Identified] = deque()
        self._lock = threading.Lock()
        self._running = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: Alarm | None = None
        self._lanes: list[Lane] = []
        self._pid = os.getpid()

    # -- the caller's side --------------------------------------------------------------------

    def put(self, item: Event | FrozenEvent | Identified) -> None:
        """Queue one accepted event for every forwarder that wants it; returns at once.

        What is queued is a copy of the caller's mappings: whatever the caller does with them
        afterwards changes nothing that is forwarded."""
        self._intake.append(freeze(item))
        if not self._running:
            self._start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait, at most `timeout` seconds (default: the drain timeout), until everything
        queued so far is delivered or dropped for good; True when nothing is left."""
        timeout = self.settings.drain_timeout if timeout is None else max(0.0, timeout)
        deadline = time.monotonic() + timeout
        if self._pid != os.getpid():
            self._after_fork()
        if threading.current_thread() is self._thread:
            return False  # called from a forwarder's hook: waiting here would wait forever
        if not self._running:
            if self._closed or (not self._intake and not self._spooled_files()):
                return not self._intake
            self._start()
        loop = self._loop if self._ready.wait(timeout) else None
        if loop is None:  # not started in time, or the thread stopped
            return False
        drained = self._drained()
        try:
            future = asyncio.run_coroutine_threadsafe(drained, loop)
        except RuntimeError:  # the loop closed meanwhile
            drained.close()
            return False
        try:
            return future.result(max(0.0, deadline - time.monotonic()))
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            future.cancel()
            return False
        except RuntimeError:  # the loop stopped meanwhile
            return False

    def close(self, timeout: float | None = None) -> bool:
        """Deliver what is queued within `timeout` (default: the drain timeout), then stop;
        what is left waits in the spool for the next start. True when nothing was left."""
        if self._closed:
            return not self._running and not self._intake
        started = time.monotonic()
        timeout = self.settings.drain_timeout if timeout is None else max(0.0, timeout)
        delivered = self.flush(timeout)
        self._closed = True
        with self._lock:
            thread, loop, stop = self._thread, self._loop, self._stop
        if thread is not None and loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone already
                loop.call_soon_threadsafe(stop.ring)
            # Stopping spills memory to disk and closes connections: quick, but bounded too.
            thread.join(max(1.0, timeout - (time.monotonic() - started)))
        self._running = False
        return delivered

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per forwarder: queued, sent, retried, spilled, dropped by reason, last error."""
        lanes = {lane.name: lane for lane in self._lanes}
        waiting = len(self._intake)
        report = {}
        for forwarder in self.forwarders:
            lane = lanes.get(forwarder.name)
            if lane is None:
                counts: dict[str, Any] = {
                    "queued": 0,
                    "in_memory_bytes": 0,
                    "on_disk_bytes": 0,
                    "sent": 0,
                    "retried": 0,
                    "spilled": 0,
                    "batches": 0,
                    "dropped": {},
                    "unreadable_files": 0,
                    "circuit_open": False,
                    "last_error": None,
                }
            else:
                counts = lane.stats()
            counts["queued"] += waiting  # not yet sorted to the lanes: counted for each
            report[forwarder.name] = counts
        return report

    # -- the thread ---------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._running:
                return
            if self._closed:
                self.late += len(self._intake)
                self._intake.clear()
                return
            self._running = True
            self._thread = threading.Thread(
                target=self._main, name="personalize-delivery", daemon=True
            )
            self._thread.start()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception:  # pragma: no cover - a bug here must be seen, not kill the host
            logger.exception("the delivery thread stopped unexpectedly")
        finally:
            with self._lock:
                # Its loop is closed: nobody may hand it work, and the next event (or flush)
                # starts a thread of its own, with its own readiness to wait for.
                self._loop = None
                self._stop = None
                ready, self._ready = self._ready, threading.Event()
                self._running = False
            ready.set()  # a flush waiting for this thread wakes, finds no loop, says False

    async def _serve(self) -> None:
        settings = self.settings
        lanes = [
            Lane(
                forwarder,
                settings.memory_bytes,
                Spool(settings.spool_root / forwarder.name, settings.disk_bytes),
            )
            for forwarder in self.forwarders
        ]
        for lane in lanes:
            try:
                found = lane.spool.adopt_orphans()
            except OSError as error:
                lane._error(f"cannot read the spool {lane.spool.folder}: {error}")
                continue
            if found:
                logger.info("forwarder %r: sending %d events an earlier run left", lane.name, found)
        stop = Alarm()
        with self._lock:
            self._lanes = lanes
            self._loop = asyncio.get_running_loop()
            self._stop = stop
        self._ready.set()
        tasks = [asyncio.create_task(lane.run(), name=f"lane-{lane.name}") for lane in lanes]
        logged: dict[str, tuple[Any, ...]] = {}
        try:
            await self._dispatch_until(stop, logged)
        finally:
            # However the loop ended (a bug included): each lane's memory to its spool and its
            # files unlocked, so the thread that replaces this one adopts them.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for lane in lanes:
                lane.close()
                try:
                    await lane.forwarder.aclose()
                except Exception:  # closing a connection that broke
                    logger.debug("forwarder %r did not close cleanly", lane.name, exc_info=True)
            self._log_counters(logged)

    async def _dispatch_until(self, stop: Alarm, logged: dict[str, tuple[Any, ...]]) -> None:
        """Sort the queued events to the lanes, round after round, until `stop` rings; then
        the last of them."""
        next_log = time.monotonic() + self.settings.log_interval
        ahead = self.settings.memory_bytes <= 0  # written ahead: on disk within _IDLE_TICK
        calm = _IDLE_TICK if ahead else _CALM_TICK
        longest = _IDLE_TICK if ahead else _LONGEST_IDLE_TICK
        idle = calm
        while not stop.rung:
            moved = self._dispatch()
            if time.monotonic() >= next_log:
                self._log_counters(logged)
                next_log = time.monotonic() + self.settings.log_interval
            if moved:
                idle = calm
                await stop.sleep(_BUSY_TICK if moved >= _ROUND else calm)
            else:
                await stop.sleep(idle)
                idle = min(idle * 2, longest)
        while self._dispatch():
            pass

    def _dispatch(self) -> int:
        """Move queued events to the lanes; returns how many were moved."""
        intake = self._intake
        items = [intake.popleft() for _ in range(min(len(intake), _ROUND))]
        if items:
            several = len(self._lanes) > 1
            for lane in self._lanes:
                first = not lane.memory  # its batch interval starts now: the lane must know
                lane.accept(items, several)
                lane.sync_spool()
                if (first and lane.memory) or lane.pressing:
                    lane.wake.ring()  # else it sleeps on: its interval, or its send, ends first
        return len(items)

    async def _drained(self) -> bool:
        lanes = self._lanes
        for lane in lanes:
            lane.flushing += 1
        try:
            while True:
                self._dispatch()
                if not self._intake and all(lane.idle for lane in lanes):
                    return True
                for lane in lanes:
                    lane.wake.ring()
                await asyncio.sleep(0.005)
        finally:
            for lane in lanes:
                lane.flushing -= 1

    def _log_counters(self, logged: dict[str, tuple[Any, ...]]) -> None:
        for name, counts in self.stats().items():
            shown = (counts["queued"], counts["sent"], counts["retried"], counts["spilled"])
            dropped = sum(counts["dropped"].values())
            if (any(shown) or dropped) and logged.get(name) != (*shown, dropped):
                logged[name] = (*shown, dropped)
                logger.info(
                    "forwarder %r: queued=%d sent=%d retried=%d spilled=%d dropped=%s%s",
                    name,
                    *shown,
                    counts["dropped"] or 0,
                    f" last_error={counts['last_error']!r}" if counts["last_error"] else "",
                )

    def _spooled_files(self) -> bool:
        root = self.settings.spool_root
        try:
            return any(
                any((root / forwarder.name).glob("*.spool")) for forwarder in self.forwarders
            )
        except OSError:
            return False

    # -- fork ---------------------------------------------------------------------------------

    def _after_fork(self) -> None:
        """In a forked child: nothing of the parent's delivery is ours."""
        for lane in self._lanes:
            lane.spool.abandon()
        for forwarder in self.forwarders:
            after_fork = getattr(forwarder, "after_fork", None)
            if callable(after_fork):
                after_fork()
        self._reset()


_OUTBOXES: weakref.WeakSet[Outbox] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for outbox in list(_OUTBOXES):
        outbox._after_fork()
    for name in ("multiprocessing.util", "billiard.util"):
        # Imported already by whatever forks a Process (and never imported here: see above).
        util = sys.modules.get(name)
        if util is not None:
            # Run once the child is a Process: it clears the finalizers it inherited first.
            util.register_after_fork(util, _drain_when_the_process_ends)


def _drain_when_the_process_ends(util: ModuleType) -> None:
    """A multiprocessing Process ends with ``os._exit``, so atexit never runs in it; its own
    exit hook runs its finalizers first (also in billiard's, Celery prefork's)."""
    util.Finalize(None, _close_all_at_exit, exitpriority=_EXIT_PRIORITY)


def _close_all_at_exit() -> None:
    """One deadline for every outbox of the process (the longest drain timeout among them)."""
    outboxes = [outbox for outbox in list(_OUTBOXES) if not outbox._closed]
    if not outboxes:
        return
    deadline = time.monotonic() + max(outbox.settings.drain_timeout for outbox in outboxes)
    for outbox in outboxes:
        delivered = outbox.close(max(0.0, deadline - time.monotonic()))
        if not delivered:
            logger.warning(
                "exit: not every event was delivered in time; the rest waits in %s",
                outbox.settings.spool_root,
            )


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_all_at_exit)
