"""Command line: `python -m benchmarks` runs every benchmark, `python -m benchmarks track` one."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from collections.abc import Sequence

from . import BENCHMARKS, MODULES


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all, in that order)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the workload: a smoke run, not figures"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r} (choose from {', '.join(BENCHMARKS)})")
    names = args.names or list(BENCHMARKS)
    quick = " (quick: a smoke run, figures not representative)" if args.quick else ""
    print(
        f"personalize-sdk benchmarks: Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs{quick}"
    )
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"{__package__}.{MODULES.get(name, name)}")
        module.run(quick=args.quick)
    print(f"\ndone in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
