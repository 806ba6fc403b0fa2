"""`FileForwarder`: newline-delimited JSON files for a warehouse to load, rotated by size and
by age.

Each process writes its own file, ``<prefix>-<UTC time>-<pid>.ndjson.open``, and renames it to
``.ndjson`` when it rotates or closes: a loader picks up only the ``*.ndjson`` files, which are
complete (whole lines, never empty) and never written again. A batch goes in whole or not at
all: after a failed write the file is cut back to the batches before it, and the batch is
retried. The writer holds an exclusive `flock` on its ``.open`` file, so a forwarder starting a
file can tell the ``.open`` files of a dead process (a ``kill -9``) and completes them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._exceptions import ConfigError
from ._base import BaseForwarder, DeliveryFailed, expect

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locks, so no telling a dead writer's files
    fcntl = None  # type: ignore[assignment]

OPEN_SUFFIX = ".open"


class FileForwarder(BaseForwarder):
    type = "file"
    options = frozenset({"path", "prefix", "rotate_bytes", "rotate_seconds", "fsync"})
    required = frozenset({"path"})
    max_event_bytes = 1024 * 1024
    max_batch_bytes = 16 * 1024 * 1024

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        prefix: str = "events",
        rotate_bytes: int = 64 * 1024 * 1024,
        rotate_seconds: float = 3600.0,
        fsync: bool = False,
        **common: Any,
    ) -> None:
        self.check_options(
            {
                "path": str(path),
                "prefix": prefix,
                "rotate_bytes": rotate_bytes,
                "rotate_seconds": rotate_seconds,
                "fsync": fsync,
            }
        )
        super().__init__(**common)
        self.folder = Path(path)
        self.prefix = prefix
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.fsync = fsync
        self._fd: int | None = None
        """The file being written (append only), holding its flock."""
        self._open_path: Path | None = None
        self._opened_at = 0.0
        self._written = 0
        """Bytes of the whole batches in the file being written."""

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        super().check_options(options)
        if not isinstance(options.get("path"), str) or not options["path"]:
            raise ConfigError("expected a folder path", field="path")
        prefix = options.get("prefix", "events")
        if not isinstance(prefix, str) or not prefix or "/" in prefix or os.sep in prefix:
            raise ConfigError(f"expected a file name prefix, got {prefix!r}", field="prefix")
        expect(options, "rotate_bytes", int, "a size in bytes")
        expect(options, "rotate_seconds", (int, float), "seconds")
        expect(options, "fsync", bool, "true or false")

    @property
    def completed(self) -> list[Path]:
        """The finished files, oldest first (what a warehouse loader picks up)."""
        return sorted(self.folder.glob(f"{self.prefix}-*.ndjson"))

    async def send(self, items: Sequence[bytes]) -> None:
        data = b"\n".join(items) + b"\n"
        try:
            now = time.time()
            if self._fd is not None and (
                self._written >= self.rotate_bytes or now - self._opened_at >= self.rotate_seconds
            ):
                self._finish()
            if self._fd is None:
                self._start(now)
            self._append(data)
        except OSError as error:
            raise DeliveryFailed(f"cannot write {self.folder}: {error}", retryable=True) from None

    def _append(self, data: bytes) -> None:
        assert self._fd is not None
        written = 0
        try:
            with memoryview(data) as view:
                while written < len(data):
                    written += os.write(self._fd, view[written:])
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            self._cut_back()
            raise
        self._written += len(data)

    def _cut_back(self) -> None:
        """After a failed write: the file back to the batches before this one (a loader must
        never see a torn line, and the retry writes the batch again)."""
        assert self._fd is not None and self._open_path is not None
        try:
            os.ftruncate(self._fd, self._written)
        except OSError:
            # Left as it is, unlocked: the next file started here or by another process
            # completes it as a dead writer's (whole lines only), a new file takes the retry.
            os.close(self._fd)
            self._fd = None
            self._open_path = None

    def _start(self, now: float) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._complete_orphans()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{now % 1:.6f}"[1:]
        path = self.folder / f"{self.prefix}-{stamp}Z-{os.getpid()}.ndjson{OPEN_SUFFIX}"
        # Made under a hidden name and locked before it is renamed: no other process starting
        # a file can take it for a dead writer's in between.
        hidden = path.with_name("." + path.name)
        fd = os.open(hidden, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.replace(hidden, path)
        except OSError:
            os.close(fd)
            hidden.unlink(missing_ok=True)
            raise
        self._fd = fd
        self._open_path = path
        self._opened_at = now
        self._written = 0

    def _finish(self) -> None:
        """Publish the file being written (renamed while still locked); an empty one is
        deleted instead: loaders never see a file without an event."""
        if self._fd is None or self._open_path is None:
            return
        fd, path = self._fd, self._open_path
        self._fd = None
        self._open_path = None
        try:
            if self._written:
                os.replace(path, _completed(path))
            else:
                path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    def _complete_orphans(self) -> None:
        """Complete the ``.open`` files no live process holds (one killed while writing):
        whole lines only, as their writer's last line may be cut short. Its events are not
        lost: a batch is taken off the queue only once it is written in full."""
        if fcntl is None:  # pragma: no cover - Windows
            return
        for path in sorted(self.folder.glob(f"{self.prefix}-*.ndjson{OPEN_SUFFIX}")):
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:  # completed by another process meanwhile
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    continue  # completed by another process, and the name taken again
                whole = _end_of_last_line(fd)
                os.ftruncate(fd, whole)
                if whole:
                    os.replace(path, _completed(path))
                else:
                    path.unlink()
            except OSError:  # BlockingIOError: its writer is alive; else: next time
                continue
            finally:
                os.close(fd)

    def after_fork(self) -> None:
        """In a forked child: the parent's open file is the parent's to finish (closing this
        copy of its descriptor leaves the parent's lock in place)."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._open_path = None

    async def aclose(self) -> None:
        self._finish()


def _completed(path: Path) -> Path:
    return path.with_suffix("")  # drops ".open"


def _end_of_last_line(fd: int) -> int:
    """The offset just after the file's last newline (0 when it has none)."""
    end = os.fstat(fd).st_size
    while end > 0:
        start = max(0, end - 65536)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0
