"""The three example shops behind one small client interface, each driven by its framework's
own test client (Starlette's `TestClient`, Flask's `test_client`, Django's `Client`), so one
set of tests runs against all of them.

Redirects are never followed: the tests check the 303 and its Location themselves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs

from personalize_sdk import Personalizer
from personalize_sdk.examples.shop import CAMPAIGNS, CATALOG

ROOT = Path(__file__).resolve().parents[2]
SECRET = "example-shop-tests-secret-0123456789"
NAMES = ("starlette", "flask", "django")


@attrs.frozen
class Reply:
    status: int
    text: str
    headers: Mapping[str, str]
    """Lower-cased names."""
    set_cookies: tuple[str, ...] = ()
    """The Set-Cookie headers, as sent."""


class Client(Protocol):
    """One browser: its own cookie jar, so its own visitor."""

    def get(self, path: str, params: Mapping[str, str] | None = None, **headers: str) -> Reply: ...

    def post(self, path: str, data: Mapping[str, str], **headers: str) -> Reply: ...

    def cookie(self, name: str) -> str | None: ...


class Shop(Protocol):
    name: str

    def client(self) -> Client: ...

    def visitor(self, cookie: str) -> str | None:
        """The visitor id a signed ``pz_vid`` cookie holds."""
        ...

    def profile(self, visitor_id: str) -> dict[str, Any]:
        """`profile_summary` of the visitor's profile."""
        ...

    def close(self) -> None: ...


def profile_summary(profile: Any) -> dict[str, Any]:
    """What the tests read of a `Profile`, as JSON (the Django shop's comes from its process)."""
    return {
        "user_id": profile.user_id,
        "traits": dict(profile.traits),
        "order_ids": list(profile.orders.order_ids),
        "order_count": profile.orders.count,
        "cart_quantity": profile.cart.quantity,
        "counters": dict(profile.counters),
    }


def strict_personalizer() -> Personalizer:
    """Strict: an event the shop gets wrong raises in the test instead of being counted."""
    return Personalizer.from_file(CAMPAIGNS, catalog=CATALOG, secret=SECRET, strict=True)


# -- in this process: Starlette and Flask -------------------------------------------------------


def _headers(raw: Mapping[str, str]) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in raw.items()}


class _StarletteClient:
    def __init__(self, app: Any) -> None:
        from starlette.testclient import TestClient

        self._client = TestClient(app, follow_redirects=False)

    def _reply(self, response: Any) -> Reply:
        return Reply(
            response.status_code,
            response.text,
            {name.lower(): value for name, value in response.headers.items()},
            tuple(response.headers.get_list("set-cookie")),
        )

    def get(self, path: str, params: Mapping[str, str] | None = None, **headers: str) -> Reply:
        return self._reply(self._client.get(path, params=params, headers=_headers(headers)))

    def post(self, path: str, data: Mapping[str, str], **headers: str) -> Reply:
        return self._reply(self._client.post(path, data=data, headers=_headers(headers)))

    def cookie(self, name: str) -> str | None:
        return self._client.cookies.get(name)


class _FlaskClient:
    def __init__(self, app: Any) -> None:
        self._client = app.test_client()

    def _reply(self, response: Any) -> Reply:
        return Reply(
            response.status_code,
            response.get_data(as_text=True),
            {name.lower(): value for name, value in response.headers.items()},
            tuple(response.headers.getlist("Set-Cookie")),
        )

    def get(self, path: str, params: Mapping[str, str] | None = None, **headers: str) -> Reply:
        response = self._client.get(path, query_string=params, headers=_headers(headers))
        return self._reply(response)

    def post(self, path: str, data: Mapping[str, str], **headers: str) -> Reply:
        return self._reply(self._client.post(path, data=data, headers=_headers(headers)))

    def cookie(self, name: str) -> str | None:
        found = self._client.get_cookie(name)
        return None if found is None else found.value


class _LocalShop:
    """A shop app in this process, over a `Personalizer` the test can read."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.personalizer = strict_personalizer()
        if name == "starlette":
            from personalize_sdk.examples.starlette_shop import create_app

            self._app: Any = create_app(personalizer=self.personalizer)
        else:
            from personalize_sdk.examples.flask_shop import create_app

            self._app = create_app(personalizer=self.personalizer)
            self._app.testing = True  # a view's exception reaches the test, not a 500 page

    def client(self) -> Client:
        if self.name == "starlette":
            return _StarletteClient(self._app)
        return _FlaskClient(self._app)

    def visitor(self, cookie: str) -> str | None:
        return self.personalizer.signer.unsign(cookie)

    def profile(self, visitor_id: str) -> dict[str, Any]:
        return profile_summary(self.personalizer.profile(visitor_id))

    def close(self) -> None:
        self.personalizer.close()


# -- in a process of its own: Django ------------------------------------------------------------


class WorkerError(AssertionError):
    """The Django shop's process failed a command (its traceback is the message)."""


class _DjangoShop:
    name = "django"

    def __init__(self) -> None:
        env = {
            **os.environ,
            "PERSONALIZE_SECRET": SECRET,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.examples.django_worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def call(self, **command: Any) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise WorkerError(f"the Django shop's process ended ({self._process.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            raise WorkerError(answer["error"])
        return answer["ok"]

    def client(self) -> Client:
        return _DjangoClient(self, self.call(op="client"))

    def visitor(self, cookie: str) -> str | None:
        return self.call(op="visitor", cookie=cookie)

    def profile(self, visitor_id: str) -> dict[str, Any]:
        return self.call(op="profile", visitor=visitor_id)

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class _DjangoClient:
    def __init__(self, shop: _DjangoShop, number: int) -> None:
        self._shop = shop
        self._number = number

    def _request(self, method: str, path: str, data: Any, headers: Mapping[str, str]) -> Reply:
        raw = self._shop.call(
            op="request", client=self._number, method=method, path=path, data=data,
            headers=_headers(headers),
        )  # fmt: skip
        return Reply(raw["status"], raw["text"], raw["headers"], tuple(raw["set_cookies"]))

    def get(self, path: str, params: Mapping[str, str] | None = None, **headers: str) -> Reply:
        return self._request("GET", path, dict(params or {}), headers)

    def post(self, path: str, data: Mapping[str, str], **headers: str) -> Reply:
        return self._request("POST", path, dict(data), headers)

    def cookie(self, name: str) -> str | None:
        return self._shop.call(op="cookie", client=self._number, name=name)


def open_shop(name: str) -> Shop:
    return _DjangoShop() if name == "django" else _LocalShop(name)
