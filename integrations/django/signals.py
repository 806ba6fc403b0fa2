"""Signal receivers: Django's own hooks, no monkeypatching."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

from .._handle import RequestPersonalize
from .._visitor import visitor_from_header
from .apps import get_runtime

logger = logging.getLogger("personalize_sdk.django")


def identify_on_login(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    """On ``user_logged_in``: link the visitor of the login request to the customer
    (``str(user.pk)``), with the traits ``PERSONALIZE["user_traits"]`` gives (default: first
    name, last name, email), so the visitor's history follows them. A request without a visitor
    (``Client.login``, a login from a script) links nothing. Never raises into the login."""
    if request is None or getattr(user, "pk", None) is None:
        return
    try:
        runtime = get_runtime()
        user_id = str(user.pk)
        traits = runtime.user_traits(user)
        handle = getattr(request, "personalize", None)
        if isinstance(handle, RequestPersonalize):
            handle.identify(user_id, traits)  # later tracking in this request is the customer's
            return
        pz, name = runtime.personalizer, runtime.settings.cookie_name
        visitor = visitor_from_header(request.META.get("HTTP_COOKIE"), name, pz.signer)
        if not visitor.is_new:
            pz.identify(visitor.id, user_id=user_id, traits=traits)
    except Exception:
        logger.exception("personalize could not identify the user at login")


def new_visitor_on_logout(sender: Any, request: HttpRequest | None, **_: Any) -> None:
    """On ``user_logged_out``: the browser becomes a new anonymous visitor, whose cookie the
    middleware sets on the logout response, so on a shared device the next person is not
    greeted as the customer and their browsing does not join the customer's profile (which the
    customer keeps, for their next login). Never raises into the logout."""
    handle = getattr(request, "personalize", None)
    if not isinstance(handle, RequestPersonalize):
        return  # a logout the middleware did not see (a script, a test client's logout())
    try:
        handle.start_new_visitor()
    except Exception:
        logger.exception("personalize could not start a new visitor at logout")
