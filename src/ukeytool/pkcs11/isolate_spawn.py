"""Starting an isolation child (:mod:`ukeytool.pkcs11.isolate`), kept apart so that the
command line can start its first child right after the arguments are parsed, before it
imports anything else (:class:`Prestart`): the child's interpreter then starts while
this process imports the rest of ukeytool and reads the renewal rules.

Imports nothing beyond ``os`` and ``sys`` before the child is started: not
:mod:`subprocess` (with its ``selectors``, ``threading``, ``signal`` and ``locale``) nor
:mod:`pickle` (with ``re``, ``enum`` and ``collections``), whose imports cost this
process some milliseconds that the child's start would wait for. The child is started
with :func:`os.posix_spawn` (:class:`Child`: what the isolation uses of
:class:`subprocess.Popen`, which starts it the same way), and its ``sys.path`` is
pickled by :func:`pickled_path`. The child runs with ``-S``: it takes this process's
``sys.path`` whole, so the ``site`` module (``.pth`` files, the user's site directory)
would only cost it time."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType
    from typing import IO, Final

__all__ = [
    "BOOTSTRAP",
    "SECRET_VARIABLES",
    "Child",
    "Prestart",
    "Spare",
    "bootstrap",
    "child_environment",
    "pickled_path",
    "spawn",
]


def bootstrap(module: str, function: str) -> str:
    """A child's program (``python -S -c``): this process's ``sys.path`` from standard
    input, then ``function()`` of ``module``."""
    return (
        "import pickle, sys\n"
        "sys.path[:] = pickle.load(sys.stdin.buffer)\n"
        f"from {module} import {function}\n"
        f"{function}()\n"
    )


BOOTSTRAP: Final = bootstrap("ukeytool.pkcs11.isolate_child", "child_main")
"""The inspection child's program: :func:`~ukeytool.pkcs11.isolate_child.child_main`."""

SECRET_VARIABLES: Final = ("UKEYTOOL_PIN", "UKEYTOOL_PKCS12_PASSWORD")
"""Never in a child's environment: a vendor module (or a helper it leaves running) could
read them there. The PIN reaches a child over its standard input only."""


def child_environment() -> dict[str, str]:
    """The environment a child is started with: this one without the secrets."""
    return {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}


def pickled_path(path: Sequence[str]) -> bytes:
    """``path`` pickled (protocol 2) as ``list(path)``, made without importing
    :mod:`pickle`: PROTO 2, EMPTY_LIST, MARK, BINUNICODE for each entry, APPENDS, STOP
    (what pickle writes, without its memo). The child reads it with ``pickle.load``; a
    test checks that it gives ``path`` back."""
    parts = [b"\x80\x02](" if path else b"\x80\x02]"]
    for entry in path:
        data = str(entry).encode("utf-8", "surrogatepass")
        parts.append(b"X" + len(data).to_bytes(4, "little") + data)
    parts.append(b"e." if path else b".")
    return b"".join(parts)


class Child:
    """A started child, with what the isolation uses of :class:`subprocess.Popen`: its
    ``pid``, its pipes (``stdin``, ``stdout``, ``stderr``), ``returncode`` once it was
    reaped, :meth:`poll`, :meth:`wait` and :meth:`kill`, which behave as Popen's."""

    __slots__ = ("args", "pid", "returncode", "stderr", "stdin", "stdout")

    def __init__(
        self, args: list[str], pid: int, stdin: IO[bytes], stdout: IO[bytes], stderr: IO[bytes]
    ) -> None:
        self.args = args
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None

    def __repr__(self) -> str:
        return f"<Child: returncode: {self.returncode} args: {self.args!r}>"

    def poll(self) -> int | None:
        """The exit status (negative: the signal) if it has exited, else None."""
        if self.returncode is None:
            self._try_wait(os.WNOHANG)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to exit and return its status; after ``timeout`` seconds,
        :class:`subprocess.TimeoutExpired` (as Popen raises)."""
        status = self.wait_at_most(timeout)
        if status is None:
            import subprocess

            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return status

    def wait_at_most(self, timeout: float | None) -> int | None:
        """:meth:`wait`, but None at the deadline (polled as Popen polls)."""
        if timeout is None:
            while self.returncode is None:
                self._try_wait(0)
            return self.returncode
        import time

        deadline = time.monotonic() + timeout
        delay = 0.0005
        while self.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            delay = min(delay * 2, left, 0.05)
            time.sleep(delay)
        return self.returncode

    def kill(self) -> None:
        """SIGKILL it, unless it was reaped (its id may be someone else's by then)."""
        if self.returncode is None:
            try:
                os.kill(self.pid, 9)  # SIGKILL
            except ProcessLookupError:
                return

    def _try_wait(self, options: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, options)
        except InterruptedError:
            return
        except ChildProcessError:  # reaped by someone else: as Popen says then
            pid, status = self.pid, 0
        if pid == self.pid:
            self.returncode = os.waitstatus_to_exitcode(status)


#: Set to their default in the child, as Popen's ``restore_signals`` does: SIGPIPE and
#: SIGXFSZ, which Python ignores (their numbers on Linux; elsewhere from signal).
_RESTORED: Final = (13, 25) if sys.platform.startswith("linux") else ()


def spawn(
    executable: str, environment: dict[str, str], path: list[str], program: str = BOOTSTRAP
) -> Child:
    """A new child running ``program`` (a :func:`bootstrap`), in a session of its own,
    given ``path`` (its ``sys.path``) at once; it then imports what it needs and waits
    for its request. Started as ``subprocess.Popen(..., stdin=PIPE, stdout=PIPE,
    stderr=PIPE, start_new_session=True, close_fds=True, env=environment)`` would start
    it (the same audit event too), without importing subprocess: no file descriptor of
    this process but the three pipes reaches it. Raises :class:`OSError` when it cannot
    be started."""
    args = [executable, "-S", "-c", program]
    sys.audit("subprocess.Popen", executable, args, None, environment)
    restored = _RESTORED
    if not sys.platform.startswith("linux"):  # pragma: no cover - Linux is what runs
        import signal

        restored = (signal.SIGPIPE, signal.SIGXFSZ)
    pipes: list[int] = []
    try:
        for _ in range(3):
            pipes.extend(_pipe())
        (in_read, in_write, out_read, out_write, err_read, err_write) = pipes
        actions = [
            (os.POSIX_SPAWN_DUP2, in_read, 0),
            (os.POSIX_SPAWN_DUP2, out_write, 1),
            (os.POSIX_SPAWN_DUP2, err_write, 2),
            # (close_fds: what this process holds without close-on-exec)
            *((os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable(3)),
        ]
        try:
            pid = os.posix_spawn(
                executable, args, environment, file_actions=actions, setsid=True, setsigdef=restored
            )
        except NotImplementedError as exc:  # pragma: no cover - no POSIX_SPAWN_SETSID
            raise OSError(38, f"posix_spawn: {exc}") from None  # ENOSYS: said as OSError
    except BaseException:
        for fd in pipes:
            os.close(fd)
        raise
    for fd in (in_read, out_write, err_write):
        os.close(fd)
    # (the pipes belong to the Child, closed when it is discarded: no with block)
    stdin = open(in_write, "wb")  # noqa: SIM115
    stdout = open(out_read, "rb")  # noqa: SIM115
    stderr = open(err_read, "rb")  # noqa: SIM115
    child = Child(args, pid, stdin, stdout, stderr)
    try:
        # A few hundred bytes into an empty pipe: never blocks.
        child.stdin.write(pickled_path(path))
        child.stdin.flush()
    except OSError:  # pragma: no cover - the child died at once; its exit says why
        pass
    return child


def _pipe() -> tuple[int, int]:
    """A pipe (close-on-exec) whose ends are not 0, 1 or 2 (when this process was started
    with one of those closed): a DUP2 onto itself would keep close-on-exec."""
    ends = os.pipe()
    if min(ends) > 2:
        return ends
    low = list(ends)
    moved = []
    try:
        for end in ends:
            fd = end
            while fd <= 2:
                fd = os.dup(fd)
                low.append(fd)
            moved.append(fd)
        return moved[0], moved[1]
    finally:
        for fd in low:
            if fd not in moved:
                os.close(fd)


def _inheritable(first: int) -> list[int]:
    """The descriptors from ``first`` up that this process holds without close-on-exec
    (Python opens its own with it; a shell or a caller may have passed others)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:  # pragma: no cover - no /proc: what the limit allows
        import resource

        names = [str(fd) for fd in range(first, resource.getrlimit(resource.RLIMIT_NOFILE)[0])]
    found = []
    for name in names:
        fd = int(name)
        if fd >= first:
            try:
                if os.get_inheritable(fd):
                    found.append(fd)
            except OSError:  # closed since (the listing's own)
                pass
    return found


class Spare:
    """A child started before it was needed, waiting for its request."""

    __slots__ = ("child", "environment", "executable", "path", "warm")

    def __init__(
        self,
        child: Child,
        executable: str,
        environment: dict[str, str],
        path: list[str],
        warm: tuple[str, ...] = (),
    ) -> None:
        self.child = child
        self.executable = executable
        self.environment = environment
        self.path = path
        self.warm = warm
        """The modules this process imports while the child loads the module."""


#: The spare child, while a :class:`Prestart` block has one (at most one).
SPARES: list[Spare] = []


def start_spare(warm: Sequence[str] = ()) -> bool:
    """Start the spare child unless there is one (or no executable); True if this call
    started it (and the caller must :func:`discard_spares` at the end)."""
    if SPARES:
        SPARES[-1].warm = tuple(warm) or SPARES[-1].warm
        return False
    if not sys.executable:
        return False
    environment = child_environment()
    path = list(sys.path)
    try:
        child = spawn(sys.executable, environment, path)
    except OSError:
        return False  # inspect_in_child will say why, when a child is needed
    SPARES.append(Spare(child, sys.executable, environment, path, tuple(warm)))
    return True


def discard_spares() -> None:
    """Stop the spare child, if it was not taken."""
    while SPARES:
        discard(SPARES.pop().child)


def discard(child: Child) -> None:
    """Kill ``child``'s process group, reap it and close its pipes."""
    import contextlib

    from .isolate import kill, reap

    kill(child)
    reap(child)
    for stream in (child.stdin, child.stdout, child.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


class Prestart:
    """``with Prestart(enabled):`` the spare child is started on entry (when enabled and
    there is none yet), and stopped on exit if no inspection took it. The command line
    uses it around a command that inspects, right after parsing. Not enabled (the
    reading in this process), the modules of ``warm`` are imported on entry instead:
    there is no child to overlap them with, and imported before the reading (while the
    start-up's pause of the garbage collector lasts) they do not make the collector walk
    a report that has grown."""

    def __init__(self, enabled: bool = True, *, warm: Sequence[str] = ()) -> None:
        self._enabled = enabled
        self._warm = warm
        self._started = False

    def __enter__(self) -> None:
        if self._enabled:
            self._started = start_spare(self._warm)
            return
        import importlib

        for name in self._warm:
            importlib.import_module(name)

    def stop(self) -> None:
        """Stop the child this block started, if no inspection took it yet."""
        if self._started:
            self._started = False
            discard_spares()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
