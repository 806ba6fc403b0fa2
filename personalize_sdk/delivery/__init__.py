"""The delivery pipeline shared by every forwarder: `Outbox` (one per Personalizer, one thread
per process), `Lane` (one forwarder's queue and sender), `Spool` (its on-disk buffer)."""

from __future__ import annotations

from .lane import Lane
from .outbox import Outbox
from .spool import Spool

__all__ = ["Lane", "Outbox", "Spool"]
