"""The countdown (W6) for limited-time offers, right on first paint without the script.

The server writes the remaining time it computed: `remaining_seconds` if the data carries it,
else `deadline - now` if it carries `now`, else the deadline itself as a UTC date. The script then
ticks the `<time>` every second from `data-pz-deadline`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from ._common import link, root, utc_times
from ._fields import LATEST_EPOCH, as_markup, number, optional_text, text


def remaining_text(seconds: int) -> str:
    """`D:HH:MM:SS`, or `HH:MM:SS` under a day, as the script shows it; `00:00:00` once over.

    `seconds` is rounded up, like the script does, so the text does not jump when it takes over.
    """
    if seconds <= 0:
        return "00:00:00"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{rest:02d}"
    return f"{days}:{clock}" if days else clock


def _remaining(data: Mapping[str, Any], deadline: float) -> float | None:
    if data.get("remaining_seconds") is not None:
        return number(data, "remaining_seconds", minimum=-LATEST_EPOCH, maximum=LATEST_EPOCH)
    if data.get("now") is not None:
        return deadline - number(data, "now", minimum=0, maximum=LATEST_EPOCH)
    return None


def render_countdown(data: Mapping[str, Any]) -> Markup:
    """Title, text, a `<time>` counting down to `deadline`, the text shown once it passed and an
    optional call to action (`link`).

    `<time datetime>` is the deadline (ISO 8601, UTC): it never changes while the text ticks.
    A countdown already over when rendered is rendered expired (class `pz-expired`, expired text
    visible), as the script would make it.
    """
    deadline = number(data, "deadline", minimum=0, maximum=LATEST_EPOCH)
    iso, readable = utc_times(int(deadline))
    remaining = _remaining(data, deadline)
    expired = remaining is not None and remaining <= 0
    shown = readable if remaining is None else remaining_text(math.ceil(remaining))
    title = optional_text(data, "title")
    message = optional_text(data, "text")
    heading = f'<p class="pz-title">{title}</p>' if title else ""
    if message:
        heading += f'<p class="pz-text">{message}</p>'
    opening = root(
        data, "countdown", " pz-expired" if expired else "", f' data-pz-deadline="{int(deadline)}"'
    )
    return as_markup(
        f'{opening}{heading}<p class="pz-timer">'
        f'<time data-pz-timer datetime="{iso}">{shown}</time></p>'
        f'<p class="pz-expired-text" data-pz-expired-text{"" if expired else " hidden"}>'
        f"{text(data, 'expired_text')}</p>{link(data)}</div>"
    )
