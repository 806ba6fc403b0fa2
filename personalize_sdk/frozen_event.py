"""`frozen`: an accepted event made the outbox's own, in the caller's thread, as msgpack bytes.

An accepted `Event` holds the very `properties` and `context` mappings the shop passed to
`track()` (the reducer reads them before `track()` returns, so that costs nothing). The delivery
thread encodes an event later, and `RedisStore` may fold a queued event again later (its writer
replays it on a profile another process changed), so neither may read them: a shop that reuses
one dict for its next call, or appends to a product list, would change what was forwarded or
replayed, or fail its encoding with "dictionary changed size during iteration". `frozen` packs
them with msgpack, which is the cheapest deep copy there is (the C packer walks nested lists
and mappings; 1.1 us per event of the `track` benchmark's mix, with a packer kept per thread,
against 2.5-4 us for a copy in Python) and immutable by nature. A msgpack forwarder sends those
bytes as they are; the JSON ones unpack them first.

Packing keeps what the forwarders send: a value msgpack cannot hold is packed as its text, as the
encoders would send it (`default=str`), tuples become lists as in JSON. An event msgpack refuses
(a lone surrogate in a string) is copied with `copy.deepcopy` instead, and fails its encoding
later, in the delivery thread, where that is counted.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import msgpack

from .events import Event
from .segment_message import Identified

_new_tuple = tuple.__new__
_PACKERS = threading.local()
"""A msgpack packer per calling thread, for `freeze` (a Packer is not thread-safe)."""


class FrozenEvent(NamedTuple):
    """An accepted event whose properties and context are msgpack bytes."""

    visitor_id: str | None
    name: str
    properties: bytes
    timestamp: float
    message_id: str
    context: bytes | None
    """None for no context or an empty one."""
    user_id: str | None


def frozen(
    item: Event | FrozenEvent | Identified, pack: Callable[[Any], bytes]
) -> FrozenEvent | Event | Identified:
    """`item` with data of its own, safe to read from another thread at any later time.

    `pack` is a ``msgpack.Packer(default=str)``'s, of the calling thread's own (a Packer is
    not thread-safe; building one per call costs more than the packing)."""
    if type(item) is Event:
        context = item[5]
        try:
            return _new_tuple(
                FrozenEvent,
                (
                    item[0],
                    item[1],
                    pack(item[2]),
                    item[3],
                    item[4],
                    pack(context) if context else None,
                    item[7],
                ),
            )
        except Exception:  # noqa: BLE001 - e.g. a lone surrogate; see the module's docstring
            # Validated events hold plain JSON values only: deepcopy copies them all.
            return item._replace(
                properties=copy.deepcopy(item.properties), context=copy.deepcopy(context)
            )
    # An identify's traits are the SDK's own already (`validate_traits` returns a deep copy),
    # and a `FrozenEvent` (`track` freezes once for a store and the outbox) is frozen already.
    return item


def freeze(item: Event | FrozenEvent | Identified) -> FrozenEvent | Event | Identified:
    """`frozen` with the calling thread's own packer."""
    try:
        pack = _PACKERS.pack
    except AttributeError:  # this thread's first event
        pack = _PACKERS.pack = msgpack.Packer(default=str).pack
    return frozen(item, pack)


def thawed(item: FrozenEvent, caller_message_id: bool = False) -> Event:
    """The event again, with mappings of its own (for a hook that must see the message, or a
    store folding it again); `caller_message_id` as the event had it (a `FrozenEvent` does not
    keep it: the forwarders send no such field)."""
    context = item.context
    return Event(
        item.visitor_id,
        item.name,
        unpacked(item.properties),
        item.timestamp,
        item.message_id,
        None if context is None else unpacked(context),
        caller_message_id,
        item.user_id,
    )


def unpacked(data: bytes) -> Any:
    return msgpack.unpackb(data, strict_map_key=False)
