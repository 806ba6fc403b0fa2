"""Config sources against real things: files in tmp_path, an HTTP server on 127.0.0.1, and the
Redis server of the store tests (its fixture, `redis_prefix`, is shared from there)."""

from __future__ import annotations

from tests.stores.conftest import redis_prefix

__all__ = ["redis_prefix"]
