"""`Lane`: one forwarder's queue and sender, inside the delivery thread's event loop.

Encoded events wait in memory up to the memory bound, then in the forwarder's `Spool`; once
anything is spooled, newer events go to the spool too, so delivery stays first in first out
(memory first, it holds the older ones). A batch goes out when it is full by count or bytes,
when its oldest event has waited `interval`, or at once while a flush is asked for. A failed
batch is retried (backoff with full jitter, Retry-After honoured) behind a circuit breaker; a
batch the destination refuses as malformed is split in halves until the poison event is found
and dropped alone. Each lane runs as its own task, so a slow destination delays nobody else.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from ..circuit_breaker import CircuitBreaker
from ..forwarders import BaseForwarder, DeliveryFailed, Forwarder
from ..forwarders._base import DirectEncoder
from ..frozen_event import FrozenEvent, thawed
from ..segment_bytes import Encodable
from ..segment_message import event_name, to_message
from .alarm import Alarm
from .backoff import retry_delay
from .spool import Spool, SpoolFailed

logger = logging.getLogger("personalize_sdk.delivery")

COUNTERS = ("sent", "retried", "spilled", "batches")
_DISK_RETRY = 1.0
"""Seconds before reading the spool again after its disk failed a read."""


class Lane:
    def __init__(self, forwarder: Forwarder, memory_bytes: int, spool: Spool) -> None:
        self.forwarder = forwarder
        direct = getattr(forwarder, "direct_encoder", None)  # not in the protocol: optional
        self.direct: DirectEncoder | None = direct() if direct is not None else None
        """The forwarder's way to encode an event without building its message, if any."""
        self.takes_all = (
            isinstance(forwarder, BaseForwarder)
            and forwarder.include is None
            and not forwarder.exclude
        )
        """No include or exclude list: every event, without asking `wants`."""
        self.memory_bytes = memory_bytes
        self.spool = spool
        self.memory: deque[bytes] = deque()
        self.in_memory = 0
        """Bytes of the events in `memory`."""
        self.oldest = 0.0
        """When the oldest event in memory arrived (monotonic), for the batch interval; after a
        batch left, no later than the oldest left behind arrived (so never late, at times
        early)."""
        self.inflight: list[bytes] = []
        self.inflight_from_spool = False
        self.flushing = 0
        self.sent = 0
        self.retried = 0
        self.spilled = 0
        self.batches = 0
        self.dropped: dict[str, int] = {}
        self._refused_counted = 0
        """How many of the events the spool's disk refused are in `dropped` already."""
        self.last_error: str | None = None
        self.breaker = CircuitBreaker(failures=5, cool_down=1.0, max_cool_down=30.0)
        self.wake = Alarm()
        """Rung by the dispatcher when this lane has something to do that cannot wait for the
        batch interval: a first event in memory (its interval starts), a full batch, a
        backlog on disk, a flush."""

    @property
    def name(self) -> str:
        return self.forwarder.name

    @property
    def queued(self) -> int:
        return (
            len(self.memory)
            + len(self.spool)
            + (0 if self.inflight_from_spool else len(self.inflight))
        )

    @property
    def idle(self) -> bool:
        return not self.memory and not self.inflight and not len(self.spool)

    def drop(self, reason: str, count: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + count

    # -- intake (called by the dispatcher, in the loop thread) --------------------------------

    def accept(self, items: Sequence[Encodable], several: bool) -> None:
        """Encode the events this forwarder wants and queue them; `several`: other lanes see
        the same events, so a transform hook gets a message of its own to change."""
        forwarder = self.forwarder
        wants, direct = forwarder.wants, self.direct
        takes_all = self.takes_all
        encoded: list[bytes] = []
        keep = encoded.append
        for item in items:
            if not takes_all and not wants(event_name(item)):
                continue
            try:
                if direct is not None:
                    keep(direct(item))
                    continue
                if type(item) is FrozenEvent:  # thawed: a message of this lane's own
                    message = to_message(thawed(item))
                else:
                    message = to_message(item)
                    if several and getattr(forwarder, "transform", None) is not None:
                        message = copy.deepcopy(message)
                prepared = forwarder.prepare(message)
            except Exception as error:  # noqa: BLE001 - one event's fault, not the batch's
                self.drop("encode_error")
                name = event_name(item)
                self._error(f"cannot encode {name!r}: {type(error).__name__}: {error}")
                continue
            if prepared is None:
                self.drop("transform")
            else:
                keep(prepared)
        self.offer(encoded)

    def offer(self, items: list[bytes]) -> None:
        """Queue encoded events in order: in memory while they fit and nothing waits on disk,
        the rest in the spool (so the spool always holds the newer ones)."""
        limit = self.forwarder.max_event_bytes
        if items and max(map(len, items)) > limit:
            fitting = [item for item in items if len(item) <= limit]
            self.drop("too_large", len(items) - len(fitting))
            items = fitting
        if not items:
            return
        if not self.spool.records:
            room = self.memory_bytes - self.in_memory
            size = sum(map(len, items))
            count = len(items)
            if size > room:
                size = count = 0
                for item in items:
                    if size + len(item) > room:
                        break
                    size += len(item)
                    count += 1
            if count:
                if not self.memory:
                    self.oldest = time.monotonic()
                self.memory.extend(items if count == len(items) else items[:count])
                self.in_memory += size
                items = items[count:]
        if items:
            self.spill(items)

    def spill(self, items: Sequence[bytes]) -> None:
        try:
            lost = self.spool.extend(items)
            spooled = len(items)
        except SpoolFailed as failure:
            spooled, lost = failure.spooled, failure.lost
            self.drop("disk_error", len(items) - spooled)
            self._error(f"cannot spool to {self.spool.folder}: {failure}")
        self.spilled += spooled
        if lost:
            self.drop("disk_full", lost)
        self._heed_disk()

    def sync_spool(self) -> None:
        """At the end of a round: what was spooled to the operating system, so a killed
        process loses none of it; what the disk refuses is counted."""
        self.spool.sync()
        self._heed_disk()

    def close(self) -> None:
        """At shutdown: everything still in memory, the batch in flight first, to the spool,
        and its files released for the next start."""
        if self.inflight and not self.inflight_from_spool:
            self.memory.extendleft(reversed(self.inflight))
        self.inflight = []
        self.spill(list(self.memory))
        self.memory.clear()
        self.in_memory = 0
        try:
            self.spool.close()
        except OSError as error:  # its files stay for the next start, as after a crash
            self._error(f"cannot close the spool {self.spool.folder}: {error}")
        self._heed_disk()

    def _heed_disk(self) -> None:
        """Count what the spool's disk refused since the last look (the spool keeps count, as
        any of its calls may find out: one that writes, reads or closes)."""
        refused = self.spool.refused - self._refused_counted
        if refused:
            self._refused_counted = self.spool.refused
            self.drop("disk_error", refused)
            self._error(self.spool.disk_error or f"cannot read the spool {self.spool.folder}")

    # -- sending ------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                batch = self._take()
            except OSError as error:  # a failing disk stops no lane: it is read again later
                self._error(f"cannot read the spool {self.spool.folder}: {error}")
                await asyncio.sleep(_DISK_RETRY)
                continue
            if batch is None:
                self.wake.reset()
                await self._wait()
                continue
            self.inflight = batch
            await self._deliver(batch)
            if self.inflight_from_spool:
                try:
                    self.spool.commit()
                except OSError as error:  # delivered: at worst sent again after a restart
                    self._error(f"cannot update the spool {self.spool.folder}: {error}")
                self._heed_disk()
            self.inflight = []
            self.inflight_from_spool = False
            self.batches += 1

    @property
    def pressing(self) -> bool:
        """A batch should go now, whatever the interval says: a flush is asked for, events wait
        on disk already (no point waiting for a full batch), or memory holds a full one."""
        forwarder = self.forwarder
        return bool(
            self.flushing
            or len(self.spool)
            or len(self.memory) >= forwarder.batch_size
            or self.in_memory >= forwarder.batch_bytes
        )

    def _take(self) -> list[bytes] | None:
        forwarder = self.forwarder
        size, limit = forwarder.batch_size, forwarder.batch_bytes
        memory = self.memory
        if memory:
            if not self.pressing and time.monotonic() - self.oldest < forwarder.interval:
                return None
            batch: list[bytes] = []
            taken = 0
            while memory and len(batch) < size and (not batch or taken + len(memory[0]) <= limit):
                item = memory.popleft()
                taken += len(item)
                batch.append(item)
            self.in_memory -= taken
            # What is left arrived after `oldest`, which stays: the rest of a backlog goes out
            # within `interval` of its oldest event too, not an interval after this batch.
            return batch
        if len(self.spool):
            batch = self.spool.read_batch(size, limit)
            self._heed_disk()
            if batch:
                self.inflight_from_spool = True
                return batch
        return None

    async def _wait(self) -> None:
        timeout = None
        if self.memory:
            timeout = max(0.0, self.forwarder.interval - (time.monotonic() - self.oldest))
        await self.wake.sleep(timeout)

    async def _deliver(self, batch: Sequence[bytes]) -> None:
        """Until it is delivered or dropped for good; cancelled only at shutdown."""
        attempt = 0
        while True:
            while not self.breaker.allow():
                await asyncio.sleep(0.05)
            try:
                await self.forwarder.send(batch)
            except DeliveryFailed as failure:
                self._error(str(failure))
                if failure.retryable:
                    self.breaker.failure()
                    self.retried += 1
                    await asyncio.sleep(retry_delay(attempt, failure.retry_after))
                    attempt += 1
                    continue
                self.breaker.success()  # the destination answered: it is up
                if failure.splittable and len(batch) > 1:
                    middle = len(batch) // 2
                    await self._deliver(batch[:middle])
                    await self._deliver(batch[middle:])
                    return
                self.drop(failure.reason, len(batch))
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a forwarder's bug must not stop the lane
                self._error(f"{type(error).__name__}: {error}")
                logger.exception("forwarder %r failed unexpectedly; retrying", self.name)
                self.breaker.failure()
                self.retried += 1
                await asyncio.sleep(retry_delay(attempt))
                attempt += 1
                continue
            self.breaker.success()
            self.sent += len(batch)
            return

    def _error(self, message: str) -> None:
        if self.last_error is None:
            logger.warning(
                "forwarder %r: %s (later errors are counted in stats)", self.name, message
            )
        self.last_error = message

    # -- reporting ----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "in_memory_bytes": self.in_memory,
            "on_disk_bytes": self.spool.bytes,
            "sent": self.sent,
            "retried": self.retried,
            "spilled": self.spilled,
            "batches": self.batches,
            "dropped": dict(self.dropped),
            "unreadable_files": self.spool.unreadable_files,
            "circuit_open": self.breaker.is_open,
            "last_error": self.last_error,
        }
