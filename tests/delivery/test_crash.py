"""A process killed with SIGKILL mid-stream: what reached its disk spool is delivered after
the next start, once, by whichever process starts next with that forwarder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from personalize_sdk import Personalizer
from personalize_sdk.delivery_config import DeliverySettings
from personalize_sdk.forwarders import SegmentForwarder

from .sink import Sink

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _run_and_kill(spool: Path, memory_bytes: int, rounds: int) -> tuple[list[str], int]:
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("killed_child.py")),
            str(spool),
            str(memory_bytes),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    tracked: list[str] = []
    spilled = 0
    try:
        assert child.stdout is not None
        for _ in range(rounds):
            line = child.stdout.readline()
            assert line, "the child stopped early"
            report = json.loads(line)
            tracked.extend(report["ids"])
            spilled = report["spilled"]
        child.send_signal(signal.SIGKILL)  # mid-stream: it is tracking its next hundred
    finally:
        child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    return tracked, spilled


@pytest.mark.parametrize(
    ("memory_bytes", "everything"),
    [(0, True), (20_000, False)],
    ids=["write-ahead (memory_bytes=0)", "spilled past the memory bound"],
)
def test_after_a_sigkill_the_next_start_delivers_the_spool(tmp_path, memory_bytes, everything):
    spool = tmp_path / "spool"
    tracked, spilled = _run_and_kill(spool, memory_bytes, rounds=12)
    assert spilled > 0 and list((spool / "segment").glob("*.spool"))
    sink = Sink()
    try:
        pz = Personalizer(
            forwarders=[SegmentForwarder("k", host=sink.url)],
            delivery=DeliverySettings(spool_dir=spool),
        )
        assert pz.flush(15.0) is True
        pz.close()
        received = sink.message_ids()
    finally:
        sink.close()
    assert len(received) == len(set(received))  # once each
    assert set(received) <= set(tracked)  # only what the killed process tracked
    assert len(received) >= spilled  # everything that had reached the disk
    if everything:  # write-ahead: every event it had reported is on disk
        assert set(tracked) <= set(received)
    assert not list((spool / "segment").glob("*.spool"))
