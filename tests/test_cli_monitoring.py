"""The CLI's ecosystem side: check exit codes, Prometheus, selection, several modules,
discovery and --trace, against the bank token of conftest (judged at FIXED_NOW)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ukeytool.cli import ExitCode
from ukeytool.config import discovery
from ukeytool.config.discovery import FoundModule

from .conftest import Bank, Cli

pytestmark = pytest.mark.softhsm

AT = ["--at", "2030-01-01T00:00:00Z"]


@pytest.fixture
def module(bank: Bank, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    return str(bank.store.module_path)


@pytest.fixture
def registry(module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A p11-kit registry of the test's own that registers SoftHSM alone, and an empty
    module catalogue: discovery finds what the test put there, whatever the machine has
    registered (a module that cannot initialise would otherwise fail the run)."""
    registry = tmp_path / "p11-kit" / "modules"
    registry.mkdir(parents=True)
    (registry / "softhsm2.module").write_text(f"module: {module}\n", encoding="utf-8")
    catalogue = tmp_path / "modules.json"
    catalogue.write_text('{"version": 1, "modules": []}', encoding="utf-8")
    real = discovery.discover

    def hermetic(**kwargs: Any) -> list[FoundModule]:
        kwargs.setdefault("p11kit_dirs", [registry])
        if kwargs.get("catalogue_paths") is None:
            kwargs["catalogue_paths"] = [catalogue]
        return real(**kwargs)

    monkeypatch.setattr(discovery, "discover", hermetic)
    return registry


@pytest.mark.parametrize(
    ("extra", "state"),
    [
        (["--token-label", "second"], 0),  # 365 days left
        (["--token-label", "second", "--warn-days", "400"], 1),
        (["--token-label", "second", "--warn-days", "400", "--crit-days", "365"], 2),
        (["--serial", "SERIAL"], 2),  # the bank token: one certificate expired
    ],
)
def test_check_exit_codes(module: str, bank: Bank, cli: Cli, extra: list[str], state: int) -> None:
    extra = [bank.serial if word == "SERIAL" else word for word in extra]
    code, out, _ = cli("check", "--module", module, *AT, *extra)
    assert code == state
    first = out.splitlines()[0]
    assert first.startswith(f"UKEYTOOL {['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'][state]} - ")
    assert "|" in first  # performance data: days left per certificate


def test_check_json_agrees_with_exit_code(module: str, bank: Bank, cli: Cli) -> None:
    code, out, _ = cli("check", "--module", module, *AT, "--format", "json")
    doc = json.loads(out)
    assert code == 2
    assert doc["state_code"] == code
    assert doc["state"] == "CRITICAL"


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--module", "/nonexistent/libvendor.so"],
        ["check", "--bogus"],
        ["check", "--module", "/x.so", "--crit-days", "40"],
        ["check", "--module", "/x.so", "--uri", "pkcs11:token=%zz"],
    ],
)
def test_check_trouble_is_unknown(argv: list[str], cli: Cli) -> None:
    code, out, err = cli(*argv)
    assert code == 3
    assert "Traceback" not in out + err


def test_prometheus_output_parses(module: str, cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "ukeytool.prom"
    code, out, _ = cli(
        "list-tokens",
        "--module",
        module,
        *AT,
        "--format",
        "prometheus",
        "--output",
        str(target),
    )
    assert code == 0
    assert out == ""
    families = {f.name: f for f in text_string_to_metric_families(target.read_text("utf-8"))}
    assert "ukeytool_certificate_not_after_timestamp_seconds" in families
    assert families["ukeytool_module_read_success"].samples[0].value == 1
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_selection_by_uri_label_and_serial(module: str, bank: Bank, cli: Cli) -> None:
    def tokens(*selection: str) -> list[str]:
        code, out, err = cli("list-tokens", "--module", module, *AT, "--json", *selection)
        assert code == 0, err
        doc = json.loads(out)
        return [s["token"]["serial"] for m in doc["modules"] for s in m["slots"] if s["token"]]

    assert tokens("--token-label", "工行U盾") == [bank.serial]
    assert tokens("--serial", bank.second_serial) == [bank.second_serial]
    assert tokens("--uri", "pkcs11:token=%B9%A4%D0%D0U%B6%DC") == [bank.serial]
    # the UTF-8 spelling of the label is other bytes than the GBK ones on the token
    code, _, err = cli("list-tokens", "--module", module, "--uri", "pkcs11:token=工行U盾")
    assert code == ExitCode.USAGE
    assert "no token matches" in err


def test_bad_uri_is_one_line(module: str, cli: Cli) -> None:
    code, out, err = cli("list-tokens", "--module", module, "--uri", "pkcs11:token=%zz")
    assert code == ExitCode.USAGE
    assert out == ""
    assert len(err.splitlines()) == 1


def test_several_modules_one_missing(module: str, bank: Bank, cli: Cli, tmp_path: Path) -> None:
    missing = str(tmp_path / "libgone.so")
    code, out, _ = cli("list-tokens", "--module", missing, "--module", module, *AT, "--json")
    assert code == ExitCode.INCOMPLETE
    doc = json.loads(out)
    assert [f["kind"] for f in doc["failed_modules"]] == ["ModuleNotFound"]
    assert [m["path"] for m in doc["modules"]] == [module]
    assert doc["complete"] is False


def test_only_failing_modules(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli(
        "list-tokens", "--module", str(tmp_path / "a.so"), "--module", str(tmp_path)
    )
    assert code == ExitCode.MODULE_UNUSABLE
    assert out == ""
    assert len(err.splitlines()) == 2


def test_discovery_is_used_and_said(module: str, registry: Path, bank: Bank, cli: Cli) -> None:
    # No --module, no PKCS11_MODULE: the test's p11-kit registry lists SoftHSM.
    code, out, err = cli("list-tokens", *AT, "--json")
    assert code == 0, err
    source = f"p11-kit:{registry / 'softhsm2.module'}"
    assert err == (f"ukeytool: no module given; using 1 found by discovery: {module} ({source})\n")
    doc = json.loads(out)
    assert [m["path"] for m in doc["modules"]] == [module]
    serials = [s["token"]["serial"] for m in doc["modules"] for s in m["slots"] if s["token"]]
    assert bank.serial in serials


def test_nothing_discovered(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty machine cannot be made here without hiding the real registry.
    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    monkeypatch.setattr("ukeytool.config.discovery.discover", lambda **_: [])
    code, out, err = cli("list-tokens")
    assert code == ExitCode.USAGE
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "--module" in err


def test_list_modules(module: str, registry: Path, cli: Cli) -> None:
    code, out, _ = cli("list-modules", "--json")
    assert code == 0
    found = json.loads(out)["modules"]
    assert [(m["path"], m["usable"]) for m in found] == [(module, True)]
    code, out, _ = cli("list-modules", "--module", "/nonexistent/x.so")
    assert code == 0
    assert "/nonexistent/x.so  [not used: problem]  from option" in out


def test_trace_shows_every_call(module: str, cli: Cli) -> None:
    code, _, err = cli("list-tokens", "--module", module, *AT, "--trace")
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("ukeytool trace: ")]
    names = {line.split()[2].split("(")[0] for line in lines}
    assert {
        "C_Initialize",
        "C_GetSlotList",
        "C_GetTokenInfo",
        "C_FindObjects",
        "C_GetAttributeValue",
        "C_Finalize",
    } <= names
    assert all(" -> CKR_" in line and line.endswith(" ms]") for line in lines)


# --- monitoring-plugin conventions and the pkcs11: URI operand ------------------------

BANK_URI = "pkcs11:token=%B9%A4%D0%D0U%B6%DC"


def test_short_options_are_the_long_ones(module: str, cli: Cli) -> None:
    common = ["check", "--module", module, *AT, "--token-label", "second"]
    long = cli(*common, "--warn-days", "400", "--crit-days", "365", "--timeout", "20")
    short = cli(*common, "-w", "400", "-c", "365", "-t", "20")
    assert long == short
    assert short[0] == 2
    assert short[1].startswith("UKEYTOOL CRITICAL - ")
    assert ";401:;366: " in short[1].splitlines()[0] + " "


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["list-tokens"], (True, 60.0)),
        (["check"], (True, 50.0)),  # below the 60 s Nagios, Icinga and NRPE give a check
        (["check", "-t", "5"], (True, 5.0)),
        (["check", "--timeout", "0"], (True, None)),
        (["check", "--no-isolation"], (False, None)),
    ],
)
def test_default_timeouts(
    argv: list[str],
    expected: tuple[bool, float | None],
    module: str,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ukeytool.pkcs11 import inspect

    seen: dict[str, Any] = {}
    real = inspect.inspect_modules

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(inspect, "inspect_modules", recording)
    code, _, err = cli(*argv, "--module", module, *AT, "--token-label", "second")
    assert code == 0, err
    assert (seen["isolate"], seen["timeout"]) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--bogus"],
        ["--lang", "en", "check", "-w"],
        ["check", "-w", "soon"],
        ["check", "-t", "-1"],
        ["check", "--at", "yesterday", "--module", "/x.so"],
        ["check", "--module", "/x.so", "-c", "40"],  # found after parsing
        ["check", "--module", "/x.so", "pkcs11:token=a", "pkcs11:token=b"],
        ["check", "--module", "/x.so", "tokens"],
    ],
)
def test_check_usage_error_is_an_unknown_status_line(argv: list[str], cli: Cli) -> None:
    code, out, err = cli(*argv)
    assert code == 3
    # One status line for the monitoring system; argparse's error also for a person.
    assert out.count("\n") == 1
    assert out.startswith("UKEYTOOL UNKNOWN - ")
    if "check: error: " in out or "ukeytool: error: " in out:
        assert out == f"UKEYTOOL UNKNOWN - {err}"
    else:  # found once the check runs: on the status line alone, as every other error
        assert err == ""


def test_uri_operand_selects_as_uri_does(module: str, bank: Bank, cli: Cli) -> None:
    base = ["--module", module, *AT]

    def run(*argv: str) -> tuple[int, Any, str]:
        # SoftHSM lists a token's objects in another order on each load, and JSON has
        # the moment of the run: compare what was selected, not the order.
        code, out, err = cli(*argv)
        if "--json" in argv:
            doc = json.loads(out)
            shown: Any = sorted(
                (s["token"]["serial"], c["id"], c["status"])
                for m in doc["modules"]
                for s in m["slots"]
                if s["token"]
                for c in s["token"]["certificates"]
            )
        elif argv[0] == "check":
            status, _bar, perfdata = out.splitlines()[0].partition("|")
            shown = (status, sorted(perfdata.split()), sorted(out.splitlines()[1:]))
        else:
            shown = sorted(out.splitlines())
        return code, shown, err

    for command, extra in (("list-tokens", []), ("list-tokens", ["--json"]), ("check", [])):
        by_option = run(command, *base, *extra, "--uri", BANK_URI)
        by_operand = run(command, *base, *extra, BANK_URI)
        operand_first = run(command, BANK_URI, *base, *extra)
        assert by_operand == by_option == operand_first
        # Given both, the same URI (spelled differently) is fine.
        same = "pkcs11:token=%b9%a4%d0%d0%55%b6%dc"
        assert run(command, *base, *extra, "--uri", same, BANK_URI) == by_option
    code, out, _ = cli("list-tokens", *base, "--json", BANK_URI)
    doc = json.loads(out)
    serials = [s["token"]["serial"] for m in doc["modules"] for s in m["slots"] if s["token"]]
    assert (code, serials) == (0, [bank.serial])
    code, out, _ = cli("list-tokens", *base, BANK_URI)
    assert bank.serial in out
    assert bank.second_serial not in out
    code, out, _ = cli("check", *base, BANK_URI)
    assert code == 2  # the bank token has an expired certificate; the second one is fine
    assert "second" not in out


def test_uri_operand_errors(module: str, cli: Cli) -> None:
    base = ["list-tokens", "--module", module, *AT]
    code, out, err = cli(*base, "--uri", "pkcs11:token=second", BANK_URI)
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == (
        f"ukeytool: error: the URI operand '{BANK_URI}' and --uri 'pkcs11:token=second' "
        "differ; give one of them\n"
    )
    code, out, err = cli(*base, "second")
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == (
        "ukeytool: error: 'second' is not a pkcs11: URI; the one operand is a URI such as "
        "'pkcs11:token=NAME' (the same as --uri)\n"
    )
    code, _, err = cli(*base, BANK_URI, "pkcs11:token=second")
    assert code == ExitCode.USAGE
    assert "unrecognized arguments: pkcs11:token=second" in err
    code, _, err = cli(*base, "pkcs11:token=%zz")
    assert code == ExitCode.USAGE
    assert len(err.splitlines()) == 1
