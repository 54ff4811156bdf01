"""The isolation child's side (:mod:`ukeytool.pkcs11.isolate`): read the request from
standard input, read the module, and tell the parent over the results pipe what was
read as it is read (the module, its slots, each raw object as soon as its
C_GetAttributeValue returned, the end of each slot), then that everything was read,
before C_Finalize.

Started by the parent's bootstrap (``from ukeytool.pkcs11.isolate_child import
child_main``) in a fresh interpreter. It imports the PKCS#11 binding only
(:mod:`ukeytool.pkcs11.inspect`'s :func:`~ukeytool.pkcs11.inspect.walk`, the backend
and what they need): no certificate parser, no judging, no renderer, no message
catalogue, not even python-pkcs11 (ukeytool loads and initialises modules through its
own binding). The parent parses and judges (:mod:`ukeytool.pkcs11.assemble`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import signal
import sys
import threading
import warnings

from ..errors import UkeytoolError
from .interface import RawCertificateObject, RawKeyObject
from .logs import DEFAULT_LEVEL, logger, when_imported

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Final

    from .login import Login

__all__ = ["HEADER", "LOGGERS", "Request", "child_main", "connect", "results_pipe"]

#: The loggers whose records the child sends to the parent.
LOGGERS: Final = ("ukeytool", "ukeytool.pkcs11")
HEADER: Final = 8
"""Bytes of big-endian length before each pickled message."""


@dataclasses.dataclass(frozen=True)
class Request:
    """What the parent asks of the child."""

    path: str
    login: Login | None = dataclasses.field(repr=False)
    """The one login asked for, if any (never shown: may hold a PIN)."""
    log_levels: dict[str, int]
    """The parent's effective level for each of :data:`LOGGERS`."""
    parent_pid: int
    skip: tuple[int, ...] = ()
    """Slot ids not to read: a child before this one crashed on them, or read them."""


class _Channel:
    """Length-prefixed pickled messages to the parent; safe from several threads.

    :meth:`send` returns once the message is written. :meth:`send_soon` (the raw
    objects, which come as fast as the module gives them) queues it for a writer thread
    of its own, which writes at once what is queued and, while the parent is busy and
    the pipe full, lets the next ones gather: they then cross as one message, a list of
    several (the parent takes both shapes). The first is never held back, and a
    :meth:`send` after queued messages writes them first, in order: what the parent
    must not lose to a later crash (the end of a slot, the outcome, log records) is
    written before the module is called again."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._changed = threading.Condition(threading.Lock())
        self._queue: list[tuple[Any, ...] | bytes] = []
        self._queued = 0
        self._written = 0
        self._failure: BaseException | None = None
        self._writer: threading.Thread | None = None

    def send(self, message: tuple[Any, ...]) -> None:
        # Pickled here: a message that does not pickle raises in the sender.
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        if self._writer is None:
            self._write([data])
            return
        with self._changed:
            self._queue.append(data)
            self._queued += 1
            target = self._queued
            self._changed.notify_all()
            while self._written < target and self._failure is None:
                self._changed.wait()
            if self._failure is not None:
                raise self._failure

    def send_soon(self, message: tuple[Any, ...]) -> None:
        with self._changed:
            if self._failure is not None:
                raise self._failure
            self._queue.append(message)
            self._queued += 1
            self._changed.notify_all()
        if self._writer is None:
            self._writer = threading.Thread(target=self._run, name="ukeytool-writer", daemon=True)
            self._writer.start()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queue:
                    self._changed.wait()
                batch, self._queue = self._queue, []
            try:
                self._write(batch)
            except BaseException as exc:  # the parent is gone: every sender hears it
                with self._changed:
                    self._failure = exc
                    self._changed.notify_all()
                return
            with self._changed:
                self._written += len(batch)
                self._changed.notify_all()

    def _write(self, batch: list[tuple[Any, ...] | bytes]) -> None:
        chunks: list[bytes] = []
        plain: list[tuple[Any, ...]] = []
        for item in [*batch, b""]:
            if isinstance(item, tuple):
                plain.append(item)
                continue
            if plain:
                chunks.append(pickle.dumps(plain[0] if len(plain) == 1 else plain, 5))
                plain = []
            if item:
                chunks.append(item)
        data = b"".join(len(c).to_bytes(HEADER, "big") + c for c in chunks)
        with self._lock:
            self._out.write(data)
            self._out.flush()


def _forwarder(channel: _Channel) -> Any:
    """A logging handler that sends each record to the parent over ``channel``."""
    import logging

    class _Forward(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            state = dict(record.__dict__)
            state["msg"] = record.getMessage()
            state["args"] = None
            if record.exc_info:
                state["exc_text"] = logging.Formatter().formatException(record.exc_info)
            state["exc_info"] = None
            try:
                channel.send(("log", state))
            except Exception:  # pragma: no cover - an unpicklable extra attribute
                self.handleError(record)

    return _Forward()


def results_pipe() -> IO[bytes]:
    """The pipe to the parent (standard output as started), kept apart: standard output
    becomes standard error, so that a module printing to it cannot corrupt the messages."""
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return results


def connect(results: IO[bytes], parent_pid: int, log_levels: dict[str, int]) -> _Channel:
    """Die with the parent, forward the log records at the parent's levels over the
    channel (and with tracing, show where a crash happened), and say ``ready``."""
    _die_with_parent(parent_pid)
    channel = _Channel(results)

    def forward() -> None:
        import logging

        for name, level in log_levels.items():
            logging.getLogger(name).setLevel(level)
        root = logging.getLogger(LOGGERS[0])
        root.addHandler(_forwarder(channel))
        root.propagate = False

    if any(level != DEFAULT_LEVEL for level in log_levels.values()):
        logger(LOGGERS[0])  # the parent asks for other records: logging now, so they come
    when_imported(forward)  # (else once something logs a warning: before its first record)
    if log_levels.get("ukeytool.pkcs11", DEFAULT_LEVEL) <= 10:  # logging.DEBUG
        # Tracing: a crash also shows where in ukeytool the module was called.
        import faulthandler

        faulthandler.enable()
    channel.send(("ready",))
    return channel


def child_main() -> None:
    """The child's side (run by the bootstrap): read the request, read the module and
    say what was read as it goes, finalise, exit."""
    results = results_pipe()
    # The binding is imported before the request is read: a child started early (see
    # ukeytool.pkcs11.isolate.prestarted) has it ready when the request comes.
    from .backend import open_module
    from .inspect import walk

    request: Request = pickle.load(sys.stdin.buffer)
    channel = connect(results, request.parent_pid, request.log_levels)
    message: tuple[Any, ...] | None = None
    module = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the parent's filters decide

        def sink(*event: Any) -> None:
            if event[0] == "object":
                channel.send_soon(plain_object(event[1]))
                return
            channel.send(event)
            if event[0] == "slot_end":
                _send_warnings(channel, caught)

        try:
            module = open_module(request.path)
            walk(module, sink=sink, login=request.login, skip=request.skip)
            _send_warnings(channel, caught)
            # Before C_Finalize: a module that crashes or hangs there loses nothing
            # that was read.
            channel.send(("done",))
        except UkeytoolError as exc:
            message = ("error", exc)
        except BaseException as exc:
            import traceback

            message = ("bug", _portable(exc), traceback.format_exc())
        if message is not None:
            _send_warnings(channel, caught)
            _send(channel, message)
        if module is not None:
            with contextlib.suppress(Exception):  # teardown never changes the outcome
                module.close()
            channel.send(("finalized",))
            _send_warnings(channel, caught)
    sys.stderr.flush()
    # Straight out: the module is finalised already, and nothing at interpreter exit
    # (a vendor library's destructor) may change or delay the answer.
    os._exit(0)


def plain_object(raw: RawCertificateObject | RawKeyObject) -> tuple[Any, ...]:
    """A raw object as the child sends it: a plain tuple of bytes and ints (``"c"`` a
    certificate, ``"k"`` a key), which pickles and unpickles far faster than the
    dataclass; :func:`~ukeytool.pkcs11.isolate_pipe.raw_object` makes the dataclass
    again. One with problems (messages) goes as the ``("object", raw)`` event itself."""
    if raw.problems:
        return ("object", raw)
    if isinstance(raw, RawCertificateObject):
        return ("c", raw.handle, raw.value, raw.label, raw.id, raw.certificate_type, raw.private)
    return (
        "k",
        raw.handle,
        raw.key_class,
        raw.id,
        raw.label,
        raw.key_type,
        raw.public_key_info,
        raw.modulus,
        raw.ec_point,
    )


def _send_warnings(channel: _Channel, caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        channel.send(
            ("warning", str(warning.message), warning.category, warning.filename, warning.lineno)
        )
    caught.clear()


def _send(channel: _Channel, message: tuple[Any, ...]) -> None:
    try:
        channel.send(message)
    except Exception as exc:  # pragma: no cover - an outcome that does not pickle
        channel.send(("bug", RuntimeError(f"cannot send the outcome: {exc!r}"), ""))


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _die_with_parent(parent_pid: int) -> None:
    """Linux: have the kernel kill this process when the parent dies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request was even read
