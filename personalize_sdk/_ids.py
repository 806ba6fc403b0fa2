"""Message ids: unique across processes and restarts, cheap to make.

A random 64-bit prefix per process (16 hex digits) plus a 16-digit decimal sequence: 32
characters, ~30x cheaper than `str(uuid4())` and as unique in practice. The prefix is redrawn in
a forked child so parent and child never share a sequence.
"""

from __future__ import annotations

import itertools
import os

_state: tuple[str, itertools.count[int]]


def _reseed() -> None:
    global _state  # noqa: PLW0603 - one per-process state, redrawn after fork
    _state = (os.urandom(8).hex(), itertools.count(10**15))


def new_message_id() -> str:
    prefix, counter = _state
    return f"{prefix}{next(counter)}"


_reseed()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)
