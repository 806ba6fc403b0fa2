"""`memory`: the memory one stored profile of a typical shopper costs in the embedded store.

The shared event mix is replayed for `VISITORS` shoppers (2-4 visits, about 20-40 events each,
a third signing in) into one `Personalizer` with the default `MemoryStore`. The catalog and the
`Personalizer` exist before tracing starts: they are shared by all shoppers, as in a shop.
`tracemalloc` then traces the replay; each shopper's events are generated just before they are
replayed and dropped just after, so what remains traced, after a full collection, is what the
store keeps: profiles, their keys and the store's maps (plus a few shared, bounded caches).
That growth divided by the number of stored profiles is the figure.
"""

from __future__ import annotations

import gc
import linecache
import os
import time
import tracemalloc

from personalize_sdk import Personalizer

from .stats import header, verdict
from .workload import Identify, make_catalog, rejected, replay, shopper_histories

VISITORS = 10_000
TARGET_BYTES = 4 * 1024
TOP_SITES = 8


def run(quick: bool = False) -> None:
    visitors = VISITORS // 10 if quick else VISITORS
    print(header("memory: bytes per stored profile of a typical shopper (MemoryStore)"))
    catalog = make_catalog()
    pz = Personalizer()
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    before = tracemalloc.get_traced_memory()[0]
    events = signed_in = 0
    for steps in shopper_histories(catalog, visitors, seed=4):
        events += replay(pz, steps)
        signed_in += any(isinstance(step, Identify) for step in steps)
    del steps
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    profiles = len(pz.store)  # type: ignore[arg-type]
    print(
        f"  {visitors:,} shoppers ({signed_in:,} signed in), {events:,} events replayed "
        f"({events / visitors:.1f} per shopper) in {time.perf_counter() - started:.0f} s traced; "
        f"{profiles:,} profiles stored, {getattr(pz.store, 'evictions', 0)} evicted, "
        f"{rejected(pz)} events rejected"
    )
    per_profile = grown / profiles
    print(f"  traced growth: {grown / 2**20:.1f} MiB, {per_profile:,.0f} bytes per profile")
    _report_sites(snapshot, grown)
    print()
    print(
        verdict(
            f"memory per profile <= {TARGET_BYTES // 1024} KB",
            per_profile,
            TARGET_BYTES,
            f"{per_profile / 1024:.2f} KB",
        )
    )


def _report_sites(snapshot: tracemalloc.Snapshot, grown: int) -> None:
    """Where the retained memory was allocated: the biggest source lines."""
    print(f"  largest allocation sites still held (of {grown / 2**20:.1f} MiB):")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for stat in snapshot.statistics("lineno")[:TOP_SITES]:
        frame = stat.traceback[0]
        where = (
            os.path.relpath(frame.filename, root)
            if frame.filename.startswith(root)
            else frame.filename
        )
        code = linecache.getline(frame.filename, frame.lineno).strip()
        print(f"    {stat.size / 2**20:6.2f} MiB {stat.size / grown:6.1%}  {where}:{frame.lineno}")
        print(f"{'':<24}{code[:72]}")
