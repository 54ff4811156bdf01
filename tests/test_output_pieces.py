"""Output in pieces (issue 12): `list-tokens --json` writes the document as it is made,
piece by piece, each escaped as the whole would be, to standard output or atomically to
--output; the bytes are those of the document written at once."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ukeytool.cli.output import emit

from .conftest import Bank, Cli

PIECES = (
    "plain\n",
    "中文 \x1b[1mbold\x1b[0m and a bare \x1b",
    " ESC, U+202E \u202e, a lone surrogate \udcff, ",
    "a newline\nand a tab\t, U+2028 \u2028 end\n",
)


class _Stdout:
    """Standard output whose binary writes are recorded one by one."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.buffer = self

    def write(self, data: bytes) -> int:
        self.writes.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def _written(monkeypatch: pytest.MonkeyPatch, text: str | Iterator[str]) -> list[bytes]:
    stdout = _Stdout()
    with monkeypatch.context() as patch:
        patch.setattr("sys.stdout", stdout)
        emit(text)
    return stdout.writes


def test_pieces_give_the_bytes_of_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = b"".join(_written(monkeypatch, "".join(PIECES)))
    writes = _written(monkeypatch, iter(PIECES))
    assert len(writes) == len(PIECES)  # each as it came
    assert b"".join(writes) == whole
    assert b"\\x1b ESC" in whole
    assert b"\x1b[1m" in whole


def test_utf8_pieces_are_written_as_they_are(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A clean document's pieces may be UTF-8 already (iter_json_utf8's): written as
    they are, to standard output and to a file, the bytes of the same text in str."""
    text = '{"证书": "\\u202e x"}\n'
    utf8 = [text[:3].encode(), text[3:].encode()]
    stdout = _Stdout()
    with monkeypatch.context() as patch:
        patch.setattr("sys.stdout", stdout)
        emit(iter(utf8), clean=True)
    assert stdout.writes == utf8
    target = tmp_path / "out.json"
    mixed: list[str | bytes] = [text[:3], text[3:].encode()]
    emit(iter(mixed), str(target), clean=True)
    assert target.read_bytes() == text.encode()


def test_pieces_to_a_file_are_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    emit(iter(PIECES), str(target))
    whole = tmp_path / "whole.json"
    emit("".join(PIECES), str(whole))
    assert target.read_bytes() == whole.read_bytes()

    def failing() -> Iterator[str]:
        yield "half a document"
        raise RuntimeError("made up")

    with pytest.raises(RuntimeError):
        emit(failing(), str(target))
    # The old file stays whole, and no temporary file is left behind.
    assert target.read_bytes() == whole.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["out.json", "whole.json"]


def test_list_tokens_json_is_written_as_it_is_made(
    bank: Bank, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line never builds the document whole (render_json is not called),
    and what it writes, to standard output or to a file, is render_json's document."""
    import ukeytool.rendering.json as rendering_json

    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    argv = ("list-tokens", "--json", "--at", "2030-01-01T00:00:00Z")
    argv += ("--module", str(bank.store.module_path), "--no-isolation")
    made: list[str] = []
    real_iter = rendering_json.iter_json_utf8

    def iter_json_utf8(*args: object, **kwargs: object) -> Iterator[bytes]:
        made.append(b"".join(real_iter(*args, **kwargs)).decode())  # type: ignore[arg-type]
        # ... and the same text as iter_json's str pieces.
        assert "".join(rendering_json.iter_json(*args, **kwargs)) == made[-1]  # type: ignore[arg-type]
        return real_iter(*args, **kwargs)  # type: ignore[arg-type]

    def render_json(*args: object, **kwargs: object) -> str:
        raise AssertionError("the whole document was built")

    monkeypatch.setattr(rendering_json, "iter_json_utf8", iter_json_utf8)
    monkeypatch.setattr(rendering_json, "render_json", render_json)
    code, out, err = cli(*argv)
    assert (code, out, err) == (0, made[-1], "")
    assert json.loads(out)["modules"]
    target = tmp_path / "tokens.json"
    code, out, err = cli(*argv, "--output", str(target))
    assert (code, out, err) == (0, "", "")
    assert target.read_text(encoding="utf-8") == made[-1]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644 & ~_umask())


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old
