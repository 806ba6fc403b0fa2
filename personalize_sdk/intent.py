"""The buyer-intent score (S1): an explainable weighted sum of the session's browsing signals.

Each factor maps one P2 signal to [0, 1]; the score is the weighted sum, so it stays in [0, 1]
and every point of it can be traced to a factor (`explain_intent`).
"""

from __future__ import annotations

import attrs

from .profile import FUNNEL_STAGES, Profile, Session

_PRODUCT = FUNNEL_STAGES.index("product")
_CHECKOUT = FUNNEL_STAGES.index("checkout")

PRODUCTS_FOR_FULL_MARK = 5
SECONDS_FOR_FULL_MARK = 180.0
COMPARE_SPREAD = 0.25
"""Price spread ((max-min)/max) from which viewing several products counts as comparing."""


@attrs.frozen
class IntentFactor:
    name: str
    weight: float
    signal: float
    """The factor's own value in [0, 1]."""
    detail: str

    @property
    def contribution(self) -> float:
        return self.weight * self.signal


@attrs.frozen
class IntentExplanation:
    score: float
    factors: tuple[IntentFactor, ...]

    def __str__(self) -> str:
        parts = ", ".join(
            f"{f.name} +{f.contribution:.2f} ({f.detail})" for f in self.factors if f.signal
        )
        return f"buyer intent {self.score:.2f}" + (f": {parts}" if parts else "")


def _products(session: Session) -> float:
    return min(len(session.products_viewed) / PRODUCTS_FOR_FULL_MARK, 1.0)


def _products_detail(session: Session) -> str:
    return f"{len(session.products_viewed)} products viewed"


def _dwell(session: Session) -> float:
    return min(session.product_seconds / SECONDS_FOR_FULL_MARK, 1.0)


def _dwell_detail(session: Session) -> str:
    return f"{session.product_seconds:.0f}s on product pages"


def _funnel(session: Session) -> float:
    depth = session.deepest_stage
    if depth < _PRODUCT:
        return 0.0
    return min((depth - _PRODUCT + 1) / (_CHECKOUT - _PRODUCT + 1), 1.0)


def _funnel_detail(session: Session) -> str:
    return f"reached {session.stage}"


def _comparing(session: Session) -> float:
    comparing = len(session.products_viewed) >= 2 and session.price_spread >= COMPARE_SPREAD
    return 1.0 if comparing else 0.0


def _comparing_detail(session: Session) -> str:
    return f"price spread {session.price_spread:.0%}"


def _focus(session: Session) -> float:
    return 0.0 if len(session.products_viewed) < 2 else session.category_focus


def _focus_detail(session: Session) -> str:
    if len(session.products_viewed) < 2:
        return "fewer than 2 products"
    return f"{session.category_focus:.0%} of views in {session.top_category or 'one category'}"


FACTORS = (
    ("funnel_depth", 0.35, _funnel, _funnel_detail),
    ("products_viewed", 0.20, _products, _products_detail),
    ("product_time", 0.20, _dwell, _dwell_detail),
    ("category_focus", 0.15, _focus, _focus_detail),
    ("price_comparison", 0.10, _comparing, _comparing_detail),
)
"""(name, weight, signal function, detail function); the weights sum to 1. The score needs
the signals only: the details (formatted text) are made for `explain_intent`."""


def intent_score(profile: Profile) -> float:
    session = profile.session
    if session is None:
        return 0.0
    return min(sum(weight * signal(session) for _, weight, signal, _ in FACTORS), 1.0)


def explain_intent(profile: Profile) -> IntentExplanation:
    session = profile.session
    if session is None:
        return IntentExplanation(0.0, ())
    factors = tuple(
        IntentFactor(name, weight, signal(session), detail(session))
        for name, weight, signal, detail in FACTORS
    )
    return IntentExplanation(min(sum(f.contribution for f in factors), 1.0), factors)
