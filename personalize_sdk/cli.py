"""The `personalize` command: `personalize demo`, `personalize check CONFIG`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._exceptions import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="personalize", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="replay a scripted shopper journey through the engine")
    check = commands.add_parser("check", help="validate a TOML config file")
    check.add_argument("config", help="path to personalize.toml")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from ._demo import run

        run(sys.stdout, color=sys.stdout.isatty())
        return 0
    from .config import Config

    try:
        config = Config.from_file(args.config)
    except ConfigError as error:
        print(f"invalid config: {error}", file=sys.stderr)
        return 1
    print(f"{args.config}: ok ({len(config.segments)} custom segments)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
