"""The first-party visitor cookie: a random id, HMAC-signed, HttpOnly, SameSite=Lax.

A missing, tampered or malformed cookie is a new visitor, never an error. The adapters read the
request's Cookie header with `visitor_from_header` (or `request_visitor`) and, when
`Visitor.is_new` (or to renew its lifetime), set the header `set_cookie_header` gives (or, in
Django's cookie jar, the `VisitorCookie` it formats).

A Cookie header may name the cookie more than once (a host-only cookie and one another subdomain
set for the parent domain, an old path): every adapter, for pages and beacons alike, takes the
first value that verifies, so they agree on the visitor and a foreign value sent first does not
make every request a new visitor.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from personalize_sdk.signing import Signer

from ._settings import IntegrationSettings

logger = logging.getLogger("personalize_sdk.integrations")

_MAX_VISITOR_ID = 64
_LONGEST_COOKIE = len(Signer(bytes(32)).sign("v-" + "x" * (_MAX_VISITOR_ID - 2)))
"""The longest value a valid cookie can have: an id of `_MAX_VISITOR_ID` characters, signed."""


@attrs.frozen
class Visitor:
    id: str
    is_new: bool
    cookie: str | None = None
    """The valid signed value the browser sent: renewing the cookie re-sends it as is (the
    signature of an id never changes), with no HMAC to compute."""


def new_visitor_id() -> str:
    return "v-" + secrets.token_urlsafe(16)


def cookie_values(header: str | None, name: str) -> Iterator[str]:
    """The values of cookie `name` in a Cookie header, in the order the browser sent them."""
    if not header or name not in header:
        return
    if "," in header:
        # Several Cookie headers (as HTTP/2 sends them) joined with "," (Django under ASGI):
        # no valid cookie value holds a comma (RFC 6265), so it separates cookies too.
        header = header.replace(",", ";")
    for chunk in header.split(";"):
        key, sep, value = chunk.partition("=")
        if sep and key.strip() == name:
            yield value.strip().strip('"')


def visitor_from_cookie(value: str | None, signer: Signer) -> Visitor:
    """The visitor the cookie value names, or a new one when it is absent or not ours."""
    return visitor_from_cookies((value,) if value else (), signer)


def visitor_from_cookies(values: Iterable[str], signer: Signer) -> Visitor:
    """The visitor the first of `values` that verifies names, or a new one when none does."""
    for value in values:
        # Checked before it becomes a key of `_checked`'s cache: a junk cookie of kilobytes
        # would otherwise be held there, thousands of them per worker.
        if not value or len(value) > _LONGEST_COOKIE:
            continue
        visitor_id = _checked(value, signer)
        if visitor_id is not None:
            return Visitor(visitor_id, False, value)
    return Visitor(new_visitor_id(), True)


def visitor_from_header(header: str | None, name: str, signer: Signer) -> Visitor:
    """The visitor the request's Cookie `header` names under cookie `name` (the first of its
    values that verifies), or a new one."""
    return visitor_from_cookies(cookie_values(header, name), signer)


def request_visitor(header: str | None, name: str, pz: Any) -> Visitor:
    """`visitor_from_header` for the request a handle is made for; a new visitor is told to a
    store that can use it (see `fresh_visitor`)."""
    visitor = visitor_from_header(header, name, pz.signer)
    if visitor.is_new:
        _note_new(visitor, pz)
    return visitor


def fresh_visitor(pz: Any) -> Visitor:
    """A new visitor (at logout: the browser starts afresh), told to a store that can use it."""
    visitor = Visitor(new_visitor_id(), True)
    _note_new(visitor, pz)
    return visitor


def _note_new(visitor: Visitor, pz: Any) -> None:
    """Tell the store a visitor is new (`RedisStore.note_new_visitor`): nothing can be stored
    under an id minted just now, so its first page reads nothing from Redis."""
    note = getattr(pz.store, "note_new_visitor", None)
    if note is None:
        return
    try:
        note(visitor.id)
    except Exception:  # a hint for the store: the page goes on without it
        logger.exception("personalize: the store could not note a new visitor")


@functools.lru_cache(maxsize=16_384)
def _checked(value: str, signer: Signer) -> str | None:
    """The visitor id of a signed cookie value, or None. Remembered: a returning visitor sends
    the same cookie on every request, and checking its HMAC each time is wasted work (a
    refused value is remembered too, so a flood of forged cookies costs one check each; the
    callers bound the length of what is remembered)."""
    visitor_id = signer.unsign(value)
    if visitor_id is None or not visitor_id.startswith("v-") or len(visitor_id) > _MAX_VISITOR_ID:
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


def shared_cacheable(cache_control: str | bytes | None) -> bool:
    """Whether a response's Cache-Control lets a shared cache (a CDN) keep it: ``public`` or
    ``s-maxage``, and not ``private`` or ``no-store``. The visitor cookie is never set on such
    a response: kept and served to every new shopper, it would make them all one visitor."""
    if not cache_control:
        return False
    text = cache_control.decode("latin-1") if isinstance(cache_control, bytes) else cache_control
    names = {part.split("=", 1)[0].strip().lower() for part in text.split(",")}
    return bool(names & {"public", "s-maxage"}) and not names & {"private", "no-store"}


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
