"""Inspecting a module in a child process, so that a vendor module that hangs or crashes
takes the child down, never the caller.

:func:`inspect_in_child` starts a fresh Python, sends it the request over a pipe, and
reads what the module gave as it comes back, pickled, over another. The child imports
the PKCS#11 binding only and runs :func:`~ukeytool.pkcs11.inspect.walk`: it sends the
module's info and slot list, each slot's and token's info, each raw certificate and key
object as soon as its C_GetAttributeValue returned, the end of each slot, and then
``done``, before C_Finalize. The parent parses, judges and relates
(:class:`~ukeytool.pkcs11.assemble.Assembler`, the same code as without isolation) while
the child waits for the module's next answer, so the work hides behind the module's
round trips. The request (the one login, with its PIN, if any) travels only through the
pipe, never through argv or the environment, so a secret in it is not visible to other
processes; the moment and warn_days stay in the parent, which judges. What happens to
the child becomes an error of its own:

* no answer within ``timeout`` seconds: the child's process group is killed (no retry)
  and :class:`~ukeytool.ModuleTimedOut` raised;
* the child died (a signal, or the module called ``exit``):
  :class:`~ukeytool.ModuleCrashed`, with the signal's number and name;
* every error ukeytool raises in the child is raised again in the parent, the same
  class with the same attributes (see :mod:`ukeytool.errors`).

Messages cross as data: the report's problems and login outcome, and the error's
message, are :class:`~ukeytool.Message` values (template and parameters), pickled
with the rest. The child does not know the reader's language and need not: the parent
renders them where they are shown.

How the child is started, and why
---------------------------------

Not with :mod:`multiprocessing`, whose start methods each get something wrong here:

* ``fork`` copies the caller: the locks other threads hold at that moment (library
  callers may have threads; Python 3.12 warns about fork in a threaded process), and the
  handles of any PKCS#11 module the caller has open, which PKCS#11 forbids a child to use.
* ``forkserver`` forks every child from a server started once, with the environment of
  that moment: a variable set later (``SOFTHSM2_CONF``, a vendor's configuration) would
  never reach the module.
* ``spawn`` starts a fresh interpreter, which is right, but it imports the caller's
  ``__main__`` again in the child, running the caller's script a second time when it
  lacks the ``if __name__ == "__main__"`` guard.

So the child is what ``spawn`` starts, without ``__main__``: ``sys.executable -c`` with a
two-line bootstrap that takes the parent's ``sys.path`` (so it imports this very copy of
ukeytool) and then the request from its standard input. It inherits the current
environment and nothing else. It runs in a session of its own, so the terminal's Ctrl-C
reaches the parent alone; the parent then kills the child's whole process group (with
any helper process the module started) and lets ``KeyboardInterrupt`` go on. On Linux the
child also asks to be killed if the parent dies (``PR_SET_PDEATHSIG``), so a parent that
is itself killed leaves no hanging child behind.

What crosses the pipes:

* standard input: the parent's ``sys.path``, then a request
  (:class:`~ukeytool.pkcs11.isolate_child.Request`), both pickled;
* standard output: length-prefixed pickled messages: ``ready`` once the request is in,
  log records as they happen and warnings at the end of each slot (so ``--trace`` and a
  library caller's logging see the child's records as if they were their own, and its
  warnings go through the caller's filters), what was read as it is read (see
  :class:`~ukeytool.pkcs11.assemble.Assembler` for those events; each raw object as a
  plain tuple, several in one message when they come faster than the parent takes
  them), and finally the outcome (``done``, or the error). The child moves its own
  file descriptor 1 onto its standard error first, so a module that prints to standard
  output cannot corrupt the messages;
* standard error: whatever the module (or Python) writes there, copied to the parent's
  ``sys.stderr`` as it comes.

The child's side is :mod:`ukeytool.pkcs11.isolate_child`; reading its pipes,
:mod:`ukeytool.pkcs11.isolate_pipe`. The command line starts its first child early
(:func:`prestarted`): the child's interpreter starts and imports the binding while the
parent reads its configuration, and the parent imports the parser and the renderer
while the child loads the module.

The child trusts the parent and the parent trusts the child's pickles: both are the same
user's processes running the same code, and the module could do anything that user can
do anyway. Isolation protects against a module that is broken, not against one that is
malicious.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import os
import pickle
import signal
import sys
import time
from collections.abc import Sequence

from ..errors import ModuleCrashed, ModuleTimedOut, UsageError
from ..i18n.message import Message, plural_template, template
from ..model import Problem, Report, SlotInfo, SlotReport
from ..model._value import replace
from .isolate_child import LOGGERS, Request
from .isolate_pipe import FINALIZE_SECONDS, Conversation
from .isolate_spawn import (
    BOOTSTRAP,
    SPARES,
    Child,
    Prestart,
    child_environment,
    discard,
    spawn,
)

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from .login import Login
    from .selection import TokenSelection

__all__ = [
    # The isolation's own API, which the inspection's and the watch's children share
    # (pkcs11.watch): starting, timing out, killing and reaping a child, and what its
    # death or its traceback means.
    "ChildTraceback",
    "child_environment",
    "death",
    "inspect_in_child",
    "kill",
    "log_levels",
    "prestarted",
    "reap",
    "timed_out",
]

#: After the child was killed (or answered), how long to wait for it to be reaped. A
#: process stuck in the kernel (a USB driver) may not die at once; it is left behind
#: rather than hang the caller.
REAP_SECONDS: Final = 5.0
_BOOTSTRAP: Final = BOOTSTRAP


BAD_TIMEOUT: Final = template(
    "usage.bad_timeout", "the timeout must be a number of seconds > 0, not {timeout}"
)
NO_EXECUTABLE: Final = template(
    "isolation.no_executable",
    "cannot start a child process to inspect the module in: this Python does "
    "not know its own executable (sys.executable is empty); inspect without "
    "isolation",
)
CANNOT_START: Final = template(
    "isolation.cannot_start",
    "cannot start a child process to inspect the module in ({executable}: "
    "{reason}); inspect without isolation",
)
TIMED_OUT: Final = template(
    "isolation.timed_out",
    "module {path} did not answer within {timeout} s and was stopped: the "
    "device or its driver may be stuck; unplug and replug the token, or allow "
    "more time",
)
NOT_STARTED: Final = template(
    "isolation.child_not_started",
    "the child process for module {path} ended before it started "
    "(exit status {status}); see the messages above",
)
KILLED: Final = template(
    "isolation.crashed",
    "module {path} crashed (signal {number}, {name}) while it was inspected; "
    "the module or its device is faulty: ask its vendor, or run with --trace "
    "to see the last call it answered",
)
EXITED: Final = template(
    "isolation.exited",
    "module {path} ended the process it was inspected in (exit status {status}) "
    "without an answer; the module or its device is faulty: ask its vendor, or "
    "run with --trace to see the last call it answered",
)

#: A module that crashes on one slot is inspected again without that slot, at most this
#: many times (each crash costs a child, and its C_Initialize).
MAX_RESTARTS: Final = 3

FINALIZE_CRASHED: Final = template(
    "isolation.finalize_crashed",
    "module {path} crashed (signal {number}, {name}) in C_Finalize, after everything "
    "had been read: nothing was lost",
)
FINALIZE_EXITED: Final = template(
    "isolation.finalize_exited",
    "module {path} ended its process (exit status {status}) in C_Finalize, after "
    "everything had been read: nothing was lost",
)
FINALIZE_HUNG: Final = template(
    "isolation.finalize_hung",
    "module {path} did not return from C_Finalize within {timeout} s and was stopped, "
    "after everything had been read: nothing was lost",
)
SLOT_CRASHED: Final = template(
    "isolation.slot_crashed",
    "the module crashed (signal {number}, {name}) while this slot was read; the other "
    "slots were read without it",
)
SLOT_EXITED: Final = template(
    "isolation.slot_exited",
    "the module ended its process (exit status {status}) while this slot was read; the "
    "other slots were read without it",
)
SLOT_TIMED_OUT: Final = template(
    "isolation.slot_timed_out",
    "the module did not answer within {timeout} s while this slot was read and was "
    "stopped; the slots after it were not read",
)
SLOTS_NOT_READ: Final = plural_template(
    "isolation.slots_not_read",
    "{n} slot was not read: the module crashed or hung too often",
    "{n} slots were not read: the module crashed or hung too often",
)


def finalize_seconds(timeout: float | None) -> float:
    """How long C_Finalize may take once the report is in: the timeout, at most
    :data:`FINALIZE_SECONDS`."""
    return FINALIZE_SECONDS if timeout is None else min(timeout, FINALIZE_SECONDS)


def inspect_in_child(
    path: str,
    *,
    timeout: float | None = None,
    at: datetime.datetime | None = None,
    warn_days: int = 30,
    login: Login | None = None,
    select: TokenSelection | None = None,
) -> Report:
    """:func:`ukeytool.inspect` ``(path, at=at, warn_days=warn_days, login=login,
    select=select)`` in a child process (the selection goes with the request: the child
    reads only the tokens it selects).

    ``timeout`` is the number of seconds the child has to answer (None: no limit).
    Raises what :func:`ukeytool.inspect` raises, and :class:`~ukeytool.ModuleTimedOut`
    or :class:`~ukeytool.ModuleCrashed` for what happened to the child before it had
    read anything.

    The child sends what it reads as it reads it (each certificate object as soon as
    the module gave it), and this process parses and judges each certificate while the
    child waits for the module's next answer. So what was read is never lost to a later
    fault: a crash or hang in C_Finalize is a :class:`~ukeytool.Problem` of the report
    that loses nothing (:attr:`~ukeytool.Problem.after_read`; the report stays
    complete); a crash while one slot is read becomes a problem on that slot (which is
    incomplete: what had arrived of it is not shown as if it were all), and the other
    slots are read by a new child that skips it (at most :data:`MAX_RESTARTS` times;
    never after a login was asked for, so that no PIN is tried twice); a hang while one
    slot is read becomes a problem on that slot, the slots read before it listed.
    """
    if timeout is not None and not timeout > 0:
        raise UsageError(BAD_TIMEOUT(timeout=repr(timeout)))
    from ..judging.validity import check_moment, check_warn_days
    from .loading import check_module_file

    moment = check_moment(at, what="at") if at is not None else _now()
    check_warn_days(warn_days)
    # The file's own mistakes (not found, wrong CPU...) need no child to be found.
    check_module_file(path)
    if not sys.executable:
        raise UsageError(NO_EXECUTABLE())
    skip: list[int] = []
    read: list[SlotReport] = []
    module_problems: tuple[Problem, ...] = ()
    head: tuple[Any, ...] | None = None
    for restart in range(MAX_RESTARTS + 1):
        conversation, status, finished = _run_child(
            path,
            timeout,
            login=login,
            select=select,
            skip=tuple(skip),
            judging=(moment, warn_days),
        )
        outcome = conversation.outcome
        if outcome is not None and outcome[0] == "done":
            assert conversation.assembler is not None
            report = _after_report(
                path,
                conversation.assembler.report(),
                conversation,
                status=status,
                finished=finished,
                timeout=timeout,
            )
            if head is None:
                return report
            return replace(
                report,
                slots=_in_order(head[1], [*read, *report.slots]),
                problems=(*module_problems, *report.problems),
            )
        if head is not None and (outcome is not None or conversation.head is None):
            break  # a new child failed before it read anything: keep the first one's
        if outcome is not None:
            kind, value, *rest = outcome
            if kind == "error":
                raise value
            # A bug in ukeytool, inside the child: raise it here, with its traceback.
            raise value from ChildTraceback(rest[0] if rest else "")
        if conversation.head is None:
            if not finished:
                raise timed_out(path, timeout)
            raise death(path, status, ready=conversation.ready)
        # The child died or hung part-way: keep what it read, and say where it stopped.
        if head is None:
            head = conversation.head
            module_problems = conversation.head[2]
        read.extend(conversation.slots)
        current = conversation.current
        if current is None or current in skip:  # pragma: no cover - between two slots
            break
        skip.extend([*(s.slot.slot_id for s in conversation.slots), current])
        if not finished:
            assert timeout is not None
            read.append(_failed_slot(current, SLOT_TIMED_OUT(timeout=f"{timeout:g}")))
            break
        read.append(_failed_slot(current, _slot_death(status)))
        if login is not None:
            break  # a login is never tried a second time
        if restart == MAX_RESTARTS:
            break
    assert head is not None
    done = {s.slot.slot_id for s in read}
    missing = [s for s in head[1] if s not in done]
    if missing:
        read.extend(_failed_slot(s, SLOTS_NOT_READ(n=len(missing))) for s in missing)
    return Report(
        module=head[0],
        slots=_in_order(head[1], read),
        at=moment,
        warn_days=warn_days,
        problems=module_problems,
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _in_order(slot_ids: tuple[int, ...], slots: list[SlotReport]) -> tuple[SlotReport, ...]:
    """``slots`` in the module's slot-list order."""
    order = {s: i for i, s in enumerate(slot_ids)}
    return tuple(sorted(slots, key=lambda s: order.get(s.slot.slot_id, len(order))))


def _failed_slot(slot_id: int, message: Message) -> SlotReport:
    from ..model.text import decode_text

    empty = decode_text(b"")
    slot = SlotInfo(slot_id, empty, empty, 0, (), (0, 0), (0, 0))
    problem = Problem("slot", message)
    return SlotReport(slot, None, problems=(problem,), complete=False)


def _slot_death(status: int | None) -> Message:
    if status is not None and status < 0:
        number, name = _signal(-status)
        return SLOT_CRASHED(number=number, name=name)
    return SLOT_EXITED(status=str(status))


def _signal(number: int) -> tuple[int, str]:
    try:
        return number, signal.Signals(number).name
    except ValueError:
        return number, f"signal {number}"


def _after_report(
    path: str,
    report: Report,
    conversation: Conversation,
    *,
    status: int | None,
    finished: bool,
    timeout: float | None,
) -> Report:
    """The report, with a problem that loses nothing when C_Finalize failed after it."""
    message: Message | None = None
    if not finished:
        message = FINALIZE_HUNG(path=path, timeout=f"{finalize_seconds(timeout):g}")
    elif status is not None and status < 0:
        number, name = _signal(-status)
        message = FINALIZE_CRASHED(path=path, number=number, name=name)
    elif not conversation.finalized and status not in (0, None):
        message = FINALIZE_EXITED(path=path, status=str(status))
    if message is None:
        return report
    problem = Problem("C_Finalize", message, says_where=False, after_read=True)
    return replace(report, problems=(*report.problems, problem))


def timed_out(path: str, timeout: float | None) -> ModuleTimedOut:
    assert timeout is not None  # without a deadline the conversation always finishes
    return ModuleTimedOut(
        TIMED_OUT(path=path, timeout=f"{timeout:g}"), path=path, timeout=float(timeout)
    )


def _import_whole(names: Sequence[str]) -> None:
    """Import ``names`` with SIGINT and SIGTERM held back until they are imported: a
    Ctrl-C then interrupts the run at the next line, not a module half-way through its
    import (which left Python to die of the signal after the interruption was reported)."""
    if all(name in sys.modules for name in names):
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        for name in names:
            importlib.import_module(name)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def prestarted(enabled: bool = True, *, warm: Sequence[str] = ()) -> Prestart:
    """Start the next isolation child now, so that its interpreter starts and imports
    the PKCS#11 binding while this process does other work (reads configuration,
    imports the certificate parser and the renderers): the first
    :func:`inspect_in_child` inside the block takes it, sends it its request, and then
    imports the modules named in ``warm`` while the child loads the module. The child
    loads no module before its request: a mistake found before the first inspection
    still fails with no module loaded. A child not taken is stopped when the block ends.
    When a spare child was started earlier still
    (:class:`~ukeytool.pkcs11.isolate_spawn.Prestart`, right after the command line was
    parsed), that one is used and ``warm`` given to it. Not for threads: the command
    line's one inspection at a time."""
    return Prestart(enabled, warm=warm)


def _child() -> tuple[Child, tuple[str, ...]]:
    """The spare child when it fits this moment (same Python, environment and path),
    else a new one; and the modules to import while it works."""
    spare = SPARES.pop() if SPARES else None
    environment = child_environment()
    if spare is not None:
        if (
            spare.child.poll() is None
            and spare.executable == sys.executable
            and spare.environment == environment
            and spare.path == sys.path
        ):
            return spare.child, spare.warm
        discard(spare.child)
    try:
        return spawn(sys.executable, environment, list(sys.path)), ()
    except OSError as exc:
        # The reason is the OS's words (strerror): kept as they are in every language.
        raise UsageError(
            CANNOT_START(executable=sys.executable, reason=exc.strerror or str(exc))
        ) from None


def _run_child(
    path: str,
    timeout: float | None,
    *,
    login: Login | None,
    select: TokenSelection | None,
    skip: tuple[int, ...],
    judging: tuple[datetime.datetime, int],
) -> tuple[Conversation, int | None, bool]:
    """One child: (what it said, its exit status, whether it ended before the deadline).
    The child and its process group are gone when this returns. ``judging``: the moment
    and warn_days the certificates are judged with, here, as they arrive."""
    request = Request(path, login, log_levels(), os.getpid(), skip, select)
    payload = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
    started = time.monotonic()
    child, warm = _child()
    conversation = None
    try:
        conversation = Conversation(child, payload)
        conversation.finalize_seconds = finalize_seconds(timeout)
        assert child.stdin is not None
        conversation.on_stdin(child.stdin)  # the request, at once: the child can start
        # This process's own imports happen while the child loads the module.
        _import_whole(("ukeytool.pkcs11.assemble", *warm))
        from .assemble import Assembler

        conversation.assembler = Assembler(*judging)
        finished = conversation.run(None if timeout is None else started + timeout)
    except BaseException:
        # KeyboardInterrupt (SIGINT, SIGTERM), or a bug of ours: the child and any
        # helper the module started must not outlive the call.
        kill(child)
        reap(child)
        raise
    finally:
        if conversation is not None:
            conversation.close()
    if finished:
        # Helpers the module started, if any, go with the child's process group.
        _kill_group(child)
    else:
        kill(child)
    status = reap(child)
    return conversation, status, finished


class ChildTraceback(Exception):
    """The traceback of an unexpected exception in the child, as the cause of its copy."""

    def __str__(self) -> str:
        return "in the child process:\n" + str(self.args[0] if self.args else "")


def log_levels() -> dict[str, int]:
    from .logs import effective_level

    return {name: effective_level(name) for name in LOGGERS}


def death(path: str, status: int | None, *, ready: bool) -> BaseException:
    if not ready:
        # The module was never loaded: the child could not start ukeytool.
        # Not a module error: ukeytool itself could not start (a broken installation);
        # the message is the RuntimeError's one argument.
        return RuntimeError(NOT_STARTED(path=path, status=str(status)))
    if status is not None and status < 0:
        number = -status
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return ModuleCrashed(
            KILLED(path=path, number=number, name=name),
            path=path,
            signal=number,
            signal_name=name,
            exit_status=None,
        )
    return ModuleCrashed(
        EXITED(path=path, status=str(status)),
        path=path,
        signal=None,
        signal_name=None,
        exit_status=status,
    )


def kill(child: Child) -> None:
    """SIGKILL the child's process group (it leads one: start_new_session)."""
    if child.returncode is not None:
        return  # reaped: its id may belong to someone else by now
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:  # pragma: no cover - a member changed its uid
        child.kill()


def _kill_group(child: Child) -> None:
    """SIGKILL what is left of the child's process group (the module's helpers), also
    when the child itself has exited but was not reaped yet (its id is still ours)."""
    if child.returncode is not None:
        return
    try:
        exited = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except (ChildProcessError, AttributeError):  # pragma: no cover - reaped; no waitid
        return
    if exited is None:
        return  # still running (it closed its pipes): reap waits for it
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)


def reap(child: Child) -> int | None:
    status = child.wait_at_most(REAP_SECONDS)
    if status is None:
        from .logs import logger

        logger("ukeytool").warning("the child process %d does not end; left behind", child.pid)
    return status
