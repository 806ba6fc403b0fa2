"""Where tracked events go besides the profiles: one small class per destination behind the
`Forwarder` protocol. The delivery pipeline (`personalize_sdk.delivery`) batches, retries,
spills and counts for all of them.

    http          any URL, JSON or msgpack, gzip optional, custom headers
    segment       Segment's HTTP Tracking API (Segment, RudderStack, Jitsu, `personalize collect`)
    file          newline-delimited JSON files, rotated by size and time
    redis_stream  XADD to a Redis stream with an approximate MAXLEN (redis extra)
"""

from __future__ import annotations

from ..delivery_config import ForwarderSpec
from ._base import BaseForwarder, DeliveryFailed, Forwarder, Transform
from .file import FileForwarder
from .http import HttpForwarder
from .redis_stream import RedisStreamForwarder
from .segment import SegmentForwarder

FORWARDER_TYPES: dict[str, type[BaseForwarder]] = {
    kind.type: kind
    for kind in (HttpForwarder, SegmentForwarder, FileForwarder, RedisStreamForwarder)
}


def build_forwarder(spec: ForwarderSpec) -> BaseForwarder:
    """The forwarder a `[[forwarders]]` entry describes."""
    kind = FORWARDER_TYPES[spec.type]
    return kind(
        **spec.options,
        name=spec.name,
        include=spec.include,
        exclude=spec.exclude,
        batch_size=spec.batch_size,
        batch_bytes=spec.batch_bytes,
        interval=spec.interval,
    )


__all__ = [
    "FORWARDER_TYPES",
    "BaseForwarder",
    "DeliveryFailed",
    "FileForwarder",
    "Forwarder",
    "HttpForwarder",
    "RedisStreamForwarder",
    "SegmentForwarder",
    "Transform",
    "build_forwarder",
]
