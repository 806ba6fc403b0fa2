"""Targeting conditions: GrowthBook conformance, fail-fast compiling, never-raising evaluation."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personalize_sdk._exceptions import ConfigError
from personalize_sdk.conditions import compile_condition

CASES_FILE = Path(__file__).parent / "conformance" / "growthbook-cases.json"
EVAL_CONDITION_CASES: list[list[Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))[
    "evalCondition"
]

# tests/conformance/README.md: three core cases give an invalid condition (an unknown operator, an
# invalid regex) and expect false; compiling them raises ConfigError, which counts as a match.
README_INVALID_CONDITION_CASES = frozenset(
    {"unknown operator - pass", "$regex invalid - pass", "$regex invalid - fail"}
)
# Four more cases give $in/$nin/$ini/$nini a non-list operand and expect false. Such an operand is
# a wrong operand type, which compile_condition rejects too (the README's count predates that rule).
NON_LIST_OPERAND_CASES = frozenset(
    {"$in - not array", "$nin - not array", "$ini - not array", "$nini - not array"}
)
CONFIG_ERROR_CASES = README_INVALID_CONDITION_CASES | NON_LIST_OPERAND_CASES


def _unpack(case: list[Any]) -> tuple[str, Any, Any, bool, dict[str, Any] | None]:
    name, condition, attributes, expected = case[:4]
    saved_groups = case[4] if len(case) > 4 else None
    return name, condition, attributes, expected, saved_groups


# -- conformance --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", EVAL_CONDITION_CASES, ids=[case[0] for case in EVAL_CONDITION_CASES]
)
def test_growthbook_eval_condition_case(case: list[Any]) -> None:
    name, condition, attributes, expected, saved_groups = _unpack(case)
    try:
        matches = compile_condition(condition, saved_groups=saved_groups)
    except ConfigError:
        # Failing fast counts as "false", and only for the known invalid conditions.
        assert expected is False, f"{name}: compiling raised but the case expects true"
        assert name in CONFIG_ERROR_CASES, f"{name}: unexpected ConfigError"
        return
    assert name not in CONFIG_ERROR_CASES, f"{name}: should have raised ConfigError"
    assert matches(attributes) is expected


def test_exactly_the_invalid_conformance_conditions_raise() -> None:
    assert len(README_INVALID_CONDITION_CASES) == 3  # what tests/conformance/README.md states
    raised = []
    for case in EVAL_CONDITION_CASES:
        name, condition, _attributes, expected, saved_groups = _unpack(case)
        try:
            compile_condition(condition, saved_groups=saved_groups)
        except ConfigError:
            assert expected is False
            raised.append(name)
    assert sorted(raised) == sorted(CONFIG_ERROR_CASES)
    assert len(raised) == 7


def test_conformance_file_has_the_expected_shape() -> None:
    assert len(EVAL_CONDITION_CASES) == 248
    assert sum(1 for case in EVAL_CONDITION_CASES if len(case) == 5) == 8  # saved-group cases


# -- ConfigError names the offending field ------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "field", "message"),
    [
        ({"name": {"$regx": "hello"}}, "name.$regx", "unknown operator '$regx'"),
        ({"traits.country": {"$in": "IN"}}, "traits.country.$in", "needs a list"),
        ({"traits.country": {"$nin": {"a": 1}}}, "traits.country.$nin", "needs a list"),
        ({"tags": {"$in": [["nested"]]}}, "tags.$in", "at index 0"),
        ({"ua": {"$regex": "(unclosed"}}, "ua.$regex", "invalid regular expression"),
        ({"ua": {"$regexi": 5}}, "ua.$regexi", "needs a pattern"),
        ({"$or": [{"a": 1}, {"b": {"$bogus": 1}}]}, "$or[1].b.$bogus", "unknown operator"),
        ({"$and": {"a": 1}}, "$and", "list of conditions"),
        ({"$or": ["a"]}, "$or[0]", "must be a mapping"),
        ({"$not": [1]}, "$not", "must be a mapping"),
        ({"h": {"$elemMatch": {"n": {"$regex": "["}}}}, "h.$elemMatch.n.$regex", "invalid"),
        ({"h": {"$elemMatch": 3}}, "h.$elemMatch", "needs a condition"),
        ({"a": {"$type": "integer"}}, "a.$type", "$type needs one of"),
        ({"a": {"$exists": "yes"}}, "a.$exists", "true or false"),
        ({"a": {"$eq": [1, 2]}}, "a.$eq", "needs a string, number"),
        ({"a": {"$gt": {"x": 1}}}, "a.$gt", "needs a string, number"),
        ({"a": {"$all": "x"}}, "a.$all", "needs a list"),
        ({"a": {"$size": {"$gt": "2", "$nope": 1}}}, "a.$size.$nope", "unknown operator"),
        ({"v": {"$vgt": ["1.0.0"]}}, "v.$vgt", "needs a version"),
        ({"id": {"$inGroup": 7}}, "id.$inGroup", "saved group id"),
        ({"a": {"$or": [{"b": 1}]}}, "a.$or", "unknown operator"),
        ({"a": [1, {2, 3}]}, "a[1]", "unsupported value"),
        ({1: "x"}, "", "keys must be strings"),
    ],
)
def test_invalid_condition_raises_config_error_naming_the_field(
    condition: Any, field: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        compile_condition(condition)
    assert raised.value.field == field
    assert message in str(raised.value)


@pytest.mark.parametrize("condition", [None, [], "a == 1", 5, [{"a": 1}]])
def test_a_condition_that_is_not_a_mapping_is_rejected(condition: Any) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        compile_condition(condition)


def test_config_error_carries_the_source() -> None:
    with pytest.raises(ConfigError) as raised:
        compile_condition({"a": {"$in": 1}}, source="shop.toml")
    assert raised.value.source == "shop.toml"
    assert str(raised.value).startswith("shop.toml a.$in: ")


def test_a_pathologically_deep_condition_is_a_config_error() -> None:
    condition: dict[str, Any] = {"a": 1}
    for _ in range(5000):
        condition = {"$not": condition}
    with pytest.raises(ConfigError, match="nested too deeply"):
        compile_condition(condition)


# -- semantics beyond the conformance cases -----------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        # Plain strings compare with the attribute's JavaScript string form.
        ({"n": "10"}, {"n": 10}, True),
        ({"n": "1.5"}, {"n": 1.5}, True),
        ({"n": "100"}, {"n": 100.0}, True),
        ({"n": "1e+21"}, {"n": 1e21}, True),
        ({"n": "1e-7"}, {"n": 1e-7}, True),
        ({"n": "0.000001"}, {"n": 1e-6}, True),
        ({"b": "true"}, {"b": True}, True),
        ({"t": "a,b"}, {"t": ["a", "b"]}, True),
        ({"x": "null"}, {}, True),
        ({"n": "10"}, {"n": 11}, False),
        # Plain numbers compare with the attribute's JavaScript numeric form.
        ({"n": 8}, {"n": "8"}, True),
        ({"n": 8}, {"n": " 8\n"}, True),
        ({"n": 16}, {"n": "0x10"}, True),
        ({"n": 0}, {}, True),
        ({"n": 0}, {"n": ""}, True),
        ({"n": 1}, {"n": True}, True),
        ({"n": 8}, {"n": "8 apples"}, False),
        ({"n": 8}, {"n": {"v": 8}}, False),
        # Plain booleans test truthiness, never null.
        ({"f": True}, {"f": "yes"}, True),
        ({"f": True}, {"f": []}, True),
        ({"f": False}, {"f": 0}, True),
        ({"f": False}, {"f": None}, False),
        ({"f": True}, {"f": math.nan}, False),
        # Lists and objects need deep equality; object key order does not matter.
        ({"o": {"a": 1, "b": [1, 2]}}, {"o": {"b": [1, 2], "a": 1}}, True),
        ({"o": {"a": 1}}, {"o": {"a": True}}, False),
        ({"o": {}}, {"o": {}}, True),
        ({"o": {}}, {"o": {"a": 1}}, False),
        ({"l": [1, None]}, {"l": (1, None)}, True),
        # $eq is strict: no coercion, booleans are not numbers.
        ({"n": {"$eq": 1}}, {"n": 1.0}, True),
        ({"n": {"$eq": 1}}, {"n": True}, False),
        ({"n": {"$eq": "1"}}, {"n": 1}, False),
        ({"n": {"$ne": None}}, {}, False),
        # Relational: strings with strings, everything else as numbers.
        ({"n": {"$gt": 5}}, {"n": "8"}, True),
        ({"n": {"$gt": "5"}}, {"n": "10"}, False),
        ({"n": {"$lt": 1}}, {"n": None}, True),
        ({"n": {"$gte": 1}}, {"n": True}, True),
        ({"n": {"$gt": 0}}, {"n": "abc"}, False),
        ({"n": {"$lt": 0}}, {"n": "abc"}, False),
        ({"n": {"$gt": "a"}}, {"n": ["b"]}, True),
        ({"n": {"$gt": 2}}, {"n": [3]}, True),
        ({"n": {"$gt": 2}}, {"n": {"a": 3}}, False),
        ({"n": {"$gte": 2**70}}, {"n": 2**71}, True),
        # Membership: type-strict, array attributes intersect.
        ({"n": {"$in": [1, 2]}}, {"n": True}, False),
        ({"n": {"$in": [True]}}, {"n": 1}, False),
        ({"n": {"$in": [1]}}, {"n": 1.0}, True),
        ({"n": {"$in": [None]}}, {}, True),
        ({"n": {"$in": ["1"]}}, {"n": 1}, False),
        ({"t": {"$in": ["a"]}}, {"t": [["a"]]}, False),
        ({"t": {"$nin": []}}, {"t": "a"}, True),
        ({"t": {"$ini": ["ÉTÉ"]}}, {"t": "été"}, True),
        # Paths: list indexes, length, non-object steps read as null.
        ({"tags.0": "a"}, {"tags": ["a", "b"]}, True),
        ({"tags.1": "b"}, {"tags": ["a", "b"]}, True),
        ({"tags.2": {"$exists": False}}, {"tags": ["a", "b"]}, True),
        ({"tags.01": {"$exists": False}}, {"tags": ["a", "b"]}, True),
        ({"tags.length": 2}, {"tags": ["a", "b"]}, True),
        ({"a.b.c.d": 1}, {"a": {"b": {"c": {"d": 1}}}}, True),
        ({"a.b.c.d": {"$exists": False}}, {"a": {"b": "str"}}, True),
        ({"a.b": 1}, {"a": MappingProxyType({"b": 1})}, True),
        ({"$groups": {"$size": 1}}, {"$groups": ["x"]}, True),
        # $elemMatch skips falsy items; a non-operator condition applies to object items.
        ({"l": {"$elemMatch": {"$lt": 1}}}, {"l": [0, "", None, False, 5]}, False),
        ({"l": {"$elemMatch": {"k": 1}}}, {"l": [{"k": 2}, {"k": 1}]}, True),
        ({"l": {"$elemMatch": {}}}, {"l": [0, {}]}, True),
        # $all, $size, $exists, $type, $not, $regex on non-strings.
        ({"l": {"$all": []}}, {"l": []}, True),
        ({"l": {"$all": [1, {"$gt": 5}]}}, {"l": ["1", 9]}, True),
        ({"l": {"$size": {"$gte": 2, "$lt": 4}}}, {"l": [1, 2, 3]}, True),
        ({"l": {"$exists": True}}, {"l": False}, True),
        ({"l": {"$type": "array"}}, {"l": (1, 2)}, True),
        ({"l": {"$type": "number"}}, {"l": True}, False),
        ({"l": {"$type": "object"}}, {"l": MappingProxyType({})}, True),
        ({"l": {"$not": {"$in": [1]}}}, {"l": 2}, True),
        ({"n": {"$regex": "^1[0-9]$"}}, {"n": 12}, True),
        ({"n": {"$regex": "^null$"}}, {}, True),
        ({"n": {"$regexi": "^ABC"}}, {"n": "abcdef"}, True),
        # Logical operators: an empty $or is true, so an empty $nor is false.
        ({"$nor": []}, {}, False),
        ({"$or": [{"a": 1}], "$nor": [{"b": 1}]}, {"a": 1, "b": 2}, True),
        # Versions: numbers are stringified, junk reads as "0".
        ({"v": {"$vgt": "1.9.0"}}, {"v": "1.10.0"}, True),
        ({"v": {"$veq": 2}}, {"v": "2"}, True),
        ({"v": {"$vlt": "0.0.1"}}, {"v": None}, True),
        ({"v": {"$vlt": "0.0.1"}}, {"v": {"a": 1}}, True),
    ],
)
def test_semantics(condition: dict[str, Any], attributes: dict[str, Any], expected: bool) -> None:
    assert compile_condition(condition)(attributes) is expected


def test_saved_groups_are_read_when_compiling() -> None:
    groups = {"vip": ["u1", "u2"]}
    in_vip = compile_condition({"user_id": {"$inGroup": "vip"}}, saved_groups=groups)
    not_in_vip = compile_condition({"user_id": {"$notInGroup": "vip"}}, saved_groups=groups)
    groups["vip"].append("u3")
    assert in_vip({"user_id": "u1"}) is True
    assert in_vip({"user_id": "u3"}) is False
    assert not_in_vip({"user_id": "u3"}) is True
    assert compile_condition({"user_id": {"$inGroup": "vip"}})({"user_id": "u1"}) is False


def test_saved_groups_must_hold_scalars() -> None:
    with pytest.raises(ConfigError) as raised:
        compile_condition({"id": {"$inGroup": "g"}}, saved_groups={"g": [{"id": 1}]})
    assert raised.value.field == "id.$inGroup"


# -- compiled once: the condition is never consulted again --------------------------------------


def test_mutating_the_condition_after_compiling_changes_nothing() -> None:
    condition: dict[str, Any] = {
        "traits.country": {"$in": ["IN", "LK"]},
        "tags": ["a", "b"],
        "$or": [{"orders.count": {"$gte": 2}}, {"known": True}],
        "ua": {"$regex": "Mobile"},
    }
    matches = compile_condition(condition)
    attributes = {
        "traits": {"country": "IN"},
        "tags": ["a", "b"],
        "orders": {"count": 3},
        "ua": "Mobile Safari",
    }
    assert matches(attributes) is True
    condition["traits.country"]["$in"][:] = ["US"]
    condition["tags"].append("c")
    condition["$or"][0]["orders.count"]["$gte"] = 100
    condition["$or"].clear()
    condition["ua"]["$regex"] = "Desktop"
    condition["extra"] = {"$exists": True}
    assert matches(attributes) is True
    assert matches(dict(attributes, traits={"country": "US"})) is False


class _Tripwire(Mapping[str, Any]):
    """A read-only condition mapping that records every read once armed."""

    reads: list[str]
    armed = False

    def __init__(self, data: dict[str, Any], reads: list[str]) -> None:
        self._data = {k: _Tripwire(v, reads) if isinstance(v, dict) else v for k, v in data.items()}
        self.reads = reads

    def _note(self, what: str) -> None:
        if _Tripwire.armed:
            self.reads.append(what)

    def __getitem__(self, key: str) -> Any:
        self._note(f"getitem {key}")
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        self._note("iter")
        return iter(self._data)

    def __len__(self) -> int:
        self._note("len")
        return len(self._data)


def test_the_compiled_predicate_never_reads_the_condition() -> None:
    reads: list[str] = []
    condition = _Tripwire(
        {
            "traits.tier": "gold",
            "traits.country": {"$in": ["IN", "LK"]},
            "orders.count": {"$gte": 2, "$lt": 10},
            "$not": {"flags": {"$elemMatch": {"$eq": "fraud"}}},
        },
        reads,
    )
    matches = compile_condition(condition)
    _Tripwire.armed = True
    try:
        good = matches(
            {"traits": {"tier": "gold", "country": "LK"}, "orders": {"count": 2}, "flags": []}
        )
        bad = matches({"traits": {"tier": "gold", "country": "LK"}, "orders": {"count": 1}})
    finally:
        _Tripwire.armed = False
    assert (good, bad) == (True, False)
    assert reads == []


def test_regexes_are_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    matches = compile_condition({"ua": {"$regex": "Mobile|Tablet"}})

    def forbidden(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("re used while evaluating")

    monkeypatch.setattr(re, "compile", forbidden)
    monkeypatch.setattr(re, "search", forbidden)
    assert matches({"ua": "Android Mobile"}) is True
    assert matches({"ua": "Desktop"}) is False


# -- evaluating never raises ---------------------------------------------------------------------

NAMES = ["a", "b", "n", "v", "l", "o", "k", "tags", "traits", "country", "tier", "0", "length"]
KEYS = st.sampled_from([*NAMES, "$groups"]) | st.text(max_size=3)

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
    | st.sampled_from(["", "0", "8", " 12 ", "0x1f", "1e3", "Infinity", "gold", "IN", "1.2.3-rc.1"])
)


class _Opaque:
    """A non-JSON value whose comparison, hashing, truthiness and str() all blow up."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __lt__(self, other: object) -> bool:
        raise RuntimeError("lt")

    def __hash__(self) -> int:
        raise RuntimeError("hash")

    def __bool__(self) -> bool:
        raise RuntimeError("bool")

    def __str__(self) -> str:
        raise RuntimeError("str")

    def __repr__(self) -> str:  # for hypothesis' reports
        return "_Opaque()"


OPAQUE_LEAVES = (
    st.builds(object)
    | st.builds(_Opaque)
    | st.binary(max_size=3)
    | st.frozensets(st.integers(), max_size=2)
    | st.decimals(allow_nan=True)
    | st.complex_numbers()
)


def _nested(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.tuples(children, children)
            | st.dictionaries(KEYS, children, max_size=4)
        ),
        max_leaves=16,
    )


JSON_VALUES = _nested(JSON_SCALARS)
HOSTILE_VALUES = _nested(JSON_SCALARS | OPAQUE_LEAVES)
# Each attribute the conditions below address is present or not, independently.
HOSTILE_ATTRIBUTES = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys([*NAMES, "$groups"], OPAQUE_LEAVES | JSON_SCALARS | HOSTILE_VALUES),
)

# Every operator, plain values of every kind, and nested/dotted paths.
PROPERTY_CONDITIONS: list[dict[str, Any]] = [
    {},
    {"a": "x", "n": 8, "b": True, "o": None},
    {"a": False},
    {"l": [1, "a", None], "o": {"k": [True]}},
    {"n": {"$eq": 1}, "a": {"$ne": "x"}, "b": {"$eq": None}, "o": {"$ne": False}},
    {"n": {"$gt": 5, "$lte": "10"}, "a": {"$gte": "b", "$lt": True}},
    {"n": {"$lt": None}, "v": {"$gt": 1.5}},
    {"tags": {"$in": ["a", 1, True, None]}, "a": {"$nin": ["x", 2.5]}},
    {"tags": {"$ini": ["A", 0]}, "country": {"$nini": ["in", False]}},
    {"tags": {"$all": ["a", {"$gt": 1}]}, "l": {"$alli": ["X"]}},
    {"l": {"$elemMatch": {"$gt": 1}}, "o": {"$elemMatch": {"k": {"$exists": True}}}},
    {"l": {"$size": 2}, "tags": {"$size": {"$gte": 1}}},
    {"a": {"$exists": True}, "b": {"$exists": False}},
    {"a": {"$type": "string"}, "o": {"$type": "object"}, "l": {"$type": "array"}},
    {"a": {"$not": {"$regex": "^x"}}, "n": {"$regexi": "[0-9]+"}},
    {"v": {"$vgt": "1.2.3", "$vlte": "v2.0.0+b"}, "a": {"$veq": "1.0.0-rc.1", "$vne": "1"}},
    {"a": {"$inGroup": "g"}, "b": {"$notInGroup": "g"}},
    {"traits.country": "IN", "traits.tier": {"$in": ["gold"]}, "a.b.c.d": {"$exists": False}},
    {"tags.0": "a", "tags.length": {"$gt": 1}, "$groups": {"$size": 0}},
    {"$and": [{"a": 1}, {"$or": [{"b": 2}, {"n": {"$lt": 3}}]}], "$nor": [{"o": None}]},
    {"$not": {"a": {"$in": ["x"]}}, "$or": []},
]
COMPILED = [
    compile_condition(condition, saved_groups={"g": ["a", 1, None]})
    for condition in PROPERTY_CONDITIONS
]
NEGATED = [
    compile_condition({"$not": condition}, saved_groups={"g": ["a", 1, None]})
    for condition in PROPERTY_CONDITIONS
]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(attributes=HOSTILE_ATTRIBUTES | st.dictionaries(KEYS, HOSTILE_VALUES, max_size=8))
def test_evaluating_hostile_attributes_returns_a_bool(attributes: dict[str, Any]) -> None:
    for matches in COMPILED:
        assert isinstance(matches(attributes), bool)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(attributes=HOSTILE_ATTRIBUTES | st.dictionaries(KEYS, HOSTILE_VALUES, max_size=8))
def test_no_exception_is_swallowed_for_plain_containers(attributes: dict[str, Any]) -> None:
    # If evaluating a condition raised inside (and the safety net answered False), a condition and
    # its $not would both be False. Plain lists, tuples and dicts of any leaves never get there.
    for matches, negated in zip(COMPILED, NEGATED, strict=True):
        assert matches(attributes) is not negated(attributes)


@pytest.mark.slow
@given(attributes=JSON_VALUES | HOSTILE_VALUES)
def test_attributes_that_are_not_a_mapping_return_a_bool(attributes: Any) -> None:
    for matches in COMPILED:
        assert isinstance(matches(attributes), bool)


class _BrokenMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("getitem")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("iter")

    def __len__(self) -> int:
        raise RuntimeError("len")


class _BrokenClass:
    @property
    def __class__(self) -> type:  # type: ignore[override]
        raise RuntimeError("__class__")


def test_broken_attribute_objects_answer_false() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"a.b": 1}, {"a": _BrokenMapping()}),
        ({"a": {"$exists": True}}, _BrokenMapping()),
        ({"a": {"k": 1}}, {"a": _BrokenMapping()}),
        ({"a": "x"}, {"a": cyclic}),
        ({"a": {"$gt": 1}}, {"a": cyclic}),
        ({"a": {"$eq": "x"}}, {"a": _BrokenClass()}),
    ]
    for condition, attributes in cases:
        assert compile_condition(condition)(attributes) is False
