"""Coupons: signed unique codes that cannot be forged, static codes, policies and the book."""

from __future__ import annotations

import itertools
import random
import re
from collections import defaultdict

import pytest

from personalize_sdk import Page, Personalizer
from personalize_sdk._exceptions import ConfigError
from personalize_sdk.coupons import (
    TAG_BITS,
    Coupon,
    CouponBook,
    CouponCheck,
    CouponPolicy,
    CouponSigner,
    campaign_hint,
)
from tests.helpers import DAY, MINUTE, T0, Clock
from tests.widget_helpers import SECRET as SHOP_SECRET
from tests.widget_helpers import report

SECRET = b"test-secret-0123456789"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EXPIRY = 29_833_400 * MINUTE  # on a whole minute, 66 minutes after T0
CODE_SHAPE = re.compile(r"(?:[A-Z0-9]{1,8}-)?(?:[0-9A-HJKMNP-TV-Z]{4}-){5}[0-9A-HJKMNP-TV-Z]{4}")
WELCOME_A = {"campaign_id": "welcome", "variant": "a"}

HOSTILE = [
    None,
    5,
    b"WB-0000-0000-0000-0000-0000-0000",
    "",
    "   ",
    "----",
    "x" * 10_240,
    "WB",
    "\U0001f39f\ufe0f" * 20,
    "".join(chr(ord(c) + 0xFEE0) for c in "WB-ABCD-ABCD-ABCD-ABCD-ABCD-ABCD"),  # fullwidth
    "WB-UUUU-UUUU-UUUU-UUUU-UUUU-UUUU",  # U is not a Crockford symbol
    "wb-0000-0000-0000-0000-0000-000\x00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "TOOLONGPREFIX-0000-0000-0000-0000-0000-0000",
]


@pytest.fixture
def signer() -> CouponSigner:
    return CouponSigner(SECRET)


def test_round_trip(signer):
    code = signer.issue("welcome", "visitor-1", EXPIRY, prefix="WB", variant="a")
    assert CODE_SHAPE.fullmatch(code)
    assert code.startswith("WB-")
    check = signer.verify(code, T0, campaign_id="welcome", variant="a", visitor_key="visitor-1")
    assert check == CouponCheck(
        valid=True,
        reason="ok",
        campaign_hint=campaign_hint("welcome", "a"),
        expires_at=EXPIRY,
        campaign_id="welcome",
        variant="a",
        code=code,
    )
    anonymous = signer.verify(code, T0, **WELCOME_A)  # no shopper to compare: not compared
    assert (anonymous.valid, anonymous.campaign_id, anonymous.variant) == (True, "welcome", "a")


def test_codes_without_prefix_or_variant(signer):
    code = signer.issue("welcome", "visitor-1", EXPIRY)
    assert re.fullmatch(r"(?:[0-9A-Z]{4}-){5}[0-9A-Z]{4}", code)
    check = signer.verify(code, T0, campaign_id="welcome")
    assert (check.valid, check.variant, check.campaign_hint) == (True, "", campaign_hint("welcome"))


def test_codes_are_deterministic_and_differ_by_campaign_variant_shopper_expiry_and_prefix(signer):
    code = signer.issue("welcome", "visitor-1", EXPIRY, prefix="WB", variant="a")
    assert signer.issue("welcome", "visitor-1", EXPIRY, prefix="WB", variant="a") == code
    same_secret = CouponSigner(SECRET.decode())
    assert same_secret.issue("welcome", "visitor-1", EXPIRY, prefix="WB", variant="a") == code
    others = {
        signer.issue("welcome", "visitor-2", EXPIRY, prefix="WB", variant="a"),
        signer.issue("winback", "visitor-1", EXPIRY, prefix="WB", variant="a"),
        signer.issue("welcome", "visitor-1", EXPIRY, prefix="WB", variant="b"),
        signer.issue("welcome", "visitor-1", EXPIRY, prefix="WB"),
        signer.issue("welcome", "visitor-1", EXPIRY + MINUTE, prefix="WB", variant="a"),
        signer.issue("welcome", "visitor-1", EXPIRY, prefix="WC", variant="a"),
        CouponSigner(b"another-secret-0123456789").issue(
            "welcome", "visitor-1", EXPIRY, prefix="WB", variant="a"
        ),
    }
    assert code not in others
    assert len(others) == 7


def test_codes_are_unique_across_many_shoppers_exposed_in_the_same_minute(signer):
    codes = {signer.issue("welcome", f"visitor-{n}", EXPIRY, variant="a") for n in range(5000)}
    assert len(codes) == 5000


def test_tag_is_at_least_40_bits():
    assert TAG_BITS >= 40


def test_the_hint_depends_on_campaign_and_variant_and_fits_16_bits():
    hints = {campaign_hint(f"campaign-{n}", variant) for n in range(50) for variant in "ab"}
    assert len(hints) > 90  # 100 pairs over 65,536 hints: a few collisions at most
    assert all(0 <= hint < 1 << 16 for hint in hints)
    assert campaign_hint("welcome", "a") != campaign_hint("welcome", "b")
    assert campaign_hint("welcome") == campaign_hint("welcome", "")
    with pytest.raises(ValueError, match="campaign_id"):
        campaign_hint("")
    with pytest.raises(ValueError, match="variant"):
        campaign_hint("welcome", None)  # type: ignore[arg-type]


def test_every_single_symbol_change_is_rejected(signer):
    code = signer.issue("welcome", "visitor-1", EXPIRY, prefix="WB", variant="a")
    for position, symbol in enumerate(code):
        if symbol == "-":
            continue
        for replacement in ALPHABET:
            if replacement == symbol:
                continue
            tampered = code[:position] + replacement + code[position + 1 :]
            check = signer.verify(tampered, T0, **WELCOME_A)
            assert not check.valid, tampered
            assert check.reason in {"forged", "malformed"}, (tampered, check.reason)


def test_dropping_adding_or_swapping_symbols_is_rejected(signer):
    code = signer.issue("welcome", "visitor-1", EXPIRY, prefix="WB", variant="a")
    body = code.replace("-", "")
    variants = {
        body[:-1],
        body[1:],
        body + "0",
        "WB" + body[3:] + body[2],
        body[2:],  # the prefix is signed too
        "XB" + body[2:],
        body[::-1],
    }
    variants |= {body[:i] + body[i + 1] + body[i] + body[i + 2 :] for i in range(len(body) - 1)}
    variants.discard(body)
    for variant in variants:
        check = signer.verify(variant, T0, **WELCOME_A)
        assert not check.valid, variant
        assert check.reason in {"forged", "malformed"}


def test_random_codes_are_forged(signer):
    for n in range(200):
        digits = "".join(ALPHABET[(n * 7 + i * 13) % 32] for i in range(24))
        assert signer.verify(digits, T0, **WELCOME_A).reason == "forged"


def test_expiry_boundary_is_exclusive_and_rounds_up_to_the_minute(signer):
    code = signer.issue("welcome", "visitor-1", EXPIRY - 30, prefix="WB")  # half a minute early
    assert code == signer.issue("welcome", "visitor-1", EXPIRY, prefix="WB")
    assert signer.verify(code, EXPIRY - 0.001, campaign_id="welcome").valid
    expired = signer.verify(code, EXPIRY, campaign_id="welcome")
    assert (expired.valid, expired.reason, expired.expires_at) == (False, "expired", EXPIRY)
    assert signer.verify(code, EXPIRY + 365 * DAY, campaign_id="welcome").reason == "expired"


def test_codes_without_expiry_never_expire(signer):
    code = signer.issue("welcome", "visitor-1", None, variant="a")
    check = signer.verify(code, 4_000_000_000.0, **WELCOME_A)
    assert (check.valid, check.expires_at) == (True, None)


@pytest.mark.parametrize(
    ("issued", "checked"),
    [
        (("welcome", "a"), ("winback", "a")),
        (("welcome", "a"), ("welcome", "b")),
        (("welcome", "a"), ("welcome", "")),
        (("welcome", ""), ("welcome", "a")),
        # Ids are length-prefixed where they are signed, so no split of the same text collides.
        (("ab", "c"), ("a", "bc")),
        (("a", "bc"), ("ab", "c")),
        (("a\x00", ""), ("a", "\x00")),
    ],
    ids=repr,
)
def test_a_code_checked_as_another_campaign_or_variant_is_forged(signer, issued, checked):
    code = signer.issue(issued[0], "visitor-1", EXPIRY, variant=issued[1])
    assert signer.verify(code, T0, campaign_id=issued[0], variant=issued[1]).valid
    # "forged", not "wrong_campaign": the campaign and variant ids are signed into the tag, so
    # under the wrong ones the tag does not match, exactly as for a made-up code. The signer has
    # nothing else to tell another campaign's genuine code from a forgery.
    check = signer.verify(code, T0, campaign_id=checked[0], variant=checked[1])
    assert check == CouponCheck(valid=False, reason="forged")


def test_wrong_shopper_is_checked_before_expiry(signer):
    code = signer.issue("welcome", "visitor-1", EXPIRY, variant="a")
    wrong_shopper = signer.verify(code, T0, **WELCOME_A, visitor_key="visitor-2")
    assert (wrong_shopper.valid, wrong_shopper.reason) == (False, "wrong_shopper")
    assert (wrong_shopper.campaign_id, wrong_shopper.variant) == ("welcome", "a")
    assert wrong_shopper.expires_at == EXPIRY  # authentic: its fields are reported
    assert signer.verify(code, EXPIRY, **WELCOME_A, visitor_key="v").reason == "wrong_shopper"
    assert signer.verify(code, EXPIRY, **WELCOME_A, visitor_key="visitor-1").reason == "expired"


def test_verify_ignores_case_hyphens_spaces_and_reads_i_l_o_as_digits(signer):
    code = signer.issue("welcome", "visitor-1", EXPIRY, prefix="WB", variant="a")
    body = code[3:]
    spellings = [
        code.lower(),
        code.replace("-", ""),
        code.replace("-", " "),
        f"  {code.lower().replace('-', ' - ')}\n",
        "WB" + body.replace("1", "I").replace("0", "O"),
        "wb" + body.replace("1", "l").replace("0", "o").lower(),
    ]
    for spelling in spellings:
        assert signer.verify(spelling, T0, **WELCOME_A, visitor_key="visitor-1").valid, spelling


def test_different_secrets_do_not_verify_each_other():
    one, two = CouponSigner(b"a" * 16), CouponSigner(b"b" * 16)
    assert one.verify(two.issue("welcome", "v", EXPIRY), T0, campaign_id="welcome").reason == (
        "forged"
    )
    assert two.verify(one.issue("welcome", "v", EXPIRY), T0, campaign_id="welcome").reason == (
        "forged"
    )


@pytest.mark.parametrize("code", HOSTILE, ids=repr)
def test_hostile_codes_are_malformed_never_an_exception(signer, code):
    check = signer.verify(code, T0, **WELCOME_A, visitor_key="v")
    assert (check.valid, check.reason) == (False, "malformed")


def test_random_text_is_malformed_or_forged_never_an_exception(signer, book):
    rng = random.Random(24)
    pieces = [*ALPHABET, *"ILOU-_ \t\x00+.,", "\u0131", "\u017f", "\U0001f39f", "\ufb01", "\u0660"]
    code = signer.issue("winback", "visitor-1", EXPIRY, prefix="WB", variant="a")
    for n in range(3000):
        if n % 2:  # near misses: a genuine code with a few pieces changed
            text = list(code)
            for _ in range(rng.randint(1, 3)):
                text[rng.randrange(len(text))] = rng.choice(pieces)
            typed = "".join(text)
        else:
            typed = "".join(rng.choices(pieces, k=rng.randint(0, 70)))
        for check in (book.verify(typed, T0), signer.verify(typed, T0, campaign_id="winback")):
            assert check.reason in {"malformed", "forged", "ok"}, typed
            assert check.valid == (check.reason == "ok")


@pytest.mark.parametrize("secret", [b"", b"short", "fifteen-chars!!", b"x" * 15])
def test_short_secrets_are_refused(secret):
    with pytest.raises(ValueError, match="16 bytes"):
        CouponSigner(secret)


def test_secret_must_be_text_or_bytes_and_never_shows_in_repr():
    with pytest.raises(ValueError, match="bytes or str"):
        CouponSigner(1234567890123456789)  # type: ignore[arg-type]
    assert "test-secret" not in repr(CouponSigner(SECRET))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("", "v", EXPIRY), {}, "campaign_id"),
        ((None, "v", EXPIRY), {}, "campaign_id"),
        (("c", "", EXPIRY), {}, "visitor_key"),
        (("c", None, EXPIRY), {}, "visitor_key"),
        (("c", "v", EXPIRY), {"variant": None}, "variant"),
        (("c", "v", EXPIRY), {"variant": 2}, "variant"),
        (("c", "v", EXPIRY), {"prefix": "wb"}, "prefix"),
        (("c", "v", EXPIRY), {"prefix": "ABCDEFGHI"}, "prefix"),
        (("c", "v", EXPIRY), {"prefix": "W-B"}, "prefix"),
        (("c", "v", float("nan")), {}, "expires_at"),
        (("c", "v", True), {}, "expires_at"),
        (("c", "v", "tomorrow"), {}, "expires_at"),
        (("c", "v", -60.0), {}, "expires_at"),
        (("c", "v", 7_258_118_400.0), {}, "expires_at"),  # 2200
    ],
)
def test_issue_rejects_bad_arguments(signer, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        signer.issue(*args, **kwargs)


@pytest.mark.parametrize("now", [float("nan"), float("inf"), None, "now", True])
def test_verify_rejects_a_bad_clock(signer, now):
    with pytest.raises(ValueError, match="now"):
        signer.verify("WB-0000-0000-0000-0000-0000-0000", now, campaign_id="welcome")


@pytest.mark.parametrize("visitor_key", [5, b"visitor-1", ["visitor-1"]], ids=repr)
def test_verify_rejects_a_visitor_key_that_is_not_text(signer, book, visitor_key):
    code = signer.issue("winback", "visitor-1", EXPIRY, prefix="WB", variant="a")
    with pytest.raises(ValueError, match="visitor_key"):
        signer.verify(code, T0, campaign_id="winback", variant="a", visitor_key=visitor_key)
    with pytest.raises(ValueError, match="visitor_key"):
        book.verify(code, T0, visitor_key=visitor_key)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"campaign_id": ""}, "campaign_id"),
        ({"campaign_id": None}, "campaign_id"),
        ({"campaign_id": b"welcome"}, "campaign_id"),
        ({"campaign_id": "welcome", "variant": None}, "variant"),
    ],
    ids=repr,
)
def test_verify_needs_a_campaign_to_check_against(signer, kwargs, match):
    code = signer.issue("welcome", "visitor-1", EXPIRY)
    with pytest.raises(ValueError, match=match):
        signer.verify(code, T0, **kwargs)
    with pytest.raises(TypeError, match="campaign_id"):
        signer.verify(code, T0)  # type: ignore[call-arg]


# -- policies ------------------------------------------------------------------------------------


def test_policy_from_dict_static_and_unique():
    assert CouponPolicy.from_dict({"code": "WELCOME10"}) == CouponPolicy(code="WELCOME10")
    assert CouponPolicy.from_dict("WELCOME10") == CouponPolicy(code="WELCOME10")
    static = CouponPolicy.from_dict({"code": "SPRING-25", "valid_hours": 2, "discount": "25%"})
    assert (static.code, static.valid_seconds, static.discount) == ("SPRING-25", 7200.0, "25%")
    unique = CouponPolicy.from_dict(
        {"unique": True, "prefix": "WB", "valid_hours": 48, "discount": "10%"}
    )
    assert unique == CouponPolicy(
        unique=True, prefix="WB", valid_seconds=48 * 3600.0, discount="10%"
    )
    assert CouponPolicy.from_dict({"unique": True}).prefix == ""


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"code": "A", "colour": "red"}, "coupon.colour"),
        ({"code": "WELCOME10", "unique": True}, "coupon.code"),
        ({}, "coupon.code"),
        ({"unique": False}, "coupon.code"),
        ({"code": ""}, "coupon.code"),
        ({"code": "HAS SPACE"}, "coupon.code"),
        ({"code": "X" * 41}, "coupon.code"),
        ({"code": 10}, "coupon.code"),
        ({"code": "<b>"}, "coupon.code"),
        ({"unique": "yes"}, "coupon.unique"),
        ({"unique": 1}, "coupon.unique"),
        ({"unique": True, "prefix": "wb"}, "coupon.prefix"),
        ({"unique": True, "prefix": "ABCDEFGHI"}, "coupon.prefix"),
        ({"unique": True, "prefix": "W-B"}, "coupon.prefix"),
        ({"unique": True, "prefix": 12}, "coupon.prefix"),
        ({"unique": True, "prefix": None}, "coupon.prefix"),
        ({"code": "WELCOME10", "prefix": "WB"}, "coupon.prefix"),
        ({"unique": True, "valid_hours": 0}, "coupon.valid_hours"),
        ({"unique": True, "valid_hours": -1}, "coupon.valid_hours"),
        ({"unique": True, "valid_hours": float("nan")}, "coupon.valid_hours"),
        ({"unique": True, "valid_hours": float("inf")}, "coupon.valid_hours"),
        ({"unique": True, "valid_hours": 10**9}, "coupon.valid_hours"),
        ({"unique": True, "valid_hours": True}, "coupon.valid_hours"),
        ({"unique": True, "valid_hours": "48"}, "coupon.valid_hours"),
        ({"unique": True, "discount": ""}, "coupon.discount"),
        ({"unique": True, "discount": "  "}, "coupon.discount"),
        ({"unique": True, "discount": 10}, "coupon.discount"),
        ({"unique": True, "discount": "x" * 41}, "coupon.discount"),
        (["WELCOME10"], "coupon"),
        (None, "coupon"),
    ],
    ids=repr,
)
def test_policy_from_dict_names_the_bad_field(raw, field):
    with pytest.raises(ConfigError) as caught:
        CouponPolicy.from_dict(raw)
    assert caught.value.field == field


def test_policy_from_dict_nests_under_the_given_field():
    with pytest.raises(ConfigError, match=r"campaigns\[2\]\.coupon\.prefix") as caught:
        CouponPolicy.from_dict({"unique": True, "prefix": "?"}, field="campaigns[2].coupon")
    assert caught.value.field == "campaigns[2].coupon.prefix"


# -- the book ------------------------------------------------------------------------------------


@pytest.fixture
def book(signer) -> CouponBook:
    return CouponBook(
        signer=signer,
        policies={
            ("welcome", "default"): CouponPolicy(code="WELCOME10", discount="10%"),
            ("flash", "default"): CouponPolicy(
                code="FLASH-11", valid_seconds=2 * 3600, discount="11%"
            ),
            ("winback", "a"): CouponPolicy(
                unique=True, prefix="WB", valid_seconds=48 * 3600, discount="15%"
            ),
            ("winback", "b"): CouponPolicy(
                unique=True, prefix="WB", valid_seconds=48 * 3600, discount="20%"
            ),
            ("forever", "default"): CouponPolicy(unique=True),
        },
    )


def test_book_unique_code_is_stable_from_the_first_exposure(book):
    first = book.code_for("winback", "a", "visitor-1", T0)
    assert CODE_SHAPE.fullmatch(first.code)
    assert first.code.startswith("WB-")
    assert first.discount == "15%"
    assert first.expires_at % MINUTE == 0
    assert T0 + 48 * 3600 <= first.expires_at < T0 + 48 * 3600 + MINUTE
    later = book.code_for("winback", "a", "visitor-1", T0 + 3 * 3600, first_shown_at=T0)
    assert later == first
    assert book.code_for("winback", "a", "visitor-2", T0).code != first.code
    assert book.code_for("winback", "b", "visitor-1", T0).code != first.code
    assert book.code_for("winback", "a", "visitor-1", T0 + 5 * MINUTE).code != first.code


def test_book_verifies_its_unique_codes_naming_campaign_and_variant(book):
    for variant, discount in (("a", "15%"), ("b", "20%")):
        coupon = book.code_for("winback", variant, "visitor-1", T0)
        check = book.verify(coupon.code.lower(), T0 + DAY, visitor_key="visitor-1")
        assert check == CouponCheck(
            valid=True,
            reason="ok",
            campaign_hint=campaign_hint("winback", variant),
            expires_at=coupon.expires_at,
            campaign_id="winback",
            variant=variant,
            discount=discount,
            code=coupon.code,  # as issued, though typed in lower case
        )
        assert book.verify(coupon.code, T0 + DAY).valid  # no shopper given: not compared
        assert book.verify(coupon.code, T0, visitor_key="visitor-2").reason == "wrong_shopper"
        expired = book.verify(coupon.code, coupon.expires_at, visitor_key="visitor-1")
        assert (expired.valid, expired.reason, expired.campaign_id, expired.variant) == (
            False,
            "expired",
            "winback",
            variant,
        )


def test_book_codes_verify_with_the_signer_given_campaign_and_variant(signer, book):
    code = book.code_for("winback", "b", "visitor-1", T0).code
    check = signer.verify(code, T0, campaign_id="winback", variant="b", visitor_key="visitor-1")
    assert check.valid
    assert signer.verify(code, T0, campaign_id="winback", variant="a").reason == "forged"


def test_book_unique_code_without_expiry(book):
    coupon = book.code_for("forever", "default", "visitor-1", T0)
    assert coupon == Coupon(code=coupon.code, expires_at=None, discount=None)
    check = book.verify(coupon.code, T0 + 3650 * DAY)
    assert (check.valid, check.campaign_id, check.variant) == (True, "forever", "default")


def test_book_static_codes(book):
    assert book.code_for("welcome", "default", "visitor-1", T0) == Coupon(
        code="WELCOME10", expires_at=None, discount="10%"
    )
    flash = book.code_for("flash", "default", "visitor-1", T0 + DAY, first_shown_at=T0)
    assert flash.code == "FLASH-11"
    assert T0 + 2 * 3600 <= flash.expires_at < T0 + 2 * 3600 + MINUTE
    for typed in ("WELCOME10", "welcome10", " Welcome10 ", "WELCOME-10"):
        check = book.verify(typed, T0)
        assert check == CouponCheck(
            valid=True,
            reason="ok",
            campaign_id="welcome",
            variant="default",
            discount="10%",
            code="WELCOME10",  # as configured, whatever was typed
        )
    assert book.verify("flash11", T0).campaign_id == "flash"
    assert book.verify("WELCOME11", T0).reason == "malformed"


def test_book_static_code_shared_by_variants_reports_the_first_registered(signer):
    policies = {
        ("welcome", "b"): CouponPolicy(code="SAME", discount="5%"),
        ("welcome", "a"): CouponPolicy(code="SAME", discount="10%"),
        ("other", "a"): CouponPolicy(code="SAME"),
    }
    check = CouponBook(signer, policies).verify("same", T0)
    assert (check.campaign_id, check.variant, check.discount) == ("welcome", "b", "5%")
    reordered = dict(reversed(policies.items()))
    check = CouponBook(signer, reordered).verify("same", T0)
    assert (check.campaign_id, check.variant, check.discount) == ("other", "a", None)
    # Every variant still shows the code with its own discount text.
    assert CouponBook(signer, policies).code_for("welcome", "a", "v", T0).discount == "10%"


def test_book_treats_codes_of_campaigns_it_does_not_know_as_forged(signer, book):
    # The campaign and variant ids are signed into the tag, so a genuine code of a campaign the
    # book does not hold (retired, or a variant removed) cannot be told from a forgery.
    for campaign_id, variant in (("retired-campaign", "a"), ("winback", "c"), ("winback", "")):
        stranger = signer.issue(campaign_id, "visitor-1", EXPIRY, prefix="WB", variant=variant)
        assert book.verify(stranger, T0) == CouponCheck(valid=False, reason="forged")
    other_secret = CouponSigner(b"z" * 32).issue(
        "winback", "visitor-1", EXPIRY, prefix="WB", variant="a"
    )
    assert book.verify(other_secret, T0).reason == "forged"


@pytest.mark.parametrize("code", HOSTILE, ids=repr)
def test_book_hostile_codes_are_malformed_never_an_exception(book, code):
    check = book.verify(code, T0, visitor_key="v")
    assert (check.valid, check.reason) == (False, "malformed")


def test_book_without_signer_handles_static_codes_only():
    book = CouponBook(None, {("welcome", "a"): CouponPolicy(code="WELCOME10")})
    assert book.verify("welcome10", T0).valid
    assert book.verify("WB-0000-0000-0000-0000-0000-0000", T0).reason == "malformed"
    with pytest.raises(ConfigError, match="secret") as caught:
        CouponBook(None, {("winback", "a"): CouponPolicy(unique=True)})
    assert caught.value.field == "campaign 'winback'.variants['a'].coupon"


def test_book_takes_a_secret_in_place_of_a_signer(signer):
    book = CouponBook(SECRET.decode(), {("winback", "a"): CouponPolicy(unique=True, prefix="WB")})
    assert isinstance(book.signer, CouponSigner)
    code = book.code_for("winback", "a", "visitor-1", T0).code
    assert signer.verify(
        code, T0, campaign_id="winback", variant="a", visitor_key="visitor-1"
    ).valid
    with pytest.raises(ValueError, match="16 bytes"):
        CouponBook(b"short", {})


@pytest.mark.parametrize(
    "key",
    ["winback/a", ("winback",), ("winback", "a", "b"), ("", "a"), ("winback", None), (1, "a")],
    ids=repr,
)
def test_book_keys_are_campaign_and_variant_pairs(signer, key):
    with pytest.raises(ConfigError, match=r"\(campaign id, variant id\)") as caught:
        CouponBook(signer, {key: CouponPolicy(unique=True)})
    assert caught.value.field == "coupons"


def test_book_values_are_policies(signer):
    with pytest.raises(ConfigError, match="CouponPolicy") as caught:
        CouponBook(signer, {("winback", "a"): {"unique": True}})
    assert caught.value.field == "campaign 'winback'.variants['a'].coupon"


def colliding_pair() -> tuple[tuple[str, str], tuple[str, str]]:
    """The first two (campaign, variant) pairs, in a plain numbering, whose hints collide."""
    seen: dict[int, tuple[str, str]] = {}
    for n in itertools.count():
        key = (f"campaign-{n // 2}", "ab"[n % 2])
        hint = campaign_hint(*key)
        if hint in seen:
            return seen[hint], key
        seen[hint] = key
    raise AssertionError("unreachable")


def test_book_tells_apart_variants_whose_hints_collide(signer):
    first, second = colliding_pair()
    assert first != second
    assert campaign_hint(*first) == campaign_hint(*second)
    # Registered in either order: verify must authenticate, not take the first with the hint.
    for order in ((first, second), (second, first)):
        book = CouponBook(
            signer, {key: CouponPolicy(unique=True, discount=key[1]) for key in order}
        )
        for key, other in ((first, second), (second, first)):
            for n in range(200):
                code = book.code_for(*key, f"visitor-{n}", T0).code
                check = book.verify(code, T0, visitor_key=f"visitor-{n}")
                assert (check.valid, check.campaign_id, check.variant, check.discount) == (
                    True,
                    *key,
                    key[1],
                ), (key, n)
                assert signer.verify(code, T0, campaign_id=other[0], variant=other[1]) == (
                    CouponCheck(valid=False, reason="forged")
                )
    # A book holding only one of the two refuses the other's codes although the hint matches.
    alone = CouponBook(signer, {first: CouponPolicy(unique=True)})
    assert alone.verify(signer.issue(second[0], "v", EXPIRY, variant=second[1]), T0).reason == (
        "forged"
    )


def test_book_with_two_thousand_variants(signer):
    keys = [(f"campaign-{n // 4}", f"v{n % 4}") for n in range(2000)]
    policies = {
        key: CouponPolicy(unique=True, prefix="PZ", valid_seconds=DAY, discount=f"{n % 40 + 1}%")
        for n, key in enumerate(keys)
    }
    book = CouponBook(signer, policies)
    by_hint: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for key in keys:
        by_hint[campaign_hint(*key)].append(key)
    shared = [key for group in by_hint.values() if len(group) > 1 for key in group]
    assert len(shared) >= 20  # 35 hints are shared by two pairs each here: 20 of those 70 keys
    rest = [key for key in keys if len(by_hint[campaign_hint(*key)]) == 1]
    sample = shared[:20] + random.Random(2000).sample(rest, 30)
    for key in sample:
        visitor = f"visitor-of-{key[0]}-{key[1]}"
        coupon = book.code_for(*key, visitor, T0)
        check = book.verify(coupon.code, T0 + MINUTE, visitor_key=visitor)
        assert (check.valid, check.reason, check.campaign_id, check.variant) == (
            True,
            "ok",
            *key,
        )
        assert check.discount == policies[key].discount
        assert book.verify(coupon.code, T0 + MINUTE, visitor_key="someone").reason == (
            "wrong_shopper"
        )


def test_book_code_for_unknown_campaign_or_bad_times(book):
    with pytest.raises(KeyError):
        book.code_for("nope", "a", "visitor-1", T0)
    with pytest.raises(KeyError):
        book.code_for("winback", "c", "visitor-1", T0)
    with pytest.raises(ValueError, match="first_shown_at"):
        book.code_for("winback", "a", "visitor-1", T0, first_shown_at=float("nan"))
    with pytest.raises(ValueError, match="now"):
        book.verify("WELCOME10", float("inf"))


@pytest.mark.parametrize("seconds_into_the_minute", [0, 10, 52])
def test_a_shopper_sees_one_unique_code_from_the_first_page_on_and_after_login(
    seconds_into_the_minute: int,
) -> None:
    """The first page renders the code before the browser reports it shown (seconds later);
    later pages count its expiry from that report; after login the shopper is a customer: the
    code is the same on all of them, and it is still the shopper's."""
    clock = Clock(T0 // 60 * 60 + seconds_into_the_minute)
    side = {
        "id": "side",
        "kind": "side_coupon",
        "text": "Your code",
        "coupon": {"unique": True, "prefix": "SIDE", "valid_hours": 48, "discount": "10%"},
    }
    pz = Personalizer({"campaigns": [side]}, clock=clock, strict=True, secret=SHOP_SECRET)
    page = Page(type="product", path="/p/1")
    first = pz.widgets("v1", page)[0]
    clock.advance(5)
    report(pz, "v1", first)
    clock.advance(40)
    again = pz.widgets("v1", page)[0]
    pz.identify("v1", user_id="u1")
    clock.advance(3600)
    customer = pz.widgets("v1", page)[0]
    codes = {w.data["coupon"]["code"] for w in (first, again, customer)}
    assert len(codes) == 1
    expiry = {w.data["coupon"]["expires_at"] for w in (first, again, customer)}
    assert len(expiry) == 1
    assert T0 // 60 * 60 + seconds_into_the_minute + 48 * 3600 <= expiry.pop()
    check = pz.coupons.verify(codes.pop(), clock.now)
    assert check.valid and check.campaign_id == "side"


def test_every_spelling_of_a_code_names_the_one_code_issued(book):
    # The ledger of redeemed codes keys on `check.code`: one code, one redemption.
    issued = book.code_for("winback", "a", "visitor-1", T0).code
    compact = issued.replace("-", "")
    spellings = {
        issued, issued.lower(), compact, " ".join(compact), f"\t{issued}\n",
        issued.replace("1", "I").replace("0", "O"), issued.replace("1", "l"),
    }  # fmt: skip
    redeemed = {book.verify(typed, T0, visitor_key="visitor-1").code for typed in spellings}
    assert redeemed == {issued}
    assert book.verify("WB-" + "0" * 24, T0).code is None  # nothing authentic, no code
