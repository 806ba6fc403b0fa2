"""`FileConfigSource` and ``watch=True``: a changed file switches a live Personalizer."""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path

import pytest

from personalize_sdk import Config, ConfigError, Personalizer
from personalize_sdk.config_file import FileConfigSource
from tests.config_sources.support import HOME, INVALID, NOTHING, sale, wait_until


def replace(path: Path, text: str) -> None:
    """Write next to the file and rename over it, as a deploy should."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text, encoding="utf-8")
    os.replace(fresh, path)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "personalize.toml"
    path.write_text(NOTHING, encoding="utf-8")
    return path


def test_a_changed_file_switches_a_campaign_on_within_two_seconds(path):
    with Personalizer.from_file(path, watch=True) as pz:
        assert pz.render("v1", HOME) == ""
        replace(path, sale())
        took = wait_until(lambda: "Flash sale on" in pz.render("v1", HOME), timeout=3.0)
        assert took < 2.0  # polled every second by default
        assert pz.stats()["config.file.applied"] == 1
        assert pz.config_generation == 2


def test_a_file_written_in_place_is_seen_too(path):
    source = FileConfigSource(path, interval=0.02)
    with Personalizer(path, config_sources=[source]) as pz:
        path.write_text(sale("Written in place"), encoding="utf-8")
        wait_until(lambda: "Written in place" in pz.render("v1", HOME))


def test_an_invalid_file_keeps_the_old_config_and_logs_the_config_error(path, caplog):
    source = FileConfigSource(path, interval=3600)  # polled by hand below
    replace(path, sale())
    with Personalizer(path, config_sources=[source]) as pz:
        replace(path, INVALID)
        with caplog.at_level(logging.ERROR, logger="personalize_sdk"):
            assert source.poll() is False
            assert source.poll() is False  # the same broken file: not tried (or logged) again
        [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
        message = record.getMessage()
        assert str(path) in message and "campaign 'broken'.kind" in message
        assert "hologram" in message and "kept" in message
        assert "Flash sale on" in pz.render("v1", HOME)
        assert pz.config_generation == 1
        assert pz.stats()["config.file.rejected"] == 1

        replace(path, sale("Fixed"))
        assert source.poll() is True
        assert "Fixed" in pz.render("v1", HOME)


@pytest.mark.parametrize("empty", ["", "\n  \n", "# being rewritten\n"])
def test_a_file_caught_empty_mid_write_keeps_the_campaigns(path, caplog, empty):
    # `>` (or an editor) truncates the file before it writes: a poll in between sees nothing.
    source = FileConfigSource(path, interval=3600)
    replace(path, sale())
    with Personalizer(path, config_sources=[source]) as pz:
        path.write_text(empty, encoding="utf-8")
        with caplog.at_level(logging.ERROR, logger="personalize_sdk"):
            assert source.poll() is False
        [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "empty" in record.getMessage() and "campaigns = []" in record.getMessage()
        assert "Flash sale on" in pz.render("v1", HOME)
        assert pz.stats()["config.file.rejected"] == 1
        path.write_text(sale(), encoding="utf-8")  # the write completes: the same config
        assert source.poll() is True
        assert "Flash sale on" in pz.render("v1", HOME)


def test_campaigns_are_removed_by_saying_so(path):
    source = FileConfigSource(path, interval=3600)
    replace(path, sale())
    with Personalizer(path, config_sources=[source]) as pz:
        replace(path, "campaigns = []\n")
        assert source.poll() is True
        assert pz.render("v1", HOME) == ""


def test_an_empty_file_at_start_is_the_defaults(tmp_path):
    path = tmp_path / "personalize.toml"
    path.write_text("", encoding="utf-8")
    with Personalizer.from_file(path) as pz:  # a shop starting out: nothing configured yet
        assert pz.render("v1", HOME) == ""


def test_a_missing_file_is_a_fault_logged_once_and_recovers(path, caplog):
    source = FileConfigSource(path, interval=3600)
    with Personalizer(path, config_sources=[source]) as pz, caplog.at_level(logging.WARNING):
        path.unlink()
        for _ in range(3):
            assert source.poll() is False
        faults = [r for r in caplog.records if "unreadable" in r.getMessage()]
        assert len(faults) == 1 and str(path) in faults[0].getMessage()
        assert pz.stats()["config.file.faults.unreadable"] == 3
        replace(path, sale())
        assert source.poll() is True
        assert any("works again" in r.getMessage() for r in caplog.records)
        assert "Flash sale on" in pz.render("v1", HOME)


def test_the_same_text_again_is_not_applied_again(path):
    source = FileConfigSource(path, interval=3600)
    with Personalizer(path, config_sources=[source]) as pz:
        replace(path, sale())
        assert source.poll() is True
        replace(path, sale())  # a new inode, the same text: the segment cache stays warm
        assert source.poll() is False
        assert pz.config_generation == 2
        assert pz.stats()["config.file.unchanged"] == 1


def test_a_json_file_is_read_as_json(tmp_path):
    path = tmp_path / "personalize.json"
    path.write_text("{}", encoding="utf-8")
    source = FileConfigSource(path, interval=3600)
    with Personalizer(Config(), config_sources=[source]) as pz:
        replace(path, '{"campaigns": [{"id": "j", "kind": "hello_bar", "text": "From JSON"}]}')
        assert source.poll() is True
        assert "From JSON" in pz.render("v1", HOME)


def test_watch_needs_a_path():
    with pytest.raises(ConfigError, match="file path"):
        Personalizer(Config(), watch=True)


def test_close_stops_the_watcher(path):
    pz = Personalizer(path, watch=True)
    [source] = pz.config_sources
    assert source.running
    pz.close()
    assert not source.running


def test_the_watcher_ends_by_itself_once_its_personalizer_is_gone(path):
    source = FileConfigSource(path, interval=0.01)
    Personalizer(path, config_sources=[source])  # never closed, dropped at once
    gc.collect()
    wait_until(lambda: not source.running, timeout=2.0)
