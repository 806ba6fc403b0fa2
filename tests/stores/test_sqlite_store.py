"""SQLiteStore: durable, migrated on open, no lost update across threads and processes,
fork-safe, and a busy or broken file is `StoreUnavailable`, never a hang or a crash."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time

import pytest

from personalize_sdk import ConfigError, Personalizer, Profile, StoreUnavailable
from personalize_sdk.sqlite_store import MIGRATIONS, SQLiteStore
from tests.helpers import DAY, T0, view

EVENTS_PER_WORKER = 150


def test_profiles_survive_a_restart(tmp_path):
    path = tmp_path / "p.db"
    pz = Personalizer(store=SQLiteStore(path), strict=True)
    pz.track("v1", "Product Viewed", view("sku-1"))
    pz.identify("v1", user_id="u-1", traits={"first_name": "Asha"})
    pz.close()
    again = Personalizer(store=SQLiteStore(path), strict=True)
    assert again.profile("v1").traits == {"first_name": "Asha"}
    assert again.profile("v1").recently_viewed == ("sku-1",)


def test_a_new_file_gets_the_schema_in_wal_mode(tmp_path):
    path = tmp_path / "p.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"profiles", "links"} <= tables
    SQLiteStore(path).close()  # opening again applies nothing twice


def test_a_file_from_a_newer_release_is_refused(tmp_path):
    path = tmp_path / "p.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(ConfigError, match="newer personalize-sdk") as error:
        SQLiteStore(path)
    assert str(path) in str(error.value)


def test_a_file_that_is_not_a_database_is_unavailable(tmp_path):
    path = tmp_path / "p.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreUnavailable, match=str(path)):
        SQLiteStore(path)


def test_a_locked_database_degrades_after_the_busy_timeout(tmp_path):
    path = tmp_path / "p.db"
    store = SQLiteStore(path, busy_timeout=0.2)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.update("v1", None, lambda current, v, u: Profile(visitor_id=v))
        assert 0.15 < time.monotonic() - started < 2.0
        pz = Personalizer(store=store)  # production mode: the page goes on
        pz.track("v1", "Product Viewed", view("sku-1"))  # does not raise into the page
        assert pz.stats()["errors.track.store"] == 1
        assert store.load("v:v1") is None  # readers are not blocked by the writer (WAL)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.update("v1", None, lambda current, v, u: Profile(visitor_id=v))
    assert store.load("v:v1") == Profile(visitor_id="v1")


def test_threads_lose_no_update(tmp_path):
    pz = Personalizer(store=SQLiteStore(tmp_path / "p.db"), strict=True)

    def work() -> None:
        for i in range(100):
            pz.track("v1", "Product Viewed", view(f"sku-{i % 7}"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert pz.profile("v1").counters == {"Product Viewed": 400}


def _track_from_child(store: SQLiteStore, worker: int) -> None:
    pz = Personalizer(store=store, strict=True)
    for i in range(EVENTS_PER_WORKER):
        pz.track("shared", "Product Viewed", view(f"sku-{worker}-{i % 5}"))
        pz.track(f"own-{worker}", "Page Viewed", {"path": "/"})


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_processes_writing_one_shopper_lose_nothing(tmp_path, start):
    store = SQLiteStore(tmp_path / "p.db")
    store.update("shared", None, lambda current, v, u: Profile(visitor_id=v))  # parent connects
    context = multiprocessing.get_context(start)
    workers = [context.Process(target=_track_from_child, args=(store, n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    counters = Personalizer(store=store).profile("shared").counters
    assert counters == {"Product Viewed": 4 * EVENTS_PER_WORKER}
    for n in range(4):
        assert store.load(f"v:own-{n}").counters == {"Page Viewed": EVENTS_PER_WORKER}


@pytest.mark.parametrize("opened_in", ["the forking thread", "another thread"])
def test_a_forked_child_takes_its_own_file_locks_and_loses_nothing(tmp_path, opened_in):
    """SQLite keeps a process's file locks in a table a forked child inherits. A connection
    the child opened while the parent's were still open there took no lock of its own, so once
    the parent closed its connections, the next process to open and close the file took itself
    for the last one, checkpointed and deleted the WAL the child was writing to: the child's
    later events were lost."""
    path = tmp_path / "p.db"
    close_now, closed, holder = threading.Event(), threading.Event(), []

    def open_and_hold() -> None:
        store = SQLiteStore(path)
        Personalizer(store=store, strict=True).track("warm", "Page Viewed")
        holder.append(store)
        if opened_in == "another thread":
            assert close_now.wait(30)
            store.close()
            closed.set()

    if opened_in == "another thread":
        threading.Thread(target=open_and_hold, daemon=True).start()
        while not holder:
            time.sleep(0.01)
    else:
        open_and_hold()
    store = holder[0]
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()

    def child() -> None:
        pz = Personalizer(store=store, strict=True)
        for _ in range(50):
            pz.track("x", "Page Viewed")
        child_end.send("half")
        assert child_end.poll(30)
        child_end.recv()
        for _ in range(50):
            pz.track("x", "Page Viewed")

    process = context.Process(target=child)
    process.start()
    try:
        assert parent_end.poll(30)
        parent_end.recv()
        if opened_in == "another thread":
            close_now.set()
            assert closed.wait(30)
        else:
            store.close()
        other = sqlite3.connect(path)  # another process would do the same
        other.execute("SELECT count(*) FROM profiles").fetchone()
        other.close()
        parent_end.send("go")
    finally:
        process.join(timeout=60)
    assert process.exitcode == 0
    assert SQLiteStore(path).load("v:x").counters == {"Page Viewed": 100}


def test_anonymous_profiles_expire_customers_stay(tmp_path):
    now = [T0]
    store = SQLiteStore(tmp_path / "p.db", anonymous_ttl=30 * DAY, clock=lambda: now[0])
    pz = Personalizer(store=store, clock=lambda: now[0], strict=True)
    pz.track("old", "Page Viewed")
    pz.track("gone-customer", "Page Viewed")
    pz.identify("gone-customer", user_id="u-1")
    now[0] += 31 * DAY
    assert store.expire() == 1
    assert store.load("v:old") is None
    assert store.load("u:u-1") is not None
    pz.track("old-again", "Page Viewed")
    now[0] += 31 * DAY
    pz.track("recent", "Page Viewed")  # the store expires by itself, on a write, hourly
    assert store.load("v:old-again") is None
    assert store.load("v:recent") is not None


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="busy_timeout"):
        SQLiteStore(":memory:", busy_timeout=0)
    with pytest.raises(ConfigError, match="anonymous_ttl"):
        SQLiteStore(":memory:", anonymous_ttl=-1)


def test_a_closed_store_is_unavailable(tmp_path):
    store = SQLiteStore(tmp_path / "p.db")
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.load("v:v1")


def test_forget_erases_a_profile_it_cannot_read(tmp_path, caplog):
    # Decoded inside the delete's transaction, the error rolled the delete back: that
    # customer could never be forgotten.
    path = tmp_path / "p.db"
    pz = Personalizer(store=SQLiteStore(path), strict=True)
    for visitor in ("laptop", "phone"):
        pz.track(visitor, "Page Viewed")
        pz.identify(visitor, user_id="u-1")
    pz.track("stranger", "Page Viewed")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE profiles SET data = x'c1c1' WHERE key = 'u:u-1'")
    with caplog.at_level("WARNING", logger="personalize_sdk.sqlite"):
        pz.forget("u-1")
    assert "erased the stored profile 'u:u-1'" in caplog.text
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT key FROM profiles").fetchall() == [("v:stranger",)]
        assert db.execute("SELECT * FROM links").fetchall() == []
    pz.forget("u-1")  # nothing left: harmless
