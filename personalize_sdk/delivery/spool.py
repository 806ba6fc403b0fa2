"""`Spool`: one forwarder's durable on-disk buffer, first in first out, bounded in bytes.

Events past the memory bound wait here instead of being dropped. A spool is a folder of
segment files, ``<time_ns>-<pid>.spool``, each a run of records (an encoded event as a msgpack
``bin``: its length, then its bytes; msgpack's C code writes and splits them, for a run of
events at once), with a ``.done`` sidecar holding how far it has been delivered. A
process holds an exclusive `flock` on each segment it owns, so at start another process can
tell a live owner's files from those a dead one (an exit with no time left, a ``kill -9``)
left behind, and adopts the latter: they are sent after the next start.

Writes go to the operating system at the end of every round (``sync``), so a killed process
loses nothing that was spooled; they are not fsynced (a power cut may lose the last seconds).
Past `disk_bytes` the oldest segment is dropped whole and its events counted.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import logging
import os
import struct
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import msgpack

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: ownership by process id only
    fcntl = None  # type: ignore[assignment]

_READ_SIZE = 256 * 1024
_TORN = (ValueError, msgpack.UnpackException)
"""What msgpack raises on bytes that are not records (it never writes them: a damaged file)."""
_DONE = struct.Struct(">Q")
SUFFIX = ".spool"
UNREADABLE = ".unreadable"
logger = logging.getLogger("personalize_sdk.delivery")


class SpoolFailed(OSError):
    """Spooling a run failed part way: the first `spooled` events of it are spooled (and
    `lost` older ones were dropped by the disk bound), the rest are not."""

    def __init__(self, error: OSError, spooled: int, lost: int) -> None:
        super().__init__(error.errno, error.strerror or str(error))
        self.spooled = spooled
        self.lost = lost


class _Segment:
    """One spool file: where reading has got to, and how much is left in it."""

    def __init__(self, path: Path, lock: IO[bytes], start: int, records: int, size: int) -> None:
        self.path = path
        self.lock = lock
        """An open handle that holds the flock as long as this process owns the file."""
        self.read_at = start
        self.records = records
        """Records not yet delivered."""
        self.size = size
        """Bytes on disk, delivered ones included (what counts against the disk bound)."""
        self.done = os.open(str(path) + ".done", os.O_RDWR | os.O_CREAT, 0o600)

    def commit(self, offset: int, records: int) -> None:
        self.read_at = offset
        self.records -= records
        os.pwrite(self.done, _DONE.pack(offset), 0)

    def remove(self) -> None:
        os.close(self.done)
        self.lock.close()
        for path in (self.path, Path(str(self.path) + ".done")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def release(self) -> None:
        """Close without deleting (the file stays for the next start)."""
        os.close(self.done)
        self.lock.close()


class Spool:
    def __init__(self, folder: Path, disk_bytes: int) -> None:
        self.folder = folder
        self.disk_bytes = disk_bytes
        self.segment_bytes = max(64 * 1024, disk_bytes // 8)
        """A segment is closed for writing at this size, so dropping the oldest drops an eighth."""
        self._segments: list[_Segment] = []
        self._writer: IO[bytes] | None = None
        """Unbuffered: `_pending` is the only buffer, so a forked child can drop it unwritten."""
        self._pending = bytearray()
        self._writer_size = 0
        self._reading: tuple[_Segment, int, int] | None = None
        """The batch handed out by `read_batch` and not yet committed: (segment, end, count)."""
        self.records = 0
        self.bytes = 0
        self._record = msgpack.Packer().pack
        """One encoded event as a record (`bytes` pack as msgpack's ``bin``); a Packer of this
        spool's own, as a spool is written by one thread."""

    def __len__(self) -> int:
        return self.records

    # -- writing ------------------------------------------------------------------------------

    def append(self, item: bytes) -> int:
        """Spool one encoded event; returns how many old events the disk bound dropped."""
        return self.extend((item,))

    def extend(self, items: Sequence[bytes]) -> int:
        """Spool encoded events, in order; returns how many old events the disk bound dropped.
        Raises `SpoolFailed` (an `OSError`) saying how many were spooled before it failed."""
        records = list(map(self._record, items))
        ends = list(itertools.accumulate(map(len, records)))
        lost = 0
        at = 0
        try:
            while at < len(records):
                if self._writer is None or self._writer_size >= self.segment_bytes:
                    self._new_segment()
                before = ends[at - 1] if at else 0
                # What fits in this segment (at least one record: a segment may hold one more).
                room = before + self.segment_bytes - self._writer_size
                stop = max(at + 1, bisect.bisect_right(ends, room, at))
                self._pending += b"".join(records[at:stop])
                grown = ends[stop - 1] - before
                self._writer_size += grown
                segment = self._segments[-1]
                segment.records += stop - at
                segment.size += grown
                self.records += stop - at
                self.bytes += grown
                at = stop  # in the buffer: spooled, even if writing it out fails below
                if len(self._pending) >= 65536:
                    self.sync()
                if self.bytes > self.disk_bytes:
                    lost += self._enforce_bound()
        except OSError as error:
            raise SpoolFailed(error, spooled=at, lost=lost) from error
        return lost

    def sync(self) -> None:
        """Hand what was written to the operating system (it then survives a killed process).
        After a failed write, what did reach the file is not written again."""
        if not self._pending or self._writer is None:
            return
        written = 0
        try:
            with memoryview(self._pending) as view:
                while written < len(view):
                    with view[written:] as rest:
                        written += self._writer.write(rest) or 0
        finally:
            del self._pending[:written]

    def _new_segment(self) -> None:
        if self._writer is not None:
            self.sync()
            self._writer.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
        writer = open(path, "ab", buffering=0)  # noqa: SIM115 - open while it is written
        lock = open(path, "rb")  # noqa: SIM115 - holds the flock until removed or released
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._writer = writer
        self._writer_size = 0
        self._segments.append(_Segment(path, lock, 0, 0, 0))

    def _enforce_bound(self) -> int:
        dropped = 0
        while self.bytes > self.disk_bytes and len(self._segments) > 1:
            # The oldest segment, unless a batch read from it is in flight: then the next.
            index = 1 if self._reading and self._reading[0] is self._segments[0] else 0
            if index >= len(self._segments) - 1 and self._writer is not None:
                break  # only the segment being written is left
            segment = self._segments.pop(index)
            dropped += segment.records
            self.records -= segment.records
            self.bytes -= segment.size
            segment.remove()
        return dropped

    # -- reading ------------------------------------------------------------------------------

    def read_batch(self, max_count: int, max_bytes: int) -> list[bytes]:
        """The oldest undelivered events (at least one when any), not yet removed: `commit`
        removes them once delivered; a later call without a commit reads them again."""
        self._reading = None
        self.sync()
        while self._segments:
            segment = self._segments[0]
            items, end = _read(segment.path, segment.read_at, max_count, max_bytes)
            if items:
                self._reading = (segment, end, len(items))
                return items
            if self._writer is not None and segment is self._segments[-1]:
                return []  # caught up with the writer
            # Fully delivered (or only a torn record left by a killed writer): remove it.
            self._segments.pop(0)
            self.records -= segment.records
            self.bytes -= segment.size
            segment.remove()
        return []

    def commit(self) -> None:
        """The batch from the last `read_batch` was delivered (or dropped for good)."""
        if self._reading is None:
            return
        segment, end, count = self._reading
        self._reading = None
        if segment not in self._segments:
            return
        segment.commit(end, count)
        self.records -= count
        if segment.records <= 0:
            if segment is self._segments[-1] and self._writer is not None:
                self._writer.close()  # all delivered: the next event starts a new segment
                self._writer = None
            self._segments.remove(segment)
            self.bytes -= segment.size
            segment.remove()

    # -- ownership ----------------------------------------------------------------------------

    def adopt_orphans(self) -> int:
        """Take over the segments no live process owns (left by an earlier run); returns how
        many events they hold. They are read before anything this process spools."""
        if not self.folder.is_dir():
            return 0
        adopted: list[_Segment] = []
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            if any(segment.path == path for segment in self._segments):
                continue
            segment = _claim(path)
            if segment is not None:
                adopted.append(segment)
        self._segments[:0] = adopted
        found = sum(segment.records for segment in adopted)
        self.records += found
        self.bytes += sum(segment.size for segment in adopted)
        return found

    def close(self) -> None:
        """Release the files for the next start; fully delivered ones are deleted."""
        self.sync()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for segment in self._segments:
            if segment.records <= 0:
                segment.remove()
            else:
                segment.release()
        self._segments = []
        self.records = 0
        self.bytes = 0

    def abandon(self) -> None:
        """In a forked child: the parent's files stay the parent's. Closing our copies of the
        descriptors keeps the parent's locks (a flock lasts while any copy is open), and the
        unwritten buffer is the parent's to write."""
        self._pending.clear()
        if self._writer is not None:
            self._writer.close()
        for segment in self._segments:
            segment.release()
        self._writer = None
        self._segments = []
        self.records = 0
        self.bytes = 0


def _claim(path: Path) -> _Segment | None:
    """Lock an orphaned segment for this process, or None when a live process owns it."""
    try:
        lock = open(path, "rb")  # noqa: SIM115 - kept open: it holds the lock
    except FileNotFoundError:
        return None
    if fcntl is not None:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return None
    elif _alive(path):  # pragma: no cover - Windows
        lock.close()
        return None
    start = 0
    with contextlib.suppress(OSError, struct.error):
        start = _DONE.unpack(Path(str(path) + ".done").read_bytes()[: _DONE.size])[0]
    size = path.stat().st_size
    records = sum(1 for _ in _records(path, start))
    if not records and size > start:  # not one record: another format, or damaged
        aside = path.with_name(path.name + UNREADABLE)
        logger.warning(
            "spool %s: %d bytes hold no event this version can read; kept as %s",
            path,
            size - start,
            aside.name,
        )
        path.rename(aside)
        Path(str(path) + ".done").unlink(missing_ok=True)
        lock.close()
        return None
    return _Segment(path, lock, start, records, size)


def _alive(path: Path) -> bool:  # pragma: no cover - Windows
    try:
        pid = int(path.stem.rsplit("-", 1)[1])
        os.kill(pid, 0)
    except (ValueError, IndexError, OSError):
        return False
    return pid != os.getpid()


def _read(path: Path, start: int, max_count: int, max_bytes: int) -> tuple[list[bytes], int]:
    """The records from `start` (at least one when any), up to `max_count` and `max_bytes`, and
    the offset after the last one; stops at a torn record as `_records` does."""
    items: list[bytes] = []
    end = start
    size = 0
    with (
        contextlib.suppress(FileNotFoundError, *_TORN),
        _unpacker(path, start, min(max_bytes + 64, _READ_SIZE)) as records,
    ):
        for item in records:
            if type(item) is not bytes:
                break
            size += len(item)
            if items and (len(items) >= max_count or size > max_bytes):
                break
            items.append(item)
            end = start + records.tell()
    return items, end


def _records(path: Path, start: int) -> Iterator[tuple[bytes, int]]:
    """(record, offset after it) from `start`; stops at a torn record a killed writer left (an
    incomplete last record, or anything that is not a record)."""
    with (
        contextlib.suppress(FileNotFoundError, *_TORN),
        _unpacker(path, start, _READ_SIZE) as records,
    ):
        for item in records:
            if type(item) is not bytes:
                return
            yield item, start + records.tell()


@contextlib.contextmanager
def _unpacker(path: Path, start: int, read_size: int) -> Iterator[msgpack.Unpacker]:
    """The records of a segment from `start`, one by one (``tell()``: the offset after the last
    one read, from `start`); a torn last record is not one of them."""
    with open(path, "rb") as file:
        file.seek(start)
        yield msgpack.Unpacker(file, read_size=read_size, max_buffer_size=0)
