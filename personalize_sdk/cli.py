"""The `personalize` command: `personalize demo` (the example shop), `personalize journey`,
`personalize check CONFIG`, `personalize publish CONFIG --redis URL`, `personalize collect`
(the Segment-compatible collector)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from ._exceptions import ConfigError

DEMO_HOST = "127.0.0.1"
DEMO_PORT = 8000
COLLECT_PORT = 8088


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="personalize", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="serve the example Starlette shop with every widget kind (embedded store)"
    )
    demo.add_argument("--host", default=DEMO_HOST, help=f"default {DEMO_HOST}")
    demo.add_argument("--port", type=int, default=DEMO_PORT, help=f"default {DEMO_PORT}")
    demo.add_argument(
        "--shop",
        choices=("starlette", "django", "flask"),
        default="starlette",
        help="which example shop (default starlette; django and flask need their extras)",
    )
    commands.add_parser("journey", help="replay a scripted shopper journey through the engine")
    check = commands.add_parser("check", help="validate a TOML config file")
    check.add_argument("config", help="path to personalize.toml")
    publish = commands.add_parser(
        "publish", help="validate a config file and switch every listening process to it"
    )
    publish.add_argument("config", help="path to personalize.toml (or .json)")
    publish.add_argument("--redis", required=True, help="the Redis URL the processes listen on")
    publish.add_argument("--channel", default=None, help="default personalize:config")
    collect = commands.add_parser(
        "collect", help="serve the Segment-compatible collector (POST /v1/batch ...)"
    )
    collect.add_argument("--host", default=DEMO_HOST, help=f"default {DEMO_HOST}")
    collect.add_argument("--port", type=int, default=COLLECT_PORT, help=f"default {COLLECT_PORT}")
    collect.add_argument(
        "--config", required=True, help="personalize.toml ([collector] write_keys)"
    )
    collect.add_argument("--store", default=None, help="store URL (default: the config's store)")
    args = parser.parse_args(argv)

    if args.command == "demo":
        return _serve_demo(args.shop, args.host, args.port)
    if args.command == "journey":
        from ._demo import run

        run(sys.stdout, color=sys.stdout.isatty())
        return 0
    if args.command == "publish":
        return _publish(args.config, args.redis, args.channel)
    if args.command == "collect":
        return _collect(args.config, args.store, args.host, args.port)
    from .config import Config

    try:
        config = Config.from_file(args.config)
    except ConfigError as error:
        print(f"invalid config: {error}", file=sys.stderr)
        return 1
    print(f"{args.config}: ok ({len(config.segments)} custom segments)")
    return 0


def _publish(path: str, url: str, channel: str | None) -> int:
    from pathlib import Path

    from ._exceptions import PersonalizeError

    try:
        from .config_redis import DEFAULT_CHANNEL, publish_config

        listening = publish_config(url, Path(path), channel=channel or DEFAULT_CHANNEL)
    except ImportError as error:
        print(error, file=sys.stderr)  # names the extra to install
        return 2
    except ConfigError as error:
        if error.field == "config_redis":  # the URL, not the config
            print(f"bad Redis URL {url!r}, nothing published: {error.message}", file=sys.stderr)
        else:
            print(f"invalid config, nothing published: {error}", file=sys.stderr)
        return 1
    except PersonalizeError as error:
        print(str(error), file=sys.stderr)
        return 1
    print(f"{path}: published (processes listening: {listening})")
    return 0


def _collect(config: str, store: str | None, host: str, port: int) -> int:
    from ._exceptions import PersonalizeError
    from .personalizer import Personalizer

    try:
        import uvicorn

        from .collector import Collector
    except ImportError as error:
        print(
            f"personalize collect needs the collector extra ({error}): "
            'pip install "personalize-sdk[collector]"',
            file=sys.stderr,
        )
        return 2
    try:
        pz = Personalizer.from_file(config, **({"store": store} if store else {}))
    except (ConfigError, PersonalizeError) as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 1
    collector = Collector(pz)
    if not collector.settings.accepted_keys:
        print(
            f"warning: {config} has no [collector] write_keys or server_keys: every request "
            "will be refused (401)",
            file=sys.stderr,
        )
    print(
        f"collecting on http://{host}:{port}/v1/batch (store: {type(pz.store).__name__})",
        flush=True,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again: caught
    # here, so the store still writes what is pending and the counters are printed.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    try:
        uvicorn.run(collector, host=host, port=port, log_level="warning", access_log=False)
    except _Stopped:
        pass
    finally:
        pz.close()
        counts = " ".join(f"{name}={value}" for name, value in sorted(collector.stats().items()))
        print(f"collector stats: {counts or 'nothing received'}", flush=True)
    return 0


class _Stopped(Exception):
    """The collector was told to stop (SIGTERM or SIGINT)."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


def _serve_demo(shop: str, host: str, port: int) -> int:
    try:
        from personalize_sdk.examples.serve import serve

        return serve(shop, host, port, out=lambda line: print(line, flush=True))
    except ImportError as error:
        print(
            f"personalize demo needs the demo extra ({error.name} is missing): "
            'pip install "personalize-sdk[demo]"',
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
