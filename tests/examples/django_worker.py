"""The example Django shop behind Django's test `Client`, in a process of its own.

Django's settings are configured once per process, and tests/integrations/test_django.py
configures this pytest process with its own project; so tests/examples/shops.py runs this
module (``python -m tests.examples.django_worker``) and speaks JSON lines with it: one
command a line on stdin, one answer a line on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

SETTINGS = "personalize_sdk.examples.django_shop.settings"


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever else prints must not break the protocol
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django
    from django.conf import settings
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    # Strict: an event the shop gets wrong raises in the test instead of being counted.
    override_settings(PERSONALIZE={**settings.PERSONALIZE, "strict": True}).enable()
    from personalize_sdk.integrations.django import get_personalizer

    personalizer = get_personalizer()
    clients: list[Client] = []

    def run(command: dict[str, Any]) -> Any:
        op = command["op"]
        if op == "client":
            clients.append(Client())
            return len(clients) - 1
        client = clients[command["client"]] if "client" in command else None
        if op == "request" and client is not None:
            return request(client, command)
        if op == "cookie" and client is not None:
            morsel = client.cookies.get(command["name"])
            return None if morsel is None else morsel.value
        if op == "visitor":
            return personalizer.signer.unsign(command["cookie"])
        if op == "profile":
            return summary(personalizer.profile(command["visitor"]))
        raise ValueError(f"unknown command {command!r}")

    for line in sys.stdin:
        try:
            answer = {"ok": run(json.loads(line))}
        except Exception:  # noqa: BLE001 - reported to the test, which fails with it
            answer = {"error": traceback.format_exc()}
        out.write(json.dumps(answer) + "\n")
        out.flush()


def request(client: Any, command: dict[str, Any]) -> dict[str, Any]:
    send = client.post if command["method"] == "POST" else client.get
    response = send(command["path"], command.get("data") or {}, headers=command.get("headers"))
    return {
        "status": response.status_code,
        "text": response.content.decode("utf-8", "replace"),
        "headers": {name.lower(): value for name, value in response.headers.items()},
        "set_cookies": [morsel.OutputString() for morsel in response.cookies.values()],
    }


def summary(profile: Any) -> dict[str, Any]:
    from tests.examples.shops import profile_summary

    return profile_summary(profile)


if __name__ == "__main__":
    main()
