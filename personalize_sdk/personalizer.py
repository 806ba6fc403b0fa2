"""`Personalizer`: the facade that wires the pure core to a store, a clock and a config.

Every call from a shop's request path catches its own faults: in production mode (the default)
a bad event or an internal fault is counted in `stats()`, logged once per kind and answered with
a safe default; with ``strict=True`` it raises. The embedded default (`MemoryStore`) does no
I/O, so every method here is non-blocking and safe to call from async code. With a store or a
catalog that does I/O (`RedisStore`, `SQLiteStore`, a `CallableCatalog`), async code uses the
``a``-prefixed twins (`atrack`, `aidentify`, `aprofile`, `asegments`, `awidgets`, `arender`,
see `_async_twins`), which never block the event loop.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import attrs

from ._async_twins import AsyncTwins
from ._exceptions import ConfigError, InvalidEvent, PersonalizeError, StoreUnavailable
from ._ids import new_message_id
from ._limits import DEFAULT_LIMITS, EventLimits
from ._stats import Stats
from ._validation import check_id, validate_event, validate_traits
from .beacon import BeaconResult, parse_body
from .campaign import Campaign
from .campaign_verdict import CampaignVerdict
from .catalog import Catalog, as_catalog
from .config import Config, Settings, load_config
from .config_file import FileConfigSource
from .config_source import DEFAULT_CHANNEL, ConfigSource
from .copy import CopyError
from .coupons import CouponBook
from .delivery_config import DeliverySettings
from .events import Event
from .frozen_event import FrozenEvent, freeze, thawed
from .identity import MAX_TRAITS, merge, with_traits
from .intent import IntentExplanation, explain_intent
from .memory_store import MemoryStore
from .page import Page
from .popularity_feed import PopularityFeed
from .profile import Profile, profile_key
from .reducer import reduce
from .segment_cache import SegmentCache
from .segment_message import Identified
from .segments import SegmentEvaluator, affinity_scores
from .signing import Signer, derive, resolve_secret
from .store import Store
from .store_url import open_store
from .user_tokens import DEFAULT_TTL_SECONDS, UserTokens
from .widget import Widget
from .widget_pipeline import WidgetPipeline

logger = logging.getLogger("personalize_sdk")
T = TypeVar("T")

_NO_SEGMENTS: frozenset[str] = frozenset()
"""What `widgets` passes when no campaign reads segments: none are evaluated."""

Clock = Callable[[], float]


@attrs.frozen
class Explanation:
    """Why a shopper is in each segment, and how their buyer-intent score is made up."""

    segments: Mapping[str, str]
    intent: IntentExplanation

    def __str__(self) -> str:
        lines = [f"{name}: {reason}" if reason else name for name, reason in self.segments.items()]
        return "\n".join([*lines, str(self.intent)])


@attrs.frozen
class _Live:
    """Everything derived from one config. `Personalizer` swaps it as one reference, so a call
    reads it once and sees the old config or the new one, never a mix of the two."""

    config: Config
    settings: Settings
    evaluator: SegmentEvaluator
    segment_cache: SegmentCache
    """New with each config: segments computed under the old one are never served."""
    pipeline: WidgetPipeline
    counted_events: frozenset[str]
    generation: int


class Personalizer(AsyncTwins):
    """Track events, keep profiles, evaluate segments and render widgets for one shop."""

    def __init__(
        self,
        config: Config | Mapping[str, Any] | str | Path | None = None,
        *,
        store: Store | str | None = None,
        catalog: Any = None,
        clock: Clock | None = None,
        strict: bool = False,
        limits: EventLimits = DEFAULT_LIMITS,
        secret: str | bytes | None = None,
        watch: bool = False,
        config_url: str | None = None,
        config_redis: Any = None,
        config_channel: str = DEFAULT_CHANNEL,
        config_sources: Sequence[ConfigSource] = (),
        forwarders: Sequence[Any] = (),
        delivery: DeliverySettings | None = None,
    ) -> None:
        # Made before the config is read, so the file watcher misses no change made meanwhile.
        sources = _config_sources(config, watch, config_url, config_redis, config_channel)
        loaded = load_config(config)
        settings = loaded.settings
        if store is None and loaded.store is not None:
            store = loaded.store
        if isinstance(store, str):
            store = open_store(store)
        self.store: Store = (
            store if store is not None else MemoryStore(max_profiles=settings.max_profiles)
        )
        self._applies = callable(getattr(self.store, "apply", None))
        """The store takes events by `apply` (`RedisStore`: it may fold them again later, so it
        gets a frozen copy to keep); else by `update`, its answer unused."""
        self.catalog: Catalog | None = as_catalog(catalog)
        self.clock: Clock = clock if clock is not None else time.time
        self.strict = strict
        self.limits = limits
        self._stats = Stats()
        self._accepted = self._stats.accepted
        self._closed = False
        key, self.secret_is_ephemeral = resolve_secret(secret)
        """True when no secret was given: signatures then hold in this process only."""
        self.signer = Signer(derive(key, "signed-values"))
        """Signs values the browser keeps (the visitor cookie of the integrations)."""
        self._key = key
        self.user_tokens = UserTokens(key)
        """Verifies the tokens `user_token` issues (the collector, for its client keys)."""
        self._warned_tokens = False
        self._swap_lock = threading.Lock()
        _LIVE.add(self)  # a forked child gets a fresh `_swap_lock` (`_after_fork_in_child`)
        # A store shared by many processes may share the popularity counters too (RedisStore):
        # bestsellers then count the whole fleet's orders, not this process's.
        shared = getattr(self.store, "popularity_feed", None)
        self._popularity_feed: PopularityFeed | None = (
            shared(self.clock) if callable(shared) else None
        )
        self._live = self._derive(loaded, 1)
        self._outbox = _outbox(loaded, forwarders, delivery)
        self._forward = None if self._outbox is None else self._outbox.put
        """Queues an accepted event for the forwarders: one deque append, no I/O."""
        self.config_sources: tuple[ConfigSource, ...] = (*config_sources, *sources)
        """Where new configs come from (see `apply_config`), each watching in its own thread."""
        for source in self.config_sources:
            source.start(self.apply_config)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Personalizer:
        """Build from a TOML config file; keyword arguments are passed to the constructor
        (``watch=True`` reloads the file when it changes)."""
        return cls(Path(path), **overrides)

    # -- the live config ----------------------------------------------------------------------

    @property
    def config(self) -> Config:
        """The config in force now (`apply_config` replaces it)."""
        return self._live.config

    @property
    def config_generation(self) -> int:
        """1 for the config the Personalizer was built with, one more for each applied since."""
        return self._live.generation

    @property
    def coupons(self) -> CouponBook:
        """Issues and verifies the campaigns' coupon codes: ``pz.coupons.verify(code, now)``."""
        return self._live.pipeline.coupons

    @property
    def popularity(self) -> PopularityFeed | None:
        """Shop-wide views, adds and orders per product, counted while a campaign recommends."""
        return self._live.pipeline.popularity

    def apply_config(self, config: Config | Mapping[str, Any] | str | Path) -> int:
        """Switch this live Personalizer to another config, safely from any thread.

        Everything derived from the config (segment evaluator, campaign index, coupon book,
        an empty segment cache) is built first, then one reference is swapped: a call in
        flight finishes on the config it started with. An invalid config raises `ConfigError`
        and changes nothing. Profiles, the store and the popularity counters carry over.
        Returns the new config generation.
        """
        loaded = load_config(config)
        with self._swap_lock:  # one swap at a time, so generations count up without a gap
            live = self._derive(loaded, self._live.generation + 1)
            self._live = live
        self._stats.count("config.applied")
        return live.generation

    def _derive(self, config: Config, generation: int) -> _Live:
        settings = config.settings
        pipeline = WidgetPipeline(
            config,
            self.catalog,
            self._key,
            self._failed_campaign,
            ephemeral_secret=self.secret_is_ephemeral,
            popularity=self._popularity_feed,
        )
        if pipeline.popularity is not None:
            self._popularity_feed = pipeline.popularity
        return _Live(
            config=config,
            settings=settings,
            evaluator=SegmentEvaluator(config),
            segment_cache=SegmentCache(
                maxsize=min(settings.max_profiles, 100_000),
                ttl=settings.segment_cache_ttl_seconds,
                timer=self.clock,
            ),
            pipeline=pipeline,
            counted_events=pipeline.counted_events,
            generation=generation,
        )

    # -- events -------------------------------------------------------------------------------

    def track(
        self,
        visitor_id: str | None,
        event: str,
        properties: Mapping[str, Any] | None = None,
        *,
        timestamp: float | str | datetime | None = None,
        message_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        user_id: str | None = None,
    ) -> str | None:
        """Fold one event into the shopper's profile before returning; no network I/O.

        The event lands on the customer `user_id` when given (server-side events such as an
        order webhook; `visitor_id` may then be None), else on whoever `visitor_id` is: the
        customer it was linked to by `identify`, or the anonymous visitor.

        Returns the event's message id, or None when the event was rejected (production mode:
        counted in `stats()` and logged once per kind; strict mode raises `InvalidEvent`).
        A caller-supplied `message_id` seen before for this shopper is accepted but not counted
        twice. A `timestamp` in the future is taken as now (other machines' clocks drift).
        """
        try:
            if self._closed:
                raise PersonalizeError("this Personalizer is closed")
            # Positional on purpose: this is the hottest call of the SDK.
            accepted = validate_event(
                visitor_id,
                event,
                properties,
                timestamp,
                message_id,
                context,
                self.clock(),
                self.limits,
                user_id,
            )
            self._keep(accepted)
        except Exception as error:  # noqa: BLE001 - the SDK never breaks its host
            self._failed("track", error)
            return None
        self._accepted()
        return accepted.message_id

    def record(self, accepted: Event) -> str | None:
        """`track()` for an event validated already (by `_validation.validate_event`, as the
        collector does for a whole request before it applies any of it): forwarded, folded
        into the profile and counted like a tracked one, without being validated twice."""
        try:
            if self._closed:
                raise PersonalizeError("this Personalizer is closed")
            self._keep(accepted)
        except Exception as error:  # noqa: BLE001 - the SDK never breaks its host
            self._failed("track", error)
            return None
        self._accepted()
        return accepted.message_id

    def _keep(self, accepted: Event) -> None:
        """Forward an accepted event, fold it into the shopper's profile, count it."""
        visitor_id, name, _, _, _, _, caller_message_id, user_id = accepted  # one unpacking
        forward = self._forward
        live = self._live  # read once: one config for the whole call
        if self._applies:  # the store may fold it again later: it keeps a frozen copy
            kept = freeze(accepted)
            if forward is not None:  # forwarded even if the store is down right now
                forward(kept)  # frozen already: the outbox takes it as it is
            self.store.apply(  # type: ignore[attr-defined]
                visitor_id, user_id, _fold, accepted, live.settings,
                replay=(_fold_thawed, (kept, caller_message_id, live.settings)),
            )  # fmt: skip
        else:
            if forward is not None:
                forward(accepted)
            self.store.update(visitor_id, user_id, _fold, accepted, live.settings)
        if name in live.counted_events:
            self._count_popularity(live, accepted)

    def identify(
        self,
        visitor_id: str | None,
        user_id: str | None = None,
        traits: Mapping[str, Any] | None = None,
    ) -> Profile | None:
        """Attach traits and, with a `user_id`, merge the visitor's history into the customer.

        After this the visitor id resolves to the customer. Calling it again is harmless: a
        visitor's history is merged once. Traits set to None are removed. With no `visitor_id`
        the traits go to the customer `user_id` alone (a CRM sync, a server-side identify).
        Returns the updated profile (None if the call was rejected in production mode).
        """
        try:
            if self._closed:
                raise PersonalizeError("this Personalizer is closed")
            if visitor_id is not None or user_id is None:
                check_id(visitor_id, "visitor_id", self.limits)
            if user_id is not None:
                check_id(user_id, "user_id", self.limits)
            traits = validate_traits(traits, self.limits)
            if user_id is None or visitor_id is None:
                profile = self.store.update(visitor_id, user_id, _set_traits, traits)
            else:
                profile = self.store.identify(
                    visitor_id,
                    user_id,
                    _merge_visitor,
                    visitor_id,
                    user_id,
                    traits,
                    self._live.settings,
                )
            dropped = [k for k, v in traits.items() if v is not None and k not in profile.traits]
            if dropped:  # linked and merged all the same: only these traits were not kept
                raise InvalidEvent(
                    f"a profile holds at most {MAX_TRAITS} traits; not kept: {dropped[:5]}",
                    field="traits",
                    kind="too_many_traits",
                )
        except Exception as error:  # noqa: BLE001
            self._failed("identify", error)
            return None
        self._stats.count("identifies")
        if self._forward is not None:
            self._forward(Identified(visitor_id, user_id, traits, self.clock(), new_message_id()))
        return profile

    def alias(self, previous_id: str, user_id: str) -> Profile | None:
        """Segment's alias: the shopper known as `previous_id`, an anonymous visitor id or a
        user id the customer had before, is the customer `user_id` from now on.

        As `identify(previous_id, user_id)` for a visitor id. A customer profile under
        `previous_id` is merged into `user_id`'s too (once, like a visitor's), the visitor ids
        linked to it are linked to `user_id`, and it is removed, so `forget(user_id)` leaves
        nothing behind. Returns the customer's profile (None if the call was rejected in
        production mode).
        """
        try:
            if self._closed:
                raise PersonalizeError("this Personalizer is closed")
            check_id(previous_id, "previous_id", self.limits)
            check_id(user_id, "user_id", self.limits)
            store = self.store
            settings = self._live.settings
            if previous_id != user_id:
                earlier = store.load(profile_key(None, previous_id))
                if earlier is not None:
                    store.update(None, user_id, _merge_customer, earlier, settings)
                for visitor_id in store.unlink_user(previous_id):
                    store.identify(
                        visitor_id, user_id, _merge_visitor, visitor_id, user_id, {}, settings
                    )
                # Removed only once merged: a store fault before this leaves it to a retry.
                gone = store.pop(profile_key(None, previous_id)) if earlier is not None else None
                if gone is not None and gone != earlier:
                    # Written between the read and the removal: put back, so nothing is lost.
                    store.update(None, previous_id, _put_back, gone, settings)
            profile = store.identify(
                previous_id, user_id, _merge_visitor, previous_id, user_id, {}, settings
            )
        except Exception as error:  # noqa: BLE001
            self._failed("alias", error)
            return None
        self._stats.count("identifies")
        if self._forward is not None:
            self._forward(Identified(previous_id, user_id, {}, self.clock(), new_message_id()))
        return profile

    def user_token(self, user_id: str, *, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> str:
        """A token for the signed-in customer `user_id`, for the shop's page or app to send
        to the collector with its identify (``context.personalize.userToken``): with a client
        write key, only an identify that carries one links the device to the customer. Issue
        it once the customer has signed in; it expires after `ttl_seconds` (30 days). It is
        verifiable by every process sharing the secret. A bad id raises `InvalidEvent`, one
        too long for a token (over about 355 bytes of UTF-8) `ValueError`."""
        check_id(user_id, "user_id", self.limits)
        if self.secret_is_ephemeral and not self._warned_tokens:
            self._warned_tokens = True
            logger.warning(
                "user tokens are signed with a key made up for this process: a collector in "
                "another process will not accept them. Set PERSONALIZE_SECRET or pass "
                "Personalizer(secret=...)."
            )
        return self.user_tokens.issue(user_id, self.clock(), ttl_seconds)

    # -- reading ------------------------------------------------------------------------------

    def profile(self, visitor_id: str | None = None, *, user_id: str | None = None) -> Profile:
        """The shopper's profile (an empty one for an unknown shopper; nothing is stored)."""
        try:
            return self._load(visitor_id, user_id)[0]
        except Exception as error:  # noqa: BLE001
            self._failed("profile", error)
            return Profile(visitor_id=visitor_id, user_id=user_id)

    def segments(
        self, visitor_id: str | None = None, *, user_id: str | None = None
    ) -> frozenset[str]:
        """The shopper's segments, cached per process until their profile changes."""
        try:
            profile, stored, key = self._load(visitor_id, user_id)
            live = self._live
            # The cache first, inline: most calls end here (an empty set is looked up again).
            found = live.segment_cache.get(key, stored)
            return found or self._segments_of(live, profile, stored, key)
        except Exception as error:  # noqa: BLE001
            self._failed("segments", error)
            return frozenset()

    def explain(self, visitor_id: str | None = None, *, user_id: str | None = None) -> Explanation:
        """Each segment with the reason the shopper is in it, and the buyer-intent factors."""
        try:
            profile = self._load(visitor_id, user_id)[0]
            return Explanation(
                self._live.evaluator.explain(profile, self.clock()), explain_intent(profile)
            )
        except Exception as error:  # noqa: BLE001
            self._failed("explain", error)
            return Explanation({}, IntentExplanation(0.0, ()))

    def affinities(
        self, visitor_id: str | None = None, *, user_id: str | None = None
    ) -> dict[str, dict[str, float]]:
        """Decayed category and brand affinity scores now, highest first."""
        try:
            profile = self._load(visitor_id, user_id)[0]
            return affinity_scores(profile, self.clock(), self._live.settings)
        except Exception as error:  # noqa: BLE001
            self._failed("affinities", error)
            return {"category": {}, "brand": {}}

    def explain_widgets(
        self, visitor_id: str | None, page: Page, *, user_id: str | None = None
    ) -> list[CampaignVerdict]:
        """Why each enabled campaign of the config shows this shopper on this page, or not: slot
        by slot, by priority, as `widgets` decides (its schedule, the rule of its audience or
        the frequency cap that kept it away, nothing to show, another campaign first in its
        slot, its copy or the catalog failing). For a developer asking why a campaign does not
        appear; `str()` of a verdict reads as a line. Asking counts, logs and changes nothing.
        Raises on a bad page or a store fault (unlike `widgets`)."""
        if not isinstance(page, Page):
            raise InvalidEvent(
                f"expected a Page, got {type(page).__name__}", field="page", kind="type"
            )
        live = self._live
        profile, stored, key = self._load(visitor_id, user_id)
        segments = self._segments_of(live, profile, stored, key)
        return live.pipeline.explain(profile, segments, page, self.clock())

    def widgets(
        self,
        visitor_id: str | None,
        page: Page,
        slot: str | None = None,
        *,
        user_id: str | None = None,
    ) -> list[Widget]:
        """The widgets to show this shopper on this page: at most one per slot (`slot` limits
        it to one slot), at most one overlay, each the highest-priority campaign that is live,
        targets them, is within its frequency caps and has something to show.

        A shopper in a campaign's holdout gets a hidden marker widget (variant "control") so
        their exposure is recorded too. Never raises in production mode: a fault gives no
        widget (counted in `stats()`, logged once); a copy template that fails skips that
        campaign for the next one.
        """
        try:
            live = self._live  # read once: one config for the whole call
            pipeline = live.pipeline
            if not pipeline.campaigns.campaigns:
                return []
            if not isinstance(page, Page):
                raise InvalidEvent(
                    f"expected a Page, got {type(page).__name__}", field="page", kind="type"
                )
            if slot is not None and type(slot) is not str:
                raise InvalidEvent(
                    f"expected a slot name, got {type(slot).__name__}", field="slot", kind="type"
                )
            profile, stored, key = self._load(visitor_id, user_id)
            segments = (
                self._segments_of(live, profile, stored, key)
                if pipeline.campaigns.reads_segments
                else _NO_SEGMENTS
            )
            return pipeline.widgets(profile, segments, page, slot, self.clock())
        except Exception as error:  # noqa: BLE001
            self._failed("widgets", error)
            return []

    def render(
        self,
        visitor_id: str | None,
        page: Page,
        slot: str = "top",
        *,
        user_id: str | None = None,
    ) -> str:
        """HTML of one slot, escaped and safe to insert ("" when nothing is shown there)."""
        return "".join(
            str(widget.html) for widget in self.widgets(visitor_id, page, slot, user_id=user_id)
        )

    def beacon(
        self,
        visitor_id: str | None,
        body: bytes | str | Mapping[str, Any],
        *,
        user_id: str | None = None,
    ) -> BeaconResult:
        """Record widget interactions the browser reported (shown, clicked, dismissed, coupon
        copied, survey answered; see docs/markup.md) for the shopper who sent them.

        Framework-neutral: the integrations call it with the request body and the visitor id
        from the signed cookie. Entries that fail a check are refused one by one (listed in
        the result, counted in `stats()`); the others are tracked. Frequency caps count the
        exposures recorded here.
        """
        try:
            if self._closed:
                raise PersonalizeError("this Personalizer is closed")
            entries = parse_body(body)
            profile = self._load(visitor_id, user_id)[0]
        except Exception as error:  # noqa: BLE001
            self._failed("beacon", error)
            return BeaconResult(0, (f"body: {error}",))
        accepted, rejected = 0, []
        checked = self._live.pipeline.check_beacon(entries, profile, visitor_id, self.clock())
        for number, interaction in checked:
            if isinstance(interaction, InvalidEvent):
                self._stats.count(f"invalid.beacon.{interaction.kind}")
                rejected.append(f"events[{number}].{interaction.field}: {interaction.message}")
                continue
            context = None if interaction.path is None else {"page": {"path": interaction.path}}
            done = self.track(
                visitor_id,
                interaction.event,
                interaction.properties,
                context=context,
                user_id=user_id,
            )
            if done is None:
                rejected.append(f"events[{number}]: not recorded")
            else:
                accepted += 1
        return BeaconResult(accepted, tuple(rejected))

    # -- housekeeping -------------------------------------------------------------------------

    def forget(self, user_or_visitor_id: str) -> None:
        """Erase everything about a shopper: their profile, links and cached segments.

        The id is taken both as a user id and as a visitor id, and everything under either is
        erased: a customer, every visitor id linked to them and every anonymous profile merged
        into them; a visitor linked to a customer erases that customer too. Erasure errs on the
        side of forgetting, and unlike the request-path calls it raises on a bad id or a store
        fault: a failed erasure must not pass silently.
        """
        check_id(user_or_visitor_id, "user_or_visitor_id", self.limits)
        store = self.store
        users = {user_or_visitor_id}
        linked = store.resolve(user_or_visitor_id)
        if linked is not None:
            users.add(linked)
        visitors = {user_or_visitor_id}
        for user in users:
            visitors.update(store.unlink_user(user))
            customer = store.pop(f"u:{user}")
            if customer is not None:
                # Merged visitor ids, unless that device is now linked to someone else.
                visitors.update(v for v in customer.aliases if store.resolve(v) is None)
        for visitor in visitors:
            store.unlink(visitor)
            store.pop(f"v:{visitor}")
        self._live.segment_cache.discard(*(f"u:{u}" for u in users), *(f"v:{v}" for v in visitors))

    def unlink(self, visitor_id: str) -> None:
        """The visitor id no longer opens its customer's profile (at logout, or when a login
        gives the browser a new visitor id): a copy of that cookie is an anonymous visitor
        from now on. The customer keeps their profile and their other devices. Raises on a bad
        id or a store fault, like `forget`."""
        check_id(visitor_id, "visitor_id", self.limits)
        self.store.unlink(visitor_id)

    def stats(self) -> dict[str, int]:
        """Counters since start: accepted `events`, `identifies`, rejected calls by kind
        (`invalid.<kind>`), faults (`errors.<call>.<store|closed|internal>`), configs applied
        (`config.applied`) and each config source's (`config.<file|url|redis>.<counter>`)."""
        counts = self._stats.snapshot()
        for source in self.config_sources:
            for name, value in source.stats().items():
                key = f"config.{source.kind}.{name}"
                counts[key] = counts.get(key, 0) + value
        for name, delivery in self.delivery_stats().items():
            for counter in ("queued", "sent", "retried", "spilled"):
                counts[f"forward.{name}.{counter}"] = delivery[counter]
            for reason, value in delivery["dropped"].items():
                counts[f"forward.{name}.dropped.{reason}"] = value
        return counts

    def delivery_stats(self) -> dict[str, dict[str, Any]]:
        """Per forwarder: `queued` (in memory and on disk), `sent`, `retried`, `spilled` (to
        the disk buffer), `dropped` by reason, `circuit_open` and `last_error` (the message of
        the latest failure, or None)."""
        return {} if self._outbox is None else self._outbox.stats()

    def flush(self, timeout: float | None = None) -> bool:
        """Write pending profile updates to the store and deliver what the forwarders have
        queued, waiting at most `timeout` seconds for both together (default: the config's
        `delivery.drain_timeout`, 5 s). True when nothing is left; never waits without a
        bound."""
        budget = self._drain_timeout() if timeout is None else max(0.0, timeout)
        deadline = time.monotonic() + budget
        written = self._flush_store(budget)
        if self._outbox is None:
            return written
        return self._outbox.flush(max(0.0, deadline - time.monotonic())) and written

    def close(self) -> None:
        """Stop the config sources, write the store's pending updates, then deliver what the
        forwarders have queued, each within the drain timeout (`delivery.drain_timeout`; what
        a forwarder could not deliver waits on disk), and release the store. Later calls are
        refused (counted, or raised in strict mode)."""
        if not self._closed:
            self._closed = True
            budget = self._drain_timeout()
            for source in self.config_sources:
                source.stop()
            feed_close = getattr(self._popularity_feed, "close", None)
            if callable(feed_close):
                feed_close()  # pushes the counts not yet shared
            # The store first: a profile write has no disk to wait on, a forwarder's event has.
            self._flush_store(budget)
            if self._outbox is not None:
                self._outbox.close()  # within the drain timeout; the rest waits on disk
            _with_timeout(self.store.close, 0.0)  # flushed already: released at once

    def _drain_timeout(self) -> float:
        """How long `flush` and `close` may wait: the delivery settings' drain timeout."""
        if self._outbox is not None:
            return self._outbox.settings.drain_timeout
        return self.config.delivery.drain_timeout

    def _flush_store(self, timeout: float) -> bool:
        """`store.flush(timeout)`; whether it is all written (None: a store that says
        nothing)."""
        return _with_timeout(self.store.flush, timeout) is not False

    def __enter__(self) -> Personalizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _load(
        self, visitor_id: str | None, user_id: str | None
    ) -> tuple[Profile, Profile | None, str]:
        """(the shopper's profile or an empty one, the stored profile or None, its key)."""
        if self._closed:
            raise PersonalizeError("this Personalizer is closed")
        if user_id is None:
            if visitor_id is None:
                raise InvalidEvent(
                    "give a visitor_id or a user_id", field="visitor_id", kind="missing"
                )
            check_id(visitor_id, "visitor_id", self.limits)
            user_id = self.store.resolve(visitor_id)
        else:
            check_id(user_id, "user_id", self.limits)
        key = f"u:{user_id}" if user_id is not None else f"v:{visitor_id}"  # profile_key
        stored = self.store.load(key)
        if stored is not None:
            return stored, stored, key
        return Profile(visitor_id=visitor_id, user_id=user_id), None, key

    def _segments_of(
        self, live: _Live, profile: Profile, stored: Profile | None, key: str
    ) -> frozenset[str]:
        cache = live.segment_cache
        found = cache.get(key, stored)
        if found is None:
            found = live.evaluator.evaluate(profile, self.clock())
            cache.put(key, stored, found)
        return found

    def _failed_campaign(self, campaign: Campaign, error: Exception) -> None:
        if self.strict:
            raise error
        kind = "copy" if isinstance(error, CopyError) else "internal"
        if self._stats.count(f"errors.widgets.{kind}.{campaign.id}") == 1:
            logger.error(
                "campaign %r: its widget could not be built and is skipped (logged once, "
                "counted in stats()): %s",
                campaign.id,
                error,
                exc_info=kind == "internal",
            )

    def _count_popularity(self, live: _Live, event: Event) -> None:
        """Feed the shop-wide counters; an event they cannot take costs the counters only."""
        popularity = live.pipeline.popularity
        assert popularity is not None
        try:
            popularity.record(event)
        except Exception as error:  # noqa: BLE001 - the event itself is stored already
            if self._stats.count("errors.popularity") == 1:
                logger.warning(
                    "popularity counters refused an event (logged once, counted in stats()): %s",
                    error,
                )

    def _failed(self, call: str, error: Exception) -> None:
        if self.strict:
            raise error
        if isinstance(error, InvalidEvent):
            if self._stats.count(f"invalid.{error.kind}") == 1:
                logger.warning(
                    "%s: rejected (%s): %s; later rejections of this kind are only "
                    "counted in stats()",
                    call,
                    error.kind,
                    error,
                )
            return
        if isinstance(error, StoreUnavailable):
            kind = "store"
        elif self._closed:
            kind = "closed"
        else:
            kind = "internal"
        if self._stats.count(f"errors.{call}.{kind}") == 1:
            logger.error(
                "%s failed; the page goes on without personalisation (logged once, counted in "
                "stats())",
                call,
                exc_info=error,
            )


def _config_sources(
    config: object, watch: bool, url: str | None, redis: Any, channel: str
) -> list[ConfigSource]:
    """The sources the constructor's shortcuts ask for (not started yet)."""
    sources: list[ConfigSource] = []
    if watch:
        if not isinstance(config, (str, os.PathLike)):
            raise ConfigError("watch=True needs the config as a file path", field="watch")
        sources.append(FileConfigSource(config))
    if url is not None:
        from .config_url import UrlConfigSource  # httpx loads only when a URL is polled

        sources.append(UrlConfigSource(url))
    if redis is not None:
        from .config_redis import RedisConfigSource  # redis-py is an extra

        sources.append(RedisConfigSource(redis, channel=channel))
    return sources


def _outbox(config: Config, forwarders: Sequence[Any], delivery: DeliverySettings | None) -> Any:
    """The delivery pipeline for the config's forwarders and those passed in, or None."""
    if not forwarders and not config.forwarders:
        return None
    from .delivery import Outbox  # loads httpx and asyncio only for shops that forward
    from .forwarders import build_forwarder

    built = [build_forwarder(spec) for spec in config.forwarders]
    return Outbox([*built, *forwarders], delivery or config.delivery)


def _new_profile(visitor_id: str | None, user_id: str | None) -> Profile:
    return Profile(visitor_id=visitor_id, user_id=user_id, origin=new_message_id())


def _fold(
    profile: Profile | None,
    visitor_id: str | None,
    user_id: str | None,
    event: Event,
    settings: Settings,
) -> Profile:
    if profile is None:
        profile = _new_profile(visitor_id, user_id)
    return reduce(profile, event, settings)


def _fold_thawed(
    profile: Profile | None,
    visitor_id: str | None,
    user_id: str | None,
    event: FrozenEvent | Event,
    caller_message_id: bool,
    settings: Settings,
) -> Profile:
    """`_fold` of an event kept frozen (`freeze`) by a store that may fold it again later
    (`RedisStore.apply`'s replay), when the caller may have changed its dicts since."""
    if type(event) is FrozenEvent:
        event = thawed(event, caller_message_id)
    return _fold(profile, visitor_id, user_id, event, settings)  # type: ignore[arg-type]


def _set_traits(
    profile: Profile | None, visitor_id: str | None, user_id: str | None, traits: Mapping[str, Any]
) -> Profile:
    if profile is None:
        profile = _new_profile(visitor_id, user_id)
    return with_traits(profile, traits)


def _merge_visitor(
    customer: Profile | None,
    visitor: Profile | None,
    visitor_id: str,
    user_id: str,
    traits: Mapping[str, Any],
    settings: Settings,
) -> Profile:
    if customer is None:
        customer = _new_profile(visitor_id, user_id)
    if visitor is not None:
        customer = merge(customer, visitor, settings)
    return with_traits(customer, traits)


_LIVE: weakref.WeakSet[Personalizer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A fork while a config source's thread was swapping configs (gunicorn --preload) leaves
    the child a `_swap_lock` held by no thread of its own: every later swap would wait on it
    for ever. The child's swaps start afresh."""
    for personalizer in list(_LIVE):
        personalizer._swap_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _with_timeout(method: Callable[..., T], timeout: float) -> T:
    """`method(timeout=timeout)`, or `method()` for a store of the shop's own written to the
    protocol's older form, whose `flush` and `close` take no timeout."""
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return method()
    if any(p.name == "timeout" or p.kind is p.VAR_KEYWORD for p in parameters):
        return method(timeout=timeout)
    return method()


def _merge_customer(
    customer: Profile | None,
    visitor_id: str | None,
    user_id: str,
    earlier: Profile,
    settings: Settings,
) -> Profile:
    """`update`'s change for `alias`: another customer profile folded in as a visitor's is
    (once: `merge` marks it by its origin)."""
    if customer is None:
        customer = _new_profile(None, user_id)
    return merge(customer, earlier, settings)


def _put_back(
    current: Profile | None,
    visitor_id: str | None,
    user_id: str,
    gone: Profile,
    settings: Settings,
) -> Profile:
    """`update`'s change for `alias` putting back a profile removed after it changed: under
    its own origin, so merging it again later cannot count what was merged already twice."""
    return gone if current is None else merge(gone, current, settings)
