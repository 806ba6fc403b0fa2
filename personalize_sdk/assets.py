"""The browser script and stylesheet behind server-rendered widgets, and tags to include them.

The files live in `personalize_sdk/static/` (package data) and follow docs/markup.md. A page
includes them either inline, allowed by a Content-Security-Policy nonce, or as external files
the shop serves itself (`ASSET_NAMES` lists them for a static-files route):

    {{ style_tag(nonce=csp_nonce) }} ... {{ script_tag(nonce=csp_nonce) }}
    {{ style_tag(href="/static/personalize.css") }} {{ script_tag(src="/static/personalize.js") }}

Inline in `<head>` is best: the script marks the page (`pz-js`) before the first paint.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from markupsafe import Markup, escape

from ._exceptions import ConfigError

SCRIPT_NAME = "personalize.js"
STYLESHEET_NAME = "personalize.css"
ASSET_NAMES: tuple[str, ...] = (SCRIPT_NAME, STYLESHEET_NAME)
"""File names of the assets in `personalize_sdk/static/`."""

# CSP nonces are base64 (RFC 4648 §4 or the URL-safe §5 alphabet), at most two "=" of padding.
_NONCE = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_MAX_NONCE = 256
_MAX_URL = 2048


@functools.cache
def _read(name: str) -> str:
    text = resources.files("personalize_sdk").joinpath("static").joinpath(name).read_text("utf-8")
    # Inlined, this text must not end its own element early.
    closing = "</script" if name.endswith(".js") else "</style"
    if closing in text.lower():
        raise RuntimeError(f"{name} contains {closing!r} and cannot be inlined")
    return text


def script() -> str:
    """The text of `personalize.js`, read once from the package."""
    return _read(SCRIPT_NAME)


def stylesheet() -> str:
    """The text of `personalize.css`, read once from the package."""
    return _read(STYLESHEET_NAME)


def _nonce_attribute(nonce: str | None) -> str:
    if nonce is None:
        return ""
    if not isinstance(nonce, str):
        hint = ": pass what it returns, csp_nonce() not csp_nonce" if callable(nonce) else ""
        raise ConfigError(f"expected a string, got {type(nonce).__name__}{hint}", field="nonce")
    # A lazy string passes isinstance (django-csp's `request.csp_nonce` is a SimpleLazyObject
    # that poses as its str) but is no str to `re`: its value is.
    nonce = str(nonce)
    if len(nonce) > _MAX_NONCE or not _NONCE.fullmatch(nonce):
        raise ConfigError(
            f"must be 1-{_MAX_NONCE} base64 characters (A-Z a-z 0-9 + / - _, '=' padding),"
            f" got {nonce[:40]!r}",
            field="nonce",
        )
    return f' nonce="{nonce}"'


def _url(value: str, field: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"expected a string, got {type(value).__name__}", field=field)
    if not value.strip() or len(value) > _MAX_URL:
        raise ConfigError(f"must be a non-empty URL of at most {_MAX_URL} characters", field=field)
    if value.strip().lower().startswith(("javascript:", "data:", "vbscript:")):
        raise ConfigError(f"must be an http(s) or relative URL, got {value[:40]!r}", field=field)
    return str(escape(value))


def script_tag(*, nonce: str | None = None, src: str | None = None) -> Markup:
    """`<script>` with the script inline (allowed by `nonce` under a CSP), or, given `src`, an
    external `<script defer src=...>` the shop serves itself (a `nonce` is added if given).

    Raises `ConfigError` (a `ValueError`) for a nonce outside the base64 alphabet or a bad URL.
    """
    attributes = _nonce_attribute(nonce)
    if src is not None:
        return Markup(f'<script defer src="{_url(src, "src")}"{attributes}></script>')
    return Markup(f"<script{attributes}>{script()}</script>")


def style_tag(*, nonce: str | None = None, href: str | None = None) -> Markup:
    """`<style>` with the stylesheet inline (allowed by `nonce` under a CSP), or, given `href`,
    a `<link rel="stylesheet">` to the file the shop serves itself.

    Raises `ConfigError` (a `ValueError`) for a nonce outside the base64 alphabet or a bad URL.
    """
    attributes = _nonce_attribute(nonce)
    if href is not None:
        return Markup(f'<link rel="stylesheet" href="{_url(href, "href")}"{attributes}>')
    return Markup(f"<style{attributes}>{stylesheet()}</style>")
