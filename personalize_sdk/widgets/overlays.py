"""Overlays (at most one per page): the exit-intent dialog (W3)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from .._exceptions import ConfigError
from ._common import CLOSE_BUTTON, coupon_block, id_token, link, root, title_id
from ._fields import (
    as_markup,
    is_mapping,
    items,
    mapping,
    number,
    optional_text,
    raw_text,
    text,
    within,
)

MOBILE_TRIGGERS = ("scroll", "back", "idle")
SEND = "Send"

# (data key, attribute, default): the trigger settings the script reads from the root.
_TRIGGER_NUMBERS = (
    ("sensitivity", "data-pz-sensitivity", 20.0),
    ("delay_ms", "data-pz-delay", 0.0),
    ("min_dwell_ms", "data-pz-min-dwell", 5000.0),
    ("idle_ms", "data-pz-idle", 30000.0),
)
LONGEST = 86_400_000.0  # a day in ms: beyond that a trigger setting is a mistake


def trigger_attributes(data: Mapping[str, Any]) -> str:
    """`data-pz-*` trigger settings, defaults filled in, numbers rendered as integers."""
    trigger = mapping(data, "trigger") or {}
    mobile = trigger.get("mobile")
    get = trigger.get
    numbers = (get("sensitivity"), get("delay_ms"), get("min_dwell_ms"), get("idle_ms"))
    settings = (
        numbers,
        tuple(map(type, numbers)),
        tuple(mobile) if type(mobile) is list else mobile,
    )
    try:
        try:
            return _trigger_html(*settings)
        except TypeError:  # an unhashable value (a dict ...): let the checks name it
            return _trigger_html.__wrapped__(*settings)
    except ConfigError as error:
        raise within(error, "trigger") from None


@functools.lru_cache(maxsize=256)
def _trigger_html(numbers: tuple[Any, ...], types: tuple[type, ...], mobile: Any) -> str:
    """Cached: the trigger of a campaign is the same on every page. The `types` of the numbers
    are part of the cache key only, so `True` never finds the entry of a valid `1`."""
    rendered = ""
    for value, (key, attribute, default) in zip(numbers, _TRIGGER_NUMBERS, strict=True):
        checked = number({key: value}, key, minimum=0, maximum=LONGEST, default=default)
        rendered += f' {attribute}="{int(checked)}"'
    if mobile is None:
        chosen: tuple[str, ...] = MOBILE_TRIGGERS
    else:
        names = items({"mobile": mobile}, "mobile")
        chosen = tuple(dict.fromkeys(_mobile_trigger(name) for name in names))
    return f'{rendered} data-pz-mobile="{",".join(chosen)}"'


def _mobile_trigger(name: Any) -> str:
    if type(name) is str and name in MOBILE_TRIGGERS:
        return name
    raise ConfigError(
        f"expected some of {', '.join(MOBILE_TRIGGERS)}, got {name!r:.60}", field="mobile"
    )


def _survey(data: Mapping[str, Any]) -> str:
    """The optional "why are you leaving?" question as radios in a `form[data-pz-survey]`."""
    survey = mapping(data, "survey")
    if survey is None:
        return ""
    group = f"pz-survey-{id_token(raw_text(data, 'campaign_id'))}"
    try:
        question = text(survey, "question")
        options = items(survey, "options")
        if not options:
            raise ConfigError("must list at least one answer", field="options")
        radios = "".join([_option(group, option, index) for index, option in enumerate(options)])
    except ConfigError as error:
        raise within(error, "survey") from None
    return (
        f'<form class="pz-survey" data-pz-survey><fieldset><legend>{question}</legend>{radios}'
        f'</fieldset><button type="submit" class="pz-submit">{SEND}</button></form>'
    )


def _option(group: str, option: Any, index: int) -> str:
    try:
        if not is_mapping(option):
            raise ConfigError("expected an object")
        value, label = text(option, "value"), text(option, "label")
    except ConfigError as error:
        raise within(within(error, index), "options") from None
    return (
        f'<label class="pz-option"><input type="radio" name="{group}" value="{value}"> '
        f"{label}</label>"
    )


def render_exit_intent(data: Mapping[str, Any]) -> Markup:
    """A hidden modal dialog the script opens on exit intent: title, text, optional coupon, call
    to action and survey, a close button; the backdrop dismisses too."""
    labelled_by = title_id(data)
    message = optional_text(data, "text")
    body = f'<p class="pz-text">{message}</p>' if message else ""
    attributes = f" data-pz-overlay hidden{trigger_attributes(data)}"
    return as_markup(
        f"{root(data, 'exit_intent', attributes=attributes)}"
        '<div class="pz-backdrop" data-pz-dismiss></div>'
        f'<div class="pz-dialog" role="dialog" aria-modal="true" aria-labelledby="{labelled_by}"'
        ' tabindex="-1">'
        f'<h2 class="pz-title" id="{labelled_by}">{text(data, "title")}</h2>{body}'
        f"{coupon_block(data)}{link(data)}{_survey(data)}{CLOSE_BUTTON}</div></div>"
    )
