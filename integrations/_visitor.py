"""The first-party visitor cookie: a random id, HMAC-signed, HttpOnly, SameSite=Lax.

A missing, tampered or malformed cookie is a new visitor, never an error. The adapters read the
cookie with `visitor_from_cookie` and, when `Visitor.is_new` (or to renew its lifetime), set the
header `set_cookie_header` gives.
"""

from __future__ import annotations

import secrets

import attrs

from personalize_sdk.signing import Signer

from ._settings import IntegrationSettings


@attrs.frozen
class Visitor:
    id: str
    is_new: bool


def new_visitor_id() -> str:
    return "v-" + secrets.token_urlsafe(16)


def visitor_from_cookie(value: str | None, signer: Signer) -> Visitor:
    """The visitor the cookie names, or a new one when it is absent or not ours."""
    visitor_id = signer.unsign(value) if value else None
    if visitor_id is None or not visitor_id.startswith("v-") or len(visitor_id) > 64:
        return Visitor(new_visitor_id(), True)
    return Visitor(visitor_id, False)


def set_cookie_header(
    visitor: Visitor, signer: Signer, settings: IntegrationSettings, *, https: bool
) -> str:
    """The value of a ``Set-Cookie`` header that keeps `visitor` for `cookie_max_age`."""
    secure = https if settings.cookie_secure is None else settings.cookie_secure
    parts = [
        f"{settings.cookie_name}={signer.sign(visitor.id)}",
        "Path=/",
        f"Max-Age={settings.cookie_max_age}",
        "HttpOnly",
        "SameSite=Lax",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
