"""Serving the script and stylesheet: the bytes, their type and a validator, by file name."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading

import attrs

from personalize_sdk import assets

logger = logging.getLogger("personalize_sdk.integrations")

TYPES = {"personalize.js": "text/javascript; charset=utf-8",
         "personalize.css": "text/css; charset=utf-8"}  # fmt: skip


@attrs.frozen
class StaticFile:
    body: bytes
    content_type: str
    etag: str
    cache_control: str = "public, max-age=3600"


@functools.cache
def static_file(name: str) -> StaticFile | None:
    """The packaged asset called `name`, or None for anything else (the adapter answers 404)."""
    if name == "personalize.js":
        text = assets.script()
    elif name == "personalize.css":
        text = assets.stylesheet()
    else:
        return None
    body = text.encode("utf-8")
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return StaticFile(body, TYPES[name], etag)


def asset_tags(static_prefix: str, nonce: str | None = None) -> str:
    """``<link rel="stylesheet">`` and ``<script defer>`` for the files served under
    `static_prefix`, escaped; with a CSP `nonce` on both.

    A template helper must not fail the page: a bad nonce (not base64 text, or a function
    passed uncalled) is logged, once per kind, and the tags are rendered without it.
    """
    if not nonce:
        return _plain_tags(static_prefix)
    try:
        return _tags(static_prefix, nonce)
    except Exception as error:  # noqa: BLE001 - the page renders; the log says why
        _report_bad_nonce(nonce, error)
        return _plain_tags(static_prefix)


def _tags(static_prefix: str, nonce: str | None) -> str:
    style = assets.style_tag(nonce=nonce, href=static_prefix + assets.STYLESHEET_NAME)
    script = assets.script_tag(nonce=nonce, src=static_prefix + assets.SCRIPT_NAME)
    return f"{style}\n{script}"


@functools.lru_cache(maxsize=16)
def _plain_tags(static_prefix: str) -> str:
    """Without a nonce the tags are the same on every page: built once."""
    return _tags(static_prefix, None)


_bad_nonces_seen: set[str] = set()
_bad_nonces_lock = threading.Lock()


def _report_bad_nonce(nonce: object, error: Exception) -> None:
    """The first bad nonce of each type is a warning; the rest (every page) debug lines."""
    kind = type(nonce).__name__
    with _bad_nonces_lock:
        first = kind not in _bad_nonces_seen
        _bad_nonces_seen.add(kind)
    if first:
        logger.warning(
            "personalize_assets: unusable CSP nonce, the tags are rendered without it: %s", error
        )
    else:
        logger.debug("personalize_assets: unusable CSP nonce again: %s", error)
