"""One contender of the `instructions` benchmark, run under callgrind by `instructions.py`.

    python -m benchmarks._instructions_child CONTENDER WARM CALLS [FOLDER]

Builds the contender (``null``, ``ours``, ``forwarding``: ours with a `segment` forwarder,
``segment`` or ``posthog``; the forwarder and the peers send to a sink in this process), makes
WARM untimed calls of the `track` mix, then CALLS more, and leaves at once (`os._exit`): no
flush or shutdown adds instructions to the main thread after the calls. The forwarder spools
under FOLDER (the caller's temporary folder), else under a new temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence

from personalize_sdk import Personalizer
from personalize_sdk.delivery_config import DeliverySettings
from personalize_sdk.forwarders import SegmentForwarder

from . import peers
from .peers import Call, Contender, SinkServer
from .workload import make_catalog, track_mix

VISITORS = 300
"""About 2,600 events: enough for the warm-up and the counted calls."""


def _null() -> Contender:
    return Contender("null", peers.positional_loop(lambda visitor_id, event, properties: None))


def _forwarding(sink: SinkServer, folder: str | None = None) -> Personalizer:
    """The delivery benchmark's caller: a `segment` forwarder to the sink, a spool of its own."""
    spool = tempfile.mkdtemp(prefix="pz-instructions-spool-", dir=folder)
    return Personalizer(
        forwarders=[SegmentForwarder("bench-write-key", host=sink.url)],
        delivery=DeliverySettings(spool_dir=spool),
    )


def main(argv: Sequence[str]) -> int:
    name, warm, count = argv[0], int(argv[1]), int(argv[2])
    folder = argv[3] if len(argv) > 3 else None
    peers.guard_loopback()
    mix = track_mix(make_catalog(), VISITORS)
    calls: list[Call] = [(c.visitor_id, c.event, c.properties) for c in mix]
    if warm + count > len(calls):
        raise SystemExit(f"the mix has {len(calls)} events, fewer than {warm + count}")
    sink = SinkServer().start()
    contender = {
        "null": _null,
        "ours": lambda: peers.ours(Personalizer()),
        "forwarding": lambda: peers.ours(_forwarding(sink, folder)),
        "segment": lambda: peers.segment(sink),
        "posthog": lambda: peers.posthog(sink),
    }[name]()
    stamps = [0] * (len(calls) + 1)
    contender.run(calls[:warm], stamps)
    contender.run(calls[warm : warm + count], stamps)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
