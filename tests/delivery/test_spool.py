"""`Spool`: first in first out on disk, bounded, and what one process leaves another adopts."""

from __future__ import annotations

import io
import os
import struct

import msgpack
import pytest

from personalize_sdk.delivery.spool import Spool, SpoolFailed


def _items(n: int, start: int = 0, size: int = 100) -> list[bytes]:
    return [f"{i:08d}".encode().ljust(size, b".") for i in range(start, start + n)]


def _drain(spool: Spool, count: int = 7) -> list[bytes]:
    out = []
    while batch := spool.read_batch(count, 10_000_000):
        out.extend(batch)
        spool.commit()
    return out


def test_first_in_first_out_across_segments(tmp_path):
    spool = Spool(tmp_path, disk_bytes=8 * 64 * 1024 * 4)  # segments of 256 KB
    items = _items(6000)
    for item in items:
        assert spool.append(item) == 0
    assert len(spool) == 6000
    assert len(list(tmp_path.glob("*.spool"))) >= 2
    assert _drain(spool, 500) == items
    assert len(spool) == 0 and spool.bytes == 0
    assert not list(tmp_path.glob("*.spool"))  # delivered segments are deleted
    spool.close()


def test_a_batch_not_committed_is_read_again(tmp_path):
    spool = Spool(tmp_path, disk_bytes=10**7)
    for item in _items(10):
        spool.append(item)
    first = spool.read_batch(4, 10**6)
    again = spool.read_batch(4, 10**6)
    assert first == again == _items(4)
    spool.commit()
    assert spool.read_batch(100, 10**6) == _items(6, start=4)
    spool.close()


def test_batches_respect_count_and_bytes_but_give_at_least_one(tmp_path):
    spool = Spool(tmp_path, disk_bytes=10**7)
    for item in _items(10, size=1000):
        spool.append(item)
    assert len(spool.read_batch(3, 10**6)) == 3
    assert len(spool.read_batch(100, 2500)) == 2
    assert len(spool.read_batch(100, 10)) == 1
    spool.close()


def test_the_disk_bound_drops_the_oldest_whole_segment_and_says_how_many(tmp_path):
    spool = Spool(tmp_path, disk_bytes=1_000_000)  # segments of 125 KB
    dropped = 0
    for item in _items(20_000):
        dropped += spool.append(item)
    assert dropped > 0
    assert spool.bytes <= 1_000_000
    assert len(spool) + dropped == 20_000
    left = _drain(spool, 1000)
    assert left == _items(20_000)[dropped:]  # exactly the oldest went
    spool.close()


def test_what_a_closed_spool_left_is_adopted_from_where_it_got_to(tmp_path):
    first = Spool(tmp_path, disk_bytes=10**7)
    for item in _items(50):
        first.append(item)
    assert first.read_batch(20, 10**6) == _items(20)
    first.commit()
    first.close()  # the files stay, with how far they were delivered
    second = Spool(tmp_path, disk_bytes=10**7)
    assert second.adopt_orphans() == 30
    second.append(b"new")
    assert _drain(second) == [*_items(30, start=20), b"new"]
    second.close()


def test_a_live_owner_keeps_its_files(tmp_path):
    owner = Spool(tmp_path, disk_bytes=10**7)
    owner.append(b"mine")
    owner.sync()
    other = Spool(tmp_path, disk_bytes=10**7)
    assert other.adopt_orphans() == 0  # locked by a live spool
    assert owner.read_batch(10, 1000) == [b"mine"]
    owner.close()
    assert other.adopt_orphans() == 1
    other.close()


def test_a_torn_record_from_a_killed_writer_is_skipped(tmp_path):
    spool = Spool(tmp_path, disk_bytes=10**7)
    for item in _items(3):
        spool.append(item)
    spool.close()
    [path] = tmp_path.glob("*.spool")
    with path.open("ab") as file:
        file.write(b"\xc5" + struct.pack(">H", 500) + b"only part of it")  # msgpack bin 16
    again = Spool(tmp_path, disk_bytes=10**7)
    assert again.adopt_orphans() == 3
    assert _drain(again) == _items(3)
    again.close()
    assert not list(tmp_path.glob("*.spool"))


def test_what_is_not_a_record_ends_the_readable_part_of_a_segment(tmp_path):
    spool = Spool(tmp_path, disk_bytes=10**7)
    spool.extend(_items(3))
    spool.close()
    [path] = tmp_path.glob("*.spool")
    with path.open("ab") as file:
        file.write(b"\x01\xc1garbage")  # an integer, then a byte msgpack never writes
    again = Spool(tmp_path, disk_bytes=10**7)
    assert again.adopt_orphans() == 3
    assert _drain(again) == _items(3)
    again.close()


def test_a_run_of_events_spooled_at_once_is_read_back_in_order_and_bounded(tmp_path):
    spool = Spool(tmp_path, disk_bytes=600_000)  # segments of 75 KB
    dropped = 0
    for start in range(0, 12_000, 4000):  # each run of 400 KB fills several segments
        dropped += spool.extend(_items(4000, start=start))
        assert spool.bytes <= 600_000
    assert spool.extend([]) == 0
    assert dropped > 0 and spool.bytes <= 600_000
    assert len(spool) + dropped == 12_000
    assert _drain(spool, 333) == _items(12_000)[dropped:]
    spool.close()


def test_an_event_bigger_than_a_read_is_read_whole(tmp_path):
    spool = Spool(tmp_path, disk_bytes=10**8)
    big = b"\xff" * (600 * 1024)  # bigger than the spool's reads, and than the batch's bytes
    spool.extend([b"a", big, b"b"])
    assert spool.read_batch(10, 1000) == [b"a"]
    spool.commit()
    assert spool.read_batch(10, 1000) == [big]
    spool.commit()
    assert spool.read_batch(10, 1000) == [b"b"]
    spool.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_a_forked_child_leaves_the_parents_files_alone(tmp_path):
    spool = Spool(tmp_path, disk_bytes=10**7)
    spool.append(b"parent")
    pid = os.fork()
    if pid == 0:  # the child: drop the parent's spool, then try to adopt it
        code = 1
        try:
            spool.abandon()
            child = Spool(tmp_path, disk_bytes=10**7)
            code = 0 if child.adopt_orphans() == 0 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert spool.read_batch(10, 1000) == [b"parent"]  # the child's close wrote nothing twice
    spool.commit()
    spool.close()


def test_a_segment_with_nothing_readable_is_set_aside_not_deleted(tmp_path, caplog):
    # E.g. a segment of another format (this one was a 4-byte length, then the event).
    path = tmp_path / f"{1:020d}-1.spool"
    path.write_bytes(struct.pack(">I", 5) + b"event")
    spool = Spool(tmp_path, disk_bytes=10**7)
    with caplog.at_level("WARNING", logger="personalize_sdk.delivery"):
        assert spool.adopt_orphans() == 0
    assert "hold no event this version can read" in caplog.text
    assert not path.exists()
    assert (tmp_path / (path.name + ".unreadable")).read_bytes() == struct.pack(">I", 5) + b"event"
    assert spool.adopt_orphans() == 0 and len(spool) == 0  # not taken up again
    spool.close()


def test_a_full_disk_keeps_whole_records_counts_what_it_refused_and_recovers(small_disk):
    folder = small_disk / "spool"
    spool = Spool(folder, disk_bytes=10**9)  # one segment: the disk fills long before the bound
    items = _items(3000, size=300)  # 900 KB for 256 KiB
    unspooled = 0
    for start in range(0, 3000, 100):  # a round at a time, as the delivery thread spools
        try:
            spool.extend(items[start : start + 100])
        except SpoolFailed as failure:
            unspooled += 100 - failure.spooled
        spool.sync()  # never raises: what the disk refused is counted
    assert spool.refused > 0 and "No space left" in (spool.disk_error or "")
    assert len(spool) + spool.refused + unspooled == 3000
    [path] = folder.glob("*.spool")
    on_disk = path.read_bytes()
    records = list(msgpack.Unpacker(io.BytesIO(on_disk)))
    assert len(b"".join(map(msgpack.packb, records))) == len(on_disk)  # whole records only
    assert records == items[: len(records)]

    # Delivering empties the file, so what waited in memory for room goes in then.
    delivered = _drain(spool, 50)
    assert len(spool) == 0
    assert len(delivered) + spool.refused + unspooled == 3000
    assert delivered == sorted(set(delivered))  # in order, each once: no byte written twice
    assert len(delivered) > len(records)
    spool.close()


def test_a_segment_damaged_part_way_is_delivered_up_to_the_damage_and_kept(tmp_path, caplog):
    first = Spool(tmp_path, disk_bytes=10**7)
    first.extend(_items(10))
    first.close()
    [path] = tmp_path.glob("*.spool")
    damaged = bytearray(path.read_bytes())
    damaged[4 * (len(damaged) // 10)] = 0xC1  # record 4's header: a byte msgpack never writes
    path.write_bytes(damaged)
    second = Spool(tmp_path, disk_bytes=10**7)
    with caplog.at_level("WARNING", logger="personalize_sdk.delivery"):
        assert second.adopt_orphans() == 4
        assert _drain(second) == _items(4)
    assert "hold no event this version can read" in caplog.text
    assert second.unreadable_files == 1
    assert not path.exists()
    assert (tmp_path / (path.name + ".unreadable")).read_bytes() == damaged  # the tail too
    second.close()
    assert Spool(tmp_path, disk_bytes=10**7).adopt_orphans() == 0  # not taken up again


def test_a_segment_this_process_writes_damaged_part_way_counts_the_rest_lost(tmp_path):
    spool = Spool(tmp_path, disk_bytes=10**7)
    spool.extend(_items(10))
    spool.sync()
    [path] = tmp_path.glob("*.spool")
    with path.open("r+b") as file:  # a bad sector under the running process
        file.seek(4 * (path.stat().st_size // 10))
        file.write(b"\xc1")
    assert _drain(spool) == _items(4)
    assert len(spool) == 0 and spool.refused == 6 and spool.unreadable_files == 1
    assert [p.name for p in tmp_path.iterdir()] == [path.name + ".unreadable"]
    spool.append(b"later")  # a new segment
    assert _drain(spool) == [b"later"]
    spool.close()
