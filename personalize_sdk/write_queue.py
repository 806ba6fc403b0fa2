"""`WriteQueue`: what `RedisStore`'s writer has yet to send, grouped by profile.

A profile's waiting updates leave together, so that the writer can send the local copy as it
is rather than read the profile back and fold them in again. Kept as one list per profile key,
profiles in the order of their oldest waiting update, taking a batch costs the batch, not a
scan of everything queued (a scan was 4 ms a batch with 20,000 updates queued, and an outage
can queue 100,000).

Not thread-safe: its owner holds a lock around every call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class WriteQueue(Generic[T]):
    def __init__(self) -> None:
        self._by_key: OrderedDict[str, list[T]] = OrderedDict()
        self._count = 0

    def __len__(self) -> int:
        """Updates waiting, of every profile."""
        return self._count

    def append(self, key: str, item: T) -> None:
        """`item` waits after the others of `key` (a profile new to the queue goes last)."""
        items = self._by_key.get(key)
        if items is None:
            self._by_key[key] = [item]
        else:
            items.append(item)
        self._count += 1

    def pop_first(self) -> tuple[str, T]:
        """The first waiting update of the profile waiting longest, and its key, out of the
        queue (IndexError when empty). The profile keeps its place while it has more."""
        if not self._by_key:
            raise IndexError("pop from an empty WriteQueue")
        key, items = next(iter(self._by_key.items()))
        item = items.pop(0)
        if not items:
            del self._by_key[key]
        self._count -= 1
        return key, item

    def take(self, size: int) -> dict[str, list[T]]:
        """Whole profiles from the oldest, until at least `size` updates (or all) are taken."""
        taken: dict[str, list[T]] = {}
        count = 0
        by_key = self._by_key
        while by_key and count < size:
            key, items = by_key.popitem(last=False)
            taken[key] = items
            count += len(items)
        self._count -= count
        return taken

    def put_back(self, key: str, items: Iterable[T]) -> None:
        """`items` of `key` wait first again, before its later ones: `key` goes to the front."""
        items = list(items)
        if not items:
            return
        later = self._by_key.pop(key, [])
        self._by_key[key] = [*items, *later]
        self._by_key.move_to_end(key, last=False)
        self._count += len(items)

    def move(self, key: str, to: str) -> list[T]:
        """The waiting updates of `key` wait under `to` from now on, after `to`'s own; returns
        them."""
        items = self._by_key.pop(key, None)
        if not items:
            return []
        target = self._by_key.get(to)
        if target is None:
            self._by_key[to] = items
        else:
            target.extend(items)
        return items

    def discard(self, key: str) -> list[T]:
        """The waiting updates of `key` leave the queue (its shopper is being forgotten);
        returns them."""
        items = self._by_key.pop(key, None) or []
        self._count -= len(items)
        return items

    def keys(self) -> list[str]:
        """The profiles with updates waiting, oldest first (a snapshot)."""
        return list(self._by_key)
