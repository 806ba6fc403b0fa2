"""Input no Segment library sends: a value of every JSON type in every field, and header bytes
outside ASCII. Each is the sender's mistake, answered 400 or 401, never a 503 "retry later": a
Segment client retries a 503 forever, and its queue backs up behind the one bad batch."""

from __future__ import annotations

import base64
import copy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from personalize_sdk import Personalizer
from personalize_sdk.collector import Collector
from personalize_sdk.segment_message import iso_timestamp
from tests.collector.server import Served
from tests.helpers import Clock

KEY = "wk-1"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}

VALUES: dict[str, Any] = {
    "list": ["track", 1],
    "empty list": [],
    "dict": {"a": 1},
    "empty dict": {},
    "int": 7,
    "negative int": -1,
    "float": 1.5,
    "true": True,
    "false": False,
    "null": None,
    "huge int": 10**40,
    "empty string": "",
    "long string": "x" * 10_000,  # long, and still under the 32 KB an event may take
}


def _messages(now: float) -> dict[str, dict[str, Any]]:
    """A valid message of every kind, with every field Segment's spec gives it."""
    common = {
        "anonymousId": "anon-1",
        "userId": "u-1",
        "timestamp": iso_timestamp(now - 60),
        "context": {"ip": "1.2.3.4", "app": {"name": "ios"}},
        "integrations": {"All": True},
    }
    return {
        "track": {
            **common,
            "type": "track",
            "event": "Product Viewed",
            "properties": {"product_id": "sku-1", "price": 9.5},
        },
        "page": {**common, "type": "page", "name": "Home", "category": "Shop",
                 "properties": {"path": "/"}},
        "screen": {**common, "type": "screen", "name": "Cart", "properties": {"items": 2}},
        "identify": {**common, "type": "identify", "traits": {"first_name": "Asha"}},
        "group": {**common, "type": "group", "groupId": "g-1", "traits": {"plan": "pro"}},
        "alias": {**common, "type": "alias", "previousId": "anon-1"},
    }  # fmt: skip


def _variants(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The message with each field, and each field of its objects, replaced by each value."""
    for field, original in message.items():
        for name, value in VALUES.items():
            yield f"{field} = {name}", {**message, field: value}
        if isinstance(original, dict):
            for inner in original:
                for name, value in VALUES.items():
                    changed = copy.deepcopy(message)
                    changed[field][inner] = value
                    yield f"{field}.{inner} = {name}", changed


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def collector(clock: Clock) -> Collector:
    return Collector(Personalizer({"collector": {"server_keys": [KEY]}}, clock=clock))


@pytest.mark.parametrize("kind", ["track", "page", "screen", "identify", "group", "alias"])
def test_every_field_with_every_json_type_is_200_or_400(collector, clock, kind):
    client = TestClient(collector)
    valid = _messages(clock())[kind]
    answers: dict[str, int] = {}
    for n, (case, message) in enumerate(_variants(valid)):
        message.setdefault("messageId", f"{kind}-{n}")  # each folded, not a duplicate
        single = client.post(f"/v1/{kind}", json=message, headers=AUTH)
        batched = client.post("/v1/batch", json={"batch": [message]}, headers=AUTH)
        answers[f"/v1/{kind} {case}"] = single.status_code
        answers[f"/v1/batch {case}"] = batched.status_code
    wrong = {case: status for case, status in answers.items() if status not in (200, 400)}
    assert wrong == {}
    assert "errors" not in collector.stats()
    assert 400 in answers.values() and 200 in answers.values()  # both kinds of answer seen


@pytest.mark.parametrize("field", ["sentAt", "context", "integrations", "batch"])
def test_every_batch_field_with_every_json_type_is_200_or_400(collector, clock, field):
    client = TestClient(collector)
    valid = {"batch": [_messages(clock())["track"]], "sentAt": iso_timestamp(clock())}
    for name, value in VALUES.items():
        answer = client.post("/v1/batch", json={**valid, field: value}, headers=AUTH)
        assert answer.status_code in (200, 400), (field, name, answer.text)
    assert "errors" not in collector.stats()


@pytest.mark.parametrize("kind", [["track"], {"type": "track"}, 7, None])
def test_a_batch_item_whose_type_is_not_text_is_400_naming_it(collector, kind):
    item = {"type": kind, "event": "Product Viewed", "anonymousId": "anon-1"}
    answer = TestClient(collector).post("/v1/batch", json={"batch": [item]}, headers=AUTH)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith("batch[0].type: ")
    assert collector.stats() == {"rejected.invalid": 1}
    assert collector.pz.profile("anon-1").counters == {}


def _post_raw(port: int, header: bytes) -> bytes:
    """A request written byte by byte: HTTP clients refuse to send a header that is not ASCII,
    but anyone may, and uvicorn passes it on as Latin-1 text."""
    body = b'{"batch": []}'
    request = (
        b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + header
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    return reply


def test_basic_auth_with_bytes_outside_ascii_is_401_through_a_real_server(collector):
    served = Served(collector)
    try:
        for header in (
            b"Authorization: Basic \xe9\xe9\xe9\xe9",
            b"Authorization: Basic d2stMQ==\xff",
        ):
            reply = _post_raw(served.port, header)
            status_line, _, rest = reply.partition(b"\r\n")
            assert status_line == b"HTTP/1.1 401 Unauthorized", reply
            assert rest.endswith(b'{"success": false, "error": "Basic auth: not valid base64"}')
    finally:
        served.close()
    assert collector.stats() == {"rejected.auth": 2}
