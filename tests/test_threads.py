"""Several threads, several processes, and fork, against real SoftHSM tokens.

A module file is loaded once per process and shared, behind one lock (python-pkcs11
initialises modules without CKF_OS_LOCKING_OK): threads that list the same token at once
must all get the whole listing. Separate processes each load their own copy. A forked
child must initialise the module itself and never call through its parent's handles.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ukeytool
from ukeytool.pkcs11 import loading as _loading

from .conftest import FIXED_NOW, Bank
from .shim_module import AT, shim_env

pytestmark = pytest.mark.softhsm

THREADS = 4
ROUNDS = 12


@pytest.fixture
def bank_env(bank: Bank, monkeypatch: pytest.MonkeyPatch) -> Bank:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    return bank


def summary(report: ukeytool.Report) -> list[tuple[Any, ...]]:
    """What a listing found, in an order that does not depend on SoftHSM's handles."""
    return sorted(
        (
            slot.token.serial.value if slot.token else "",
            c.id or b"",
            c.label.raw if c.label else b"",
            c.status.value,
            c.certificate.sha256 if c.certificate else "",
        )
        for slot in report.slots
        for c in slot.certificates
    )


def in_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` in ``count`` threads started together; re-raise the first error."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def test_threads_list_the_same_token_at_once(bank_env: Bank) -> None:
    path = str(bank_env.store.module_path)
    expected = summary(ukeytool.inspect(path, at=FIXED_NOW))
    assert len(expected) == 12
    results: list[list[tuple[Any, ...]]] = []

    def inspect(_i: int) -> None:
        for _ in range(ROUNDS):
            results.append(summary(ukeytool.inspect(path, at=FIXED_NOW)))

    with ukeytool.open_module(path) as module:

        def read(_i: int) -> None:
            for _ in range(ROUNDS):
                slot_ids, problems = module.slot_ids()
                assert problems == ()
                slots = tuple(ukeytool.read_slot(module, s, at=FIXED_NOW) for s in slot_ids)
                report = ukeytool.Report(module.info, slots, FIXED_NOW, 30)
                results.append(summary(report))

        # With the module held open: inspect() shares it with the readers.
        in_threads(THREADS + 2, lambda i: inspect(i) if i < THREADS else read(i))
    # With nobody holding it: each inspect() may be the one that loads or finalises it.
    in_threads(THREADS, inspect)
    assert len(results) == (2 * THREADS + 2) * ROUNDS
    assert all(result == expected for result in results)
    assert not _loading._registry  # every user gone: finalised


def test_finalising_happens_before_anyone_can_open_the_module_again(
    bank_env: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An open between the registry entry's removal and C_Finalize would get
    # python-pkcs11's still-initialised library and then lose it to that C_Finalize
    # (CKR_CRYPTOKI_NOT_INITIALIZED on its next call). So C_Finalize runs under the
    # registry lock, which every open takes.
    seen: list[bool] = []
    finalise = _loading.LoadedModule.finalise

    def watched(loaded: _loading.LoadedModule) -> None:
        seen.append(_loading._registry_lock.locked())
        finalise(loaded)

    monkeypatch.setattr(_loading.LoadedModule, "finalise", watched)
    with ukeytool.open_module(str(bank_env.store.module_path)) as module:
        assert module.slot_ids()[0]
    assert seen == [True]


def test_two_processes_list_the_same_token_at_once(bank: Bank) -> None:
    command = [sys.executable, "-m", "ukeytool", "list-tokens", "--json", "--at", AT]
    command += ["--module", str(bank.store.module_path)]
    runs = [
        subprocess.Popen(
            command,
            env=bank.store.subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    documents = []
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
        assert err == ""
        doc = json.loads(out)
        assert doc["complete"] is True
        documents.append(
            sorted(
                (c["id"], c["label"], c["status"], c["sha256"])
                for slot in doc["modules"][0]["slots"]
                if slot["token"]
                for c in slot["token"].get("certificates", [])
            )
        )
    assert documents[0] == documents[1]
    assert len(documents[0]) == 12


FORK_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, threading
    import ukeytool

    path = sys.argv[1]
    module = ukeytool.open_module(path)
    before = module.slot_ids()[0]

    # Another thread holds the module's lock when the process forks.
    held, release = threading.Event(), threading.Event()

    def hold():
        with module._loaded.lock:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    pid = os.fork()
    if pid == 0:
        signal.alarm(30)  # a deadlock here must not outlive the test
        try:
            module.slot_ids()
        except ukeytool.UsageError as exc:
            assert "was opened before this process forked" in str(exc), exc
        else:
            raise AssertionError("the parent's module answered in the child")
        with ukeytool.open_module(path) as fresh:
            assert fresh.slot_ids()[0] == before
        module.close()  # the parent's: not finalised from here
        sys.exit(0)  # through the interpreter's exit, destructors and all
    release.set()
    holder.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status
    assert module.slot_ids()[0] == before  # the child took nothing away from the parent
    module.close()
    print(pid)
    """
)


def test_forked_child_initialises_the_module_itself(shim: Path, bank: Bank, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", FORK_SCRIPT, str(shim)],
        env=shim_env(bank.store, log=log),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    child = int(done.stdout)
    calls = [
        (line.split()[0], int(line.rsplit("pid=", 1)[1]))
        for line in log.read_text("ascii").splitlines()
    ]
    parent = calls[0][1]
    assert parent != child
    assert [pid for name, pid in calls if name == "C_Initialize"] == [parent, child]
    assert [pid for name, pid in calls if name == "C_Finalize"] == [child, parent]
    # the child's first call is its own C_Initialize: nothing through the parent's
    by_child = [name for name, pid in calls if pid == child]
    assert by_child[0] == "C_Initialize"
    assert by_child[-1] == "C_Finalize"
