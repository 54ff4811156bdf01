"""The command line, in-process through main(argv) and once through `python -m ukeytool`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ukeytool.cli import ExitCode, main

from .conftest import FIXED_NOW, Bank

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
