"""The repository itself: no file grows by accident (one commit once made CHANGELOG.md
51 MB by inserting an entry between every character)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 1024 * 1024


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        # An unpacked sdist is no git checkout: every file under the root counts.
        return [p for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]
    return [ROOT / name.decode() for name in out.split(b"\0") if name]


def test_no_tracked_file_is_over_one_megabyte() -> None:
    files = _tracked()
    assert files
    big = {str(p.relative_to(ROOT)): p.stat().st_size for p in files if p.is_file()}
    big = {name: size for name, size in big.items() if size > LIMIT}
    assert not big, f"files over 1 MB: {big}"


def test_the_changelog_has_each_entry_once() -> None:
    text = (ROOT / "CHANGELOG.md").read_text("utf-8")
    assert text.startswith("# Changelog\n")
    assert text.count("## [Unreleased]") == 1
    entries = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(entries) == len(set(entries))
