"""The first-party visitor cookie: a random id, HMAC-signed, HttpOnly, SameSite=Lax.

A missing, tampered or malformed cookie is a new visitor, never an error. The adapters read the
cookie with `visitor_from_cookie` and, when `Visitor.is_new` (or to renew its lifetime), set the
header `set_cookie_header` gives (or, in Django's cookie jar, the `VisitorCookie` it formats).
"""

from __future__ import annotations

import functools
import logging
import secrets
from typing import Any

import attrs

from personalize_sdk.signing import Signer

from ._settings import IntegrationSettings

logger = logging.getLogger("personalize_sdk.integrations")


@attrs.frozen
class Visitor:
    id: str
    is_new: bool
    cookie: str | None = None
    """The valid signed value the browser sent: renewing the cookie re-sends it as is (the
    signature of an id never changes), with no HMAC to compute."""


def new_visitor_id() -> str:
    return "v-" + secrets.token_urlsafe(16)


def visitor_from_cookie(value: str | None, signer: Signer) -> Visitor:
    """The visitor the cookie names, or a new one when it is absent or not ours."""
    visitor_id = _checked(value, signer) if value else None
    if visitor_id is None:
        return Visitor(new_visitor_id(), True)
    return Visitor(visitor_id, False, value)


def request_visitor(value: str | None, pz: Any) -> Visitor:
    """`visitor_from_cookie` for the request a handle is made for; a new visitor's id is told
    to a store that can use it (`RedisStore.note_new_visitor`: nothing can be stored under an
    id minted just now, so its first page reads nothing from Redis)."""
    visitor = visitor_from_cookie(value, pz.signer)
    if visitor.is_new:
        note = getattr(pz.store, "note_new_visitor", None)
        if note is not None:
            try:
                note(visitor.id)
            except Exception:  # a hint for the store: the page goes on without it
                logger.exception("personalize: the store could not note a new visitor")
    return visitor


@functools.lru_cache(maxsize=16_384)
def _checked(value: str, signer: Signer) -> str | None:
    """The visitor id of a signed cookie value, or None. Remembered: a returning visitor sends
    the same cookie on every request, and checking its HMAC each time is wasted work (a
    refused value is remembered too, so a flood of forged cookies costs one check each)."""
    visitor_id = signer.unsign(value)
    if visitor_id is None or not visitor_id.startswith("v-") or len(visitor_id) > 64:
        return None
    return visitor_id


@attrs.frozen
class VisitorCookie:
    """The cookie that keeps a visitor: its attributes besides these are fixed (``Path=/``,
    ``HttpOnly``, ``SameSite=Lax``)."""

    name: str
    value: str
    """The signed visitor id."""
    max_age: int
    secure: bool

    def header(self) -> str:
        """The value of its ``Set-Cookie`` header."""
        parts = [
            f"{self.name}={self.value}",
            "Path=/",
            f"Max-Age={self.max_age}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)

    def morsel_attributes(self) -> dict[str, Any]:
        """The same attributes for a `http.cookies.Morsel` (Django's cookie jar)."""
        attributes: dict[str, Any] = {
            "path": "/",
            "max-age": self.max_age,
            "httponly": True,
            "samesite": "Lax",
        }
        if self.secure:
            attributes["secure"] = True
        return attributes


def visitor_cookie(
    visitor: Visitor, signer: Signer, settings: IntegrationSettings, *, https: bool
) -> VisitorCookie:
    """The cookie that keeps `visitor` for `cookie_max_age`."""
    secure = https if settings.cookie_secure is None else settings.cookie_secure
    signed = visitor.cookie if visitor.cookie is not None else signer.sign(visitor.id)
    return VisitorCookie(settings.cookie_name, signed, settings.cookie_max_age, secure)


def set_cookie_header(
    visitor: Visitor, signer: Signer, settings: IntegrationSettings, *, https: bool
) -> str:
    """The value of a ``Set-Cookie`` header that keeps `visitor` for `cookie_max_age`."""
    return visitor_cookie(visitor, signer, settings, https=https).header()
