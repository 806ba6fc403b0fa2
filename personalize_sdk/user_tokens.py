"""`UserTokens`: the shop's backend vouching that a browser or an app is signed in as a customer.

A write key shipped in a browser or an app is public: anyone can send, with it, an identify that
names any customer's user id. Applied as it is, that links the sender's device to the customer's
profile, and the sender's pages then show the customer's name, cart and recently viewed
products. So the collector links a device to a customer, on a client key, only when the message
carries a token the shop's backend issued for that user id at login (`Personalizer.user_token`),
as Braze's SDK authentication does with a signed JWT.

A token is ``"<expires>|<user id>.<tag>"``: the expiry (epoch seconds) and the user id, HMAC-signed
with a key derived for this purpose alone (a visitor cookie or a coupon is no token). Time is
passed in.
"""

from __future__ import annotations

from .signing import Signer, derive

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
        return self._signer.sign(f"{int(now + ttl_seconds)}|{user_id}")

    def vouches(self, token: object, user_id: str, now: float) -> bool:
        """Whether `token` is ours, for `user_id`, and not expired at `now`."""
        value = self._signer.unsign(token)
        if value is None:
            return False
        expires, _, named = value.partition("|")
        return named == user_id and expires.isdigit() and int(expires) >= now
