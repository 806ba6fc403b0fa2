"""`CircuitBreaker`: stop calling a service that is down, and try it again by itself.

Closed (calls go through) until `failures` calls in a row fail; then open for `cool_down`
seconds, during which `allow()` says no at once, so a request never waits on a dead server.
After the cool-down one call is let through (half-open): a success closes the breaker, a
failure opens it again for twice as long, up to `max_cool_down`. A probe that reports neither
(its caller cancelled, or it failed in a way that says nothing of the service) is given up:
at once by `abandon()`, else after `probe_timeout` seconds, so that another call may probe; a
breaker never stays half-open for good. Thread-safe; time is passed in as a clock, so tests
drive it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        *,
        failures: int = 3,
        cool_down: float = 0.5,
        max_cool_down: float = 30.0,
        probe_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.cool_down = cool_down
        self.max_cool_down = max_cool_down
        self.probe_timeout = probe_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._failed = 0
        self._open_until = 0.0
        self._next_cool_down = cool_down
        self._probing = False
        self._probe_until = 0.0
        self.opened = 0
        """How many times the breaker opened (for stats)."""

    @property
    def is_open(self) -> bool:
        return self._failed >= self.failures and self._clock() < self._open_until

    def allow(self) -> bool:
        """May a call be made now? False while open; once the cool-down is over, True for one
        caller at a time until a success or a failure is recorded (or the probe is given up:
        `abandon`, `probe_timeout`)."""
        if self._failed < self.failures:
            return True
        with self._lock:
            if self._failed < self.failures:
                return True
            now = self._clock()
            if now < self._open_until or (self._probing and now < self._probe_until):
                return False
            self._probing = True
            self._probe_until = now + self.probe_timeout
            return True

    def success(self) -> None:
        if self._failed or self._probing:
            with self._lock:
                self._failed = 0
                self._probing = False
                self._next_cool_down = self.cool_down

    def failure(self) -> None:
        with self._lock:
            self._failed += 1
            if self._failed >= self.failures and (self._probing or self._failed == self.failures):
                self._open_until = self._clock() + self._next_cool_down
                self._next_cool_down = min(self.max_cool_down, self._next_cool_down * 2)
                self.opened += 1
            self._probing = False

    def abandon(self) -> None:
        """A call let through ended without saying whether the service is up (it was
        cancelled): if it was the probe, the next caller probes instead."""
        if self._probing:
            with self._lock:
                self._probing = False
