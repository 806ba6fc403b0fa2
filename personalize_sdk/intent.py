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


def _products(session: Session) -> tuple[float, str]:
    n = len(session.products_viewed)
    return min(n / PRODUCTS_FOR_FULL_MARK, 1.0), f"{n} products viewed"


def _dwell(session: Session) -> tuple[float, str]:
    seconds = session.product_seconds
    return min(seconds / SECONDS_FOR_FULL_MARK, 1.0), f"{seconds:.0f}s on product pages"


def _funnel(session: Session) -> tuple[float, str]:
    depth = session.deepest_stage
    signal = (
        0.0 if depth < _PRODUCT else min((depth - _PRODUCT + 1) / (_CHECKOUT - _PRODUCT + 1), 1.0)
    )
    return signal, f"reached {session.stage}"


def _comparing(session: Session) -> tuple[float, str]:
    spread = session.price_spread
    comparing = len(session.products_viewed) >= 2 and spread >= COMPARE_SPREAD
    return (1.0 if comparing else 0.0), f"price spread {spread:.0%}"


def _focus(session: Session) -> tuple[float, str]:
    if len(session.products_viewed) < 2:
        return 0.0, "fewer than 2 products"
    focus = session.category_focus
    return focus, f"{focus:.0%} of views in {session.top_category or 'one category'}"


FACTORS = (
    ("funnel_depth", 0.35, _funnel),
    ("products_viewed", 0.20, _products),
    ("product_time", 0.20, _dwell),
    ("category_focus", 0.15, _focus),
    ("price_comparison", 0.10, _comparing),
)
"""(name, weight, signal function); the weights sum to 1."""


def intent_score(profile: Profile) -> float:
    session = profile.session
    if session is None:
        return 0.0
    return min(sum(weight * signal(session)[0] for _, weight, signal in FACTORS), 1.0)


def explain_intent(profile: Profile) -> IntentExplanation:
    session = profile.session
    if session is None:
        return IntentExplanation(0.0, ())
    factors = tuple(
        IntentFactor(name, weight, *signal(session)) for name, weight, signal in FACTORS
    )
    return IntentExplanation(min(sum(f.contribution for f in factors), 1.0), factors)
