"""Nothing raw reaches a terminal or a JSON document (issue 14): one function,
escape_control, for every line written to standard output and standard error, and the
same characters escaped in every JSON document; a file name that is not UTF-8 keeps its
bytes (``path_hex``).
"""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ukeytool
from ukeytool.cli import ExitCode
from ukeytool.model import text as model_text
from ukeytool.model.text import SURELY_PRINTABLE, candidates, escape_control, needs_escape
from ukeytool.rendering import json_values
from ukeytool.rendering.json import render_files_json
from ukeytool.rendering.json_values import escape_nonprinting
from ukeytool.testing.certs import Minted, to_pem

from .conftest import FIXED_NOW, Cli

DAY = __import__("datetime").timedelta(days=1)

HOSTILE = "\x1b[2J\x07\r\x85\x9b\u202e\u2028\u2029\ufeff\u200b\ue000\u0378"
"""ESC (clear screen), BEL, CR, NEL, CSI, RLO, LINE and PARAGRAPH SEPARATOR, BOM, a
zero-width space, a private-use and an unassigned character."""


def raw_left(text: str, *, newlines: bool = True) -> list[str]:
    """The characters of ``text`` that should have been escaped."""
    return sorted({ch for ch in text if needs_escape(ch) and not (newlines and ch == "\n")})


# --- the function ---------------------------------------------------------------------


def test_every_category_is_escaped_and_nothing_else() -> None:
    for ch, shown in [
        ("\x1b", "\\x1b"),
        ("\x07", "\\x07"),
        ("\n", "\\n"),
        ("\x85", "\\x85"),
        ("\u202e", "\\u202e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\ufeff", "\\ufeff"),
        ("\ue000", "\\ue000"),
        ("\U000e0001", "\\U000e0001"),
        ("\udcff", "\\xff"),  # a byte of a file name that is not UTF-8
        ("\ud800", "\\ud800"),
    ]:
        assert escape_control(f"a{ch}b") == f"a{shown}b", repr(ch)
    for kept in ["工行U盾", "\u3000", "\xa0", "é", "ß", "\u0301", "🔑", "ＡＢ", "한국"]:
        assert escape_control(kept) == kept


def test_the_surely_printable_ranges_hold_nothing_to_escape() -> None:
    # The pattern passes over these without a look: on this Python, none needs one.
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    passed_over = candidates(lines=False, color=False).sub("", every)
    assert len(passed_over) > 20_000  # CJK, Hangul, Latin: the bulk of real text
    assert [ch for ch in passed_over if needs_escape(ch)] == []
    assert SURELY_PRINTABLE.isascii()
    # and what is escaped is what Unicode calls control, format, surrogate, private use,
    # unassigned, or a line or paragraph separator
    for ch in ("\x00", "\x7f", "\u2028", "\u2029", "\u061c", "\U0010fffd"):
        assert needs_escape(ch)
        assert unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def test_escaping_twice_changes_nothing() -> None:
    once = escape_control(f"x{HOSTILE}y\udcfe")
    assert raw_left(once, newlines=False) == []
    assert escape_control(once) == once


def test_lines_and_colours() -> None:
    text = "a\x1b[31mred\x1b[0m\nb\x1b]0;title\x07\n"
    assert escape_control(text, lines=True, color=True) == (
        "a\x1b[31mred\x1b[0m\nb\\x1b]0;title\\x07\n"
    )
    assert escape_control(text, lines=True) == "a\\x1b[31mred\\x1b[0m\nb\\x1b]0;title\\x07\n"
    assert escape_control(text) == ("a\\x1b[31mred\\x1b[0m\\nb\\x1b]0;title\\x07\\n")


def count_lookups(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[str]:
    looked: list[str] = []
    real = module.needs_escape

    def counting(ch: str) -> bool:
        looked.append(ch)
        return bool(real(ch))

    monkeypatch.setattr(module, "needs_escape", counting)
    return looked


def test_json_escaping_looks_only_at_the_rare_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No per-character loop over the document: only characters outside the printable
    # ranges are looked at, however long the document.
    looked = count_lookups(monkeypatch, json_values)
    value = ("ASCII text, 工行U盾 签名证书 " * 20_000) + "\u2028\u2029\x85"
    text = json.dumps({"label": value, "n": [1, 2]}, ensure_ascii=False, indent=2)
    escaped = escape_nonprinting(text)
    assert len(looked) == 3
    assert json.loads(escaped) == {"label": value, "n": [1, 2]}
    assert raw_left(escaped) == []


def test_json_escapes_decode_to_the_same_value() -> None:
    value = f"x{HOSTILE}\U000e0001 中"
    text = escape_nonprinting(json.dumps({"v": value}, ensure_ascii=False))
    assert raw_left(text) == []
    assert "\\u2028" in text
    assert "\\udb40\\udc01" in text  # a character beyond U+FFFF as a surrogate pair
    assert json.loads(text) == {"v": value}


def test_json_never_holds_a_lone_surrogate() -> None:
    # Strict parsers refuse "\udcff"; the document shows the byte as text instead.
    name = os.fsdecode(b"caf\xe9.pem")
    text = escape_nonprinting(json.dumps({"path": name}, ensure_ascii=False))
    assert json.loads(text) == {"path": "caf\\xe9.pem"}
    text.encode("utf-8")  # strict: no surrogate left


# --- documents and the command line ---------------------------------------------------


@pytest.fixture(scope="module")
def certificate(mint_cached: Callable[..., Minted]) -> Minted:
    return mint_cached(
        subject_cn="escape", not_before=FIXED_NOW - 10 * DAY, not_after=FIXED_NOW + 300 * DAY
    )


def test_a_file_name_that_is_not_utf8_keeps_its_bytes(
    certificate: Minted, tmp_path: Path, cli: Any
) -> None:
    raw = bytes(tmp_path) + b"/caf\xe9\x1b.pem"
    with open(raw, "wb") as handle:
        handle.write(to_pem(certificate.der))
    name = os.fsdecode(raw)
    report = ukeytool.inspect_file(name, at=FIXED_NOW)
    text = render_files_json([report], generated_at=FIXED_NOW)
    text.encode("utf-8")  # no lone surrogate
    (file,) = json.loads(text)["files"]
    assert file["path"] == f"{tmp_path}/caf\\xe9\x1b.pem"
    assert bytes.fromhex(file["path_hex"]) == raw
    assert "\\u001b" in text

    code, out, err = cli("inspect-file", name, "--at", "2030-01-01T00:00:00Z")
    assert code == ExitCode.OK, err
    assert f"File {tmp_path}/caf\\xe9\\x1b.pem" in out
    assert raw_left(out) == []


@pytest.mark.parametrize("hostile", [HOSTILE, "x\nukeytool: error: fake", "\U000e0041"])
def test_an_error_line_about_a_path_is_one_escaped_line(cli: Any, hostile: str) -> None:
    code, _, err = cli("inspect-file", f"/nonexistent/{hostile}")
    assert code == ExitCode.USAGE
    assert err.count("\n") == 1
    assert err.startswith("ukeytool: error: file not found: /nonexistent/")
    assert raw_left(err) == []


def test_module_paths_in_errors_listings_and_json(cli: Any, tmp_path: Path) -> None:
    path = f"{tmp_path}/lib{HOSTILE}.so"
    for command in (
        ["list-tokens", "--module", path],
        ["list-tokens", "--module", path, "--json"],
        ["check", "--module", path],
        ["check", "--module", path, "--format", "json"],
        ["list-modules", "--module", path, "--no-catalogue"],
        ["list-modules", "--module", path, "--no-catalogue", "--json"],
    ):
        _, out, err = cli(*command, env={"PKCS11_MODULE": None})
        assert raw_left(out) == [], command
        assert raw_left(err) == [], command
        if "json" in command or "--json" in command:
            json.loads(out or "{}")
        elif command[0] == "check":
            assert out.startswith("UKEYTOOL UNKNOWN"), out


def test_list_modules_json_escapes_as_the_report_does(cli: Any, tmp_path: Path) -> None:
    path = f"{tmp_path}/lib\x9b\u202e\x85\ufeff\u2028.so"
    code, out, _ = cli("list-modules", "--module", path, "--no-catalogue", "--json")
    assert code == ExitCode.OK
    for escape in ("\\u009b", "\\u202e", "\\u0085", "\\ufeff", "\\u2028"):
        assert escape in out
    (module,) = [m for m in json.loads(out)["modules"] if m["path"] == path]
    assert module["path"] == path


def test_argparse_errors_are_escaped(cli: Any) -> None:
    code, _, err = cli("list-tokens", f"extra{HOSTILE}")
    assert code == ExitCode.USAGE
    assert err.count("\n") == 1
    assert raw_left(err) == []


def test_the_emitted_text_keeps_only_our_colours(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    from ukeytool.cli.output import emit

    emit("\x1b[31mred\x1b[0m \x1b]0;title\x07\u2028\n")
    out = capsysbinary.readouterr().out.decode("utf-8")
    assert out == "\x1b[31mred\x1b[0m \\x1b]0;title\\x07\\u2028\n"


def test_the_one_function_is_the_one_every_writer_uses() -> None:
    # Every place in the package that writes to standard output or standard error goes
    # through escape_control (or writes JSON through escape_nonprinting).
    root = Path(model_text.__file__).resolve().parent.parent
    writers = []
    for path in sorted(root.rglob("*.py")):
        if "testing" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ("sys.stderr.write(" in line or "sys.stdout.write(" in line) and (
                line.split("write(", 1)[1].rstrip(")").strip()
            ) != '"\\n"':
                writers.append((path.relative_to(root).as_posix(), number, line.strip()))
    unescaped = [w for w in writers if "escape_control(" not in w[2]]
    assert unescaped == [], unescaped


def test_library_warnings_are_escaped_and_said_once(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from ukeytool.config import discovery

    def noisy(**_kwargs: object) -> list[discovery.FoundModule]:
        log = logging.getLogger("ukeytool.config.p11kit")
        for _ in range(2):  # discovery and the renewal set-up may meet the same file
            log.warning("%s", "skipping /etc/pkcs11/modules/x\x1b[31m.module: bad line")
        return []

    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    monkeypatch.setattr(discovery, "discover", noisy)
    code, _out, err = cli("list-tokens")
    assert code == 2
    warned = [line for line in err.splitlines() if "bad line" in line]
    assert warned == ["skipping /etc/pkcs11/modules/x\\x1b[31m.module: bad line"]
