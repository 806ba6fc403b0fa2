"""Run by test_fork.py: deliver a track and an identify through one forwarder of each type and
print (as JSON) the modules the delivery thread imported, which must be none: a fork while a
thread is importing leaves the child a half-initialised module for good."""

from __future__ import annotations

import json
import sys
import threading

from personalize_sdk import Personalizer
from personalize_sdk.delivery_config import DeliverySettings
from personalize_sdk.forwarders import (
    FileForwarder,
    HttpForwarder,
    RedisStreamForwarder,
    SegmentForwarder,
)

sink_url, folder, redis_url, stream = sys.argv[1:5]
attempted: list[str] = []


def on_audit(event: str, args: tuple) -> None:
    if event == "import" and threading.current_thread().name == "personalize-delivery":
        attempted.append(args[0])


sys.addaudithook(on_audit)
pz = Personalizer(
    forwarders=[
        SegmentForwarder("k", host=sink_url),
        HttpForwarder(f"{sink_url}/msgpack", format="msgpack", gzip=True),
        FileForwarder(f"{folder}/drop"),
        RedisStreamForwarder(redis_url, stream=stream, format="msgpack"),
    ],
    delivery=DeliverySettings(spool_dir=f"{folder}/spool"),
)
pz.track("v", "Order Completed", {"order_id": "o1", "products": [{"product_id": "p", "price": 2}]})
pz.identify("v", user_id="u", traits={"first_name": "Zoë"})
delivered = pz.flush(10.0)
stats = pz.delivery_stats()
pz.close()
# An import that failed (an optional module that is not installed) leaves no module behind.
imported = sorted({name for name in attempted if name in sys.modules})
print(json.dumps({"delivered": delivered, "imported": imported, "stats": stats}))
