"""Validators specialised to the recurring shapes of event data.

A shop sends the same few shapes over and over: a `Product Viewed` always carries `product_id`,
`name`, `category`, `brand`, `price`, `currency`; each product of a list the same three keys.
Once a shape (the exact tuple of a dict's keys, in order) has passed the generic walk a few
times, it gets a straight-line check generated for it, like attrs and dataclasses generate
their `__init__`: no loop, no key lookups, no rule dispatch. A ruled shape also gets a plan for
a whole `products` list of it (a list event's eight products are one loop, not eight lookups
and calls).

A plan only ever *accepts*: for a value it does not expect (a NaN, a wrong type, a bad id) it
answers None, and the caller runs the generic walk, which finds and names the problem. So the
generic walk stays the one definition of what is valid; a plan is a shortcut to the same answer.
Shapes seen only rarely (random keys from a bot) never get a plan: generating one costs more
than it saves until a shape repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._exceptions import InvalidEvent
from ._property_rules import FieldRule

if TYPE_CHECKING:
    from ._limits import EventLimits

Plan = Callable[[dict[str, Any], int, list[int]], "int | None"]
ItemsPlan = Callable[[list[Any] | tuple[Any, ...], int, list[int]], "int | None"]
Shape = tuple[bool, tuple[str, ...]]
"""(ruled, the keys in order)"""

PLAN_AFTER = 4
"""Successful generic walks of a shape before it gets a plan."""
MAX_PLANS = 256
MAX_COUNTED = 2048
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class ShapeCache:
    """The plans of one `EventLimits` (their bounds are baked into the generated code)."""

    def __init__(self) -> None:
        self.ruled: dict[tuple[str, ...], Plan] = {}
        """Plans of ruled dicts (event properties and their products), by their keys."""
        self.plain: dict[tuple[str, ...], Plan] = {}
        self.items: dict[tuple[str, ...], ItemsPlan] = {}
        """Plans of whole `products` lists whose items are all of one ruled shape, by its keys."""
        self._seen: dict[Shape, int] = {}

    def passed(
        self,
        shape: Shape,
        key_sizes: Callable[[str], int],
        limits: EventLimits,
        walk_value: Callable[..., int],
        sample: Mapping[str, Any] | None = None,
    ) -> None:
        """A dict of this shape passed the generic walk (`sample`, when given); plan it once
        that is no accident."""
        seen = self._seen.get(shape, 0) + 1
        if seen < PLAN_AFTER:
            if len(self._seen) >= MAX_COUNTED:
                self._seen.clear()
            self._seen[shape] = seen
            return
        self._seen.pop(shape, None)
        plans = self.ruled if shape[0] else self.plain
        if len(plans) >= MAX_PLANS:
            plans.clear()
            if shape[0]:
                self.items.clear()
        plans[shape[1]] = compile_plan(shape, key_sizes, limits, walk_value, sample)
        if shape[0]:
            self.items[shape[1]] = compile_items_plan(shape, key_sizes, limits, walk_value, sample)


# What a string must satisfy under each rule, as a Python condition that is true when it is NOT
# accepted here (the generic walk then decides); `n` is its length where the condition needs it.
# Its length against `max_string_length` is checked once for all of a plan's strings, at the end.
_STR_REJECT = {
    None: "not v.isascii()",
    FieldRule.TEXT: "not v.isascii()",
    FieldRule.ID: "not 0 < n <= {max_id} or not v.isascii()",
    FieldRule.CURRENCY: "n != 3 or not v.isalpha() or not v.isascii()",
}
_FLOAT_REJECT = {None: "", FieldRule.AMOUNT: " or v < 0"}
_INT_REJECT = {
    None: "",
    FieldRule.ID: "",
    FieldRule.AMOUNT: " or v < 0",
    FieldRule.QUANTITY: " or v < 0",
}


def compile_plan(
    shape: Shape,
    key_size_of: Callable[[str], int],
    limits: EventLimits,
    walk_value: Callable[..., int],
    sample: Mapping[str, Any] | None = None,
) -> Plan:
    """Generate the straight-line check of one shape (see the module docstring)."""
    checks, base = _checks(shape, key_size_of, limits, sample)
    lines = [
        "def plan(m, depth, budget):",
        f"    size = {2 + base}",
        "    chars = 0",
        *checks,
        *_chars_within(limits, "    "),
        "    return size + 6 * chars",
    ]
    return _compiled(lines, "plan", limits, walk_value)


def compile_items_plan(
    shape: Shape,
    key_size_of: Callable[[str], int],
    limits: EventLimits,
    walk_value: Callable[..., int],
    sample: Mapping[str, Any] | None = None,
) -> ItemsPlan:
    """Generate the check of a whole list of dicts of one shape (the products of a list event):
    one loop with the shape's checks inline, instead of a lookup and a call per item.

    Like a plan it only accepts: an item of another shape (fetching its keys fails, or its size
    differs), or a value the checks do not expect, declines the whole list, and the caller walks
    it item by item. `need` is what the generic walk takes from the budget for each item.
    """
    keys = shape[1]
    need = 6 * len(keys)
    body, base = _checks(shape, key_size_of, limits, sample)
    lines = [
        "def plan_items(items, depth, budget):",
        "    total = 0",
        "    chars = 0",
        "    for index, m in enumerate(items):",
        f"        if type(m) is not dict or len(m) != {len(keys)} or budget[0] < {need}:",
        "            return None",
        f"        budget[0] -= {need}",
        f"        size = {2 + base}",
        "        try:",
        *("        " + line for line in body or ["    pass"]),  # an empty dict has no checks
        "        except KeyError:",  # not this shape after all: `m[key]` of a key it lacks
        "            return None",
        "        except InvalidEvent as error:",
        "            raise error.within(index) from None",
        "        total += size",
        *_chars_within(limits, "    "),
        "    return total + 6 * chars",
    ]
    return _compiled(lines, "plan_items", limits, walk_value)


def _chars_within(limits: EventLimits, indent: str) -> list[str]:
    """No string can be over the limit when all of them together are not (else: decline, and
    the generic walk finds the one that is)."""
    return [f"{indent}if chars > {limits.max_string_length}:", f"{indent}    return None"]


def _checks(
    shape: Shape,
    key_size_of: Callable[[str], int],
    limits: EventLimits,
    sample: Mapping[str, Any] | None = None,
) -> tuple[list[str], int]:
    """The lines (indented for a function body) that check dict `m` of `shape`, or return None
    for anything they do not expect, and the constant part of its JSON size bound.

    The generated code starts `size` at that constant (2 plus the first branch's size of each
    key; another branch adds the difference) and counts the strings' characters in `chars`:
    its bound is ``size + 6 * chars``. Each value's type is tested in turn; the type of the
    value in `sample` (a dict of the shape that passed) is tested first, as the values to come
    are most likely of it."""
    from ._property_rules import PROPERTY_RULES

    ruled, keys = shape
    lines: list[str] = []
    base = 0
    for key in keys:
        key_size = key_size_of(key)
        rule = PROPERTY_RULES.get(key) if ruled else None
        literal = repr(key)
        branches = _typed_branches(rule, key_size, limits)
        if sample is not None:
            seen = type(sample.get(key))
            branches.sort(key=lambda branch: branch[0] is not seen)  # stable: the rest in order
        first = branches[0][3] or 0  # None: a branch that only declines
        base += first
        lines += [f"    v = m[{literal}]", "    t = type(v)"]
        for index, (_, condition, body, constant) in enumerate(branches):
            lines += [f"    {'if' if index == 0 else 'elif'} {condition}:"]
            lines += [*body, *_added(constant, first)] or ["        pass"]
        if rule is None:
            lines += ["    elif t is bool:", *(_added(key_size + 9, first) or ["        pass"])]
        if rule is None or rule is FieldRule.PRODUCTS:
            products = rule is FieldRule.PRODUCTS
            lines += [
                "    elif t is not bool"
                + (" and (t is list or t is tuple)" if products else "")
                + ":",
                # A string before it may be over the limit: the generic walk would say so first.
                *_chars_within(limits, "        "),
                "        try:",
                f"            size += {key_size + 4 - first} + walk_value(v, depth, limits,"
                f" {products}, budget)",
                "        except InvalidEvent as error:",
                f"            raise error.within({literal}) from None",
            ]
        lines += ["    else:", "        return None"]
    return lines, base


def _added(constant: int | None, first: int) -> list[str]:
    """What a branch adds to `size` beyond the first branch's constant, already counted."""
    if constant is None or constant == first:
        return []
    return [f"        size += {constant - first}"]


_Branch = tuple[type, str, list[str], "int | None"]
"""(the type of value it takes, its condition, its body lines, the size it adds but for
``6 * len`` of a string; None for a branch that only declines)"""


def _typed_branches(rule: FieldRule | None, key_size: int, limits: EventLimits) -> list[_Branch]:
    """The branches of one key's check for the plain types, in an order free to change."""
    branches: list[_Branch] = []
    if rule in _STR_REJECT:
        max_id = min(limits.max_id_length, limits.max_string_length)
        reject = _STR_REJECT[rule].format(max_id=max_id)
        measured = rule in (FieldRule.ID, FieldRule.CURRENCY)
        branches.append((str, "t is str", [
            *(["        n = len(v)"] if measured else []),
            f"        if {reject}:",
            "            return None",
            f"        chars += {'n' if measured else 'len(v)'}",
        ], key_size + 8))  # fmt: skip
    else:
        branches.append((str, "t is str", ["        return None"], None))
    if rule in _FLOAT_REJECT:
        branches.append((float, "t is float", [
            f"        if v - v != 0.0{_FLOAT_REJECT[rule]}:",
            "            return None",
        ], key_size + 28))  # fmt: skip
    if rule in _INT_REJECT:
        branches.append((int, "t is int", [
            f"        if not {INT_MIN} <= v <= {INT_MAX}{_INT_REJECT[rule]}:",
            "            return None",
        ], key_size + 24))  # fmt: skip
    branches.append((type(None), "v is None", [], key_size + 9))
    return branches


def _compiled(
    lines: list[str], name: str, limits: EventLimits, walk_value: Callable[..., int]
) -> Any:
    namespace: dict[str, Any] = {
        "walk_value": walk_value,
        "limits": limits,
        "InvalidEvent": InvalidEvent,
    }
    # Our own generated code; the only outside text in it is the keys, written with repr().
    exec("\n".join(lines), namespace)
    return namespace[name]
