"""Odd values (issue 14): every option value outside its range is a usage error naming the
option and the range; configuration files are opened only when they are regular files,
with a bounded read; a broken catalogue is a warning in every command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ukeytool.config import discovery
from ukeytool.config.discovery import discover
from ukeytool.config.jsonfile import JsonFileProblem, read_json_file

from .conftest import Bank, Cli

AT_RANGE = "1900-01-01 to 9000-12-31T23:59:59 (UTC)"
NOT_REGULAR = (
    "not a regular file (a FIFO, a device, a directory or a socket); a configuration file "
    "must be a regular file"
)


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--at", "0001-01-01T00:00:00+14:00", f"outside the range {AT_RANGE}"),
        ("--at", "9999-12-31", f"outside the range {AT_RANGE}"),
        ("--at", "1899-12-31T23:59:59Z", "outside the range 1900-01-01"),
        ("--warn-days", "1000000000", "outside the range 0 to 36500 days"),
        ("--warn-days", "36501", "outside the range 0 to 36500 days"),
        ("--timeout", "1e308", "outside the range 0 to 86400 seconds"),
        ("--timeout", "nan", "is not a number of seconds >= 0"),
        ("--timeout", "86401", "outside the range 0 to 86400 seconds"),
    ],
)  # fmt: skip
def test_a_value_outside_its_range_is_a_usage_error(
    cli: Cli, option: str, value: str, says: str
) -> None:
    for command, code in (("list-tokens", 2), ("check", 3)):
        result, out, err = cli(command, "--module", "/nonexistent/lib.so", option, value)
        assert result == code
        (line,) = [x for x in err.splitlines() if "error:" in x]
        assert f"argument {option}: {value!r} " in line or f"/{option}: {value!r} " in line
        assert says in line
        # a plugin's usage error is on its status line too
        assert out == ("" if command == "list-tokens" else f"UKEYTOOL UNKNOWN - {line}\n")
        assert "internal error" not in err


def test_inspect_file_days_have_the_same_range(cli: Cli, tmp_path: Path) -> None:
    code, _out, err = cli("inspect-file", str(tmp_path / "x.pem"), "--warn-days", "36501")
    assert code == 2
    assert "argument --warn-days: '36501' is outside the range 0 to 36500 days" in err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--at", "1900-01-01"), ("--at", "9000-12-31T23:59:59Z"), ("--warn-days", "36500"),
     ("--crit-days", "0"), ("--timeout", "86400"), ("--timeout", "0")],
)  # fmt: skip
def test_the_ends_of_each_range_are_accepted(cli: Cli, option: str, value: str) -> None:
    code, _out, err = cli("check", "--module", "/nonexistent/lib.so", option, value)
    assert "argument" not in err, err  # past the parser: the module is what is missing
    assert code == 3


# --- configuration files ----------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo.json"
    os.mkfifo(path)
    return path


def test_a_fifo_is_not_read(fifo: Path, tmp_path: Path) -> None:
    # Opening a FIFO for reading waits for a writer: this would hang if it were opened.
    with pytest.raises(JsonFileProblem) as refused:
        read_json_file(fifo, limit=1 << 20)
    assert str(refused.value.message) == NOT_REGULAR
    with pytest.raises(JsonFileProblem) as refused:
        read_json_file(tmp_path, limit=1 << 20)
    assert refused.value.message.code == "jsonfile.not_regular"


def test_deep_json_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(JsonFileProblem) as refused:
        read_json_file(path, limit=1 << 20)
    assert str(refused.value.message) == "not usable JSON: nested too deeply (more than 100 levels)"
    path.write_text(json.dumps({"$comment": "[[[[" * 1000, "a": [[[1]]]}))
    assert read_json_file(path, limit=1 << 20)["a"] == [[[1]]]  # brackets in strings


@pytest.mark.parametrize("command", ["list-tokens", "check"])
def test_renewal_policies_that_are_a_fifo(cli: Cli, fifo: Path, command: str) -> None:
    code, out, err = cli(
        command, "--module", "/nonexistent/lib.so", "--renewal-policies", str(fifo)
    )
    line = f"renewal policies {fifo}: {NOT_REGULAR}"
    if command == "check":
        assert (code, out, err) == (3, f"UKEYTOOL UNKNOWN - {line}\n", "")
    else:
        assert (code, out, err) == (2, "", f"ukeytool: error: {line}\n")


def test_the_users_renewal_file_as_a_fifo(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "ukeytool").mkdir(parents=True)
    os.mkfifo(config / "ukeytool" / "renewal.json")
    code, out, _err = cli(
        "check", "--module", "/nonexistent/lib.so", env={"XDG_CONFIG_HOME": str(config)}
    )
    assert code == 3
    assert NOT_REGULAR in out


def test_a_p11kit_registry_file_that_is_a_fifo_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ukeytool.config.p11kit import _read_p11kit_file

    registry = tmp_path / "modules"
    registry.mkdir()
    os.mkfifo(registry / "fifo.module")
    assert discover(env={}, p11kit_dirs=[registry], include_catalogue=False) == []
    assert _read_p11kit_file(registry / "fifo.module") is None
    (record,) = caplog.records
    assert record.getMessage() == f"p11-kit file {registry / 'fifo.module'} ignored: {NOT_REGULAR}"


@pytest.mark.softhsm
@pytest.mark.parametrize("command", ["list-tokens", "check"])
def test_a_broken_catalogue_is_a_warning_when_modules_are_discovered(
    bank: Bank,
    cli: Cli,
    tmp_path: Path,
    fifo: Path,
    *,
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No --module: discovery reads the catalogues; a FIFO and a broken file among them
    are warnings, and the good catalogue still finds the module (no p11-kit registry:
    this machine's is not the test's)."""
    broken = tmp_path / "modules.json"
    broken.write_text("{")
    good = tmp_path / "good.json"
    entry = {"id": "softhsm-test", "vendor": "T", "paths": [str(bank.store.module_path)]}
    good.write_text(json.dumps({"version": 1, "modules": [entry]}))
    real = discovery.discover
    monkeypatch.setattr(discovery, "discover", lambda **kw: real(**kw, p11kit_dirs=[]))
    env = {
        "UKEYTOOL_CATALOGUE": f"{fifo}:{broken}:{good}",
        "SOFTHSM2_CONF": str(bank.store.conf_path),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PKCS11_MODULE": None,
    }
    code, out, err = cli(command, "--serial", bank.second_serial, "--at", "2030-01-01", env=env)
    assert code == 0, out + err
    assert f"{bank.store.module_path} (catalogue:T)" in err
    warned = [r.getMessage() for r in caplog.records if r.name == "ukeytool.discovery"]
    assert warned == [
        f"catalogue {fifo}: {NOT_REGULAR}; that catalogue file is ignored",
        f"catalogue {broken}: not valid JSON: Expecting property name enclosed in double "
        "quotes at line 1 column 2; that catalogue file is ignored",
    ]


def test_list_modules_warns_for_a_broken_catalogue_but_not_for_its_own_option(
    cli: Cli, tmp_path: Path, fifo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"UKEYTOOL_CATALOGUE": str(fifo), "HOME": str(tmp_path)}
    code, _out, _err = cli("list-modules", "--module", "/nonexistent/lib.so", env=env)
    assert code == 0
    warned = [r.getMessage() for r in caplog.records if r.name == "ukeytool.discovery"]
    assert f"catalogue {fifo}: {NOT_REGULAR}; that catalogue file is ignored" in warned
    code, out, err = cli("list-modules", "--catalogue", str(fifo), env={"HOME": str(tmp_path)})
    assert (code, out) == (2, "")
    assert err == f"ukeytool: error: catalogue {fifo}: {NOT_REGULAR}\n"


# --- a PIN in a selecting URI ---------------------------------------------------------


@pytest.mark.parametrize("attribute", ["pin-value", "pin-source"])
def test_a_uri_holding_a_pin_is_refused_and_never_echoed(cli: Cli, attribute: str) -> None:
    uri = f"pkcs11:token=nothing?{attribute}=SECRET73914682"
    said = (
        f"a PKCS#11 URI that selects tokens must not hold {attribute} (its value is not "
        "shown): ukeytool never takes a PIN from a URI or the command line; use --login, "
        "with the PIN in UKEYTOOL_PIN or typed at the prompt"
    )
    code, out, err = cli("list-tokens", "--module", "/nonexistent/lib.so", "--uri", uri)
    assert (code, out, err) == (2, "", f"ukeytool: error: {said}\n")
    code, out, err = cli("check", "--module", "/nonexistent/lib.so", "--uri", uri)
    assert (code, out, err) == (3, f"UKEYTOOL UNKNOWN - {said}\n", "")


def test_the_library_refuses_a_pin_in_a_selecting_uri() -> None:
    from ukeytool.errors import UsageError
    from ukeytool.pkcs11.selection import select_tokens

    with pytest.raises(UsageError) as refused:
        select_tokens([], uri="pkcs11:token=x?pin-value=SECRET73914682")
    assert refused.value.message.code == "uri.pin_attribute_refused"
    assert "SECRET73914682" not in str(refused.value)
