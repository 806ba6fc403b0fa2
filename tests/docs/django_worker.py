"""Django's test `Client` against the project built from docs/quickstart-django.md, in a process
of its own.

Django's settings are configured once per process, and tests/integrations/test_django.py
configures the pytest process with its own project; so tests/docs/test_quickstarts.py runs this
script (cwd and ``PYTHONPATH`` the quickstart's project, ``DJANGO_SETTINGS_MODULE`` its
settings) and speaks JSON lines with it: one command a line on stdin, one answer on stdout.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever else prints must not break the protocol
    import django

    django.setup()
    from django.http import HttpRequest, HttpResponse
    from django.template import engines
    from django.test import Client, RequestFactory
    from django.test.utils import setup_test_environment

    from personalize_sdk.integrations.django import get_personalizer
    from personalize_sdk.integrations.django.middleware import PersonalizeMiddleware

    setup_test_environment()  # lets the test client's host, "testserver", in
    client = Client()

    def request(command: dict[str, Any]) -> dict[str, Any]:
        response = client.generic(
            command["method"],
            command["path"],
            data=command.get("body", ""),
            content_type=command.get("content_type", "application/octet-stream"),
            headers=command.get("headers") or {},
        )
        return {
            "status": response.status_code,
            "headers": {name.lower(): value for name, value in response.items()},
            "set_cookies": [morsel.OutputString() for morsel in response.cookies.values()],
            "text": response.content.decode("utf-8", "replace"),
        }

    def profile(cookie: str) -> dict[str, Any] | None:
        personalizer = get_personalizer()
        visitor = personalizer.signer.unsign(cookie)
        if visitor is None:
            return None
        found = personalizer.profile(visitor)
        return {"counters": dict(found.counters), "traits": dict(found.traits)}

    def jinja(source: str) -> str:
        """`source` rendered by the Jinja2 backend in a request the middleware saw."""

        def view(request: HttpRequest) -> HttpResponse:
            template = engines["jinja2"].from_string(source)
            return HttpResponse(template.render({}, request))

        response = PersonalizeMiddleware(view)(RequestFactory().get("/"))
        return response.content.decode()

    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["op"] == "request":
                answer: dict[str, Any] = {"ok": request(command)}
            elif command["op"] == "profile":
                answer = {"ok": profile(command["cookie"])}
            elif command["op"] == "jinja":
                answer = {"ok": jinja(command["source"])}
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception:  # noqa: BLE001 - reported to the test, which fails with it
            answer = {"error": traceback.format_exc()}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
