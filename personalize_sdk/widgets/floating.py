"""The floating icon (W6): a fixed round link in a screen corner, dismissible."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from .._exceptions import ConfigError
from ._common import DISMISS_BUTTON, POSITIONS, root
from ._fields import as_markup, choice, optional_text, required_mapping, text, within
from ._urls import href


def render_floating_icon(data: Mapping[str, Any]) -> Markup:
    """`icon` is a short glyph (an emoji, at most a few characters), decorative: the link is
    named by `label`. Without an icon the label shows as text. The link's own `text` is not
    shown: `label` names the button."""
    label = text(data, "label")
    position = choice(data, "position", POSITIONS)
    target = required_mapping(data, "link")
    try:
        url = href(target, "url")
    except ConfigError as error:
        raise within(error, "link") from None
    icon = optional_text(data, "icon")
    face = (
        f'<span class="pz-icon" aria-hidden="true">{icon}</span>'
        if icon
        else f'<span class="pz-label">{label}</span>'
    )
    return as_markup(
        f"{root(data, 'floating_icon', f' pz-{position}')}"
        f'<a class="pz-fab" href="{url}" data-pz-click aria-label="{label}">{face}</a>'
        f"{DISMISS_BUTTON}</div>"
    )
