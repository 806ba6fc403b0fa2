"""A real, small file system to fill up: a tmpfs mounted for one test.

Mounting needs root. Without it the tests that need one are skipped, except in CI
(``CI=true``), where they run as root and must not be skipped."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted(folder: Path, size: str = "256k") -> Iterator[Path]:
    if os.geteuid() != 0 and os.environ.get("CI") != "true":
        pytest.skip("mounting a small tmpfs needs root (CI runs it)")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        # Lazy: a file a failed test left open must not fail the unmount too.
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def free_bytes(disk: Path) -> int:
    stat = os.statvfs(disk)
    return stat.f_bavail * stat.f_frsize


def fill(disk: Path, leave: int) -> Path:
    """Take all but about `leave` bytes of the disk's room with one file; delete it to give the
    room back."""
    filler = disk / "filler"
    filler.write_bytes(b"\0" * max(0, free_bytes(disk) - leave))
    return filler
