"""``python manage.py personalize_check [--config FILE]``: does the personalize configuration
load? Exit code 0 and a summary when it does; 1 and the `ConfigError` message when not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from personalize_sdk._exceptions import ConfigError

from ...apps import load_runtime


class Command(BaseCommand):
    help = "Validate settings.PERSONALIZE and the campaign config file it names."
    # Report the problem here, with its exit code, rather than as a failed system check.
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--config",
            help="check this config file instead of the one settings.PERSONALIZE names",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        raw = getattr(settings, "PERSONALIZE", None)
        if options.get("config") and (raw is None or isinstance(raw, Mapping)):
            raw = {key: value for key, value in (raw or {}).items() if key != "personalizer"}
            raw["config"] = options["config"]
        try:
            runtime = load_runtime(raw, getattr(settings, "SECRET_KEY", ""))
        except ConfigError as error:
            raise CommandError(str(error), returncode=1) from None
        config = runtime.personalizer.config
        self.stdout.write(
            self.style.SUCCESS(
                f"personalize config OK: {len(config.campaigns)} campaigns, "
                f"{len(config.segments)} segments, beacon at {runtime.settings.beacon_path}"
            )
        )
