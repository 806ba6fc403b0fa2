"""The Segment-compatible collector: `Collector(pz)` is an ASGI app; `personalize collect`
serves one with uvicorn. See docs/collector.md."""

from __future__ import annotations

from .app import Collector

__all__ = ["Collector"]
