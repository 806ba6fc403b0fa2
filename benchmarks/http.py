"""`http`: the example shops' product page served over HTTP on 127.0.0.1, under a load
generator, with and without the SDK's middleware.

Each variant is a server process of its own, one worker, on a free port of 127.0.0.1:

- ``without``: the same shop without personalisation (no middleware, no widgets, nothing
  tracked; the views get a no-op handle, the templates' slots render nothing);
- ``two slots``: the middleware with a two-campaign config (`_http_apps.TWO_SLOTS`): a hello bar
  in ``top`` and the recently viewed strip, so a product page shows exactly two widgets;
- ``full file``: the middleware with the example's own campaign file (every kind).

Starlette runs under uvicorn; Django and Flask under gunicorn's sync worker (WSGI), their usual
production setup. The load is `wrk` (one thread, a few keep-alive connections) replaying
product pages (``/p/<id>``) of 200 returning visitors: each got its signed visitor cookie from
one warm-up request and sends it back, so the middleware tracks a ``Page Viewed`` and the view a
``Product Viewed`` per request. On a 2-core machine the servers are pinned to one core and wrk
to the other (``taskset``). After a warm-up, the variants of a shop run interleaved, round by
round (the order rotating), and the figures are medians over the rounds: requests per second,
their ratio (with / without), and wrk's latency percentiles; beside them the server's CPU time
per request (from /proc), which a noisy neighbour moves far less than throughput.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import inspect
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from personalize_sdk.examples.shop import load_products

from .stats import header, median

ROUNDS = 5
SECONDS = 5
WARMUP_SECONDS = 3
VISITORS = 200
CONNECTIONS = 4
"""wrk's keep-alive connections: enough to keep one worker busy, few enough that latency
stays a service time rather than a queue."""
TARGET_RATIO = 0.90
COOKIE = "pz_vid"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)

PLAN: dict[str, tuple[str, ...]] = {
    "starlette": ("without", "two", "full"),
    "django": ("without", "two"),
    "flask": ("without", "two"),
}
"""The variants measured per shop (the full campaign file on Starlette only: time)."""
LABELS = {"without": "without", "two": "two slots", "full": "full file"}
SERVERS = {"starlette": "uvicorn", "django": "gunicorn", "flask": "gunicorn"}
ROOT = Path(__file__).resolve().parent.parent

_WRK_SCRIPT = """
local pairs = {%(pairs)s}
local reqs = {}
local n = 0
init = function(args)
  for i, pair in ipairs(pairs) do
    reqs[i] = wrk.format("GET", pair[2], {["Cookie"] = pair[1], ["Accept"] = "text/html",
                                          ["User-Agent"] = "%(agent)s"})
  end
end
request = function()
  n = n + 1
  if n > #reqs then n = 1 end
  return reqs[n]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"errors": %%d, "status_errors": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


@dataclass
class Run:
    requests: int
    duration_us: int
    bytes: int
    errors: int
    status_errors: int
    p50_us: float
    p90_us: float
    p99_us: float
    cpu_s: float | None = None
    """CPU time (user + system) the server's processes used during the run, from /proc."""

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6)

    @property
    def cpu_us(self) -> float | None:
        """Server CPU time per request answered, in microseconds."""
        return (
            self.cpu_s / self.requests * 1e6 if self.cpu_s is not None and self.requests else None
        )


@dataclass
class Server:
    shop: str
    variant: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    stats: Path
    cookies: list[str] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    sent: int = 0
    """Requests answered outside wrk's timed rounds (cookies, warm-up, widget counts)."""
    widgets: list[int] = field(default_factory=list)
    slots: Counter[str] = field(default_factory=Counter)
    page_bytes: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Pinning:
    server: list[str]
    load: list[str]
    described: str


def run(quick: bool = False) -> None:
    rounds, seconds, warmup = (1, 1, 1) if quick else (ROUNDS, SECONDS, WARMUP_SECONDS)
    visitors = VISITORS // 4 if quick else VISITORS
    print(header("http: the example shops' product page over HTTP, with and without the SDK"))
    wrk = shutil.which("wrk")
    if wrk is None:
        print("  not available: wrk is not installed (apt-get install wrk, or make install)")
        return
    pinning = _pinning()
    print(
        f"  load: {_wrk_version(wrk)}, 1 thread, {CONNECTIONS} keep-alive connections, GET "
        f"/p/<id> over the {len(load_products())} products; {pinning.described}"
    )
    print(
        f"  {visitors} returning visitors (a signed cookie each, from one warm-up request); "
        f"{rounds} round(s) x {seconds} s per variant, interleaved, after {warmup} s of warm-up"
    )
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        for shop, variants in PLAN.items():
            missing = _missing(shop)
            if missing:
                print(f"\n  {shop}: not available ({missing})")
                continue
            ratio = _shop(shop, variants, Path(tmp), wrk, pinning, rounds, seconds, warmup,
                          visitors)  # fmt: skip
            if ratio is not None:
                ratios[shop] = ratio
    print()
    if "starlette" in ratios:
        shown = f"{ratios['starlette']:.3f}"
        status = "met" if ratios["starlette"] >= TARGET_RATIO else "MISSED"
        print(f"  target throughput ratio (two slots / without) >= {TARGET_RATIO:.2f}, "
              f"Starlette: {status} ({shown})")  # fmt: skip
    for shop in ("django", "flask"):
        shown = f"{ratios[shop]:.3f}" if shop in ratios else "not available"
        print(f"  reported: {shop} ratio (two slots / without): {shown}")


def _shop(
    shop: str,
    variants: tuple[str, ...],
    tmp: Path,
    wrk: str,
    pinning: Pinning,
    rounds: int,
    seconds: int,
    warmup: int,
    visitors: int,
) -> float | None:
    servers: list[Server] = []
    try:
        for variant in variants:
            servers.append(_start(shop, variant, tmp, pinning))
        print(f"\n  {shop}: {_server_description(shop)}")
        for server in servers:
            _wait(server)
        products = list(load_products())
        cookies: list[str] = []
        for server in servers:
            server.cookies = _visitor_cookies(server, products, visitors)
            cookies = cookies or server.cookies
        if not cookies:
            print("    no visitor cookie set by any variant: nothing to measure")
            return None
        for server in servers:
            server.cookies = server.cookies or cookies  # `without` ignores them, as a shop would
            script = tmp / f"{shop}-{server.variant}.lua"
            script.write_text(_script(server.cookies, products), encoding="utf-8")
            server.sent += _wrk(wrk, pinning, server, script, warmup).requests
            _count_widgets(server, products)
        for index in range(rounds):
            turn = index % len(servers)
            for server in servers[turn:] + servers[:turn]:
                script = tmp / f"{shop}-{server.variant}.lua"
                server.runs.append(_wrk(wrk, pinning, server, script, seconds))
    finally:
        for server in servers:
            _stop(server)
    return _report(servers)


def _report(servers: list[Server]) -> float | None:
    base = next((s for s in servers if s.variant == "without"), None)
    base_rps = median([run.rps for run in base.runs]) if base and base.runs else 0.0
    two_ratio = None
    for server in servers:
        if not server.runs:
            continue
        rps = [run.rps for run in server.runs]
        errors = sum(run.errors for run in server.runs)
        bad = sum(run.status_errors for run in server.runs)
        shown = f"{sum(server.widgets) / len(server.widgets):.1f}" if server.widgets else "n/a"
        slots = ", ".join(slot for slot, _ in server.slots.most_common())
        print(
            f"    {LABELS[server.variant]:<10} median {median(rps):6.0f} req/s "
            f"(rounds {min(rps):.0f}-{max(rps):.0f}); latency p50 "
            f"{median([r.p50_us for r in server.runs]) / 1000:.2f} ms, p99 "
            f"{median([r.p99_us for r in server.runs]) / 1000:.2f} ms; "
            f"server CPU {_us(server.runs, 'cpu_us')} per request; "
            f"{server.page_bytes / 1024:.1f} KB per page; {shown} widgets per page"
            + (f" ({slots})" if slots else "")
            + (f"; {errors} socket errors" if errors else "")
            + (f"; {bad} non-2xx" if bad else "")
        )
    for server in servers:
        if base is None or server is base or not server.runs or not base_rps:
            continue
        ratio = median([run.rps for run in server.runs]) / base_rps
        paired = [w.rps / b.rps for w, b in zip(server.runs, base.runs, strict=False)]
        cpu = [run.cpu_us for run in server.runs if run.cpu_us]
        base_cpu = [run.cpu_us for run in base.runs if run.cpu_us]
        by_cpu = (
            f"; by server CPU per request {median(base_cpu) / median(cpu):.3f}"
            if cpu and base_cpu
            else ""
        )
        print(
            f"    ratio {LABELS[server.variant]} / without: {ratio:.3f} (ratio of medians; "
            f"per round {min(paired):.3f}-{max(paired):.3f}{by_cpu})"
        )
        if server.variant == "two":
            two_ratio = ratio
    for server in servers:
        _report_tracking(server)
    return two_ratio


def _us(runs: list[Run], name: str) -> str:
    values = [value for run in runs if (value := getattr(run, name)) is not None]
    return f"{median(values):.0f} us" if values else "n/a"


def _report_tracking(server: Server) -> None:
    """What the server's Personalizer stored against the pages it answered."""
    answered = server.sent + sum(run.requests for run in server.runs)
    try:
        stats = json.loads(server.stats.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stats = None
    log = server.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    logged = f"; server log: {len(log)} line(s), first: {log[0][:120]!r}" if log else ""
    if server.variant == "without":
        if logged:
            print(f"    {LABELS[server.variant]}: {logged[2:]}")
        return
    if stats is None:
        print(f"    {LABELS[server.variant]}: no tracking figures from the server{logged}")
        return
    events = stats["events"]
    pages, products = events.get("Page Viewed", 0), events.get("Product Viewed", 0)
    print(
        f"    {LABELS[server.variant]}: the server tracked {pages:,} Page Viewed and {products:,} "
        f"Product Viewed for {answered:,} pages answered to the harness and wrk "
        f"({(pages + products) / max(answered, 1):.2f} events per page; {stats['profiles']} "
        f"profiles){logged}"
    )


# -- servers ----------------------------------------------------------------------------------


def _missing(shop: str) -> str | None:
    """Why `shop` cannot be measured here, or None."""
    if SERVERS[shop] == "gunicorn" and importlib.util.find_spec("gunicorn") is None:
        return "gunicorn is not installed: pip install -e '.[dev]'"
    if shop == "starlette":
        return None
    try:
        if shop == "flask":
            from personalize_sdk.examples.flask_shop import create_app

            if "personalize" not in inspect.signature(create_app).parameters:
                return "examples/flask_shop.py: create_app() has no personalize= switch yet"
            return None
        if importlib.util.find_spec("personalize_sdk.examples.django_shop.wsgi") is None:
            return "no examples/django_shop/ yet"
        if importlib.util.find_spec("personalize_sdk.examples.django_shop.settings_plain") is None:
            return "examples/django_shop/settings_plain.py (the shop without the SDK) is missing"
    except ImportError as error:
        return f"cannot import its example shop: {error}"
    return None


def _server_description(shop: str) -> str:
    if SERVERS[shop] == "uvicorn":
        import uvicorn.loops.auto  # noqa: F401 - only to name what "auto" picks
        from uvicorn.protocols.http.auto import AutoHTTPProtocol

        http_impl = "httptools" if "HttpTools" in AutoHTTPProtocol.__name__ else "h11"
        loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
        return (
            f"uvicorn {metadata.version('uvicorn')}, 1 worker, HTTP parser {http_impl}, "
            f"{loop} event loop, access log off"
        )
    return (
        f"gunicorn {metadata.version('gunicorn')}, 1 sync worker (WSGI; it closes the "
        "connection after each response, so wrk reconnects), access log off"
    )


def _pinning() -> Pinning:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    taskset = shutil.which("taskset")
    if taskset and len(cpus) >= 2:
        return Pinning(
            [taskset, "-c", str(cpus[0])],
            [taskset, "-c", str(cpus[1])],
            f"server pinned to CPU {cpus[0]}, wrk to CPU {cpus[1]} (taskset)",
        )
    why = "no taskset" if not taskset else f"{len(cpus)} CPU(s) available"
    return Pinning([], [], f"not pinned ({why}): server and wrk share the CPUs")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(shop: str, variant: str, tmp: Path, pinning: Pinning) -> Server:
    port = _free_port()
    log = tmp / f"{shop}-{variant}.log"
    stats = tmp / f"{shop}-{variant}.json"
    env = {**os.environ, "BENCH_HTTP_STATS": str(stats), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if SERVERS[shop] == "uvicorn":
        command = [sys.executable, "-m", "benchmarks._http_apps", shop, variant, str(port)]
    else:
        interface = "wsgi"
        command = [
            sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
            "--config", "python:benchmarks._http_apps",
            f"benchmarks._http_apps:build({shop!r}, {variant!r}, {interface!r})",
        ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            pinning.server + command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return Server(shop, variant, port, process, log, stats)


def _wait(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"{server.shop} {server.variant} server exited:\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{server.shop} {server.variant} server did not listen in {timeout:.0f} s")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()  # SIGTERM: uvicorn and gunicorn stop gracefully
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# -- requests ---------------------------------------------------------------------------------


def _get(server: Server, path: str, cookie: str | None = None) -> tuple[int, list[str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        headers = {"Accept": "text/html", "User-Agent": USER_AGENT}
        if cookie:
            headers["Cookie"] = cookie
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        server.sent += 1
        return response.status, response.headers.get_all("set-cookie") or [], body
    finally:
        connection.close()


def _visitor_cookies(server: Server, products: list[str], count: int) -> list[str]:
    """One request per visitor without a cookie; the cookies the server set (none: `without`)."""
    cookies = []
    for index in range(count):
        _, set_cookies, _ = _get(server, f"/p/{products[index % len(products)]}")
        cookies += [c.split(";")[0] for c in set_cookies if c.startswith(COOKIE + "=")]
    if cookies:  # a returning visitor keeps their id: the renewed cookie is the one sent
        _, renewed, _ = _get(server, f"/p/{products[0]}", cookies[0])
        if cookies[0] not in [c.split(";")[0] for c in renewed]:
            print(f"    WARNING: {server.variant}: the visitor cookie was not recognised")
    return cookies


def _count_widgets(server: Server, products: list[str], samples: int = 20) -> None:
    """Widgets (and their slots) on a sample of product pages, after the warm-up."""
    sizes = []
    for index in range(samples):
        cookie = server.cookies[index * 7 % len(server.cookies)]
        status, _, body = _get(server, f"/p/{products[index * 5 % len(products)]}", cookie)
        html = body.decode("utf-8", errors="replace")
        if status != 200:
            print(f"    WARNING: {server.variant}: a product page answered {status}")
        sizes.append(len(body))
        server.widgets.append(html.count("data-pz-widget="))
        server.slots.update(set(re.findall(r'data-pz-slot="([^"]+)"', html)))
    server.page_bytes = int(median(sizes))


def _script(cookies: list[str], products: list[str], per_visitor: int = 20) -> str:
    """A wrk script cycling through (visitor, product page) pairs in a seeded order."""
    rng = random.Random(7)
    pairs = [
        (cookies[index % len(cookies)], f"/p/{rng.choice(products)}")
        for index in range(per_visitor * len(cookies))
    ]
    body = ",\n".join(f'{{"{cookie}", "{path}"}}' for cookie, path in pairs)
    return _WRK_SCRIPT % {"pairs": body, "agent": USER_AGENT}


def _wrk(wrk: str, pinning: Pinning, server: Server, script: Path, seconds: int) -> Run:
    command = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(script), server.url]  # fmt: skip
    cpu_before = _cpu_seconds(server.process.pid)
    done = subprocess.run(
        pinning.load + command, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    cpu_after = _cpu_seconds(server.process.pid)
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            run = Run(**json.loads(line[len("WRK_JSON ") :]))
            if cpu_before is not None and cpu_after is not None:
                run.cpu_s = cpu_after - cpu_before
            return run
    raise RuntimeError(f"wrk gave no figures:\n{done.stdout}\n{done.stderr}")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of `pid` and its descendants (gunicorn's worker), or None
    where there is no /proc."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            text = Path(f"/proc/{entry}/stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # from field 3 (state) on
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = int(fields[11]) + int(fields[12])  # utime + stime, in ticks
    if pid not in times:
        return None
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        family.update(children)
        frontier += children
    return sum(times[member] for member in family) / os.sysconf("SC_CLK_TCK")


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()[:1]
    found = re.search(r"wrk (?:debian/)?([\w.~-]+)", first[0]) if first else None
    return f"wrk {found.group(1)}" if found else "wrk"
