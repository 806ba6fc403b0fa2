"""Helpers of the config source tests: configs that tell which one is live, bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable

from personalize_sdk import Page

HOME = Page(type="home", path="/")
NOTHING = "[settings]\nrecently_viewed_limit = 20\n"


def sale(text: str = "Flash sale on") -> str:
    """A TOML config with one hello bar saying `text`."""
    return f'[[campaigns]]\nid = "flash-sale"\nkind = "hello_bar"\ntext = "{text}"\n'


INVALID = '[[campaigns]]\nid = "broken"\nkind = "hologram"\ntext = "x"\n'
"""Valid TOML, invalid config: the ConfigError names campaign 'broken' and its field 'kind'."""


def wait_until(check: Callable[[], object], timeout: float = 5.0, every: float = 0.005) -> float:
    """Poll `check` until it is true; the seconds that took. Fails after `timeout`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {check}")
        time.sleep(every)
    return time.monotonic() - started
