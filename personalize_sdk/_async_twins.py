"""The ``a``-prefixed twins of `Personalizer`'s calls, for async views.

Each twin does the call's I/O without blocking the event loop, then runs the synchronous call,
which finds everything in memory:

- a store with an asyncio read path (`RedisStore.aprefetch`) loads the shopper's link and
  profile into its local cache first; the write itself is queued, never awaited;
- any other store that may block (`SQLiteStore`) runs the whole call in a worker thread;
- the embedded `MemoryStore` does no I/O: the call runs directly;
- the widget decision runs in a worker thread when the catalog may do I/O (`CallableCatalog`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .memory_store import MemoryStore

if TYPE_CHECKING:
    from .beacon import BeaconResult
    from .campaign_verdict import CampaignVerdict
    from .page import Page
    from .personalizer import Explanation, Personalizer
    from .profile import Profile
    from .widget import Widget

T = TypeVar("T")


class AsyncTwins:
    async def _io_free(
        self: Personalizer,
        visitor_id: str | None,
        user_id: str | None,
        call: Callable[..., T],
        /,
        *args: Any,
        _catalog: bool = False,
        **kwargs: Any,
    ) -> T:
        """`call(*args, **kwargs)` once the store's I/O for this shopper is done, in a worker
        thread when the store (or, with `_catalog`, the catalog) may block."""
        store = self.store
        prefetch = getattr(store, "aprefetch", None)
        if prefetch is not None:
            # A fault here is the store's to count; the call below degrades as without it.
            with contextlib.suppress(Exception):
                await prefetch(visitor_id, user_id)
        elif not isinstance(store, MemoryStore):
            return await asyncio.to_thread(call, *args, **kwargs)
        if _catalog and self._live.pipeline.catalog_may_block:
            return await asyncio.to_thread(call, *args, **kwargs)
        return call(*args, **kwargs)

    async def _off_the_loop(self: Personalizer, call: Callable[..., T], /, *args: Any) -> T:
        """`call(*args)` in a worker thread, unless the store is in memory (no I/O): for the
        calls that go to the store directly and wait for it (a login, an erasure)."""
        if isinstance(self.store, MemoryStore):
            return call(*args)
        return await asyncio.to_thread(call, *args)

    async def atrack(
        self: Personalizer,
        visitor_id: str | None,
        event: str,
        properties: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> str | None:
        """`track` for async code."""
        user_id = options.get("user_id")
        return await self._io_free(
            visitor_id, user_id, self.track, visitor_id, event, properties, **options
        )

    async def aidentify(
        self: Personalizer,
        visitor_id: str,
        user_id: str | None = None,
        traits: Mapping[str, Any] | None = None,
    ) -> Profile | None:
        """`identify` for async code: in a worker thread unless the store is in memory (a
        login is rare and its merge writes through to the store)."""
        return await self._off_the_loop(self.identify, visitor_id, user_id, traits)

    async def aalias(self: Personalizer, previous_id: str, user_id: str) -> Profile | None:
        """`alias` for async code: in a worker thread unless the store is in memory."""
        return await self._off_the_loop(self.alias, previous_id, user_id)

    async def abeacon(
        self: Personalizer,
        visitor_id: str | None,
        body: bytes | str | Mapping[str, Any],
        *,
        user_id: str | None = None,
    ) -> BeaconResult:
        """`beacon` for async code (the beacon endpoint of an async app)."""
        return await self._io_free(
            visitor_id, user_id, self.beacon, visitor_id, body, user_id=user_id
        )

    async def aforget(self: Personalizer, user_or_visitor_id: str) -> None:
        """`forget` for async code: in a worker thread unless the store is in memory (an
        erasure goes to the store and waits for it)."""
        return await self._off_the_loop(self.forget, user_or_visitor_id)

    async def aexplain_widgets(
        self: Personalizer, visitor_id: str | None, page: Page, *, user_id: str | None = None
    ) -> list[CampaignVerdict]:
        return await self._io_free(
            visitor_id, user_id, self.explain_widgets, visitor_id, page, user_id=user_id,
            _catalog=True,
        )  # fmt: skip

    async def aunlink(self: Personalizer, visitor_id: str) -> None:
        """`unlink` for async code: in a worker thread unless the store is in memory."""
        return await self._off_the_loop(self.unlink, visitor_id)

    async def aexplain(
        self: Personalizer, visitor_id: str | None = None, *, user_id: str | None = None
    ) -> Explanation:
        return await self._io_free(visitor_id, user_id, self.explain, visitor_id, user_id=user_id)

    async def aaffinities(
        self: Personalizer, visitor_id: str | None = None, *, user_id: str | None = None
    ) -> dict[str, dict[str, float]]:
        return await self._io_free(
            visitor_id, user_id, self.affinities, visitor_id, user_id=user_id
        )

    async def aprofile(
        self: Personalizer, visitor_id: str | None = None, *, user_id: str | None = None
    ) -> Profile:
        return await self._io_free(visitor_id, user_id, self.profile, visitor_id, user_id=user_id)

    async def asegments(
        self: Personalizer, visitor_id: str | None = None, *, user_id: str | None = None
    ) -> frozenset[str]:
        return await self._io_free(visitor_id, user_id, self.segments, visitor_id, user_id=user_id)

    async def awidgets(
        self: Personalizer,
        visitor_id: str | None,
        page: Page,
        slot: str | None = None,
        *,
        user_id: str | None = None,
    ) -> list[Widget]:
        """`widgets` for async code (the decision in a worker thread when the catalog may
        do I/O)."""
        return await self._io_free(
            visitor_id, user_id, self.widgets, visitor_id, page, slot, _catalog=True,
            user_id=user_id,
        )  # fmt: skip

    async def arender(
        self: Personalizer,
        visitor_id: str | None,
        page: Page,
        slot: str = "top",
        *,
        user_id: str | None = None,
    ) -> str:
        """`render` for async code (the decision in a worker thread when the catalog may
        do I/O)."""
        return await self._io_free(
            visitor_id, user_id, self.render, visitor_id, page, slot, _catalog=True,
            user_id=user_id,
        )  # fmt: skip
