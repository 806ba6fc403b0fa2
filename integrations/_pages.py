"""From a request to a `Page`: the page type by the shop's hook or URL patterns, the device
from the User-Agent."""

from __future__ import annotations

import fnmatch
import functools
import re

from personalize_sdk import Page

from ._settings import IntegrationSettings

_MOBILE = re.compile(r"Mobi|Android.+Mobile|iPhone|iPod|Windows Phone", re.IGNORECASE)
_TABLET = re.compile(r"iPad|Tablet|Android(?!.*Mobile)|Kindle|Silk", re.IGNORECASE)


class PageResolver:
    def __init__(self, settings: IntegrationSettings) -> None:
        self._hook = settings.page_type
        self._patterns = [
            (re.compile(fnmatch.translate(pattern)).match, page_type)
            for pattern, page_type in settings.page_types
        ]
        # Paths repeat (the home page, popular products): the patterns are tried once per path.
        self._by_pattern = functools.lru_cache(maxsize=8192)(self._match)

    def page_type(self, path: str) -> str:
        if self._hook is not None:
            found = self._hook(path)
            if found:
                return found
        return self._by_pattern(path) if len(path) <= 256 else self._match(path)

    def _match(self, path: str) -> str:
        for match, page_type in self._patterns:
            if match(path):
                return page_type
        return "other"

    def page(self, path: str, user_agent: str | None = None, **context: str | None) -> Page:
        """The `Page` for a request path; `context` may add product_id, category, query."""
        return Page(
            type=self.page_type(path), path=path[:2048], device=device(user_agent), **context
        )


def device(user_agent: str | None) -> str | None:
    if not user_agent:
        return None
    return _device(user_agent[:512])


@functools.lru_cache(maxsize=4096)
def _device(user_agent: str) -> str:
    """A few hundred user agents make most of a shop's traffic: each is matched once."""
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"
