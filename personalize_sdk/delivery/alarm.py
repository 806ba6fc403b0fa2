"""`Alarm`: a sleep in the delivery loop that `ring()` ends early.

``asyncio.wait_for(event.wait(), timeout)`` does the same, but builds a task, a timeout and a
cancellation on every call: the dispatcher naps between its rounds all day long, even in a
process with nothing to send, and each lane waits between its batches, so that cost is paid
dozens of times a second in every worker. This is one future and one timer per nap. Used from
the loop's own thread only (another thread rings through ``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

import asyncio


class Alarm:
    def __init__(self) -> None:
        self.rung = False
        self._waker: asyncio.Future[None] | None = None

    async def sleep(self, seconds: float | None) -> None:
        """Sleep `seconds` (None: until it rings), or until `ring()`; at once when it has rung
        since the last `reset()`."""
        if self.rung:
            return
        loop = asyncio.get_running_loop()
        waker = self._waker = loop.create_future()
        timer = None if seconds is None else loop.call_later(seconds, _settle, waker)
        try:
            await waker
        finally:
            if timer is not None:
                timer.cancel()
            self._waker = None

    def ring(self) -> None:
        """End the sleep, and every later one until `reset()`."""
        self.rung = True
        if self._waker is not None:
            _settle(self._waker)

    def reset(self) -> None:
        self.rung = False


def _settle(waker: asyncio.Future[None]) -> None:
    if not waker.done():
        waker.set_result(None)
