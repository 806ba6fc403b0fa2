"""Fifty custom segments of the kind a shop writes, for the `segments` benchmark.

They mix every part of the profile view (traits, counters, affinities, cart, orders, session,
recently viewed, built-in segments) and most operators, and they are tuned to the workload so
that most of them match some shoppers and none matches everyone.
"""

from __future__ import annotations

from typing import Any

from personalize_sdk import Config

SKUS_ON_SALE = [f"sku-{n:05d}" for n in range(1, 2_000, 97)]
EU = ["DE", "FR", "NL", "ES", "IT", "AT", "SE", "PL", "BE", "IE"]
BEAUTY = ["skincare", "makeup", "perfume"]

CONDITIONS: dict[str, dict[str, Any]] = {
    # traits
    "vip": {"traits.tier": {"$in": ["gold", "platinum"]}},
    "gold_india": {"traits.tier": "gold", "traits.country": {"$in": ["IN", "LK"]}},
    "eu_shoppers": {"traits.country": {"$in": EU}},
    "email_reachable": {"traits.email_opt_in": True, "traits.email": {"$exists": True}},
    "sms_reachable": {"traits.sms_opt_in": True, "traits.phone": {"$exists": True}},
    "webmail_users": {"traits.email": {"$regex": "@(gmail|yahoo|outlook)\\.com$"}},
    "named": {"traits.first_name": {"$type": "string"}},
    "app_current": {"traits.app_version": {"$vgte": "3.2.0"}},
    "age_25_40": {"traits.age": {"$gte": 25, "$lte": 40}},
    "women": {"traits.gender": {"$ini": ["female", "f"]}},
    "not_vip_repeat": {
        "traits.tier": {"$not": {"$in": ["gold", "platinum"]}},
        "orders.count": {"$gte": 2},
    },
    "known_no_orders": {"known": True, "orders.count": 0},
    # affinities
    "watch_lovers": {"affinities.category.watches": {"$gte": 3}},
    "shoe_browsers": {"affinities.category.shoes": {"$gt": 1}, "orders.count": {"$lt": 1}},
    "bags_or_shoes": {
        "$or": [
            {"affinities.category.bags": {"$gte": 3}},
            {"affinities.category.shoes": {"$gte": 3}},
        ]
    },
    "acme_fans": {"affinities.brand.acme": {"$gte": 2}},
    "sonic_electronics": {
        "affinities.brand.sonic": {"$gte": 1},
        "affinities.category.electronics": {"$gte": 2},
    },
    "home_makers": {
        "$or": [
            {"affinities.category.home decor": {"$gte": 2}},
            {"affinities.category.kitchen": {"$gte": 2}},
            {"affinities.category.bedding": {"$gte": 2}},
        ]
    },
    # cart
    "big_cart": {"cart.value": {"$gte": 200}},
    "multi_item_cart": {"cart.lines": {"$gte": 3}},
    "cart_left_today": {"cart.lines": {"$gt": 0}, "cart.minutes_ago": {"$gte": 30, "$lte": 1440}},
    "cart_eur_multi": {"cart.currency": "EUR", "cart.quantity": {"$gte": 2}},
    "cart_has_sale_item": {"cart.product_ids": {"$elemMatch": {"$in": SKUS_ON_SALE}}},
    # orders
    "loyal": {"orders.count": {"$gte": 3}},
    "big_spender": {"orders.total": {"$gte": 1000}},
    "high_aov": {"orders.average_value": {"$gte": 150}},
    "lapsed_30_90": {"orders.days_ago": {"$gte": 30, "$lt": 90}},
    "recent_buyer": {"orders.count": {"$gte": 1}, "orders.days_ago": {"$lt": 7}},
    "bought_watches_or_jewellery": {"orders.categories": {"$in": ["watches", "jewellery"]}},
    "beauty_cross_sell": {
        "orders.categories": {"$in": BEAUTY},
        "session.top_category": {"$nin": BEAUTY},
    },
    "bargain_hunters": {
        "$or": [
            {"session.price_spread": {"$gte": 0.7}},
            {"orders.average_value": {"$lt": 40, "$gt": 0}},
        ]
    },
    "mid_spender": {
        "$and": [
            {"orders.count": {"$gte": 1}},
            {"$or": [{"traits.tier": "silver"}, {"orders.total": {"$gte": 300}}]},
        ]
    },
    # session
    "heavy_browser": {"session.products_viewed": {"$gte": 5}, "cart.lines": 0},
    "long_dwell": {"session.product_seconds": {"$gte": 300}},
    "in_checkout": {"session.stage": "checkout"},
    "stuck_at_cart": {
        "session.stage": {"$in": ["cart", "checkout"]},
        "session.page_type": {"$ne": "confirmation"},
    },
    "price_comparers": {
        "session.price_spread": {"$gte": 0.5},
        "session.products_viewed": {"$gte": 3},
    },
    "focused": {"session.category_focus": {"$gte": 0.8}, "session.products_viewed": {"$gte": 3}},
    # intent and visits
    "intent_high_no_cart": {"intent": {"$gte": 0.6}, "cart.lines": 0},
    "intent_low_returning": {"intent": {"$lt": 0.3}, "sessions": {"$gte": 2}},
    "frequent_visitor": {"sessions": {"$gte": 4}},
    "anonymous_returning": {"$nor": [{"known": True}, {"sessions": {"$lt": 2}}]},
    # counters
    "searchers": {"counters.Products Searched": {"$gte": 2}},
    "window_shoppers": {
        "counters.Product Viewed": {"$gte": 10},
        "counters.Product Added": {"$exists": False},
    },
    "adds_no_orders": {"counters.Product Added": {"$gte": 2}, "orders.count": 0},
    "checkout_no_order": {
        "counters.Checkout Started": {"$gte": 1},
        "counters.Order Completed": {"$exists": False},
    },
    # recently viewed and built-in segments
    "viewed_sale_item": {"recently_viewed": {"$in": SKUS_ON_SALE}},
    "viewed_many": {"recently_viewed": {"$size": {"$gte": 15}}},
    "abandoners_reachable": {
        "segments": {"$in": ["cart_abandoner", "browse_abandoner"]},
        "traits.email_opt_in": True,
    },
    "repeat_high_value": {"segments": {"$all": ["repeat_buyer", "high_value"]}},
}


def config(*, custom: bool = True) -> Config:
    """The benchmark config: the fifty segments above, or only the built-ins."""
    segments = [{"name": name, "condition": cond} for name, cond in CONDITIONS.items()]
    return Config.from_dict({"segments": segments if custom else []})
