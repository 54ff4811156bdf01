"""A token selection (``--token-label``, ``--serial``, a ``pkcs11:`` URI) is applied
while the module is read, not after (issue 12's review): a token not selected gets no
session, none of its objects is read, and a token that crashes or hangs in its object
calls cannot spoil the listing of the one asked for. What is shown stays what it was.

The calls are counted through the misbehaving module (tests/shim), which logs every call
it sees (C_OpenSession with its slot); its ``find_crash`` and ``find_hang`` modes make
one token die or hang as soon as its objects are searched for.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ukeytool
from ukeytool.cli import ExitCode
from ukeytool.model._value import replace
from ukeytool.pkcs11.selection import TokenSelection
from ukeytool.testing.certs import mint
from ukeytool.testing.softhsm import CertObject, PrivateKeyObject, SoftHSMStore, TokenSpec

from .conftest import FIXED_NOW, Cli
from .shim_module import AT, Run, run_ukeytool, shim_env

pytestmark = [pytest.mark.softhsm]

DAY = datetime.timedelta(days=1)
LABELS = ("alpha", "beta", "gamma")


@dataclasses.dataclass(frozen=True)
class Three:
    """A store of three tokens, one certificate each (alpha's with its private key)."""

    store: SoftHSMStore
    serials: dict[str, str]
    slot_ids: dict[str, int]
    index: dict[str, int]
    """Each token's place in C_GetSlotList (the shim's MISBEHAVE_SLOT)."""


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory, shim: Path) -> Three:
    store = SoftHSMStore(tmp_path_factory.mktemp("select"))
    specs = []
    for days, label in zip((20, 200, 500), LABELS, strict=True):
        made = mint(
            subject_cn=label,
            not_before=FIXED_NOW - 10 * DAY,
            not_after=FIXED_NOW + days * DAY,
            key="ec-p256",
        )
        objects: list[Any] = [CertObject(made.der, label=label, id=b"\x01")]
        if label == "alpha":
            objects.append(PrivateKeyObject(made.key_pkcs8_der, label=label, id=b"\x01"))
        specs.append(TokenSpec(label=label, objects=objects))
    created = store.add_tokens(specs)
    serials = {t.label.decode(): t.serial for t in created}
    slot_ids = {t.label.decode(): t.slot_id for t in created}
    run = run_ukeytool(shim, store)
    assert run.returncode == ExitCode.OK, run.stderr
    order = [s["slot_id"] for s in run.slots]
    index = {label: order.index(slot_ids[label]) for label in LABELS}
    return Three(store, serials, slot_ids, index)


def sessions(run: Run) -> list[int]:
    """The slots C_OpenSession was called on, in order."""
    return [c.fields["slot"] for c in run.calls_to("C_OpenSession")]


def calls_on(run: Run, slot_id: int) -> list[str]:
    """The calls made between the opening of a session on ``slot_id`` and its closing
    (the walk reads one token at a time)."""
    inside, found = False, []
    for call in run.calls:
        if call.function == "C_OpenSession":
            inside = call.fields["slot"] == slot_id
        if inside:
            found.append(call.function)
        if call.function == "C_CloseSession":
            inside = False
    return found


def listed(run: Run) -> list[str]:
    return [s["token"]["label"] for s in run.slots if s["token"]]


ISOLATION = {"isolated": True, "in-process": False}


# --- what is read ---------------------------------------------------------------------


@pytest.mark.parametrize("where", sorted(ISOLATION))
@pytest.mark.parametrize(
    "how",
    [
        ("--token-label", "alpha"),
        ("pkcs11:token=alpha",),
        ("--uri", "pkcs11:library-manufacturer=SoftHSM;model=SoftHSM%20v2;token=alpha"),
        ("--uri", "pkcs11:token=alpha;object=alpha;type=cert"),
        ("--serial", "SERIAL"),
    ],
)
def test_only_the_selected_token_gets_a_session(
    shim: Path, three: Three, how: tuple[str, ...], where: str
) -> None:
    args = tuple(three.serials["alpha"] if a == "SERIAL" else a for a in how)
    everything = run_ukeytool(shim, three.store, isolate=ISOLATION[where])
    selected = run_ukeytool(shim, three.store, isolate=ISOLATION[where], args=args)
    assert everything.returncode == selected.returncode == ExitCode.OK, selected.stderr
    assert listed(selected) == ["alpha"]
    alpha = three.slot_ids["alpha"]
    # Today's listing opened a session on every token; the selection on alpha's only,
    # and every object call is made in it: the very calls the full listing made on alpha.
    assert sorted(sessions(everything)) == sorted(three.slot_ids.values())
    assert sessions(selected) == [alpha]
    assert calls_on(selected, alpha) == calls_on(everything, alpha)
    for function in ("C_FindObjectsInit", "C_FindObjects", "C_GetAttributeValue"):
        assert selected.count(function) == calls_on(everything, alpha).count(function) > 0
        assert everything.count(function) > selected.count(function)
    # The others' token info is still read (that is how they are known not to match).
    assert selected.count("C_GetTokenInfo") >= len(LABELS)


def test_a_selection_of_several_tokens_reads_those(shim: Path, three: Three) -> None:
    run = run_ukeytool(shim, three.store, args=["--uri", "pkcs11:model=SoftHSM%20v2"])
    assert run.returncode == ExitCode.OK, run.stderr
    assert sorted(sessions(run)) == sorted(three.slot_ids.values())


@pytest.mark.parametrize("where", sorted(ISOLATION))
def test_nothing_selected_opens_no_session(shim: Path, three: Three, where: str) -> None:
    run = run_ukeytool(shim, three.store, isolate=ISOLATION[where], args=["--token-label", "nope"])
    assert run.returncode == ExitCode.USAGE
    assert run.stderr == (
        "ukeytool: error: no token matches label 'nope'; run 'ukeytool list-tokens' to "
        "see them all\n"
    )
    assert sessions(run) == []
    assert run.count("C_GetAttributeValue") == 0


@pytest.mark.parametrize("where", sorted(ISOLATION))
def test_a_login_reads_and_logs_in_to_the_selected_token_only(
    shim: Path, three: Three, where: str
) -> None:
    run = run_ukeytool(
        shim,
        three.store,
        isolate=ISOLATION[where],
        args=["--login", "--token-label", "alpha"],
        env={"UKEYTOOL_PIN": "1234"},
    )
    assert run.returncode == ExitCode.OK, run.stderr
    assert listed(run) == ["alpha"]
    (slot,) = run.slots
    assert slot["login"]["state"] == "logged_in"
    # The first listing and the one after the login: alpha's sessions only, one C_Login.
    alpha = three.slot_ids["alpha"]
    assert sessions(run) == [alpha, alpha]
    assert run.count("C_Login") == 1


# --- a token not selected cannot spoil the listing ------------------------------------


@pytest.mark.parametrize(
    ("mode", "isolate"),
    [("find_crash", True), ("find_hang", True), ("find_hang", False), ("find_crash", False)],
)
def test_a_token_failing_in_its_object_calls_spoils_no_other_listing(
    shim: Path, three: Three, mode: str, *, isolate: bool
) -> None:
    good = run_ukeytool(shim, three.store, isolate=isolate, args=["--token-label", "alpha"])
    # beta: crashes or hangs as soon as its objects are searched for. Without isolation
    # a crash would take ukeytool down, and a hang would never end (the run's own
    # time limit stops it): neither happens, its objects are not asked for.
    run = run_ukeytool(
        shim,
        three.store,
        [mode],
        slot=three.index["beta"],
        isolate=isolate,
        timeout=30,
        args=["--token-label", "alpha", "--timeout", "20"]
        if isolate
        else ["--token-label", "alpha"],
    )
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.document == good.document | {"generated_at": run.document["generated_at"]}
    assert not [c for c in run.calls if c.misbehaved]
    assert len([c for c in run.calls if c.function == "C_Initialize"]) == 1  # no restart


@pytest.mark.parametrize("where", sorted(ISOLATION))
def test_several_modules_each_read_the_selected_token_only(
    shim: Path, three: Three, tmp_path: Path, where: str
) -> None:
    """Two modules (the shim, and a copy of it loaded as a module of its own), beta
    crashing in both: each lists alpha, and no session is opened on another token."""
    copy = tmp_path / "libmisbehave-copy.so"
    copy.write_bytes(shim.read_bytes())
    run = run_ukeytool(
        shim,
        three.store,
        ["find_crash"],
        slot=three.index["beta"],
        isolate=ISOLATION[where],
        args=["--module", str(copy), "--token-label", "alpha"],
    )
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.document is not None
    modules = run.document["modules"]
    assert [m["path"] for m in modules] == [str(shim), str(copy)]
    for module in modules:
        assert [s["token"]["label"] for s in module["slots"]] == ["alpha"]
    assert sessions(run) == [three.slot_ids["alpha"]] * 2
    assert not [c for c in run.calls if c.misbehaved]


def test_the_failing_token_does_fail_when_it_is_read(shim: Path, three: Three) -> None:
    """The other side of the test above: the mode does what it says."""
    run = run_ukeytool(shim, three.store, ["find_crash"], slot=three.index["beta"], isolate=True)
    assert run.returncode != ExitCode.OK
    problems = [p["message_code"] for s in run.slots for p in s["problems"]]
    assert "isolation.slot_crashed" in problems
    assert [c.function for c in run.calls if c.misbehaved] == ["C_FindObjectsInit"]


# --- the same output as when every token was read ---------------------------------------

HANDLE = re.compile(r'("(?:certificate_)?handle": )\d+')


def _everything_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reading as it was before: every token read (the selection applied after)."""
    monkeypatch.setattr(TokenSelection, "selects", lambda self, slot, module=None: True)


COMMANDS = [
    ("list-tokens", "--token-label", "beta"),
    ("list-tokens", "--json", "--serial", "SERIAL"),
    ("list-tokens", "--format", "prometheus", "pkcs11:token=gamma"),
    ("list-tokens", "--details", "--uris", "--uri", "pkcs11:token=alpha;type=cert"),
    ("list-tokens", "--json", "--uri", "pkcs11:token=alpha;object=none"),
    ("list-tokens", "--uri", "pkcs11:library-manufacturer=Nobody;token=alpha"),
    ("list-tokens", "--token-label", "nope"),
    ("list-tokens", "--token-label", "alpha", "--serial", "nope"),
    ("list-tokens", "--uri", "pkcs11:token=alpha;x-vendor=1"),
    ("list-tokens", "--lang", "zh", "--json", "--token-label", "alpha"),
    ("check", "--token-label", "alpha"),
    ("check", "--serial", "SERIAL"),
    ("check", "--token-label", "nope"),
    ("list-tokens", "--login", "--json", "--token-label", "alpha"),
    ("list-tokens", "--login", "--token-label", "nope"),
    ("list-tokens", "--login", "--lang", "zh", "--token-label", "nope"),
    ("check", "--login", "--uri", "pkcs11:token=alpha"),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_the_output_is_what_it_was_when_every_token_was_read(
    cli: Cli, three: Three, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    argv = tuple(three.serials["beta"] if a == "SERIAL" else a for a in argv)
    module = str(three.store.module_path)
    monkeypatch.setenv("SOFTHSM2_CONF", str(three.store.conf_path))
    common = ("--module", module, "--at", AT)
    env = {"UKEYTOOL_PIN": "1234"}
    # now: isolated (the default) and not; before: every token read, in-process
    now = [cli(*argv, *common, *extra, env=env) for extra in ((), ("--no-isolation",))]
    with monkeypatch.context() as patch:
        _everything_read(patch)
        before = cli(*argv, *common, "--no-isolation", env=env)
    for result in now:
        assert result.code == before.code
        assert result.err == before.err
        # The module numbers its objects as it first finds them (SoftHSM across its
        # tokens), so a handle may differ when fewer tokens were read; nothing else may.
        assert HANDLE.sub(r"\1N", _moment(result.out)) == HANDLE.sub(r"\1N", _moment(before.out))


def _moment(out: str) -> str:
    return re.sub(r'"generated_at": "[^"]*"', '"generated_at": ""', out)


# --- the library ------------------------------------------------------------------------


def test_inspect_with_a_selection_marks_the_tokens_it_did_not_read(three: Three) -> None:
    path = str(three.store.module_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(three.store.conf_path))
        wanted = TokenSelection(label="beta")
        report = ukeytool.inspect(path, at=FIXED_NOW, select=wanted)
        whole = ukeytool.inspect(path, at=FIXED_NOW)
    by_label = {s.token.label.value: s for s in report.slots if s.token and s.token.initialized}
    assert set(by_label) == set(LABELS)
    for label, slot in by_label.items():
        assert slot.complete is (label == "beta")
        assert bool(slot.certificates) is (label == "beta")
        codes = [p.message.code for p in slot.problems]
        assert codes == ([] if label == "beta" else ["token.not_selected"])
    assert not report.complete  # two tokens were not read: not a complete listing
    kept = ukeytool.filter_report(report, label="beta")
    assert [s.token.label.value for s in kept.slots if s.token] == ["beta"]
    # The same as the whole reading filtered, but for the module's object handles.
    assert _unnumbered(kept) == _unnumbered(ukeytool.filter_report(whole, label="beta"))


def _unnumbered(report: ukeytool.Report) -> ukeytool.Report:
    slots = tuple(
        replace(s, certificates=tuple(replace(e, handle=0) for e in s.certificates))
        for s in report.slots
    )
    return replace(report, slots=slots)


# --- watch ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", sorted(ISOLATION))
def test_watch_reads_the_selected_token_only(
    shim: Path, three: Three, tmp_path: Path, where: str
) -> None:
    """``watch --until-inserted --token-label alpha``: the tokens present are judged as
    they come; beta, which crashes as soon as its objects are searched for, is not read
    (before, the watch's first poll read it and died with it)."""
    log = tmp_path / "calls.log"
    env = shim_env(three.store, ["find_crash"], slot=three.index["beta"], log=log)
    env.pop("PKCS11_MODULE", None)
    argv = ["--module", str(shim), "--at", AT, "--json", "--interval", "0.2"]
    argv += ["--until-inserted", "--token-label", "alpha"]
    if not ISOLATION[where]:
        argv.append("--no-isolation")
    done = _watch(argv, env, timeout=60)
    assert done.returncode == 1, done.stderr  # alpha's certificate: expiring (WARNING)
    (line,) = done.stdout.splitlines()
    event = json.loads(line)
    assert (event["event"], event["token"]["label"]) == ("present", "alpha")
    calls = log.read_text("ascii").splitlines()
    opened = [c.split()[1] for c in calls if c.startswith("C_OpenSession")]
    assert opened == [f"slot={three.slot_ids['alpha']}"]
    assert not [c for c in calls if " mis=1" in c]


def test_watch_refuses_a_uri_no_token_can_match_before_loading(
    three: Three, tmp_path: Path
) -> None:
    """A ``--uri`` with vendor path attributes matches no token: ``watch`` says so at
    once (a usage error, exit 2), as ``list-tokens`` does, instead of waiting for a token
    that can never be selected."""
    env = {**os.environ, "SOFTHSM2_CONF": str(three.store.conf_path)}
    argv = ["--module", str(three.store.module_path), "--interval", "0.2"]
    argv += ["--uri", "pkcs11:token=alpha;x-vendor=1"]
    done = _watch(argv, env, timeout=30)
    assert done.returncode == 2
    assert "x-vendor" in done.stderr
    assert done.stdout == ""


def _watch(
    argv: list[str], env: dict[str, str], *, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``ukeytool watch`` run as a user runs it, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "ukeytool", "watch", *argv],
        stdin=subprocess.DEVNULL,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
