"""Serve one of the example shops on a local address: ``personalize demo [--shop NAME]``.

Starlette and Django (its ASGI application) run under uvicorn; Flask under Werkzeug's threaded
server (Flask's own). Each prints its URL once the socket listens.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from typing import Any

SHOPS = ("starlette", "django", "flask")


def serve(shop: str, host: str, port: int, *, out: Callable[[str], Any] = print) -> int:
    """Serve `shop` on `host`:`port` (0 picks a free port) until interrupted."""
    if shop not in SHOPS:
        raise ValueError(f"unknown shop {shop!r} (one of {', '.join(SHOPS)})")
    # Bind first, so the URL printed is the one that answers.
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        print(f"personalize demo: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        return 1
    listener.listen(128)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{listener.getsockname()[1]}/"
    if shop == "flask":
        return _serve_flask(listener, url, out)
    import uvicorn

    app = _asgi_app(shop)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    out(f"personalize demo: the example {shop} shop is at {url} (Ctrl+C stops it)")
    server.run(sockets=[listener])
    return 0


def _asgi_app(shop: str) -> Any:
    if shop == "django":
        os.environ.setdefault(
            "DJANGO_SETTINGS_MODULE", "personalize_sdk.examples.django_shop.settings"
        )
        from .django_shop.asgi import application

        return application
    from .starlette_shop import create_app

    return create_app()


def _serve_flask(listener: socket.socket, url: str, out: Callable[[str], Any]) -> int:
    from werkzeug.serving import make_server

    from .flask_shop import create_app

    host, port = listener.getsockname()[:2]
    server = make_server(host, port, create_app(), threaded=True, fd=listener.fileno())
    out(f"personalize demo: the example flask shop is at {url} (Ctrl+C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
