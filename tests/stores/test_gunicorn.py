"""The stores under ``gunicorn --preload -w 4``: one Personalizer built (and used) in the master
before the fork, four sync workers writing the same shoppers at once. Every event lands (exact
counts, read back by the workers and by a fresh store in this process), the answers come from
four distinct workers, and a write answered by one worker shows in another within a bounded
time. The app is `tests/stores/gunicorn_app.py`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("gunicorn")

from personalize_sdk.sqlite_store import SQLiteStore  # noqa: E402
from tests.stores.conftest import REDIS_URL  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="gunicorn is POSIX only")

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
REQUESTS = 800
VISITORS = 8  # half the requests go to these, the other half to one hot visitor
HOT = "hot"
DEADLINE = 10.0  # seconds for asynchronous writes to land / show elsewhere
ROUNDS = 20  # cross-process visibility measurements


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process reused the pid
        return True
    return True


class Gunicorn:
    """``gunicorn --preload -w 4`` serving the test app, in a session of its own."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        app: str = "tests.stores.gunicorn_app:app",
        ready: str = "/count?v=ping",
    ) -> None:
        self.ready = ready
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [
            sys.executable, "-m", "gunicorn", "--preload", "-w", str(WORKERS),
            "-k", "sync", "-b", f"127.0.0.1:{self.port}", "--timeout", "20",
            "--graceful-timeout", "5", "--log-level", "warning",
            app,
        ]  # fmt: skip
        full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, client: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.logs()}")
            try:
                if client.get(f"{self.base}{self.ready}").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"gunicorn did not answer within {timeout} s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers gracefully), SIGKILL to the whole
        session if that takes too long."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        else:  # the master died: make sure no worker outlives it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_env(request, tmp_path) -> Iterator[dict[str, Any]]:
    """The app's environment, and a way to read a shopper's count from a fresh store."""
    if request.param == "sqlite":
        path = tmp_path / "pz.db"
        yield {
            "env": {"PZ_TEST_STORE": f"sqlite:///{path}"},
            "kind": "sqlite",
            "fresh": lambda: SQLiteStore(path),
            "asynchronous": False,
        }
        return
    prefix = request.getfixturevalue("redis_prefix")  # skips without Redis, cleans up after
    from personalize_sdk.redis_store import RedisStore

    yield {
        "env": {"PZ_TEST_STORE": REDIS_URL, "PZ_TEST_PREFIX": prefix},
        "kind": "redis",
        "fresh": lambda: RedisStore(REDIS_URL, prefix=prefix),
        "asynchronous": True,
    }


def _count_in(store: Any, visitor: str, event: str = "Product Viewed") -> int:
    try:
        profile = store.load(f"v:{visitor}")
    finally:
        store.close()
    return 0 if profile is None else profile.counters.get(event, 0)


def _poll(check: Any, timeout: float = DEADLINE, every: float = 0.002) -> float | None:
    """Seconds until `check()` held (None: not within `timeout`)."""
    started = time.perf_counter()
    while True:
        if check():
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            return None
        time.sleep(every)


def test_gunicorn_preload_four_workers_lose_nothing_and_see_each_other(store_env, tmp_path):
    began = time.monotonic()
    server = Gunicorn(store_env["env"], tmp_path / "gunicorn.log")
    seen_pids: set[int] = set()
    try:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=0)
        with httpx.Client(timeout=10.0, limits=limits) as client:
            server.wait_ready(client)
            base = server.base

            def get(path: str, **params: Any) -> dict[str, Any]:
                response = client.get(f"{base}{path}", params=params)
                assert response.status_code == 200, (path, response.text, server.logs())
                return response.json()

            # 1. Concurrent writes from every worker, one hot shopper shared by all.
            plan = [(HOT if i % 2 else f"v{i % VISITORS}", i) for i in range(REQUESTS)]
            expected = Counter(visitor for visitor, _ in plan)
            with ThreadPoolExecutor(max_workers=16) as pool:
                answers = list(pool.map(lambda job: get("/track", v=job[0], n=job[1]), plan))
            assert all(answer["message_id"] for answer in answers)
            pids = Counter(answer["pid"] for answer in answers)
            master = answers[0]["master"]
            seen_pids.update(pids)
            print(f"\n[{store_env['kind']}] requests per worker: "
                  f"{dict(pids)} (master {master})")  # fmt: skip
            assert len(pids) == WORKERS, pids
            assert master not in pids

            # 2. Exact counts: as the workers read them, and in the store itself.
            if store_env["asynchronous"]:
                for _ in range(3 * WORKERS):  # reaches every worker, most likely
                    seen_pids.add(get("/flush")["pid"])
            for visitor, want in sorted(expected.items()):
                landed = _poll(
                    lambda v=visitor, w=want: _count_in(store_env["fresh"](), v) >= w,
                    every=0.05,
                )
                assert landed is not None, (visitor, want, _count_in(store_env["fresh"](), visitor))
                assert _count_in(store_env["fresh"](), visitor) == want, visitor
            by_worker: dict[int, int] = {}

            def every_worker_reads_the_exact_hot_count() -> bool:
                answer = get("/count", v=HOT)
                seen_pids.add(answer["pid"])
                by_worker[answer["pid"]] = answer["count"]
                return len(by_worker) == WORKERS and set(by_worker.values()) == {expected[HOT]}

            assert _poll(every_worker_reads_the_exact_hot_count) is not None, by_worker
            for visitor, want in expected.items():
                assert get("/count", v=visitor)["count"] == want, visitor
            # The master's own event, tracked before the fork, was written once, not per worker.
            assert _poll(lambda: _count_in(store_env["fresh"](), "master", "Page Viewed") == 1)
            assert _count_in(store_env["fresh"](), "master", "Page Viewed") == 1

            # 3. Cross-process visibility: a track answered by one worker, read by another.
            visitor = "seen-elsewhere"
            for _ in range(2 * WORKERS):  # every worker has the shopper cached (RedisStore)
                get("/count", v=visitor)
            delays = []
            for round_ in range(ROUNDS):
                writer = get("/track", v=visitor, n=round_)["pid"]
                started = time.perf_counter()

                def another_worker_sees_it(w: int = writer, n: int = round_ + 1) -> bool:
                    answer = get("/count", v=visitor)
                    return answer["pid"] != w and answer["count"] == n

                assert _poll(another_worker_sees_it, every=0) is not None, round_
                delays.append(time.perf_counter() - started)
            delays_ms = sorted(1000 * d for d in delays)
            print(f"[{store_env['kind']}] visible in another worker after "
                  f"(ms): median {statistics.median(delays_ms):.1f}, max {delays_ms[-1]:.1f}, "
                  f"all {[round(d, 1) for d in delays_ms]}")  # fmt: skip
            assert delays_ms[-1] < 1000 * DEADLINE

            # 4. SQLite: every worker holds file locks of its own (not its parent's, see
            # SQLiteStore's docstring), where /proc/locks tells.
            if not store_env["asynchronous"]:
                locks: dict[int, bool | None] = {}

                def every_worker_said() -> bool:
                    answer = get("/locks")
                    locks[answer["pid"]] = answer["locks"]
                    return len(locks) == WORKERS

                assert _poll(every_worker_said) is not None, locks
                assert all(held is not False for held in locks.values()), locks
    finally:
        server.stop()
    assert server.process.returncode == 0, server.logs()  # a graceful stop
    leaked = [pid for pid in seen_pids if _pid_alive(pid)]
    assert _poll(lambda: not [pid for pid in seen_pids if _pid_alive(pid)], 5) is not None, leaked
    assert time.monotonic() - began < 60
