"""Markup shared by several widget kinds: the root element, ids, links, coupons, product lists.

Every function returns escaped HTML as a plain `str` (cheaper to join than `Markup`); the kind
renderers wrap the finished widget with `as_markup` once. Fixed labels are English constants
here, in one place.
"""

from __future__ import annotations

import functools
import string
import time
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from .._bidi_controls import without_bidi_controls
from .._exceptions import ConfigError
from ..identity_memo import IdentityMemo
from ..read_only import ReadOnlyDict
from ..widget_data import CARDS_REMEMBERED
from ._fields import (
    LATEST_EPOCH,
    escape_text,
    is_mapping,
    mapping,
    number,
    optional_text,
    plain,
    raw_text,
    text,
    within,
)
from ._urls import href, safe_url

DISMISS_BUTTON = (
    '<button type="button" class="pz-dismiss" data-pz-dismiss aria-label="Dismiss">&times;</button>'
)
CLOSE_BUTTON = (
    '<button type="button" class="pz-close" data-pz-dismiss aria-label="Close">&times;</button>'
)
COPY_BUTTON = (
    '<button type="button" class="pz-copy" data-pz-copy><span class="pz-label">Copy</span>'
    '<span class="pz-status" aria-live="polite"></span></button>'
)
VALID_UNTIL = "Valid until"

POSITIONS = ("right", "left")
"""Edge a fixed widget sits on (side coupon, floating icon), the root class `pz-right`/`pz-left`."""

PRODUCT_IMAGE_SIZE = (160, 160)
"""Width and height of product images: the space is reserved before the image arrives."""

_ID_SAFE = frozenset(string.ascii_letters + string.digits + "-_")


@functools.lru_cache(maxsize=1024)
def id_token(campaign_id: str) -> str:
    """`campaign_id` as an HTML id fragment: itself when it is `[A-Za-z0-9_-]+`, else its safe
    characters (others become `-`) plus a CRC32 of the original, so distinct ids stay distinct."""
    if campaign_id and _ID_SAFE.issuperset(campaign_id):
        return campaign_id
    readable = "".join(c if c in _ID_SAFE else "-" for c in campaign_id[:40])
    checksum = zlib.crc32(campaign_id.encode("utf-8", "surrogatepass"))
    return f"{readable}-{checksum:08x}"


@functools.lru_cache(maxsize=1024)
def _identity(kind: str, campaign: Any, variant: Any, slot: Any, beacon: Any) -> str:
    """Validated and escaped identity attributes; cached, as they repeat on every page.

    A bad value raises, so only valid combinations are cached. A `Markup` equal to a cached
    `str` hits the same entry, which is right: both render as the same escaped text.
    """
    campaign = plain(campaign, "campaign_id")
    if not campaign:
        raise ConfigError("must not be empty", field="campaign_id")
    checked = safe_url(plain(beacon, "beacon"))
    if checked is None:
        raise ConfigError("must be an http(s) or relative URL", field="beacon")
    return (
        f' data-pz-widget="{kind}" data-pz-campaign="{escape_text(campaign)}"'
        f' data-pz-variant="{escape_text(plain(variant, "variant"))}"'
        f' data-pz-slot="{escape_text(plain(slot, "slot"))}" data-pz-beacon="{checked}"'
    )


def identity(data: Mapping[str, Any], kind: str, variant: Any = None) -> str:
    """The `data-pz-*` attributes naming the widget for the script and the beacons."""
    campaign, slot, beacon = data.get("campaign_id"), data.get("slot"), data.get("beacon")
    if variant is None:
        variant = data.get("variant")
    try:
        return _identity(kind, campaign, variant, slot, beacon)
    except TypeError:  # an unhashable value (a list ...): let the checks name it
        return _identity.__wrapped__(kind, campaign, variant, slot, beacon)


def root(data: Mapping[str, Any], kind: str, classes: str = "", attributes: str = "") -> str:
    """The opening tag of a widget's root: `class="pz pz-<kind>"`, identity, then `attributes`."""
    return (
        f'<div class="pz pz-{kind.replace("_", "-")}{classes}"{identity(data, kind)}{attributes}>'
    )


def title_id(data: Mapping[str, Any]) -> str:
    """The id of the widget's title, unique per campaign (`aria-labelledby` points to it)."""
    return f"pz-title-{id_token(raw_text(data, 'campaign_id'))}"


def link(data: Mapping[str, Any], css_class: str = "pz-cta") -> str:
    """The optional `link` (`{"url", "text"}`) as a clickable anchor, or "" without one."""
    value = mapping(data, "link")
    if value is None:
        return ""
    try:
        url, label = href(value, "url"), text(value, "text")
    except ConfigError as error:
        raise within(error, "link") from None
    return f'<a class="{css_class}" href="{url}" data-pz-click>{label}</a>'


@functools.lru_cache(maxsize=1024)
def utc_times(seconds: int) -> tuple[str, str]:
    """Epoch seconds as (ISO 8601 for `datetime`, readable UTC text)."""
    moment = time.gmtime(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", moment), time.strftime("%Y-%m-%d %H:%M UTC", moment)


def coupon_code(coupon: Mapping[str, Any]) -> str:
    return f'<code class="pz-code" data-pz-code>{text(coupon, "code")}</code>'


def coupon_terms(coupon: Mapping[str, Any]) -> str:
    """The discount and expiry lines of a coupon, each left out when absent."""
    discount = optional_text(coupon, "discount")
    terms = f'<p class="pz-discount">{discount}</p>' if discount else ""
    if coupon.get("expires_at") is not None:
        expires = number(coupon, "expires_at", minimum=0, maximum=LATEST_EPOCH)
        iso, readable = utc_times(int(expires))
        terms += f'<p class="pz-expiry">{VALID_UNTIL} <time datetime="{iso}">{readable}</time></p>'
    return terms


def coupon_block(data: Mapping[str, Any]) -> str:
    """The code, its copy button and its terms; "" when the widget has no coupon."""
    coupon = mapping(data, "coupon")
    if coupon is None:
        return ""
    try:
        return (
            f'<div class="pz-coupon">{coupon_code(coupon)}{COPY_BUTTON}{coupon_terms(coupon)}</div>'
        )
    except ConfigError as error:
        raise within(error, "coupon") from None


_CACHED_PRODUCT_LENGTH = 1024  # bigger products render uncached: the cache stays a few MB


def _product(product: Any) -> str:
    if not is_mapping(product):
        raise ConfigError("expected an object")
    name, url, image, price = fields = (
        product.get("name"),
        product.get("url"),
        product.get("image"),
        product.get("price"),
    )
    try:
        size = len(name) + len(url or "") + len(image or "") + len(price or "")
        if size <= _CACHED_PRODUCT_LENGTH:
            return _product_card(*fields)
    except TypeError:  # not text, or unhashable: the uncached call names the field
        pass
    return _product_card.__wrapped__(*fields)


@functools.lru_cache(maxsize=2048)
def _product_card(name: Any, url: Any, image: Any, price: Any) -> str:
    """One product card. Cached: the same catalogue products show on many pages, and only valid
    products are cached (a bad field raises)."""
    name = escape_text(without_bidi_controls(plain(name, "name")))
    body = ""
    if image is not None:
        image = safe_url(plain(image, "image"))
        if image:
            width, height = PRODUCT_IMAGE_SIZE
            body = (
                f'<img class="pz-image" src="{image}" alt="{name}" width="{width}"'
                f' height="{height}" loading="lazy">'
            )
    body += f'<span class="pz-name">{name}</span>'
    if price is not None and price != "":
        price = escape_text(without_bidi_controls(plain(price, "price")))
        body += f'<span class="pz-price">{price}</span>'
    if url is None or url == "":
        return f'<li class="pz-product"><div class="pz-card">{body}</div></li>'
    url = safe_url(plain(url, "url")) or "#"
    return f'<li class="pz-product"><a class="pz-card" href="{url}" data-pz-click>{body}</a></li>'


def product_list(products: Sequence[Any]) -> str:
    """`<ul class="pz-products">` with one linked card per product."""
    rendered = []
    memo = _CARD_HTML
    for index, product in enumerate(products):
        html = memo.get(product)
        if html is None:
            try:
                html = _product(product)
            except ConfigError as error:
                raise within(within(error, index), "products") from None
            if type(product) is ReadOnlyDict:  # a catalog product's card, made once
                memo.put(product, html)
        rendered.append(html)
    return f'<ul class="pz-products">{"".join(rendered)}</ul>'


_CARD_HTML: IdentityMemo[Any, str] = IdentityMemo(CARDS_REMEMBERED)
"""The markup of the cards `widget_data` keeps, as many."""
