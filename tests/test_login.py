"""The opt-in login (issue: safe with real tokens): one token, one C_Login, never retried,
never on a locked PIN, and the PIN never shown.

Most tests run ``ukeytool list-tokens --login`` on the misbehaving module (tests/shim),
which passes every call to SoftHSM, logs each call it sees (C_Login with ``pin=0|1``,
never the PIN) and fakes the PIN states a real key has. The store here is this file's
own, so a wrong PIN here cannot change the PIN state other tests see.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import ukeytool
from ukeytool.cli import ExitCode
from ukeytool.i18n import Message
from ukeytool.testing.certs import mint
from ukeytool.testing.softhsm import (
    CertObject,
    PrivateKeyObject,
    PublicKeyObject,
    SoftHSMStore,
    TokenSpec,
)

from .conftest import FIXED_NOW
from .shim_module import Run, run_ukeytool
from .test_call_budget import spy_module
from .test_read_only import LOGIN

pytestmark = [pytest.mark.softhsm]

DAY = datetime.timedelta(days=1)
PIN = "1234"  # the TokenSpec default user PIN
LABEL = "工行U盾"
SENTINEL_PIN = "73914682"


class Store:
    def __init__(self, store: SoftHSMStore, serial: str) -> None:
        self.store = store
        self.serial = serial


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A GBK-labelled token with a public certificate, a private one, their private keys
    and a public key object; and a second token, so a login must choose."""
    store = SoftHSMStore(tmp_path_factory.mktemp("login"))
    public = mint(
        subject_cn="public",
        not_before=FIXED_NOW - 10 * DAY,
        not_after=FIXED_NOW + 400 * DAY,
        key="ec-p256",
    )
    hidden = mint(
        subject_cn="hidden",
        not_before=FIXED_NOW - 10 * DAY,
        not_after=FIXED_NOW + 400 * DAY,
        key="ec-p256",
    )
    first, _second = store.add_tokens(
        [
            TokenSpec(
                label=LABEL.encode("gbk"),
                objects=[
                    CertObject(public.der, label="public", id=b"\x01"),
                    PrivateKeyObject(public.key_pkcs8_der, label="public", id=b"\x01"),
                    PublicKeyObject(public.public_key_der, label="public", id=b"\x01"),
                    CertObject(hidden.der, label="hidden", id=b"\x02", private=True),
                    PrivateKeyObject(hidden.key_pkcs8_der, label="hidden", id=b"\x02"),
                ],
            ),
            TokenSpec(label="second", objects=[CertObject(public.der, label="copy")]),
        ]
    )
    return Store(store, first.serial)


def login(
    shim: Path,
    keys: Store,
    *modes: str,
    args: tuple[str, ...] = ("--token-label", LABEL),
    pin: str | None = PIN,
    env: Mapping[str, str] | None = None,
) -> Run:
    extra = dict(env or {})
    if pin is not None:
        extra["UKEYTOOL_PIN"] = pin
    return run_ukeytool(
        shim,
        keys.store,
        modes,
        slot=_index(shim, keys),
        args=("--login", *args),
        env=extra,
    )


_INDEX: dict[str, int] = {}


def _index(shim: Path, keys: Store) -> int:
    """The index of the GBK token in C_GetSlotList (the shim targets slots by index)."""
    if keys.serial not in _INDEX:
        run = run_ukeytool(shim, keys.store)
        serials = [s["token"]["serial"] if s["token"] else None for s in run.slots]
        _INDEX[keys.serial] = serials.index(keys.serial)
    return _INDEX[keys.serial]


def token_slot(run: Run, keys: Store) -> dict[str, Any]:
    (slot,) = [s for s in run.slots if s["token"] and s["token"]["serial"] == keys.serial]
    return slot


def labels(slot: dict[str, Any]) -> list[str]:
    return sorted(c["label"] for c in slot["token"]["certificates"])


def assert_read_only_sessions(run: Run) -> None:
    assert run.calls_to("C_OpenSession")
    assert all(c.fields["flags"] == 0x4 for c in run.calls_to("C_OpenSession"))


# --- what a login shows ----------------------------------------------------------------


def test_login_lists_private_objects_then_logs_out(shim: Path, keys: Store) -> None:
    run = login(shim, keys)
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.stderr == ""
    slot = token_slot(run, keys)
    assert slot["login"] == {
        "state": "logged_in",
        "message": "logged in; private objects are listed too",
        "message_code": "login.logged_in",
        "code": None,
        "code_name": None,
    }
    assert slot["private_objects_visible"] is True
    assert labels(slot) == ["hidden", "public"]
    # one C_Login, with a PIN, on one session; logged out and closed afterwards
    (call,) = run.calls_to("C_Login")
    assert {k: v for k, v in call.fields.items() if k != "pid"} == {
        "user": 1,
        "pin": 1,
        "rv": 0,
        "mis": 0,
    }
    assert run.count("C_Logout") == 1
    assert run.count("C_OpenSession") == run.count("C_CloseSession")
    assert_read_only_sessions(run)
    # the selection also selects what is shown
    assert [s["token"]["serial"] for s in run.slots if s["token"]] == [keys.serial]


def test_without_login_private_objects_are_said_to_be_hidden(shim: Path, keys: Store) -> None:
    run = run_ukeytool(shim, keys.store)
    assert run.returncode == ExitCode.OK
    slot = token_slot(run, keys)
    assert labels(slot) == ["public"]
    assert slot["login"] is None
    assert slot["private_objects_visible"] is False
    assert run.count("C_Login") == 0


def test_text_says_logged_in_and_hidden(keys: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    env = keys.store.subprocess_env()
    base = [
        sys.executable,
        "-m",
        "ukeytool",
        "list-tokens",
        "--module",
        str(keys.store.module_path),
    ]
    base += ["--at", FIXED_NOW.isoformat(), "--color", "never"]
    plain = subprocess.run(base, env=env, capture_output=True, text=True, check=False)
    assert plain.returncode == 0, plain.stderr
    assert "login" not in plain.stdout.replace("--login shows them", "")
    logged = subprocess.run(
        [*base, "--login", "--serial", keys.serial],
        env={**env, "UKEYTOOL_PIN": PIN},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert logged.returncode == 0, logged.stderr
    assert "  login: logged in; private objects are listed too\n" in logged.stdout
    assert "hidden" in logged.stdout


# --- choosing the one token ------------------------------------------------------------


def test_several_tokens_and_no_selection_is_refused(shim: Path, keys: Store) -> None:
    run = login(shim, keys, args=())
    assert run.returncode == ExitCode.USAGE
    assert run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith("ukeytool: error: cannot log in: 2 tokens are present and a login ")
    assert "one PIN is never tried on two tokens" in line
    assert "token=second" in line
    assert "token=%B9%A4%D0%D0U%B6%DC" in line  # the GBK label, as its raw bytes
    assert run.count("C_Login") == 0
    # In Chinese: the plural sentence around the same URIs, which stay as they are.
    chinese = login(shim, keys, args=("--lang", "zh"))
    assert chinese.returncode == ExitCode.USAGE
    (line_zh,) = chinese.stderr.splitlines()
    assert line_zh.startswith("ukeytool：错误：无法登录：共有 2 个令牌，而登录只能针对一个：")
    assert line_zh.endswith("；同一个 PIN 码绝不会在两个令牌上尝试")
    assert "token=second" in line_zh
    assert "token=%B9%A4%D0%D0U%B6%DC" in line_zh
    assert chinese.count("C_Login") == 0


def test_selection_matching_nothing_is_refused(shim: Path, keys: Store) -> None:
    run = login(shim, keys, args=("--serial", "nope"))
    assert run.returncode == ExitCode.USAGE
    assert "cannot log in: no initialised token matches the selection" in run.stderr
    assert run.count("C_Login") == 0
    chinese = login(shim, keys, args=("--serial", "nope", "--lang", "zh"))
    assert chinese.returncode == ExitCode.USAGE
    assert "无法登录：没有已初始化的令牌符合所选条件；现有令牌：" in chinese.stderr
    assert "matches" not in chinese.stderr


# --- refused before C_Login: no PIN try spent ------------------------------------------


def test_locked_pin_is_never_tried_and_no_pin_is_asked_for(shim: Path, keys: Store) -> None:
    run = login(shim, keys, "pin_locked", pin=None)  # no PIN anywhere: none is needed
    assert run.returncode == ExitCode.LOGIN_REFUSED, run.stderr
    slot = token_slot(run, keys)
    assert slot["login"]["state"] == "refused"
    assert "the user PIN is locked; no login was tried" in slot["login"]["message"]
    assert "unlocked by its issuer" in slot["login"]["message"]
    assert labels(slot) == ["public"]  # the listing is still there
    assert run.count("C_Login") == 0
    assert run.stderr.startswith("ukeytool: login refused: the user PIN is locked")


def test_final_try_needs_confirmation(shim: Path, keys: Store) -> None:
    run = login(shim, keys, "pin_final_try")
    assert run.returncode == ExitCode.LOGIN_REFUSED
    assert "--allow-final-try" in token_slot(run, keys)["login"]["message"]
    assert run.count("C_Login") == 0
    confirmed = login(
        shim, keys, "pin_final_try", args=("--token-label", LABEL, "--allow-final-try")
    )
    assert confirmed.returncode == ExitCode.OK, confirmed.stderr
    assert confirmed.count("C_Login") == 1


@pytest.mark.parametrize(
    ("pin", "expected"),
    [
        ("", "the PIN is empty"),
        ("12", "the PIN is shorter than the token allows (at least 4 characters)"),
        ("1" * 256, "the PIN is longer than the token allows (at most 255 characters)"),
    ],
)
def test_pin_length_is_checked_locally(shim: Path, keys: Store, pin: str, expected: str) -> None:
    run = login(shim, keys, pin=pin)
    assert run.returncode == ExitCode.LOGIN_REFUSED
    assert token_slot(run, keys)["login"]["message"].startswith(expected)
    assert run.count("C_Login") == 0


def test_no_pin_source_is_a_usage_error(shim: Path, keys: Store) -> None:
    run = login(shim, keys, pin=None)  # stdin is /dev/null: nobody to ask
    assert run.returncode == ExitCode.USAGE
    assert run.stderr == (
        "ukeytool: error: --login needs the PIN: set UKEYTOOL_PIN, or run on a terminal to "
        "be asked for it (a PIN is never taken from the command line)\n"
    )
    assert run.count("C_Login") == 0
    assert run.count("C_Initialize") == 1  # the listing only; no second pass was started


# --- C_Login called once, never again --------------------------------------------------


def test_wrong_pin_is_tried_once_and_reported(shim: Path, keys: Store) -> None:
    run = login(shim, keys, pin="9999", args=("--token-label", LABEL, "--trace"))
    assert run.returncode == ExitCode.LOGIN_FAILED, run.stderr
    slot = token_slot(run, keys)
    assert slot["login"]["state"] == "failed"
    assert slot["login"]["code_name"] == "CKR_PIN_INCORRECT"
    assert "counted one wrong try; ukeytool does not retry" in slot["login"]["message"]
    assert labels(slot) == ["public"]  # public objects still listed
    assert slot["private_objects_visible"] is False
    (call,) = run.calls_to("C_Login")
    assert call.rv == 0xA0
    assert run.count("C_Logout") == 0
    assert "C_Login(" in run.stderr
    assert "<PIN redacted>" in run.stderr


def test_pin_locked_by_the_login_itself(shim: Path, keys: Store) -> None:
    run = login(shim, keys, "login_pin_locked")
    assert run.returncode == ExitCode.LOGIN_FAILED
    login_result = token_slot(run, keys)["login"]
    assert login_result["code_name"] == "CKR_PIN_LOCKED"
    assert "must be unlocked by its issuer" in login_result["message"]
    assert run.count("C_Login") == 1
    assert run.count("C_Logout") == 0


def test_pin_pad_gets_a_null_pin_and_a_prompt(shim: Path, keys: Store) -> None:
    run = login(shim, keys, "protected_auth", pin=None, env={"MISBEHAVE_PAD_PIN": PIN})
    assert run.returncode == ExitCode.OK, run.stderr
    assert "on the reader's PIN pad" in run.stderr
    (call,) = run.calls_to("C_Login")
    assert call.fields["pin"] == 0  # NULL: the PIN is entered on the pad
    assert labels(token_slot(run, keys)) == ["hidden", "public"]


def test_check_with_a_failed_login_is_unknown(keys: Store) -> None:
    env = keys.store.subprocess_env()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "ukeytool", "check", "--login", "--serial", keys.serial),
            *("--module", str(keys.store.module_path), "--at", FIXED_NOW.isoformat()),
        ],
        env={**env, "UKEYTOOL_PIN": "12"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3
    assert "login refused: the PIN is shorter" in done.stderr


# --- the PIN is never shown ------------------------------------------------------------


def test_pin_appears_nowhere(shim: Path, keys: Store) -> None:
    run = login(shim, keys, pin=SENTINEL_PIN, args=("--token-label", LABEL, "--trace"))
    assert run.returncode == ExitCode.LOGIN_FAILED
    for text in (run.stdout, run.stderr):
        assert SENTINEL_PIN not in text
        assert SENTINEL_PIN.encode().hex() not in text
    pin = ukeytool.Pin(SENTINEL_PIN)
    request = ukeytool.Login(pin, label=LABEL)
    for shown in (repr(pin), str(pin), repr(request), str(request)):
        assert SENTINEL_PIN not in shown
    assert repr(pin) == "Pin(<redacted>)"


def test_prompt_does_not_echo(keys: Store) -> None:
    env = {**keys.store.subprocess_env(), "NO_COLOR": "1"}
    env.pop("UKEYTOOL_PIN", None)
    command = [sys.executable, "-m", "ukeytool", "list-tokens", "--module"]
    command += [str(keys.store.module_path), "--login", "--serial", keys.serial, "--json"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        os.execve(sys.executable, command, env)
    output = b""
    try:
        output += _read_until(fd, b"PIN for token")
        os.write(fd, PIN.encode() + b"\n")
        output += _read_until(fd, None)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, output
    text = output.decode("utf-8", "replace")
    assert "PIN for token '工行U盾' (serial " in text
    assert PIN not in text.split("PIN for token", 1)[1].split("{", 1)[0]  # no echo
    assert '"state": "logged_in"' in text


def _read_until(fd: int, marker: bytes | None, timeout: float = 60) -> bytes:
    data = b""
    while marker is None or marker not in data:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise AssertionError(f"no output within {timeout} s: {data!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    return data


# --- the library -----------------------------------------------------------------------


def test_library_login_and_its_pin_is_spent_once(
    keys: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in keys.store.env.items():
        monkeypatch.setenv(name, value)
    module = keys.store.module_path
    pin = ukeytool.Pin(PIN)
    report = ukeytool.inspect(
        str(module), at=FIXED_NOW, login=ukeytool.Login(pin, serial=keys.serial)
    )
    (slot,) = [s for s in report.slots if s.token and s.token.serial.value == keys.serial]
    assert slot.login is not None
    assert slot.login.state is ukeytool.LoginState.LOGGED_IN
    assert slot.logged_in
    assert sorted(str(c.label) for c in slot.certificates) == ["hidden", "public"]
    assert {(k.key_class, k.id) for k in slot.keys} >= {("private", b"\x01"), ("private", b"\x02")}
    assert pin.spent
    again = ukeytool.inspect(
        str(module), at=FIXED_NOW, login=ukeytool.Login(pin, serial=keys.serial)
    )
    (slot,) = [s for s in again.slots if s.token and s.token.serial.value == keys.serial]
    assert slot.login is not None
    assert slot.login.state is ukeytool.LoginState.REFUSED
    assert "never retries" in str(slot.login.message)
    assert isinstance(slot.login.message, Message)
    assert slot.login.message.code == "login.pin_spent"
    with pytest.raises(ukeytool.UsageError, match="2 tokens are present"):
        ukeytool.inspect(str(module), at=FIXED_NOW, login=ukeytool.Login(ukeytool.Pin(PIN)))


# --- nothing written --------------------------------------------------------------------


def _token_files(store: SoftHSMStore) -> dict[str, str]:
    """A hash of every file of the store's tokens.

    SoftHSM itself rewrites ``token.object`` on every C_Login, bumping the generation
    counter in its first 8 bytes and changing nothing else (``pkcs11-tool --login -O``
    does the same): that counter is left out, every other byte is compared.
    """
    hashes = {}
    for path in sorted(store.tokens_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "token.object":
                data = data[8:]
            hashes[str(path.relative_to(store.tokens_dir))] = hashlib.sha256(data).hexdigest()
    return hashes


@pytest.mark.spy
def test_login_through_the_spy_calls_inspection_and_login_only(keys: Store, tmp_path: Path) -> None:
    spy = spy_module()
    before = _token_files(keys.store)
    log = tmp_path / "spy.log"
    env = {
        **keys.store.subprocess_env(),
        "PKCS11SPY": str(keys.store.module_path),
        "PKCS11SPY_OUTPUT": str(log),
        "UKEYTOOL_PIN": PIN,
    }
    done = subprocess.run(
        [
            *(sys.executable, "-m", "ukeytool", "list-tokens", "--module", spy),
            *("--login", "--serial", keys.serial, "--json"),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    text = log.read_text(errors="replace")
    calls = re.findall(r"^\d+: (C_\w+)$", text, flags=re.MULTILINE)
    allowed = LOGIN
    assert set(calls) <= allowed, set(calls) - allowed
    assert calls.count("C_Login") == calls.count("C_Logout") == 1
    flags = re.findall(
        r"C_OpenSession\n.*?\n\[in\] slotID = \S+\n\[in\] flags = (0x[0-9a-f]+)", text
    )
    assert flags
    assert all(int(f, 16) == 0x4 for f in flags)
    assert _token_files(keys.store) == before


def test_already_logged_in_is_fine_and_left_alone(
    keys: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user of the module in this process (here python-pkcs11 itself) is logged
    in: ukeytool's C_Login gets CKR_USER_ALREADY_LOGGED_IN, lists the private objects,
    and does not log the other user out."""
    import pkcs11

    for name, value in keys.store.env.items():
        monkeypatch.setenv(name, value)
    module = str(keys.store.module_path)
    # python-pkcs11 initialises the module (and finalises it at the end); ukeytool
    # then uses it as it is.
    real = os.path.realpath(module)
    token = pkcs11.lib(real).get_token(token_serial=keys.serial.encode())
    try:
        with ukeytool.open_module(module), token.open(user_pin=PIN) as other:
            report = ukeytool.inspect(
                module,
                at=FIXED_NOW,
                login=ukeytool.Login(ukeytool.Pin(PIN), serial=keys.serial),
            )
            slot = ukeytool.select_token(report, serial=keys.serial)
            assert slot.login is not None
            assert slot.login.state is ukeytool.LoginState.ALREADY_LOGGED_IN
            assert sorted(str(c.label) for c in slot.certificates) == ["hidden", "public"]
            # still logged in: the private certificate is visible to the other session
            found = other.get_objects(
                {
                    pkcs11.Attribute.LABEL: "hidden",
                    pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
                }
            )
            assert len(list(found)) == 1
    finally:
        pkcs11.unload(real)
