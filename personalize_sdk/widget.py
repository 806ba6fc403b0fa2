"""`Widget`: one rendered storefront widget, as safe HTML and as JSON-ready data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from markupsafe import Markup  # installed with jinja2, which depends on it


@attrs.frozen(kw_only=True)
class Widget:
    kind: str
    """One of the widget kinds ("hello_bar", "side_coupon", "exit_intent", ...)."""
    campaign_id: str
    variant: str
    slot: str
    html: Markup
    """Escaped, ready-to-insert markup; implements `__html__` for template engines."""
    data: Mapping[str, Any] = attrs.field(factory=dict)
    """JSON-ready form for headless front ends: read-only dicts and lists (`json.dumps` takes
    them as they are; `copy.deepcopy` gives plain ones to change), shared between shoppers
    whose widget has the same content."""

    def __html__(self) -> str:
        return str(self.html)
