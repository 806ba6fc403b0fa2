"""CircuitBreaker: opens after failures in a row, answers at once while open, lets one probe
through after the cool-down, backs off on failed probes and closes on success."""

from __future__ import annotations

import threading

from personalize_sdk.circuit_breaker import CircuitBreaker
from tests.helpers import Clock


def test_it_opens_after_failures_in_a_row_and_probes_after_the_cool_down():
    clock = Clock(0.0)
    breaker = CircuitBreaker(failures=3, cool_down=1.0, max_cool_down=3.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    breaker.success()  # a success in between starts the count again
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.is_open and not breaker.allow() and breaker.opened == 1
    clock.advance(1.0)
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # one at a time
    breaker.failure()
    assert breaker.opened == 2
    clock.advance(1.5)
    assert not breaker.allow()  # the second cool-down is twice as long
    clock.advance(0.5)
    assert breaker.allow()
    breaker.failure()
    clock.advance(3.0)  # capped at max_cool_down
    assert breaker.allow()
    breaker.success()
    assert not breaker.is_open and breaker.allow() and breaker.allow()
    for _ in range(3):
        breaker.failure()
    clock.advance(1.0)  # after a success the cool-down is back to its start
    assert breaker.allow()


def test_only_one_thread_probes():
    clock = Clock(0.0)
    breaker = CircuitBreaker(failures=1, cool_down=1.0, clock=clock)
    breaker.failure()
    clock.advance(1.0)
    allowed = []
    threads = [threading.Thread(target=lambda: allowed.append(breaker.allow())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False] * 7 + [True]


def test_a_probe_that_never_reports_is_given_up_after_the_probe_timeout():
    # A probe that ended in neither a success nor a failure (an error its caller does not
    # count as either) held the breaker half-open for good: no call was let through again.
    clock = Clock(0.0)
    breaker = CircuitBreaker(failures=1, cool_down=1.0, probe_timeout=2.0, clock=clock)
    breaker.failure()
    clock.advance(1.0)
    assert breaker.allow()  # the probe, never to report
    clock.advance(1.9)
    assert not breaker.allow()  # still out: one at a time
    clock.advance(0.1)
    assert breaker.allow()  # given up: another call probes
    assert not breaker.allow()
    breaker.success()
    assert not breaker.is_open and breaker.allow() and breaker.allow()


def test_an_abandoned_probe_lets_the_next_caller_probe_at_once():
    clock = Clock(0.0)
    breaker = CircuitBreaker(failures=1, cool_down=1.0, clock=clock)
    breaker.abandon()  # closed: nothing to give up
    assert breaker.allow()
    breaker.failure()
    clock.advance(1.0)
    assert breaker.allow()
    breaker.abandon()  # cancelled: it says nothing of the service
    assert breaker.is_open is False and breaker.opened == 1
    assert breaker.allow()  # the next probe, without waiting for the probe timeout
    breaker.failure()
    assert breaker.is_open and breaker.opened == 2
