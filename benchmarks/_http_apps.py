"""The apps the `http` benchmark serves, and its uvicorn runner (one process per app).

    python -m benchmarks._http_apps SHOP VARIANT PORT     # uvicorn, one worker, 127.0.0.1

SHOP is starlette or django (its ASGI application). The WSGI apps (flask, django) are served by
gunicorn, which imports `build` from here (``benchmarks._http_apps:build('flask', 'two',
'wsgi')``) and its ``worker_exit`` hook (``--config python:benchmarks._http_apps``). VARIANT is

- ``without``: the same example shop without the SDK (no middleware, no widgets, no tracking);
- ``two``: the middleware with `TWO_SLOTS`, two slots of a product page filled;
- ``full``: the middleware with the example's own campaign file (every kind).

With ``BENCH_HTTP_STATS`` set to a path, the process writes there, when it stops, what its
`Personalizer` stored (profiles, events by name): the proof that every request was tracked.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections import Counter
from typing import Any

from personalize_sdk import Personalizer
from personalize_sdk.examples.shop import CAMPAIGNS, CATALOG

SECRET = "benchmark-http-secret-0123456789abcdef"
"""One signing key for every server, so a visitor cookie is valid in all of them."""

TWO_SLOTS: dict[str, Any] = {
    "widgets": {"beacon_url": "/_personalize/beacon", "currency": "USD"},
    "campaigns": [
        {
            "id": "welcome-bar",
            "kind": "hello_bar",
            "text": "Hi {{ first_name or 'there' }}, free shipping on orders over $100",
            "link_url": "/shipping",
            "link_text": "Details",
        },
        {
            "id": "recently-viewed",
            "kind": "recently_viewed",
            "title": "Pick up where you left off",
            "limit": 6,
            "audience": {"page_types": ["product"]},
        },
    ],
}
"""A hello bar in ``top`` on every page and the recently viewed strip on product pages."""

VARIANTS = ("without", "two", "full")
SHOPS = ("starlette", "django", "flask")

_built: list[Personalizer] = []


def personalizer(variant: str) -> Personalizer:
    config = {"two": TWO_SLOTS, "full": CAMPAIGNS}[variant]
    pz = Personalizer(config, catalog=CATALOG, secret=SECRET)
    _built.append(pz)
    return pz


def build(shop: str, variant: str, interface: str = "asgi") -> Any:
    """The app of `shop` in `variant`: ASGI (starlette; django with ``interface="asgi"``) or
    WSGI (flask; django with ``interface="wsgi"``)."""
    if shop not in SHOPS or variant not in VARIANTS:
        raise ValueError(f"unknown shop or variant: {shop!r}, {variant!r}")
    if shop == "starlette":
        from personalize_sdk.examples.starlette_shop import create_app

        if variant == "without":
            return create_app(personalize=False)
        return create_app(personalizer=personalizer(variant))
    if shop == "flask":
        from personalize_sdk.examples.flask_shop import create_app as create_flask_app

        if variant == "without":
            return create_flask_app(personalize=False)
        return create_flask_app(personalizer=personalizer(variant))
    os.environ["BENCH_HTTP_VARIANT"] = variant
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks._http_django_settings"
    if interface == "wsgi":
        from personalize_sdk.examples.django_shop.wsgi import application
    else:
        from personalize_sdk.examples.django_shop.asgi import application
    return application


def write_stats() -> None:
    """What the process's personalizers stored, as JSON to ``BENCH_HTTP_STATS`` (if set)."""
    path = os.environ.get("BENCH_HTTP_STATS")
    if not path:
        return
    events: Counter[str] = Counter()
    profiles = 0
    for pz in _built:
        stored = list(getattr(pz.store, "_profiles", {}).values())
        profiles += len(stored)
        for profile in stored:
            events.update(profile.counters)
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"profiles": profiles, "events": dict(events)}, out)


def worker_exit(server: Any, worker: Any) -> None:
    """gunicorn's hook (``-c python:benchmarks._http_apps``), in the worker as it stops."""
    write_stats()


def main(argv: list[str]) -> int:
    import uvicorn

    shop, variant, port = argv
    app = build(shop, variant)
    # uvicorn stops gracefully on SIGTERM, then raises it again with the handler it found:
    # this one, which writes the figures before the process exits.
    signal.signal(signal.SIGTERM, _stop)
    uvicorn.run(app, host="127.0.0.1", port=int(port), workers=1, log_level="warning",
                access_log=False)  # fmt: skip
    write_stats()
    return 0


def _stop(signum: int, frame: Any) -> None:
    write_stats()
    sys.exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
