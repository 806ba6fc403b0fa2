"""`Lane`'s intake: a run of encoded events is kept in order, in memory while it fits and then
on disk, with what no destination would take dropped and counted."""

from __future__ import annotations

from personalize_sdk.delivery.lane import Lane
from personalize_sdk.delivery.spool import Spool
from personalize_sdk.forwarders import HttpForwarder


def _lane(tmp_path, memory_bytes: int) -> Lane:
    forwarder = HttpForwarder("http://127.0.0.1:9/", format="msgpack")  # never sent to here
    return Lane(forwarder, memory_bytes, Spool(tmp_path / "spool", disk_bytes=10**7))


def _events(count: int, size: int = 100) -> list[bytes]:
    return [f"{n:06d}".encode().ljust(size, b"-") for n in range(count)]


def _everything(lane: Lane) -> list[bytes]:
    """What the lane would send, in its order: memory first, then the spool."""
    queued = list(lane.memory)
    while batch := lane.spool.read_batch(1000, 10**7):
        queued += batch
        lane.spool.commit()
    return queued


def test_a_run_fills_memory_and_the_rest_goes_to_disk_in_order(tmp_path):
    lane = _lane(tmp_path, memory_bytes=1050)
    events = _events(25)
    lane.offer(events[:5])
    lane.offer(events[5:])  # 5 more fit in memory, 15 go to the spool
    assert len(lane.memory) == 10 and lane.in_memory == 1000
    assert len(lane.spool) == 15 and lane.spilled == 15
    lane.offer([b"x" * 10])  # fits in memory, but older ones wait on disk: it goes after them
    assert len(lane.memory) == 10 and len(lane.spool) == 16
    assert lane.queued == 26
    assert _everything(lane) == [*events, b"x" * 10]
    lane.spool.close()


def test_events_too_large_for_the_destination_are_dropped_and_counted(tmp_path):
    lane = _lane(tmp_path, memory_bytes=10**6)
    limit = lane.forwarder.max_event_bytes
    events = [b"a", b"b" * (limit + 1), b"c" * limit, b"d" * (limit + 5)]
    lane.offer(events)
    assert list(lane.memory) == [b"a", b"c" * limit]
    assert lane.dropped == {"too_large": 2}
    lane.offer([b"e" * (limit + 1)])
    assert lane.dropped == {"too_large": 3} and len(lane.memory) == 2
    lane.spool.close()


def test_a_spool_that_cannot_be_written_drops_and_counts_each_event(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    forwarder = HttpForwarder("http://127.0.0.1:9/", format="msgpack")
    lane = Lane(forwarder, 0, Spool(tmp_path / "a-file" / "spool", disk_bytes=10**7))
    lane.offer(_events(7))  # the spool's folder cannot be made: every event is counted
    assert lane.dropped == {"disk_error": 7} and lane.spilled == 0
    assert "cannot spool" in (lane.last_error or "")


def test_a_spool_that_fails_part_way_through_a_run_counts_what_it_took(tmp_path):
    forwarder = HttpForwarder("http://127.0.0.1:9/", format="msgpack")
    spool = Spool(tmp_path / "spool", disk_bytes=10**5)  # segments of 64 KB
    lane = Lane(forwarder, 0, spool)
    opened = []
    new_segment = spool._new_segment

    def second_fails() -> None:
        if opened:
            raise OSError(24, "Too many open files")
        opened.append(True)
        new_segment()

    spool._new_segment = second_fails  # type: ignore[method-assign]
    events = _events(200, size=1000)  # 200 KB: the second segment cannot be opened
    lane.offer(events)
    taken = len(lane.spool)
    assert 0 < taken < 200
    assert lane.spilled == taken and lane.dropped == {"disk_error": 200 - taken}
    assert _everything(lane) == events[:taken]
    spool.close()
