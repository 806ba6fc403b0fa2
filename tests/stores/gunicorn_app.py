"""The WSGI app `test_gunicorn.py` serves with ``gunicorn --preload``: ONE Personalizer, built
at import, so in the master before it forks the workers, on the store the environment names:

    PZ_TEST_STORE    sqlite:////abs/path.db, or redis://127.0.0.1:6379/15
    PZ_TEST_PREFIX   the RedisStore's key prefix (the test's own)

The master uses the store before forking (one event tracked at import: a SQLite connection is
open, RedisStore's writer and listener threads run and its pool holds connections), which is
the state a fork-safe store must survive. Routes, each answering JSON with the worker's pid:

    /track?v=<visitor>&n=<i>   tracks a Product Viewed
    /count?v=<visitor>         that visitor's Product Viewed count as this worker reads it
    /flush                     writes this worker's queue (RedisStore) before answering
    /locks                     whether this worker holds POSIX locks of its own on the SQLite
                               file (Linux's /proc/locks; null elsewhere)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from personalize_sdk import Personalizer
from personalize_sdk.store import Store

MASTER_PID = os.getpid()


def _store() -> Store | str:
    url = os.environ["PZ_TEST_STORE"]
    if url.startswith("redis"):
        from personalize_sdk.redis_store import RedisStore

        return RedisStore(url, prefix=os.environ["PZ_TEST_PREFIX"])
    return url


pz = Personalizer(store=_store(), strict=True)
pz.track("master", "Page Viewed")  # in the master, before the fork; not flushed on purpose


def _locks() -> bool | None:
    path = getattr(pz.store, "path", None)
    if path is None or not os.path.exists("/proc/locks"):
        return None
    inode, pid = os.stat(path).st_ino, str(os.getpid())
    with open("/proc/locks") as table:
        for line in table:
            fields = line.split()  # 1: POSIX ADVISORY READ <pid> <maj:min:inode> <start> <end>
            if fields[4] == pid and fields[5].rsplit(":", 1)[-1] == str(inode):
                return True
    return False


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    visitor = query.get("v", ["nobody"])[0]
    path = environ.get("PATH_INFO", "/")
    answer: dict[str, Any] = {"pid": os.getpid(), "master": MASTER_PID}
    if path == "/track":
        n = int(query.get("n", ["0"])[0])
        product = {"product_id": f"sku-{n % 7}", "category": "Watches", "brand": "Acme",
                   "price": 100.0, "currency": "EUR"}  # fmt: skip
        answer["message_id"] = pz.track(visitor, "Product Viewed", product)
    elif path == "/count":
        answer["count"] = pz.profile(visitor).counters.get("Product Viewed", 0)
    elif path == "/flush":
        pz.flush()
    elif path == "/locks":
        answer["locks"] = _locks()
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    body = json.dumps(answer).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])  # fmt: skip
    return [body]
