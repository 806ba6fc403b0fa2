"""`ConfigSource`: what the config sources share (a file, a URL, Redis pub/sub).

A source watches for a new config and hands each valid one to its `apply` callable (a
Personalizer's `apply_config`), which swaps it in atomically. The request path never waits on a
source: each runs in a daemon thread of its own, one per source, so a slow URL never delays the
file watcher or a Redis switch. A source

- starts only when told to (`start`), stops with `stop` (the Personalizer's `close` does both);
- is fork-safe: a forked child (gunicorn ``--preload``) starts its own thread for every source
  that was running in the parent, and the child keeps the config the parent had;
- rejects an invalid config (a `ConfigError` naming the file, campaign and field): the current
  one stays, an ERROR is logged once for that version, `rejected` is counted;
- degrades on a fault (file gone, server down, Redis away): the current config stays, the fault
  is logged once per kind and counted in `faults.<kind>`, and retried until it recovers, which
  is logged too.

Its counters appear in `Personalizer.stats()` as ``config.<kind>.<counter>``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from ._exceptions import ConfigError
from .config import Config

logger = logging.getLogger("personalize_sdk.config")

Apply = Callable[[Config], Any]
DEFAULT_CHANNEL = "personalize:config"
"""The Redis channel (and key) of `publish_config` and `RedisConfigSource`."""


class ConfigSource:
    kind: ClassVar[str] = "source"
    """Names the counters (``config.<kind>.*``) and the thread."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._apply: Callable[[], Apply | None] | None = None
        self._failing: set[str] = set()
        self._digest: bytes | None = None
        self._reset()
        _sources.add(self)

    def _reset(self) -> None:
        """Thread state, new in every process (at start and after a fork)."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self, apply: Apply) -> None:
        """Watch in a background thread from now on, passing each valid new config to `apply`.

        A bound method is held weakly: once its object is gone, the thread ends by itself.
        """
        if hasattr(apply, "__self__") and hasattr(apply, "__func__"):
            self._apply = weakref.WeakMethod(apply)  # type: ignore[arg-type]
        else:
            self._apply = lambda: apply
        self._launch()

    def _launch(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._guarded_run, name=f"personalize-config-{self.kind}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop watching; waits up to `timeout` seconds for the thread to end."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    # -- for the sources ------------------------------------------------------------------------

    def _run(self) -> None:
        """Watch until `_stopping()`; overridden by every source."""
        raise NotImplementedError

    def _guarded_run(self) -> None:
        try:
            self._run()
        except Exception:  # pragma: no cover - every source catches its own faults
            logger.exception(
                "personalize's %s config source stopped on an internal error", self.kind
            )

    def _wait(self, seconds: float) -> bool:
        """Sleep `seconds` unless stopped meanwhile; whether to stop now."""
        return self._stop.wait(seconds) or self._target() is None

    def _stopping(self) -> bool:
        return self._stop.is_set() or self._target() is None

    def _target(self) -> Apply | None:
        return None if self._apply is None else self._apply()

    def _offer(self, text: str | bytes, *, format: str, source: str) -> bool:
        """Parse `text` and apply it unless it is the text offered last time; whether applied.

        Invalid text is rejected and logged (once: the same text is not tried again).
        """
        raw = text.encode("utf-8") if isinstance(text, str) else text
        digest = hashlib.sha256(raw).digest()
        if digest == self._digest:
            self._count("unchanged")
            return False
        self._digest = digest
        apply = self._target()
        if apply is None:
            return False
        try:
            apply(Config.from_text(raw, format=format, source=source, allow_empty=False))
        except ConfigError as error:
            self._count("rejected")
            logger.error("new config rejected, the current one is kept: %s", error)
            return False
        except Exception:
            self._count("rejected")
            logger.exception(
                "new config from %s could not be applied; the current one is kept", source
            )
            return False
        self._count("applied")
        logger.info("new config applied from %s", source)
        return True

    def _fault(self, kind: str, message: str) -> None:
        """A fault of this kind: counted each time, logged the first time until it recovers."""
        self._count(f"faults.{kind}")
        with self._lock:
            first = kind not in self._failing
            self._failing.add(kind)
        if first:
            logger.warning(
                "config source failed (%s): %s; the current config is kept, retrying (logged "
                "once until it recovers, counted in stats())",
                kind,
                message,
            )

    def _recovered(self, what: str) -> None:
        """Everything works again: log it once, and log the next fault again."""
        with self._lock:
            if not self._failing:
                return
            kinds = sorted(self._failing)
            self._failing.clear()
        logger.warning("config source %s works again (after %s)", what, ", ".join(kinds))

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + 1


_sources: weakref.WeakSet[ConfigSource] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for source in list(_sources):
        was_running = source._thread is not None and not source._stop.is_set()
        source._reset()
        if was_running and source._target() is not None:
            source._launch()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
