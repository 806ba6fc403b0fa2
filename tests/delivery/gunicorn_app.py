"""The WSGI app of test_fork.py, served by ``gunicorn --preload -w 4``: the Personalizer and
its forwarder are built in the master, which tracks one event (starting its delivery thread)
before it forks the workers."""

from __future__ import annotations

import json
import os
from urllib.parse import parse_qs

from personalize_sdk import Personalizer
from personalize_sdk.delivery_config import DeliverySettings
from personalize_sdk.forwarders import SegmentForwarder

MASTER = os.getpid()
pz = Personalizer(
    forwarders=[SegmentForwarder("k", host=os.environ["PZ_TEST_SINK"], interval=0.2)],
    # The exit drain fits in gunicorn's --graceful-timeout (5 s in the test), as it must.
    delivery=DeliverySettings(spool_dir=os.environ["PZ_TEST_SPOOL"], drain_timeout=3.0),
)
MASTER_EVENT = pz.track("master", "Page Viewed", {"path": "/"})


def app(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    body: dict[str, object] = {"pid": os.getpid(), "master": MASTER}
    if environ["PATH_INFO"] == "/track":
        body["message_id"] = pz.track(query["v"][0], "Product Viewed", {"n": int(query["n"][0])})
    elif environ["PATH_INFO"] == "/master":
        body["message_id"] = MASTER_EVENT
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]
