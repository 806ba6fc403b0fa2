"""Event names and the validated `Event` value object.

Names follow Segment's E-commerce spec v2 (plus `Page Viewed`, `Signed Up`, `Signed In` and the
widget interactions of E4). Custom event names are allowed: these constants only spare typos.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

# Browsing
PRODUCTS_SEARCHED = "Products Searched"
PRODUCT_LIST_VIEWED = "Product List Viewed"
PRODUCT_LIST_FILTERED = "Product List Filtered"
# Promotions
PROMOTION_VIEWED = "Promotion Viewed"
PROMOTION_CLICKED = "Promotion Clicked"
# Ordering
PRODUCT_CLICKED = "Product Clicked"
PRODUCT_VIEWED = "Product Viewed"
PRODUCT_ADDED = "Product Added"
PRODUCT_REMOVED = "Product Removed"
CART_VIEWED = "Cart Viewed"
CHECKOUT_STARTED = "Checkout Started"
CHECKOUT_STEP_VIEWED = "Checkout Step Viewed"
CHECKOUT_STEP_COMPLETED = "Checkout Step Completed"
PAYMENT_INFO_ENTERED = "Payment Info Entered"
ORDER_UPDATED = "Order Updated"
ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
ORDER_CANCELLED = "Order Cancelled"
# Coupons
COUPON_ENTERED = "Coupon Entered"
COUPON_APPLIED = "Coupon Applied"
COUPON_DENIED = "Coupon Denied"
COUPON_REMOVED = "Coupon Removed"
# Wishlisting
PRODUCT_ADDED_TO_WISHLIST = "Product Added to Wishlist"
PRODUCT_REMOVED_FROM_WISHLIST = "Product Removed from Wishlist"
WISHLIST_PRODUCT_ADDED_TO_CART = "Wishlist Product Added to Cart"
# Sharing and reviewing
PRODUCT_SHARED = "Product Shared"
CART_SHARED = "Cart Shared"
PRODUCT_REVIEWED = "Product Reviewed"
# Pages and accounts
PAGE_VIEWED = "Page Viewed"
SIGNED_UP = "Signed Up"
SIGNED_IN = "Signed In"
# Widget interactions reported by the browser (E4)
WIDGET_SHOWN = "Widget Shown"
WIDGET_CLICKED = "Widget Clicked"
WIDGET_DISMISSED = "Widget Dismissed"
COUPON_COPIED = "Coupon Copied"
EXIT_SURVEY_ANSWERED = "Exit Survey Answered"

STANDARD_EVENTS: frozenset[str] = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)


class Event(NamedTuple):
    """One accepted event: validated, with a message id and a timestamp (epoch seconds).

    A `NamedTuple` rather than an attrs class: one is built per `track()`, and it costs a
    quarter as much (0.15 vs 0.58 us measured here). Immutable all the same.
    """

    visitor_id: str | None
    name: str
    properties: Mapping[str, Any]
    timestamp: float
    message_id: str
    context: Mapping[str, Any] | None = None
    # True when the caller supplied message_id: only those can repeat and need de-duplication.
    caller_message_id: bool = False
    user_id: str | None = None
    """The customer the event was tracked for, when the caller named one."""
