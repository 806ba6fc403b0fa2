"""Segment messages encoded straight from an accepted event, as JSON or msgpack.

`to_json(item)` is ``encode_json(to_message(item))`` and `to_msgpack(item, pack)` is
``pack(to_message(item))``, byte for byte (tests/test_segment_bytes.py checks both on random
events, and on the `FrozenEvent` the outbox queues for each), without building the message
dict: the keys and the library's context are encoded once, here, and only an event's own values
are encoded per event (a frozen event's properties not even that, in msgpack). The delivery
thread spends most of its time encoding, so this is its hot path; a forwarder with a
`transform` hook, which must see the dict, goes the long way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import msgpack

from .events import Event
from .frozen_event import FrozenEvent, unpacked
from .segment_message import LIBRARY, Identified, iso_timestamp, to_message

Encodable = Event | FrozenEvent | Identified

_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
"""Built once: `json.dumps` with options builds a new encoder on every call."""
_json_text: Callable[[str], str] = json.encoder.encode_basestring  # what _JSON does to a str


def _acyclic_json() -> Callable[[Any], str]:
    """`_JSON.encode`, byte for byte, for a value that cannot hold a cycle (an event's
    mappings: validated, or unpacked from msgpack): the C encoder built once, without the
    check for cycles, where `JSONEncoder.encode` builds one per call (a third of the cost of an
    event's properties, most of it for a small context)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator
        return _JSON.encode
    chunks = make(None, str, _json_text, None, ":", ",", False, False, True)
    join = "".join

    def encode(value: Any) -> str:
        return join(chunks(value, 0))

    return encode


_json_value = _acyclic_json()


def encode_json(message: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; a value JSON cannot hold is sent as its text, never fails a batch."""
    return _JSON.encode(message).encode()


_LIBRARY = dict(LIBRARY)  # encoded only, never handed out: a plain dict the encoders take
_JSON_LIBRARY_CONTEXT = _json_value({"library": _LIBRARY})


def to_json(item: Encodable) -> bytes:
    """``encode_json(to_message(item))``, without the dict (a `FrozenEvent`: of the event it
    froze)."""
    if type(item) is FrozenEvent:
        visitor_id, name, packed, timestamp, message_id, packed_context, user_id = item
        properties = unpacked(packed)
        context = None if packed_context is None else unpacked(packed_context)
    elif type(item) is Event:
        visitor_id, name, properties, timestamp, message_id, context, _, user_id = item
        if type(properties) is not dict:
            properties = dict(properties)
    else:
        return encode_json(to_message(item))
    context_text = (
        _json_value({**context, "library": _LIBRARY}) if context else _JSON_LIBRARY_CONTEXT
    )
    text = (
        f'{{"type":"track","event":{_json_text(name)},"properties":{_json_value(properties)},'
        f'"messageId":{_json_text(message_id)},"timestamp":"{iso_timestamp(timestamp)}",'
        f'"context":{context_text}'
    )
    if visitor_id is not None:
        text += f',"anonymousId":{_json_text(visitor_id)}'
    if user_id is not None:
        text += f',"userId":{_json_text(user_id)}'
    return (text + "}").encode()


_keys = msgpack.Packer()
_MSGPACK_MAP = tuple(_keys.pack_map_header(count) for count in range(9))
_MSGPACK_TRACK = _keys.pack("type") + _keys.pack("track") + _keys.pack("event")
_MSGPACK_PROPERTIES = _keys.pack("properties")
_MSGPACK_MESSAGE_ID = _keys.pack("messageId")
_MSGPACK_TIMESTAMP = _keys.pack("timestamp")
_MSGPACK_CONTEXT = _keys.pack("context")
_MSGPACK_LIBRARY_CONTEXT = _keys.pack({"library": _LIBRARY})
_MSGPACK_ANONYMOUS_ID = _keys.pack("anonymousId")
_MSGPACK_USER_ID = _keys.pack("userId")


def to_msgpack(item: Encodable, pack: Callable[[Any], bytes]) -> bytes:
    """``pack(to_message(item))`` without the dict; `pack` is a ``msgpack.Packer(default=str)``'s
    (one per thread: a Packer is not thread-safe). A `FrozenEvent`'s properties go as they are."""
    if type(item) is FrozenEvent:
        visitor_id, name, packed, timestamp, message_id, packed_context, user_id = item
        context = None if packed_context is None else unpacked(packed_context)
    elif type(item) is Event:
        visitor_id, name, properties, timestamp, message_id, context, _, user_id = item
        packed = pack(properties if type(properties) is dict else dict(properties))
    else:
        return pack(to_message(item))
    parts = [
        _MSGPACK_MAP[6 + (visitor_id is not None) + (user_id is not None)],
        _MSGPACK_TRACK,
        pack(name),
        _MSGPACK_PROPERTIES,
        packed,
        _MSGPACK_MESSAGE_ID,
        pack(message_id),
        _MSGPACK_TIMESTAMP,
        pack(iso_timestamp(timestamp)),
        _MSGPACK_CONTEXT,
        pack({**context, "library": _LIBRARY}) if context else _MSGPACK_LIBRARY_CONTEXT,
    ]
    if visitor_id is not None:
        parts += (_MSGPACK_ANONYMOUS_ID, pack(visitor_id))
    if user_id is not None:
        parts += (_MSGPACK_USER_ID, pack(user_id))
    return b"".join(parts)
