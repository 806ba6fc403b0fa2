"""`Alarm`: a sleep in the delivery loop that `ring()` ends early.

``asyncio.wait_for(event.wait(), timeout)`` does the same, but builds a task, a timeout and a
cancellation on every call: the dispatcher naps between its rounds all day long, even in a
process with nothing to send, so that cost is paid dozens of times a second in every worker.
This is one future and one timer per nap.
"""

from __future__ import annotations

import asyncio


class Alarm:
    def __init__(self) -> None:
        self.rung = False
        self._waker: asyncio.Future[None] | None = None

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, or until `ring()`; at once when it has rung already."""
        if self.rung:
            return
        loop = asyncio.get_running_loop()
        waker = self._waker = loop.create_future()
        timer = loop.call_later(seconds, _settle, waker)
        try:
            await waker
        finally:
            timer.cancel()
            self._waker = None

    def ring(self) -> None:
        """End the sleep, and every later one (called in the loop's thread)."""
        self.rung = True
        if self._waker is not None:
            _settle(self._waker)


def _settle(waker: asyncio.Future[None]) -> None:
    if not waker.done():
        waker.set_result(None)
