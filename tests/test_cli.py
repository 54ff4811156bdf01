"""The command line, in-process through main(argv) and once through `python -m ukeytool`."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ukeytool.cli import ExitCode, main
from ukeytool.cli.exits import ERROR_EXITS, PLUGIN_UNKNOWN, exit_code, failure_exit_code
from ukeytool.cli.inspection import no_match
from ukeytool.cli.options import Inspection, Selection
from ukeytool.cli.output import CANNOT_WRITE
from ukeytool.cli.reporting import PLUGIN, STANDARD, only_failures
from ukeytool.config.discovery import CatalogueError
from ukeytool.errors import (
    AuthenticationError,
    ModuleCallFailed,
    ModuleCrashed,
    ModuleError,
    TokenError,
    UkeytoolError,
    UsageError,
)
from ukeytool.i18n import using
from ukeytool.model import ModuleFailure
from ukeytool.rendering.check import CheckState

from .conftest import FIXED_NOW, Bank, Cli

AT = ["--at", "2030-01-01T00:00:00Z"]


@pytest.fixture
def bank_env(bank: Bank, monkeypatch: pytest.MonkeyPatch) -> Bank:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    return bank


def schema_validator() -> Draft202012Validator:
    text = (resources.files("ukeytool") / "schema" / "report.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


@pytest.mark.softhsm
def test_list_tokens_text(bank_env: Bank, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["list-tokens", "--module", str(bank_env.store.module_path), *AT])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    assert err == ""
    assert "工行U盾" in out
    assert "签名证书" in out
    assert bank_env.serial in out
    for word in ("valid", "expiring", "expired", "not yet valid", "unreadable", "SM2-256"):
        assert word in out, word
    assert "\x1b[" not in out  # captured output is not a terminal: no colour


@pytest.mark.softhsm
def test_list_tokens_json_matches_schema(
    bank_env: Bank, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PKCS11_MODULE", str(bank_env.store.module_path))
    code = main(["list-tokens", "--json", "--warn-days", "10", *AT])
    out, _ = capsys.readouterr()
    assert code == ExitCode.OK
    doc = json.loads(out)
    schema_validator().validate(doc)
    assert doc["at"].startswith("2030-01-01T00:00:00")
    assert doc["warn_days"] == 10
    tokens = [s["token"] for m in doc["modules"] for s in m["slots"] if s["token"]]
    bank_token = next(t for t in tokens if t["serial"] == bank_env.serial)
    assert bank_token["label"] == "工行U盾"
    assert bank_token["label_hex"] == "工行U盾".encode("gbk").hex()
    assert bank_token["pin_state"] == "ok"
    by_label = {c["label"]: c for c in bank_token["certificates"]}
    # with --warn-days 10, a certificate 20 days from expiry is valid
    assert by_label["expiring"]["status"] == "valid"
    assert by_label["expiring"]["days_left"] == 20
    assert by_label["expired"]["status"] == "expired"
    assert by_label["sign"]["id"] == "01"
    assert by_label["签名证书"]["key_algorithm"] == "SM2"
    assert by_label["empty"]["status"] == "unreadable"
    assert any(t["pin_state"] == "not_initialised" for t in tokens)


@pytest.mark.softhsm
def test_at_moves_the_judgement(bank_env: Bank, capsys: pytest.CaptureFixture[str]) -> None:
    module = str(bank_env.store.module_path)
    assert main(["list-tokens", "--module", module, "--json", "--at", "2030-06-01"]) == 0
    doc = json.loads(capsys.readouterr().out)
    token = next(
        s["token"]
        for s in doc["modules"][0]["slots"]
        if s["token"] and s["token"]["serial"] == bank_env.serial
    )
    statuses = {c["label"]: c["status"] for c in token["certificates"]}
    assert statuses["expiring"] == "expired"
    assert statuses["sign"] == "valid"
    assert statuses["future"] == "valid"


@pytest.mark.softhsm
def test_python_dash_m(bank: Bank) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ukeytool",
            "list-tokens",
            "--module",
            str(bank.store.module_path),
            "--json",
            *AT,
        ],
        env=bank.store.subprocess_env(),
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout.decode("utf-8"))
    schema_validator().validate(doc)
    assert done.stderr == b""


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (
            ["list-tokens", "--module", "/nonexistent/libvendor.so"],
            ExitCode.MODULE_UNUSABLE,
            "module not found",
        ),
        (
            ["list-tokens", "--module", "/etc/hostname"],
            ExitCode.MODULE_UNUSABLE,
            "not a shared library",
        ),
        (
            ["list-tokens", "--module", "/x.so", "--at", "yesterday"],
            ExitCode.USAGE,
            "not an ISO 8601",
        ),
        (
            ["list-tokens", "--module", "/x.so", "--warn-days", "-3"],
            ExitCode.USAGE,
            "whole number of days",
        ),
        (["list-tokens", "--bogus"], ExitCode.USAGE, "unrecognized arguments"),
        ([], ExitCode.USAGE, "no command given"),
    ],
)
def test_user_errors_are_one_line(
    argv: list[str],
    code: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert out == ""
    lines = [line for line in err.splitlines() if not line.startswith("usage:")]
    assert len(lines) == 1, err
    assert message in lines[0]
    assert "Traceback" not in err


def test_module_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-tokens", "--module", str(tmp_path)]) == ExitCode.MODULE_UNUSABLE
    assert "is a directory" in capsys.readouterr().err


def test_fixed_moment_is_the_one_the_fixtures_use() -> None:
    assert FIXED_NOW.isoformat() == "2030-01-01T00:00:00+00:00"


@pytest.mark.softhsm
def test_details_show_fingerprints_and_name_attributes(
    bank_env: Bank, capsys: pytest.CaptureFixture[str]
) -> None:
    module = str(bank_env.store.module_path)
    code = main(["list-tokens", "--module", module, "--details", *AT])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    fingerprint = hashlib.sha256(bank_env.certs["valid"].der).hexdigest()
    assert fingerprint in out.replace(":", "").lower()
    assert "PrintableString" in out or "UTF8String" in out
    plain = main(["list-tokens", "--module", module, *AT])
    short, _ = capsys.readouterr()
    assert plain == ExitCode.OK
    assert fingerprint not in short.replace(":", "").lower()


# --- exit codes and error lines -------------------------------------------------------


def test_exit_codes_by_class_through_the_mro() -> None:
    class VendorQuirk(ModuleError):
        """A subclass no table lists exits as its nearest listed base."""

    call = ModuleCallFailed("x", path="/m.so", function="C_Initialize", code=6, code_name="X")
    assert exit_code(call) == ExitCode.MODULE_FAILED  # a ModuleError, but the closer entry
    assert exit_code(VendorQuirk("x", path="/m.so")) == ExitCode.MODULE_UNUSABLE
    assert exit_code(CatalogueError("x", path="/c.json")) == ExitCode.USAGE
    assert exit_code(AuthenticationError) == ExitCode.INCOMPLETE  # via TokenError
    assert exit_code(TokenError) == exit_code(UkeytoolError) == ExitCode.INCOMPLETE
    assert failure_exit_code("ModuleCrashed") == ERROR_EXITS[ModuleCrashed]
    assert failure_exit_code("NotASharedLibrary") == ExitCode.MODULE_UNUSABLE
    assert failure_exit_code("NoSuchError") == ExitCode.MODULE_UNUSABLE
    assert failure_exit_code("UsageError") == ExitCode.MODULE_UNUSABLE  # not a module's
    assert PLUGIN_UNKNOWN == CheckState.UNKNOWN


def test_errors_the_cli_raises_are_messages_with_codes() -> None:
    options = Inspection.from_args(
        argparse.Namespace(
            module=None,
            warn_days=30,
            at=None,
            uri=None,
            token_label=None,
            serial=None,
            output=None,
            login=False,
            allow_final_try=False,
            trace=False,
            show_personal_data=False,
            no_isolation=True,
            timeout=5.0,
            bank=None,
            renewal_policies=None,
        )
    )
    with pytest.raises(UsageError) as caught:
        options.isolation()
    assert caught.value.message.code == "cli.timeout_needs_isolation"
    wanted = no_match(Selection(uri="pkcs11:token=a", label="工行U盾: 1", serial="0, 1"))
    assert str(wanted) == "URI 'pkcs11:token=a' and label '工行U盾: 1' and serial '0, 1'"
    assert wanted.render("zh") == "URI 'pkcs11:token=a' 且 标签 '工行U盾: 1' 且 序列号 '0, 1'"
    assert [m.code for m in wanted.walk()] == [
        "select.criterion.and",
        "cli.wanted.uri",
        "select.criterion.and",
        "select.criterion.label",
        "select.criterion.serial",
    ]


def test_error_lines_render_the_message_and_keep_its_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = "/home/用户/bank: 2024/ukeytool (v2), final.prom"
    error = UsageError(CANNOT_WRITE(path=path, reason="No such file or directory"))
    with using("zh"):
        assert STANDARD.error(error) == ExitCode.USAGE
        assert PLUGIN.error(error) == 3
    out, err = capsys.readouterr()
    assert err == f"ukeytool：错误：无法写入 {path}：No such file or directory\n"
    assert out == f"UKEYTOOL UNKNOWN - 无法写入 {path}：No such file or directory\n"
    assert STANDARD.error(error) == ExitCode.USAGE
    assert capsys.readouterr().err == (
        f"ukeytool: error: cannot write {path}: No such file or directory\n"
    )


def test_module_failures_are_rendered_and_text_is_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    failures = [
        ModuleFailure("/a.so", "ModuleError", CANNOT_WRITE(path="/a: b", reason="r")),
        ModuleFailure("/b.so", "ModuleTimedOut", "a sentence from other software: (x), y"),
    ]
    with using("zh"):
        assert only_failures(failures) == ExitCode.MODULE_TIMED_OUT
    assert capsys.readouterr().err.splitlines() == [
        "ukeytool：错误：无法写入 /a: b：r",
        "ukeytool：错误：a sentence from other software: (x), y",
    ]


def test_internal_error_shows_the_exception_text_as_it_is(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's words are never matched against ukeytool's templates, even when they
    # look like one of them.
    monkeypatch.delenv("UKEYTOOL_DEBUG", raising=False)
    with using("zh"):
        assert STANDARD.internal(RuntimeError("cannot write x: y")) == ExitCode.INTERNAL
        assert PLUGIN.internal(KeyError("k")) == 3
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("ukeytool：错误：内部错误：RuntimeError：cannot write x: y（")
    assert lines[1].startswith("ukeytool：错误：内部错误：KeyError：'k'（")


def test_commands_share_their_options_and_dispatch_by_defaults() -> None:
    from ukeytool.cli import build_parser, check, inspect_file, list_modules, list_tokens, watch

    parser = build_parser()
    assert parser.commands is not None
    commands = parser.commands.choices
    modules = {
        "list-tokens": list_tokens,
        "check": check,
        "list-modules": list_modules,
        "inspect-file": inspect_file,
        "watch": watch,
    }
    assert set(commands) == set(modules)
    for name, command in commands.items():
        assert command.get_default("run") is modules[name].run
        assert command.get_default("reporter") is (PLUGIN if name == "check" else STANDARD)
    assert commands["check"].usage_exit_code == 3
    assert commands["list-tokens"].usage_exit_code == ExitCode.USAGE

    def option(command: str, flag: str) -> argparse.Action:
        return next(a for a in commands[command]._actions if flag in a.option_strings)

    # Inherited from one declaration, not copied: the very same argparse action; check's
    # come from the same declaration made with the plugins' short options and timeout.
    assert option("list-tokens", "--timeout").option_strings == ["--timeout"]
    assert option("check", "--timeout").option_strings == ["-t", "--timeout"]
    assert option("check", "--warn-days").option_strings == ["-w", "--warn-days"]
    assert option("check", "--crit-days").option_strings == ["-c", "--crit-days"]
    assert option("list-tokens", "--warn-days") is option("inspect-file", "--warn-days")
    assert option("list-tokens", "--at") is option("inspect-file", "--at")
    assert option("list-tokens", "--color") is option("inspect-file", "--color")
    langs = {id(option(name, "--lang")) for name in commands}
    assert len(langs) == 1


# --- every list of exit codes agrees with the code's own table ------------------------

ROOT = Path(__file__).resolve().parents[1]
LISTING_CODES = sorted(int(code) for code in ExitCode)
CHECK_CODES = sorted(int(state) for state in CheckState)  # Ctrl-C and SIGTERM are UNKNOWN
INSPECT_FILE_CODES = sorted(
    int(code)
    for code in (
        ExitCode.OK,
        ExitCode.INTERNAL,
        ExitCode.USAGE,
        ExitCode.INCOMPLETE,
        ExitCode.INTERRUPTED,
        ExitCode.TERMINATED,
    )
)


def section(path: str, heading: str) -> str:
    """The text of a Markdown file from ``heading`` to the next heading of its level."""
    text = (ROOT / path).read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    level = heading.split(" ", 1)[0]
    end = text.find(f"\n{level} ", start + len(heading) + 2)
    return text[start : end if end != -1 else len(text)]


def table_codes(markdown: str) -> list[list[int]]:
    """The codes in the first column of each Markdown table, table by table."""
    tables: list[list[int]] = []
    inside = False
    for line in markdown.splitlines():
        match = re.match(r"\|\s*`?(\d+)`?\s*\|", line)
        if match:
            if not inside:
                tables.append([])
            tables[-1].append(int(match[1]))
        inside = bool(match) or (inside and line.startswith("|"))
    return tables


def help_codes(text: str, start: str, end: str | None = None) -> list[int]:
    """The codes at the start of the lines of ``--help`` between two lines."""
    lines = text.splitlines()
    first = lines.index(start) + 1
    last = next((i for i in range(first, len(lines)) if end and lines[i].startswith(end)), None)
    return [
        int(match[1])
        for line in lines[first:last]
        if (match := re.match(r"\s*(\d+)\s{2,}\S", line))
    ]


def test_exit_codes_agree_everywhere(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # The README: a table for list-tokens, one for check, a sentence for inspect-file.
    readme = section("README.md", "### Exit codes")
    assert table_codes(readme) == [LISTING_CODES, CHECK_CODES]
    files = readme[readme.index("`inspect-file` exits with") :].split("\n\n", 1)[0]
    assert sorted(int(code) for code in re.findall(r"`(\d+)`", files)) == INSPECT_FILE_CODES
    # The command line's reference: the tables, and the summary at its top.
    reference = section("docs/cli.md", "## Exit codes")
    assert table_codes(reference) == [LISTING_CODES, INSPECT_FILE_CODES, CHECK_CODES]
    summary = (ROOT / "docs/cli.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    for command, expected in (("list-tokens", LISTING_CODES), ("check", CHECK_CODES)):
        row = next(line for line in summary.splitlines() if line.startswith(f"| `{command}`"))
        cell = re.search(r"\[([^\]]*)\]\(#", row)
        assert cell, row
        listed: list[int] = []
        for low, high in re.findall(r"(\d+)(?:-(\d+))?", cell[1]):
            listed.extend(range(int(low), int(high or low) + 1))
        assert listed == expected, command
    assert table_codes(section("docs/monitoring.md", "### Exit codes")) == [CHECK_CODES]
    # A run in which no module could be inspected exits with the worst failure's code.
    failures = sorted(
        {int(code) for cls, code in ERROR_EXITS.items() if issubclass(cls, ModuleError)}
    )
    said = ", ".join(map(str, failures[:-1])) + f" or {failures[-1]}"
    json_doc = (ROOT / "docs/json.md").read_text(encoding="utf-8")
    assert f"exits with the code of the worst failure,\n{said} " in json_doc
    assert "3 or 4" not in json_doc
    # --help, as the installed command shows it.
    monkeypatch.setenv("COLUMNS", "200")
    for argv in ([], ["list-tokens"], ["list-modules"]):
        _code, text, _err = cli(*argv, "--help")
        listing = help_codes(text, "exit codes (list-tokens, list-modules):", "exit codes (check)")
        assert listing == LISTING_CODES, argv
        plugin = re.search(r"exit codes \(check\): (.*)", text)
        assert plugin, argv
        states = dict(re.findall(r"(\d) ([A-Z]+)", plugin[1]))
        assert states == {str(int(state)): state.name for state in CheckState}
    _code, text, _err = cli("check", "--help")
    assert help_codes(text, "exit codes, as a Nagios/Icinga plugin:", "performance") == (
        CHECK_CODES
    )
    _code, text, _err = cli("inspect-file", "--help")
    assert help_codes(text, "exit codes:") == INSPECT_FILE_CODES


@pytest.mark.softhsm
def test_demo_prints_commands_that_work_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ukeytool.testing import demo

    monkeypatch.chdir(ROOT)
    assert demo.main([str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    use = lines[lines.index("Use it with:") + 1 :]
    export, listing = use[0].strip(), use[1].strip()
    assert export.startswith("export SOFTHSM2_CONF=")
    command = demo.ukeytool_command()
    assert listing.startswith(f"{command} list-tokens --module ")
    # Beside this test's Python (.venv/bin under `make demo`): a path, not the PATH.
    if (Path(sys.executable).parent / "ukeytool").is_file():
        assert "/" in command
        assert f"(or '. {Path(command).parent / 'activate'}' once, then plain 'ukeytool')" in out
    done = subprocess.run(
        f"{export} && {listing} --at 2030-01-01",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "工行U盾" in done.stdout


def test_demo_command_outside_a_virtual_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ukeytool.testing import demo

    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python3"))
    assert demo.ukeytool_command() == "ukeytool"
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "ukeytool").write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert demo.ukeytool_command() == "bin/ukeytool"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert demo.ukeytool_command() == str(tmp_path / "bin" / "ukeytool")
