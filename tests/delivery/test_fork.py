"""Fork safety: a child gets a queue, a thread and connections of its own; what the parent had
queued is delivered by the parent alone; events tracked in children are delivered."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from personalize_sdk import Personalizer
from personalize_sdk.forwarders import SegmentForwarder

from .sink import Sink

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")


def test_a_forked_child_delivers_its_own_events_and_not_the_parents(sink: Sink, delivery):
    pz = Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=delivery)
    before = [pz.track("parent", "Page Viewed", {"n": n}) for n in range(50)]
    pid = os.fork()  # the parent's delivery thread is running, with events queued
    if pid == 0:
        code = 1
        try:
            mine = [pz.track("child", "Page Viewed", {"n": n}) for n in range(30)]
            delivered = pz.flush(10.0)
            sent = pz.delivery_stats()["segment"]["sent"]
            pz.close()
            code = 0 if delivered and sent == 30 and all(mine) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert pz.flush(10.0) is True
    pz.close()
    received = Counter(sink.message_ids())
    assert all(count == 1 for count in received.values())
    by_visitor = Counter(m["anonymousId"] for m in sink.messages)
    assert by_visitor == {"parent": 50, "child": 30}
    assert set(before) <= set(received)


def test_a_multiprocessing_child_delivers_its_events_as_it_ends(sink: Sink, delivery):
    pz = Personalizer(forwarders=[SegmentForwarder("k", host=sink.url)], delivery=delivery)
    pz.track("parent", "Page Viewed")  # the parent's thread runs: a child inherits it
    assert pz.flush(10.0) is True

    def task() -> None:
        for n in range(50):
            pz.track("child", "Page Viewed", {"n": n})
        # It returns, and multiprocessing ends the child with os._exit: no atexit there.

    child = multiprocessing.get_context("fork").Process(target=task)
    child.start()
    child.join(30)
    try:
        assert child.exitcode == 0
        # Delivered before the child ended: by its own drain, as nothing else sends them.
        assert Counter(m["anonymousId"] for m in sink.messages) == {"parent": 1, "child": 50}
        assert not list((delivery.spool_root / "segment").glob("*.spool"))
    finally:
        pz.close()


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn is POSIX only")
def test_gunicorn_preload_four_workers_deliver_every_event(sink: Sink, tmp_path):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("gunicorn")
    from tests.stores.test_gunicorn import WORKERS, Gunicorn

    server = Gunicorn(
        {"PZ_TEST_SINK": sink.url, "PZ_TEST_SPOOL": str(tmp_path / "spool")},
        tmp_path / "gunicorn.log",
        app="tests.delivery.gunicorn_app:app",
        ready="/master",
    )
    try:
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=0)
        with httpx.Client(timeout=10.0, limits=limits) as client:
            server.wait_ready(client)
            master_event = client.get(f"{server.base}/master").json()["message_id"]

            def track(n: int) -> dict:
                return client.get(f"{server.base}/track", params={"v": f"v{n % 9}", "n": n}).json()

            with ThreadPoolExecutor(max_workers=12) as pool:
                answers = list(pool.map(track, range(600)))
            # Delivered by the running workers (each batch within its 0.2 s interval).
            expected = {answer["message_id"] for answer in answers} | {master_event}
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not expected <= set(sink.message_ids()):
                time.sleep(0.05)
            # One more per worker, left for the drain at exit.
            with ThreadPoolExecutor(max_workers=12) as pool:
                last = list(pool.map(track, range(600, 640)))
    finally:
        server.stop()  # SIGTERM: each worker drains at exit, within gunicorn's graceful timeout
    pids = Counter(answer["pid"] for answer in answers)
    assert len(pids) == WORKERS, (pids, server.logs())
    expected |= {answer["message_id"] for answer in last}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not expected <= set(sink.message_ids()):
        time.sleep(0.05)
    received = Counter(sink.message_ids())
    missing = expected - set(received)
    assert not missing, (len(missing), server.logs())
    assert set(received) == expected
    assert all(count == 1 for count in received.values())  # the master's event sent once


def test_the_delivery_thread_imports_nothing(sink: Sink, tmp_path, redis_prefix):
    """A fork while the delivery thread is importing would leave the child a half-initialised
    module (seen: gunicorn --preload forking in the middle of httpx importing httpcore): every
    module a forwarder needs is imported by the thread that builds it."""
    from tests.stores.conftest import REDIS_URL

    root = Path(__file__).resolve().parents[2]
    probe = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("imports_probe.py")),
            sink.url,
            str(tmp_path),
            REDIS_URL,
            f"{redis_prefix}events",
        ],
        check=False,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout.splitlines()[-1])
    assert report["delivered"] is True, report
    assert all(lane["sent"] == 2 for lane in report["stats"].values()), report["stats"]
    assert report["imported"] == []
