"""`UrlConfigSource` against a real HTTP server on 127.0.0.1: ETag and 304, 500s, garbage,
timeouts, recovery."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from personalize_sdk import Personalizer
from personalize_sdk.config_url import UrlConfigSource
from tests.config_sources.support import HOME, INVALID, NOTHING, sale, wait_until


class ConfigServer:
    """Serves `body` with an ETag of its digest, answering If-None-Match with 304; `status`
    other than 200 answers that instead; `delay` holds every answer back."""

    def __init__(self) -> None:
        self.body = NOTHING.encode()
        self.content_type = "application/toml"
        self.status = 200
        self.delay = 0.0
        self.drip = 0.0
        """Seconds between the bytes of a 200's body (a server trickling it out)."""
        self.etag: str | None = None
        """Sent in place of the body's digest (the bytes of its UTF-8, as a server may)."""
        self.etags = True
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append({"path": self.path, **self.headers})
                time.sleep(server.delay)
                etag = server.etag or '"' + hashlib.sha256(server.body).hexdigest()[:12] + '"'
                if server.status != 200:
                    self.send_response(server.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif server.etags and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", server.content_type)
                    self.send_header("Content-Length", str(len(server.body)))
                    if server.etags:  # latin-1 on the wire: these are the UTF-8 bytes
                        self.send_header("ETag", etag.encode().decode("latin-1"))
                    self.end_headers()
                    if not server.drip:
                        self.wfile.write(server.body)
                    for byte in server.body if server.drip else b"":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(server.drip)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/personalize.toml"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ConfigServer]:
    server = ConfigServer()
    yield server
    server.close()


def watching(server: ConfigServer, **options: float) -> tuple[Personalizer, UrlConfigSource]:
    source = UrlConfigSource(server.url, **{"interval": 0.02, "max_backoff": 0.1, **options})
    return Personalizer(config_sources=[source]), source


def test_the_config_url_switches_a_campaign_on(server):
    server.body = sale().encode()
    with Personalizer(config_url=server.url) as pz:  # polled at once, then every 10 s
        took = wait_until(lambda: "Flash sale on" in pz.render("v1", HOME))
        assert took < 2.0
        assert pz.stats()["config.url.applied"] == 1


def test_the_etag_is_sent_back_and_a_304_keeps_the_config(server):
    server.body = sale().encode()
    pz, source = watching(server)
    with pz:
        wait_until(lambda: pz.stats().get("config.url.not_modified", 0) >= 3)
        first, *later = server.requests[:4]
        assert "If-None-Match" not in first
        assert all(request["If-None-Match"] == source.etag for request in later)
        assert source.etag is not None and source.etag.startswith('"')
        assert pz.config_generation == 2  # applied once, not at every poll
        assert pz.stats()["config.url.fetched"] == 1

        server.body = sale("Second sale").encode()  # a new ETag: fetched and applied
        wait_until(lambda: "Second sale" in pz.render("v1", HOME))
        assert pz.config_generation == 3


def test_an_empty_answer_keeps_the_campaigns(server, caplog):
    # A proxy or a half-finished upload answering 200 with nothing is not "no campaigns".
    server.body = sale().encode()
    pz, _ = watching(server)
    with pz, caplog.at_level(logging.ERROR, logger="personalize_sdk"):
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME))
        server.body = b""
        wait_until(lambda: pz.stats().get("config.url.rejected", 0) >= 1)
        server.content_type = "application/json"
        server.body = b"{}"
        wait_until(lambda: pz.stats().get("config.url.rejected", 0) >= 2)
        assert "Flash sale on" in pz.render("v1", HOME)
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 2 and all("empty" in e and server.url in e for e in errors)
        assert pz.config_generation == 2


def test_500s_and_garbage_keep_the_config_are_logged_once_and_it_recovers(server, caplog):
    server.body = sale().encode()
    pz, _ = watching(server)
    with pz, caplog.at_level(logging.WARNING, logger="personalize_sdk"):
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME))

        server.status = 500
        wait_until(lambda: pz.stats().get("config.url.faults.http_500", 0) >= 3)
        assert "Flash sale on" in pz.render("v1", HOME)
        outage = [r for r in caplog.records if "http_500" in r.getMessage()]
        assert len(outage) == 1 and "500" in outage[0].getMessage()

        server.status = 200
        server.body = b"[[campaigns]\nthis is not TOML"
        wait_until(lambda: pz.stats().get("config.url.rejected", 0) >= 1)
        server.body = INVALID.encode()
        wait_until(lambda: pz.stats().get("config.url.rejected", 0) >= 2)
        wait_until(lambda: pz.stats().get("config.url.not_modified", 0) >= 2)
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 2  # each bad version once, though polled again and again
        assert "not valid TOML" in errors[0] and server.url in errors[0]
        assert "campaign 'broken'.kind" in errors[1]
        assert "Flash sale on" in pz.render("v1", HOME)
        assert any("works again" in r.getMessage() for r in caplog.records)

        server.body = sale("Back to normal").encode()
        wait_until(lambda: "Back to normal" in pz.render("v1", HOME))


def test_failures_back_off(server):
    server.status = 503
    pz, _ = watching(server, interval=0.01, max_backoff=0.16)
    with pz:
        time.sleep(0.6)
    # without a backoff: about 60 requests; with it 0.01, 0.02, 0.04, 0.08, 0.16, 0.16 ...
    assert 3 <= len(server.requests) <= 12
    assert pz.stats()["config.url.faults.http_503"] == len(server.requests)


def test_a_server_that_is_down_or_too_slow_is_a_network_fault(server, caplog):
    server.delay = 0.5
    pz, _ = watching(server, timeout=0.05)
    with pz, caplog.at_level(logging.WARNING, logger="personalize_sdk"):
        wait_until(lambda: pz.stats().get("config.url.faults.network", 0) >= 2)
        assert len([r for r in caplog.records if "network" in r.getMessage()]) == 1
        server.delay = 0.0
        server.body = sale().encode()
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME))

    closed = UrlConfigSource("http://127.0.0.1:9/personalize.toml", interval=0.02)
    with Personalizer(config_sources=[closed]) as pz:
        wait_until(lambda: pz.stats().get("config.url.faults.network", 0) >= 1)
        assert pz.render("v1", HOME) == ""


def test_json_by_content_type_or_suffix(server):
    server.body = b'{"campaigns": [{"id": "j", "kind": "hello_bar", "text": "From JSON"}]}'
    server.content_type = "application/json; charset=utf-8"
    pz, _ = watching(server)
    with pz:
        wait_until(lambda: "From JSON" in pz.render("v1", HOME))

    server.content_type = "application/octet-stream"
    source = UrlConfigSource(server.url.replace(".toml", ".json"), interval=0.02)
    with Personalizer(config_sources=[source]) as pz:
        wait_until(lambda: "From JSON" in pz.render("v1", HOME))


def test_without_etags_the_same_body_is_not_applied_again(server):
    server.etags = False
    server.body = sale().encode()
    pz, _ = watching(server)
    with pz:
        wait_until(lambda: pz.stats().get("config.url.unchanged", 0) >= 3)
        assert pz.config_generation == 2


def test_a_body_over_the_limit_is_refused(server):
    server.body = sale().encode() + b"#" * 2_000
    pz, _ = watching(server, max_bytes=1_000)
    with pz:
        wait_until(lambda: pz.stats().get("config.url.faults.too_large", 0) >= 1)
        assert pz.config_generation == 1


def test_an_etag_that_is_not_ascii_never_stops_the_polling(server):
    server.etag = '"café-1"'
    server.body = sale().encode()
    pz, _ = watching(server)
    with pz:
        wait_until(lambda: "Flash sale on" in pz.render("v1", HOME))
        server.body = sale("Second sale").encode()
        wait_until(lambda: "Second sale" in pz.render("v1", HOME))  # still polling
        assert all("If-None-Match" not in request for request in server.requests)


def test_a_body_trickling_past_the_timeout_is_a_network_fault_and_close_is_prompt(server):
    server.body = sale().encode()
    server.drip = 0.05  # the body takes seconds; each byte comes well within the timeout
    pz, source = watching(server, timeout=0.5)
    with pz:
        wait_until(lambda: pz.stats().get("config.url.faults.network", 0) >= 1)
        assert pz.render("v1", HOME) == ""
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 1.5
