"""--output writes regular files only (issue 14): anything else that exists is refused
with one clear line and left as it was; a new file gets 0644 less the umask, a replaced
one its permission bits only; the write stays atomic."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ukeytool.cli.output import emit
from ukeytool.errors import UsageError

from .conftest import Bank, Cli

REFUSED = (
    "exists and is not a regular file (a directory, a device, a FIFO, a socket or a "
    "symbolic link to one); ukeytool replaces regular files only"
)


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def not_regular(tmp_path: Path, kind: str) -> Path:
    target = tmp_path / f"target-{kind}"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    elif kind == "link-to-device":
        target.symlink_to("/dev/null")  # never /dev/null itself: a bug would clobber it
    elif kind == "link-to-fifo":
        os.mkfifo(tmp_path / "fifo")
        target.symlink_to(tmp_path / "fifo")
    return target


@pytest.mark.parametrize("kind", ["fifo", "directory", "link-to-device", "link-to-fifo"])
def test_a_target_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    target = not_regular(tmp_path, kind)
    before = sorted(os.listdir(tmp_path))
    kind_before = os.lstat(target).st_mode
    with pytest.raises(UsageError) as refused:
        emit("text\n", str(target))  # a FIFO with no reader would hang an open(): none
    assert str(refused.value) == f"--output {target} {REFUSED}"
    assert refused.value.message.code == "cli.output_not_regular"
    assert sorted(os.listdir(tmp_path)) == before  # no temporary file left
    assert os.lstat(target).st_mode == kind_before


def test_a_link_to_standard_output_is_refused(tmp_path: Path) -> None:
    # In a child whose standard output is a pipe (pytest's own is a regular file).
    target = tmp_path / "out"
    target.symlink_to("/proc/self/fd/1")
    code = "import sys; from ukeytool.cli.output import emit; emit('x', sys.argv[1])"
    done = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, check=False
    )
    assert "UsageError" in done.stderr
    assert REFUSED in done.stderr
    assert done.stdout == ""
    assert target.is_symlink()


def test_a_new_file_gets_0644_less_the_umask(tmp_path: Path, umask_027: None) -> None:
    target = tmp_path / "new.prom"
    emit("new\n", str(target))
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.parametrize(("before", "after"), [(0o6755, 0o755), (0o1666, 0o666), (0o600, 0o600)])
def test_a_replaced_file_keeps_its_permission_bits_only(
    tmp_path: Path, before: int, after: int
) -> None:
    target = tmp_path / "old.prom"
    target.write_text("old\n")
    target.chmod(before)
    inode = target.stat().st_ino
    emit("new\n", str(target))
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == after
    assert target.stat().st_ino != inode  # renamed over: atomic
    assert os.listdir(tmp_path) == ["old.prom"]


@pytest.mark.softhsm
def test_the_commands_say_so_in_one_line(
    bank: Bank, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    module = str(bank.store.module_path)
    fifo = not_regular(tmp_path, "fifo")
    at = ("--at", "2030-01-01T00:00:00Z", "--module", module, "--output", str(fifo))
    code, out, err = cli("list-tokens", *at)
    assert (code, out, err) == (2, "", f"ukeytool: error: --output {fifo} {REFUSED}\n")
    code, out, err = cli("check", *at)
    assert (code, out, err) == (3, f"UKEYTOOL UNKNOWN - --output {fifo} {REFUSED}\n", "")
