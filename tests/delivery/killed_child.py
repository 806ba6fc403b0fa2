"""Run by test_crash.py: track events forever towards a destination that is down, printing
(as JSON lines) the ids tracked and how many have reached the disk spool, until the test kills
this process with SIGKILL."""

from __future__ import annotations

import json
import sys
import time

from personalize_sdk import Personalizer
from personalize_sdk.delivery_config import DeliverySettings
from personalize_sdk.forwarders import SegmentForwarder

spool_dir, memory_bytes = sys.argv[1], int(sys.argv[2])
pz = Personalizer(
    forwarders=[SegmentForwarder("k", host="http://127.0.0.1:9", timeout=0.2)],
    delivery=DeliverySettings(spool_dir=spool_dir, memory_bytes=memory_bytes),
)
n = 0
while True:
    ids = [pz.track(f"v{i % 5}", "Product Viewed", {"n": i}) for i in range(n, n + 100)]
    n += 100
    time.sleep(0.05)  # a dispatcher round or two: what is spooled by now is on disk
    spilled = pz.delivery_stats()["segment"]["spilled"]
    print(json.dumps({"ids": ids, "spilled": spilled}), flush=True)
