"""The source distribution holds what it takes to run the tests from it (MANIFEST.in)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Files (or, ending in "/", directories with at least one file) the sdist must hold.
NEEDED = [
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "MANIFEST.in",
    "Makefile",
    "tox.ini",
    ".ci/run",
    "scripts/bootstrap.sh",
    "scripts/update-messages.sh",
    "docs/conf.py",
    "docs/development.md",
    "docs/report-example.json",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/factories.py",
    "tests/shim_module.py",
    "tests/shim/misbehave.c",
    "tests/constraints-min.txt",
    "tests/test_sdist.py",
    "src/ukeytool/py.typed",
    "src/ukeytool/locale/zh_CN/LC_MESSAGES/ukeytool.po",
    "src/ukeytool/schema/",
    "src/ukeytool/data/",
    "src/ukeytool/testing/",
]


def _setuptools_is_recent() -> bool:
    # pyproject.toml's license = "MIT" (PEP 639) needs setuptools 77.
    from importlib.metadata import version

    try:
        return int(version("setuptools").split(".")[0]) >= 77
    except Exception:  # not installed, or an odd version string
        return False


def test_sdist_holds_the_tests_and_their_helpers(tmp_path: Path) -> None:
    if importlib.util.find_spec("build") is None or not _setuptools_is_recent():
        message = "building the sdist needs build and setuptools>=77 (bootstrap.sh, tox add them)"
        if os.environ.get("CI"):
            pytest.fail(f"required under CI: {message}")
        pytest.skip(message)
    done = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (archive,) = tmp_path.glob("ukeytool-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    missing = [
        need
        for need in NEEDED
        if not (any(n.startswith(need) for n in names) if need.endswith("/") else need in names)
    ]
    assert missing == []
    # every test module and helper of this checkout, and nothing compiled
    here = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "tests").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert here <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".so"))]
