"""`owned`: a copy of the caller's data in an accepted event, taken in the caller's thread.

An accepted `Event` holds the very `properties` and `context` mappings the shop passed to
`track()` (the reducer reads them before `track()` returns, so that costs nothing). The delivery
thread encodes an event later, so it must not read them: a shop that reuses one dict for its
next call, or appends to a product list, would change what was forwarded, or fail its encoding
with "dictionary changed size during iteration". `owned` copies every mapping and list down to
the scalars; a flat mapping of scalars (the usual event) costs one `dict()` and a scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..events import Event
from ..segment_message import Identified

_SCALARS = frozenset({str, int, float, bool, type(None)})
_new_tuple = tuple.__new__


def copied(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `mapping` whose nested mappings and lists are copies too."""
    copy = dict(mapping)
    for key, value in copy.items():
        if type(value) not in _SCALARS:
            copy[key] = _copied_value(value)  # a value replaced in place: the size is unchanged
    return copy


def _copied_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return copied(value)
    if isinstance(value, (list, tuple)):
        return [item if type(item) in _SCALARS else _copied_value(item) for item in value]
    return value  # datetime, Decimal, ...: immutable, or encoded as their text


def owned(item: Event | Identified) -> Event | Identified:
    """`item` with mappings of its own, safe to read from another thread at any later time."""
    if type(item) is Event:
        context = item[5]
        return _new_tuple(
            Event,
            (
                item[0],
                item[1],
                copied(item[2]),
                item[3],
                item[4],
                None if context is None else copied(context),
                item[6],
                item[7],
            ),
        )
    return item._replace(traits=copied(item.traits))
