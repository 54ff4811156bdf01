"""Everything ukeytool raises, as one small tree.

::

    UkeytoolError              root: catch this to catch everything ukeytool raises
    ├── UsageError             the caller asked for something impossible (naive
    │                          datetime, bad option value, unknown selection)
    ├── ModuleError            a PKCS#11 module cannot be used: .path
    │   ├── ModuleNotFound     no file at the path
    │   ├── NotASharedLibrary  the file is not an ELF shared library
    │   ├── WrongArchitecture  another CPU or word size: .module_arch, .python_arch
    │   ├── MissingDependency  a library the module needs is missing: .dependency
    │   ├── NotAPkcs11Module   a shared library without C_GetFunctionList
    │   ├── ModuleCallFailed   C_GetFunctionList, C_Initialize, C_GetInfo or
    │   │                      C_GetSlotList failed (*)
    │   ├── ModuleTimedOut     isolated: the module did not answer in time: .timeout
    │   └── ModuleCrashed      isolated: the module's process died: .signal,
    │                          .signal_name, .exit_status
    ├── Pkcs11Failure (*)      a PKCS#11 call failed: .function, .code, .code_name
    │   └── TokenError         a slot or token call failed: .slot_id
    │       └── AuthenticationError  login refused or failed
    └── CertificateError       certificate bytes cannot be read: .reason

    (*) ModuleCallFailed is both a ModuleError and a Pkcs11Failure.

Errors that come from a PKCS#11 call also derive from :class:`Pkcs11Failure`, which
carries the function name and the CKR code (number and name). Every message says what
happened and, where there is one, what to do; none is ever empty.

An error's :attr:`~UkeytoolError.message` is a message as data
(:class:`ukeytool.Message`): ``str(error)`` is English, ``error.message.render("zh")``
Chinese, and ``error.message.code`` a stable code to branch on (``"module.not_found"``,
``"uri.bad_escape"``), never the sentence. (Until every layer makes messages, it may
still be plain text.) Every error pickles with its attributes and its message, so it can
cross from the child process a module is inspected in.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .i18n.message import Message

__all__ = [
    "AuthenticationError",
    "CertificateError",
    "MissingDependency",
    "ModuleCallFailed",
    "ModuleCrashed",
    "ModuleError",
    "ModuleNotFound",
    "ModuleTimedOut",
    "NotAPkcs11Module",
    "NotASharedLibrary",
    "Pkcs11Failure",
    "TokenError",
    "UkeytoolError",
    "UsageError",
    "WrongArchitecture",
]


class UkeytoolError(Exception):
    """Root of every exception ukeytool raises."""

    def __init__(self, message: Message) -> None:
        if not str(message):
            raise ValueError("ukeytool errors always carry a message")
        super().__init__(str(message))
        self.message = message
        """The message as data: render it in any language with ``.render(lang)``."""

    def __str__(self) -> str:
        return str(self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickling calls cls(*args), which the keyword-only attributes of the
        # subclasses defeat; rebuild from the message and the attributes instead.
        return (_restore, (type(self), self.message, dict(self.__dict__)))


def _restore(cls: type[UkeytoolError], message: Message, state: dict[str, Any]) -> UkeytoolError:
    error = cls.__new__(cls)
    Exception.__init__(error, str(message))
    error.__dict__.update(state)
    return error


class UsageError(UkeytoolError, ValueError):
    """The caller asked for something that cannot be done as asked."""


class Pkcs11Failure(UkeytoolError):
    """A PKCS#11 function returned an error code.

    Mixed into the errors of the tree that come from a call into a module.
    """

    def __init__(self, message: Message, *, function: str, code: int, code_name: str) -> None:
        super().__init__(message)
        self.function = function
        """The PKCS#11 function that failed, e.g. ``"C_GetTokenInfo"``."""
        self.code = code
        """The CK_RV it returned."""
        self.code_name = code_name
        """The CK_RV's name, e.g. ``"CKR_TOKEN_NOT_PRESENT"`` (``"CKR_VENDOR_DEFINED+0x5"``)."""


class ModuleError(UkeytoolError):
    """A PKCS#11 module cannot be loaded or does not work."""

    def __init__(self, message: Message, *, path: str) -> None:
        super().__init__(message)
        self.path = path
        """The module path as given."""


class ModuleNotFound(ModuleError):
    """There is no file at the module path."""


class NotASharedLibrary(ModuleError):
    """The file exists but is not a loadable shared library."""


class WrongArchitecture(ModuleError):
    """The module is built for another CPU or word size than this Python."""

    def __init__(self, message: Message, *, path: str, module_arch: str, python_arch: str) -> None:
        super().__init__(message, path=path)
        self.module_arch = module_arch
        """What the module is built for, e.g. ``"32-bit x86"``."""
        self.python_arch = python_arch
        """What this interpreter is, e.g. ``"64-bit x86-64"``."""


class MissingDependency(ModuleError):
    """The module needs a shared library that is not installed."""

    def __init__(self, message: Message, *, path: str, dependency: str) -> None:
        super().__init__(message, path=path)
        self.dependency = dependency
        """The missing library's name, as the dynamic loader reported it."""


class NotAPkcs11Module(ModuleError):
    """A shared library that does not export ``C_GetFunctionList``."""


class ModuleCallFailed(ModuleError, Pkcs11Failure):
    """A module-wide call (C_Initialize, C_GetInfo, C_GetSlotList) failed."""

    def __init__(
        self, message: Message, *, path: str, function: str, code: int, code_name: str
    ) -> None:
        Pkcs11Failure.__init__(self, message, function=function, code=code, code_name=code_name)
        self.path = path


class ModuleTimedOut(ModuleError):
    """The module did not answer within the time allowed, so its child process was
    stopped (only when modules are inspected in a child process)."""

    def __init__(self, message: Message, *, path: str, timeout: float) -> None:
        super().__init__(message, path=path)
        self.timeout = timeout
        """The time allowed, in seconds."""


class ModuleCrashed(ModuleError):
    """The child process the module was inspected in died before it gave an answer:
    killed by a signal (a crash: SIGSEGV, SIGABRT...) or ended by the module itself
    (only when modules are inspected in a child process)."""

    def __init__(
        self,
        message: Message,
        *,
        path: str,
        signal: int | None,
        signal_name: str | None,
        exit_status: int | None,
    ) -> None:
        super().__init__(message, path=path)
        self.signal = signal
        """The signal that killed the process, e.g. 11; None when it exited."""
        self.signal_name = signal_name
        """The signal's name, e.g. ``"SIGSEGV"``; None when it exited."""
        self.exit_status = exit_status
        """The exit status when the module ended the process itself; None for a signal."""


class TokenError(Pkcs11Failure):
    """A call about one slot or token failed."""

    def __init__(
        self, message: Message, *, slot_id: int, function: str, code: int, code_name: str
    ) -> None:
        super().__init__(message, function=function, code=code, code_name=code_name)
        self.slot_id = slot_id
        """The slot the call was about (a number that is only stable within one run)."""


class AuthenticationError(TokenError):
    """Login was refused before it was tried, or C_Login failed."""


class CertificateError(UkeytoolError):
    """Bytes that were meant to be a certificate cannot be read as one."""

    def __init__(self, message: Message, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        """A short machine-friendly reason, e.g. ``"truncated"`` or ``"not-der"``."""
