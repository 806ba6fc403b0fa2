"""A store from a URL, wherever a store is configured (``Personalizer(store="...")``, the
integrations' ``store`` setting):

    memory://                        the embedded default (`MemoryStore`)
    sqlite:///relative/path.db       `SQLiteStore` (four slashes for an absolute path:
    sqlite:////var/lib/shop/pz.db     sqlite:////var/...)
    redis://host:6379/0              `RedisStore` (also rediss:// and unix:///path?db=0)
    redis+cluster://host:7000        `RedisStore` on a Redis Cluster, from one of its nodes
                                     (also rediss+cluster://)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ._exceptions import ConfigError
from .store import Store


def open_store(url: str, **options: Any) -> Store:
    """The store `url` names, built with `options` (the store's own keyword arguments)."""
    if not isinstance(url, str):
        raise ConfigError(f"expected a store URL, got {type(url).__name__}", field="store")
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as error:  # "redis://[::1" and the like
        raise ConfigError(f"not a store URL: {url!r} ({error})", field="store") from None
    if scheme == "memory":
        from .memory_store import MemoryStore

        return MemoryStore(**options)
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else ""
        if not path:
            raise ConfigError(f"expected sqlite:///path/to.db, got {url!r}", field="store")
        from .sqlite_store import SQLiteStore

        return SQLiteStore(path, **options)
    if scheme in ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster"):
        from .redis_store import RedisStore

        return RedisStore(url, **options)
    raise ConfigError(
        f"unknown store URL {url!r} (memory://, sqlite:///path, redis://, rediss://, "
        "unix://, redis+cluster://)",
        field="store",
    )
