"""The `Store` protocol: where profiles and visitor -> customer links live.

Keys are ``"v:<visitor_id>"`` for anonymous visitors and ``"u:<user_id>"`` for customers
(`profile_key`). The two write paths, `update` and `identify`, are atomic: each resolves the
visitor's link and replaces the profile in one step, so an event tracked while the same shopper
logs in lands on the customer or is merged into it, never lost, and no concurrent writer loses
an update. A store makes them atomic its own way (a lock, a transaction, a Lua script).

A store may also offer ``apply(visitor_id, user_id, change, *args, replay=(change, args))
-> None``: `update` without its answer, which `track` calls instead when it is there, with
`replay` the same change in a form that holds none of the caller's objects (its event frozen),
for a store that may fold it again later (`RedisStore`'s writer, after a conflict).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .profile import Profile, profile_key

__all__ = ["Change", "Store", "profile_key"]

Change = Callable[..., Profile]
"""`update`: ``change(current | None, visitor_id, user_id, *args) -> Profile``;
`identify`: ``change(customer | None, visitor_profile | None, *args) -> Profile``."""


@runtime_checkable
class Store(Protocol):
    def load(self, key: str) -> Profile | None:
        """The profile stored under `key`, or None."""

    def resolve(self, visitor_id: str) -> str | None:
        """The user id this visitor id was linked to by `identify`, or None."""

    def update(
        self, visitor_id: str | None, user_id: str | None, change: Change, *args: Any
    ) -> Profile:
        """Atomically replace the shopper's profile by ``change(current, visitor_id, user_id,
        *args)``: the customer `user_id` if given, else the customer the visitor is linked to,
        else the visitor's own profile. `user_id` passed to `change` is the resolved one."""

    def identify(self, visitor_id: str, user_id: str, change: Change, *args: Any) -> Profile:
        """Atomically link `visitor_id` to `user_id`, take the visitor's anonymous profile and
        replace the customer's by ``change(customer, visitor_profile, *args)``."""

    def pop(self, key: str) -> Profile | None:
        """Remove and return the profile under `key` (None if there was none)."""

    def unlink(self, visitor_id: str) -> None:
        """Remove the link of one visitor id, if any."""

    def unlink_user(self, user_id: str) -> list[str]:
        """Remove every link to `user_id`; return the visitor ids that were linked."""

    def flush(self, timeout: float = 5.0) -> bool:
        """Write out anything buffered, waiting at most `timeout` seconds; whether it is all
        written (a store that buffers nothing: True at once)."""

    def close(self, timeout: float = 5.0) -> None:
        """Flush (at most `timeout` seconds) and release resources."""
