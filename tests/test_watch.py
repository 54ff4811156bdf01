"""``ukeytool watch`` and :func:`ukeytool.watch` (issue 13, item 3).

On the virtual PIV card through pcscd and OpenSC (fixture ``piv_card``): ``watch --json``
in a child process while the card is pulled, put back and pulled again, each event a
JSON line valid against the schema; ``--until-inserted`` and its check-style exit codes;
SIGTERM and SIGINT ending it with 143 and 130, one line and no traceback. The polling
path (no C_WaitForSlotEvent: SoftHSM answers CKR_NO_EVENT and never changes its slot
list while initialised) over :class:`~ukeytool.testing.fake.FakeBackend`; a hung or
crashing poll through the misbehaving module; the library iterator on SoftHSM.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import IO, Any

import pytest
from jsonschema import Draft202012Validator

import ukeytool
from ukeytool.cli.exits import ExitCode
from ukeytool.pkcs11.watch import watch_backend
from ukeytool.testing.fake import FakeBackend, FakeCertificate, FakeSlot, FakeToken
from ukeytool.testing.softhsm import SoftHSMStore

from .conftest import Bank, Cli, PivCard
from .shim_module import shim_env

SRC = Path(ukeytool.__file__).resolve().parents[1]
AT = "2030-01-01T00:00:00Z"  # conftest.FIXED_NOW
#: How long a test waits for one line before it fails (the card's reading takes ~1 s).
LINE_SECONDS = 60.0


def event_validator() -> Draft202012Validator:
    text = (resources.files("ukeytool") / "schema" / "report.schema.json").read_text("utf-8")
    schema = json.loads(text)
    for key in ("required", "properties", "type", "additionalProperties", "title"):
        schema.pop(key, None)
    schema["$ref"] = "#/$defs/watch_event"
    return Draft202012Validator(schema)


class Watcher:
    """``ukeytool watch ARGS`` in a child process; its standard output line by line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        environment = {k: v for k, v in os.environ.items() if k != "PKCS11_MODULE"}
        environment.update(env)
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(SRC), environment.get("PYTHONPATH", "")) if p
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ukeytool", "watch", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.err: list[str] = []
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.threads = [
            threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self.err.extend, args=(self.process.stderr,), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def line(self, timeout: float = LINE_SECONDS) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s: {''.join(self.err)}") from None
        assert line is not None, f"watch ended: {self.process.poll()}, {''.join(self.err)}"
        return line

    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.line())
        return event

    def signal(self, number: int) -> tuple[int, str]:
        self.process.send_signal(number)
        return self.wait()

    def wait(self, timeout: float = 30) -> tuple[int, str]:
        code = self.process.wait(timeout)
        for thread in self.threads:
            thread.join(10)  # the last lines
        return code, "".join(self.err)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def watcher() -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for w in started:
        w.stop()


def same_token(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same token and certificates (object handles differ from one reading to the next)."""

    def shape(token: dict[str, Any]) -> Any:
        rest = {k: v for k, v in token.items() if k not in ("certificates", "advice")}
        certs = [(c["uri"], c["status"], c["days_left"]) for c in token["certificates"]]
        return rest, certs

    return bool(shape(a) == shape(b))


def card_watch(card: PivCard, started: list[Watcher], *args: str) -> Watcher:
    w = Watcher(["--module", card.module, "--at", AT, "--interval", "0.2", *args], card.env)
    started.append(w)
    return w


# --- the virtual card -------------------------------------------------------------------


def test_card_removed_inserted_removed(piv_card: PivCard, watcher: list[Watcher]) -> None:
    validate = event_validator()
    w = card_watch(piv_card, watcher, "--json")
    try:
        present = w.event()
        validate.validate(present)
        assert present["event"] == "present"
        token = present["token"]
        assert (token["serial"], token["label"]) == (piv_card.serial, piv_card.label)
        # The same token object as list-tokens --json gives: certificates, advice.
        assert len(token["certificates"]) == 3
        assert {c["status"] for c in token["certificates"]} == {"valid", "expiring", "expired"}
        assert "advice" in token
        assert present["complete"] is True
        assert present["problems"] == []
        assert present["at"] == "2030-01-01T00:00:00Z"
        piv_card.stand.remove()
        removed = w.event()
        validate.validate(removed)
        assert removed["event"] == "removed"
        assert removed["slot_id"] == present["slot_id"]
        assert (removed["token"]["serial"], removed["token"]["label"]) == (
            piv_card.serial,
            piv_card.label,
        )
        assert "certificates" not in removed["token"]
        assert removed["token"]["uri"] == token["uri"]
        piv_card.stand.insert()
        inserted = w.event()
        validate.validate(inserted)
        assert inserted["event"] == "inserted"
        assert same_token(inserted["token"], token)
        piv_card.stand.remove()
        again = w.event()
        assert again["event"] == "removed"
        assert again["token"]["serial"] == piv_card.serial
    finally:
        if not piv_card.stand.readers().get(piv_card.stand.card_reader()):
            piv_card.stand.insert()
    code, err = w.signal(signal.SIGTERM)
    assert code == ExitCode.TERMINATED
    assert err.strip() == "ukeytool: error: terminated"


def test_card_text_and_interrupt(piv_card: PivCard, watcher: list[Watcher]) -> None:
    w = card_watch(piv_card, watcher, "--color", "never")
    heading = w.line()
    assert "UTC  token present in slot 0x" in heading
    assert f"{piv_card.label} (serial {piv_card.serial})" in heading
    listing = []
    while True:
        line = w.line()
        listing.append(line)
        if line.startswith("3 certificates"):
            break
    text = "".join(listing)
    # list-tokens' own rendering of the token.
    assert f"Token {piv_card.label}  serial {piv_card.serial}" in text
    assert "Validity at 2030-01-01 00:00:00 UTC" in text
    code, err = w.signal(signal.SIGINT)
    assert code == ExitCode.INTERRUPTED
    assert "Traceback" not in err
    assert err.splitlines() == [
        f"ukeytool: watching {piv_card.module} for tokens; Ctrl-C ends",
        "ukeytool: error: interrupted",
    ]


def test_until_inserted(piv_card: PivCard, watcher: list[Watcher]) -> None:
    # Present at the start: counts, and is judged as check judges it (1 expired: CRITICAL).
    w = card_watch(piv_card, watcher, "--until-inserted", "--json")
    assert w.event()["event"] == "present"
    code, err = w.wait()
    assert code == 2, err
    # --ignore-present: waits for the card to come back.
    piv_card.stand.remove()
    try:
        w = card_watch(piv_card, watcher, "--until-inserted", "--ignore-present", "--json")
        time.sleep(1.5)
        assert w.process.poll() is None
        assert w.lines.empty()
    finally:
        piv_card.stand.insert()
    event = w.event()
    assert event["event"] == "inserted"
    code, err = w.wait()
    assert code == 2, err
    # Judged later, the card's certificates are all expired: still CRITICAL; judged with
    # a narrower window the expiring one is WARNING only when nothing is expired, which
    # this card never is, so selection decides: a serial that is not the card's waits.
    w = card_watch(piv_card, watcher, "--until-inserted", "--serial", "nope", "--json")
    time.sleep(1.5)
    assert w.process.poll() is None
    assert w.lines.empty()
    code, err = w.signal(signal.SIGTERM)
    assert code == ExitCode.TERMINATED
    assert "Traceback" not in err


# --- the polling path, the deadline and the library -----------------------------------


def test_polling_without_slot_events(bank: Bank) -> None:
    objects = [FakeCertificate(bank.certs["valid"].der)]
    reader = FakeSlot()
    backend = FakeBackend([FakeSlot(FakeToken(label=b"first", serial="1111")), reader])
    slept: list[float] = []
    events = watch_backend(backend, interval=0.5, sleep=slept.append, at=bank_moment())
    present = next(events)
    assert (present.kind, present.label.value) == (ukeytool.EventKind.PRESENT, "first")
    assert present.report is not None
    assert present.slot is not None
    backend._slots[2] = FakeSlot(FakeToken(label="工行U盾".encode("gbk"), objects=objects))
    inserted = next(events)
    assert inserted.kind == ukeytool.EventKind.INSERTED
    assert inserted.slot_id == 2
    assert inserted.label.value == "工行U盾"
    assert inserted.label.raw == "工行U盾".encode("gbk")
    assert inserted.report is not None
    assert len(inserted.report.certificates) == len(objects)
    backend._slots[1] = reader
    removed = next(events)
    assert (removed.kind, removed.slot_id, removed.serial.value) == (
        ukeytool.EventKind.REMOVED,
        1,
        "1111",
    )
    assert removed.report is None
    # One poll per interval, and no C_WaitForSlotEvent: the fake has none.
    assert slept == [0.5, 0.5]
    assert not any(name == "C_WaitForSlotEvent" for name, _ in backend.calls)
    # A C_GetSlotList for each of the three polls, none besides: a token that arrived
    # is read from the slot and token info its poll read (inspect_slot).
    assert sum(name == "C_GetSlotList" for name, _ in backend.calls) == 3
    # Each token's info: at each poll it is there (2 each), and once more after its
    # objects are read, to check it is the same token (1 each).
    assert sum(name == "C_GetTokenInfo" for name, _ in backend.calls) == 2 * 2 + 2
    events.close()


def bank_moment() -> Any:
    import datetime

    return datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)


def test_swapped_token_is_removed_then_inserted() -> None:
    backend = FakeBackend([FakeToken(label=b"old", serial="1")])
    events = watch_backend(backend, interval=0.01)
    assert next(events).kind == ukeytool.EventKind.PRESENT
    backend._slots[1] = FakeSlot(FakeToken(label=b"new", serial="2"))
    first, second = next(events), next(events)
    assert [(e.kind.value, e.label.value) for e in (first, second)] == [
        ("removed", "old"),
        ("inserted", "new"),
    ]
    events.close()


def test_library_iterator_on_softhsm(bank: Bank) -> None:
    env_before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(bank.store.conf_path)
    try:
        events = ukeytool.watch(bank.store.module_path.as_posix(), interval=0.1, timeout=30)
        seen = []
        for event in events:
            seen.append(event)
            if event.serial.value in (bank.serial, bank.second_serial) and len(seen) >= 2:
                break
        events.close()
    finally:
        if env_before is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = env_before
    assert all(e.kind == ukeytool.EventKind.PRESENT for e in seen)
    assert bank.serial in {e.serial.value for e in seen}
    assert all(isinstance(e, ukeytool.TokenEvent) for e in seen)


def test_library_refuses_bad_arguments() -> None:
    with pytest.raises(ukeytool.UsageError, match="interval"):
        ukeytool.watch("/nonexistent.so", interval=0)
    with pytest.raises(ukeytool.UsageError, match="isolate"):
        ukeytool.watch("/nonexistent.so", isolate=False, timeout=5)


def test_hung_poll_is_stopped(shim: Path, softhsm: SoftHSMStore, watcher: list[Watcher]) -> None:
    env = shim_env(softhsm, ["slotinfo_hang"])
    w = Watcher(["--module", str(shim), "--timeout", "2", "--interval", "0.2"], env)
    watcher.append(w)
    code, err = w.wait(60)
    assert code == ExitCode.MODULE_TIMED_OUT, err
    assert "did not answer within 2 s and was stopped" in err
    assert "Traceback" not in err
    w = Watcher(["--module", str(shim), "--timeout", "2", "--until-inserted"], env)
    watcher.append(w)
    code, err = w.wait(60)
    assert code == 3, err  # UNKNOWN, as check says it


def test_crashed_poll(shim: Path, softhsm: SoftHSMStore, watcher: list[Watcher]) -> None:
    env = shim_env(softhsm, ["slotinfo_crash"])
    w = Watcher(["--module", str(shim), "--interval", "0.2"], env)
    watcher.append(w)
    code, err = w.wait(60)
    assert code == ExitCode.MODULE_CRASHED, err
    assert "SIGSEGV" in err
    assert "Traceback" not in err


def test_usage(cli: Cli) -> None:
    code, _out, err = cli("watch", "--interval", "0", "--module", "/x.so")
    assert code == ExitCode.USAGE
    assert "'0' is not a number of seconds > 0" in err
    code, _out, err = cli("watch", "--module", "/a.so", "--module", "/b.so")
    assert code == ExitCode.USAGE
    assert "watch takes one module, not 2" in err


def test_help_in_both_languages(cli: Cli) -> None:
    code, out, _err = cli("watch", "--help")
    assert code == 0
    assert "--until-inserted" in out
    assert "exit codes (watch)" in out
    code, out, _err = cli("watch", "--help", "--lang", "zh")
    assert code == 0
    assert "--until-inserted" in out
    assert "exit codes" not in out
    assert "拔" in out or "插" in out


def test_event_text_in_chinese_and_masked(bank: Bank) -> None:
    from ukeytool.cli.watch import event_line, event_text
    from ukeytool.i18n import using

    label = b"110101199003077777"  # an ID number as a label: masked by default
    backend = FakeBackend([FakeToken(label=label, serial="42")])
    events = watch_backend(backend, interval=0.01, at=bank_moment())
    present = next(events)
    backend._slots[1] = FakeSlot()
    removed = next(events)
    events.close()
    with using("zh"):
        text = event_text(present, present.report, color=False, show_personal_data=False)
        gone = event_text(removed, None, color=False, show_personal_data=False)
    assert "插槽 0x1 中已有令牌" in text
    assert "序列号 42" in text
    assert "110101199003077777" not in text
    assert "令牌已从插槽 0x1 拔出" in gone
    assert "110101199003077777" not in gone
    line = json.loads(event_line(removed, None, show_personal_data=False))
    assert line["event"] == "removed"
    assert "110101199003077777" not in json.dumps(line)
    event_validator().validate(line)
    shown = json.loads(event_line(removed, None, show_personal_data=True))
    assert shown["token"]["label"] == "110101199003077777"


#: A stand-in watch child: ticks every 0.2 s for ``TICKING`` seconds (a module whose
#: polls come back), then hangs (a poll that never does); it writes its pid first.
FAKE_CHILD = """
import os, pickle, sys, time
sys.path[:] = pickle.load(sys.stdin.buffer)
request = pickle.load(sys.stdin.buffer)
out = os.fdopen(os.dup(1), "wb")
def send(message):
    data = pickle.dumps(message)
    out.write(len(data).to_bytes(8, "big") + data)
    out.flush()
send(("ready",))
open(os.environ["FAKE_CHILD_PID"], "w").write(str(os.getpid()))
end = time.monotonic() + float(os.environ["TICKING"])
while time.monotonic() < end:
    send(("tick",))
    time.sleep(0.2)
time.sleep(3600)
"""


def test_each_poll_has_its_deadline(
    softhsm: SoftHSMStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The deadline runs from the last tick, not from the start: a child that keeps
    answering for longer than the timeout is left alone; the poll that hangs is stopped,
    and the child with it."""
    import ukeytool.pkcs11.watch as watch_module

    monkeypatch.setattr(watch_module, "WATCH_BOOTSTRAP", FAKE_CHILD)
    monkeypatch.setenv("TICKING", "3")
    monkeypatch.setenv("FAKE_CHILD_PID", str(tmp_path / "pid"))
    started = time.monotonic()
    events = ukeytool.watch(str(softhsm.module_path), interval=0.1, timeout=1)
    with pytest.raises(ukeytool.ModuleTimedOut, match="did not answer within 1 s"):
        next(events)
    assert time.monotonic() - started >= 3  # 3 s of ticks outlived a 1 s timeout
    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
