"""From a backend to a :class:`~ukeytool.Report`: module → slots → token → certificates.

One bad thing hides nothing else: a slot, token or object that fails is recorded as a
:class:`~ukeytool.Problem` where it happened and the walk goes on.

The reading (:func:`walk`: the PKCS#11 calls, raw results) needs the binding only; it
hands what it reads, as it reads it, to an :class:`~ukeytool.pkcs11.assemble.Assembler`,
which parses and judges the certificates. The isolation child imports this module and
not the certificate parser: it runs :func:`walk` and sends the events to the parent,
which assembles them (see :mod:`ukeytool.pkcs11.isolate`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Sequence

from ..errors import ModuleError, Pkcs11Failure, TokenError, UsageError
from ..i18n.message import Message, plural_template, template
from ..model import ModuleFailure, ModuleInfo, Problem, Report, SlotInfo, SlotReport
from ..model._value import replace
from ..model.text import decode_text
from .interface import RawCertificateObject, RawKeyObject

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, TypeAlias

    from .assemble import Assembler
    from .interface import Backend
    from .login import Login
    from .selection import TokenSelection

__all__ = [
    "Sink",
    "inspect",
    "inspect_backend",
    "inspect_modules",
    "read_beside",
    "read_slot",
    "walk",
]

Sink: TypeAlias = "Callable[..., Any]"
"""Where :func:`walk` puts what it reads: called as ``sink(kind, *args)`` (the events of
:class:`~ukeytool.pkcs11.assemble.Assembler`)."""

#: CKR_TOKEN_NOT_PRESENT: the slot said a token was there, the token call disagrees.
_TOKEN_NOT_PRESENT = 0xE0

TIMEOUT_NEEDS_ISOLATION: Final = template(
    "usage.timeout_needs_isolation",
    "a timeout needs isolate=True: a module call in this process cannot be stopped",
)
INSPECTION_BUG: Final = template(
    "module.inspection_bug",
    "module {path} could not be inspected: internal error {kind}: {error} (this is a "
    "bug in ukeytool or a module it does not cope with; run with --trace and report it)",
)
SLOT_UNREADABLE: Final = template("slot.cannot_read", "cannot read slot info: {code_name}")
TOKEN_UNREADABLE: Final = template("token.cannot_read", "cannot read the token: {code_name}")
TOKEN_NOT_PRESENT: Final = template(
    "token.not_present", "the slot reports a token but the token is not present (removed?)"
)
CANNOT_LIST: Final = template("token.cannot_list", "cannot list certificates: {code_name}")
NOT_SELECTED: Final = template(
    "token.not_selected", "not read: the token does not match the selection"
)
#: Why no token can be logged in to (the {reason} of LOGIN_REFUSED...).
NO_TOKEN_SELECTED: Final = template(
    "login.no_token_selected", "no initialised token matches the selection"
)
NO_TOKEN: Final = template("login.no_token", "there is no initialised token")
LOGIN_REFUSED: Final = template("login.refused", "cannot log in: {reason}")
LOGIN_REFUSED_LISTED: Final = template(
    "login.refused_listed", "cannot log in: {reason}; the tokens are: {tokens}"
)
SEVERAL_SELECTED: Final = plural_template(
    "login.several_selected",
    "cannot log in: {n} token matches the selection and a login needs exactly one: "
    "{tokens}; choose one by label, serial or URI (--token-label, --serial, --uri); "
    "one PIN is never tried on two tokens",
    "cannot log in: {n} tokens match the selection and a login needs exactly one: "
    "{tokens}; choose one by label, serial or URI (--token-label, --serial, --uri); "
    "one PIN is never tried on two tokens",
)
SEVERAL_PRESENT: Final = plural_template(
    "login.several_present",
    "cannot log in: {n} token is present and a login needs exactly one: "
    "{tokens}; choose one by label, serial or URI (--token-label, --serial, --uri); "
    "one PIN is never tried on two tokens",
    "cannot log in: {n} tokens are present and a login needs exactly one: "
    "{tokens}; choose one by label, serial or URI (--token-label, --serial, --uri); "
    "one PIN is never tried on two tokens",
)


def inspect(
    module_path: str,
    *,
    at: datetime.datetime | None = None,
    warn_days: int = 30,
    login: Login | None = None,
    select: TokenSelection | None = None,
) -> Report:
    """Inspect every slot, token and certificate of the PKCS#11 module at ``module_path``.

    Read-only, and without login unless ``login`` asks for it: then exactly one token is
    logged in to (see :class:`~ukeytool.Login`), with at most one C_Login, and its outcome
    is in that slot's :attr:`~ukeytool.SlotReport.login`. ``at`` is the moment validity
    is judged at (aware; ``None`` means now); certificates that expire within
    ``warn_days`` days of it are reported as expiring. Raises
    :class:`~ukeytool.ModuleError` when the module cannot be loaded or initialised, and
    :class:`~ukeytool.UsageError` when ``login`` matches no token or several; anything
    that fails after that is reported inside the :class:`~ukeytool.Report`.

    With ``select`` (a :class:`~ukeytool.TokenSelection`), only the tokens it selects
    are read: a token whose info does not match gets no session, and its slot is in the
    report as its slot and token info only, incomplete, with a problem
    ``token.not_selected``; :func:`~ukeytool.filter_report` with the same criteria
    leaves it out. A ``login`` then picks its token among the selected ones.

    When the module is slow (a USB key's round trips), what it returned is parsed in a
    thread of its own while the module works on the next object; on a fast one, inline
    (see ``read_beside``): the same calls, one at a time, in the same order.
    """
    from ..judging.validity import check_warn_days
    from .assemble import Assembler
    from .backend import open_module

    moment = _resolve_moment(at)
    check_warn_days(warn_days)
    assembler = Assembler(moment, warn_days)
    with open_module(module_path) as module:
        read_beside(module, assembler, login=login, select=select)
    return assembler.report()


class _Stopped(Exception):
    """The reading is told to stop: the other side gave up."""


#: The certificates read inline before the first comparison of the module's time with
#: the parsing's (the first one's module time holds the session's set-up).
_MEASURED_AFTER: Final = 1
#: How many objects' times are compared (from the second on) before the reading is
#: taken as fast for good.
_DECIDE_WITHIN: Final = 32
#: The least time the module takes for an object, on average, for the parsing to move to
#: a thread of its own: a round trip to a device (a USB key's is milliseconds), not a
#: library in this process. The module's time as measured also holds the walk's own
#: Python (the calls' arguments and results), which keeps the interpreter lock: on a
#: module that answers in microseconds (SoftHSM) a parser thread only fights it for the
#: lock, however the two times compare.
_SLOW_OBJECT_SECONDS: Final = 0.0005


def read_beside(
    module: Backend,
    sink: Sink,
    *,
    login: Login | None = None,
    overlap: bool | None = None,
    select: TokenSelection | None = None,
) -> None:
    """:func:`walk` with its events handed to ``sink``: inline while the module answers
        faster than ``sink`` takes each object, beside it when the module is the slower.

        Inline (the walk calls ``sink`` itself, in this thread): on a fast module (SoftHSM
        answers in microseconds) a second thread would only fight the parser for the GIL.
        As the walk goes, the module's time for each object (from the end of the previous
        event to this one: its calls) is added up against ``sink``'s; from the second object
        on, once the module has taken longer (and more than :data:`_SLOW_OBJECT_SECONDS` an
    object: a device's round trips), the rest of the events are handed to a parser
        thread of their own (with this context), and this thread keeps making the calls:
        ctypes lets go of the GIL during each, so certificate N is parsed while the module
        works on N+1. After :data:`_DECIDE_WITHIN` objects compared, a reading that stayed
        inline stays so. ``overlap`` True or False decides it from the start instead.

        Either way the calls are the same, in the same order, and so are the events
        ``sink`` is given. What the walk raises is raised here; when ``sink`` raises (or
        Ctrl-C comes), the walk stops before its next event and the parser thread is waited
        for, so that no call is still in the module when it is closed, and the error is the
        caller's."""
    reading = _Reading(sink, overlap)
    try:
        walk(module, sink=reading.put, login=login, select=select)
    except _Stopped:  # sink failed: its error is raised below
        reading.close(finish=False)
    except Exception:
        # The walk's error comes after the events before it, as they came.
        reading.close(finish=True)
        reading.raise_failure()
        raise
    except BaseException:  # Ctrl-C: parse no more
        reading.close(finish=False)
        raise
    else:
        reading.close(finish=True)
    reading.raise_failure()


class _Reading:
    """The sink of :func:`read_beside`'s walk: inline, then (once the module is the
    slower) a queue to a parser thread."""

    def __init__(self, sink: Sink, overlap: bool | None) -> None:
        import time

        self._sink = sink
        self._clock = time.perf_counter
        self._decided = overlap is not None
        self._objects = 0
        self._module_time = 0.0
        self._sink_time = 0.0
        self._returned = self._clock()
        self._failure: list[BaseException] = []
        self._events: Any = None  # queue.SimpleQueue, once the parser thread runs
        self._parser: Any = None  # threading.Thread
        self._stop: Any = None  # threading.Event
        if overlap:
            self._start_parser()

    def put(self, *event: Any) -> None:
        if self._parser is not None:
            if self._stop.is_set():
                raise _Stopped
            self._events.put(event)
            return
        if self._decided:  # inline for good: nothing more to measure
            self._inline(event)
            return
        started = self._clock()
        self._inline(event)
        returned = self._clock()
        if event[0] == "object":
            self._objects += 1
            if self._objects > _MEASURED_AFTER:
                self._module_time += started - self._returned
                self._sink_time += returned - started
                measured = self._objects - _MEASURED_AFTER
                if (
                    self._module_time > self._sink_time
                    and self._module_time > measured * _SLOW_OBJECT_SECONDS
                ):
                    self._decided = True
                    self._start_parser()
                elif self._objects >= _MEASURED_AFTER + _DECIDE_WITHIN:
                    self._decided = True
        self._returned = returned

    def _inline(self, event: tuple[Any, ...]) -> None:
        try:
            self._sink(*event)
        except BaseException as exc:  # the caller's, raised again after the walk stops
            self._failure.append(exc)
            raise _Stopped from None

    def _start_parser(self) -> None:
        import contextvars
        import queue
        import threading

        self._events = queue.SimpleQueue()
        self._stop = threading.Event()
        context = contextvars.copy_context()  # the caller's language, for the sink
        self._parser = threading.Thread(
            target=context.run, args=(self._parse,), name="ukeytool-parser", daemon=True
        )
        self._parser.start()

    def _parse(self) -> None:
        try:
            while (event := self._events.get()) is not None and not self._stop.is_set():
                self._sink(*event)
        except BaseException as exc:  # raised again in the caller's thread
            self._failure.append(exc)
            self._stop.set()

    def close(self, *, finish: bool) -> None:
        """The walk ended: the parser thread takes what is queued (with ``finish``; else
        it stops at once) and is waited for."""
        if self._parser is None:
            return
        if not finish:
            self._stop.set()
        self._events.put(None)
        self._parser.join()

    def raise_failure(self) -> None:
        if self._failure:
            raise self._failure[0]


def inspect_modules(
    module_paths: Sequence[str],
    *,
    at: datetime.datetime | None = None,
    warn_days: int = 30,
    isolate: bool = False,
    timeout: float | None = None,
    select: TokenSelection | None = None,
) -> tuple[list[Report], list[ModuleFailure]]:
    """Inspect several modules, each on its own: one that fails does not hide the others.

    Returns the reports of the modules that could be inspected and a
    :class:`~ukeytool.ModuleFailure` for each one that could not (in the given order).
    All reports are judged at the same moment.

    With ``isolate``, each module is inspected in a child process of its own, so a
    module that hangs or crashes cannot take the caller down: it becomes a failure of
    kind ``"ModuleTimedOut"`` (no answer within ``timeout`` seconds; None: no limit) or
    ``"ModuleCrashed"``, and the other modules are inspected as usual. ``timeout``
    needs ``isolate``: a call into a module in this process cannot be interrupted.
    ``select``: only the tokens it selects are read, in each module (as for
    :func:`inspect`; in the child too).
    """
    from ..judging.validity import check_warn_days

    moment = _resolve_moment(at)
    check_warn_days(warn_days)
    if timeout is not None and not isolate:
        raise UsageError(TIMEOUT_NEEDS_ISOLATION())
    if timeout is not None and not timeout > 0:
        from .isolate import BAD_TIMEOUT

        raise UsageError(BAD_TIMEOUT(timeout=repr(timeout)))
    reports: list[Report] = []
    failures: list[ModuleFailure] = []
    for path in module_paths:
        try:
            if isolate:
                from .isolate import inspect_in_child

                report = inspect_in_child(
                    path, timeout=timeout, at=moment, warn_days=warn_days, select=select
                )
            else:
                report = inspect(path, at=moment, warn_days=warn_days, select=select)
            reports.append(report)
        except ModuleError as exc:
            code = exc.code if isinstance(exc, Pkcs11Failure) else None
            code_name = exc.code_name if isinstance(exc, Pkcs11Failure) else None
            failures.append(ModuleFailure(path, type(exc).__name__, exc.message, code, code_name))
        except UsageError:
            raise  # the caller's mistake (a bad argument), not the module's
        except Exception as exc:
            # Anything else inside one module's inspection (an absurd answer ukeytool
            # did not expect, a bug) is that module's failure, never the whole run's.
            failures.append(internal_failure(path, exc))
    return reports, failures


def internal_failure(path: str, exc: Exception) -> ModuleFailure:
    """A module's inspection that ended in an unexpected exception, as its failure."""
    from .logs import debug

    debug("ukeytool", "inspecting %s failed", path, exc_info=exc)
    detail = str(exc) or type(exc).__name__
    message = INSPECTION_BUG(path=path, kind=type(exc).__name__, error=detail)
    return ModuleFailure(path, "InternalError", message)


def _resolve_moment(at: datetime.datetime | None) -> datetime.datetime:
    from ..judging.validity import check_moment

    if at is None:
        return datetime.datetime.now(datetime.timezone.utc)
    return check_moment(at, what="at")


def inspect_backend(
    backend: Backend,
    *,
    at: datetime.datetime,
    warn_days: int = 30,
    login: Login | None = None,
    skip: Collection[int] = (),
    progress: Callable[..., Any] | None = None,
) -> Report:
    """Like :func:`inspect`, over an already open backend (a module, or a test double).

    ``skip``: slot ids not to read (left out of the report). ``progress``, called as the
    walk goes (``("head", module_info, slot_ids, problems)``, then ``("slot_start",
    slot_id)`` and ``("slot", slot_report)`` for each slot)."""
    from ..judging.validity import check_moment, check_warn_days

    at = check_moment(at, what="at")
    check_warn_days(warn_days)
    assembler = _assembler(at, warn_days, progress)
    walk(backend, login=login, skip=skip, sink=assembler)
    return assembler.report()


def inspect_slot(
    backend: Backend, head: SlotReport, *, at: datetime.datetime, warn_days: int = 30
) -> Report:
    """The report of one slot whose slot and token info were just read (``head``, from
    :func:`read_head`: ``watch``'s token that arrived), its objects read as
    :func:`inspect_backend` reads each slot's, without reading the slot list and the
    head again (the token read is still checked to be the one of ``head``). ``at``:
    aware, as :func:`read_slot`'s."""
    assembler = _assembler(at, warn_days)
    slot_id = head.slot.slot_id
    assembler("head", backend.info, (slot_id,), ())
    assembler("slot_start", slot_id)
    if _readable(head):
        _read_certificates(backend, head, assembler)
    else:
        assembler("slot_end", head, None)
    return assembler.report()


def walk(
    backend: Backend,
    *,
    sink: Sink,
    login: Login | None = None,
    skip: Collection[int] = (),
    select: TokenSelection | None = None,
) -> None:
    """Read the module: every slot (but those in ``skip``), its token, and the token's
    certificate and key objects, raw, each handed to ``sink`` as soon as it is read (see
    :class:`~ukeytool.pkcs11.assemble.Assembler` for the events). With ``select``, the
    objects of the tokens it selects only: another token's slot ends after its token
    info, with no session opened, incomplete (``token.not_selected``). With ``login``,
    every token's info first, so that the one token to log in to (among those selected)
    is known before any session is opened; zero or several candidates are refused with
    no C_Login (UsageError)."""
    slot_ids, problems = backend.slot_ids()
    slot_ids = tuple(s for s in slot_ids if s not in skip)
    sink("head", backend.info, slot_ids, problems)
    if login is None:
        for slot_id in slot_ids:
            sink("slot_start", slot_id)
            _walk_slot(backend, slot_id, sink, select=select)
        return
    heads = []
    for slot_id in slot_ids:
        sink("slot_start", slot_id)
        heads.append(read_head(backend, slot_id))
    heads = [_passed_over(backend, head, select) for head in heads]
    _, chosen = login_target([(backend.info, h) for h in heads if _readable(h)], login)
    target = chosen.slot.slot_id
    for head in heads:
        if _readable(head):
            sink("slot_start", head.slot.slot_id)
            _read_certificates(
                backend, head, sink, login=login if head.slot.slot_id == target else None
            )
        else:
            sink("slot_end", head, None)


def login_target(
    slots: Sequence[tuple[ModuleInfo | None, SlotReport]], login: Login
) -> tuple[ModuleInfo | None, SlotReport]:
    """The one initialised token ``login`` selects among ``slots`` (of one module or of
    several, each with its module), as (module, slot).

    Raises :class:`~ukeytool.UsageError` (no PIN is used) when none or several match:
    one PIN is never tried on two tokens.
    """
    from .selection import select_tokens
    from .token_uris import token_uri

    candidates = [(m, s) for m, s in slots if s.token is not None and s.token.initialized]
    chosen = [
        (module, slot)
        for module, slot in candidates
        if select_tokens(
            [slot], uri=login.uri, label=login.label, serial=login.serial, module=module
        )
    ]
    if len(chosen) == 1:
        return chosen[0]

    def described(found: Sequence[tuple[ModuleInfo | None, SlotReport]]) -> str:
        # URIs: text that is shown as it is, never translated.
        return "; ".join(str(token_uri(s.token)) for _m, s in found if s.token is not None)

    selected = any(x is not None for x in (login.uri, login.label, login.serial))
    if not chosen:
        reason = NO_TOKEN_SELECTED() if selected else NO_TOKEN()
        there = described(candidates)
        if there:
            raise UsageError(LOGIN_REFUSED_LISTED(reason=reason, tokens=there))
        raise UsageError(LOGIN_REFUSED(reason=reason))
    several = SEVERAL_SELECTED if selected else SEVERAL_PRESENT
    raise UsageError(several(n=len(chosen), tokens=described(chosen)))


def read_head(backend: Backend, slot_id: int) -> SlotReport:
    """A slot's info and its token's info, without opening a session: the slot's report
    without certificates, or with the problem that stopped the reading there."""
    try:
        slot = backend.slot_info(slot_id)
    except TokenError as exc:
        # Keep the slot in the listing even when its info cannot be read.
        empty = decode_text(b"")
        slot = SlotInfo(slot_id, empty, empty, 0, (), (0, 0), (0, 0))
        return SlotReport(
            slot,
            None,
            problems=(_problem(exc, SLOT_UNREADABLE(code_name=exc.code_name)),),
        )
    if not slot.token_present:
        return SlotReport(slot, None)
    try:
        token = backend.token_info(slot_id)
    except TokenError as exc:
        if exc.code == _TOKEN_NOT_PRESENT:
            message = TOKEN_NOT_PRESENT()
        else:
            message = TOKEN_UNREADABLE(code_name=exc.code_name)
        return SlotReport(slot, None, problems=(_problem(exc, message),))
    return SlotReport(slot, token)


def _readable(head: SlotReport) -> bool:
    return head.token is not None and head.token.initialized and not head.problems


def _passed_over(backend: Backend, head: SlotReport, select: TokenSelection | None) -> SlotReport:
    """``head``, with the problem that says why it is not read (and incomplete) when its
    token would be read but ``select`` does not select it."""
    if select is None or not _readable(head) or select.selects(head, backend.info):
        return head
    return replace(head, problems=(Problem("token", NOT_SELECTED()),), complete=False)


def _problem(exc: TokenError, message: Message) -> Problem:
    return Problem(exc.function, message, exc.code, exc.code_name)


def read_slot(
    backend: Backend,
    slot_id: int,
    *,
    at: datetime.datetime,
    warn_days: int = 30,
    certificates: bool = True,
) -> SlotReport:
    """One slot: its info, its token's info, and (with ``certificates``) the token's
    certificate and key objects."""
    assembler = _assembler(at, warn_days)
    assembler("slot_start", slot_id)
    _walk_slot(backend, slot_id, assembler, certificates=certificates)
    return assembler.slots[-1]


def _assembler(
    at: datetime.datetime, warn_days: int, progress: Callable[..., Any] | None = None
) -> Assembler:
    from .assemble import Assembler

    return Assembler(at, warn_days, progress)


def _walk_slot(
    backend: Backend,
    slot_id: int,
    sink: Sink,
    *,
    certificates: bool = True,
    select: TokenSelection | None = None,
) -> None:
    head = _passed_over(backend, read_head(backend, slot_id), select)
    if not certificates or not _readable(head):
        # An uninitialised token has no objects, and opening a session on one fails.
        sink("slot_end", head, None)
        return
    _read_certificates(backend, head, sink)


def _read_certificates(
    backend: Backend, head: SlotReport, sink: Sink, *, login: Login | None = None
) -> None:
    """The token's objects, each to ``sink`` as it is read, then the end of the slot."""
    from .backend import Module
    from .integrity import confirm_same_token

    slot_id = head.slot.slot_id
    streams = False
    try:
        if isinstance(backend, Module):
            streams = True
            listing = backend.certificate_objects(
                slot_id, login=login, each=lambda raw: sink("object", raw)
            )
        else:
            listing = backend.certificate_objects(slot_id, login=login)
    except TokenError as exc:
        sink("slot_end", head, _problem(exc, CANNOT_LIST(code_name=exc.code_name)))
        return
    # Issue 13: a token removed or replaced during the read leaves it incomplete.
    assert head.token is not None  # _readable() checked it
    listing = confirm_same_token(backend, slot_id, head.token, listing)
    if not streams:
        objects: tuple[RawCertificateObject | RawKeyObject, ...] = (
            *listing.objects,
            *listing.keys,
        )
        for raw in objects:
            sink("object", raw)
        listing = replace(listing, objects=(), keys=())
    sink("slot_end", head, listing)
