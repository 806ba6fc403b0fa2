"""Bars in the page flow: the hello bar (W1) and the purchase progress bar (W4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from ._common import DISMISS_BUTTON, link, root
from ._fields import as_markup, flag, number, text
from ._urls import optional_src

_REGION = ' role="region" aria-label="Announcement"'


def render_hello_bar(data: Mapping[str, Any]) -> Markup:
    """A greeting or announcement, an optional call to action, dismissible unless told not."""
    dismiss = DISMISS_BUTTON if flag(data, "dismissible", default=True) else ""
    return as_markup(
        f'{root(data, "hello_bar", attributes=_REGION)}<p class="pz-text">{text(data, "text")}</p>'
        f"{link(data)}{dismiss}</div>"
    )


def percent_text(value: float) -> str:
    """A percentage for `aria-valuenow` and the CSS width: at most two decimals, no trailing 0."""
    rounded = round(value, 2)
    whole = int(rounded)
    return str(whole) if rounded == whole else f"{rounded:.2f}".rstrip("0")


def render_progress_bar(data: Mapping[str, Any]) -> Markup:
    """Progress towards a threshold ("spend $12.50 more for free shipping"), live with the cart.

    `percent` is clamped to 0-100 (a cart past the threshold is simply full); `remaining`,
    `threshold` and `currency` are for headless front ends, the markup shows the text.
    """
    label = text(data, "text")
    percent = percent_text(min(100.0, max(0.0, number(data, "percent", minimum=-1e9, maximum=1e9))))
    classes = " pz-unlocked" if flag(data, "unlocked", default=False) else ""
    refresh = optional_src(data, "refresh_url")
    attributes = f' data-pz-refresh="{refresh}"' if refresh else ""
    return as_markup(
        f"{root(data, 'progress_bar', classes, attributes)}"
        f'<p class="pz-text" aria-live="polite">{label}</p>'
        f'<div class="pz-meter" role="progressbar" aria-valuemin="0" aria-valuemax="100"'
        f' aria-valuenow="{percent}" aria-label="{label}">'
        # The width comes from the stylesheet by whole percent, not from a style attribute,
        # which a strict Content Security Policy (style-src without 'unsafe-inline') refuses.
        f'<span class="pz-fill" data-pz-percent="{round(float(percent))}"></span></div></div>'
    )
