"""Type rules of the e-commerce spec's well-known property names, as data.

`_walk.walk_mapping` applies them where the spec defines these names: at the top of an event's
properties and in each of its `products`. The common kinds are checked inline by the walk;
the table only says which name gets which kind.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class FieldRule(enum.Enum):
    TEXT = "text"
    """A string."""
    ID = "id"
    """A string of 1..max_id_length characters, or an int."""
    AMOUNT = "amount"
    """A number (int or float, not bool) >= 0."""
    QUANTITY = "quantity"
    """An int >= 0."""
    CURRENCY = "currency"
    """A three-letter ISO-4217 code."""
    PRODUCTS = "products"
    """A list of product mappings, each checked by these same rules."""


PROPERTY_RULES: Mapping[str, FieldRule] = {
    **dict.fromkeys(
        (
            "product_id",
            "order_id",
            "cart_id",
            "checkout_id",
            "sku",
            "coupon_id",
            "promotion_id",
            "list_id",
            "campaign_id",
            "variant",
        ),
        FieldRule.ID,
    ),
    **dict.fromkeys(
        ("price", "value", "revenue", "total", "subtotal", "shipping", "tax", "discount"),
        FieldRule.AMOUNT,
    ),
    **dict.fromkeys(
        ("category", "brand", "name", "page_type", "query", "url", "path"), FieldRule.TEXT
    ),
    "quantity": FieldRule.QUANTITY,
    "currency": FieldRule.CURRENCY,
    "products": FieldRule.PRODUCTS,
}
