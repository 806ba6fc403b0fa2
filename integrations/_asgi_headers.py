"""What the Starlette middleware reads from an ASGI request and writes to its response,
straight from the raw header lists: the middleware runs on every request, and building
Starlette's `Headers`, `Request` and `URL` objects cost more than the rest of its own work."""

from __future__ import annotations

from collections.abc import Iterable

import attrs


@attrs.frozen
class RequestHeaders:
    cookie: str | None = None
    user_agent: str | None = None
    host: str | None = None
    referer: str | None = None


_WANTED = {b"cookie": "cookie", b"user-agent": "user_agent", b"host": "host",
           b"referer": "referer"}  # fmt: skip


def request_headers(raw: Iterable[tuple[bytes, bytes]]) -> RequestHeaders:
    """The request headers the middleware uses, in one pass (several Cookie headers are
    joined, as HTTP/2 sends them)."""
    found: dict[str, str] = {}
    for name, value in raw:
        field = _WANTED.get(name)
        if field is None:
            continue
        text = value.decode("latin-1")
        if field == "cookie" and "cookie" in found:
            text = f"{found['cookie']}; {text}"
        found[field] = text
    return RequestHeaders(**found)


def response_header(raw: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in raw:
        if key.lower() == name:
            return value
    return None


def sets_cookie(raw: Iterable[tuple[bytes, bytes]], name: str) -> bool:
    prefix = name.encode("latin-1") + b"="
    return any(k.lower() == b"set-cookie" and v.lstrip().startswith(prefix) for k, v in raw)


def with_vary_cookie(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with ``Cookie`` in ``Vary`` (added to the existing one, once)."""
    for index, (key, value) in enumerate(raw):
        if key.lower() == b"vary":
            names = {part.strip().lower() for part in value.split(b",")}
            if b"cookie" in names or b"*" in names:
                return raw
            raw[index] = (key, value + b", Cookie")
            return raw
    raw.append((b"vary", b"Cookie"))
    return raw
