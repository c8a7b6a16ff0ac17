"""A non-editable install works: the wheel built from this checkout, installed into a fresh
venv outside it, renders the seed letter and serves the login page (templates, fonts, static
files and migrations come from the wheel, found with importlib.resources).

The venv gets saraban from the wheel and nothing else; the libraries it needs come from the
test's own environment (a .pth line), so no index is asked and the test stays quick.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.letters import EXAMPLE_LETTER, ROOT
from tests.support.pdftext import page_texts, squash

pytestmark = pytest.mark.slow


def _run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, **kwargs
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, ROOT)
    (found,) = out.glob("saraban-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed, the test environment's libraries beside it."""
    home = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", home / "venv")
    python = home / "venv" / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    libraries = Path(sysconfig.get_paths()["purelib"])
    (Path(site.stdout.strip()) / "test-libraries.pth").write_text(f"{libraries}\n")
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel)
    return home / "venv"


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SARABAN_", "PYTHON"))}
    env.pop("DATABASE_URL", None)
    return {**env, "SARABAN_DB": str(work / "saraban.db"), "SARABAN_ENV": "development"}


def test_the_wheel_holds_every_package_and_its_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for top in ("letters", "credentials", "saraban"):
        for init in (ROOT / top).rglob("__init__.py"):
            assert init.relative_to(ROOT).as_posix() in names, init
    for template in (ROOT / "templates").glob("*.html"):
        assert f"saraban/web/templates/{template.name}" in names
    for font in (ROOT / "fonts").iterdir():
        if font.suffix in (".ttf", ".toml") or font.name.startswith("COPYRIGHT"):
            assert f"letters/fontfiles/{font.name}" in names
    assert "saraban/web/static/style.css" in names
    assert "saraban/storage/migrations/script.py.mako" in names
    assert not [n for n in names if n.startswith(("tests/", "bench/", "examples/"))]


def test_installed_outside_the_checkout_it_renders_the_seed_letter(
    venv: Path, tmp_path: Path
) -> None:
    where = _run(
        venv / "bin" / "python",
        "-c",
        "import letters, saraban; print(letters.__file__); print(saraban.__file__)",
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    assert all(line.startswith(str(venv)) for line in where.stdout.split()), where.stdout
    out = tmp_path / "x.pdf"
    made = _run(
        venv / "bin" / "saraban",
        "letter",
        EXAMPLE_LETTER,
        "-o",
        out,
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    assert "wrote" in made.stdout
    text = page_texts(out.read_bytes(), "pypdf")[0]
    assert squash("๑๐ เมษายน ๒๕๖๙") in squash(text)


@pytest.fixture
def served(venv: Path, tmp_path: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [str(venv / "bin" / "saraban"), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                httpx.get(f"{base}/api/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_installed_outside_the_checkout_it_serves_the_login_page(served: str) -> None:
    login = httpx.get(f"{served}/login")
    assert login.status_code == 200
    assert "เข้าสู่ระบบ" in login.text and 'name="csrf_token"' in login.text
    assert httpx.get(f"{served}/static/style.css").status_code == 200
    font = httpx.get(f"{served}/static/fonts/Laksaman.ttf")
    assert font.status_code == 200 and font.headers["content-type"] == "font/ttf"


def _no_setuptools_warning(output: str) -> None:
    """No deprecation box (``project.license`` as a table and the like) and no other warning
    from the build backend: a clean build reads as one."""
    for marker in ("Deprecat", "BuildBackendWarning", "!!\n", "********"):
        assert marker not in output, output


def test_building_the_wheel_warns_of_nothing(tmp_path: Path) -> None:
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp_path, ROOT)
    _no_setuptools_warning(built.stdout + built.stderr)


def test_building_the_sdist_warns_of_nothing(tmp_path: Path) -> None:
    """The sdist, built by the setuptools pyproject.toml asks for (build-system.requires), in a
    venv of its own, with every warning shown; it carries the licence files it names."""
    _run(sys.executable, "-m", "venv", tmp_path / "build")
    python = tmp_path / "build" / "bin" / "python"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    _run(python, "-m", "pip", "install", "--quiet", *requires["build-system"]["requires"])
    out = tmp_path / "dist"
    built = _run(
        python,
        "-W",
        "always",
        "-c",
        f"from setuptools.build_meta import build_sdist; print(build_sdist({str(out)!r}))",
        cwd=ROOT,
    )
    _no_setuptools_warning(built.stdout + built.stderr)
    (sdist,) = out.glob("saraban-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert any(name.endswith("fonts/COPYRIGHT-Laksaman") for name in names), names
