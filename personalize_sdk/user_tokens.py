"""`UserTokens`: the shop's backend vouching that a browser or an app is signed in as a customer.

A write key shipped in a browser or an app is public: anyone can send, with it, an identify that
names any customer's user id. Applied as it is, that links the sender's device to the customer's
profile, and the sender's pages then show the customer's name, cart and recently viewed
products. So the collector links a device to a customer, on a client key, only when the message
carries a token the shop's backend issued for that user id at login (`Personalizer.user_token`),
as Braze's SDK authentication does with a signed JWT.

A token is ``"<expires>|<user id>.<tag>"``: the expiry (epoch seconds) and the user id (its UTF-8
in URL-safe base64, so any id makes an ASCII token), HMAC-signed with a key derived for this
purpose alone (a visitor cookie or a coupon is no token). Time is passed in.
"""

from __future__ import annotations

import base64

from .signing import MAX_SIGNED_LENGTH, Signer, derive

DEFAULT_TTL_SECONDS = 30 * 86_400.0
"""A token's lifetime unless the shop says otherwise: about a login session's on a phone."""


class UserTokens:
    __slots__ = ("_signer",)

    def __init__(self, secret: bytes) -> None:
        self._signer = Signer(derive(secret, "collector-user-token"))

    def issue(self, user_id: str, now: float, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> str:
        """A token for `user_id`, good until `now` + `ttl_seconds`."""
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("user_id must be non-empty text")
        if not ttl_seconds > 0:
            raise ValueError("ttl_seconds must be > 0")
        token = self._signer.sign(f"{int(now + ttl_seconds)}|{_encoded(user_id)}")
        if len(token) > MAX_SIGNED_LENGTH:  # it would never verify
            raise ValueError(f"user_id is too long for a token ({len(user_id)} characters)")
        return token

    def vouches(self, token: object, user_id: str, now: float) -> bool:
        """Whether `token` is ours, for `user_id`, and not expired at `now`."""
        value = self._signer.unsign(token)
        if value is None:
            return False
        expires, _, named = value.partition("|")
        return named == _encoded(user_id) and expires.isdigit() and int(expires) >= now


def _encoded(user_id: str) -> str:
    return base64.urlsafe_b64encode(user_id.encode("utf-8", "surrogatepass")).decode("ascii")
