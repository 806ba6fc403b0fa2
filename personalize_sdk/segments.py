"""Segment evaluation (S1-S4, S6): built-in rules and the shop's custom conditions.

Each built-in rule is a small function returning why the shopper is in the segment (a short
text) or None; `evaluate` keeps the names, `explain` keeps the reasons too, so the two never
disagree. Custom segments are conditions compiled at config load, evaluated over `profile_view`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from . import affinity
from .intent import intent_score
from .profile import FUNNEL_STAGES, Profile

if TYPE_CHECKING:
    from .config import Config, Settings

DAY = 86_400.0
_PURCHASE = FUNNEL_STAGES.index("purchase")
Rule = Callable[[Profile, float, "Settings", float], "str | None"]


def _new_visitor(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    return "first session, no order yet" if p.sessions <= 1 and not p.orders.count else None


def _returning(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    return f"{p.sessions} sessions" if p.sessions >= 2 else None


def _shopping(p: Profile, now: float, s: Settings) -> bool:
    """A current session that has not (yet) ended in an order: intent is only judged there."""
    session = p.session
    return (
        session is not None
        and session.deepest_stage < _PURCHASE
        and now - session.last_at <= s.session_timeout
    )


def _browser(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    if not _shopping(p, now, s) or intent >= s.buyer_intent_threshold:
        return None
    return f"intent {intent:.2f} below {s.buyer_intent_threshold:g}"


def _buyer_intent(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    if not _shopping(p, now, s) or intent < s.buyer_intent_threshold:
        return None
    return f"intent {intent:.2f} at or above {s.buyer_intent_threshold:g}"


def _first_time_buyer(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    return "1 order" if p.orders.count == 1 else None


def _repeat_buyer(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    return f"{p.orders.count} orders" if p.orders.count >= 2 else None


def _high_value(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    total = p.orders.total
    if not p.orders.count or total < s.high_value_total:
        return None
    return f"spent {total:.2f}, at least {s.high_value_total:g}"


def _days_since_order(p: Profile, now: float) -> float | None:
    """Days since the last order of a buyer; None for a shopper with no order (kept, or ever:
    one whose only order was cancelled is not a lapsed buyer)."""
    last = p.orders.last_at
    return None if last is None or not p.orders.count else (now - last) / DAY


def _at_risk(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    days = _days_since_order(p, now)
    if days is None or not s.at_risk_days <= days < s.dormant_days:
        return None
    return f"last order {days:.0f} days ago ({s.at_risk_days:g}-{s.dormant_days:g})"


def _dormant(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    days = _days_since_order(p, now)
    if days is None or days < s.dormant_days:
        return None
    return f"last order {days:.0f} days ago (>= {s.dormant_days:g})"


def _cart_abandoner(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    cart = p.cart
    if not cart.items or cart.updated_at is None:
        return None
    idle = now - cart.updated_at
    if not s.cart_abandon_minutes * 60 <= idle <= s.abandon_window_days * DAY:
        return None
    return f"{cart.quantity} items left in cart {idle / 60:.0f} minutes ago"


def _browse_abandoner(p: Profile, now: float, s: Settings, intent: float) -> str | None:
    viewed = p.last_product_view_at
    if viewed is None or p.cart.items:
        return None
    idle = now - viewed
    if not s.browse_abandon_minutes * 60 <= idle <= s.abandon_window_days * DAY:
        return None
    if (p.last_cart_add_at or 0) >= viewed or (p.orders.last_at or 0) >= viewed:
        return None
    return (
        f"viewed {p.recently_viewed[0] if p.recently_viewed else 'a product'} "
        f"{idle / 60:.0f} minutes ago, nothing added"
    )


AFFINE_PREFIXES = ("category_affine:", "brand_affine:")
"""Segments of a shopper's strong affinities: the prefix, then the category or brand key."""
AFFINE_KEY_LENGTH = 100
"""Categories and brands are cut to this many characters (in the reducer) in segment names."""

BUILTIN_RULES: Mapping[str, Rule] = {
    "new_visitor": _new_visitor,
    "returning": _returning,
    "browser": _browser,
    "buyer_intent": _buyer_intent,
    "first_time_buyer": _first_time_buyer,
    "repeat_buyer": _repeat_buyer,
    "high_value": _high_value,
    "at_risk": _at_risk,
    "dormant": _dormant,
    "cart_abandoner": _cart_abandoner,
    "browse_abandoner": _browse_abandoner,
}


class SegmentEvaluator:
    """Evaluates built-in and custom segments of a profile at a given time."""

    def __init__(self, config: Config) -> None:
        self._settings = config.settings
        self._custom = tuple((seg.name, seg.matches) for seg in config.segments)

    def evaluate(self, profile: Profile, now: float) -> frozenset[str]:
        return frozenset(self.explain(profile, now, reasons=False))

    def explain(self, profile: Profile, now: float, *, reasons: bool = True) -> dict[str, str]:
        """Segment name -> why the shopper is in it."""
        settings = self._settings
        intent = intent_score(profile)
        found: dict[str, str] = {}
        for name, rule in BUILTIN_RULES.items():
            reason = rule(profile, now, settings, intent)
            if reason is not None:
                found[name] = reason
        half_life = profile.affinity_half_life or settings.half_life
        threshold = settings.affinity_threshold
        for prefix, stored in zip(
            AFFINE_PREFIXES, (profile.category_affinity, profile.brand_affinity), strict=True
        ):
            for key, value in stored.items():
                score = affinity.score(value, now, half_life)
                if score >= threshold:
                    found[prefix + key] = f"affinity {score:.1f}" if reasons else ""
        if self._custom:
            view = profile_view(profile, now, settings, intent, found)
            for name, matches in self._custom:
                if matches(view):
                    found[name] = "matches its condition"
        return found


def affinity_scores(
    profile: Profile, now: float, settings: Settings
) -> dict[str, dict[str, float]]:
    """The profile's category and brand affinities as decayed scores at `now`, highest first
    (in the half-life they were written with: see `affinity`)."""
    half_life = profile.affinity_half_life or settings.half_life
    return {
        "category": affinity.scores(profile.category_affinity, now, half_life),
        "brand": affinity.scores(profile.brand_affinity, now, half_life),
    }


def profile_view(
    profile: Profile,
    now: float,
    settings: Settings,
    intent: float,
    segments: Mapping[str, str],
) -> dict[str, Any]:
    """The documented, JSON-like view of a profile that custom segment conditions address.

    Times are epoch seconds; `*_days_ago` and `*_minutes_ago` are relative to `now`.
    """
    orders = profile.orders
    cart = profile.cart
    session = profile.session
    current = session is not None and now - session.last_at <= settings.session_timeout
    return {
        "visitor_id": profile.visitor_id,
        "user_id": profile.user_id,
        "known": profile.user_id is not None,
        "traits": profile.traits,
        "counters": profile.counters,
        "sessions": profile.sessions,
        "first_seen": profile.first_seen,
        "last_seen": profile.last_seen,
        "recently_viewed": list(profile.recently_viewed),
        "intent": intent if current else 0.0,  # a session that timed out has no intent left
        "segments": list(segments),
        "affinities": affinity_scores(profile, now, settings),
        "cart": {
            "lines": len(cart.items),
            "items": [
                {
                    "product_id": item.product_id,
                    "quantity": item.quantity,
                    "price": item.price,
                    "category": item.category,
                    "brand": item.brand,
                }
                for item in cart.items
            ],
            "quantity": cart.quantity,
            "value": cart.value,
            "currency": cart.currency,
            "product_ids": [item.product_id for item in cart.items],
            "updated_at": cart.updated_at,
            "minutes_ago": None if cart.updated_at is None else (now - cart.updated_at) / 60,
        },
        "orders": {
            "count": orders.count,
            "total": orders.total,
            "average_value": orders.average_order_value,
            "first_at": orders.first_at,
            "last_at": orders.last_at,
            "days_ago": None if orders.last_at is None else (now - orders.last_at) / DAY,
            "categories": list(orders.categories),
        },
        "session": None
        if session is None
        else {
            "products_viewed": len(session.products_viewed),
            "product_seconds": session.product_seconds,
            "stage": session.stage,
            "page_type": session.page_type,
            "price_spread": session.price_spread,
            "category_focus": session.category_focus,
            "top_category": session.top_category,
            "started_at": session.started_at,
        },
    }


def segment_name_problem(name: str, custom: Collection[str]) -> str | None:
    """Why a campaign's audience would never find `name` among a shopper's segments, or None
    when it can: a built-in, one of `custom` (the config's), or an affinity segment whose key
    is as the reducer keeps it (stripped, lower-cased, at most `AFFINE_KEY_LENGTH`)."""
    if name in BUILTIN_RULES or name in custom:
        return None
    for prefix in AFFINE_PREFIXES:
        if name.startswith(prefix):
            key = name[len(prefix) :]
            kept = key.strip().lower()[:AFFINE_KEY_LENGTH].strip()
            if not kept:
                return f"{prefix} names a key after the colon"
            if key != kept:
                return f"affinity keys are kept lower-case and trimmed: {prefix + kept!r}"
            return None
    return (
        "no such segment (a built-in, a [[segments]] name, category_affine:<category> or "
        "brand_affine:<brand>)"
    )
