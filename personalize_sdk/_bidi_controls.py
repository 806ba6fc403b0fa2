"""Bidirectional-text controls are taken out of the values a widget shows.

A product name or a first name ending in U+202E (RIGHT-TO-LEFT OVERRIDE) would reverse the rest
of the shop's sentence around it, price included, and an isolate it opens would never close.
Right-to-left names need none of these: the Unicode bidi algorithm lays them out by their own
letters. So the embedding, override and isolate controls are removed; the marks (U+200E,
U+200F), which open nothing, stay.
"""

from __future__ import annotations

import re

_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_FOUND = re.compile(f"[{_CONTROLS}]")
_REMOVED = str.maketrans(dict.fromkeys(_CONTROLS))


def without_bidi_controls(text: str) -> str:
    """`text` itself (the common case: one scan), or a copy without bidi controls."""
    if _FOUND.search(text) is None:
        return text
    return text.translate(_REMOVED)
