"""`InvalidationLog`: since a moment, a marked key says yes and an unmarked one no; forgotten
keys and `mark_all` only ever turn a no into a yes."""

from __future__ import annotations

import pytest

from personalize_sdk.invalidation_log import InvalidationLog


def test_a_key_marked_after_the_moment_was_invalidated_since():
    log = InvalidationLog()
    log.mark("v:a")
    began = log.now
    assert not log.since("v:a", began)  # marked before
    assert not log.since("v:b", began)  # never marked
    log.mark("v:b")
    assert log.since("v:b", began)
    assert not log.since("v:a", began)
    later = log.now
    assert not log.since("v:b", later)
    log.mark("v:a")
    assert log.since("v:a", began) and log.since("v:a", later)


def test_marking_all_invalidates_every_key_read_before():
    log = InvalidationLog()
    log.mark("v:a")
    began = log.now
    log.mark_all()
    assert log.since("v:a", began) and log.since("never-seen", began)
    after = log.now
    assert not log.since("v:a", after) and not log.since("never-seen", after)


def test_a_forgotten_key_counts_as_invalidated_then_never_as_not_invalidated():
    log = InvalidationLog(size=2)
    began = log.now
    log.mark("v:a")
    middle = log.now
    log.mark("v:b")
    log.mark("v:c")  # "v:a" is forgotten: it counts as marked at its own mark
    assert log.since("v:a", began)  # true: it was marked after began
    assert not log.since("v:a", middle)  # true: nothing forgotten was marked after middle
    log.mark("v:d")  # "v:b" forgotten, marked after middle
    assert log.since("v:a", middle)  # not known any more: may have been, so yes
    assert log.since("v:c", middle) and log.since("v:d", middle)
    assert not log.since("v:x", log.now)


def test_marking_a_key_again_keeps_it_the_newest():
    log = InvalidationLog(size=2)
    log.mark("v:a")
    log.mark("v:b")
    log.mark("v:a")
    began = log.now
    log.mark("v:c")  # "v:b", the oldest, leaves, not "v:a"
    assert not log.since("v:a", began)
    assert not log.since("v:b", began)


@pytest.mark.parametrize("size", [0, -1, 1.5, "10", True])
def test_a_size_that_is_not_a_positive_whole_number_is_refused(size):
    with pytest.raises(ValueError, match="size"):
        InvalidationLog(size)
