"""The isolation child reads with the PKCS#11 binding only and streams what it reads; the
parent parses each certificate as it arrives (issue 12, item 1).

What is shown, without racing the clock: which modules the child imports (the real
child, run by hand over its own pipes under ``python -X importtime``); that it sends
each raw object on its own, the slot's end without them (no second copy); that the
parent parses certificate N before the module has been asked for the last one (the
misbehaving module's call log, read at each parse, behind a module slowed to a USB
key's pace); and that the output is the same, byte for byte, isolated or not.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ukeytool.model import ModuleInfo, Problem, SlotInfo, SlotReport, TokenInfo
from ukeytool.pkcs11.interface import ObjectListing, RawCertificateObject, RawKeyObject
from ukeytool.pkcs11.isolate import _BOOTSTRAP
from ukeytool.pkcs11.isolate_child import HEADER, Request
from ukeytool.pkcs11.isolate_pipe import raw_object
from ukeytool.testing.softhsm import CertObject, PrivateKeyObject, SoftHSMStore, TokenSpec

from .conftest import FIXED_NOW, Bank, Cli, _new_store
from .shim_module import AT, shim_env

pytestmark = pytest.mark.softhsm

#: What the child must not import: the parser, judging, renderers, configuration, the
#: message catalogue.
FORBIDDEN = (
    "ukeytool.certificates",
    "ukeytool.judging",
    "ukeytool.rendering",
    "ukeytool.config",
    "ukeytool.i18n.catalogue",
    "gettext",
    "cryptography",
    "asn1crypto",
)
COPIES = 5


def _slow_module_here(crowd: SoftHSMStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process's environment set for the misbehaving module over ``crowd``'s token,
    10 ms a call, its calls logged: the log's path."""
    log = tmp_path / "calls.log"
    env = shim_env(crowd, log=log)
    env["MISBEHAVE_DELAY_US"] = "10000"
    for name in [n for n in os.environ if n.startswith("MISBEHAVE")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return log


@pytest.fixture(scope="module")
def crowd(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> SoftHSMStore:
    """A store with one bank-like token of many certificates (the bank token's objects,
    every state and every broken value, five times over) and a second small token."""
    certs = bank.certs
    objects: list[Any] = []
    for n in range(COPIES):
        objects += [
            CertObject(certs["ca"].der, label=f"Demo Root CA {n}"),
            CertObject(certs["valid"].der, label=f"sign {n}", id=bytes([n, 1])),
            PrivateKeyObject(certs["valid"].key_pkcs8_der, label=f"sign {n}", id=bytes([n, 1])),
            CertObject(certs["expiring"].der, label=f"expiring {n}", id=bytes([n, 2])),
            CertObject(certs["edge"].der, label=f"edge {n}", id=bytes([n, 3])),
            CertObject(certs["expired"].der, label=f"expired {n}", id=bytes([n, 4])),
            CertObject(certs["future"].der, label=f"future {n}", id=bytes([n, 5])),
            CertObject(certs["sm2_sign"].der, label="签名证书".encode("gbk"), id=bytes([n, 6])),
            CertObject(certs["sm2_enc"].der, label=f"sm2-enc {n}", id=bytes([n, 7])),
            CertObject(b"", label=f"empty {n}", id=bytes([n, 8])),
            CertObject(certs["valid"].der[:200], label=f"truncated {n}", id=bytes([n, 9])),
            CertObject(certs["valid"].der, label=f"private {n}", id=bytes([n, 11]), private=True),
        ]
    store = _new_store(tmp_path_factory.mktemp("crowd"))
    store.add_tokens(
        [
            TokenSpec(label="工行U盾".encode("gbk"), objects=objects),
            TokenSpec(label="second", objects=[CertObject(certs["valid"].der, label="copy")]),
        ]
    )
    return store


def run_child(env: dict[str, str], module: str) -> tuple[list[tuple[Any, ...]], set[str]]:
    """The real isolation child (the bootstrap ``inspect_in_child`` runs), fed its
    request by hand: its messages, and every module it imported."""
    request = Request(module, None, {"ukeytool": 30, "ukeytool.pkcs11": 30}, os.getpid())
    payload = pickle.dumps(list(sys.path)) + pickle.dumps(request)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _BOOTSTRAP],
        input=payload,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    messages = []
    data = done.stdout
    while data:
        size = int.from_bytes(data[:HEADER], "big")
        message = pickle.loads(data[HEADER : HEADER + size])
        # Raw objects cross as plain tuples, several in one list when they gather.
        for each in message if type(message) is list else [message]:
            messages.append(("object", raw_object(each)) if each[0] in ("c", "k") else each)
        data = data[HEADER + size :]
    imported = set(re.findall(rb"^import time:[^|]*\|[^|]*\| +(\S+)$", done.stderr, re.M))
    return messages, {name.decode() for name in imported}


def imported_by(code: str) -> set[str]:
    """The modules ``code`` imports in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(done.stdout.split())


def test_the_child_imports_the_binding_only(crowd: SoftHSMStore) -> None:
    messages, imported = run_child(crowd.subprocess_env(), str(crowd.module_path))
    assert messages[-2:] == [("done",), ("finalized",)]
    assert {"ukeytool.pkcs11.backend", "ukeytool.pkcs11.inspect"} <= imported

    def forbidden(names: set[str]) -> set[str]:
        return {n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}

    # What ``import ukeytool`` itself loads is the package's business (its public
    # names), and python-pkcs11 (which loads and initialises the module) imports
    # asn1crypto for its own helpers: beyond those, the child imports nothing of the
    # parser's side.
    allowed = forbidden(imported_by("import ukeytool") | imported_by("import pkcs11"))
    assert forbidden(imported) <= allowed, forbidden(imported) - allowed
    assert not {n for n in imported if n.split(".")[0] == "cryptography"}
    assert not {n for n in imported if n.startswith(("ukeytool.certificates", "ukeytool.config"))}
    for name in (
        "ukeytool.judging.renewal",
        "ukeytool.rendering.text",
        "ukeytool.certificates.x509",
    ):
        assert name not in allowed  # (the test would prove nothing about them otherwise)
        assert name not in imported


def test_the_child_sends_each_object_once(crowd: SoftHSMStore) -> None:
    messages, _imported = run_child(crowd.subprocess_env(), str(crowd.module_path))
    kinds = [m[0] for m in messages]
    assert kinds[0] == "ready"
    assert kinds[1] == "head"
    objects = [m[1] for m in messages if m[0] == "object"]
    certificates = [o for o in objects if isinstance(o, RawCertificateObject)]
    keys = [o for o in objects if isinstance(o, RawKeyObject)]
    assert len(certificates) == 10 * COPIES + 1
    assert keys == []  # the private keys are private objects: unseen without login
    ends = [m for m in messages if m[0] == "slot_end"]
    assert len(ends) == len(messages[1][2])  # every slot, with or without a token
    for _kind, head, listing in ends:
        assert head.certificates == ()
        if isinstance(listing, ObjectListing):
            # The objects came one by one: the end of the slot does not repeat them.
            assert (listing.objects, listing.keys) == ((), ())
    # Objects come between their slot's start and its end.
    first = kinds.index("object")
    assert kinds[first - 1] == "slot_start"
    assert kinds.index("slot_end") > kinds.index("object")


def test_the_parent_parses_while_the_child_reads(
    shim: Path, crowd: SoftHSMStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each certificate is parsed as it arrives, while the module still answers the
    next ones: at the first parse, the module (10 ms a call) has not yet been asked for
    every certificate's attributes."""
    from ukeytool.pkcs11 import assemble
    from ukeytool.pkcs11.isolate import inspect_in_child

    log = _slow_module_here(crowd, tmp_path, monkeypatch)
    seen: list[int] = []
    real = assemble.entry

    def recording(obj: RawCertificateObject, *args: Any) -> Any:
        text = log.read_text("ascii") if log.exists() else ""
        seen.append(text.count("C_GetAttributeValue"))
        return real(obj, *args)

    monkeypatch.setattr(assemble, "entry", recording)
    report = inspect_in_child(str(shim), at=FIXED_NOW, timeout=120)
    total = log.read_text("ascii").count("C_GetAttributeValue")
    assert len(seen) == len(report.certificates) == 10 * COPIES + 1
    assert seen[0] < total  # the first parse while the module was still being read
    assert report.complete


@pytest.fixture(scope="module")
def singles(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> SoftHSMStore:
    """Bank-like tokens of one certificate each (every state, broken values, a GBK
    label, a key): SoftHSM lists a token's objects in an order that depends on the
    memory of the process it runs in, so that only one object per token gives the same
    order to the isolation child and to ukeytool itself."""
    certs = bank.certs
    gbk = "签名证书".encode("gbk")
    one = [
        [CertObject(certs["valid"].der, label=gbk, id=b"\x01")],
        [PrivateKeyObject(certs["valid"].key_pkcs8_der, label="sign", id=b"\x01")],
        [CertObject(certs["expiring"].der, label="expiring", id=b"\x02")],
        [CertObject(certs["expired"].der, label="expired", id=b"\x04")],
        [CertObject(certs["future"].der, label="future", id=b"\x05")],
        [CertObject(certs["sm2_sign"].der, label="sm2", id=b"\x06")],
        [CertObject(b"", label="empty", id=b"\x08")],
        [CertObject(certs["valid"].der[:200], label="truncated", id=b"\x09")],
        [CertObject(certs["valid"].der, label="private", id=b"\x0b", private=True)],
    ]
    store = _new_store(tmp_path_factory.mktemp("singles"))
    store.add_tokens(
        TokenSpec(label=f"工行U盾 {n}".encode("gbk"), objects=objects)
        for n, objects in enumerate(one)
    )
    return store


@pytest.mark.parametrize(
    "argv",
    [
        ("list-tokens",),
        ("list-tokens", "--details", "--uris"),
        ("list-tokens", "--json"),
        ("list-tokens", "--format", "prometheus"),
        ("check",),
        ("check", "--format", "json"),
        ("check", "--format", "prometheus"),
    ],
    ids=["text", "details", "json", "prometheus", "check", "check-json", "check-prometheus"],
)
def test_isolated_output_is_byte_identical(
    argv: tuple[str, ...], singles: SoftHSMStore, cli: Cli, tmp_path: Path
) -> None:
    env = {
        "SOFTHSM2_CONF": str(singles.conf_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "UKEYTOOL_CATALOGUE": None,
        "PKCS11_MODULE": None,
    }
    common = (*argv, "--module", str(singles.module_path), "--at", AT)
    isolated = cli(*common, env=env)
    alone = cli(*common, "--no-isolation", env=env)
    assert isolated.code == alone.code
    assert isolated.code in (0, 1, 2, 5), isolated.err
    assert isolated.err == alone.err

    def steady(text: str) -> str:
        # The JSON document says when it was made (the clock, not --at).
        return re.sub(r'"generated_at": "[^"]*"', '"generated_at": …', text)

    assert steady(isolated.out) == steady(alone.out)
    assert len(isolated.out) > 1000


@dataclasses.dataclass(frozen=True)
class Replay:
    """A backend that answers, in the same order, what the isolation child read."""

    info: ModuleInfo
    slots: tuple[int, ...]
    heads: dict[int, SlotReport]
    listings: dict[int, ObjectListing]

    def slot_ids(self) -> tuple[tuple[int, ...], tuple[Problem, ...]]:
        return self.slots, ()

    def slot_info(self, slot_id: int) -> SlotInfo:
        assert not self.heads[slot_id].problems
        return self.heads[slot_id].slot

    def token_info(self, slot_id: int) -> TokenInfo:
        token = self.heads[slot_id].token
        assert token is not None
        return token

    def certificate_objects(self, slot_id: int, *, login: Any = None) -> ObjectListing:
        return self.listings[slot_id]


def test_many_certificates_assemble_alike_either_way(crowd: SoftHSMStore) -> None:
    """The parent's report of what the child streamed and the report ukeytool makes in
    one process of the same module answers (the crowd token's 50 public certificates, in the
    order the child read them) render the same, byte for byte, in every format."""
    import ukeytool
    from ukeytool.pkcs11.assemble import Assembler
    from ukeytool.rendering.check import check_reports, check_to_dict
    from ukeytool.rendering.json import render_json
    from ukeytool.rendering.prometheus import render_prometheus
    from ukeytool.rendering.text import render_text

    messages, _imported = run_child(crowd.subprocess_env(), str(crowd.module_path))
    parent = Assembler(FIXED_NOW, 30)
    heads: dict[int, SlotReport] = {}
    listings: dict[int, ObjectListing] = {}
    pending: list[Any] = []
    for message in messages:
        if message[0] in ("head", "slot_start", "object", "slot_end"):
            parent(*message)  # as the parent's side of the pipe does
        if message[0] == "object":
            pending.append(message[1])
        elif message[0] == "slot_end":
            _kind, head, listing = message
            heads[head.slot.slot_id] = head
            if isinstance(listing, ObjectListing):
                certificates = tuple(o for o in pending if isinstance(o, RawCertificateObject))
                keys = tuple(o for o in pending if isinstance(o, RawKeyObject))
                listings[head.slot.slot_id] = dataclasses.replace(
                    listing, objects=certificates, keys=keys
                )
            pending = []
    streamed = parent.report()
    assert len(streamed.certificates) == 10 * COPIES + 1
    replay = Replay(streamed.module, parent.slot_ids, heads, listings)
    alone = ukeytool.inspect_backend(replay, at=FIXED_NOW)
    assert streamed == alone
    for render in (
        lambda r: render_text(r, color=False, details=True, certificate_uris=True),
        lambda r: render_json(r, generated_at=FIXED_NOW),
        render_prometheus,
        lambda r: check_reports(r).output(),
        lambda r: repr(check_to_dict(check_reports(r))),
    ):
        assert render([streamed]) == render([alone])


_IN_PROCESS = """
import json, os, sys, threading
import ukeytool
from ukeytool.pkcs11 import assemble
log, shim = sys.argv[1], sys.argv[2]
seen = []
real = assemble.entry
threads = []

def recording(obj, *args):
    text = open(log).read() if os.path.exists(log) else ""
    seen.append(text.count("C_GetAttributeValue"))
    threads.append(threading.current_thread() is threading.main_thread())
    return real(obj, *args)

assemble.entry = recording
report = ukeytool.inspect(shim)
total = open(log).read().count("C_GetAttributeValue")
print(json.dumps([seen, total, len(report.certificates), threading.active_count(), threads]))
"""


def test_in_process_a_reader_thread_makes_the_calls(
    shim: Path, crowd: SoftHSMStore, tmp_path: Path
) -> None:
    """Without isolation too, on a slow module certificate N is parsed while the module
    works on N+1: the module (10 ms a call) is slower than the parsing, so after the first
    certificates the events go to a parser thread (ctypes lets go of the GIL during each
    call); at the first parse, the module has not been asked for every certificate yet.
    The calls are the same (one C_GetAttributeValue per certificate) and the thread is
    gone afterwards. (In a child process: the misbehaving module is never loaded by
    pytest.)"""
    log = tmp_path / "calls.log"
    env = shim_env(crowd, log=log)
    env["MISBEHAVE_DELAY_US"] = "10000"
    done = subprocess.run(
        [sys.executable, "-c", _IN_PROCESS, str(log), str(shim)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen, total, certificates, threads, in_main = json.loads(done.stdout)
    assert len(seen) == certificates == total == 10 * COPIES + 1
    assert seen[0] < total
    assert threads == 1
    # The first certificates inline (the walk's own thread), then beside it: for good.
    assert in_main[:2] == [True, True]
    assert not any(in_main[3:])


@pytest.mark.parametrize("overlap", [None, True], ids=["decided", "beside"])
def test_the_reader_thread_stops_when_the_caller_gives_up(bank: Bank, overlap: bool | None) -> None:
    """The caller's side fails (here: parsing, on the first certificate): the walk
    stops before its next event, the parser thread (if any) is waited for, and the
    error is the caller's."""
    import threading

    from ukeytool.pkcs11.inspect import read_beside
    from ukeytool.testing.fake import FakeBackend, FakeCertificate, FakeSlot, FakeToken

    backend = FakeBackend(
        [FakeSlot(FakeToken(objects=[FakeCertificate(bank.certs["valid"].der)] * 3))]
    )
    events: list[str] = []

    def sink(kind: str, *args: Any) -> None:
        events.append(kind)
        if kind == "object":
            raise OverflowError("the parser failed")

    before = threading.active_count()
    with pytest.raises(OverflowError, match="the parser failed"):
        read_beside(backend, sink, overlap=overlap)
    assert threading.active_count() == before
    assert events[-1] == "object"
    assert events.count("object") == 1


@pytest.mark.parametrize("overlap", [None, True], ids=["decided", "beside"])
def test_what_the_reader_raises_is_the_callers(bank: Bank, overlap: bool | None) -> None:
    from ukeytool import Login, UsageError
    from ukeytool.pkcs11.inspect import read_beside
    from ukeytool.testing.fake import FakeBackend, FakeSlot

    events: list[str] = []
    with pytest.raises(UsageError, match="cannot log in"):
        # No token to log in to: refused before any session, after the events before it.
        read_beside(
            FakeBackend([FakeSlot()]),
            lambda *e: events.append(e[0]),
            login=Login(None),
            overlap=overlap,
        )
    assert events == ["head", "slot_start"]


def _many_certificates(bank: Bank, n: int) -> Any:
    from ukeytool.testing.fake import FakeBackend, FakeCertificate, FakeSlot, FakeToken

    token = FakeToken(objects=[FakeCertificate(bank.certs["valid"].der)] * n)
    return FakeBackend([FakeSlot(token), FakeSlot(FakeToken(label=b"second"))])


def test_a_fast_module_is_read_inline(bank: Bank) -> None:
    """A module that answers faster than a certificate is parsed (the fake backend
    answers at once; the sink takes a millisecond an object) is read with no second
    thread: every event is handled in the caller's thread, none is started, and the
    events are the walk's own, in its order."""
    import threading
    import time

    from ukeytool.pkcs11.inspect import read_beside, walk

    backend = _many_certificates(bank, 40)
    expected: list[tuple[Any, ...]] = []
    walk(backend, sink=lambda *e: expected.append(e))
    events: list[tuple[Any, ...]] = []
    where: set[tuple[bool, int]] = set()
    before = threading.active_count()

    def sink(*event: Any) -> None:
        where.add((threading.current_thread() is threading.main_thread(), threading.active_count()))
        if event[0] == "object":
            time.sleep(0.001)  # a parse, slower than the fake module's answer
        events.append(event)

    read_beside(backend, sink)
    assert events == expected
    assert where == {(True, before)}


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OverflowError])
def test_beside_the_events_keep_their_order_and_a_failure_stops_the_walk(
    bank: Bank, failure: type[BaseException]
) -> None:
    """Beside the walk (``overlap=True``; what a slow module gets), the parser thread is
    given the walk's events in its order; when it fails (an error, Ctrl-C), the walk
    stops before its next event, the thread is gone and the failure is the caller's."""
    import threading

    from ukeytool.pkcs11.inspect import read_beside, walk

    backend = _many_certificates(bank, 20)
    expected: list[tuple[Any, ...]] = []
    walk(backend, sink=lambda *e: expected.append(e))
    events: list[tuple[Any, ...]] = []
    threads: set[bool] = set()
    read_beside(
        backend,
        lambda *e: (
            events.append(e),
            threads.add(threading.current_thread().name == "ukeytool-parser"),
        ),
        overlap=True,
    )
    assert events == expected
    assert threads == {True}

    before = threading.active_count()
    seen: list[str] = []

    def failing(kind: str, *args: Any) -> None:
        seen.append(kind)
        if seen.count("object") == 3:
            raise failure

    with pytest.raises(failure):
        read_beside(backend, failing, overlap=True)
    assert threading.active_count() == before
    assert seen.count("object") == 3
    assert seen[-1] == "object"


def test_a_child_that_dies_mid_slot_leaves_that_slot_incomplete(
    shim: Path, crowd: SoftHSMStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child is killed after it sent some of a token's certificates: what had
    arrived of that slot is not shown as if it were all (the slot is incomplete, with
    the crash as its problem), and a new child reads the other slots."""
    import signal
    import threading
    import time

    from ukeytool.pkcs11.isolate import inspect_in_child

    log = _slow_module_here(crowd, tmp_path, monkeypatch)

    def reads() -> list[str]:
        lines = log.read_text("ascii").splitlines() if log.exists() else []
        return [line for line in lines if line.startswith("C_GetAttributeValue")]

    def kill() -> None:
        end = time.monotonic() + 60  # a bound on a broken test, not a timing assumption
        while len(reads()) < 5 and time.monotonic() < end:
            time.sleep(0.01)
        os.kill(int(reads()[0].rsplit("pid=", 1)[1]), signal.SIGKILL)

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        report = inspect_in_child(str(shim), at=FIXED_NOW, timeout=120)
    finally:
        killer.join()
    (first,) = [s for s in report.slots if s.problems]
    others = [s for s in report.slots if s is not first]
    assert first.token is None
    assert not first.complete
    assert [p.message.code for p in first.problems] == ["isolation.slot_crashed"]
    assert not report.complete
    labels = [s.token.label.value for s in others if s.token is not None and s.token.initialized]
    assert labels == ["second"]
    assert len(report.certificates) == 1
    pids = {line.rsplit("pid=", 1)[1] for line in log.read_text("ascii").splitlines()}
    assert len(pids) == 2  # the second child read the other slots
