"""Money: exact amounts rounded to a currency's minor unit, and short display text for widgets.

Amounts are `Decimal`s end to end, so `0.1 + 0.2` is `0.30` in a progress bar and never
`0.30000000000000004`. Floats are read through their shortest repr (`Decimal(str(0.1))` is
`Decimal("0.1")`), which is what the shop meant when it wrote the number.

Formatting is deliberately small: a symbol table for the common currencies, `,` between thousands
and `.` before the decimals, the minus sign first (`-$5.00`), and the ISO code after the number for
every other currency (`12.50 CHF`). There is no locale machinery (no Babel dependency): a shop that
needs `12,50 €` formats the amount itself and puts the text in the widget's copy. The one thing the
`locale_hint` changes is the symbol of a dollar (or yuan) currency in its own country: `A$12.50`
becomes `$12.50` for `en-AU`, and US dollars show as `US$` there, so that `$` is never ambiguous.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

# ISO 4217 exponents (digits after the decimal point) of the currencies that do not use 2.
# HUF is 2 in ISO 4217 even though many payment providers settle it without fillér.
_EXPONENT_TABLE = """
0 BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF
3 BHD IQD JOD KWD LYD OMR TND
4 CLF UYW
"""
_MINOR_UNITS: dict[str, int] = {
    code: int(row.split()[0])
    for row in _EXPONENT_TABLE.strip().splitlines()
    for code in row.split()[1:]
}
_DEFAULT_MINOR_UNITS = 2

# Symbols as CLDR shows them in English: a bare "$" or "¥" only where it cannot be mistaken.
_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "CN¥",
    "INR": "₹",
    "KRW": "₩",
    "BRL": "R$",
    "AUD": "A$",
    "CAD": "CA$",
    "NZD": "NZ$",
    "HKD": "HK$",
    "MXN": "MX$",
    "TWD": "NT$",
    "ILS": "₪",
    "VND": "₫",
    "PHP": "₱",
}
# The country where a currency's short symbol is unambiguous: `A$` is just `$` in Australia.
_HOME_REGION: dict[str, tuple[str, str]] = {
    "AUD": ("AU", "$"),
    "CAD": ("CA", "$"),
    "NZD": ("NZ", "$"),
    "HKD": ("HK", "$"),
    "MXN": ("MX", "$"),
    "TWD": ("TW", "$"),
    "CNY": ("CN", "¥"),
}
_OTHER_DOLLAR_REGIONS = frozenset(region for region, short in _HOME_REGION.values() if short == "$")

_CODE = re.compile(r"[A-Z]{3}")
_REGION = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z]{4})?[-_]([A-Za-z]{2}|[0-9]{3})(?:[-_.@].*)?")

# Bounds that keep every operation below exact within `_CONTEXT`'s 34 digits: no shop amount comes
# near a quadrillion, and a 64-character string is room for any honest number.
_MAX_MAGNITUDE = Decimal(10) ** 15
_MAX_TEXT = 64
_CONTEXT = Context(prec=34, rounding=ROUND_HALF_UP)
_QUANTUM = {units: Decimal(1).scaleb(-units) for units in (0, 1, 2, 3, 4)}


def minor_units(currency: str) -> int:
    """Digits after the decimal point of `currency` (ISO 4217): 0 for JPY, 3 for KWD, else 2.

    Case-insensitive. A well-formed code missing from the table is taken to use 2, as most do.
    """
    return _MINOR_UNITS.get(_currency_code(currency), _DEFAULT_MINOR_UNITS)


def to_decimal(value: object) -> Decimal:
    """Read an amount from an int, float, numeric string or Decimal, exactly.

    Raises `ValueError` for booleans, NaN, infinities, anything of magnitude 10**15 or more, text
    that is not a number (or is longer than 64 characters) and values of any other type.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an amount, got a boolean ({value!r})")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        if abs(value) >= _MAX_MAGNITUDE:  # checked before conversion: huge ints convert slowly
            raise ValueError("amount is too large")
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"amount must be finite, got {value!r}")
        number = Decimal(repr(value))
    elif isinstance(value, str):
        if len(value) > _MAX_TEXT:
            raise ValueError(f"amount text is longer than {_MAX_TEXT} characters")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"expected an amount, got {type(value).__name__}")
    if not number.is_finite():
        raise ValueError(f"amount must be finite, got {value!r}")
    if abs(number) >= _MAX_MAGNITUDE:
        raise ValueError("amount is too large")
    return number


def quantize(amount: object, currency: str | None) -> Decimal:
    """`amount` rounded half up to the minor unit of `currency` (2 decimals when it is None).

    A result that rounds to zero is a plain `0.00`, never `-0.00`.
    """
    units = _DEFAULT_MINOR_UNITS if currency is None else minor_units(currency)
    rounded = to_decimal(amount).quantize(_QUANTUM[units], context=_CONTEXT)
    return rounded.copy_abs() if rounded.is_zero() else rounded


# Widgets format the same few amounts (thresholds, prices, what is left) on every page: the
# pure functions below remember their recent answers. `typed` keeps True apart from 1.
@functools.lru_cache(maxsize=4096, typed=True)
def format_money(amount: object, currency: str | None, locale_hint: str | None = None) -> str:
    """Display text of an amount: `$1,234.50`, `¥1,235`, `-€5.00`, `12.50 CHF`, or `12.50`.

    `currency` None gives the bare number with 2 decimals. `locale_hint` (`"en-AU"`, `"zh_CN"`)
    only picks the short symbol of a dollar or yuan currency in its home country (module docs).
    """
    code = None if currency is None else _currency_code(currency)
    rounded = quantize(amount, code)
    sign = "-" if rounded < 0 else ""
    digits = format(rounded.copy_abs(), ",f")
    if code is None:
        return f"{sign}{digits}"
    symbol = _symbol(code, _region(locale_hint))
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"


@functools.lru_cache(maxsize=4096, typed=True)
def remaining_to(threshold: object, amount: object, currency: str | None) -> Decimal:
    """How much more than `amount` reaches `threshold`, never negative ("spend $12.50 more").

    Both are rounded to the currency first, so the remainder adds up with the amounts the shopper
    sees: a cart shown as $37.50 is $12.50 away from $50.00 whatever its sub-cent digits.
    """
    remainder = quantize(threshold, currency) - quantize(amount, currency)
    return quantize(max(remainder, Decimal(0)), currency)


def _currency_code(currency: object) -> str:
    code = currency.upper() if isinstance(currency, str) else None
    if code is None or not _CODE.fullmatch(code):
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    return code


def _region(locale_hint: object) -> str | None:
    if not isinstance(locale_hint, str) or len(locale_hint) > 64:
        return None  # a hint, not a contract: anything unreadable is ignored
    match = _REGION.fullmatch(locale_hint)
    return match.group(1).upper() if match else None


def _symbol(code: str, region: str | None) -> str | None:
    home = _HOME_REGION.get(code)
    if home is not None and home[0] == region:
        return home[1]
    if code == "USD" and region in _OTHER_DOLLAR_REGIONS:
        return "US$"
    return _SYMBOLS.get(code)
