"""Coupon widgets: the side coupon drawer (W2) and the scratch coupon (W6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from .._exceptions import ConfigError
from ._common import (
    COPY_BUTTON,
    DISMISS_BUTTON,
    POSITIONS,
    coupon_block,
    coupon_code,
    coupon_terms,
    root,
)
from ._fields import as_markup, choice, optional_text, required_mapping, text, within


def render_side_coupon(data: Mapping[str, Any]) -> Markup:
    """A tab on the screen edge opening a drawer with the coupon; `<details>` opens without JS."""
    position = choice(data, "position", POSITIONS)
    required_mapping(data, "coupon")
    message = optional_text(data, "text")
    paragraph = f'<p class="pz-text">{message}</p>' if message else ""
    return as_markup(
        f"{root(data, 'side_coupon', f' pz-{position}')}"
        f'<details class="pz-drawer"><summary class="pz-tab">{text(data, "tab")}</summary>'
        f'<div class="pz-panel">{paragraph}{coupon_block(data)}{DISMISS_BUTTON}</div>'
        "</details></div>"
    )


def render_scratch_coupon(data: Mapping[str, Any]) -> Markup:
    """A code under a cover button: scratching or activating the cover reveals it.

    The copy button follows the scratch area (a sibling, so the cover never lies over it); the
    stylesheet shows the code without the cover when the script is absent.
    """
    coupon = required_mapping(data, "coupon")
    try:
        code, terms = coupon_code(coupon), coupon_terms(coupon)
    except ConfigError as error:
        raise within(error, "coupon") from None
    title = optional_text(data, "title")
    message = optional_text(data, "text")
    heading = f'<p class="pz-title">{title}</p>' if title else ""
    if message:
        heading += f'<p class="pz-text">{message}</p>'
    return as_markup(
        f"{root(data, 'scratch_coupon')}{heading}"
        f'<div class="pz-scratch" data-pz-scratch>{code}'
        f'<button type="button" class="pz-scratch-cover" data-pz-scratch-cover>'
        f"{text(data, 'cover_text')}</button></div>{COPY_BUTTON}{terms}</div>"
    )
