"""Shape plans: generated checks for recurring shapes must answer exactly as the generic walk."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from personalize_sdk import EventLimits, InvalidEvent
from personalize_sdk._shapes import PLAN_AFTER
from personalize_sdk._validation import validate_event
from personalize_sdk._walk import walk_mapping

PRODUCT_SHAPE = (
    "product_id",
    "name",
    "category",
    "brand",
    "price",
    "currency",
    "quantity",
    "tags",
    "products",
    "extra",
)
GOOD = {
    "product_id": "sku-1",
    "name": "Diver",
    "category": "Watches",
    "brand": "Acme",
    "price": 12.5,
    "currency": "EUR",
    "quantity": 2,
    "tags": ["a", 1],
    "products": [{"product_id": "p", "price": 1.0}],
    "extra": None,
}


def planned_limits() -> EventLimits:
    limits = EventLimits()
    for _ in range(PLAN_AFTER):
        walk_mapping(dict(GOOD), 1, limits, True)
    assert tuple(GOOD) in limits.shapes.ruled
    return limits


def outcome(mapping: dict, limits: EventLimits) -> tuple:
    try:
        return ("ok", walk_mapping(mapping, 1, limits, True))
    except InvalidEvent as error:
        return ("invalid", error.field, error.kind)


def test_a_shape_gets_a_plan_only_after_repeating():
    limits = EventLimits()
    for _ in range(PLAN_AFTER - 1):
        walk_mapping(dict(GOOD), 1, limits, True)
    assert tuple(GOOD) not in limits.shapes.ruled
    walk_mapping(dict(GOOD), 1, limits, True)
    assert tuple(GOOD) in limits.shapes.ruled


def test_a_planned_shape_answers_like_the_generic_walk_for_valid_data():
    assert outcome(dict(GOOD), planned_limits()) == outcome(dict(GOOD), EventLimits())


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["", "EUR", "eur", "x" * 300, "é", "\x01", "\ud800"]),
    st.lists(st.integers(), max_size=3),
    st.lists(
        st.fixed_dictionaries({"product_id": st.text(max_size=3), "price": st.floats()}), max_size=2
    ),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(object()),
    st.just(math.nan),
)


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries(dict.fromkeys(PRODUCT_SHAPE, values)))
def test_a_planned_shape_answers_like_the_generic_walk_for_any_values(mapping):
    generic = EventLimits()
    generic.shapes.passed = lambda *args: None  # type: ignore[method-assign]  # never plans
    assert outcome(dict(mapping), planned_limits()) == outcome(dict(mapping), generic)


def test_plans_are_per_limits():
    small = EventLimits(max_string_length=3)
    for _ in range(PLAN_AFTER):
        walk_mapping({"name": "abc"}, 1, small, True)
    assert ("name",) in small.shapes.ruled
    try:
        walk_mapping({"name": "abcd"}, 1, small, True)
    except InvalidEvent as error:
        assert (error.field, error.kind) == ("name", "too_long")
    else:
        raise AssertionError("a 4-character string passed a limit of 3")


def test_hostile_keys_are_only_ever_literals_in_generated_code():
    keys = ["a'b", 'c"d', "e\nf", "g\\h", "'); import os; os.system('x') #", "ünï"]
    limits = EventLimits()
    mapping = dict.fromkeys(keys, 1)
    for _ in range(PLAN_AFTER):
        walk_mapping(dict(mapping), 1, limits, False)
    assert tuple(keys) in limits.shapes.plain
    assert outcome({**mapping, keys[3]: "x"}, limits)[0] == "ok"
    assert outcome({**mapping, keys[4]: math.inf}, limits) == ("invalid", keys[4], "not_finite")


def test_a_plan_is_made_even_when_the_key_cache_was_cleared_meanwhile(monkeypatch):
    import personalize_sdk._walk as walk

    monkeypatch.setattr(walk, "_MAX_CACHED_KEYS", 2)  # every walk of GOOD clears it
    limits = EventLimits()
    for _ in range(PLAN_AFTER + 1):
        assert outcome(dict(GOOD), limits)[0] == "ok"
    assert tuple(GOOD) in limits.shapes.ruled
    assert outcome(dict(GOOD), limits) == outcome(dict(GOOD), EventLimits())


# -- whole product lists of one shape (`ShapeCache.items`) ----------------------------------------

ITEM = {"product_id": "sku-1", "price": 9.5, "position": 1}


def items_limits(**bounds) -> EventLimits:
    limits = EventLimits(**bounds)
    for _ in range(PLAN_AFTER):
        walk_mapping({"products": [dict(ITEM)]}, 1, limits, True)
    assert tuple(ITEM) in limits.shapes.items
    return limits


def never_planning(**bounds) -> EventLimits:
    limits = EventLimits(**bounds)
    limits.shapes.passed = lambda *args: None  # type: ignore[method-assign]
    return limits


def test_a_ruled_shape_gets_a_plan_for_lists_of_it_too():
    limits = items_limits()
    products = [{**ITEM, "product_id": f"sku-{n}", "position": n} for n in range(8)]
    assert outcome({"products": products}, limits) == outcome(
        {"products": products}, never_planning()
    )


def test_a_list_plan_is_used_for_a_list_of_its_shape():
    limits = items_limits()
    calls = []
    plan = limits.shapes.items[tuple(ITEM)]
    limits.shapes.items[tuple(ITEM)] = lambda *args: calls.append(args) or plan(*args)
    walk_mapping({"products": [dict(ITEM), dict(ITEM)]}, 1, limits, True)
    assert len(calls) == 1


def test_a_list_plan_names_the_item_and_key_of_a_bad_value():
    limits = items_limits()
    products = [dict(ITEM), dict(ITEM), {**ITEM, "price": -1.0}]
    bad_price = ("invalid", "products.2.price", "out_of_range")
    assert outcome({"products": products}, limits) == bad_price
    nested = [dict(ITEM), {**ITEM, "position": [1, math.nan]}]
    bad_nested = ("invalid", "products.1.position.1", "not_finite")
    assert outcome({"products": nested}, limits) == bad_nested


def test_a_list_of_mixed_shapes_is_walked_item_by_item():
    limits = items_limits()
    mixed = [
        dict(ITEM),
        {"position": 2, "price": 1.0, "product_id": "b"},  # the same keys in another order
        {"product_id": "c", "price": 1.0, "sku": "x"},  # as many keys, another one among them
        {"product_id": "d"},
        dict(ITEM),
    ]
    assert outcome({"products": mixed}, limits) == outcome({"products": mixed}, never_planning())
    assert outcome({"products": [*mixed, {"product_id": ""}]}, limits) == (
        "invalid",
        "products.5.product_id",
        "bad_id",
    )


def test_a_list_plan_keeps_the_budget_of_the_generic_walk():
    # 40 items of 3 keys need 720 bytes of budget at the very least: refused before the walk.
    limits = items_limits(max_event_bytes=700)
    products = [dict(ITEM) for _ in range(40)]
    assert outcome({"products": products}, limits) == outcome(
        {"products": products}, never_planning(max_event_bytes=700)
    )
    assert outcome({"products": products}, limits)[0:3:2] == ("invalid", "too_large")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.fixed_dictionaries(dict.fromkeys(ITEM, values)),
            st.fixed_dictionaries({"product_id": values, "price": values}),
            values,
        ),
        max_size=5,
    )
)
def test_a_list_plan_answers_like_the_generic_walk_for_any_items(products):
    assert outcome({"products": products}, items_limits()) == outcome(
        {"products": products}, never_planning()
    )


def validated(properties: dict, limits: EventLimits) -> tuple:
    try:
        event = validate_event("v-1", "Product Viewed", properties, None, None, None, 1e9, limits)
    except InvalidEvent as error:
        return ("invalid", error.field, error.kind)
    return ("ok", event.properties == properties)


def test_validate_event_takes_the_plan_of_the_properties_shape():
    limits = planned_limits()
    calls = []
    plan = limits.shapes.ruled[tuple(GOOD)]
    limits.shapes.ruled[tuple(GOOD)] = lambda *args: calls.append(args) or plan(*args)
    assert validated(dict(GOOD), limits) == ("ok", True)
    assert len(calls) == 1
    bad = {**GOOD, "tags": ["a", math.inf]}
    assert validated(bad, limits) == ("invalid", "properties.tags.1", "not_finite")


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries(dict.fromkeys(PRODUCT_SHAPE, values)))
def test_validate_event_answers_alike_with_and_without_plans(mapping):
    assert validated(dict(mapping), planned_limits()) == validated(dict(mapping), never_planning())


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries(dict.fromkeys(PRODUCT_SHAPE, values)))
def test_a_plan_answers_alike_whatever_types_its_sample_had(mapping):
    # A plan tests first the types its sample had: planned from Nones, it must still answer
    # for every other type as the generic walk does.
    from_nones = EventLimits()
    for _ in range(PLAN_AFTER):
        walk_mapping(dict.fromkeys(PRODUCT_SHAPE), 1, from_nones, True)
    assert tuple(PRODUCT_SHAPE) in from_nones.shapes.ruled
    assert outcome(dict(mapping), from_nones) == outcome(dict(mapping), never_planning())


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries(dict.fromkeys(PRODUCT_SHAPE, values)))
def test_a_plan_answers_alike_when_its_strings_near_the_length_limit(mapping):
    # A plan checks its strings' length once, all of them together; a nested value after a
    # string over the limit must still be refused for that string, as the generic walk does.
    tight = EventLimits(max_string_length=30)
    for _ in range(PLAN_AFTER):
        walk_mapping(dict(GOOD), 1, tight, True)
    assert tuple(GOOD) in tight.shapes.ruled
    assert outcome(dict(mapping), tight) == outcome(
        dict(mapping), never_planning(max_string_length=30)
    )
    products = {"products": [dict(ITEM), {**ITEM, "product_id": mapping["name"]}]}
    listed = items_limits(max_string_length=30)
    assert outcome(products, listed) == outcome(products, never_planning(max_string_length=30))


def test_a_string_over_the_limit_is_named_before_a_bad_nested_value_after_it():
    tight = EventLimits(max_string_length=30)
    for _ in range(PLAN_AFTER):
        walk_mapping(dict(GOOD), 1, tight, True)
    bad = {**GOOD, "name": "x" * 31, "tags": [math.nan]}
    assert outcome(bad, tight) == ("invalid", "name", "too_long")
    assert outcome({**GOOD, "name": "x" * 31}, tight) == ("invalid", "name", "too_long")
    assert outcome({**GOOD, "name": "x" * 10}, tight)[0] == "ok"  # 31 characters in all: walked


def test_an_empty_dict_gets_plans_too():
    limits = EventLimits()
    for _ in range(PLAN_AFTER):
        walk_mapping({"products": [{}]}, 1, limits, True)
    assert () in limits.shapes.ruled and () in limits.shapes.items
    for mapping in ({}, {"products": [{}, {}]}, {"products": [{}, {"a": 1}]}):
        assert outcome(mapping, limits) == outcome(mapping, never_planning())
