"""Coupons: static shop codes, and unique per-shopper codes signed so they cannot be forged (C5).

A unique code is self-contained: checkout verifies it with the secret and the campaigns it knows,
no database and no store. It reads like ``WB-0C8Q-R9ZT-4K2M-7XHB-D31E-93PA``: an optional prefix of
the shop's choice, then 24 Crockford base32 symbols (digits and letters without I, L, O, U) in
groups of four. The symbols hold 120 bits, the first 80 masked (see below):

    bits  field
    26    expiry, in whole minutes since 1970 (good until 2097); all ones means "never"
    16    campaign hint: the first bits of SHA-256 of the campaign id and variant id
    38    shopper tag: HMAC of the visitor key under the secret, for that campaign and variant
    40    tag: HMAC-SHA256 under the secret of the prefix, the 80 bits above, the campaign id and
          the variant id, truncated

Why this layout:

- The tag covers everything else: the prefix, the 80 bits, and the campaign and variant ids,
  which are not in the code (each length-prefixed, so ("ab", "c") and ("a", "bc") differ).
  Changing any symbol, or presenting the code as another campaign's or variant's, gives a tag
  that no longer matches. 40 bits means a forger guessing at a checkout needs about 5.5 * 10**11
  attempts on average for one code that passes; rate limiting at checkout makes that hopeless.
- The campaign id does not fit in a short code, so the code carries a 16-bit hint only to narrow
  the search: `CouponBook.verify` unmasks the code, reads the hint and tries each registered
  (campaign, variant) with that hint until one authenticates, one HMAC per candidate. Hints do
  collide (among 200 campaign variants some pair shares one about one time in four; among 2,000,
  about 30 pairs do) and that is harmless: each variant sharing the hint is tried, the tag tells
  them apart, and a code never passes for another variant. A forger gains one more 2**-40 chance
  per extra candidate, nothing more. `CouponSigner.verify` needs the campaign id for the same
  reason: without it there is nothing to check the tag against.
- The shopper tag makes codes differ between shoppers and lets checkout refuse a code used by
  another shopper when it knows the visitor key. Two shoppers could share a code only with the
  same campaign variant, the same expiry minute and colliding 38-bit tags: among 10,000 shoppers
  first exposed in the same minute, about once in 5,500 such minutes. Fewer bits made that
  collision a daily event for a busy campaign (20 bits: 7 a day at 100 new shoppers a minute),
  which is what a shop enforcing single use per code would notice; hence 24 symbols, not 20.
- The 80 bits before the tag are masked with a keystream drawn from the tag (HMAC under a third
  key derived from the secret, as in SIV encryption), so codes look random: shoppers exposed in
  the same minute get codes with nothing visibly in common, and nobody reads a code's expiry or
  campaign hint off it. The mask does not depend on the campaign, so verify unmasks first, then
  checks the tag over the unmasked bits for each candidate campaign.
- Codes are deterministic: the same campaign, variant, shopper, expiry and prefix give the same
  code, so a widget re-rendered after the first exposure shows the same code without storing it.

On verify, case does not matter, hyphens and spaces are ignored, and I/L read as 1 and O as 0
(Crockford's rule for symbols a shopper mistypes). Every outcome is a `CouponCheck` whose
`reason` is one of "ok", "malformed", "forged", "expired", "wrong_shopper"; hostile input (None,
10 KB of text, emoji) is "malformed", never an exception. Because the campaign and variant ids
are signed, a genuine code checked against a campaign that did not issue it, or brought to a
book that no longer holds its campaign, is "forged": nothing tells it apart from a forgery.

A code expires when `now >= expires_at`. Expiries are rounded up to the minute, in the shopper's
favour.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from ._config_tables import is_number, known_table
from ._exceptions import ConfigError

CouponReason = Literal["ok", "malformed", "forged", "expired", "wrong_shopper"]

MIN_SECRET_BYTES = 16
TAG_BITS = 40
_EXPIRY_BITS, _CAMPAIGN_BITS, _SHOPPER_BITS = 26, 16, 38
_PAYLOAD_BITS = _EXPIRY_BITS + _CAMPAIGN_BITS + _SHOPPER_BITS
_SYMBOLS = (_PAYLOAD_BITS + TAG_BITS) // 5  # 24 base32 symbols
_NEVER = (1 << _EXPIRY_BITS) - 1  # the expiry field of a code that does not expire

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
# Crockford symbols to the digits `int(text, 32)` reads; I and L read as 1, O as 0.
_TO_DIGITS = str.maketrans(_ALPHABET + "ILO", "0123456789abcdefghijklmnopqrstuv" + "110")
_PREFIX = re.compile(r"[A-Z0-9]{0,8}")
# A prefix, then the 24 symbols: digits and every letter but U (I, L and O as misread symbols).
_UNIQUE_CODE = re.compile(r"([A-Z0-9]{0,8})([0-9A-TV-Z]{24})")
_POLICY_PREFIX = re.compile(r"[A-Z0-9]{1,8}")
_STATIC_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_MAX_CODE_TEXT = 64  # longer input is malformed before any work is done
_MAX_VALID_HOURS = 24 * 366 * 10
_SEPARATORS = str.maketrans("", "", "- \t\r\n")


@attrs.frozen(kw_only=True)
class CouponCheck:
    """The verdict on a code. `valid` is True only when `reason` is "ok"."""

    valid: bool
    reason: CouponReason
    campaign_hint: int | None = None
    """The code's 16-bit campaign hint, once the code is known to be authentic."""
    expires_at: float | None = None
    """Epoch seconds, once the code is known to be authentic; None for codes that never expire."""
    campaign_id: str | None = None
    """The campaign the code belongs to, once the code is known to be authentic."""
    variant: str | None = None
    """The variant of that campaign ("" for a code issued without one), likewise."""
    discount: str | None = None
    """The variant's display text for the discount (`CouponBook` only)."""
    code: str | None = None
    """The code as it was issued (a static code as configured), once it is known to be
    authentic. A shopper may type it in lower case, without its hyphens, or with I for 1 and O
    for 0, and it verifies all the same: key a redemption ledger on this, not on the text
    typed, or one code is redeemed once per spelling."""


@attrs.frozen(kw_only=True)
class _Unmasked:
    """A well-formed unique code, unmasked but not yet authenticated."""

    prefix: bytes
    payload: int
    tag: int
    spelled: str
    """Its canonical spelling, as `issue` writes it."""

    @property
    def campaign_hint(self) -> int:
        return (self.payload >> _SHOPPER_BITS) & ((1 << _CAMPAIGN_BITS) - 1)

    @property
    def shopper_tag(self) -> int:
        return self.payload & ((1 << _SHOPPER_BITS) - 1)

    @property
    def expires_at(self) -> float | None:
        minute = self.payload >> (_CAMPAIGN_BITS + _SHOPPER_BITS)
        return None if minute == _NEVER else minute * 60.0


def campaign_hint(campaign_id: str, variant: str = "") -> int:
    """The 16-bit hint a unique code carries for `campaign_id`'s `variant` (under every secret).

    Only a hint: different (campaign, variant) pairs may share one, and the tag tells them apart.
    Raises `ValueError` unless `campaign_id` is a non-empty string and `variant` a string.
    """
    return _hint(_checked_identity(campaign_id, variant))


def _hint(identity: bytes) -> int:
    digest = hashlib.sha256(b"pz-coupon hint\x00" + identity).digest()
    return int.from_bytes(digest[:2], "big") >> (16 - _CAMPAIGN_BITS)


class CouponSigner:
    """Issues and verifies unique codes under one secret of at least 16 bytes.

    Keep the secret out of source control and identical on every server; rotating it invalidates
    every unique code issued under the old one. Checkout normally calls `CouponBook.verify`, which
    finds the campaign of a code; `CouponSigner.verify` checks a code against one campaign.
    """

    __slots__ = ("_mask_key", "_shopper_key", "_tag_key")

    def __init__(self, secret: bytes | str) -> None:
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        if not isinstance(secret, bytes):
            raise ConfigError(
                f"the coupon secret must be bytes or str, got {type(secret).__name__}"
            )
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(f"the coupon secret must be at least {MIN_SECRET_BYTES} bytes long")
        # One key per use, derived from the secret, so a tag never doubles as a shopper tag.
        self._tag_key = hmac.digest(secret, b"pz-coupon tag", "sha256")
        self._shopper_key = hmac.digest(secret, b"pz-coupon shopper", "sha256")
        self._mask_key = hmac.digest(secret, b"pz-coupon mask", "sha256")

    def __repr__(self) -> str:
        return "CouponSigner(<secret>)"

    def issue(
        self,
        campaign_id: str,
        visitor_key: str,
        expires_at: float | None,
        *,
        prefix: str = "",
        variant: str = "",
    ) -> str:
        """The code of `campaign_id`'s `variant` for `visitor_key`, valid until `expires_at`.

        `expires_at` is epoch seconds, rounded up to the minute; None issues a code that never
        expires. `prefix` is 0-8 characters A-Z0-9. Invalid arguments raise `ValueError`.
        """
        identity = _checked_identity(campaign_id, variant)
        if not isinstance(visitor_key, str) or not visitor_key:
            raise ValueError(f"visitor_key must be a non-empty string, got {visitor_key!r}")
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise ValueError(f"prefix must be 0-8 characters A-Z0-9, got {prefix!r}")
        minute = _NEVER if expires_at is None else _expiry_minute(expires_at)
        payload = (minute << (_CAMPAIGN_BITS + _SHOPPER_BITS)) | (_hint(identity) << _SHOPPER_BITS)
        payload |= self._shopper_tag(identity, visitor_key)
        prefix_bytes = prefix.encode("ascii")
        tag = self._tag(prefix_bytes, payload, identity)
        masked = payload ^ self._mask(prefix_bytes, tag)
        return _spelled(prefix, (masked << TAG_BITS) | tag)

    def verify(
        self,
        code: object,
        now: float,
        *,
        campaign_id: str,
        variant: str = "",
        visitor_key: str | None = None,
    ) -> CouponCheck:
        """Check `code` at `now` as `campaign_id`'s `variant`'s and, when given, the shopper's.

        The campaign is required because it is signed into the code's tag: a code of another
        campaign or variant is "forged". Checkout normally calls `CouponBook.verify` instead,
        which finds the campaign among those it knows. Invalid arguments other than `code` raise
        `ValueError`; whatever `code` is, the answer is a `CouponCheck`.
        """
        _check_now(now)
        _check_visitor_key(visitor_key)
        identity = _checked_identity(campaign_id, variant)
        unmasked = self._unmask(code)
        if isinstance(unmasked, CouponCheck):
            return unmasked
        if not self._authentic(unmasked, identity):
            return _FORGED
        return self._judge(unmasked, now, visitor_key, identity, campaign_id, variant)

    def _unmask(self, code: object) -> _Unmasked | CouponCheck:
        """Decode and unmask `code`, or the "malformed" verdict; nothing is authenticated yet."""
        if not isinstance(code, str) or len(code) > _MAX_CODE_TEXT:
            return _MALFORMED
        match = _UNIQUE_CODE.fullmatch(code.translate(_SEPARATORS).upper())
        if match is None:
            return _MALFORMED
        prefix, body = match.groups()
        number = int(body.translate(_TO_DIGITS), 32)
        prefix_bytes = prefix.encode("ascii")
        tag = number & ((1 << TAG_BITS) - 1)
        payload = (number >> TAG_BITS) ^ self._mask(prefix_bytes, tag)
        return _Unmasked(
            prefix=prefix_bytes, payload=payload, tag=tag, spelled=_spelled(prefix, number)
        )

    def _authentic(self, unmasked: _Unmasked, identity: bytes) -> bool:
        """Whether `unmasked` was issued under this secret for the campaign `identity` names."""
        expected = self._tag(unmasked.prefix, unmasked.payload, identity)
        return hmac.compare_digest(_tag_bytes(unmasked.tag), _tag_bytes(expected))

    def _judge(
        self,
        code: _Unmasked,
        now: float,
        visitor_key: str | None,
        identity: bytes,
        campaign_id: str,
        variant: str,
        discount: str | None = None,
    ) -> CouponCheck:
        """The verdict on a code authentic for `identity`: shopper, then expiry."""
        reason: CouponReason = "ok"
        if visitor_key is not None and not hmac.compare_digest(
            _tag_bytes(code.shopper_tag), _tag_bytes(self._shopper_tag(identity, visitor_key))
        ):
            reason = "wrong_shopper"
        elif code.expires_at is not None and now >= code.expires_at:
            reason = "expired"
        return CouponCheck(
            valid=reason == "ok",
            reason=reason,
            campaign_hint=code.campaign_hint,
            expires_at=code.expires_at,
            campaign_id=campaign_id,
            variant=variant,
            discount=discount,
            code=code.spelled,
        )

    def _tag(self, prefix: bytes, payload: int, identity: bytes) -> int:
        # The prefix is NUL-terminated and the payload fixed-size; the identity, last, is
        # length-prefixed: no two (prefix, payload, campaign, variant) give the same message.
        message = b"pz-coupon/2\x00" + prefix + b"\x00" + payload.to_bytes(10, "big") + identity
        digest = hmac.digest(self._tag_key, message, "sha256")
        return int.from_bytes(digest[:8], "big") >> (64 - TAG_BITS)

    def _mask(self, prefix: bytes, tag: int) -> int:
        # Independent of the campaign, so a verifier unmasks before it knows the campaign.
        message = prefix + b"\x00" + tag.to_bytes(5, "big")
        digest = hmac.digest(self._mask_key, message, "sha256")
        return int.from_bytes(digest[:10], "big")  # exactly the 80 payload bits

    def _shopper_tag(self, identity: bytes, visitor_key: str) -> int:
        digest = hmac.digest(self._shopper_key, identity + _utf8(visitor_key), "sha256")
        return int.from_bytes(digest[:8], "big") >> (64 - _SHOPPER_BITS)


@attrs.frozen(kw_only=True)
class CouponPolicy:
    """How a campaign variant hands out coupons: one static shop code, or unique signed codes.

    Build it from config with `CouponPolicy.from_dict`; constructing it directly checks the same
    rules (raising `ConfigError` naming the attribute).
    """

    code: str | None = None
    """A static code the shop created in its own platform ("WELCOME10"), or None."""
    prefix: str = ""
    """Unique codes only: 1-8 characters A-Z0-9 put before the code ("WB-...")."""
    valid_seconds: float | None = None
    """How long a shopper has after first seeing the coupon (None: no expiry)."""
    discount: str | None = None
    """Display text ("10%", "$5 off"), shown in the widget and returned by verify."""
    unique: bool = False

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.unique, bool):
            raise ConfigError(f"expected true or false, got {self.unique!r}", field="unique")
        if self.unique == (self.code is not None):
            problem = "has both" if self.unique else "needs one of"
            raise ConfigError(f"{problem} a static `code` and `unique = true`", field="code")
        if self.code is not None and (
            not isinstance(self.code, str) or not _STATIC_CODE.fullmatch(self.code)
        ):
            raise ConfigError(
                f"a code is 1-40 letters, digits, '-' or '_', got {self.code!r}", field="code"
            )
        if self.prefix and not self.unique:
            raise ConfigError("a prefix applies to unique codes only", field="prefix")
        if self.prefix != "" and (
            not isinstance(self.prefix, str) or not _POLICY_PREFIX.fullmatch(self.prefix)
        ):
            raise ConfigError(
                f"a prefix is 1-8 characters A-Z or 0-9, got {self.prefix!r}", field="prefix"
            )
        if self.valid_seconds is not None and (
            isinstance(self.valid_seconds, bool)
            or not isinstance(self.valid_seconds, (int, float))
            or not 0 < self.valid_seconds <= _MAX_VALID_HOURS * 3600
        ):
            raise ConfigError(
                f"must be a number of seconds in (0, {_MAX_VALID_HOURS * 3600}], "
                f"got {self.valid_seconds!r}",
                field="valid_seconds",
            )
        if self.discount is not None and (
            not isinstance(self.discount, str) or not 0 < len(self.discount.strip()) <= 40
        ):
            raise ConfigError(f"expected 1-40 characters, got {self.discount!r}", field="discount")

    @classmethod
    def from_dict(cls, raw: Any, *, field: str = "coupon") -> CouponPolicy:
        """Read `{code = "WELCOME10"}` (or just `"WELCOME10"`) or
        `{unique = true, prefix = "WB", valid_hours = 48, discount = "10%"}`.

        Anything else is a `ConfigError` whose field is the dotted path below `field`.
        """
        if isinstance(raw, str):
            raw = {"code": raw}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"expected a table or a code, got {type(raw).__name__}", field=field)
        raw = known_table(raw, _POLICY_KEYS, field)
        hours = raw.get("valid_hours")
        if hours is not None and (not is_number(hours) or not 0 < hours <= _MAX_VALID_HOURS):
            raise ConfigError(
                f"must be a number of hours in (0, {_MAX_VALID_HOURS}], got {hours!r}",
                field=f"{field}.valid_hours",
            )
        try:
            return cls(
                code=raw.get("code"),
                prefix=raw.get("prefix", ""),
                valid_seconds=None if hours is None else hours * 3600.0,
                discount=raw.get("discount"),
                unique=raw.get("unique", False),
            )
        except ConfigError as error:
            name = "valid_hours" if error.field == "valid_seconds" else error.field
            raise ConfigError(error.message, field=f"{field}.{name}") from None


_POLICY_KEYS = frozenset({"code", "unique", "prefix", "valid_hours", "discount"})


@attrs.frozen(kw_only=True)
class Coupon:
    """The coupon to show one shopper: the code, when it expires and the discount text."""

    code: str
    expires_at: float | None
    discount: str | None


def _as_signer(value: CouponSigner | bytes | str | None) -> CouponSigner | None:
    return value if value is None or isinstance(value, CouponSigner) else CouponSigner(value)


CouponKey = tuple[str, str]
"""A (campaign id, variant id) pair: what `CouponBook` keys its policies by."""


@attrs.frozen
class _Candidate:
    """A unique policy as verify tries it: its key, signed identity and discount text."""

    campaign_id: str
    variant: str
    identity: bytes
    discount: str | None


@attrs.frozen
class CouponBook:
    """Every campaign variant's coupon policy and the signer of unique codes: what checkout uses.

    `CouponBook(secret, {(campaign_id, variant_id): policy})`: `signer` is a `CouponSigner`, or a
    secret to make one from, or None when no policy is unique. Raises `ConfigError` for a key
    that is not a pair of strings (a non-empty campaign id and a variant id), a value that is not
    a `CouponPolicy`, or a unique policy without a signer. Pairs whose codes carry the same
    campaign hint are fine: verify tries each.
    """

    signer: CouponSigner | None = attrs.field(converter=_as_signer)
    policies: Mapping[CouponKey, CouponPolicy] = attrs.field(factory=dict, converter=dict)
    _static: dict[str, CouponKey] = attrs.field(init=False, repr=False, eq=False)
    _by_hint: dict[int, tuple[_Candidate, ...]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        static: dict[str, CouponKey] = {}
        by_hint: dict[int, tuple[_Candidate, ...]] = {}
        for key, policy in self.policies.items():
            if not (
                isinstance(key, tuple)
                and len(key) == 2
                and isinstance(key[0], str)
                and key[0]
                and isinstance(key[1], str)
            ):
                raise ConfigError(
                    "expected a (campaign id, variant id) key, got " + repr(key)[:80],
                    field="coupons",
                )
            campaign_id, variant = key
            where = f"campaign {campaign_id!r}.variants[{variant!r}].coupon"
            if not isinstance(policy, CouponPolicy):
                raise ConfigError(
                    f"expected a CouponPolicy, got {type(policy).__name__}", field=where
                )
            if policy.code is not None:
                # The first variant showing a shared static code is the one verify reports.
                static.setdefault(_normalized(policy.code), key)
                continue
            if self.signer is None:
                raise ConfigError("unique codes need a coupon secret", field=where)
            identity = _identity(campaign_id, variant)
            candidate = _Candidate(
                campaign_id=campaign_id,
                variant=variant,
                identity=identity,
                discount=policy.discount,
            )
            hint = _hint(identity)
            by_hint[hint] = (*by_hint.get(hint, ()), candidate)
        object.__setattr__(self, "_static", static)
        object.__setattr__(self, "_by_hint", by_hint)

    def code_for(
        self,
        campaign_id: str,
        variant_id: str,
        visitor_key: str,
        now: float,
        first_shown_at: float | None = None,
    ) -> Coupon:
        """The coupon `campaign_id`'s variant `variant_id` shows `visitor_key` now.

        The expiry counts from the end of the minute of the shopper's first exposure
        (`first_shown_at`, else `now`), so every later render shows the same unique code, the
        first one included (rendered before the browser reported it shown, most often in the
        same minute), and the shopper has the code's full validity, and at most a minute more.
        Raises `KeyError` for a campaign variant without a coupon policy.
        """
        _check_now(now)
        policy = self.policies[(campaign_id, variant_id)]
        if first_shown_at is not None:
            _check_now(first_shown_at, "first_shown_at")
        start = ((now if first_shown_at is None else first_shown_at) // 60 + 1) * 60
        expires_at = None
        if policy.valid_seconds is not None:
            expires_at = _expiry_minute(start + policy.valid_seconds) * 60.0
        if policy.code is not None:
            return Coupon(code=policy.code, expires_at=expires_at, discount=policy.discount)
        assert self.signer is not None  # a unique policy without a signer fails in __init__
        code = self.signer.issue(
            campaign_id, visitor_key, expires_at, prefix=policy.prefix, variant=variant_id
        )
        return Coupon(code=code, expires_at=expires_at, discount=policy.discount)

    def verify(self, code: object, now: float, *, visitor_key: str | None = None) -> CouponCheck:
        """Check a code typed at checkout against every registered campaign variant.

        A static code is recognised case-insensitively (hyphens and spaces ignored) and is always
        "ok": its terms are enforced by the shop's own platform, where the code was created. A
        unique code is unmasked, and each registered variant whose hint it carries (almost always
        exactly one) is tried until one authenticates it; then the shopper (when `visitor_key` is
        given) and the expiry are checked. A code no registered variant authenticates is
        "forged", even a genuine one of a campaign since removed. A check past authentication
        names the `campaign_id`, `variant` and `discount`. Whatever `code` is, the answer is a
        `CouponCheck`; a bad `now` or `visitor_key` raises `ValueError`.
        """
        _check_now(now)
        _check_visitor_key(visitor_key)
        if not isinstance(code, str) or len(code) > _MAX_CODE_TEXT:
            return _MALFORMED
        key = self._static.get(_normalized(code))
        if key is not None:
            campaign_id, variant = key
            policy = self.policies[key]
            return CouponCheck(
                valid=True,
                reason="ok",
                campaign_id=campaign_id,
                variant=variant,
                discount=policy.discount,
                code=policy.code,
            )
        if self.signer is None:
            return _MALFORMED
        unmasked = self.signer._unmask(code)
        if isinstance(unmasked, CouponCheck):
            return unmasked
        for candidate in self._by_hint.get(unmasked.campaign_hint, ()):
            if self.signer._authentic(unmasked, candidate.identity):
                return self.signer._judge(
                    unmasked,
                    now,
                    visitor_key,
                    candidate.identity,
                    candidate.campaign_id,
                    candidate.variant,
                    candidate.discount,
                )
        return _FORGED


def _spelled(prefix: str, number: int) -> str:
    """A unique code's canonical spelling: the prefix, then its symbols in groups of four."""
    symbols = _encode(number, _SYMBOLS)
    groups = [symbols[start : start + 4] for start in range(0, _SYMBOLS, 4)]
    return "-".join([prefix, *groups] if prefix else groups)


_MALFORMED = CouponCheck(valid=False, reason="malformed")
_FORGED = CouponCheck(valid=False, reason="forged")


def _identity(campaign_id: str, variant: str) -> bytes:
    """The campaign and variant ids as signed: each length-prefixed, so the pair is unambiguous."""
    campaign, variant_bytes = _utf8(campaign_id), _utf8(variant)
    return (
        len(campaign).to_bytes(4, "big")
        + campaign
        + len(variant_bytes).to_bytes(4, "big")
        + variant_bytes
    )


def _checked_identity(campaign_id: object, variant: object) -> bytes:
    if not isinstance(campaign_id, str) or not campaign_id:
        raise ValueError(f"campaign_id must be a non-empty string, got {campaign_id!r}")
    if not isinstance(variant, str):
        raise ValueError(f"variant must be a string, got {variant!r}")
    return _identity(campaign_id, variant)


def _expiry_minute(expires_at: float) -> int:
    if (
        isinstance(expires_at, bool)
        or not isinstance(expires_at, (int, float))
        or not math.isfinite(expires_at)
    ):
        raise ValueError(f"expires_at must be finite epoch seconds, got {expires_at!r}")
    minute = math.ceil(expires_at / 60)
    if not 0 < minute < _NEVER:
        raise ValueError(f"expires_at must be between 1970 and 2097, got {expires_at!r}")
    return minute


def _check_now(now: float, name: str = "now") -> None:
    if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
        raise ValueError(f"{name} must be finite epoch seconds, got {now!r}")


def _check_visitor_key(visitor_key: object) -> None:
    if visitor_key is not None and not isinstance(visitor_key, str):
        raise ValueError(f"visitor_key must be a string or None, got {visitor_key!r}")


def _encode(number: int, length: int) -> str:
    return "".join(_ALPHABET[(number >> (5 * index)) & 31] for index in reversed(range(length)))


def _tag_bytes(value: int) -> bytes:
    return value.to_bytes(8, "big")


def _normalized(code: str) -> str:
    return code.translate(_SEPARATORS).upper()


def _utf8(text: str) -> bytes:
    # surrogatepass: an id holding a lone surrogate still hashes instead of raising.
    return text.encode("utf-8", "surrogatepass")
