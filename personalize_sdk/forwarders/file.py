"""`FileForwarder`: newline-delimited JSON files for a warehouse to load, rotated by size and
by age.

Each process writes its own file, ``<prefix>-<UTC time>-<pid>.ndjson.open``, and renames it to
``.ndjson`` when it rotates or closes: a loader picks up only the ``*.ndjson`` files, which are
complete and never written again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .._exceptions import ConfigError
from ._base import BaseForwarder, DeliveryFailed, expect


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
        self._file: IO[bytes] | None = None
        self._open_path: Path | None = None
        self._opened_at = 0.0
        self._written = 0

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
        try:
            now = time.time()
            if self._file is not None and (
                self._written >= self.rotate_bytes or now - self._opened_at >= self.rotate_seconds
            ):
                self._finish()
            if self._file is None:
                self._start(now)
            assert self._file is not None
            data = b"\n".join(items) + b"\n"
            self._file.write(data)
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
            self._written += len(data)
        except OSError as error:
            self._abandon()
            raise DeliveryFailed(f"cannot write {self.folder}: {error}", retryable=True) from None

    def _start(self, now: float) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{now % 1:.6f}"[1:]
        self._open_path = self.folder / f"{self.prefix}-{stamp}Z-{os.getpid()}.ndjson.open"
        self._file = open(self._open_path, "ab")  # noqa: SIM115 - kept open across batches
        self._opened_at = now
        self._written = 0

    def _finish(self) -> None:
        if self._file is None or self._open_path is None:
            return
        self._file.close()
        self._file = None
        os.replace(self._open_path, self._open_path.with_suffix(""))  # drops ".open"
        self._open_path = None

    def _abandon(self) -> None:
        """After a write error: close what is open; the next batch starts a new file."""
        if self._file is not None:
            try:
                self._finish()
            except OSError:
                self._file = None
                self._open_path = None

    def after_fork(self) -> None:
        """In a forked child: the parent's open file is the parent's to finish."""
        self._file = None
        self._open_path = None

    async def aclose(self) -> None:
        self._finish()
