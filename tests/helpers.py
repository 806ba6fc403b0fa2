"""Shared test helpers: a fixed time origin, a controllable clock, event builders."""

from __future__ import annotations

T0 = 1_790_000_000.0  # 2026-09-21, a fixed "now" for every test
MINUTE = 60.0
DAY = 86_400.0


class Clock:
    """A controllable clock: call it for the time, `advance` to move it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def view(pid: str, category: str = "Watches", brand: str = "Acme", price: float = 100.0) -> dict:
    return {
        "product_id": pid,
        "category": category,
        "brand": brand,
        "price": price,
        "currency": "EUR",
    }
