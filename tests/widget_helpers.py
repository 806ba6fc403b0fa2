"""Helpers for widget tests: a Personalizer over campaigns, beacons, and an HTML element lister."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from personalize_sdk import Page, Personalizer, Widget
from tests.helpers import Clock

DATA = Path(__file__).parent / "data"
SECRET = "test-secret-0123456789abcdef"


def shop(clock: Clock, *campaigns: dict[str, Any], **config: Any) -> Personalizer:
    """A strict Personalizer with these campaigns (and any other config sections)."""
    return Personalizer(
        {"campaigns": list(campaigns), **config},
        clock=clock,
        strict=True,
        secret=SECRET,
        catalog=DATA / "catalog.json",
    )


def bar(campaign_id: str = "bar", **fields: Any) -> dict[str, Any]:
    return {"id": campaign_id, "kind": "hello_bar", "text": f"{campaign_id} text", **fields}


def report(pz: Personalizer, visitor: str, widget: Widget, kind: str = "shown") -> None:
    """What the browser script sends when the shopper sees (or clicks, dismisses) a widget."""
    result = pz.beacon(
        visitor,
        json.dumps(
            {
                "events": [
                    {
                        "type": kind,
                        "campaign": widget.campaign_id,
                        "variant": widget.variant,
                        "kind": widget.kind,
                        "slot": widget.slot,
                        "path": "/",
                    }
                ]
            }
        ),
    )
    assert result.ok, result.rejected


def ids(widgets: list[Widget]) -> list[str]:
    return [w.campaign_id for w in widgets]


HOME = Page(type="home", path="/")
PRODUCT = Page(type="product", path="/p/w-1", product_id="w-1", category="watches")
CART = Page(type="cart", path="/cart")


class Elements(HTMLParser):
    """Every start tag of a document, as (tag, attributes) pairs."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def tags(self) -> list[str]:
        return [tag for tag, _ in self.found]
