"""`RequestPersonalize`: the request-bound handle every adapter hands the shop's views
(`request.state.personalize`, `request.personalize`, `g.personalize`): the SDK's calls with the
visitor, the customer and the page already filled in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from personalize_sdk import Page, Personalizer, Profile, Widget


class RequestPersonalize:
    def __init__(
        self,
        pz: Personalizer,
        visitor_id: str,
        page: Page,
        user_id: str | None = None,
    ) -> None:
        self.pz = pz
        self.visitor_id = visitor_id
        self.page = page
        self.user_id = user_id
        """The logged-in customer, when the framework says so (or after `identify`)."""

    def track(
        self, event: str, properties: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> str | None:
        return self.pz.track(self.visitor_id, event, properties, user_id=self.user_id, **kwargs)

    def identify(self, user_id: str, traits: Mapping[str, Any] | None = None) -> Profile | None:
        profile = self.pz.identify(self.visitor_id, user_id=user_id, traits=traits)
        if profile is not None:
            self.user_id = user_id
        return profile

    @property
    def segments(self) -> frozenset[str]:
        return self.pz.segments(self.visitor_id)

    @property
    def profile(self) -> Profile:
        return self.pz.profile(self.visitor_id)

    def widgets(self, slot: str | None = None, page: Page | None = None) -> list[Widget]:
        return self.pz.widgets(self.visitor_id, page or self.page, slot)

    def render(self, slot: str = "top", page: Page | None = None) -> Markup:
        """The slot's HTML as `Markup`: template engines insert it as is."""
        return Markup(self.pz.render(self.visitor_id, page or self.page, slot))

    async def awidgets(self, slot: str | None = None, page: Page | None = None) -> list[Widget]:
        return await self.pz.awidgets(self.visitor_id, page or self.page, slot)

    async def arender(self, slot: str = "top", page: Page | None = None) -> Markup:
        return Markup(await self.pz.arender(self.visitor_id, page or self.page, slot))
