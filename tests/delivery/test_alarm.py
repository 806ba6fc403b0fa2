"""`Alarm`: the delivery loop's nap, ended early by `ring()`."""

from __future__ import annotations

import asyncio
import time

from personalize_sdk.delivery.alarm import Alarm


def test_a_nap_lasts_its_time_unless_the_alarm_rings():
    async def scenario() -> tuple[float, float, float]:
        alarm = Alarm()
        started = time.monotonic()
        await alarm.sleep(0.05)
        slept = time.monotonic() - started
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, alarm.ring)
        started = time.monotonic()
        await alarm.sleep(30.0)  # rung after 0.05 s
        rung = time.monotonic() - started
        started = time.monotonic()
        await alarm.sleep(30.0)  # rung already: no nap at all
        after = time.monotonic() - started
        return slept, rung, after

    slept, rung, after = asyncio.run(scenario())
    assert 0.04 <= slept < 5.0
    assert rung < 5.0 and after < 1.0


def test_a_ring_from_another_thread_through_the_loop_ends_the_nap():
    async def scenario() -> float:
        alarm = Alarm()
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        napping = asyncio.ensure_future(alarm.sleep(30.0))
        await asyncio.sleep(0.01)
        await asyncio.to_thread(loop.call_soon_threadsafe, alarm.ring)
        await napping
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 5.0


def test_a_reset_alarm_sleeps_again_and_none_sleeps_until_it_rings():
    async def scenario() -> tuple[bool, float]:
        alarm = Alarm()
        alarm.ring()
        alarm.reset()
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, alarm.ring)
        started = time.monotonic()
        await alarm.sleep(None)  # no timer: only the ring ends it
        return alarm.rung, time.monotonic() - started

    rung, slept = asyncio.run(scenario())
    assert rung and 0.04 <= slept < 5.0
