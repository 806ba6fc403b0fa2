"""Packaging: the wheel ships the package, the mapped integrations and examples folders, py.typed
and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import personalize_sdk
import personalize_sdk.integrations

ROOT = Path(__file__).resolve().parents[1]


def test_integrations_folder_is_importable_as_a_subpackage():
    assert Path(personalize_sdk.integrations.__file__).parent == ROOT / "integrations"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("personalize_sdk-*.whl")
    return built


def test_every_source_file_is_in_the_wheel(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in (
        ("personalize_sdk", "personalize_sdk"),
        ("integrations", "personalize_sdk/integrations"),
        ("examples", "personalize_sdk/examples"),
    ):
        for pattern in ("*.py", "*.js", "*.css", "*.html", "*.json", "*.toml"):
            for source in (ROOT / folder).rglob(pattern):
                inside = f"{package}/{source.relative_to(ROOT / folder).as_posix()}"
                assert inside in names, f"{source} is missing from the wheel (pyproject?)"


def test_the_wheel_contains_package_integrations_types_and_entry_point(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "personalize_sdk/__init__.py" in names
    assert "personalize_sdk/py.typed" in names
    assert "personalize_sdk/integrations/__init__.py" in names
    assert not any(
        name.startswith(("tests/", "benchmarks/", "integrations/", "examples/")) for name in names
    )
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "personalize = personalize_sdk.cli:main" in text
    metadata = (
        zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    )
    requires = {
        line.split(":", 1)[1].strip().split(" ")[0].split(">")[0].split(";")[0]
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    # tomli on Python 3.10 only, tzdata on Windows only; sniffio for httpcore (pyproject.toml)
    assert requires == {
        "attrs",
        "cachetools",
        "httpx",
        "jinja2",
        "msgpack",
        "sniffio",
        "tomli",
        "tzdata",
    }
    extras = {
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Provides-Extra:")
    }
    assert extras == {"starlette", "django", "flask", "redis", "demo", "collector", "all", "dev"}


def test_the_wheel_installs_and_runs_in_a_fresh_virtualenv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    # Install the wheel alone into the fresh venv; its dependencies come from this test run's
    # environment through PYTHONPATH (no .pth processing there, so the editable install of
    # this checkout stays invisible and the wheel's own copy is what gets imported).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            target,
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    deps = sysconfig.get_path("purelib")
    env = {**os.environ, "PYTHONPATH": deps}
    code = (
        "import personalize_sdk, personalize_sdk.integrations as i; "
        "print(personalize_sdk.__file__); print(i.__file__)"
    )

    def run(*args: str) -> str:
        return subprocess.run(
            [str(python), *args],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
            env=env,
        ).stdout

    assert all(str(venv) in path for path in run("-c", code).split())
    demo = run("-m", "personalize_sdk.cli", "journey")
    assert "cart_abandoner" in demo
