"""`instructions`: the CPU instructions one `track()` call costs, ours and the peers', counted.

Timings on a shared machine move by 30-50% from one minute to the next (and more from one day to
the next); the instructions a program executes do not. Each contender runs in a child process
under valgrind's callgrind, which counts every instruction per thread: a warm-up of the `track`
mix, then `CALLS` calls on the main thread. The same child with the warm-up alone gives the
baseline; the difference over `CALLS` is what one call costs the caller's thread (the peers'
background threads, which serialise and upload, are counted apart and left out).
``PYTHONHASHSEED=0`` makes two runs of one program execute the same instructions, so a change of
a few tenths of a percent in our count is a real change.

A count is not a time (a cache miss costs more than an add), but a ratio of counts between
contenders is the noise-free companion of `track`'s ratio of medians.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .stats import header, ratio

WARM = 600
"""Calls before the counted ones: every shape planned, every cache filled."""
CALLS = 1_500
CONTENDERS = ("null", "ours", "forwarding", "segment", "posthog")
LABELS = {
    "null": "the harness loop alone",
    "ours": "personalize-sdk",
    "forwarding": "personalize-sdk + segment fwd",
    "segment": "segment-analytics-python",
    "posthog": "posthog",
}
TARGET_PEER_RATIO = 0.25
_TOTALS = re.compile(rb"^totals: (\d+)", re.MULTILINE)


def run(quick: bool = False) -> None:
    warm, calls = (WARM // 5, CALLS // 5) if quick else (WARM, CALLS)
    print(header("instructions: instructions per track() call, counted by callgrind"))
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("  valgrind is not installed (Debian package `valgrind`; `make install`): skipped")
        return
    print(
        f"  the `track` mix: {warm:,} calls to warm up, then {calls:,} counted, each contender "
        "in a child process; per call: (warm-up and counted) minus (warm-up alone), main thread"
    )
    counts: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="pz-instructions-") as tmp:
        for name in CONTENDERS:
            base = _main_thread(valgrind, Path(tmp), name, warm, 0)
            full = _main_thread(valgrind, Path(tmp), name, warm, calls)
            counts[name] = (full - base) / calls
    loop = counts["null"]
    print(f"\n  {'instructions per call':<28}{'counted':>10}{'less the loop':>15}{'x ours':>8}")
    ours = counts["ours"] - loop
    for name in CONTENDERS:
        net = counts[name] - loop
        shown = "" if name == "null" else f"{net:>15,.0f}{net / ours:>8.2f}"
        print(f"  {LABELS[name]:<28}{counts[name]:>10,.0f}{shown}")
    fastest = min(("segment", "posthog"), key=counts.__getitem__)
    print(
        f"  ours/{fastest}: {ratio(ours, counts[fastest] - loop)} of the instructions "
        f"(the `track` benchmark's target asks <= {TARGET_PEER_RATIO:g} of the time)"
    )
    forwarding = counts["forwarding"] - loop
    print(
        f"  with a segment forwarder: {ratio(forwarding, counts['segment'] - loop)} of Segment's "
        f"(the `delivery` benchmark's target asks <= {TARGET_PEER_RATIO:g} of the time); the "
        f"forwarder adds {forwarding - ours:,.0f} instructions per call"
    )


def _main_thread(valgrind: str, tmp: Path, name: str, warm: int, calls: int) -> int:
    """Instructions of the main thread of one child run."""
    out = tmp / f"{name}-{calls}.out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [
        valgrind,
        "--tool=callgrind",
        "--separate-threads=yes",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "benchmarks._instructions_child",
        name,
        str(warm),
        str(calls),
        str(tmp),
    ]
    done = subprocess.run(command, env=env, capture_output=True, timeout=1800, check=False)
    main = tmp / f"{out.name}-01"
    found = _TOTALS.search(main.read_bytes()) if main.exists() else None
    for path in tmp.glob(f"{out.name}*"):
        path.unlink()
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{name}: the callgrind run failed: {done.stderr.decode()[-2000:]}")
    return int(found.group(1))
