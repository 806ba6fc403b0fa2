"""`WidgetPipeline`: the shop's campaigns, ready to decide and render widgets per request.

It holds what the decisions need besides the shopper: the campaign index, the coupon book, the
catalog, the shop-wide popularity counters and the memo of rendered content; and it answers the
two questions the `Personalizer` facade asks on a request path: which widgets does this shopper
get on this page (`widgets`), and may this shopper report this interaction (`check_beacon`).
The facade loads the profile and segments, catches faults and counts them; a campaign that fails
to build is reported to `on_failure` and skipped, never taking the other slots with it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from ._exceptions import InvalidEvent
from .beacon import Interaction, check_entry
from .campaign import CONTROL, Campaign
from .campaign_verdict import SHOWN, CampaignVerdict, detail_of
from .catalog import Catalog, MemoryCatalog
from .config import Config, Settings
from .coupons import CouponBook
from .decision import CampaignIndex, assignment_unit, ineligible, sticky_variant, variant_for
from .intent import intent_score
from .page import Page
from .popularity_feed import COUNTED_EVENTS, PopularityFeed
from .profile import Profile
from .read_only import freeze
from .segments import profile_view
from .widget import Widget
from .widget_data import Scene, build, control_data, coupon_data
from .widget_memo import WidgetMemo
from .widgets import render_control, render_widget

logger = logging.getLogger("personalize_sdk")

OnFailure = Callable[[Campaign, Exception], None]


class WidgetPipeline:
    def __init__(
        self,
        config: Config,
        catalog: Catalog | None,
        secret: bytes,
        on_failure: OnFailure,
        *,
        ephemeral_secret: bool = False,
        popularity: PopularityFeed | None = None,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.campaigns = CampaignIndex(config.campaigns)
        fixed_catalog = catalog is None or isinstance(catalog, MemoryCatalog)
        self.catalog_may_block = not fixed_catalog
        """A `CallableCatalog` calls the shop's own lookup: async callers use a thread."""
        self.memo = WidgetMemo(fixed_catalog=fixed_catalog)
        self.coupons = coupon_book(config.campaigns, secret, ephemeral=ephemeral_secret)
        # Signing a code costs an HMAC or two; the same shopper asks for the same code on
        # every page, so the last ones issued are kept (lru_cache is thread-safe).
        self._coupon_code = functools.lru_cache(maxsize=10_000)(self.coupons.code_for)
        # A pipeline built for a new config takes over the counters (`popularity`): shop-wide
        # counts outlive a config change.
        self.popularity = (
            (popularity or PopularityFeed()) if self.campaigns.uses_popularity else None
        )
        self._on_failure = on_failure
        self._settings: Settings = config.settings

    @property
    def counted_events(self) -> frozenset[str]:
        """The event names that feed the shop-wide popularity counters (none without them)."""
        return frozenset() if self.popularity is None else COUNTED_EVENTS

    def widgets(
        self,
        profile: Profile,
        segments: frozenset[str],
        page: Page,
        slot: str | None,
        now: float,
    ) -> list[Widget]:
        """One widget per slot (or for `slot` only): the highest-priority campaign that is
        live, targets the shopper, is within its caps and has something to show."""
        settings = self._settings
        scene = self._scene(profile, segments, page, now)
        view = _ViewOf(profile, page, segments, now, settings)
        found = []
        index = self.campaigns
        timeout = settings.session_timeout
        for slot_name in index.slots if slot is None else (slot,):
            for campaign in index.candidates(slot_name, page.type):
                if ineligible(campaign, profile, segments, page, now, view, timeout) is not None:
                    continue
                widget = self._widget(campaign, variant_for(campaign, profile), scene)
                if widget is not None:
                    found.append(widget)
                    break
        return found

    def explain(
        self, profile: Profile, segments: frozenset[str], page: Page, now: float
    ) -> list[CampaignVerdict]:
        """Every campaign, slot by slot in the decision's order: shown, or why not (see
        `campaign_verdict`). It decides as `widgets` does, and goes on past a slot's winner."""
        scene = self._scene(profile, segments, page, now)
        view = _ViewOf(profile, page, segments, now, self._settings)
        timeout = self._settings.session_timeout
        verdicts = []
        for slot in self.campaigns.slots:
            winner: str | None = None
            for campaign in self.campaigns.in_slot(slot):
                reason = ineligible(campaign, profile, segments, page, now, view, timeout)
                variant = None
                failure: Exception | None = None
                if reason is None:
                    variant = variant_for(campaign, profile)
                    if winner is not None:
                        reason = "slot_taken"
                    else:
                        # Built here, not by `_widget`: a failure is this answer's to name,
                        # not a production fault to count, log (once) or raise (strict).
                        try:
                            built = self._build_widget(campaign, variant, scene)
                        except Exception as error:  # noqa: BLE001 - named in the verdict
                            built, failure = None, error
                        if failure is not None:
                            reason = "error"
                        elif built is None:
                            reason = "nothing_to_show"
                        else:
                            reason, winner = SHOWN, campaign.id
                detail = detail_of(reason, campaign, page, profile, segments, winner, failure)
                if reason == SHOWN and variant == CONTROL:
                    detail = "in the holdout: shown nothing, counted as the control group"
                verdict = CampaignVerdict(
                    campaign_id=campaign.id,
                    slot=slot,
                    shown=reason == SHOWN,
                    reason=reason,
                    detail=detail,
                    variant=variant,
                )
                verdicts.append(verdict)
        return verdicts

    def _scene(self, profile: Profile, segments: frozenset[str], page: Page, now: float) -> Scene:
        return Scene(
            profile=profile,
            page=page,
            segments=segments,
            now=now,
            half_life=self._settings.half_life,
            beacon=self.config.widgets.beacon_url,
            catalog=self.catalog,
            popularity=self.popularity,
            coupons=self._coupon_code,
            default_currency=self.config.widgets.currency,
        )

    def check_beacon(
        self, entries: list[Any], profile: Profile, visitor_id: str | None, now: float
    ) -> Iterator[tuple[int, Interaction | InvalidEvent]]:
        """Each beacon entry, numbered, as an `Interaction` to track or the reason it is not."""
        may_have_seen = _VariantCheck(profile, visitor_id)
        reported: set[tuple[str, str]] = set()
        for number, entry in enumerate(entries):
            try:
                interaction = check_entry(entry, self.campaigns.by_id, may_have_seen, now)
                once = (interaction.event, interaction.properties["campaign_id"])
                if once in reported:  # one page reports each thing once
                    raise InvalidEvent(
                        "reported twice in one beacon", field="type", kind="duplicate"
                    )
                reported.add(once)
            except InvalidEvent as error:
                yield number, error
                continue
            yield number, interaction

    def _widget(self, campaign: Campaign, variant_id: str, scene: Scene) -> Widget | None:
        """The campaign's widget for this shopper, or None when it has nothing to show.

        A fault in one campaign (its copy, a catalog outage, absurd data) skips that campaign
        only: the slot goes to the next one, the other slots are untouched.
        """
        try:
            return self._build_widget(campaign, variant_id, scene)
        except Exception as error:  # noqa: BLE001 - one campaign never takes the page down
            self._on_failure(campaign, error)
            return None

    def _build_widget(self, campaign: Campaign, variant_id: str, scene: Scene) -> Widget | None:
        # The holdout is shown nothing, but only where the campaign would have shown something:
        # otherwise the two groups would not be comparable.
        control = variant_id == CONTROL
        variant = campaign.variants[0] if control else campaign.variant(variant_id)
        if variant is None:  # pragma: no cover - variant_for only returns known variants
            return None
        key = self.memo.key(
            campaign, variant, scene, functools.partial(coupon_data, campaign, variant, scene)
        )
        known, rendered = (False, None) if key is None else self.memo.get(key)
        if not known:
            data = build(campaign, variant, scene)
            rendered = None if data is None else (freeze(data), render_widget(data))
            if key is not None:
                self.memo.put(key, rendered)
        if rendered is None:
            return None
        data, html = rendered
        if control:
            data = freeze(control_data(campaign, scene, data))
            html = render_control(data)
        return Widget(
            kind=campaign.kind,
            campaign_id=campaign.id,
            variant=variant_id,
            slot=campaign.slot,
            html=html,
            data=data,
        )


class _ViewOf:
    """The profile view a targeting condition reads, with the page, built once on first use."""

    __slots__ = ("_built", "_now", "_page", "_profile", "_segments", "_settings")

    def __init__(
        self,
        profile: Profile,
        page: Page,
        segments: frozenset[str],
        now: float,
        settings: Settings,
    ) -> None:
        self._profile, self._page, self._segments = profile, page, segments
        self._now, self._settings = now, settings
        self._built: Mapping[str, Any] | None = None

    def __call__(self) -> Mapping[str, Any]:
        if self._built is None:
            profile = self._profile
            view = profile_view(
                profile,
                self._now,
                self._settings,
                intent_score(profile),
                dict.fromkeys(self._segments, ""),
            )
            view["page"] = attrs.asdict(self._page)
            self._built = view
        return self._built


class _VariantCheck:
    """Could this shopper have been shown this variant? Their recorded variant, or what they
    are assigned now, or what their device was assigned before they logged in."""

    def __init__(self, profile: Profile, visitor_id: str | None) -> None:
        self._profile = profile
        self._units = {assignment_unit(profile), visitor_id or ""}

    def __call__(self, campaign: Campaign, variant: str) -> bool:
        kept = sticky_variant(campaign, self._profile.exposures.get(campaign.id))
        if kept is not None:  # shown before: that variant sticks, and only that one
            return kept == variant
        # Never shown, or shown a variant the config no longer has: `variant_for` assigns anew
        return any(campaign.assign(unit) == variant for unit in self._units)


def coupon_book(
    campaigns: tuple[Campaign, ...], secret: bytes, *, ephemeral: bool = False
) -> CouponBook:
    """Every variant's coupon policy, signed with a key derived from `secret`; a warning when
    unique codes are signed with a key made up for this process (`ephemeral`)."""
    policies = {
        (campaign.id, variant.id): variant.content["coupon"]
        for campaign in campaigns
        for variant in campaign.variants
        if variant.content.get("coupon") is not None
    }
    if ephemeral and any(policy.unique for policy in policies.values()):
        logger.warning(
            "unique coupon codes are signed with a key made up for this process: they will "
            "not verify in another process or after a restart. Set PERSONALIZE_SECRET or "
            "pass Personalizer(secret=...)."
        )
    return CouponBook(secret, policies)
