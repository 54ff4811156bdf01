"""The parent's side of the pipes to the isolation child (:mod:`ukeytool.pkcs11.isolate`):
feeds it the request, reads what it says (log records, warnings, what it read, as it
reads it) and copies its standard error, until it exits. What was read goes to an
:class:`~ukeytool.pkcs11.assemble.Assembler` as it arrives: each certificate is parsed
here while the child waits for the module's next answer."""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import sys
import time
import warnings
from collections.abc import Callable

from .interface import RawCertificateObject, RawKeyObject
from .isolate_child import HEADER

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Final

    from ..model import SlotReport
    from .assemble import Assembler
    from .isolate_spawn import Child

__all__ = ["FINALIZE_SECONDS", "Conversation"]

#: Without pidfd (Linux before 5.3), how often to look whether the child has exited.
POLL_SECONDS: Final = 0.1
#: The child's messages about what it read, for the assembler.
_READING: Final = frozenset({"head", "slot_start", "object", "slot_end"})
#: After everything was read, how long C_Finalize (and the child's exit) may take at most
#: (less when the timeout is shorter).
FINALIZE_SECONDS: Final = 10.0


class Conversation:
    """Feeds the request to the child and reads what it says, until it exits."""

    def __init__(self, child: Child, payload: bytes) -> None:
        self.child = child
        self.payload = memoryview(payload)
        self.received = bytearray()
        self.ready = False
        self.outcome: tuple[Any, ...] | None = None
        """("done",) once everything was read; ("error", exc) or ("bug", exc, traceback)."""
        self.head: tuple[Any, ...] | None = None
        """(module info, slot ids, module problems), once the slots are listed."""
        self.assembler: Assembler | None = None
        """Builds the slots from what the child read (set before :meth:`run`)."""
        self.finalized = False
        self.reported_at: float | None = None
        self.finalize_seconds = FINALIZE_SECONDS
        self.selector = selectors.DefaultSelector()
        self.pidfd: int | None = None
        self._copy_stderr = _stderr_writer()
        assert child.stdin is not None
        assert child.stdout is not None
        assert child.stderr is not None
        for stream in (child.stdin, child.stdout, child.stderr):
            os.set_blocking(stream.fileno(), False)
        self.selector.register(child.stdin, selectors.EVENT_WRITE, "stdin")
        self.selector.register(child.stdout, selectors.EVENT_READ, "stdout")
        self.selector.register(child.stderr, selectors.EVENT_READ, "stderr")
        pidfd_open = getattr(os, "pidfd_open", None)
        if pidfd_open is not None:
            try:
                self.pidfd = pidfd_open(child.pid)
            except OSError:
                self.pidfd = None
        if self.pidfd is not None:
            self.selector.register(self.pidfd, selectors.EVENT_READ, "exit")

    @property
    def slots(self) -> list[SlotReport]:
        """The slots read to the end so far, in the order they were read."""
        return [] if self.assembler is None else self.assembler.slots

    @property
    def current(self) -> int | None:
        """The slot being read (None between slots)."""
        return None if self.assembler is None else self.assembler.current

    def run(self, deadline: float | None) -> bool:
        """True when the child exited (or closed every pipe), False at the deadline."""
        while self.selector.get_map():
            if self.reported_at is not None:
                # Everything was read: C_Finalize and the exit get a while of their own.
                deadline = self.reported_at + self.finalize_seconds
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return False
            if self.pidfd is None:
                wait = POLL_SECONDS if wait is None else min(wait, POLL_SECONDS)
            for key, _mask in self.selector.select(wait):
                if key.data == "exit":
                    self.drain()
                    return True
                getattr(self, "on_" + key.data)(key.fileobj)
            if self.pidfd is None and self.child.poll() is not None:
                self.drain()
                return True
        return True

    def on_stdin(self, stream: IO[bytes]) -> None:
        try:
            written = os.write(stream.fileno(), self.payload[:65536])
        except BlockingIOError:
            return
        except BrokenPipeError:
            written = len(self.payload)  # the child is gone; its exit says the rest
        self.payload = self.payload[written:]
        if not self.payload:
            self.selector.unregister(stream)
            stream.close()

    def on_stdout(self, stream: IO[bytes]) -> None:
        self._take("stdout", self._read(stream))

    def on_stderr(self, stream: IO[bytes]) -> None:
        self._take("stderr", self._read(stream))

    def _read(self, stream: IO[bytes]) -> bytes:
        try:
            chunk = os.read(stream.fileno(), 1 << 16)
        except BlockingIOError:
            return b""
        if not chunk:
            self.selector.unregister(stream)
        return chunk

    def _take(self, what: str, chunk: bytes) -> None:
        if not chunk:
            return
        if what == "stderr":
            self._copy_stderr(chunk)
            return
        self.received += chunk
        self._messages()

    def drain(self) -> None:
        """The child has exited: take what is still in the pipes, without waiting (a
        helper process the module started may hold them open)."""
        for key in list(self.selector.get_map().values()):
            if key.data in ("stdout", "stderr"):
                stream: IO[bytes] = key.fileobj  # type: ignore[assignment]
                while chunk := self._read(stream):
                    self._take(key.data, chunk)

    def _messages(self) -> None:
        received = self.received
        start = 0
        end = len(received)
        try:
            while end - start >= HEADER:
                size = int.from_bytes(received[start : start + HEADER], "big")
                if end - start < HEADER + size:
                    return
                message = pickle.loads(received[start + HEADER : start + HEADER + size])
                start += HEADER + size
                if type(message) is list:  # several that gathered in the child
                    for each in message:
                        self._handle(each)
                else:
                    self._handle(message)
        finally:
            del received[:start]

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind in {"c", "k"}:  # the bulk: a raw object, as a plain tuple
            assert self.assembler is not None
            self.assembler("object", raw_object(message))
            return
        if kind in _READING:
            assert self.assembler is not None
            self.assembler(*message)
            if kind == "head":
                self.head = message[1:]
        elif kind == "ready":
            self.ready = True
        elif kind == "log":
            import logging  # (a record from the child: logging is imported by now)

            record = logging.makeLogRecord(message[1])
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)
        elif kind == "warning":
            text, category, filename, lineno = message[1:]
            warnings.warn_explicit(text, category, filename, lineno)
        elif kind == "finalized":
            self.finalized = True
        else:
            if kind == "done":
                self.reported_at = time.monotonic()
            self.outcome = message

    def close(self) -> None:
        self.selector.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
        for stream in (self.child.stdin, self.child.stdout, self.child.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):  # a half-written pipe to a dead child
                    stream.close()


def raw_object(plain: tuple[Any, ...]) -> RawCertificateObject | RawKeyObject:
    """The dataclass of a raw object the child sent as a plain tuple
    (:func:`~ukeytool.pkcs11.isolate_child.plain_object`)."""
    if plain[0] == "c":
        return RawCertificateObject(*plain[1:])
    return RawKeyObject(*plain[1:])


def _stderr_writer() -> Callable[[bytes], None]:
    """A function that copies the child's standard error bytes to ``sys.stderr``."""
    import codecs

    from ..model.text import escape_control

    # Other software's text, escaped as every line ukeytool writes; a byte that is not
    # UTF-8 (a vendor module may well write GBK) is shown as \xNN.
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    def write(chunk: bytes) -> None:
        stream = sys.stderr
        if stream is None:
            return
        stream.write(escape_control(decoder.decode(chunk), lines=True))
        stream.flush()

    return write
