"""Real-browser fixtures: Debian's headless Chromium driven by Playwright (../shared/testing/
BROWSER.md), one browser for the browser tests, a fresh context and a fresh local shop per test.

Without Chromium the browser tests skip with the reason, except on CI (`CI=true`), where a
missing browser is a broken setup and fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.server import Site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
# Chromium's own look-ups of outside hosts are pointless here (no internet): keep to 127.0.0.1.
BLOCK_OUTSIDE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"
DESKTOP = {"width": 1280, "height": 720}
MOBILE = {"width": 412, "height": 839}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run here)", pytrace=False)
    pytest.skip(reason)


# Package scope: Playwright's sync API keeps an event loop running in the main thread while it
# is open, which Django (tests/integrations) takes for an async context and refuses to use.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(
            f"Debian's Chromium is not installed at {CHROMIUM} "
            "(apt-get install chromium chromium-driver, or `make install` as root)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[BLOCK_OUTSIDE])
        yield chromium
        chromium.close()


@pytest.fixture
def site() -> Iterator[Site]:
    shop = Site().start()
    yield shop
    shop.stop()


class PageErrors(list[str]):
    """Uncaught page errors and `console.error` lines of one page, asserted empty at the end."""

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: message.type == "error" and self.append(f"console: {message.text}"),
        )
        return page


@pytest.fixture
def errors() -> Iterator[PageErrors]:
    found = PageErrors()
    yield found
    assert not found, f"the page reported errors: {found}"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    desktop = browser.new_context(viewport=DESKTOP)
    yield desktop
    desktop.close()


@pytest.fixture
def page(context: BrowserContext, errors: PageErrors) -> Page:
    return errors.watch(context.new_page())


@pytest.fixture
def mobile(browser: Browser) -> Iterator[BrowserContext]:
    """A phone: touch, `(pointer: coarse)`, `(hover: none)`, 412x839."""
    phone = browser.new_context(is_mobile=True, has_touch=True, viewport=MOBILE)
    yield phone
    phone.close()


@pytest.fixture
def mobile_page(mobile: BrowserContext, errors: PageErrors) -> Page:
    return errors.watch(mobile.new_page())
