"""`widgets`: deciding and rendering every widget of a product page, with 10, 100 and 1,000
active campaigns; and the size of the browser script and stylesheet.

Campaigns are generated the way a busy shop has them (seed fixed): all ten widget kinds, spread
over twelve slots, most aimed at a few page types, two thirds targeting segments (half of those
a segment the shopper is not in), some with frequency caps, schedules that are all live now,
priorities at random. Shoppers are the shared workload's (2-4 visits over 90 days, a third
signed in), replayed into the Personalizer first; their segments are cached, as they are on any
page after the first.

Measured: `pz.widgets(visitor_id, product_page)` (slot=None: every slot of the page, decision
and HTML), per call, as medians of batches of 100 calls over different shoppers, two ways:

- returning: the shoppers' profiles do not change between their pages (the figure the targets
  are checked against), so what is rendered once per distinct content (see
  `personalize_sdk/widget_memo.py`) is reused where it applies;
- browsing: before each page the shopper views a product (`track`, not timed), so their recently
  viewed strip and everything else derived from the profile is new on every page.
"""

from __future__ import annotations

import gzip
import random
import time
from typing import Any

from personalize_sdk import Page, Personalizer, assets

from .stats import header, median, percentile, us, verdict
from .workload import NOW, make_catalog, product_properties, replay, shopper_histories

SIZES = (10, 100, 1_000)
VISITORS = 1_000
BATCH = 100
ROUNDS = 5
TARGETS_US = {10: 50.0, 100: 150.0}
TARGET_JS_GZIP = 6 * 1024

SLOTS = ("top", "side", "overlay", "cart", "recently_viewed", "floating", "scratch_coupon",
         "recommendations", "editorial", "promo-1", "promo-2", "promo-3")  # fmt: skip
PAGE_TYPES = ("home", "category", "product", "search", "cart", "checkout")
SEGMENTS = ("new_visitor", "returning", "browser", "buyer_intent", "first_time_buyer",
            "repeat_buyer", "high_value", "at_risk", "cart_abandoner",
            "browse_abandoner")  # fmt: skip


def campaigns(count: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    made = []
    for index in range(count):
        kind, content = _content(index, rng)
        slot = "overlay" if kind == "exit_intent" else rng.choice(SLOTS[:2] + SLOTS[3:])
        campaign: dict[str, Any] = {
            "id": f"c{index}",
            "kind": kind,
            "slot": slot,
            "priority": rng.randrange(100),
            **content,
        }
        audience: dict[str, Any] = {}
        if rng.random() < 0.8:
            audience["page_types"] = rng.sample(PAGE_TYPES, rng.randint(1, 2))
        if rng.random() < 0.67:
            audience[rng.choice(("segments_any", "segments_none"))] = rng.sample(SEGMENTS, 2)
        if rng.random() < 0.1:
            audience["condition"] = {"orders.count": {"$gte": rng.randint(0, 3)}}
        if rng.random() < 0.1:
            audience["devices"] = ["mobile"]
        if audience:
            campaign["audience"] = audience
        if rng.random() < 0.5:
            campaign["caps"] = {"per_session": rng.randint(1, 3), "per_day": 5}
        if rng.random() < 0.3:
            campaign["schedule"] = {"start": NOW - 86_400, "end": NOW + 86_400,
                                    "timezone": "Europe/Paris"}  # fmt: skip
        if rng.random() < 0.2:
            campaign["holdout"] = 0.1
            campaign["variants"] = [{"id": "a"}, {"id": "b"}]
        made.append(campaign)
    return made


def _content(index: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    kind = ("hello_bar", "side_coupon", "exit_intent", "progress_bar", "recently_viewed",
            "floating_icon", "scratch_coupon", "countdown", "recommendations",
            "editorial")[index % 10]  # fmt: skip
    name = "Hi {{ first_name or 'there' }}, new in {{ category or 'store' }}"
    coupon = {"unique": True, "prefix": "BN", "valid_hours": 48, "discount": "10%"}
    content: dict[str, Any] = {
        "hello_bar": {"text": name, "link_url": "/new"},
        "side_coupon": {"text": "Your code", "coupon": coupon},
        "exit_intent": {"title": "Wait!", "text": "10% off", "coupon": {"code": "STAY10"}},
        "progress_bar": {"thresholds": {"USD": 50, "EUR": 45}, "show_when_empty": True},
        "recently_viewed": {"title": "Recently viewed"},
        "floating_icon": {"label": "Gifts", "link_url": "/gifts"},
        "scratch_coupon": {"coupon": coupon},
        "countdown": {"title": "Ends soon", "duration_minutes": 60},
        "recommendations": {"strategy": rng.choice(("category_bestsellers", "brand_trending"))},
        "editorial": {"articles": [{"title": "Guide", "url": "/guide"}]},
    }[kind]
    return kind, content


def run(quick: bool = False) -> None:
    print(header("widgets: pz.widgets() for a product page, decision + render, all slots"))
    catalog = make_catalog()
    histories = list(shopper_histories(catalog, VISITORS // 5 if quick else VISITORS, seed=5))
    product = catalog.products[0]
    page = Page(type="product", path=f"/p/{product.product_id}", product_id=product.product_id,
                category=product.category, device="desktop")  # fmt: skip
    results = {}
    for size in SIZES:
        pz = Personalizer({"campaigns": campaigns(size)}, clock=lambda: NOW, secret="b" * 32)
        visitors = [steps[0].visitor_id for steps in histories if replay(pz, steps)]
        for visitor in visitors:  # warm: segments cached, as on any page after the first
            pz.widgets(visitor, page)
        shown = [len(pz.widgets(visitor, page)) for visitor in visitors]
        means = _measure(pz, visitors, page, 1 if quick else ROUNDS)
        results[size] = median(means)
        browsing = median(_measure_browsing(pz, visitors, page, catalog, 1 if quick else ROUNDS))
        print(
            f"  {size:>5} campaigns: median {us(results[size])} us per page "
            f"(p90 of batches {us(percentile(means, 90))} us; browsing {us(browsing)} us), "
            f"{sum(shown) / len(shown):.1f} widgets per page, {len(visitors)} shoppers"
        )
    growth = results[1_000] / results[10]
    print(f"  growth 10 -> 1,000 campaigns: x{growth:.1f} (linear would be x100)")
    for size, target in TARGETS_US.items():
        print(verdict(f"median <= {target:g} us at {size}", results[size] / 1000, target,
                      f"{us(results[size])} us"))  # fmt: skip
    _assets()


def _measure(pz: Personalizer, visitors: list[str], page: Page, rounds: int) -> list[float]:
    clock = time.perf_counter_ns
    widgets = pz.widgets
    means = []
    for _ in range(rounds):
        for start in range(0, len(visitors), BATCH):
            batch = visitors[start : start + BATCH]
            began = clock()
            for visitor in batch:
                widgets(visitor, page)
            means.append((clock() - began) / len(batch))
    return means


def _measure_browsing(
    pz: Personalizer, visitors: list[str], page: Page, catalog: Any, rounds: int
) -> list[float]:
    """Per-call medians (ns) of batches, each call after an untimed `Product Viewed`."""
    clock = time.perf_counter_ns
    rng = random.Random(17)
    products = catalog.products
    widgets = pz.widgets
    means = []
    for _ in range(rounds):
        for start in range(0, len(visitors), BATCH):
            times = []
            for visitor in visitors[start : start + BATCH]:
                viewed = rng.choice(products)
                pz.track(visitor, "Product Viewed", product_properties(viewed))
                began = clock()
                widgets(visitor, page)
                times.append(clock() - began)
            means.append(median(times))
    return means


def _assets() -> None:
    js = assets.script().encode()
    css = assets.stylesheet().encode()
    js_gz = len(gzip.compress(js, 9))
    css_gz = len(gzip.compress(css, 9))
    print(f"  personalize.js: {len(js):,} bytes, {js_gz:,} gzipped")
    print(f"  personalize.css: {len(css):,} bytes, {css_gz:,} gzipped")
    print(verdict("JS <= 6 KB gzipped", js_gz, TARGET_JS_GZIP, f"{js_gz / 1024:.2f} KB"))
