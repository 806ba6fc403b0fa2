"""Real peers into the collector served by uvicorn on 127.0.0.1: Segment's own Python client
(also when the first batches are answered 503 and it retries), and our own forwarders."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from personalize_sdk import Personalizer
from personalize_sdk.collector import Collector
from personalize_sdk.delivery_config import DeliverySettings
from personalize_sdk.forwarders import HttpForwarder, SegmentForwarder

from .server import FirstAnswers503, Served

segment = pytest.importorskip("segment.analytics")

KEY = "wk-e2e"


@pytest.fixture
def collecting():
    pz = Personalizer({"collector": {"server_keys": [KEY]}})
    collector = Collector(pz)
    yield pz, collector
    pz.close()


@pytest.mark.parametrize("refused", [0, 3], ids=["first-try", "after-503s"])
def test_segment_client_events_land_in_the_right_profiles_exactly_once(collecting, refused):
    pz, collector = collecting
    app = FirstAnswers503(collector, refused)
    served = Served(app)
    errors: list = []
    client = segment.Client(
        KEY, host=served.url, upload_size=40, on_error=lambda e, b: errors.append(e), gzip=True
    )
    logging.getLogger("segment").setLevel(logging.CRITICAL)
    try:
        for n in range(60):
            visitor = f"anon-{n % 3}"
            client.track(anonymous_id=visitor, event="Product Viewed",
                         properties={"product_id": f"sku-{n}", "price": 10.0 + n})  # fmt: skip
            if n % 10 == 0:
                client.page(anonymous_id=visitor, name="Home", properties={"path": "/"})
        client.identify(user_id="u-1", anonymous_id="anon-0", traits={"first_name": "Asha"})
        client.track(user_id="u-1", event="Order Completed",
                     properties={"order_id": "o-1", "total": 42.0, "products": []})  # fmt: skip
        client.flush()
    finally:
        client.shutdown()
        served.close()
    assert not errors
    assert app.refused == refused
    customer = pz.profile("anon-0")
    assert customer.user_id == "u-1" and customer.traits["first_name"] == "Asha"
    assert customer.counters["Product Viewed"] == 20
    assert customer.counters["Page Viewed"] == 2
    assert customer.orders.count == 1
    for visitor in ("anon-1", "anon-2"):
        counters = pz.profile(visitor).counters
        assert counters["Product Viewed"] == 20 and counters["Page Viewed"] == 2
    assert collector.stats()["accepted"] == 60 + 6 + 2


@pytest.mark.parametrize("forwarder", ["segment", "http-msgpack"])
def test_our_forwarders_into_our_collector_end_to_end(collecting, tmp_path, forwarder):
    pz, collector = collecting
    served = Served(FirstAnswers503(collector, 2))
    if forwarder == "segment":
        out = SegmentForwarder(KEY, host=served.url, gzip=True, batch_size=100)
    else:
        out = HttpForwarder(served.url + "/v1/batch", format="msgpack",
                            headers={"X-Write-Key": KEY}, batch_size=100)  # fmt: skip
    shop = Personalizer(forwarders=[out], delivery=DeliverySettings(spool_dir=tmp_path))
    try:
        ids = [
            shop.track(f"v{n % 4}", "Product Viewed", {"product_id": f"sku-{n}"})
            for n in range(400)
        ]
        shop.identify("v1", user_id="u-7", traits={"tier": "gold"})
        assert shop.flush(15.0) is True
        stats = shop.delivery_stats()[out.name]
    finally:
        shop.close()
        served.close()
    assert stats["sent"] == 401 and stats["retried"] == 2
    assert Counter(pz.profile(f"v{n}").counters["Product Viewed"] for n in (0, 2, 3)) == {100: 3}
    customer = pz.profile("v1")
    assert customer.user_id == "u-7" and customer.counters["Product Viewed"] == 100
    assert customer.traits["tier"] == "gold"
    assert collector.stats()["accepted"] == 401 and len(ids) == 400
