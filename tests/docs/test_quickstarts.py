"""The three quickstarts, followed literally: every file they tell a developer to create is
written from the doc's own code block into a temporary directory, run behind the framework's
real test client, and the page must do what the doc promises (the hello bar says "Hi there",
a `pz_vid` cookie, HttpOnly and SameSite=Lax, the script and stylesheet served, a same-origin
"shown" beacon accepted and a cross-origin one refused, "Hi Asha" after the login step). Edit a
quickstart's code and these tests run the edit.

Convention the docs follow: a file's block is preceded by a paragraph that starts with its path
in backticks ("`app.py` with Starlette:", "`templates/home.html`:"); a block that is no file is
found by a phrase of the paragraph before it. A lookup that matches no block, or several, fails.

Django is configured once per process (tests/integrations/test_django.py does it in this one),
so its quickstart runs in subprocesses: `startproject`, the doc's `manage.py` commands, and
tests/docs/django_worker.py driving Django's test `Client`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
WORKER = Path(__file__).resolve().parent / "django_worker.py"
BEACON = "/_personalize/beacon"
SCRIPT = "/_personalize/static/personalize.js"
STYLESHEET = "/_personalize/static/personalize.css"
EVIL = "https://evil.example"
QUICKSTARTS = ("starlette", "flask", "django")

# -- reading the Markdown ------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<lang>[^`\s]*)\s*$")


class Block(NamedTuple):
    lead: str
    """The prose paragraph right before the fence ("" after a heading or another block)."""
    lang: str
    code: str


def code_blocks(markdown: str) -> list[Block]:
    """Every fenced block with the paragraph that introduces it (indented fences, as in list
    items, are dedented)."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    lead = ""
    fence: re.Match[str] | None = None
    code: list[str] = []
    for line in markdown.splitlines():
        if fence is not None:
            if line.strip() == fence["fence"]:
                blocks.append(Block(lead, fence["lang"], "\n".join(code) + "\n"))
                fence, code, lead = None, [], ""
            else:
                indent = fence["indent"]
                code.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            continue
        opening = _FENCE.match(line)
        if opening is not None:
            if paragraph:
                lead = " ".join(paragraph)
            fence, paragraph = opening, []
        elif not line.strip():
            if paragraph:
                lead, paragraph = " ".join(paragraph), []
        elif line.startswith("#"):
            lead, paragraph = "", []
        else:
            if not paragraph:
                lead = ""
            paragraph.append(line.strip())
    assert fence is None, "a code block is never closed"
    return blocks


def read_doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def file_blocks(markdown: str, path: str, also: str = "") -> list[str]:
    """The blocks of file `path`: their paragraph starts with "`path`" (and mentions `also`)."""
    return [
        block.code
        for block in code_blocks(markdown)
        if block.lead.startswith(f"`{path}`") and also in block.lead
    ]


def file_block(markdown: str, path: str, also: str = "") -> str:
    """The one block of file `path`."""
    found = file_blocks(markdown, path, also)
    assert len(found) == 1, f"expected one block of `{path}` {also}, found {len(found)}"
    return found[0]


def block_after(markdown: str, phrase: str) -> str:
    """The one block whose introducing paragraph contains `phrase`."""
    found = [block.code for block in code_blocks(markdown) if phrase in block.lead]
    assert len(found) == 1, f"expected one block after {phrase!r}, found {len(found)}"
    return found[0]


def promises(markdown: str, *phrases: str) -> None:
    """The doc still says these (however its lines wrap): the checks after it check its word."""
    prose = " ".join(markdown.split())
    for phrase in phrases:
        assert phrase in prose, f"the doc no longer says {phrase!r}"


def write(root: Path, path: str, text: str) -> Path:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def test_extraction_finds_each_file_once() -> None:
    """The convention holds in every quickstart: each file named once, ambiguity refused."""
    starlette, flask, django = (read_doc(f"quickstart-{name}.md") for name in QUICKSTARTS)
    assert "[[campaigns]]" in file_block(starlette, "personalize.toml")
    assert "Starlette(" in file_block(starlette, "app.py", "Starlette")
    assert "FastAPI()" in file_block(starlette, "app.py", "FastAPI")
    assert "Flask(__name__)" in file_block(flask, "app.py")
    assert "{% load personalize %}" in file_block(django, "templates/home.html")
    assert len(file_blocks(django, "settings.py")) == 2
    assert len(file_blocks(django, "urls.py")) == 2
    with pytest.raises(AssertionError):
        file_block(starlette, "app.py")  # Starlette and FastAPI: ambiguous without `also`


def test_extraction_reads_leads_and_indented_fences() -> None:
    """A block right after another has no lead; a list item's fence is dedented."""
    markdown = """# T

`a.py`:

```python
x = 1
```

```sh
run
```

- item

  ```py
  y
  ```
"""
    assert code_blocks(markdown) == [
        Block("`a.py`:", "python", "x = 1\n"),
        Block("", "sh", "run\n"),
        Block("- item", "py", "y\n"),
    ]


# -- what every quickstart promises --------------------------------------------------------------


class Answer(NamedTuple):
    status: int
    text: str
    headers: Mapping[str, str]
    """Lower-case names."""
    set_cookies: list[str]


class Browser(Protocol):
    """One shopper's browser (it keeps cookies) on the quickstart's app."""

    def request(
        self, method: str, path: str, body: str = "", headers: Mapping[str, str] | None = None
    ) -> Answer: ...


class _PageParts(HTMLParser):
    """The widgets' `data-pz-*` attributes and the asset URLs of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.widgets: list[dict[str, str]] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "data-pz-campaign" in values:
            self.widgets.append(values)
        if tag == "script" and "src" in values:
            self.assets.append(values["src"])
        if tag == "link" and values.get("rel") == "stylesheet":
            self.assets.append(values["href"])


def page_parts(html: str) -> _PageParts:
    parser = _PageParts()
    parser.feed(html)
    return parser


def shown_beacon(widget: Mapping[str, str], path: str) -> str:
    """What personalize.js posts when the widget scrolls into view."""
    entry = {
        "type": "shown",
        "campaign": widget["data-pz-campaign"],
        "variant": widget["data-pz-variant"],
        "kind": widget["data-pz-widget"],
        "slot": widget["data-pz-slot"],
        "path": path,
    }
    return json.dumps({"events": [entry]})


def visitor_cookie(answer: Answer) -> str:
    """The `pz_vid` cookie the response sets, checked as the docs describe it."""
    cookies = SimpleCookie()
    for header in answer.set_cookies:
        cookies.load(header)
    assert "pz_vid" in cookies, answer.set_cookies
    morsel = cookies["pz_vid"]
    assert morsel["httponly"], morsel.OutputString()
    assert str(morsel["samesite"]).lower() == "lax", morsel.OutputString()
    assert morsel.value.startswith("v-") and "." in morsel.value  # the id and its signature
    return morsel.value


def check_first_visit(browser: Browser, origin: str, product: str | None = None) -> str:
    """The first page of a new shopper: the bar says "Hi there", the visitor cookie is set, the
    assets are served, the beacon takes this page's "shown" and refuses another site's.
    Returns the visitor cookie."""
    home = browser.request("GET", "/")
    assert home.status == 200, home.text
    assert "Hi there" in home.text
    cookie = visitor_cookie(home)
    parts = page_parts(home.text)
    assert SCRIPT in parts.assets and STYLESHEET in parts.assets, parts.assets
    for asset in parts.assets:
        served = browser.request("GET", asset)
        assert served.status == 200, asset
        assert served.headers["etag"]
    assert "javascript" in browser.request("GET", SCRIPT).headers["content-type"]
    assert "text/css" in browser.request("GET", STYLESHEET).headers["content-type"]
    [bar] = [widget for widget in parts.widgets if widget["data-pz-widget"] == "hello_bar"]
    assert bar["data-pz-beacon"] == BEACON
    body = shown_beacon(bar, "/")
    plain = {"content-type": "text/plain;charset=UTF-8"}  # navigator.sendBeacon(url, string)
    same_site = browser.request("POST", BEACON, body, {**plain, "origin": origin})
    assert same_site.status == 204, same_site.text
    other_site = browser.request("POST", BEACON, body, {**plain, "origin": EVIL})
    assert other_site.status == 403, other_site.text
    if product is not None:
        viewed = browser.request("GET", product)
        assert viewed.status == 200 and "Hi there" in viewed.text, viewed.text
    return cookie


def check_greeted(browser: Browser, name: str) -> None:
    page = browser.request("GET", "/")
    assert page.status == 200
    assert f"Hi {name}" in page.text, page.text


def import_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """`path` imported as a fresh module (a unique name: several quickstarts have an app.py)."""
    name = f"quickstart_{path.stem}_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory to follow a quickstart in, as the working directory (the docs run
    `uvicorn app:app` and `flask --app app run` there), without a secret in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PERSONALIZE_SECRET", raising=False)
    return tmp_path


# -- Starlette and FastAPI -----------------------------------------------------------------------


class StarletteBrowser:
    def __init__(self, client: Any) -> None:
        self.client = client

    def request(
        self, method: str, path: str, body: str = "", headers: Mapping[str, str] | None = None
    ) -> Answer:
        response = self.client.request(method, path, content=body, headers=dict(headers or {}))
        return Answer(
            response.status_code,
            response.text,
            {name.lower(): value for name, value in response.headers.items()},
            response.headers.get_list("set-cookie"),
        )


@pytest.mark.parametrize("framework", ["Starlette", "FastAPI"])
def test_starlette_quickstart(
    framework: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """personalize.toml, app.py (Starlette's or FastAPI's) and templates/home.html as the doc
    shows them; then "Run it": Hi there, the cookie, the beacon, the assets; after a POST to
    /login from the same browser, Hi Asha."""
    from starlette.testclient import TestClient

    doc = read_doc("quickstart-starlette.md")
    promises(
        doc,
        "uvicorn app:app",
        'the hello bar says "Hi there"',
        'After a `POST` to `/login` from the same browser, the bar says "Hi Asha"',
    )
    write(project, "personalize.toml", file_block(doc, "personalize.toml"))
    app_py = write(project, "app.py", file_block(doc, "app.py", framework))
    write(project, "templates/home.html", file_block(doc, "templates/home.html"))
    app = import_file(app_py, monkeypatch).app
    with TestClient(app) as client:
        browser = StarletteBrowser(client)
        check_first_visit(browser, "http://testserver", product="/p/sku-1")
        assert browser.request("POST", "/login").status == 200
        check_greeted(browser, "Asha")


# -- Flask ---------------------------------------------------------------------------------------


class FlaskBrowser:
    def __init__(self, client: Any) -> None:
        self.client = client

    def request(
        self, method: str, path: str, body: str = "", headers: Mapping[str, str] | None = None
    ) -> Answer:
        headers = dict(headers or {})
        content_type = headers.pop("content-type", None)
        response = self.client.open(
            path, method=method, data=body, headers=headers, content_type=content_type
        )
        return Answer(
            response.status_code,
            response.get_data(as_text=True),
            {name.lower(): value for name, value in response.headers.items()},
            response.headers.getlist("Set-Cookie"),
        )


class _Customer:
    """What the shop's own `check_password` returns (the doc leaves it to the shop)."""

    id = 42
    first_name = "Asha"
    email = "asha@example.com"


def flask_app(project: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> ModuleType:
    """The quickstart's files, with `extra` blocks appended to app.py."""
    doc = read_doc("quickstart-flask.md")
    write(project, "personalize.toml", file_block(doc, "personalize.toml"))
    write(project, "templates/home.html", file_block(doc, "templates/home.html"))
    app_py = write(project, "app.py", "\n\n".join([file_block(doc, "app.py"), *extra]))
    return import_file(app_py, monkeypatch)


def test_flask_quickstart(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quickstart's three files, then the login view "without Flask-Login" added to app.py:
    Hi there, the cookie, the beacon, the assets; after the login, Hi Asha."""
    doc = read_doc("quickstart-flask.md")
    promises(
        doc,
        "flask --app app run",
        'the hello bar says "Hi there"',
        '"Hi Asha" then shows from the next page on',
    )
    login = block_after(doc, "Without Flask-Login, identify the customer in your login view")
    module = flask_app(project, monkeypatch, login)
    module.check_password = lambda email, password: _Customer()
    browser = FlaskBrowser(module.app.test_client())
    check_first_visit(browser, "http://localhost", product="/p/sku-1")
    form = urlencode({"email": "asha@example.com", "password": "pw"})
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    logged_in = browser.request("POST", "/login", form, form_type)
    assert logged_in.status == 302, logged_in.text
    check_greeted(browser, "Asha")


def test_flask_quickstart_with_flask_login(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The doc's Flask-Login promise, "nothing more is needed": login_user links the visitor,
    and the next page says Hi Asha."""
    flask_login = pytest.importorskip("flask_login")
    promises(read_doc("quickstart-flask.md"), '"Hi Asha" shows from the next page on and')
    app = flask_app(project, monkeypatch).app

    class User(flask_login.UserMixin):
        def __init__(self, user_id: str) -> None:
            self.id = user_id
            self.first_name = "Asha"

    manager = flask_login.LoginManager(app)
    manager.user_loader(User)

    @app.post("/login")
    def login() -> str:
        flask_login.login_user(User("42"))
        return "ok"

    browser = FlaskBrowser(app.test_client())
    check_first_visit(browser, "http://localhost")
    assert browser.request("POST", "/login").status == 200
    check_greeted(browser, "Asha")


# -- Django --------------------------------------------------------------------------------------


def django_env(project: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PERSONALIZE_SECRET"}
    env.update(DJANGO_SETTINGS_MODULE="shop.settings", PYTHONPATH=str(project))
    return env


def manage(project: Path, command: str) -> subprocess.CompletedProcess[str]:
    """A `python manage.py ...` line of the doc, run with this interpreter in the project."""
    argv = shlex.split(command, comments=True)
    assert argv[:2] == ["python", "manage.py"], command
    done = subprocess.run(
        [sys.executable, *argv[1:]],
        cwd=project,
        env=django_env(project),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def django_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new `startproject shop`, then every step of the quickstart: personalize.toml next to
    manage.py, the settings.py and urls.py blocks appended as the doc says ("at the end"), the
    Jinja2 backend added, templates/home.html, and the doc's commands up to runserver."""
    doc = read_doc("quickstart-django.md")
    project = tmp_path_factory.mktemp("django-quickstart")
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "shop", str(project)],
        check=True,
        env=django_env(project),
        timeout=120,
    )
    write(project, "personalize.toml", file_block(doc, "personalize.toml"))
    settings = project / "shop" / "settings.py"
    jinja2_backend = block_after(doc, "Jinja2 templates get the same as globals")
    for block in [*file_blocks(doc, "settings.py"), jinja2_backend]:
        settings.write_text(settings.read_text() + "\n" + block)
    urls = project / "shop" / "urls.py"
    for block in file_blocks(doc, "urls.py"):
        urls.write_text(urls.read_text() + "\n" + block)
    write(project, "templates/home.html", file_block(doc, "templates/home.html"))
    run = block_after(doc, "start the server").splitlines()
    assert run[-1] == "python manage.py runserver"  # the server is the test client here
    check = manage(project, run[0])
    assert "personalize config OK" in check.stdout
    for command in run[1:-1]:
        manage(project, command)
    return project


class DjangoBrowser:
    """tests/docs/django_worker.py: Django's test Client in the project's own process."""

    def __init__(self, project: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            cwd=project,
            env=django_env(project),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def call(self, **command: Any) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the Django worker died (its stderr is above)"
        answer = json.loads(line)
        assert "error" not in answer, answer["error"]
        return answer["ok"]

    def request(
        self, method: str, path: str, body: str = "", headers: Mapping[str, str] | None = None
    ) -> Answer:
        headers = dict(headers or {})
        content_type = headers.pop("content-type", "application/octet-stream")
        answer = self.call(
            op="request",
            method=method,
            path=path,
            body=body,
            content_type=content_type,
            headers=headers,
        )
        return Answer(answer["status"], answer["text"], answer["headers"], answer["set_cookies"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture
def django_browser(django_project: Path) -> Iterator[DjangoBrowser]:
    browser = DjangoBrowser(django_project)
    try:
        yield browser
    finally:
        browser.close()


def test_django_quickstart_checks(django_project: Path) -> None:
    """`manage.py check` finds nothing to warn about: the include, the prefix, the beacon URL
    and the middleware's place agree."""
    manage(django_project, "python manage.py check --fail-level WARNING")


def test_django_quickstart(django_project: Path, django_browser: DjangoBrowser) -> None:
    """Opening the home page: Hi there, the cookie, the assets, the beacon, the page view in
    the visitor's profile; after the doc's command makes Asha and she logs in at /admin/, the
    bar says Hi Asha."""
    doc = read_doc("quickstart-django.md")
    promises(
        doc,
        'the hello bar says "Hi there"',
        "the page view is in the visitor's profile",
        'open the home page again: the bar says "Hi Asha"',
    )
    cookie = check_first_visit(django_browser, "http://testserver")
    counters = django_browser.call(op="profile", cookie=cookie)["counters"]
    assert counters["Page Viewed"] >= 1 and counters["Widget Shown"] == 1, counters
    command = block_after(doc, "make a customer named Asha").strip()
    account = re.search(r"create_superuser\('(\w+)', password='([^']+)'", command)
    assert account is not None, command
    manage(django_project, command)
    username, password = account.groups()
    promises(doc, f"Log in as `{username}` at <http://127.0.0.1:8000/admin/>")
    form = urlencode({"username": username, "password": password, "next": "/admin/"})
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    logged_in = django_browser.request("POST", "/admin/login/", form, form_type)
    assert logged_in.status == 302, logged_in.text  # to /admin/: the password was right
    check_greeted(django_browser, "Asha")
    signed_in = visitor_cookie(logged_in)  # a new visitor id at login, as the doc says
    assert signed_in != cookie
    profile = django_browser.call(op="profile", cookie=signed_in)
    assert profile["traits"]["first_name"] == "Asha"
    assert "first_name" not in django_browser.call(op="profile", cookie=cookie)["traits"]


def test_django_quickstart_jinja2(django_browser: DjangoBrowser) -> None:
    """The Jinja2 backend of the doc gives templates the same globals."""
    source = block_after(read_doc("quickstart-django.md"), "and in its templates")
    html = django_browser.call(op="jinja", source=source)
    assert SCRIPT in html and "Hi there" in html, html
