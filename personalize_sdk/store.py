"""The `Store` protocol: where profiles and visitor -> customer links live.

Keys are `Profile.key` values: ``"v:<visitor_id>"`` for anonymous visitors, ``"u:<user_id>"`` for
customers. `update` is the only write path for events, so a store can make it atomic (a lock,
a transaction, a Lua script) and no concurrent writer loses an update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .profile import Profile

Change = Callable[..., Profile]


@runtime_checkable
class Store(Protocol):
    def load(self, key: str) -> Profile | None:
        """The profile stored under `key`, or None."""

    def update(self, key: str, change: Change, *args: Any) -> Profile:
        """Atomically replace the profile under `key` by ``change(current_or_None, *args)``."""

    def pop(self, key: str) -> Profile | None:
        """Remove and return the profile under `key` (None if there was none)."""

    def resolve(self, visitor_id: str) -> str | None:
        """The user id this visitor id was linked to by `identify`, or None."""

    def link(self, visitor_id: str, user_id: str) -> None:
        """From now on, `visitor_id` resolves to `user_id`."""

    def unlink_user(self, user_id: str) -> list[str]:
        """Remove every link to `user_id`; return the visitor ids that were linked."""

    def unlink(self, visitor_id: str) -> None:
        """Remove the link of one visitor id, if any."""

    def flush(self) -> None:
        """Write out anything buffered."""

    def close(self) -> None:
        """Flush and release resources."""
