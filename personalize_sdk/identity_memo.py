"""`IdentityMemo`: what was computed from an immutable object, remembered by its identity.

    memo: IdentityMemo[Product, Card] = IdentityMemo()
    card = memo.get(product)
    if card is None:
        card = memo.put(product, make_card(product))

For values that are asked for again and again about the same object (a cart priced on every
page until it changes, a catalog product's card on every page that lists it), where hashing
the object by value would cost about as much as computing the answer. The object is kept alive
with its answer, so its identity cannot be reused by another object meanwhile. Bounded: when
full, it starts again empty. Safe across threads (single dict operations); two threads may
compute the same answer once each.

Only for objects that never change (frozen attrs classes, `ReadOnlyDict` ...): a changed
object would get its old answer.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    __slots__ = ("_found", "size")

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._found: dict[int, tuple[K, V]] = {}

    def get(self, obj: K) -> V | None:
        found = self._found.get(id(obj))
        return found[1] if found is not None and found[0] is obj else None

    def put(self, obj: K, value: V) -> V:
        """Remember `value` for `obj`; returns `value`."""
        found = self._found
        if len(found) >= self.size:
            found.clear()
        found[id(obj)] = (obj, value)
        return value
