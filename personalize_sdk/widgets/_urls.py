"""The URL check for every `href`, `src` and URL-valued data attribute a widget renders.

Only `http:`, `https:` and relative URLs starting with `/`, `./`, `?` or `#` pass. Anything else
(`javascript:`, `data:`, `vbscript:`, a bare word, a backslash) is unsafe: a link then points to
`#` and an image is left out. The URL is first cleaned the way browsers parse it (C0 controls and
spaces stripped at both ends, tab and newlines removed anywhere), so ``" java\\tscript:"`` tricks
are judged by what the browser would see, and the cleaned URL is what gets rendered.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ._fields import escape_text, plain

MAX_URL_LENGTH = 2048
"""Longer URLs are treated as unsafe."""
_CACHED_LENGTH = 512  # longer URLs are checked without the cache, which stays small

_EDGES = "".join(chr(code) for code in range(0x21))  # what the URL parser strips at both ends
_REMOVED = {ord("\t"): None, ord("\n"): None, ord("\r"): None}  # removed anywhere by browsers
_CONTROLS = frozenset(chr(code) for code in (*range(0x20), 0x7F))
_RELATIVE = ("/", "./", "?", "#")
_SCHEMES = ("http:", "https:")


@functools.lru_cache(maxsize=4096)
def checked_url(url: str) -> str | None:
    """The escaped, cleaned URL if it is safe, else None. Cached: product URLs repeat."""
    cleaned = url.strip(_EDGES).translate(_REMOVED)
    if not cleaned or not _CONTROLS.isdisjoint(cleaned):
        return None
    head = cleaned[:6]
    if cleaned.startswith(_RELATIVE) or (head.isascii() and head.lower().startswith(_SCHEMES)):
        return escape_text(cleaned)
    return None


def safe_url(url: str) -> str | None:
    """`url` escaped for an attribute if it is http(s) or relative, else None."""
    if len(url) <= _CACHED_LENGTH:
        return checked_url(url)
    return checked_url.__wrapped__(url) if len(url) <= MAX_URL_LENGTH else None


def href(data: Mapping[str, Any], key: str) -> str:
    """A required link target: the checked URL, or `#` when it is unsafe."""
    url = data.get(key)
    return safe_url(url if type(url) is str else plain(url, key)) or "#"


def optional_src(data: Mapping[str, Any], key: str) -> str | None:
    """An optional image (or fetch) URL: None when missing, empty or unsafe."""
    url = data.get(key)
    if url is None:
        return None
    return safe_url(url if type(url) is str else plain(url, key))
