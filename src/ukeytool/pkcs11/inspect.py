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
import logging
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Final

from ..errors import ModuleError, Pkcs11Failure, TokenError, UsageError
from ..i18n.message import Message, plural_template, template
from ..model import ModuleFailure, ModuleInfo, Problem, Report, SlotInfo, SlotReport
from ..model._value import replace
from ..model.text import decode_text
from .integrity import confirm_same_token
from .interface import Backend, RawCertificateObject, RawKeyObject
from .login import Login

if TYPE_CHECKING:
    from .assemble import Assembler

__all__ = [
    "Sink",
    "inspect",
    "inspect_backend",
    "inspect_modules",
    "read_beside",
    "read_slot",
    "walk",
]

Sink = Callable[..., Any]
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

    The module's calls are made in a thread of its own while this one parses what they
    returned: the same calls, one at a time, in the same order.
    """
    from ..judging.validity import check_warn_days
    from .assemble import Assembler
    from .backend import open_module

    moment = _resolve_moment(at)
    check_warn_days(warn_days)
    assembler = Assembler(moment, warn_days)
    with open_module(module_path) as module:
        read_beside(module, assembler, login=login)
    return assembler.report()


class _Stopped(Exception):
    """The reader thread is told to stop: the caller's side gave up."""


def read_beside(module: Backend, sink: Sink, *, login: Login | None = None) -> None:
    """:func:`walk` in a thread of its own, its events handed to ``sink`` in this one.

    ctypes lets go of the GIL during each call into the module, so this thread parses
    certificate N while the reader waits for the module's answer about N+1. The calls
    are the same, in the same order. What the walk raises is raised here; when ``sink``
    raises (or Ctrl-C comes), the reader stops before its next event and is waited for,
    so that no call is still in the module when it is closed.
    """
    import queue
    import threading

    events: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
    stop = threading.Event()
    failure: list[BaseException] = []

    def put(*event: Any) -> None:
        if stop.is_set():
            raise _Stopped
        events.put(event)

    def read() -> None:
        try:
            walk(module, sink=put, login=login)
        except _Stopped:
            pass
        except BaseException as exc:  # raised again in the caller's thread
            failure.append(exc)
        finally:
            events.put(None)

    reader = threading.Thread(target=read, name="ukeytool-reader", daemon=True)
    reader.start()
    try:
        while (event := events.get()) is not None:
            sink(*event)
    finally:
        stop.set()
        reader.join()
    if failure:
        raise failure[0]


def inspect_modules(
    module_paths: Sequence[str],
    *,
    at: datetime.datetime | None = None,
    warn_days: int = 30,
    isolate: bool = False,
    timeout: float | None = None,
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

                report = inspect_in_child(path, timeout=timeout, at=moment, warn_days=warn_days)
            else:
                report = inspect(path, at=moment, warn_days=warn_days)
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
    logging.getLogger("ukeytool").debug("inspecting %s failed", path, exc_info=exc)
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
    from .assemble import Assembler

    at = check_moment(at, what="at")
    check_warn_days(warn_days)
    assembler = Assembler(at, warn_days, progress)
    walk(backend, login=login, skip=skip, sink=assembler)
    return assembler.report()


def walk(
    backend: Backend,
    *,
    sink: Sink,
    login: Login | None = None,
    skip: Collection[int] = (),
) -> None:
    """Read the module: every slot (but those in ``skip``), its token, and the token's
    certificate and key objects, raw, each handed to ``sink`` as soon as it is read (see
    :class:`~ukeytool.pkcs11.assemble.Assembler` for the events). With ``login``, every
    token's info first, so that the one token to log in to is known before any session
    is opened; zero or several candidates are refused with no C_Login (UsageError)."""
    slot_ids, problems = backend.slot_ids()
    slot_ids = tuple(s for s in slot_ids if s not in skip)
    sink("head", backend.info, slot_ids, problems)
    if login is None:
        for slot_id in slot_ids:
            sink("slot_start", slot_id)
            _walk_slot(backend, slot_id, sink)
        return
    heads = []
    for slot_id in slot_ids:
        sink("slot_start", slot_id)
        heads.append(_read_head(backend, slot_id))
    _, chosen = login_target([(backend.info, head) for head in heads], login)
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
    from .uri import token_uri

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


def _read_head(backend: Backend, slot_id: int) -> SlotReport:
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


def _assembler(at: datetime.datetime, warn_days: int) -> Assembler:
    from .assemble import Assembler

    return Assembler(at, warn_days)


def _walk_slot(backend: Backend, slot_id: int, sink: Sink, *, certificates: bool = True) -> None:
    head = _read_head(backend, slot_id)
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
