"""Config over the real Redis: `publish_config` switches every process within a second."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from personalize_sdk import ConfigError, Personalizer
from tests.config_sources.support import HOME, INVALID, NOTHING, sale, wait_until
from tests.stores.conftest import REDIS_URL, redis_client

redis = pytest.importorskip("redis")
from personalize_sdk.config_file import FileConfigSource  # noqa: E402
from personalize_sdk.config_redis import RedisConfigSource, publish_config  # noqa: E402

pytestmark = pytest.mark.redis

PROCESSES = 4


def subscribed(pz: Personalizer, times: int = 1) -> bool:
    return pz.stats().get("config.redis.subscribed", 0) >= times


def test_a_publish_switches_a_live_personalizer(redis_prefix):
    channel = f"{redis_prefix}config"
    with Personalizer(config_redis=REDIS_URL, config_channel=channel) as pz:
        wait_until(lambda: subscribed(pz))
        assert pz.render("v1", HOME) == ""
        started = time.monotonic()
        assert publish_config(REDIS_URL, sale(), channel=channel) >= 1
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME), timeout=1.0)
        assert time.monotonic() - started < 1.0
        assert pz.stats()["config.redis.applied"] == 1


def test_a_client_that_decodes_responses_works_too(redis_prefix):
    channel = f"{redis_prefix}config"
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    publish_config(client, sale(), channel=channel)
    with Personalizer(config_redis=client, config_channel=channel) as pz:
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME))


def test_an_invalid_config_is_refused_by_the_publisher(redis_prefix, tmp_path):
    channel = f"{redis_prefix}config"
    with pytest.raises(ConfigError, match=r"campaign 'broken'\.kind"):
        publish_config(REDIS_URL, INVALID, channel=channel)
    path = tmp_path / "broken.toml"
    path.write_text(INVALID, encoding="utf-8")
    with pytest.raises(ConfigError, match=str(path)):
        publish_config(REDIS_URL, path, channel=channel)
    assert not redis_client().exists(channel)


def test_an_empty_config_is_refused_by_the_publisher_and_by_every_listener(redis_prefix):
    channel = f"{redis_prefix}config"
    for empty in ("", "  \n# nothing yet\n"):
        with pytest.raises(ConfigError, match="empty"):
            publish_config(REDIS_URL, empty, channel=channel)
    assert not redis_client().exists(channel)
    client = redis_client()
    with Personalizer(config_redis=client, config_channel=channel) as pz:
        wait_until(lambda: subscribed(pz))
        publish_config(client, sale(), channel=channel)
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME))
        client.hset(channel, mapping={"text": "", "format": "toml", "version": "empty1"})
        client.publish(channel, "empty1")
        wait_until(lambda: pz.stats().get("config.redis.rejected", 0) == 1)
        assert "Flash sale on" in pz.render("v1", HOME)
        publish_config(client, "campaigns = []", channel=channel)  # said so: removed
        wait_until(lambda: pz.render("v1", HOME) == "")


def test_an_invalid_config_stored_anyway_is_rejected_by_every_listener(redis_prefix, caplog):
    channel = f"{redis_prefix}config"
    client = redis_client()
    with Personalizer(config_redis=client, config_channel=channel) as pz:
        wait_until(lambda: subscribed(pz))
        publish_config(client, sale(), channel=channel)
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME))
        with caplog.at_level(logging.ERROR, logger="personalize_sdk"):
            # An older publisher, or a hand-written HSET: the listener checks for itself.
            client.hset(channel, mapping={"text": INVALID, "format": "toml", "version": "bad1"})
            client.publish(channel, "bad1")
            wait_until(lambda: pz.stats().get("config.redis.rejected", 0) == 1)
        [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "campaign 'broken'.kind" in record.getMessage()
        assert channel in record.getMessage()
        assert "Flash sale on" in pz.render("v1", HOME)


def test_a_process_that_starts_later_gets_the_latest_config(redis_prefix, tmp_path):
    channel = f"{redis_prefix}config"
    path = tmp_path / "personalize.json"
    path.write_text('{"campaigns": [{"id": "j", "kind": "hello_bar", "text": "JSON sale"}]}')
    publish_config(REDIS_URL, sale("Old sale"), channel=channel)
    publish_config(REDIS_URL, path, channel=channel)
    with Personalizer(config_redis=REDIS_URL, config_channel=channel) as pz:
        wait_until(lambda: "JSON sale" in pz.render("v1", HOME))
        assert pz.config_generation == 2


def test_the_listener_reconnects_by_itself_and_catches_up(redis_prefix, caplog):
    channel = f"{redis_prefix}config"
    name = f"{redis_prefix}listener".replace(":", "-")
    client = redis.Redis.from_url(REDIS_URL, client_name=name, socket_timeout=2)
    with (
        Personalizer(config_redis=client, config_channel=channel) as pz,
        caplog.at_level(logging.WARNING, logger="personalize_sdk"),
    ):
        wait_until(lambda: subscribed(pz))
        admin = redis_client()
        # Past its first read of the stored config: what follows can only come by a notice, or
        # by the read after a new subscription.
        publish_config(admin, sale("Before the drop"), channel=channel)
        wait_until(lambda: "Before the drop" in pz.render("v1", HOME), timeout=5.0)
        for entry in admin.client_list():
            if entry["name"] == name and int(entry.get("sub", 0)):
                admin.client_kill_filter(_id=entry["id"])
        publish_config(admin, sale("Published while away"), channel=channel)
        wait_until(lambda: "Published while away" in pz.render("v1", HOME), timeout=5.0)
        assert subscribed(pz, 2)
        assert pz.stats()["config.redis.faults.unreachable"] >= 1
        messages = [r.getMessage() for r in caplog.records]
        assert len([m for m in messages if "failed (unreachable)" in m]) == 1
        assert any("works again" in m for m in messages)


def test_no_redis_is_a_fault_counted_and_logged_once(caplog):
    with caplog.at_level(logging.WARNING, logger="personalize_sdk"):
        source = RedisConfigSource("redis://127.0.0.1:9/0")
        with Personalizer(config_sources=[source]) as pz:
            wait_until(lambda: pz.stats().get("config.redis.faults.unreachable", 0) >= 2)
            assert pz.render("v1", HOME) == ""
    assert len([r for r in caplog.records if "failed (unreachable)" in r.getMessage()]) == 1


def test_the_publish_command(redis_prefix, tmp_path, capsys):
    from personalize_sdk.cli import main

    channel = f"{redis_prefix}config"
    path = tmp_path / "personalize.toml"
    path.write_text(INVALID, encoding="utf-8")
    assert main(["publish", str(path), "--redis", REDIS_URL, "--channel", channel]) == 1
    assert "nothing published" in capsys.readouterr().err
    with Personalizer(config_redis=REDIS_URL, config_channel=channel) as pz:
        wait_until(lambda: subscribed(pz))
        path.write_text(sale(), encoding="utf-8")
        assert main(["publish", str(path), "--redis", REDIS_URL, "--channel", channel]) == 0
        assert "published (processes listening: 1)" in capsys.readouterr().out
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME), timeout=1.0)
    assert main(["publish", str(path), "--redis", "redis://127.0.0.1:9/0"]) == 1
    assert "cannot publish" in capsys.readouterr().err
    assert main(["publish", str(path), "--redis", "rediz://127.0.0.1/0"]) == 1
    said = capsys.readouterr().err
    assert "bad Redis URL 'rediz://127.0.0.1/0'" in said and "invalid config" not in said


# -- many processes -------------------------------------------------------------------------


def _listening_process(channel: str, ready, switched) -> None:
    """A server process of its own: wait for the published sale, report when it was seen."""
    pz = Personalizer(config_redis=REDIS_URL, config_channel=channel)
    wait_until(lambda: subscribed(pz), timeout=20.0)
    ready.put(os.getpid())
    _report_switch(pz, switched)


def _report_switch(pz: Personalizer, switched) -> None:
    generation = pz.config_generation
    deadline = time.time() + 20.0
    while pz.config_generation == generation and time.time() < deadline:
        time.sleep(0.001)
    seen = time.time()
    switched.put((os.getpid(), seen, "Flash sale on" in pz.render("v1", HOME)))
    pz.close()


def _switch_times(processes, ready, switched, channel: str) -> list[float]:
    for _ in processes:
        ready.get(timeout=60)
    published = time.time()
    publish_config(REDIS_URL, sale(), channel=channel)
    reports = [switched.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(10)
        assert process.exitcode == 0
    assert all(shows_sale for _, _, shows_sale in reports)
    return sorted(seen - published for _, seen, _ in reports)


def test_a_publish_switches_four_spawned_processes_within_a_second(redis_prefix):
    channel = f"{redis_prefix}config"
    context = multiprocessing.get_context("spawn")
    ready, switched = context.Queue(), context.Queue()
    processes = [
        context.Process(target=_listening_process, args=(channel, ready, switched))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    times = _switch_times(processes, ready, switched, channel)
    print(f"switch times of {PROCESSES} spawned processes, s: {times}")
    assert len(times) == PROCESSES and max(times) < 1.0


def _forked_process(pz: Personalizer, ready, switched) -> None:
    # The parent's watcher threads do not survive a fork: the child must have its own.
    assert all(source.running for source in pz.config_sources)
    wait_until(lambda: subscribed(pz, 2), timeout=20.0)  # the parent's count, plus this one
    ready.put(os.getpid())
    _report_switch(pz, switched)


def test_forked_children_restart_their_watchers_and_switch_within_a_second(
    redis_prefix, tmp_path: Path
):
    channel = f"{redis_prefix}config"
    path = tmp_path / "personalize.toml"
    path.write_text(NOTHING, encoding="utf-8")
    sources = [FileConfigSource(path), RedisConfigSource(REDIS_URL, channel=channel)]
    with Personalizer(path, config_sources=sources) as parent:
        wait_until(lambda: subscribed(parent))  # threads running before the fork
        context = multiprocessing.get_context("fork")
        ready, switched = context.Queue(), context.Queue()
        processes = [
            context.Process(target=_forked_process, args=(parent, ready, switched))
            for _ in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        times = _switch_times(processes, ready, switched, channel)
        print(f"switch times of {PROCESSES} forked processes, s: {times}")
        assert len(times) == PROCESSES and max(times) < 1.0
        wait_until(lambda: "Flash sale on" in parent.render("v1", HOME), timeout=1.0)
