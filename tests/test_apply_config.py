"""`Personalizer.apply_config`: a live Personalizer switches config atomically, from any thread."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from personalize_sdk import ConfigError, Page, Personalizer

HOME = Page(type="home", path="/")
EVERYONE = {"visitor_id": {"$exists": True}}


def flavour(name: str) -> dict[str, Any]:
    """A config whose only campaign targets a custom segment of the same config: a call that
    mixed one config's segments with another's campaigns would show nothing."""
    return {
        "segments": [{"name": f"seg-{name}", "condition": EVERYONE}],
        "campaigns": [
            {
                "id": f"bar-{name}",
                "kind": "hello_bar",
                "text": f"Flavour {name}",
                "audience": {"segments_any": [f"seg-{name}"]},
            }
        ],
    }


def test_a_new_config_switches_campaigns_on(clock):
    pz = Personalizer(clock=clock, strict=True)
    assert pz.render("v1", HOME) == ""
    assert pz.config_generation == 1
    assert pz.apply_config(flavour("a")) == 2
    assert "Flavour a" in pz.render("v1", HOME)
    assert pz.config.campaigns[0].id == "bar-a"
    assert pz.stats()["config.applied"] == 1


def test_segments_cached_under_the_old_config_are_not_served(clock):
    pz = Personalizer(flavour("a"), clock=clock, strict=True)
    pz.track("v1", "Page Viewed")
    assert "seg-a" in pz.segments("v1")  # now cached for this very profile
    pz.apply_config(flavour("b"))
    assert "seg-b" in pz.segments("v1") and "seg-a" not in pz.segments("v1")
    assert "Flavour b" in pz.render("v1", HOME)


def test_an_invalid_config_raises_and_changes_nothing(clock):
    pz = Personalizer(flavour("a"), clock=clock, strict=True)
    bad = flavour("b")
    bad["campaigns"][0]["kind"] = "hologram"
    with pytest.raises(ConfigError) as raised:
        pz.apply_config(bad)
    assert raised.value.field == "campaign 'bar-b'.kind"
    assert pz.config_generation == 1
    assert "Flavour a" in pz.render("v1", HOME)


def test_a_toml_path_is_accepted(tmp_path, clock):
    path = tmp_path / "personalize.toml"
    path.write_text('[[campaigns]]\nid = "sale"\nkind = "hello_bar"\ntext = "Sale on"\n')
    pz = Personalizer(clock=clock, strict=True)
    pz.apply_config(path)
    assert "Sale on" in pz.render("v1", HOME)
    assert pz.config.source == str(path)


def test_popularity_counters_and_profiles_outlive_a_config_change(clock):
    recommend = {
        "campaigns": [{"id": "best", "kind": "recommendations", "strategy": "category_bestsellers"}]
    }
    pz = Personalizer(recommend, clock=clock, strict=True)
    feed = pz.popularity
    assert feed is not None
    pz.track("v1", "Product Viewed", {"product_id": "sku-1", "category": "watches"})
    pz.apply_config(flavour("a"))
    assert pz.popularity is None  # no campaign recommends: nothing is counted meanwhile
    pz.apply_config(recommend)
    assert pz.popularity is feed
    assert pz.profile("v1").recently_viewed == ("sku-1",)


SWAPS = 60


def test_calls_in_flight_see_one_config_or_the_other_never_a_mix(clock):
    pz = Personalizer(flavour("a"), clock=clock, strict=True)
    configs = [flavour("a"), flavour("b")]
    stop = threading.Event()
    seen: set[str] = set()
    failures: list[BaseException] = []

    def render_in_a_loop(visitor: str) -> None:
        try:
            while not stop.is_set():
                html = pz.render(visitor, HOME)
                seen.add("a" if "Flavour a" in html else "b" if "Flavour b" in html else html)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)

    threads = [threading.Thread(target=render_in_a_loop, args=(f"v{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    # A number of swaps, not a time: with three threads rendering, the GIL gives this one a
    # quarter of the time at best, and far less on a loaded machine; and on one, the swaps can
    # all run before a renderer is scheduled once, so they go on until both were rendered.
    deadline = time.monotonic() + 30.0
    swaps = 0
    while (swaps < SWAPS or len(seen) < 2) and time.monotonic() < deadline:
        pz.apply_config(configs[swaps % 2])
        swaps += 1
        time.sleep(0)  # let a renderer run between two swaps
    stop.set()
    for thread in threads:
        thread.join()
    assert not failures
    assert seen == {"a", "b"}  # never "": a mix of the two configs shows nothing
    assert swaps >= SWAPS
    assert pz.config_generation == swaps + 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_child_forked_during_a_swap_swaps_configs_all_the_same(clock):
    pz = Personalizer(flavour("a"), clock=clock, strict=True)
    with pz._swap_lock:  # a config source's thread in the middle of a swap, as the fork comes
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports by its exit status
            done = threading.Event()
            threading.Thread(
                target=lambda: (pz.apply_config(flavour("b")), done.set()), daemon=True
            ).start()
            os._exit(0 if done.wait(5.0) else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
