"""Targeting conditions: GrowthBook's `evalCondition` semantics, compiled to closures.

A condition is a MongoDB-style mapping. `compile_condition` turns it, once, into nested closures
(one small compile function per operator, looked up in a registry) and returns a predicate over an
attribute mapping. The predicate never walks the condition again, never raises, and answers False
for anything that does not match, whatever the attributes contain.

Shape::

    {"traits.tier": "gold",                       # path -> plain value (equality)
     "traits.country": {"$in": ["IN", "LK"]},     # path -> operators (all must hold)
     "$or": [{"orders.count": {"$gte": 2}}, {"known": True}]}

Keys of a condition are dotted attribute paths (``"traits.country"``; a digit part indexes a list,
``length`` gives a list's length), or one of the logical operators, which take conditions:

    $and  $or  $nor  (lists of conditions; an empty $or is true, so an empty $nor is false)
    $not  (one condition)

Any other key, even one starting with ``$``, is an attribute path. A path's value is either a plain
value or a mapping whose keys all start with ``$`` (operators, all of which must hold):

    $eq $ne                   strict equality (same JSON type and value; 1 == 1.0, True != 1)
    $gt $gte $lt $lte         JavaScript relational comparison (see below)
    $in $nin $ini $nini       membership in a list; an array attribute matches when any of its
                              items is in the list (intersection); the ``i`` forms fold case
    $all $alli                an array attribute holding a match for every listed value
    $elemMatch                some truthy item of an array attribute matches a condition
    $size                     an array attribute's length matches a value or operators
    $exists                   the attribute is present and not null (or, with false, is not)
    $type                     "string" "number" "boolean" "null" "array" "object"
    $regex $regexi            regular-expression search (Python ``re`` syntax; ``i``: ignore case)
    $not                      negates a value or operators
    $veq $vne $vgt $vgte $vlt $vlte
                              version comparison (1.2.10 > 1.2.9, 1.0.0 > 1.0.0-rc.1; leading
                              ``v`` and ``+build`` ignored)
    $inGroup $notInGroup      membership in a saved group (``saved_groups`` given when compiling)

Semantics follow GrowthBook's reference (JavaScript) SDK, quirks included, because GrowthBook-style
configs must target the same visitors here as there:

- A missing attribute, or a path through a non-object, reads as null.
- Plain values compare like JavaScript: a string matches the attribute's string form
  (``"10"`` matches 10, ``"null"`` matches a missing attribute), a number matches the attribute's
  numeric form (``0`` matches null, ``""`` and ``[]``; ``8`` matches ``"8"``), true/false match the
  attribute's truthiness (``[]`` and ``{}`` are truthy) but never null, null matches only null, and
  lists/objects need deep equality (object key order does not matter here).
- $gt/$gte/$lt/$lte: two strings compare as strings, anything else as numbers, with null as 0,
  booleans as 0/1 and numeric strings as their number (``"8" > 5``); unparseable strings never
  compare true.
- $regex/$regexi search the attribute's string form, like JavaScript's ``RegExp.test``.
- Saved groups are looked up when compiling: an unknown group is empty. Recompile when they change.

Invalid conditions fail fast: an unknown operator, an invalid regex, an operand of the wrong type
(``$in`` with a non-list, ``$regex`` with a non-string...), a non-mapping condition all raise
`ConfigError` with ``field`` set to the offending operator's path (``"traits.country.$in"``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ._exceptions import ConfigError

__all__ = ["compile_condition"]

_Pred = Callable[[Any], bool]
"""A compiled test: of a document (an attribute mapping) or of one attribute value."""


class _Env:
    """What every compile function needs besides its operand: saved groups and error context."""

    __slots__ = ("saved_groups", "source")

    def __init__(self, saved_groups: Mapping[str, Any], source: str) -> None:
        self.saved_groups = saved_groups
        self.source = source

    def error(self, message: str, field: str) -> ConfigError:
        return ConfigError(message, source=self.source, field=field)


_OperatorCompiler = Callable[[Any, str, _Env], _Pred]
"""Compiles one operator's operand (found at `field`) into a test."""


# ---------------------------------------------------------------------------------------------
# JavaScript value semantics (used on slow paths only; hot paths test the common types inline)
# ---------------------------------------------------------------------------------------------

_MAX_SAFE_INTEGER = 2**53
_JS_WHITESPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_DECIMAL = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|Infinity)")
_JS_RADIX = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_NAN = math.nan
_MISSING = object()


def _json_type(value: Any) -> str:
    """GrowthBook's `getType`: the JSON type name of a value ("unknown" for non-JSON values)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "unknown"


def _int_to_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _js_number_to_string(value: float) -> str:
    """JavaScript's Number::toString: 1.0 -> "1", 1e21 -> "1e+21", 1e-7 -> "1e-7"."""
    if isinstance(value, int):
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return str(value)
        value = _int_to_float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    sign = "-" if value < 0 else ""
    digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()[1:]
    digits = "".join(map(str, digit_tuple))
    stripped = digits.rstrip("0")
    exponent = int(exponent) + len(digits) - len(stripped)
    digits = stripped
    size = len(digits)
    point = size + exponent  # the value is 0.<digits> * 10**point
    if size <= point <= 21:
        return sign + digits + "0" * (point - size)
    if 0 < point <= 21:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -6 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    power = point - 1
    mantissa = digits if size == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"


def _js_string(value: Any) -> str:
    """JavaScript's ``value + ""``: arrays join with commas, objects are "[object Object]"."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _js_number_to_string(value)
    if isinstance(value, (list, tuple)):
        return ",".join("" if item is None else _js_string(item) for item in value)
    return "[object Object]"


def _string_to_number(text: str) -> float:
    """JavaScript's StringToNumber: trimmed decimal, Infinity or 0x/0o/0b literal, "" is 0."""
    text = text.strip(_JS_WHITESPACE)
    if not text:
        return 0.0
    if _JS_DECIMAL.fullmatch(text):
        return float(text)
    if _JS_RADIX.fullmatch(text):
        return _int_to_float(int(text, 0))
    return _NAN


def _js_number(value: Any) -> float:
    """JavaScript's ToNumber (after ToPrimitive): null is 0, [] is 0, ["7"] is 7, {} is NaN."""
    if value is True:
        return 1.0
    if value is False:
        return 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        return _int_to_float(value)
    if isinstance(value, str):
        return _string_to_number(value)
    if value is None:
        return 0.0
    if isinstance(value, (list, tuple)):
        return _string_to_number(_js_string(value))
    return _NAN


def _js_primitive(value: Any) -> Any:
    """JavaScript's ToPrimitive: JSON scalars stay, arrays and objects become strings."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    return _js_string(value)


def _js_truthy(value: Any) -> bool:
    """JavaScript truthiness: false, 0, NaN, "" and null are falsy; [] and {} are truthy."""
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, (int, float)):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def _deep_equal(value: Any, literal: Any) -> bool:
    """JSON equality of an attribute value with a frozen literal (objects ignore key order)."""
    if literal is None:
        return value is None or (isinstance(value, float) and not math.isfinite(value))
    if literal is True or literal is False:
        return value is literal
    if isinstance(literal, str):
        return isinstance(value, str) and value == literal
    if isinstance(literal, (int, float)):
        return (
            value is not True
            and value is not False
            and isinstance(value, (int, float))
            and value == literal
        )
    if isinstance(literal, tuple):
        if not isinstance(value, (list, tuple)) or len(value) != len(literal):
            return False
        return all(_deep_equal(item, want) for item, want in zip(value, literal, strict=False))
    if not isinstance(value, Mapping) or len(value) != len(literal):
        return False
    return all(_deep_equal(value.get(key, _MISSING), want) for key, want in literal.items())


_VERSION_STRIP = re.compile(r"^v|\+[^\n\r\u2028\u2029]*\Z")
_VERSION_SPLIT = re.compile(r"[-.]")
_VERSION_CACHE: dict[str, str] = {}
_VERSION_CACHE_SIZE = 4096  # entries; the cache is cleared when full
_VERSION_CACHE_MAX_LENGTH = 64  # longer attribute strings are padded every time, never kept


def _padded_version(value: Any) -> str:
    """GrowthBook's paddedVersionString: a string that sorts like the version it encodes."""
    if value.__class__ is str:
        cached = _VERSION_CACHE.get(value)
        if cached is not None:
            return cached
    key = value if value.__class__ is str and len(value) <= _VERSION_CACHE_MAX_LENGTH else None
    if value is not True and value is not False and isinstance(value, (int, float)):
        value = _js_number_to_string(value)
    if not isinstance(value, str) or not value:
        value = "0"
    parts = _VERSION_SPLIT.split(_VERSION_STRIP.sub("", value))
    if len(parts) == 3:
        parts.append("~")
    padded = "-".join(
        part.rjust(5) if part.isascii() and part.isdigit() else part for part in parts
    )
    if key is not None:
        if len(_VERSION_CACHE) >= _VERSION_CACHE_SIZE:
            _VERSION_CACHE.clear()
        _VERSION_CACHE[key] = padded
    return padded


# ---------------------------------------------------------------------------------------------
# Combinators
# ---------------------------------------------------------------------------------------------


def _always_true(_value: Any) -> bool:
    return True


def _always_false(_value: Any) -> bool:
    return False


def _all_of(tests: Sequence[_Pred]) -> _Pred:
    """A test passing when every one of `tests` passes (unrolled for the common small counts)."""
    if not tests:
        return _always_true
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests

        def all_of_2(value: Any) -> bool:
            return first(value) and second(value)

        return all_of_2
    if len(tests) == 3:
        first, second, third = tests

        def all_of_3(value: Any) -> bool:
            return first(value) and second(value) and third(value)

        return all_of_3
    frozen = tuple(tests)

    def all_of(value: Any) -> bool:
        for test in frozen:  # noqa: SIM110 (a loop allocates no generator)
            if not test(value):
                return False
        return True

    return all_of


def _any_of(tests: Sequence[_Pred]) -> _Pred:
    """A test passing when one of `tests` passes; like GrowthBook's $or, true when empty."""
    if not tests:
        return _always_true
    if len(tests) == 1:
        return tests[0]
    frozen = tuple(tests)

    def any_of(value: Any) -> bool:
        for test in frozen:  # noqa: SIM110 (a loop allocates no generator)
            if test(value):
                return True
        return False

    return any_of


def _negate(test: _Pred) -> _Pred:
    def negated(value: Any) -> bool:
        return not test(value)

    return negated


def _join(field: str, part: str) -> str:
    return f"{field}.{part}" if field else part


# ---------------------------------------------------------------------------------------------
# Documents: paths and logical operators
# ---------------------------------------------------------------------------------------------


def _step(container: Any, part: str) -> Any:
    """One path step into anything but a dict: mappings, lists (index or length), else null."""
    if isinstance(container, Mapping):
        return container.get(part)
    if isinstance(container, (list, tuple)):
        if part == "length":
            return len(container)
        if part.isascii() and part.isdigit() and (part == "0" or part[0] != "0"):
            index = int(part)
            return container[index] if index < len(container) else None
    return None


def _compile_path(path: str, test: _Pred) -> _Pred:
    """Apply `test` to the value at dotted `path` of a document (null when absent)."""
    parts = tuple(path.split("."))
    if len(parts) == 1:
        key = parts[0]

        def at_key(document: Any) -> bool:
            if document.__class__ is dict:
                return test(document.get(key))
            return test(_step(document, key))

        return at_key
    if len(parts) == 2:
        outer, inner = parts

        def at_path_2(document: Any) -> bool:
            value = document.get(outer) if document.__class__ is dict else _step(document, outer)
            if value.__class__ is dict:
                return test(value.get(inner))
            if value is None:
                return test(None)
            return test(_step(value, inner))

        return at_path_2

    def at_path(document: Any) -> bool:
        value = document
        for part in parts:
            if value.__class__ is dict:
                value = value.get(part)
            elif value is None:
                break
            else:
                value = _step(value, part)
        return test(value)

    return at_path


def _compile_document(condition: Any, field: str, env: _Env) -> _Pred:
    """Compile a condition (paths and logical operators) into a test of a document."""
    return _all_of(_document_tests(condition, field, env))


def _document_tests(condition: Any, field: str, env: _Env) -> list[_Pred]:
    """One document test per key of a condition, all of which must pass."""
    if not isinstance(condition, Mapping):
        raise env.error(f"a condition must be a mapping, got {_json_type(condition)}", field)
    tests: list[_Pred] = []
    for key, operand in condition.items():
        if not isinstance(key, str):
            raise env.error(f"condition keys must be strings, got {key!r}", field)
        where = _join(field, key)
        logical = _LOGICAL_OPERATORS.get(key)
        if logical is not None:
            tests.append(logical(operand, where, env))
        else:
            tests.append(_compile_path(key, _compile_value(operand, where, env)))
    return tests


def _compile_condition_list(operand: Any, field: str, env: _Env) -> list[_Pred]:
    if not isinstance(operand, (list, tuple)):
        raise env.error(f"expected a list of conditions, got {_json_type(operand)}", field)
    return [_compile_document(item, f"{field}[{i}]", env) for i, item in enumerate(operand)]


def _compile_and(operand: Any, field: str, env: _Env) -> _Pred:
    return _all_of(_compile_condition_list(operand, field, env))


def _compile_or(operand: Any, field: str, env: _Env) -> _Pred:
    return _any_of(_compile_condition_list(operand, field, env))


def _compile_nor(operand: Any, field: str, env: _Env) -> _Pred:
    tests = _compile_condition_list(operand, field, env)
    # GrowthBook negates $or, and an empty $or is true: an empty $nor matches nothing.
    return _negate(_any_of(tests)) if tests else _always_false


def _compile_not_document(operand: Any, field: str, env: _Env) -> _Pred:
    return _negate(_compile_document(operand, field, env))


_LOGICAL_OPERATORS: dict[str, _OperatorCompiler] = {
    "$and": _compile_and,
    "$or": _compile_or,
    "$nor": _compile_nor,
    "$not": _compile_not_document,
}


# ---------------------------------------------------------------------------------------------
# Values: plain values and operator mappings
# ---------------------------------------------------------------------------------------------


def _is_operator_mapping(value: Mapping[Any, Any]) -> bool:
    return bool(value) and all(isinstance(key, str) and key.startswith("$") for key in value)


def _freeze_literal(value: Any, field: str, env: _Env) -> Any:
    """A private copy of a JSON literal (lists become tuples), rejecting non-JSON values."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_freeze_literal(item, f"{field}[{i}]", env) for i, item in enumerate(value))
    if isinstance(value, Mapping):
        frozen: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise env.error(f"object keys must be strings, got {key!r}", field)
            frozen[key] = _freeze_literal(item, _join(field, key), env)
        return frozen
    raise env.error(f"unsupported value of type {type(value).__name__}", field)


def _compile_string_equals(expected: str, *, insensitive: bool = False) -> _Pred:
    if insensitive:
        folded = expected.lower()

        def string_equals_folded(value: Any) -> bool:
            if value.__class__ is str:
                return value.lower() == folded
            return _js_string(value).lower() == folded

        return string_equals_folded

    def string_equals(value: Any) -> bool:
        if value.__class__ is str:
            return value == expected
        return _js_string(value) == expected

    return string_equals


def _compile_number_equals(expected: float) -> _Pred:
    def number_equals(value: Any) -> bool:
        cls = value.__class__
        if cls is int or cls is float:
            return value == expected
        return _js_number(value) == expected

    return number_equals


def _compile_truthiness(expected: bool) -> _Pred:
    def truthiness(value: Any) -> bool:
        return value is not None and _js_truthy(value) is expected

    return truthiness


def _is_null(value: Any) -> bool:
    return value is None


def _compile_value(operand: Any, field: str, env: _Env, *, insensitive: bool = False) -> _Pred:
    """Compile what a path maps to (a plain value or an operator mapping) into a value test."""
    if isinstance(operand, str):
        return _compile_string_equals(str(operand), insensitive=insensitive)
    if operand is True or operand is False:
        return _compile_truthiness(operand)
    if isinstance(operand, (int, float)):
        return _compile_number_equals(_js_number(operand))
    if operand is None:
        return _is_null
    if isinstance(operand, Mapping) and _is_operator_mapping(operand):
        tests: list[_Pred] = []
        for name, argument in operand.items():
            where = _join(field, name)
            compile_operator = _VALUE_OPERATORS.get(name)
            if compile_operator is None:
                raise env.error(
                    f"unknown operator {name!r} (known: {', '.join(sorted(_VALUE_OPERATORS))})",
                    where,
                )
            tests.append(compile_operator(argument, where, env))
        return _all_of(tests)
    literal = _freeze_literal(operand, field, env)

    def equals_literal(value: Any) -> bool:
        return _deep_equal(value, literal)

    return equals_literal


def _require_scalar(operand: Any, field: str, env: _Env, what: str) -> None:
    if not (operand is None or isinstance(operand, (bool, int, float, str))):
        raise env.error(
            f"{what} needs a string, number, boolean or null, got {_json_type(operand)}", field
        )


def _operator_name(field: str) -> str:
    return field.rpartition(".")[2]


# -- equality ---------------------------------------------------------------------------------


def _compile_strict_equals(operand: Any, field: str, env: _Env) -> _Pred:
    """JavaScript ``===`` against a scalar: same type and value."""
    _require_scalar(operand, field, env, _operator_name(field))
    if operand is None:
        return _is_null
    if operand is True or operand is False:
        flag = bool(operand)

        def is_flag(value: Any) -> bool:
            return value is flag

        return is_flag
    if isinstance(operand, str):
        text = str(operand)

        def is_text(value: Any) -> bool:
            return isinstance(value, str) and value == text

        return is_text
    number = operand

    def is_number(value: Any) -> bool:
        cls = value.__class__
        if cls is int or cls is float:
            return value == number
        return (
            value is not True
            and value is not False
            and isinstance(value, (int, float))
            and value == number
        )

    return is_number


def _compile_eq(operand: Any, field: str, env: _Env) -> _Pred:
    return _compile_strict_equals(operand, field, env)


def _compile_ne(operand: Any, field: str, env: _Env) -> _Pred:
    return _negate(_compile_strict_equals(operand, field, env))


# -- relational -------------------------------------------------------------------------------


def _relational(compare: Callable[[Any, Any], bool]) -> _OperatorCompiler:
    """JavaScript ``<``-family comparison: string with string, otherwise number with number."""

    def compile_relational(operand: Any, field: str, env: _Env) -> _Pred:
        _require_scalar(operand, field, env, _operator_name(field))
        if isinstance(operand, str):
            text = str(operand)
            text_number = _string_to_number(text)

            def against_text(value: Any) -> bool:
                if value.__class__ is str:
                    return compare(value, text)
                primitive = _js_primitive(value)
                if isinstance(primitive, str):
                    return compare(primitive, text)
                return compare(_js_number(primitive), text_number)

            return against_text
        number = _js_number(operand)

        def against_number(value: Any) -> bool:
            cls = value.__class__
            if cls is int or cls is float:
                return compare(value, number)
            return compare(_js_number(value), number)

        return against_number

    return compile_relational


# -- membership -------------------------------------------------------------------------------


def _compile_membership(values: Any, field: str, env: _Env, *, insensitive: bool) -> _Pred:
    """GrowthBook's isIn: the value is one of `values`, or (an array) shares an item with them.

    Items compare like JavaScript's ``includes``: same type and value, NaN equal to NaN.
    """
    if not isinstance(values, (list, tuple)):
        raise env.error(
            f"{_operator_name(field)} needs a list of values, got {_json_type(values)}", field
        )
    texts: set[str] = set()
    numbers: set[float] = set()
    flags: set[bool] = set()
    has_null = has_nan = False
    for i, item in enumerate(values):
        if item is None:
            has_null = True
        elif item is True or item is False:
            flags.add(bool(item))
        elif isinstance(item, (int, float)):
            if isinstance(item, float) and math.isnan(item):
                has_nan = True
            else:
                numbers.add(item)
        elif isinstance(item, str):
            texts.add(str(item).lower() if insensitive else str(item))
        else:
            raise env.error(
                f"list items must be strings, numbers, booleans or null, got "
                f"{_json_type(item)} at index {i}",
                field,
            )
    strings = frozenset(texts)
    frozen_numbers = frozenset(numbers)
    frozen_flags = frozenset(flags)

    def is_member(item: Any) -> bool:
        if isinstance(item, str):
            return (item.lower() if insensitive else item) in strings
        if item is None:
            return has_null
        if item is True or item is False:
            return item in frozen_flags
        if isinstance(item, (int, float)):
            return item in frozen_numbers or (
                has_nan and isinstance(item, float) and math.isnan(item)
            )
        return False

    if insensitive:

        def in_values_folded(value: Any) -> bool:
            if value.__class__ is str:
                return value.lower() in strings
            if isinstance(value, (list, tuple)):
                for item in value:  # noqa: SIM110 (a loop allocates no generator)
                    if is_member(item):
                        return True
                return False
            return is_member(value)

        return in_values_folded

    def in_values(value: Any) -> bool:
        if value.__class__ is str:
            return value in strings
        if isinstance(value, (list, tuple)):
            for item in value:  # noqa: SIM110 (a loop allocates no generator)
                if is_member(item):
                    return True
            return False
        return is_member(value)

    return in_values


def _compile_in(operand: Any, field: str, env: _Env) -> _Pred:
    return _compile_membership(operand, field, env, insensitive=False)


def _compile_nin(operand: Any, field: str, env: _Env) -> _Pred:
    return _negate(_compile_membership(operand, field, env, insensitive=False))


def _compile_ini(operand: Any, field: str, env: _Env) -> _Pred:
    return _compile_membership(operand, field, env, insensitive=True)


def _compile_nini(operand: Any, field: str, env: _Env) -> _Pred:
    return _negate(_compile_membership(operand, field, env, insensitive=True))


def _saved_group(operand: Any, field: str, env: _Env) -> _Pred:
    if not isinstance(operand, str):
        raise env.error(f"expected a saved group id (a string), got {_json_type(operand)}", field)
    members = env.saved_groups.get(operand)
    return _compile_membership([] if members is None else members, field, env, insensitive=False)


def _compile_in_group(operand: Any, field: str, env: _Env) -> _Pred:
    return _saved_group(operand, field, env)


def _compile_not_in_group(operand: Any, field: str, env: _Env) -> _Pred:
    return _negate(_saved_group(operand, field, env))


def _all_present(insensitive: bool) -> _OperatorCompiler:
    """$all / $alli: an array holding, for each listed condition value, an item matching it."""

    def compile_all(operand: Any, field: str, env: _Env) -> _Pred:
        if not isinstance(operand, (list, tuple)):
            raise env.error(
                f"{_operator_name(field)} needs a list of values, got {_json_type(operand)}", field
            )
        tests = tuple(
            _compile_value(item, f"{field}[{i}]", env, insensitive=insensitive)
            for i, item in enumerate(operand)
        )

        def holds_all(value: Any) -> bool:
            if not isinstance(value, (list, tuple)):
                return False
            for test in tests:
                for item in value:
                    if test(item):
                        break
                else:
                    return False
            return True

        return holds_all

    return compile_all


def _compile_elem_match(operand: Any, field: str, env: _Env) -> _Pred:
    if not isinstance(operand, Mapping):
        raise env.error(
            f"$elemMatch needs a condition (a mapping), got {_json_type(operand)}", field
        )
    if _is_operator_mapping(operand):
        test = _compile_value(operand, field, env)
    else:
        test = _compile_document(operand, field, env)

    def some_item_matches(value: Any) -> bool:
        if not isinstance(value, (list, tuple)):
            return False
        for item in value:  # noqa: SIM110 (a loop allocates no generator)
            if _js_truthy(item) and test(item):
                return True
        return False

    return some_item_matches


def _compile_size(operand: Any, field: str, env: _Env) -> _Pred:
    test = _compile_value(operand, field, env)

    def size_matches(value: Any) -> bool:
        return isinstance(value, (list, tuple)) and test(len(value))

    return size_matches


# -- presence, type, negation -----------------------------------------------------------------


def _is_present(value: Any) -> bool:
    return value is not None


def _compile_exists(operand: Any, field: str, env: _Env) -> _Pred:
    if not isinstance(operand, (bool, int, float)):
        raise env.error(f"$exists needs true or false, got {_json_type(operand)}", field)
    return _is_present if _js_truthy(operand) else _is_null


_TYPE_NAMES = frozenset({"string", "number", "boolean", "null", "array", "object"})


def _compile_type(operand: Any, field: str, env: _Env) -> _Pred:
    if not isinstance(operand, str) or operand not in _TYPE_NAMES:
        raise env.error(
            f"$type needs one of {', '.join(sorted(_TYPE_NAMES))}, got {operand!r}", field
        )
    name = str(operand)

    def has_type(value: Any) -> bool:
        return _json_type(value) == name

    return has_type


def _compile_not_value(operand: Any, field: str, env: _Env) -> _Pred:
    return _negate(_compile_value(operand, field, env))


# -- regular expressions ----------------------------------------------------------------------


def _regex(flags: int) -> _OperatorCompiler:
    def compile_regex(operand: Any, field: str, env: _Env) -> _Pred:
        if not isinstance(operand, str):
            raise env.error(
                f"{_operator_name(field)} needs a pattern (a string), got {_json_type(operand)}",
                field,
            )
        try:
            pattern = re.compile(operand, flags)
        except (re.error, OverflowError, RecursionError) as error:
            raise env.error(f"invalid regular expression {operand!r}: {error}", field) from None
        search = pattern.search

        def searches(value: Any) -> bool:
            if value.__class__ is str:
                return search(value) is not None
            return search(_js_string(value)) is not None

        return searches

    return compile_regex


# -- versions ---------------------------------------------------------------------------------


def _version(compare: Callable[[str, str], bool]) -> _OperatorCompiler:
    def compile_version(operand: Any, field: str, env: _Env) -> _Pred:
        if operand is True or operand is False or not isinstance(operand, (str, int, float)):
            raise env.error(
                f"{_operator_name(field)} needs a version (a string), got {_json_type(operand)}",
                field,
            )
        target = _padded_version(operand)

        def compares(value: Any) -> bool:
            return compare(_padded_version(value), target)

        return compares

    return compile_version


_VALUE_OPERATORS: dict[str, _OperatorCompiler] = {
    "$eq": _compile_eq,
    "$ne": _compile_ne,
    "$gt": _relational(operator.gt),
    "$gte": _relational(operator.ge),
    "$lt": _relational(operator.lt),
    "$lte": _relational(operator.le),
    "$in": _compile_in,
    "$nin": _compile_nin,
    "$ini": _compile_ini,
    "$nini": _compile_nini,
    "$all": _all_present(insensitive=False),
    "$alli": _all_present(insensitive=True),
    "$elemMatch": _compile_elem_match,
    "$size": _compile_size,
    "$exists": _compile_exists,
    "$type": _compile_type,
    "$not": _compile_not_value,
    "$regex": _regex(0),
    "$regexi": _regex(re.IGNORECASE),
    "$veq": _version(operator.eq),
    "$vne": _version(operator.ne),
    "$vgt": _version(operator.gt),
    "$vgte": _version(operator.ge),
    "$vlt": _version(operator.lt),
    "$vlte": _version(operator.le),
    "$inGroup": _compile_in_group,
    "$notInGroup": _compile_not_in_group,
}


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def compile_condition(
    condition: Mapping[str, Any],
    *,
    saved_groups: Mapping[str, Sequence[Any]] | None = None,
    source: str = "",
) -> Callable[[Mapping[str, Any]], bool]:
    """Compile a targeting condition into a fast predicate over an attribute mapping.

    `saved_groups` maps a group id to its members, for ``$inGroup``/``$notInGroup``; it is read
    now, not when evaluating. `source` names the config file in errors. Raises `ConfigError`
    (``field`` = the offending operator's path) for an invalid condition. The returned predicate
    never raises: it answers False for attributes that do not match, whatever they contain.
    """
    groups: Mapping[str, Any] = {} if saved_groups is None else saved_groups
    if not isinstance(groups, Mapping):
        raise ConfigError(
            "saved groups must be a mapping of group id to members",
            source=source,
            field="saved_groups",
        )
    env = _Env(groups, source)
    try:
        tests = _document_tests(condition, "", env)
    except RecursionError:
        raise env.error("the condition is nested too deeply", "") from None
    return _guarded(tests)


def _guarded(tests: Sequence[_Pred]) -> Callable[[Mapping[str, Any]], bool]:
    """The top-level predicate: all of `tests`, False instead of any exception.

    JSON-like attributes never raise; the guard is for hostile ones (a mapping whose methods
    raise, a list containing itself). The top-level conjunction is unrolled here rather than
    wrapped, to save a call per evaluation.
    """
    if len(tests) == 1:
        (first,) = tests

        def matches_1(attributes: Mapping[str, Any]) -> bool:
            try:
                return first(attributes)
            except Exception:  # noqa: BLE001 (the contract: evaluating never raises)
                return False

        return matches_1
    if len(tests) == 2:
        first, second = tests

        def matches_2(attributes: Mapping[str, Any]) -> bool:
            try:
                return first(attributes) and second(attributes)
            except Exception:  # noqa: BLE001 (the contract: evaluating never raises)
                return False

        return matches_2
    if len(tests) == 3:
        first, second, third = tests

        def matches_3(attributes: Mapping[str, Any]) -> bool:
            try:
                return first(attributes) and second(attributes) and third(attributes)
            except Exception:  # noqa: BLE001 (the contract: evaluating never raises)
                return False

        return matches_3
    test = _all_of(tests)  # always true when there are no tests

    def matches(attributes: Mapping[str, Any]) -> bool:
        try:
            return test(attributes)
        except Exception:  # noqa: BLE001 (the contract: evaluating never raises)
            return False

    return matches
