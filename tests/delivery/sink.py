"""A real HTTP server on 127.0.0.1 that receives forwarded batches, and misbehaves on cue.

`Sink.script` is a list of faults answered in order, one per request, before it answers 200:
    ("status", 503, {"Retry-After": "1"})   answer that status and headers
    ("slow", 2.0)                           wait that long, then answer 200 (past a timeout)
    ("reset",)                              drop the connection without an answer
A `poison` message id makes any batch holding it a 400 (a destination refusing one event).
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgpack


class Sink:
    def __init__(self) -> None:
        self.script: list[tuple[Any, ...]] = []
        self.poison: set[str] = set()
        self.batches: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink.lock:
                    fault = sink.script.pop(0) if sink.script else None
                    sink.requests.append({"path": self.path, "headers": dict(self.headers)})
                if fault is not None:
                    if fault[0] == "reset":
                        self.connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        self.connection.close()
                        self.close_connection = True
                        return
                    if fault[0] == "status":
                        self._answer(fault[1], fault[2] if len(fault) > 2 else {})
                        return
                    if fault[0] == "slow":
                        time.sleep(fault[1])
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.headers.get("Content-Type") == "application/msgpack":
                    payload = msgpack.unpackb(body)
                else:
                    payload = json.loads(body)
                ids = {message.get("messageId") for message in payload["batch"]}
                if ids & sink.poison:
                    self._answer(400, {})
                    return
                with sink.lock:
                    sink.batches.append(
                        {"payload": payload, "headers": dict(self.headers), "path": self.path}
                    )
                self._answer(200, {})

            def _answer(self, status: int, headers: dict[str, str]) -> None:
                data = b'{"success": true}' if status == 200 else b'{"error": "no"}'
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and left: expected here, not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [m for batch in self.batches for m in batch["payload"]["batch"]]

    def message_ids(self) -> list[str]:
        return [m["messageId"] for m in self.messages]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
