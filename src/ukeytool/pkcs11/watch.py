"""Waiting for tokens to come and go: :func:`watch` and :func:`watch_backend`.

How a change is noticed
-----------------------

Every ``interval`` seconds the watcher makes one *poll*:

1. where the module supports it, ``C_WaitForSlotEvent`` with ``CKF_DONT_BLOCK``, until it
   says ``CKR_NO_EVENT`` (at most :data:`MAX_EVENTS` a poll). This never waits. For
   OpenSC it is what makes the module look at its readers; a module that answers
   ``CKR_FUNCTION_NOT_SUPPORTED`` (or any other error) is polled without it from then on;
2. the slot list (``C_GetSlotList``), each slot's ``C_GetSlotInfo`` and, where a token
   is present, its ``C_GetTokenInfo``: the tokens now present, by slot;
3. what differs from the poll before: a token whose slot is now empty, or holds a token
   with another serial, label, model or manufacturer, has left (:attr:`EventKind.REMOVED`,
   named by what was read when it arrived); a token in a slot that was empty, or that
   replaced another, has arrived (:attr:`EventKind.INSERTED`) and is read at once, as
   :func:`ukeytool.inspect` reads a slot (certificates, keys, validity).

A blocking ``C_WaitForSlotEvent`` is never called: it waits until a token moves, which
may be never, and a module stuck in it could not be told from one that is waiting. With
``CKF_DONT_BLOCK`` every call returns at once, so each poll has a deadline: in a child
process (``isolate=True``, the default), a poll that has not come back within
``timeout`` seconds stops the child and raises :class:`~ukeytool.ModuleTimedOut`, as
:func:`ukeytool.inspect_modules` does for a listing.

The same token pulled out and put back between two polls is not seen (nothing differs);
a poll every second is short next to a hand that moves a key.

The child process
-----------------

With ``isolate=True`` the module is loaded once, in a long-lived child process started as
:mod:`ukeytool.pkcs11.isolate` starts one (a fresh interpreter, a session of its own, the
request over its standard input, killed with its process group when the parent goes or
stops listening). The child (:mod:`ukeytool.pkcs11.watch_child`) sends each event as it
happens, and a tick after each poll, over the same kind of pipe: length-prefixed pickles.
The parent reads them; no tick within ``interval + timeout`` seconds means a hung poll.
"""

from __future__ import annotations

import collections
import datetime
import logging
import math
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any, Final

from ..errors import UsageError
from ..i18n.message import template
from ..model import SlotReport, TokenInfo
from ..model.events import EventKind, TokenEvent
from . import cryptoki as ck
from .interface import Backend
from .isolate_pipe import POLL_SECONDS, Conversation
from .isolate_spawn import Child, bootstrap, spawn

if TYPE_CHECKING:
    from .selection import TokenSelection

__all__ = ["MAX_EVENTS", "watch", "watch_backend"]

log = logging.getLogger("ukeytool.pkcs11")

#: C_WaitForSlotEvent calls in one poll at most: a module that never says
#: CKR_NO_EVENT must not keep the poll going.
MAX_EVENTS: Final = 64
#: The default interval between two polls, in seconds.
DEFAULT_INTERVAL: Final = 1.0

BAD_INTERVAL: Final = template(
    "usage.bad_interval", "the interval must be a number of seconds > 0, not {interval}"
)
WATCH_BOOTSTRAP: Final = bootstrap("ukeytool.pkcs11.watch_child", "watch_main")


def _identity(token: TokenInfo) -> tuple[bytes, ...]:
    """What tells one token from another in the same slot."""
    return (token.serial.raw, token.label.raw, token.model.raw, token.manufacturer.raw)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class _Watcher:
    """The polls over one open backend, remembering which token is in which slot."""

    def __init__(
        self,
        backend: Backend,
        *,
        at: datetime.datetime | None,
        warn_days: int,
        present: bool,
        select: TokenSelection | None = None,
    ) -> None:
        self.backend = backend
        self.select = select
        self.at = at
        self.warn_days = warn_days
        self.present = present
        self.events = callable(getattr(backend, "slot_event", None))
        self.known: dict[int, TokenInfo] | None = None

    def slot_events(self) -> set[int]:
        """C_WaitForSlotEvent(CKF_DONT_BLOCK) until no event is left (where supported)."""
        changed: set[int] = set()
        if not self.events:
            return changed
        for _ in range(MAX_EVENTS):
            rv, slot = self.backend.slot_event()  # type: ignore[attr-defined]
            if rv == ck.CKR_OK and slot is not None:
                changed.add(slot)
                continue
            if rv != ck.CKR_NO_EVENT:
                log.info(
                    "C_WaitForSlotEvent returned %s: polling the slot list instead",
                    ck.ckr_name(rv),
                )
                self.events = False
            break
        return changed

    def scan(self) -> tuple[dict[int, TokenInfo], dict[int, SlotReport]]:
        """The tokens present now, by slot (a slot whose token cannot be read is empty),
        and the heads (slot and token info) of the slots whose token ``select``
        selects, which a token that arrived is read from."""
        from .inspect import read_head

        slot_ids, _problems = self.backend.slot_ids()
        found: dict[int, TokenInfo] = {}
        wanted: dict[int, SlotReport] = {}
        for slot_id in slot_ids:
            head = read_head(self.backend, slot_id)
            if head.token is not None:
                found[slot_id] = head.token
                if self.select is None or self.select.selects(head, self.backend.info):
                    wanted[slot_id] = head
        return found, wanted

    def poll(self) -> list[TokenEvent]:
        """One poll: the events since the last one."""
        changed = self.slot_events()
        if changed:
            log.info("slot events: %s", ", ".join(str(s) for s in sorted(changed)))
        now = _now()
        found, wanted = self.scan()
        events: list[TokenEvent] = []
        if self.known is None:
            self.known = found
            if self.present:
                events.extend(
                    self.arrived(EventKind.PRESENT, wanted[s], t, now)
                    for s, t in found.items()
                    if s in wanted
                )
            return events
        info = self.backend.info
        for slot_id, token in self.known.items():
            now_there = found.get(slot_id)
            if now_there is None or _identity(now_there) != _identity(token):
                events.append(TokenEvent(EventKind.REMOVED, now, info, slot_id, token))
        for slot_id, token in found.items():
            before = self.known.get(slot_id)
            if slot_id not in wanted:
                continue  # not selected: not read, no event
            if before is None or _identity(before) != _identity(token):
                events.append(self.arrived(EventKind.INSERTED, wanted[slot_id], token, now))
        self.known = found
        return events

    def arrived(
        self, kind: EventKind, head: SlotReport, token: TokenInfo, now: datetime.datetime
    ) -> TokenEvent:
        """The event for a token that arrived, with its slot read in full from the head
        this poll read (:func:`~.inspect.inspect_slot`: no slot list nor token info
        read again)."""
        from .inspect import inspect_slot

        at = self.at or now
        report = inspect_slot(self.backend, head, at=at, warn_days=self.warn_days)
        read = report.slots[0].token if report.slots else None
        slot_id = head.slot.slot_id
        return TokenEvent(kind, now, self.backend.info, slot_id, read or token, report)


def _check_interval(interval: float) -> float:
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise UsageError(BAD_INTERVAL(interval=repr(interval)))
    if not (interval > 0 and math.isfinite(interval)):
        raise UsageError(BAD_INTERVAL(interval=repr(interval)))
    return float(interval)


def watch_backend(
    backend: Backend,
    *,
    interval: float = DEFAULT_INTERVAL,
    at: datetime.datetime | None = None,
    warn_days: int = 30,
    present: bool = True,
    tick: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    select: TokenSelection | None = None,
) -> Iterator[TokenEvent]:
    """The tokens that come and go in an open backend, as they do; never ends by itself.

    The first poll reports every token already present as :attr:`EventKind.PRESENT`
    (none with ``present=False``); after that, one poll every ``interval`` seconds (see
    docs/watch.md). ``at``: judge every certificate at this moment (aware;
    None: when its token arrives). ``tick`` is called after each poll. ``select``: a
    token that arrives and is not selected is not read and makes no event (its info is
    read at each poll, as every token's; a token that leaves is reported whichever it
    was). Raises what the backend raises for a call that fails as a whole
    (``C_GetSlotList``).
    """
    from ..judging.validity import check_moment, check_warn_days

    interval = _check_interval(interval)
    check_warn_days(warn_days)
    if at is not None:
        at = check_moment(at, what="at")
    watcher = _Watcher(backend, at=at, warn_days=warn_days, present=present, select=select)
    while True:
        yield from watcher.poll()
        if tick is not None:
            tick()
        sleep(interval)


def watch(
    module_path: str,
    *,
    interval: float = DEFAULT_INTERVAL,
    at: datetime.datetime | None = None,
    warn_days: int = 30,
    present: bool = True,
    isolate: bool = True,
    timeout: float | None = 60.0,
    select: TokenSelection | None = None,
) -> Iterator[TokenEvent]:
    """The tokens that come to and go from the module at ``module_path``, as they do.

    An endless iterator of :class:`~ukeytool.TokenEvent`: first the tokens already
    present (:attr:`~ukeytool.EventKind.PRESENT`; none with ``present=False``), then each
    token plugged in (:attr:`~ukeytool.EventKind.INSERTED`, with its slot read as
    :func:`inspect` reads it) or pulled out (:attr:`~ukeytool.EventKind.REMOVED`, named
    as it was read when it came). One poll every ``interval`` seconds; ``at`` and
    ``warn_days`` as for :func:`inspect` (``at=None``: each token is judged when it
    arrives). Stop it by leaving the loop (or ``close()``); with ``isolate`` the child
    process is stopped then.

    With ``isolate`` (the default) the module runs in a child process, and a poll that
    has not come back within ``timeout`` seconds (None: no limit) stops it and raises
    :class:`~ukeytool.ModuleTimedOut`; a crash raises :class:`~ukeytool.ModuleCrashed`.
    Raises :class:`~ukeytool.ModuleError` when the module cannot be loaded, and
    :class:`~ukeytool.UsageError` for a bad argument (a ``timeout`` without ``isolate``).

    ``select`` (a :class:`~ukeytool.TokenSelection`): only the tokens it selects are
    read when they arrive; one it does not select makes no event when it arrives (see
    :func:`watch_backend`).
    """
    from ..judging.validity import check_moment, check_warn_days

    interval = _check_interval(interval)
    check_warn_days(warn_days)
    if at is not None:
        at = check_moment(at, what="at")
    if timeout is not None and not isolate:
        from .inspect import TIMEOUT_NEEDS_ISOLATION

        raise UsageError(TIMEOUT_NEEDS_ISOLATION())
    if timeout is not None and not timeout > 0:
        from .isolate import BAD_TIMEOUT

        raise UsageError(BAD_TIMEOUT(timeout=repr(timeout)))
    kwargs: dict[str, Any] = {
        "interval": interval,
        "at": at,
        "warn_days": warn_days,
        "present": present,
        "select": select,
    }
    if isolate:
        return _watch_in_child(module_path, timeout=timeout, kwargs=kwargs)
    return _watch_here(module_path, kwargs)


def _watch_here(module_path: str, kwargs: dict[str, Any]) -> Iterator[TokenEvent]:
    from .backend import open_module

    with open_module(module_path) as module:
        yield from watch_backend(module, **kwargs)


class _WatchConversation(Conversation):
    """The parent's side of the pipes to a watch child: events and ticks as they come."""

    def __init__(self, child: Child, payload: bytes) -> None:
        super().__init__(child, payload)
        self.events: collections.deque[TokenEvent] = collections.deque()
        self.ticks = 0

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "event":
            self.events.append(message[1])
        elif kind == "tick":
            self.ticks += 1
        else:
            super()._handle(message)

    def step(self, deadline: float | None) -> str:
        """Read until something arrives: ``"message"`` (an event, a tick or the
        outcome), ``"exit"`` (the child is gone) or ``"deadline"``."""
        ticks = self.ticks
        while self.selector.get_map():
            if self.events or self.ticks != ticks or self.outcome is not None:
                return "message"
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return "deadline"
            if self.pidfd is None:
                wait = POLL_SECONDS if wait is None else min(wait, POLL_SECONDS)
            for key, _mask in self.selector.select(wait):
                if key.data == "exit":
                    self.drain()
                    return "exit"
                stream: IO[bytes] = key.fileobj  # type: ignore[assignment]
                getattr(self, "on_" + key.data)(stream)
            if self.pidfd is None and self.child.poll() is not None:
                self.drain()
                return "exit"
        return "exit"


def _watch_in_child(
    path: str, *, timeout: float | None, kwargs: dict[str, Any]
) -> Iterator[TokenEvent]:
    from .isolate import (
        CANNOT_START,
        NO_EXECUTABLE,
        ChildTraceback,
        child_environment,
        death,
        kill,
        log_levels,
        reap,
        timed_out,
    )
    from .loading import check_module_file
    from .watch_child import WatchRequest

    check_module_file(path)
    if not sys.executable:
        raise UsageError(NO_EXECUTABLE())
    request = WatchRequest(path, dict(kwargs), log_levels(), os.getpid())
    payload = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
    try:
        child = spawn(sys.executable, child_environment(), list(sys.path), WATCH_BOOTSTRAP)
    except OSError as exc:
        raise UsageError(
            CANNOT_START(executable=sys.executable, reason=exc.strerror or str(exc))
        ) from None
    interval: float = kwargs["interval"]
    conversation: _WatchConversation | None = None
    try:
        conversation = _WatchConversation(child, payload)
        # The first poll comes after C_Initialize and the reading of the tokens present.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while conversation.events:
                paused = time.monotonic()
                yield conversation.events.popleft()
                if deadline is not None:
                    # The caller's time between two events is not the module's.
                    deadline += time.monotonic() - paused
            ticks = conversation.ticks
            got = conversation.step(deadline)
            if got == "message" and conversation.outcome is None:
                if conversation.ticks != ticks and timeout is not None:
                    deadline = time.monotonic() + interval + timeout
                continue
            while conversation.events:
                yield conversation.events.popleft()
            outcome = conversation.outcome
            if outcome is not None:
                kind, value, *rest = outcome
                if kind == "error":
                    raise value
                raise value from ChildTraceback(rest[0] if rest else "")
            if got == "deadline":
                raise timed_out(path, timeout)
            kill(child)
            status = reap(child)
            raise death(path, status, ready=conversation.ready)
    finally:
        # The caller stopped (or an error, or Ctrl-C): the child and any helper the
        # module started go with its process group.
        if conversation is not None:
            conversation.close()
        kill(child)
        reap(child)
