"""`IdentityMemo`: an answer per object, not per equal value; the object kept alive with it;
bounded by starting again empty."""

from __future__ import annotations

import gc
import weakref

from personalize_sdk.identity_memo import IdentityMemo


class Thing:
    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Thing) and other.value == self.value

    __hash__ = None  # type: ignore[assignment] - unhashable: the memo never hashes it


def test_an_answer_is_for_that_very_object():
    memo: IdentityMemo[Thing, str] = IdentityMemo()
    one, equal = Thing(1), Thing(1)
    assert memo.get(one) is None
    assert memo.put(one, "first") == "first"
    assert memo.get(one) == "first"
    assert memo.get(equal) is None  # equal, but another object


def test_the_object_lives_as_long_as_its_answer_so_its_id_is_never_another_objects():
    memo: IdentityMemo[Thing, str] = IdentityMemo()
    thing = Thing(1)
    alive = weakref.ref(thing)
    memo.put(thing, "answer")
    del thing
    gc.collect()
    assert alive() is not None
    for value in range(1000):  # new objects never take its id while it is remembered
        assert memo.get(Thing(value)) is None


def test_full_it_starts_again_empty():
    memo: IdentityMemo[Thing, int] = IdentityMemo(size=3)
    things = [Thing(i) for i in range(4)]
    for i, thing in enumerate(things[:3]):
        memo.put(thing, i)
    assert [memo.get(t) for t in things[:3]] == [0, 1, 2]
    memo.put(things[3], 3)
    assert [memo.get(t) for t in things] == [None, None, None, 3]
