"""`Personalizer`: the facade that wires the pure core to a store, a clock and a config.

Every call from a shop's request path goes through `_guard`: in production mode (the default) a
bad event or an internal fault is counted, logged once per kind and answered with a safe default;
with ``strict=True`` it raises. The embedded default (`MemoryStore`) does no I/O, so every method
here is non-blocking and safe to call from async code; the I/O stores of later releases add
``a``-prefixed async twins.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
from cachetools import TTLCache

from ._exceptions import InvalidEvent, PersonalizeError
from ._validation import DEFAULT_LIMITS, EventLimits, check_id, validate_event, validate_traits
from .config import Config, load_config
from .events import Event
from .identity import merge, with_traits
from .intent import IntentExplanation, explain_intent
from .memory_store import MemoryStore
from .page import Page
from .profile import Profile
from .reducer import reduce
from .segments import SegmentEvaluator
from .store import Store
from .widget import Widget

logger = logging.getLogger("personalize_sdk")

Clock = Callable[[], float]


@attrs.frozen
class Explanation:
    """Why a shopper is in each segment, and how their buyer-intent score is made up."""

    segments: Mapping[str, str]
    intent: IntentExplanation

    def __str__(self) -> str:
        lines = [f"{name}: {reason}" if reason else name for name, reason in self.segments.items()]
        return "\n".join([*lines, str(self.intent)])


class Personalizer:
    """Track events, keep profiles, evaluate segments and render widgets for one shop."""

    def __init__(
        self,
        config: Config | Mapping[str, Any] | str | Path | None = None,
        *,
        store: Store | None = None,
        catalog: Any = None,
        clock: Clock | None = None,
        strict: bool = False,
        limits: EventLimits = DEFAULT_LIMITS,
    ) -> None:
        self.config = load_config(config)
        settings = self.config.settings
        self.store: Store = (
            store if store is not None else MemoryStore(max_profiles=settings.max_profiles)
        )
        self.catalog = catalog
        self.clock: Clock = clock if clock is not None else time.time
        self.strict = strict
        self.limits = limits
        self._settings = settings
        self._evaluator = SegmentEvaluator(self.config)
        ttl = settings.segment_cache_ttl_seconds
        self._segment_cache: TTLCache[str, tuple[Profile | None, frozenset[str]]] | None = (
            TTLCache(maxsize=min(settings.max_profiles, 100_000), ttl=ttl, timer=self.clock)
            if ttl > 0
            else None
        )
        self._stats_lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._closed = False

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Personalizer:
        """Build from a TOML config file; keyword arguments are passed to the constructor."""
        return cls(Config.from_file(path), **overrides)

    # -- events -------------------------------------------------------------------------------

    def track(
        self,
        visitor_id: str,
        event: str,
        properties: Mapping[str, Any] | None = None,
        *,
        timestamp: float | str | Any = None,
        message_id: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> str | None:
        """Fold one event into the shopper's profile before returning; no network I/O.

        Returns the event's message id, or None when the event was rejected (production mode:
        counted in `stats()` and logged once per kind; strict mode raises `InvalidEvent`).
        A caller-supplied `message_id` seen before for this shopper is accepted but not counted
        twice.
        """
        try:
            accepted = validate_event(
                visitor_id,
                event,
                properties,
                timestamp=timestamp,
                message_id=message_id,
                context=context,
                now=self.clock(),
                limits=self.limits,
            )
            key, user_id = self._resolve(visitor_id)
            self.store.update(key, _fold, accepted, user_id, self._settings)
        except Exception as error:  # noqa: BLE001 - the SDK never breaks its host
            self._failed("track", error)
            return None
        return accepted.message_id

    def identify(
        self,
        visitor_id: str,
        user_id: str | None = None,
        traits: Mapping[str, Any] | None = None,
    ) -> Profile | None:
        """Attach traits and, with a `user_id`, merge the visitor's history into the customer.

        After this the visitor id resolves to the customer. Calling it again is harmless: a
        visitor is merged once. Traits set to None are removed. Returns the updated profile
        (None if the call was rejected in production mode).
        """
        try:
            check_id(visitor_id, "visitor_id", self.limits)
            if user_id is not None:
                check_id(user_id, "user_id", self.limits)
            traits = validate_traits(traits, self.limits)
            store = self.store
            if user_id is None:
                key, linked_user = self._resolve(visitor_id)
                profile = store.update(key, _set_traits, visitor_id, linked_user, traits)
                self._invalidate(key)
                return profile
            # Link first: events tracked from here on go straight to the customer, so nothing
            # lands on the anonymous profile between taking it and merging it.
            store.link(visitor_id, user_id)
            visitor = store.pop(f"v:{visitor_id}")
            key = f"u:{user_id}"
            profile = store.update(
                key, _merge_visitor, visitor, visitor_id, user_id, traits, self._settings
            )
            self._invalidate(key, f"v:{visitor_id}")
        except Exception as error:  # noqa: BLE001
            self._failed("identify", error)
            return None
        self._count("identifies")
        return profile

    # -- reading ------------------------------------------------------------------------------

    def profile(self, visitor_id: str) -> Profile:
        """The shopper's profile (an empty one for an unknown visitor; nothing is stored)."""
        key, user_id = self._resolve(visitor_id)
        found = self.store.load(key)
        return found if found is not None else Profile(visitor_id=visitor_id, user_id=user_id)

    def segments(self, visitor_id: str) -> frozenset[str]:
        """The shopper's segments, cached per process until their profile changes."""
        try:
            key, user_id = self._resolve(visitor_id)
            profile = self.store.load(key)
            cache = self._segment_cache
            if cache is not None:
                try:
                    computed_from, found = cache[key]
                except KeyError:
                    pass
                else:
                    # A changed profile is a new object: identity is the invalidation signal.
                    if computed_from is profile:
                        return found
            found = self._evaluator.evaluate(
                profile if profile is not None else Profile(visitor_id=visitor_id, user_id=user_id),
                self.clock(),
            )
            if cache is not None:
                cache[key] = (profile, found)
            return found
        except Exception as error:  # noqa: BLE001
            self._failed("segments", error)
            return frozenset()

    def explain(self, visitor_id: str) -> Explanation:
        """Each segment with the reason the shopper is in it, and the buyer-intent factors."""
        profile = self.profile(visitor_id)
        return Explanation(self._evaluator.explain(profile, self.clock()), explain_intent(profile))

    def widgets(self, visitor_id: str, page: Page, slot: str | None = None) -> list[Widget]:
        """Widgets for this shopper on this page. This release has no campaigns: always empty."""
        return []

    def render(self, visitor_id: str, page: Page, slot: str = "top") -> str:
        """HTML of one slot, safe to insert. This release has no campaigns: always empty."""
        return "".join(str(widget.html) for widget in self.widgets(visitor_id, page, slot))

    # -- housekeeping -------------------------------------------------------------------------

    def forget(self, user_or_visitor_id: str) -> None:
        """Erase everything about a shopper: their profile, links and cached segments.

        Given a visitor id linked to a customer, the customer is erased too.
        """
        check_id(user_or_visitor_id, "user_or_visitor_id", self.limits)
        store = self.store
        user_id = store.resolve(user_or_visitor_id)
        visitors = {user_or_visitor_id}
        users = {user_or_visitor_id} if user_id is None else {user_id}
        for user in users:
            visitors.update(store.unlink_user(user))
            customer = store.pop(f"u:{user}")
            if customer is not None:
                visitors.update(customer.aliases)
        for visitor in visitors:
            store.unlink(visitor)
            store.pop(f"v:{visitor}")
        self._invalidate(*(f"u:{u}" for u in users), *(f"v:{v}" for v in visitors))

    def stats(self) -> dict[str, int]:
        """Counters since start: identifies, rejected calls by kind (`invalid.<kind>`) and internal
        faults (`errors.<call>.<store|internal>`)."""
        with self._stats_lock:
            return dict(self._counts)

    def flush(self) -> None:
        self.store.flush()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.store.close()

    def __enter__(self) -> Personalizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _resolve(self, visitor_id: str) -> tuple[str, str | None]:
        user_id = self.store.resolve(visitor_id)
        return (f"v:{visitor_id}", None) if user_id is None else (f"u:{user_id}", user_id)

    def _invalidate(self, *keys: str) -> None:
        cache = self._segment_cache
        if cache is not None:
            for key in keys:
                cache.pop(key, None)

    def _count(self, name: str) -> int:
        with self._stats_lock:
            n = self._counts[name] = self._counts.get(name, 0) + 1
        return n

    def _failed(self, call: str, error: Exception) -> None:
        if self.strict:
            raise error
        if isinstance(error, InvalidEvent):
            if self._count(f"invalid.{error.kind}") == 1:
                logger.warning(
                    "%s: rejected (%s): %s; later rejections of this kind are only "
                    "counted in stats()",
                    call,
                    error.kind,
                    error,
                )
        else:
            kind = "store" if isinstance(error, PersonalizeError) else "internal"
            if self._count(f"errors.{call}.{kind}") == 1:
                logger.error(
                    "%s failed; the page goes on without personalisation (logged "
                    "once, counted in stats())",
                    call,
                    exc_info=error,
                )


def _fold(profile: Profile | None, event: Event, user_id: str | None, settings: Any) -> Profile:
    if profile is None:
        profile = Profile(visitor_id=event.visitor_id, user_id=user_id)
    return reduce(profile, event, settings)


def _set_traits(
    profile: Profile | None, visitor_id: str, user_id: str | None, traits: Mapping[str, Any]
) -> Profile:
    if profile is None:
        profile = Profile(visitor_id=visitor_id, user_id=user_id)
    return with_traits(profile, traits)


def _merge_visitor(
    customer: Profile | None,
    visitor: Profile | None,
    visitor_id: str,
    user_id: str,
    traits: Mapping[str, Any],
    settings: Any,
) -> Profile:
    if customer is None:
        customer = Profile(visitor_id=visitor_id, user_id=user_id)
    if visitor is not None:
        customer = merge(customer, visitor, settings)
    return with_traits(customer, traits)
