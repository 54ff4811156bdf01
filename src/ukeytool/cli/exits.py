"""What ``ukeytool`` exits with: the named codes, and the one table from errors to codes.

Every command maps the ukeytool error that stops it through :data:`ERROR_EXITS`, looked up
by the error's class and its bases in method-resolution order, so the most specific entry
wins (:class:`~ukeytool.errors.ModuleCallFailed` is a ModuleError, but exits 4, not 3) and a
new subclass exits as its parent does without being listed.
"""

from __future__ import annotations

import enum
import types

from .. import errors
from ..errors import (
    ModuleCallFailed,
    ModuleCrashed,
    ModuleError,
    ModuleTimedOut,
    UkeytoolError,
    UsageError,
)
from ..i18n import N_

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

__all__ = [
    "ERROR_EXITS",
    "EXIT_CODES_HELP",
    "PLUGIN_UNKNOWN",
    "ExitCode",
    "exit_code",
    "failure_exit_code",
]


@enum.unique
class ExitCode(enum.IntEnum):
    """What ``ukeytool`` exits with."""

    OK = 0
    """Everything was read."""
    INTERNAL = 1
    """A bug in ukeytool (the message says how to get details)."""
    USAGE = 2
    """The command line was wrong (unknown option, bad value, no module given)."""
    MODULE_UNUSABLE = 3
    """The module cannot be loaded: not found, not a shared library, wrong CPU,
    a missing dependency, or not a PKCS#11 module."""
    MODULE_FAILED = 4
    """The module loaded but failed (C_GetFunctionList, C_Initialize, C_GetInfo or
    C_GetSlotList)."""
    INCOMPLETE = 5
    """Something could not be read (a module of several, a slot, a token, an object);
    what could be read is listed, and each problem is shown where it happened."""
    MODULE_TIMED_OUT = 6
    """The module did not answer within --timeout seconds and was stopped."""
    MODULE_CRASHED = 7
    """The module crashed (a signal such as SIGSEGV) or ended its process itself."""
    LOGIN_REFUSED = 8
    """``--login``: ukeytool did not log in (PIN locked, final try not confirmed, PIN
    length outside the token's range, no PIN); no PIN try was spent."""
    LOGIN_FAILED = 9
    """``--login``: the token rejected the one C_Login (wrong PIN, locked...); not retried."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C)."""
    TERMINATED = 143
    """Terminated (SIGTERM): the module's child and its process group were stopped."""


PLUGIN_UNKNOWN: Final = 3
"""``check``'s exit code for every failure and usage error: the monitoring plugin's
UNKNOWN (:attr:`ukeytool.rendering.check.CheckState.UNKNOWN`, which ``--help`` does not
import)."""

ERROR_EXITS: Final[Mapping[type[UkeytoolError], ExitCode]] = types.MappingProxyType(
    {
        UkeytoolError: ExitCode.INCOMPLETE,
        UsageError: ExitCode.USAGE,
        ModuleError: ExitCode.MODULE_UNUSABLE,
        ModuleCallFailed: ExitCode.MODULE_FAILED,
        ModuleTimedOut: ExitCode.MODULE_TIMED_OUT,
        ModuleCrashed: ExitCode.MODULE_CRASHED,
    }
)
"""The exit code of each error class; a class not listed exits as its nearest listed
base. The worst of several module failures is the highest code: crashed > timed out >
failed a call > unusable."""


def exit_code(error: UkeytoolError | type[UkeytoolError]) -> ExitCode:
    """The exit code for ``error`` (an error or its class), by :data:`ERROR_EXITS`."""
    cls = error if isinstance(error, type) else type(error)
    return next(ERROR_EXITS[base] for base in cls.__mro__ if base in ERROR_EXITS)


def failure_exit_code(kind: str) -> ExitCode:
    """The exit code for a module that failed, by its :attr:`ModuleFailure.kind
    <ukeytool.model.ModuleFailure.kind>` (the error's class name, as the failure record
    keeps it): the class of that name in :mod:`ukeytool.errors`, else a ModuleError."""
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, ModuleError)):
        cls = ModuleError
    return exit_code(cls)


EXIT_CODES_HELP: Final = N_("""\
exit codes (list-tokens, list-modules):
  0  everything was read
  1  internal error in ukeytool (set UKEYTOOL_DEBUG=1 for a traceback)
  2  usage error: bad option or value, no module found, no token matches
  3  the module cannot be loaded (not found, not a shared library, wrong CPU,
     missing dependency, not a PKCS#11 module)
  4  the module failed (C_GetFunctionList, C_Initialize, C_GetInfo or C_GetSlotList
     returned an error)
  5  something could not be read (a module of several, a slot, a token, an object);
     what could be read is listed, problems are shown where they happened
  6  the module did not answer within --timeout seconds and was stopped
  7  the module crashed (e.g. signal 11, SIGSEGV) or ended ukeytool's child process
  (3, 4, 6, 7: when no module could be inspected; with several, the highest applies)
  8  --login: no login was tried (PIN locked, final try not confirmed with
     --allow-final-try, PIN length outside the token's range); no PIN try was spent
  9  --login: the token rejected the PIN (one try spent, never retried)
130  interrupted (Ctrl-C)
143  terminated (SIGTERM)
exit codes (check): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for usage errors)
exit codes (inspect-file): 0 all read, 2 usage error or no file could be opened,
  5 something could not be read (see 'ukeytool inspect-file --help')
""")
"""The exit codes, as ``--help`` of ukeytool, list-tokens and list-modules shows them."""
