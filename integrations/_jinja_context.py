"""`context_value`: a Jinja template context's variable, read the quick way.

Templates look up ``request`` once per slot they render. Jinja's `Context.get` takes three
calls of its own per look-up; its documented `vars` (the template's own variables) and
`parent` (what the template was rendered with, and the globals) are two dicts, read here in
the same order.
"""

from __future__ import annotations

from typing import Any

_UNSET = object()


def context_value(context: Any, key: str) -> Any:
    """``context.get(key)`` of a `jinja2.runtime.Context`, as two dict look-ups."""
    value = context.vars.get(key, _UNSET)
    return context.parent.get(key) if value is _UNSET else value
