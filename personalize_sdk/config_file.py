"""`FileConfigSource`: reload the config when its file changes.

    pz = Personalizer.from_file("personalize.toml", watch=True)     # checks every second

Polling, not inotify: a stat every `interval` seconds costs next to nothing, works on every
platform and on network or container-mounted files, and sees editors that replace the file
(a new inode) as well as those that write it in place. A change is the file's inode, size or
modification time; a file still being written (it changed while it was read) is read again on
the next poll. Write the new file next to the old one and rename it over it for a switch that
is never half-written. TOML, or JSON for a ``.json`` file.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import file_format
from .config_source import ConfigSource

Stamp = tuple[int, int, int]


class FileConfigSource(ConfigSource):
    kind = "file"

    def __init__(self, path: str | os.PathLike[str], *, interval: float = 1.0) -> None:
        super().__init__()
        self.path = Path(path)
        self.interval = interval
        self.format = file_format(self.path)
        # The file as it is now, before the Personalizer reads it: a change from here on is new.
        self._seen = self._stamp_or_none()

    def _run(self) -> None:
        while not self._wait(self.interval):
            self.poll()

    def poll(self) -> bool:
        """Look at the file once (the thread does this every `interval` seconds); whether a
        new config was applied."""
        try:
            stamp = self._stamp()
            if stamp == self._seen:
                self._recovered(str(self.path))
                return False
            text = self.path.read_bytes()
            if self._stamp() != stamp:
                return False  # written to as we read: read it again once it is done
        except OSError as error:
            self._fault("unreadable", f"{self.path}: {error.strerror or error}")
            return False
        self._recovered(str(self.path))
        self._seen = stamp
        return self._offer(text, format=self.format, source=str(self.path))

    def _stamp(self) -> Stamp:
        info = os.stat(self.path)
        return (info.st_ino, info.st_size, info.st_mtime_ns)

    def _stamp_or_none(self) -> Stamp | None:
        try:
            return self._stamp()
        except OSError:
            return None
