"""Every call that may wait on a store has an async twin that leaves the event loop free: with a
store that blocks (SQLite here; Redis in tests/stores/test_async_twins.py) the store is used
from a worker thread only, and the twin answers what the call answers."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from personalize_sdk import Page, Personalizer
from personalize_sdk.sqlite_store import SQLiteStore
from tests.helpers import Clock, view

BAR = {"id": "bar", "kind": "hello_bar", "text": "Hi"}


class ThreadNotingStore(SQLiteStore):
    """A real SQLite store that notes the threads its connections are used from."""

    def __init__(self, path: Path) -> None:
        self.threads: set[threading.Thread] = set()  # before the store opens its first one
        super().__init__(path)

    def _connection(self) -> Any:
        self.threads.add(threading.current_thread())
        return super()._connection()


def test_each_twin_uses_a_blocking_store_off_the_event_loop(tmp_path: Path, clock: Clock) -> None:
    store = ThreadNotingStore(tmp_path / "pz.db")
    pz = Personalizer({"campaigns": [BAR]}, store=store, clock=clock, strict=True, secret="s" * 32)
    pz.track("v1", "Product Viewed", view("sku-1", category="Watches"))
    pz.track("v2", "Product Viewed", view("sku-2"))
    shown = json.dumps(
        {"events": [{"type": "shown", "campaign": "bar", "variant": "default", "path": "/"}]}
    )
    expected = pz.explain("v1").segments, pz.affinities("v1")
    store.threads.clear()

    async def calls() -> tuple[threading.Thread, list[Any]]:
        return threading.current_thread(), [
            await pz.aexplain("v1"),
            await pz.aaffinities("v1"),
            await pz.abeacon("v1", shown),
            await pz.aalias("v1", "u-1"),
            await pz.aforget("v2"),
            await pz.aunlink("v1"),
            await pz.aexplain_widgets("v1", Page(type="home")),
        ]

    loop_thread, outcome = asyncio.run(calls())
    explained, affinities, beacon, customer, forgotten, unlinked, verdicts = outcome
    assert store.threads and loop_thread not in store.threads
    assert (explained.segments, affinities) == expected and "watches" in affinities["category"]
    assert beacon.accepted == 1 and pz.profile(user_id="u-1").exposures["bar"].shown == 1
    assert customer is not None and customer.user_id == "u-1"
    assert forgotten is None and pz.store.load("v:v2") is None
    assert unlinked is None and pz.profile("v1").user_id is None
    assert pz.profile(user_id="u-1").recently_viewed == ("sku-1",)  # the customer keeps it all
    assert [(v.campaign_id, v.shown) for v in verdicts] == [("bar", True)]
    pz.close()
