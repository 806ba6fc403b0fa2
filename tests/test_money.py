"""Money: ISO 4217 minor units, exact decimals, half-up rounding, display text, remainders."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from personalize_sdk.money import format_money, minor_units, quantize, remaining_to, to_decimal


@pytest.mark.parametrize(
    ("currency", "units"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("HUF", 2),  # 2 in ISO 4217, whatever payment providers do
        ("JPY", 0),
        ("KRW", 0),
        ("VND", 0),
        ("CLP", 0),
        ("ISK", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("TND", 3),
        ("CLF", 4),
        ("jpy", 0),  # case-insensitive
        ("XYZ", 2),  # well-formed but unknown: the common case
    ],
)
def test_minor_units_follow_iso_4217(currency, units):
    assert minor_units(currency) == units


@pytest.mark.parametrize(
    "currency", ["", "US", "USDX", "U$D", "12", None, 840, "\uff35\uff33\uff24"]
)
def test_minor_units_reject_what_is_not_a_currency_code(currency):
    with pytest.raises(ValueError, match="ISO 4217"):
        minor_units(currency)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, Decimal("0.1")),  # the float's shortest repr, not its binary expansion
        (2.675, Decimal("2.675")),
        (12, Decimal(12)),
        (-3, Decimal(-3)),
        ("12.50", Decimal("12.50")),
        (" 7.5\n", Decimal("7.5")),
        ("1e3", Decimal(1000)),
        (Decimal("9.99"), Decimal("9.99")),
    ],
)
def test_to_decimal_reads_numbers_exactly(value, expected):
    result = to_decimal(value)
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        float("nan"),
        float("inf"),
        float("-inf"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        "nan",
        "-Infinity",
        "",
        "twelve",
        "1,000.00",
        "12.50 USD",
        "1" * 10_240,
        10**15,
        -(10**400),
        "1e20",
        Decimal("1e999999"),
        None,
        [12],
        {"value": 12},
        b"12",
        object(),
    ],
    ids=repr,
)
def test_to_decimal_rejects_what_is_not_an_amount(value):
    with pytest.raises(ValueError):
        to_decimal(value)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.675", "USD", "2.68"),
        (2.675, "USD", "2.68"),  # a float binary-rounding would give 2.67
        ("0.125", "EUR", "0.13"),
        ("-0.125", "EUR", "-0.13"),  # half up means away from zero
        ("0.124", "EUR", "0.12"),
        (1234.5, "JPY", "1235"),
        ("1.2345", "KWD", "1.235"),
        (12, "USD", "12.00"),
        ("12.5", None, "12.50"),
        ("-0.001", "EUR", "0.00"),  # never "-0.00"
        (0.1 + 0.2, "USD", "0.30"),
    ],
)
def test_quantize_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    assert str(quantize(amount, currency)) == expected


def test_quantize_ignores_the_callers_decimal_context():
    with decimal.localcontext() as context:
        context.prec = 3
        context.rounding = decimal.ROUND_DOWN
        assert str(quantize("123456.785", "USD")) == "123456.79"


@pytest.mark.parametrize(
    ("amount", "currency", "hint", "text"),
    [
        (12.5, "USD", None, "$12.50"),
        (45, "EUR", None, "€45.00"),
        ("1234.5", "GBP", None, "£1,234.50"),
        (1234.5, "JPY", None, "¥1,235"),
        (1500000, "KRW", None, "₩1,500,000"),
        (499, "INR", None, "₹499.00"),
        (99.9, "BRL", None, "R$99.90"),
        (20, "CNY", None, "CN¥20.00"),
        (20, "AUD", None, "A$20.00"),
        (20, "CAD", None, "CA$20.00"),
        ("1234567.891", "KWD", None, "1,234,567.891 KWD"),
        (12.5, "CHF", None, "12.50 CHF"),
        (12.5, "chf", None, "12.50 CHF"),
        (-5, "USD", None, "-$5.00"),
        ("-1234.5", "CHF", None, "-1,234.50 CHF"),
        ("-0.004", "USD", None, "$0.00"),
        (1234.5, None, None, "1,234.50"),
        (0, None, None, "0.00"),
        # The hint only picks the short symbol of a currency in its own country.
        (20, "AUD", "en-AU", "$20.00"),
        (20, "CAD", "fr_CA", "$20.00"),
        (20, "CNY", "zh-Hans-CN", "¥20.00"),
        (20, "USD", "en-AU", "US$20.00"),
        (20, "USD", "en-US", "$20.00"),
        (20, "AUD", "en-GB", "A$20.00"),
        (20, "EUR", "de-DE", "€20.00"),
        (20, "AUD", "not a locale <script>", "A$20.00"),
        (20, "AUD", 42, "A$20.00"),
    ],
)
def test_format_money(amount, currency, hint, text):
    assert format_money(amount, currency, hint) == text


def test_format_money_rejects_bad_amounts_and_currencies_with_value_error():
    with pytest.raises(ValueError, match="finite"):
        format_money(float("nan"), "USD")
    with pytest.raises(ValueError, match="ISO 4217"):
        format_money(12, "dollars")
    with pytest.raises(ValueError):
        format_money("12<script>", "USD")


@pytest.mark.parametrize(
    ("threshold", "amount", "currency", "expected"),
    [
        (50, 37.5, "USD", "12.50"),
        (50, "37.499", "USD", "12.50"),  # the cart shows as $37.50: $12.50 to go
        (50, "37.495", "USD", "12.50"),  # ditto, rounded half up
        (50, 0, "EUR", "50.00"),
        (50, 50, "USD", "0.00"),
        (50, "49.996", "USD", "0.00"),  # shown as $50.00: reached
        (50, 80, "USD", "0.00"),  # never negative
        (5000, 1234.4, "JPY", "3766"),
        ("10.000", "2.5", "KWD", "7.500"),
        (50, 12, None, "38.00"),
    ],
)
def test_remaining_to_is_what_the_shopper_sees_is_missing(threshold, amount, currency, expected):
    remaining = remaining_to(threshold, amount, currency)
    assert isinstance(remaining, Decimal)
    assert str(remaining) == expected


def test_remaining_to_rejects_bad_input():
    with pytest.raises(ValueError):
        remaining_to(50, float("inf"), "USD")
    with pytest.raises(ValueError):
        remaining_to(True, 10, "USD")
