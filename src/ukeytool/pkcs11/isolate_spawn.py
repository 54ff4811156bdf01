"""Starting an isolation child (:mod:`ukeytool.pkcs11.isolate`), kept apart so that the
command line can start its first child right after the arguments are parsed, before it
imports anything else (:class:`Prestart`): the child's interpreter then starts while
this process imports the rest of ukeytool and reads the renewal rules.

Imports ``contextlib``, ``os``, ``sys``, ``pickle`` and ``subprocess`` only (this process needs them
anyway). The child runs with ``-S``: it takes this process's ``sys.path`` whole, so
the ``site`` module (``.pth`` files, the user's site directory) would only cost it
time."""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType
    from typing import Final

__all__ = [
    "BOOTSTRAP",
    "SECRET_VARIABLES",
    "Prestart",
    "Spare",
    "bootstrap",
    "child_environment",
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


def spawn(
    executable: str, environment: dict[str, str], path: list[str], program: str = BOOTSTRAP
) -> subprocess.Popen[bytes]:
    """A new child running ``program`` (a :func:`bootstrap`), in a session of its own,
    given ``path`` (its ``sys.path``) at once; it then imports what it needs and waits
    for its request."""
    child = subprocess.Popen(
        [executable, "-S", "-c", program],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=environment,
    )
    assert child.stdin is not None
    try:
        # A few hundred bytes into an empty pipe: never blocks.
        child.stdin.write(pickle.dumps(path))
        child.stdin.flush()
    except OSError:  # pragma: no cover - the child died at once; its exit says why
        pass
    return child


class Spare:
    """A child started before it was needed, waiting for its request."""

    __slots__ = ("child", "environment", "executable", "path", "warm")

    def __init__(
        self,
        child: subprocess.Popen[bytes],
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


def discard(child: subprocess.Popen[bytes]) -> None:
    """Kill ``child``'s process group, reap it and close its pipes."""
    from .isolate import _kill, _reap

    _kill(child)
    _reap(child)
    for stream in (child.stdin, child.stdout, child.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


class Prestart:
    """``with Prestart(enabled):`` the spare child is started on entry (when enabled and
    there is none yet), and stopped on exit if no inspection took it. The command line
    uses it around a command that inspects with isolation, right after parsing."""

    def __init__(self, enabled: bool = True, *, warm: Sequence[str] = ()) -> None:
        self._enabled = enabled
        self._warm = warm
        self._started = False

    def __enter__(self) -> None:
        self._started = self._enabled and start_spare(self._warm)

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
