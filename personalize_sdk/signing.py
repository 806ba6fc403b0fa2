"""Signed values (the visitor cookie) and the one secret every signature derives from.

`Signer.sign("v-123")` gives ``"v-123.<tag>"``: the value, a dot, and 128 bits of HMAC-SHA256
in URL-safe base64. `unsign` gives the value back, or None for anything tampered, truncated,
oversized or not text: a bad cookie is a new visitor, never an error.

The secret comes from `Personalizer(secret=...)`, else the ``PERSONALIZE_SECRET`` environment
variable, else a random one made up for this process (`ephemeral`): fine for a single process
and tests, wrong for several workers (a cookie signed by one is refused by another) or for
unique coupon codes that must verify after a restart. Each use derives its own key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from ._exceptions import ConfigError

MAX_SIGNED_LENGTH = 512
_TAG_BYTES = 16


def resolve_secret(secret: str | bytes | None) -> tuple[bytes, bool]:
    """(the secret as bytes, True when it was made up for this process)."""
    if secret is None:
        secret = os.environ.get("PERSONALIZE_SECRET") or None
    if secret is None:
        return secrets.token_bytes(32), True
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes) or len(secret) < 16:
        raise ConfigError("the secret must be at least 16 bytes of text or bytes", field="secret")
    return secret, False


def derive(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose, so a signature made for one use is worthless for another."""
    return hmac.digest(secret, b"personalize-sdk/" + purpose.encode("ascii"), hashlib.sha256)


class Signer:
    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "Signer(<key>)"

    def sign(self, value: str) -> str:
        return f"{value}.{self._tag(value)}"

    def unsign(self, signed: object) -> str | None:
        if not isinstance(signed, str) or len(signed) > MAX_SIGNED_LENGTH:
            return None
        value, dot, tag = signed.rpartition(".")
        if not dot or not value or not signed.isascii():
            return None
        if not hmac.compare_digest(tag, self._tag(value)):
            return None
        return value

    def _tag(self, value: str) -> str:
        digest = hmac.digest(self._key, value.encode("utf-8"), hashlib.sha256)
        return base64.urlsafe_b64encode(digest[:_TAG_BYTES]).rstrip(b"=").decode("ascii")
