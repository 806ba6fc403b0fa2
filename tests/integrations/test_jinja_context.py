"""`context_value` reads a template variable as Jinja's own `Context.get` does."""

from __future__ import annotations

import jinja2

from personalize_sdk.integrations._jinja_context import context_value


@jinja2.pass_context
def both(context: jinja2.runtime.Context, key: str) -> str:
    return f"{context_value(context, key)!r}={context.get(key)!r}"


def test_context_value_answers_as_context_get():
    env = jinja2.Environment(autoescape=False)
    env.globals.update(both=both, shop="global")
    template = env.from_string(
        "{{ both('request') }}|{{ both('shop') }}|{{ both('missing') }}"
        "{% set shop = 'set here' %}|{{ both('shop') }}"
    )
    first, from_global, missing, shadowed = template.render(request="r").split("|")
    assert first == "'r'='r'"
    assert from_global == "'global'='global'"
    assert missing == "None=None"
    assert shadowed == "'set here'='set here'"
