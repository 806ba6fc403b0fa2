"""Reading a collector request body within bounds: gzip inflated at most to the limit (a gzip
bomb costs a few kilobytes of memory, not gigabytes), then JSON or msgpack."""

from __future__ import annotations

import json
import zlib
from typing import Any

import msgpack

_REASONS = {401: "auth", 413: "too_large", 415: "encoding"}


class BadRequest(Exception):
    """Answered with `status` and ``{"success": false, "error": message}``; counted as
    ``rejected.<reason>`` (``auth``, ``too_large``, ``encoding``, ``malformed``, ``invalid``)."""

    def __init__(self, status: int, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or _REASONS.get(status, "malformed")


def inflate(data: bytes, limit: int) -> bytes:
    """Gunzip `data`, refusing (413) as soon as the output would pass `limit` bytes."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as error:
        raise BadRequest(400, f"body: not valid gzip ({error})") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BadRequest(413, f"body: over {limit} bytes once decompressed")
    if not inflater.eof:
        raise BadRequest(400, "body: truncated gzip")
    return out


def decode(data: bytes, content_type: str) -> Any:
    """The body as data: msgpack for ``application/msgpack``, JSON otherwise."""
    if content_type.startswith(("application/msgpack", "application/x-msgpack")):
        try:
            return msgpack.unpackb(data, raw=False, strict_map_key=True, max_bin_len=0)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as error:
            raise BadRequest(400, f"body: not valid msgpack ({error})") from None
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise BadRequest(400, "body: not UTF-8") from None
    except RecursionError:
        raise BadRequest(400, "body: nested too deeply") from None
    except ValueError as error:
        raise BadRequest(400, f"body: not valid JSON ({error})") from None
