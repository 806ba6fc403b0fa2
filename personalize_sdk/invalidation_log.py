"""`InvalidationLog`: whether a key was invalidated since a moment, told by counting.

    began = log.now            # before a read of the key from the shared store
    ...                        # the read; invalidations may arrive meanwhile: log.mark(key)
    if log.since(key, began):  # the answer may predate a change: do not keep it as fresh

`RedisStore` reads a profile outside its lock. An invalidation that arrives in the middle finds
nothing to drop, and without this the answer read before the change would then be kept as the
local copy for `local_ttl` seconds. Its writer asks the same question before it keeps what it
wrote as the local copy.

Bounded: past `size` keys the one marked longest ago is forgotten, and a forgotten key counts
as marked when the last forgotten one was. So `since` can answer yes when the answer is no
(the caller reads again), never no when it is yes. `mark_all` marks every key at once.

Not thread-safe: its owner holds a lock around every call.
"""

from __future__ import annotations

from collections import OrderedDict


class InvalidationLog:
    __slots__ = ("_floor", "_last", "now", "size")

    def __init__(self, size: int = 4096) -> None:
        if type(size) is not int or size < 1:
            raise ValueError(f"expected a size >= 1, got {size!r}")
        self.size = size
        self.now = 0
        """How many marks so far: the moment to pass to `since` later."""
        self._floor = 0
        self._last: OrderedDict[str, int] = OrderedDict()

    def mark(self, key: str) -> None:
        """`key` was invalidated just now."""
        self.now += 1
        last = self._last
        last[key] = self.now
        last.move_to_end(key)
        if len(last) > self.size:
            self._floor = last.popitem(last=False)[1]

    def mark_all(self) -> None:
        """Every key was invalidated just now."""
        self.now += 1
        self._floor = self.now
        self._last.clear()

    def since(self, key: str, began: int) -> bool:
        """Whether `key` may have been invalidated after the moment `began` (a past `now`)."""
        return self._last.get(key, self._floor) > began
