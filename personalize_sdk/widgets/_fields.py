"""Reading `Widget.data` fields: each accessor checks the type and returns a value safe to render.

Text comes back escaped, as a plain `str` (the renderer wraps the finished HTML in `Markup` once);
numbers come back finite and inside their bounds. So a renderer only ever pastes escaped text and
numbers it formatted itself. A bad value raises `ConfigError` naming the field; `within` nests it
under the enclosing field on the way out (``"coupon.code"``, ``"products.3.name"``) and
`render_widget` adds the campaign. The checks test `type(...) is` first because they run for
every field of every widget on every page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from .._bidi_controls import without_bidi_controls
from .._exceptions import ConfigError

try:  # MarkupSafe >= 3: the C core of `escape`, without building a `Markup` for every value
    from markupsafe import _escape_inner as escape_text
except ImportError:  # pragma: no cover - MarkupSafe 2, whose `escape` is itself C and fast

    def escape_text(value: str, /) -> str:
        """`markupsafe.escape(value)` as a plain `str`."""
        return str.__str__(escape(value))


LATEST_EPOCH = 253_402_300_799.0
"""9999-12-31T23:59:59Z: the last instant an ISO 8601 date can show."""


def as_markup(html: str) -> Markup:
    """Finished, escaped widget HTML as `Markup`.

    `Markup(html)` first asks `html` for `__html__`, a failed attribute lookup that costs more
    than escaping a value; `html` is always a plain `str` built here, so that step is skipped.
    """
    return str.__new__(Markup, html)


def _shown(value: Any) -> str:
    """A short, log-safe picture of a bad value (never the whole of a huge string)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def plain(value: Any, field: str) -> str:
    """`value` as a plain `str`, or `ConfigError` naming `field`."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        # A `Markup` (or other str subclass) is still plain text here: copy is never trusted
        # HTML, so it is escaped like any other string instead of passing through.
        return str.__str__(value)
    raise ConfigError(f"expected text, got {_shown(value)}", field=field)


def text(data: Mapping[str, Any], key: str) -> str:
    """A required text field, escaped, without bidi controls (`_bidi_controls`)."""
    value = data.get(key)
    return escape_text(without_bidi_controls(value if type(value) is str else plain(value, key)))


def optional_text(data: Mapping[str, Any], key: str) -> str:
    """An optional text field, escaped, without bidi controls; missing, None and "" give ""."""
    value = data.get(key)
    if type(value) is str:
        return escape_text(without_bidi_controls(value))
    return "" if value is None else escape_text(without_bidi_controls(plain(value, key)))


def raw_text(data: Mapping[str, Any], key: str) -> str:
    """A required text field as plain `str`, for values that are transformed before escaping."""
    value = data.get(key)
    return value if type(value) is str else plain(value, key)


def flag(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if type(value) is not bool:
        raise ConfigError(f"expected true or false, got {_shown(value)}", field=key)
    return value


def number(
    data: Mapping[str, Any],
    key: str,
    *,
    minimum: float,
    maximum: float,
    default: float | None = None,
) -> float:
    """A finite number within [minimum, maximum]; never a string, a bool or NaN."""
    value = data.get(key)
    if value is None and default is not None:
        return default
    if (
        type(value) is not float
        and type(value) is not int
        and (isinstance(value, bool) or not isinstance(value, (int, float)))
    ):
        raise ConfigError(f"expected a number, got {_shown(value)}", field=key)
    if not (minimum <= value <= maximum):  # also false for NaN
        raise ConfigError(
            f"must be a finite number from {minimum:g} to {maximum:g}, got {_shown(value)}",
            field=key,
        )
    return float(value)


def is_mapping(value: Any) -> bool:
    """`isinstance(value, Mapping)`, with the common dict answered before the slower ABC check."""
    return type(value) is dict or isinstance(value, Mapping)


def mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """An optional nested object (coupon, link, survey ...); missing or None means absent."""
    value = data.get(key)
    if value is None or type(value) is dict or isinstance(value, Mapping):
        return value
    raise ConfigError(f"expected an object, got {_shown(value)}", field=key)


def required_mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = mapping(data, key)
    if value is None:
        raise ConfigError("is required", field=key)
    return value


def items(data: Mapping[str, Any], key: str) -> Sequence[Any]:
    """A list (or tuple) field; missing or None is an empty list."""
    value = data.get(key)
    if value is None:
        return ()
    if type(value) is list or type(value) is tuple:
        return value
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        return value
    raise ConfigError(f"expected a list, got {_shown(value)}", field=key)


def choice(data: Mapping[str, Any], key: str, choices: Sequence[str]) -> str:
    """One of `choices`; missing or None means the first."""
    value = data.get(key)
    if value is None:
        return choices[0]
    if value in choices and type(value) is str:
        return value
    expected = ", ".join(repr(c) for c in choices)
    raise ConfigError(f"expected one of {expected}, got {_shown(value)}", field=key)


def within(error: ConfigError, parent: str | int) -> ConfigError:
    """`error` with its field nested under `parent`: paths are built only when something failed."""
    return ConfigError(
        error.message, field=f"{parent}.{error.field}" if error.field else str(parent)
    )
