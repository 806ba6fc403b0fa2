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
Past `disk_bytes` the oldest segment is dropped whole and its events counted. When the disk
refuses a write (it is full, or failing), the file is cut back to its last whole record, a
little waits in memory for the next try and the rest is dropped and counted (`refused`): the
spool never raises for it, so delivery goes on. A file damaged part way (bytes that are not a
record) is delivered up to the damage and then kept as ``*.spool.unreadable``, never deleted.
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
_UNWRITTEN_BYTES = 64 * 1024
"""Spooled records wait in memory until there are this many bytes of them (or the round ends);
when the disk refuses them, this many stay in memory for the next try, the newest past it are
dropped."""
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

    def __init__(
        self,
        path: Path,
        lock: IO[bytes],
        start: int,
        records: int,
        size: int,
        damaged: bool = False,
    ) -> None:
        self.path = path
        self.lock = lock
        """An open handle that holds the flock as long as this process owns the file."""
        self.read_at = start
        self.records = records
        """Records not yet delivered."""
        self.size = size
        """Bytes on disk, delivered ones included (what counts against the disk bound)."""
        self.damaged = damaged
        """Bytes that are not a record follow its readable ones: kept, not deleted, once those
        are delivered."""
        self.done = os.open(str(path) + ".done", os.O_RDWR | os.O_CREAT, 0o600)

    def commit(self, offset: int, records: int) -> None:
        self.read_at = offset
        self.records -= records
        # Unsaved on a full disk: after a restart these are sent again (at least once).
        with contextlib.suppress(OSError):
            os.pwrite(self.done, _DONE.pack(offset), 0)

    def remove(self) -> None:
        # Unlinked while locked: no other process can claim it in between.
        try:
            for path in (self.path, Path(str(self.path) + ".done")):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        finally:  # a file that cannot go (a read-only disk) still releases its lock
            self._close()

    def set_aside(self) -> Path:
        """Keep the file as ``*.spool.unreadable`` for a person to look at; returns its path."""
        aside = self.path.with_name(self.path.name + UNREADABLE)
        try:
            self.path.rename(aside)  # while locked, as in `remove`
            Path(str(self.path) + ".done").unlink(missing_ok=True)
        finally:
            self._close()
        return aside

    def release(self) -> None:
        """Close without deleting (the file stays for the next start)."""
        self._close()

    def _close(self) -> None:
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
        self.refused = 0
        """Events dropped because the disk refused them or returned them damaged, since start
        (whichever call found out); `disk_error` says why, the latest time."""
        self.disk_error: str | None = None
        self.unreadable_files = 0
        """Damaged files kept as ``*.spool.unreadable`` since start."""
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
        Raises `SpoolFailed` (an `OSError`) saying how many were spooled before it failed (a
        file that cannot be opened, a disk that refuses writes: the rest of the run is not
        spooled, and what the disk refused is counted in `refused`)."""
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
                if len(self._pending) >= _UNWRITTEN_BYTES:
                    self._write()
                if self.bytes > self.disk_bytes:
                    lost += self._enforce_bound()
        except OSError as error:
            raise SpoolFailed(error, spooled=at, lost=lost) from error
        return lost

    def sync(self) -> None:
        """Hand what was spooled to the operating system (it then survives a killed process).
        Never raises: what the disk refuses is handled as `_cut_pending` says."""
        with contextlib.suppress(OSError):
            self._write()

    def _write(self) -> None:
        """`sync`, raising the disk's error after handling it."""
        if not self._pending or self._writer is None:
            return
        written = 0
        try:
            with memoryview(self._pending) as view:
                while written < len(view):
                    with view[written:] as rest:
                        written += self._writer.write(rest) or 0
        except OSError as error:
            self.disk_error = f"cannot write {self.folder}: {error}"
            self._cut_pending(written, _UNWRITTEN_BYTES)
            raise
        self._pending.clear()

    def _cut_pending(self, written: int, room: int) -> None:
        """After `written` bytes of `_pending` reached the file and the disk refused the rest:
        cut the file back to its last whole record (one cut short would hide every later one),
        keep `room` bytes of the rest for the next try, drop the newest past that (counted)."""
        assert self._writer is not None
        pending = self._pending
        file_size = self._writer_size - len(pending)  # before this write
        ends = _record_ends(pending)
        whole = bisect.bisect_right(ends, written) - 1  # records entirely in the file
        kept = bisect.bisect_right(ends, ends[whole] + room) - 1
        if written > ends[whole]:
            try:
                os.ftruncate(self._writer.fileno(), file_size + ends[whole])
            except OSError:
                # Nothing may follow the broken record: this file takes no more, and a broken
                # last record is what a killed writer leaves, which reading skips.
                kept = whole
                with contextlib.suppress(OSError):
                    self._writer.close()
                self._writer = None
        dropped = len(ends) - 1 - kept
        dropped_bytes = len(pending) - ends[kept]
        del pending[ends[kept] :]
        del pending[: ends[whole]]
        segment = self._segments[-1]  # what waits to be written is always the newest segment's
        segment.records -= dropped
        segment.size -= dropped_bytes
        self.records -= dropped
        self.bytes -= dropped_bytes
        self._writer_size -= dropped_bytes
        self.refused += dropped

    def _new_segment(self) -> None:
        if self._writer is not None:
            self._write()  # the records waiting are this segment's: not a new one before them
            self._writer.close()
            self._writer = None
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
        writer = open(path, "ab", buffering=0)  # noqa: SIM115 - open while it is written
        lock: IO[bytes] | None = None
        segment: _Segment | None = None
        try:
            lock = open(path, "rb")  # noqa: SIM115 - holds the flock until removed or released
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            segment = _Segment(path, lock, 0, 0, 0)
            # Its room taken now: a full disk later refuses no progress update.
            os.pwrite(segment.done, _DONE.pack(0), 0)
        except OSError:  # nothing of it left behind
            writer.close()
            if segment is not None:
                segment.remove()
            else:
                if lock is not None:
                    lock.close()
                path.unlink(missing_ok=True)
            raise
        self._writer = writer
        self._writer_size = 0
        self._segments.append(segment)

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
        removes them once delivered; a later call without a commit reads them again. A segment
        read up to bytes that are not a record is set aside (kept as ``*.spool.unreadable``)."""
        self._reading = None
        self.sync()
        while self._segments:
            segment = self._segments[0]
            items, end, damaged = _read(segment.path, segment.read_at, max_count, max_bytes)
            if items:
                self._reading = (segment, end, len(items))
                return items
            if damaged or segment.damaged:
                self._set_aside(segment)
                continue
            if self._writer is not None and segment is self._segments[-1]:
                if self._pending and self._rewind(segment):
                    continue
                return []  # caught up with the writer
            # Fully delivered (or only a torn record left by a killed writer): remove it.
            self._segments.pop(0)
            self.records -= segment.records
            self.bytes -= segment.size
            segment.remove()
        return []

    def _rewind(self, segment: _Segment) -> bool:
        """The segment being written, every record in its file delivered, and more waiting in
        memory because the disk is full (maybe of this very file): start the file over, and
        write them. True when they were written."""
        assert self._writer is not None
        on_disk = self._writer_size - len(self._pending)
        if segment.read_at != on_disk:
            return False
        try:
            # The progress first (an empty sidecar reads as 0, and shrinking a file takes no
            # room): killed in between, the delivered ones are sent again, no worse.
            os.ftruncate(segment.done, 0)
            os.ftruncate(self._writer.fileno(), 0)
        except OSError:
            return False
        segment.read_at = 0
        segment.size -= on_disk
        self.bytes -= on_disk
        self._writer_size -= on_disk
        self.sync()
        return not self._pending

    def _set_aside(self, segment: _Segment) -> None:
        """A damaged segment, delivered up to the damage: kept, never deleted."""
        aside = segment.set_aside()
        logger.warning(
            "spool %s: %d bytes after byte %d hold no event this version can read (a damaged "
            "disk?); the events before them were delivered; kept as %s",
            segment.path,
            segment.size - segment.read_at,
            segment.read_at,
            aside.name,
        )
        if segment is self._segments[-1] and self._writer is not None:
            self._writer.close()  # the next event starts a new segment
            self._writer = None
            self._pending.clear()  # this file's: they would follow the damage
        self._segments.remove(segment)
        self.records -= segment.records  # left unread past the damage (if this process wrote it)
        if segment.records:
            self.refused += segment.records
            self.disk_error = f"{segment.path.name} was damaged: kept as {aside.name}"
        self.bytes -= segment.size
        self.unreadable_files += 1

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
            if segment.damaged:
                self._set_aside(segment)
                return
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
            segment = self._claim(path)
            if segment is not None:
                adopted.append(segment)
        self._segments[:0] = adopted
        found = sum(segment.records for segment in adopted)
        self.records += found
        self.bytes += sum(segment.size for segment in adopted)
        return found

    def _claim(self, path: Path) -> _Segment | None:
        """Lock an orphaned segment for this process, or None when a live process owns it (or
        it holds nothing readable: then it is kept as ``*.spool.unreadable``)."""
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
        try:
            start = 0
            with contextlib.suppress(OSError, struct.error):
                start = _DONE.unpack(Path(str(path) + ".done").read_bytes()[: _DONE.size])[0]
            size = path.stat().st_size
            records, damaged = _scan(path, start)
            segment = _Segment(path, lock, start, records, size, damaged)
            if not records and size > start:  # not one record: another format, or damaged
                aside = segment.set_aside()
                logger.warning(
                    "spool %s: %d bytes hold no event this version can read; kept as %s",
                    path,
                    size - start,
                    aside.name,
                )
                self.unreadable_files += 1
                return None
            return segment
        except OSError:
            lock.close()
            raise

    def close(self) -> None:
        """Release the files for the next start; fully delivered ones are deleted. What the
        disk refused to the last is dropped and counted in `refused`."""
        self.sync()
        if self._pending:
            self._cut_pending(0, 0)
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


def _alive(path: Path) -> bool:  # pragma: no cover - Windows
    try:
        pid = int(path.stem.rsplit("-", 1)[1])
        os.kill(pid, 0)
    except (ValueError, IndexError, OSError):
        return False
    return pid != os.getpid()


def _read(path: Path, start: int, max_count: int, max_bytes: int) -> tuple[list[bytes], int, bool]:
    """The records from `start` (at least one when any), up to `max_count` and `max_bytes`, the
    offset after the last one, and whether what stopped them is damage (as `_scan` says)."""
    items: list[bytes] = []
    end = start
    size = 0
    try:
        with _unpacker(path, start, min(max_bytes + 64, _READ_SIZE)) as records:
            for item in records:
                if type(item) is not bytes:
                    return items, end, True
                size += len(item)
                if items and (len(items) >= max_count or size > max_bytes):
                    break
                items.append(item)
                end = start + records.tell()
    except FileNotFoundError:
        pass
    except _TORN:
        return items, end, True
    return items, end, False


def _scan(path: Path, start: int) -> tuple[int, bool]:
    """How many records follow `start`, and whether what stops them is damage (bytes that are
    not a record) rather than the end of the file, or a last record a killed writer cut short
    (which is no loss: it was never spooled in full, so never taken off the queue)."""
    count = 0
    try:
        with _unpacker(path, start, _READ_SIZE) as records:
            for item in records:
                if type(item) is not bytes:
                    return count, True
                count += 1
    except FileNotFoundError:
        pass
    except _TORN:
        return count, True
    return count, False


def _record_ends(data: bytearray) -> list[int]:
    """0, then the offset after each whole record in `data` (which starts with a record)."""
    unpacker = msgpack.Unpacker(max_buffer_size=0)
    unpacker.feed(data)
    ends = [0]
    for _ in unpacker:
        ends.append(unpacker.tell())
    return ends


@contextlib.contextmanager
def _unpacker(path: Path, start: int, read_size: int) -> Iterator[msgpack.Unpacker]:
    """The records of a segment from `start`, one by one (``tell()``: the offset after the last
    one read, from `start`); a torn last record is not one of them."""
    with open(path, "rb") as file:
        file.seek(start)
        yield msgpack.Unpacker(file, read_size=read_size, max_buffer_size=0)
