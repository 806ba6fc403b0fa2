"""Read-only JSON-like data: `ReadOnlyDict`, `ReadOnlyList` and `freeze`.

Widget data is shared (see `widget_memo`: one rendering serves many shoppers; a product's card
serves every strip that lists it), so it is frozen like the rest of a `Widget`, and still a
dict or a list for `json.dumps` and template engines.
"""

from __future__ import annotations

from typing import Any


class ReadOnlyDict(dict):  # type: ignore[type-arg]
    """A dict that refuses changes."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("widget data is read-only; copy it to change it")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[Any, ...]:  # copy.deepcopy and pickle give a plain dict
        return (dict, (dict(self),))


class ReadOnlyList(list):  # type: ignore[type-arg]
    """A list that refuses changes (see `ReadOnlyDict`)."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("widget data is read-only; copy it to change it")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse

    def __reduce__(self) -> tuple[Any, ...]:  # copy.deepcopy and pickle give a plain list
        return (list, (list(self),))


def freeze(data: Any) -> Any:
    """JSON-like data (dicts, lists, scalars) made read-only, once, when it is built. What is
    read-only already (a product's card) is shared as it is."""
    kind = type(data)
    if kind is dict:
        return ReadOnlyDict(
            {key: freeze(value) if type(value) in _MUTABLE else value
             for key, value in data.items()}
        )  # fmt: skip
    if kind is list:
        return ReadOnlyList([freeze(value) if type(value) in _MUTABLE else value
                             for value in data])  # fmt: skip
    return data


_MUTABLE = frozenset({dict, list})
