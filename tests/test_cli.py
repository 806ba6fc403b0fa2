"""The `personalize` command: the example shop (demo), the scripted journey and config checking."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from personalize_sdk.cli import main


def test_journey_replays_the_journey_step_by_step_with_reasons(capsys):
    assert main(["journey"]) == 0
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert len(steps) == 12
    assert "buyer_intent: intent 0.65 at or above 0.5" in out
    assert "cart_abandoner: 1 items left in cart 45 minutes ago" in out
    assert "profile: customer cust-42 (Asha)" in out
    assert "gold_india: matches its condition" in out
    assert "at_risk: last order 100 days ago (90-180)" in out
    assert "dormant: last order 200 days ago (>= 180)" in out
    assert "\033[" not in out  # no colour codes when not on a terminal


def test_journey_shows_a_repeated_login_does_not_double_count(capsys):
    main(["journey"])
    out = capsys.readouterr().out
    blocks = out.split("\n\n")
    first, again = (
        next(b for b in blocks if marker in b)
        for marker in ("Comes back and signs in", "Signs in again")
    )
    strip = lambda block: block.split("\n", 1)[1].replace("51 minutes", "50 minutes")  # noqa: E731
    assert strip(first) == strip(again)


def test_check_accepts_a_good_config_and_names_the_problem_in_a_bad_one(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('[[segments]]\nname = "vip"\ncondition = { "orders.count" = { "$gte" = 3 } }\n')
    assert main(["check", str(good)]) == 0
    assert "ok (1 custom segments)" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[settings]\ndormant_days = -1\n")
    assert main(["check", str(bad)]) == 1
    assert f"{bad} settings.dormant_days: must be a finite number >= 1" in capsys.readouterr().err


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "personalize"
    assert shutil.which(str(script)), "the `personalize` console script is not installed"
    result = subprocess.run(
        [str(script), "journey"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "one shopper's journey" in result.stdout


def test_demo_serves_the_example_shop_and_prints_its_url():
    script = Path(sys.executable).parent / "personalize"
    with subprocess.Popen(
        [str(script), "demo", "--port", "0"], stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            line = server.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:\d+/", line)
            assert url, line
            page = httpx.get(url.group() + "p/sku-101", timeout=10)
            assert page.status_code == 200
            assert 'data-pz-widget="hello_bar"' in page.text
            assert "pz_vid=" in page.headers["set-cookie"]
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_demo_names_a_port_it_cannot_take(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["demo", "--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
