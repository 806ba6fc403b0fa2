"""`personalize demo`: replay a scripted shopper journey and show, step by step, what the engine
concludes (profile, segments, and why). Time is scripted too, so the output is reproducible."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, TextIO

from .config import Config
from .page import Page
from .personalizer import Personalizer

DEMO_CONFIG = {
    "settings": {"affinity_half_life_days": 7, "dormant_days": 180, "high_value_total": 500},
    "segments": [
        {
            "name": "gold_india",
            "description": "Gold-tier customers in India or Sri Lanka",
            "condition": {"traits.tier": "gold", "traits.country": {"$in": ["IN", "LK"]}},
        },
        {
            "name": "watch_lover",
            "description": "Strong, recent interest in watches",
            "condition": {"affinities.category.watches": {"$gte": 3}},
        },
        {
            "name": "whatsapp_reachable",
            "description": "Opted in to WhatsApp messages",
            "condition": {"traits.whatsapp_opt_in": True},
        },
    ],
    "widgets": {"currency": "INR"},
    "campaigns": [
        {
            "id": "festival-bar",
            "kind": "hello_bar",
            "text": "Hi {{ first_name or 'there' }}, the 11/11 sale is on: up to 40% off",
        },
        {
            "id": "free-shipping",
            "kind": "progress_bar",
            "thresholds": {"INR": 15000},
            "text": "Spend {{ remaining }} more for free shipping",
        },
        {
            "id": "recently-viewed",
            "kind": "recently_viewed",
            "title": "Still thinking about these?",
            "min_items": 2,
        },
        {
            "id": "come-back",
            "kind": "exit_intent",
            "title": "Leaving your {{ category or 'picks' }} behind?",
            "text": "Here is 5% off to decide",
            "coupon": {"code": "FEST5", "discount": "5%"},
            "audience": {"segments_any": ["cart_abandoner", "buyer_intent"]},
        },
    ],
}

START = datetime(2026, 11, 11, 9, 30, tzinfo=timezone.utc).timestamp()
MINUTE = 60.0
DAY = 86_400.0
VISITOR = "visitor-7f3a"
PRODUCT_PAGE = Page(type="product", path="/p/sku-104", product_id="sku-104", category="Watches")

Step = tuple[str, float, Callable[[Personalizer], Any]]


def _journey() -> Iterator[Step]:
    """(what happens, minutes since the previous step, the call) for each step."""

    def view(pid: str, name: str, brand: str, price: float) -> Callable[[Personalizer], Any]:
        return lambda pz: pz.track(
            VISITOR,
            "Product Viewed",
            {
                "product_id": pid,
                "name": name,
                "category": "Watches",
                "brand": brand,
                "price": price,
                "currency": "INR",
            },
        )

    yield (
        "Lands on the home page (11/11 festival sale)",
        0,
        lambda pz: pz.track(VISITOR, "Page Viewed", {"page_type": "home", "path": "/"}),
    )
    yield (
        "Opens the Watches category",
        1,
        lambda pz: pz.track(
            VISITOR, "Product List Viewed", {"list_id": "watches", "category": "Watches"}
        ),
    )
    yield ("Views a Titan Edge watch", 1, view("sku-101", "Titan Edge", "Titan", 8_995.0))
    yield (
        "Views a Fossil Grant, compares a pricier watch",
        3,
        view("sku-102", "Fossil Grant", "Fossil", 12_495.0),
    )
    yield (
        "Views a Casio Vintage, a cheaper one",
        2,
        view("sku-103", "Casio Vintage", "Casio", 3_295.0),
    )
    yield (
        "Adds the Fossil Grant to the cart",
        2,
        lambda pz: pz.track(
            VISITOR,
            "Product Added",
            {
                "product_id": "sku-102",
                "name": "Fossil Grant",
                "category": "Watches",
                "brand": "Fossil",
                "price": 12_495.0,
                "quantity": 1,
                "currency": "INR",
            },
        ),
    )
    yield ("Leaves the site; 45 minutes pass", 45, lambda pz: None)
    yield (
        "Comes back and signs in: the anonymous history merges into the customer",
        5,
        lambda pz: pz.identify(
            VISITOR,
            user_id="cust-42",
            traits={
                "first_name": "Asha",
                "tier": "gold",
                "country": "IN",
                "push_enabled": False,
                "email_opt_in": True,
                "whatsapp_opt_in": True,
            },
        ),
    )
    yield (
        "Signs in again on the same device (no double counting)",
        1,
        lambda pz: pz.identify(VISITOR, user_id="cust-42"),
    )
    yield (
        "Completes the order",
        3,
        lambda pz: pz.track(
            VISITOR,
            "Order Completed",
            {
                "order_id": "ord-9001",
                "total": 12_495.0,
                "currency": "INR",
                "products": [
                    {
                        "product_id": "sku-102",
                        "category": "Watches",
                        "brand": "Fossil",
                        "price": 12_495.0,
                        "quantity": 1,
                    }
                ],
            },
        ),
    )
    yield ("100 days later, no new order", 100 * DAY / MINUTE, lambda pz: None)
    yield ("200 days after the order", 100 * DAY / MINUTE, lambda pz: None)


def run(out: TextIO, *, color: bool = False) -> Personalizer:
    now = [START]
    pz = Personalizer(
        Config.from_dict(DEMO_CONFIG, source="<demo config>"),
        clock=lambda: now[0],
        strict=True,
        secret="demo-secret-not-for-production",
    )
    bold = (lambda s: f"\033[1m{s}\033[0m") if color else (lambda s: s)
    out.write(bold("personalize-sdk demo: one shopper's journey through the engine") + "\n")
    out.write(
        f"visitor id {VISITOR}, custom segments: "
        f"{', '.join(s['name'] for s in DEMO_CONFIG['segments'])}\n"
    )
    for number, (what, minutes, call) in enumerate(_journey(), start=1):
        now[0] += minutes * MINUTE
        call(pz)
        stamp = datetime.fromtimestamp(now[0], timezone.utc).strftime("%Y-%m-%d %H:%M")
        out.write(f"\n{bold(f'{number:>2}. {what}')}  [{stamp} UTC]\n")
        _describe(pz, out)
    return pz


def _describe(pz: Personalizer, out: TextIO) -> None:
    profile = pz.profile(VISITOR)
    who = f"customer {profile.user_id}" if profile.user_id else "anonymous visitor"
    first_name = profile.traits.get("first_name")
    out.write(
        f"    profile: {who}"
        + (f" ({first_name})" if first_name else "")
        + f", {profile.sessions} session(s)\n"
    )
    if profile.recently_viewed:
        out.write(f"    recently viewed: {', '.join(profile.recently_viewed)}\n")
    if profile.cart.items:
        out.write(
            f"    cart: {profile.cart.quantity} item(s), {profile.cart.value:,.2f} "
            f"{profile.cart.currency or ''}\n"
        )
    if profile.orders.count:
        out.write(f"    orders: {profile.orders.count}, spent {profile.orders.total:,.2f}\n")
    explanation = pz.explain(VISITOR)
    out.write(f"    {explanation.intent}\n")
    out.write("    segments:\n")
    for name, reason in sorted(explanation.segments.items()):
        out.write(f"      - {name}: {reason}\n")
    widgets = pz.widgets(VISITOR, PRODUCT_PAGE)
    out.write("    widgets on a product page:" + ("" if widgets else " none") + "\n")
    for widget in widgets:
        data = widget.data
        shown = data.get("text") or data.get("title") or ""
        if widget.kind == "recently_viewed":
            shown += f" ({len(data['products'])} products)"
        out.write(f"      - {widget.slot}: {widget.kind} {widget.campaign_id!r}: {shown}\n")
