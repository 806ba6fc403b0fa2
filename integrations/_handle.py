"""`RequestPersonalize`: the request-bound handle every adapter hands the shop's views
(`request.state.personalize`, `request.personalize`, `g.personalize`): the SDK's calls with the
visitor, the customer and the page already filled in.

A page renders several slots (`render("top")`, `render("side")` ...). The handle decides them
all at once, on the first, and every later slot of the same page is a dictionary look-up: one
decision per page rather than one per slot. Tracking, an identify, or a new `page` starts
afresh, so a view that tracks after rendering sees its own event in what it renders next.

At logout, `start_new_visitor` makes the browser a new anonymous visitor: the adapter sets the
new visitor's cookie on the response (Django and Flask-Login call it on their logout signals).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from personalize_sdk import Page, Personalizer, Profile, Widget

from ._visitor import Visitor, fresh_visitor

_NOTHING = Markup("")
logger = logging.getLogger("personalize_sdk.integrations")


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
        self._page = page
        self.user_id = user_id
        """The logged-in customer, when the framework says so (or after `identify`)."""
        self.new_visitor: Visitor | None = None
        """The visitor `start_new_visitor` started, whose cookie the adapter sets on the
        response in place of the one the request came with."""
        self._slots: dict[str, Markup] | None = None
        self._widgets: list[Widget] | None = None
        self.response_varies = False
        """True once the response may show something of this shopper (widgets, segments, the
        profile were read): the adapter adds ``Vary: Cookie`` to it, whatever its status or
        type (a 404 page with a greeting, a JSON API of widgets), so no cache serves it to
        someone else."""

    @property
    def page(self) -> Page:
        """The page the widgets are decided for (a view may set a richer one)."""
        return self._page

    @page.setter
    def page(self, page: Page) -> None:
        self._page = page
        self._forget_decision()

    def track(
        self, event: str, properties: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> str | None:
        self._forget_decision()
        return self.pz.track(self.visitor_id, event, properties, user_id=self.user_id, **kwargs)

    async def atrack(
        self, event: str, properties: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> str | None:
        self._forget_decision()
        return await self.pz.atrack(
            self.visitor_id, event, properties, user_id=self.user_id, **kwargs
        )

    def identify(self, user_id: str, traits: Mapping[str, Any] | None = None) -> Profile | None:
        """At login: the visitor's history joins the customer `user_id`, and the browser gets
        a new visitor id (the adapter sets its cookie on the response), linked to the customer,
        as Django gives a new session key at login: a visitor cookie planted or copied before
        the login (a shared kiosk) never opens the customer's profile. Again for the customer
        already signed in on this request, it only updates the traits."""
        self._forget_decision()
        already = self.user_id == user_id
        pz = self.pz
        old = self.visitor_id
        profile = pz.identify(old, user_id=user_id, traits=traits)
        if already:
            return profile
        # Traits refused (of a wrong type, too many): the login links all the same, without
        # them, so the visitor's history is the customer's before the browser moves on.
        if profile is None and pz.identify(old, user_id=user_id) is None:
            return None  # the store failed: nothing was linked, the visitor stays as it was
        self.user_id = user_id
        fresh = fresh_visitor(pz)
        if pz.identify(fresh.id, user_id=user_id) is not None:
            self.new_visitor = fresh
            self.visitor_id = fresh.id
            _unlink(pz, old)
        return profile

    def start_new_visitor(self) -> str:
        """At logout: from here on the browser is a new anonymous visitor (its id returned), so
        whoever uses it next is not greeted as the customer and their browsing does not join the
        customer's profile. The customer keeps that profile: it is theirs again at their next
        login. The rest of this request tracks and renders for the new visitor, and the
        adapter sets its cookie on the response."""
        old = self.visitor_id
        visitor = fresh_visitor(self.pz)
        self.new_visitor = visitor
        self.visitor_id = visitor.id
        self.user_id = None
        self._forget_decision()
        # A copy of the old cookie (taken before the logout) no longer opens the profile.
        _unlink(self.pz, old)
        return visitor.id

    @property
    def segments(self) -> frozenset[str]:
        self.response_varies = True
        return self.pz.segments(self.visitor_id, user_id=self.user_id)

    @property
    def profile(self) -> Profile:
        self.response_varies = True
        return self.pz.profile(self.visitor_id, user_id=self.user_id)

    def widgets(self, slot: str | None = None, page: Page | None = None) -> list[Widget]:
        if self._other(page):
            return self.pz.widgets(self.visitor_id, page, slot, user_id=self.user_id)
        if self._widgets is None:
            self._decide(self.pz.widgets(self.visitor_id, self._page, user_id=self.user_id))
        return self._of_slot(slot)

    def render(self, slot: str = "top", page: Page | None = None) -> Markup:
        """The slot's HTML as `Markup`: template engines insert it as is."""
        # A template calls this for each of its slots: `_other` and `_html_of` inline.
        if page is not None and page != self._page:
            self.response_varies = True
            return Markup(self.pz.render(self.visitor_id, page, slot, user_id=self.user_id))
        slots = self._slots
        if slots is None:
            self._decide(self.pz.widgets(self.visitor_id, self._page, user_id=self.user_id))
            slots = self._slots
            assert slots is not None
        return slots.get(slot, _NOTHING) if type(slot) is str else _NOTHING

    async def awidgets(self, slot: str | None = None, page: Page | None = None) -> list[Widget]:
        if self._other(page):
            return await self.pz.awidgets(self.visitor_id, page, slot, user_id=self.user_id)
        if self._widgets is None:
            self._decide(await self.pz.awidgets(self.visitor_id, self._page, user_id=self.user_id))
        return self._of_slot(slot)

    async def arender(self, slot: str = "top", page: Page | None = None) -> Markup:
        if self._other(page):
            html = await self.pz.arender(self.visitor_id, page, slot, user_id=self.user_id)
            return Markup(html)
        if self._slots is None:
            self._decide(await self.pz.awidgets(self.visitor_id, self._page, user_id=self.user_id))
        return self._html_of(slot)

    def _other(self, page: Page | None) -> bool:
        """A page other than the request's: decided on its own, not remembered."""
        if page is not None and page != self._page:
            self.response_varies = True
            return True
        return False

    def _of_slot(self, slot: str | None) -> list[Widget]:
        assert self._widgets is not None
        return list(self._widgets) if slot is None else [w for w in self._widgets if w.slot == slot]

    def _html_of(self, slot: str) -> Markup:
        assert self._slots is not None
        return self._slots.get(slot, _NOTHING) if type(slot) is str else _NOTHING

    def _decide(self, widgets: list[Widget]) -> None:
        self.response_varies = True
        slots: dict[str, list[str]] = {}
        for widget in widgets:
            slots.setdefault(widget.slot, []).append(str(widget.html))
        self._widgets = widgets
        self._slots = {slot: Markup("".join(parts)) for slot, parts in slots.items()}

    def _forget_decision(self) -> None:
        self._slots = None
        self._widgets = None


def _unlink(pz: Personalizer, visitor_id: str) -> None:
    """`unlink`, which a login or a logout never fails for: with the store away, the old
    visitor id stays linked (logged, as any store fault is), and the browser has its new one."""
    try:
        pz.unlink(visitor_id)
    except Exception:
        logger.warning("could not unlink the visitor id the browser had", exc_info=True)
