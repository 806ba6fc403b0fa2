"""WriteQueue: updates grouped by profile, profiles oldest first, whole profiles taken."""

from __future__ import annotations

import pytest

from personalize_sdk.write_queue import WriteQueue


def _queue(*items: tuple[str, int]) -> WriteQueue[int]:
    queue: WriteQueue[int] = WriteQueue()
    for key, item in items:
        queue.append(key, item)
    return queue


def test_a_batch_is_whole_profiles_oldest_first_until_the_size():
    queue = _queue(("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5), ("d", 6))
    assert len(queue) == 6
    assert queue.take(3) == {"a": [1, 3], "b": [2, 5]}  # 4 updates: b is taken whole
    assert len(queue) == 2 and queue.keys() == ["c", "d"]
    assert queue.take(100) == {"c": [4], "d": [6]}
    assert len(queue) == 0 and not queue
    assert queue.take(5) == {}


def test_the_first_out_is_the_oldest_update_of_the_profile_waiting_longest():
    queue = _queue(("a", 1), ("b", 2), ("a", 3))
    assert queue.pop_first() == ("a", 1)
    assert queue.keys() == ["a", "b"]  # a keeps its place while it has updates waiting
    assert queue.pop_first() == ("a", 3)
    assert queue.pop_first() == ("b", 2)
    with pytest.raises(IndexError):
        queue.pop_first()
    assert len(queue) == 0


def test_put_back_waits_first_before_the_profiles_later_updates():
    queue = _queue(("a", 1), ("b", 2), ("b", 5))
    queue.put_back("b", [0])
    queue.put_back("c", [])  # nothing to put back: nothing changes
    assert len(queue) == 4
    assert queue.keys() == ["b", "a"]
    assert queue.take(1) == {"b": [0, 2, 5]}
    queue.put_back("z", [7, 8])
    assert queue.take(10) == {"z": [7, 8], "a": [1]}


def test_move_hands_a_profiles_updates_to_another_after_its_own():
    queue = _queue(("v", 1), ("u", 2), ("v", 3))
    assert queue.move("v", "u") == [1, 3]
    assert queue.move("nobody", "u") == []
    assert len(queue) == 3
    assert queue.take(10) == {"u": [2, 1, 3]}
    queue = _queue(("v", 1))
    assert queue.move("v", "new") == [1]
    assert queue.take(10) == {"new": [1]}
