"""Loading a PKCS#11 module: checking its file, dlopen-ing it, initialising it once.

* The module file is checked before anything is loaded (no NUL byte, made absolute
  against the current directory so no library search path is ever used, a regular
  file, an ELF shared library for this CPU and word size), so each kind of mistake
  gets its own message (code ``module.*``) instead of a dynamic-loader string.
* The dynamic loader's refusals are told apart (a missing dependency, an undefined
  symbol); what the loader says (dlerror) is kept as it is, in every language.
* ukeytool calls C_GetFunctionList, C_Initialize and (at the end) C_Finalize itself,
  through :mod:`ukeytool.pkcs11.cryptoki`, and traces each (``--trace``): no other
  library calls into the module on ukeytool's behalf, so the trace holds every call
  the process makes (python-pkcs11's loader would add C_GetFunctionList, C_GetInfo and
  two C_GetInterface calls of its own, none of them traceable; issue 13).

A loaded module is shared by every :class:`~ukeytool.pkcs11.backend.Module` opened on the
same file (two spellings of a path, a symlink) and guarded by one lock: the module is
initialised without CKF_OS_LOCKING_OK, so it may not protect itself against concurrent
calls. A forked child neither uses nor finalises its parent's modules.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Iterator

from ..errors import (
    MissingDependency,
    ModuleCallFailed,
    ModuleError,
    ModuleNotFound,
    NotAPkcs11Module,
    NotASharedLibrary,
    UsageError,
    WrongArchitecture,
)
from ..i18n.message import template

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import ctypes
    from typing import Any, Final

__all__ = [
    "LoadedModule",
    "acquire",
    "check_module_file",
    "code_of_pkcs11_exception",
    "iter_open_modules",
    "release",
    "trace",
]

#: The trace's logger, once logging is imported (a run without --trace never imports it).
_TRACE: list[Any] = []


_ELF_MACHINES: Final = {
    0x03: "x86",
    0x08: "MIPS",
    0x14: "PowerPC",
    0x15: "PowerPC64",
    0x16: "s390",
    0x28: "ARM",
    0x3E: "x86-64",
    0xB7: "arm64",
    0xF3: "RISC-V",
    0x102: "LoongArch",
}


# --- checking the file before anything is loaded ------------------------------------


@dataclasses.dataclass(frozen=True)
class _Elf:
    bits: int
    machine: int
    shared: bool

    def describe(self) -> str:
        name = _ELF_MACHINES.get(self.machine, f"machine 0x{self.machine:x}")
        return f"{self.bits}-bit {name}"


def _read_elf(path: str) -> _Elf | None:
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    little = head[5] == 1
    e_type = int.from_bytes(head[16:18], "little" if little else "big")
    machine = int.from_bytes(head[18:20], "little" if little else "big")
    return _Elf(bits=32 if head[4] == 1 else 64, machine=machine, shared=e_type == 3)


@functools.cache
def _python_elf() -> _Elf | None:
    """What this interpreter is built for (None where that cannot be read)."""
    for candidate in ("/proc/self/exe", sys.executable):
        try:
            elf = _read_elf(candidate)
        except OSError:
            continue
        if elf is not None:
            return elf
    return None


PATH_EMPTY: Final = template(
    "module.path_empty", "the module path is empty; give the full path of the vendor's .so file"
)
PATH_NUL: Final = template("module.path_nul", "the module path {path} contains a NUL byte")
NOT_FOUND: Final = template(
    "module.not_found",
    "module not found: {path} does not exist; check the path of the vendor's "
    "PKCS#11 library (a .so file)",
)
UNREADABLE: Final = template("module.unreadable", "cannot read module {path}: {reason}")
DIRECTORY: Final = template(
    "module.directory", "{path} is a directory; give the path of the module file inside it"
)
NOT_REGULAR: Final = template("module.not_regular_file", "{path} is not a regular file")
NOT_ELF: Final = template(
    "module.not_a_library",
    "{path} is not a shared library (no ELF header); give the path of the "
    "vendor's PKCS#11 .so file",
)
EXECUTABLE: Final = template(
    "module.executable", "{path} is an ELF executable, not a shared library"
)
WRONG_ARCHITECTURE: Final = template(
    "module.wrong_architecture",
    "module {path} is {module_arch} and Python is {python_arch}; "
    "use a {python_arch} build of the module",
)
MISSING_DEPENDENCY: Final = template(
    "module.missing_dependency",
    "module {path} needs {dependency}, which is not installed; install the "
    "package that provides it (see `ldd {real}`)",
)
MISSING_SYMBOL: Final = template(
    "module.missing_symbol",
    "module {path} needs the symbol {symbol}, which no installed library "
    "provides (see `ldd -r {real}`)",
)
CANNOT_LOAD: Final = template("module.cannot_load", "module {path} cannot be loaded: {reason}")
NOT_PKCS11: Final = template(
    "module.not_pkcs11",
    "{path} is a shared library but not a PKCS#11 module (it has no "
    "C_GetFunctionList); check that this is the vendor's PKCS#11 library",
)
GET_FUNCTION_LIST_FAILED: Final = template(
    "module.get_function_list_failed",
    "module {path}: C_GetFunctionList failed with {code_name}",
)
NO_FUNCTION_LIST: Final = template(
    "module.no_function_list",
    "module {path}: C_GetFunctionList returned CKR_OK but no function list (a NULL "
    "pointer); the module is faulty: ask its vendor",
)
INITIALIZE_FAILED: Final = template(
    "module.initialize_failed",
    "module {path} failed to initialise: C_Initialize returned {code_name}; "
    "the module or its device may be misconfigured",
)
CALL_FAILED: Final = template(
    "module.call_failed", "module {path}: {function} returned {code_name}"
)
"""A module-wide call after C_Initialize (C_GetInfo, C_GetSlotList)."""


def check_module_file(path: str) -> str:
    """Check that ``path`` can be a PKCS#11 module for this Python; return its real path.

    Nothing is loaded. Raises a specific :class:`ModuleError` for each kind of problem.
    """
    if not isinstance(path, str) or not path:
        raise UsageError(PATH_EMPTY())
    if "\x00" in path:
        raise UsageError(PATH_NUL(path=repr(path)))
    absolute = os.path.abspath(path)
    try:
        st = os.stat(absolute)
    except FileNotFoundError:
        raise ModuleNotFound(NOT_FOUND(path=absolute), path=path) from None
    except OSError as exc:
        raise _unreadable(path, absolute, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise NotASharedLibrary(DIRECTORY(path=absolute), path=path)
    if not stat.S_ISREG(st.st_mode):
        raise NotASharedLibrary(NOT_REGULAR(path=absolute), path=path)
    real = os.path.realpath(absolute)
    try:
        elf = _read_elf(real)
    except OSError as exc:
        raise _unreadable(path, absolute, exc) from None
    if elf is None:
        raise NotASharedLibrary(NOT_ELF(path=absolute), path=path)
    if not elf.shared:
        raise NotASharedLibrary(EXECUTABLE(path=absolute), path=path)
    mine = _python_elf()
    if mine is not None and (elf.bits, elf.machine) != (mine.bits, mine.machine):
        raise WrongArchitecture(
            WRONG_ARCHITECTURE(
                path=absolute, module_arch=elf.describe(), python_arch=mine.describe()
            ),
            path=path,
            module_arch=elf.describe(),
            python_arch=mine.describe(),
        )
    return real


def _unreadable(path: str, absolute: str, exc: OSError) -> ModuleError:
    # The reason is the OS's words (strerror): kept as they are in every language.
    return ModuleError(UNREADABLE(path=absolute, reason=exc.strerror or str(exc)), path=path)


_MISSING_DEP = r"^(?P<dep>[^:]+): cannot open shared object file"
_UNDEFINED = r"undefined symbol: (?P<sym>\S+)"


def _dlopen(path: str, real: str) -> ctypes.CDLL:
    import ctypes

    try:
        return ctypes.CDLL(real)
    except OSError as exc:
        # The dynamic loader's words (dlerror) are read for the library's or symbol's
        # name, and otherwise kept as they are: they are another program's words.
        text = str(exc)
        m = re.match(_MISSING_DEP, text)
        if m and os.path.realpath(m.group("dep")) != real:
            dep = m.group("dep")
            raise MissingDependency(
                MISSING_DEPENDENCY(path=path, dependency=dep, real=real),
                path=path,
                dependency=dep,
            ) from None
        m = re.search(_UNDEFINED, text)
        if m:
            raise MissingDependency(
                MISSING_SYMBOL(path=path, symbol=m.group("sym"), real=real),
                path=path,
                dependency=m.group("sym"),
            ) from None
        raise NotASharedLibrary(CANNOT_LOAD(path=path, reason=text), path=path) from None


def call_failed(path: str, function: str, rv: int) -> ModuleCallFailed:
    """A module-wide call that returned ``rv`` (C_GetInfo, C_GetSlotList)."""
    from . import cryptoki as ck

    return ModuleCallFailed(
        CALL_FAILED(path=path, function=function, code_name=ck.ckr_name(rv)),
        path=path,
        function=function,
        code=rv,
        code_name=ck.ckr_name(rv),
    )


# --- python-pkcs11's exceptions back to CKR codes -----------------------------------

_SPELLING: Final = {
    "TokenNotRecognised": "CKR_TOKEN_NOT_RECOGNIZED",
    "AnotherUserAlreadyLoggedIn": "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
    "FunctionCancelled": "CKR_FUNCTION_CANCELED",
    "SessionReadWriteSOExists": "CKR_SESSION_READ_WRITE_SO_EXISTS",
    "TokenNotPresent": "CKR_TOKEN_NOT_PRESENT",
    "SlotIDInvalid": "CKR_SLOT_ID_INVALID",
    "RandomNoRNG": "CKR_RANDOM_NO_RNG",
    "PinIncorrect": "CKR_PIN_INCORRECT",
}


def code_of_pkcs11_exception(exc: BaseException) -> int:
    """The CK_RV behind a python-pkcs11 exception (it keeps only a class per code)."""
    from . import cryptoki as ck

    text = str(exc)
    if "already initialized" in text:
        return ck.CKR_CRYPTOKI_ALREADY_INITIALIZED
    if "not initialized" in text:
        return 0x190
    m = re.search(r"Unmapped error code (0x[0-9a-fA-F]+)", text)
    if m:
        return int(m.group(1), 16)
    cls = type(exc).__name__
    name = _SPELLING.get(cls) or "CKR_" + re.sub(r"(?<!^)(?=[A-Z])", "_", cls).upper()
    codes = {name: code for code, name in ck.CKR_NAMES.items()}
    return codes.get(name, 0x5)  # CKR_GENERAL_ERROR when nothing fits


# --- the shared, loaded module -------------------------------------------------------


class LoadedModule:
    """One module file, loaded and initialised once per process."""

    def __init__(self, path: str, real: str) -> None:
        import ctypes

        from . import cryptoki as ck

        self.real = real
        self.lock = threading.RLock()
        self.pid = os.getpid()
        self.users = 0
        cdll = _dlopen(path, real)
        try:
            get_function_list = cdll.C_GetFunctionList
        except AttributeError:
            raise NotAPkcs11Module(NOT_PKCS11(path=path), path=path) from None
        self._cdll = cdll  # keeps the library mapped while our function list is in use
        # C_GetFunctionList first (the spec allows it before C_Initialize).
        fl = ctypes.POINTER(ck.CK_FUNCTION_LIST)()
        get_function_list.restype = ck.CK_RV
        get_function_list.argtypes = (ctypes.POINTER(ctypes.POINTER(ck.CK_FUNCTION_LIST)),)
        started = time.perf_counter()
        rv = get_function_list(ctypes.byref(fl))
        trace("C_GetFunctionList", "&list", rv, started)
        if rv != ck.CKR_OK or not fl:
            if rv != ck.CKR_OK:
                message = GET_FUNCTION_LIST_FAILED(path=path, code_name=ck.ckr_name(rv))
            else:
                message = NO_FUNCTION_LIST(path=path)
            raise ModuleCallFailed(
                message,
                path=path,
                function="C_GetFunctionList",
                code=rv,
                code_name=ck.ckr_name(rv),
            )
        self.functions = fl.contents
        self.owns_init = self._initialise(path)

    def _initialise(self, path: str) -> bool:
        """C_Initialize(NULL); False when someone else in this process already did it."""
        from . import cryptoki as ck

        started = time.perf_counter()
        code = int(self.functions.C_Initialize(None))
        trace("C_Initialize", "NULL", code, started)
        if code == ck.CKR_CRYPTOKI_ALREADY_INITIALIZED:
            if self.real in _initialised_before_fork:
                # The parent's initialisation, copied into this forked child (a module
                # without fork detection): this process's to use and to finalise.
                _initialised_before_fork.discard(self.real)
                return True
            # Something else in this process (p11-kit-proxy, another library)
            # initialised the module: use it as it is and leave finalising to it.
            return False
        if code != ck.CKR_OK:
            raise ModuleCallFailed(
                INITIALIZE_FAILED(path=path, code_name=ck.ckr_name(code)),
                path=path,
                function="C_Initialize",
                code=code,
                code_name=ck.ckr_name(code),
            )
        return True

    def finalise(self) -> None:
        if not self.owns_init or self.pid != os.getpid():
            return
        # Teardown must never change the outcome of a run: its result is only traced.
        started = time.perf_counter()
        code = int(self.functions.C_Finalize(None))
        trace("C_Finalize", "NULL", code, started)


_registry: dict[tuple[int, int], LoadedModule] = {}
_registry_lock = threading.Lock()
#: Real paths of the modules the parent process had initialised when it forked.
_initialised_before_fork: set[str] = set()


def _after_fork_in_child() -> None:
    """A forked child must neither use nor finalise its parent's modules (PKCS#11 wants
    it to initialise its own), nor wait for a module lock that another thread of the
    parent held at the fork. (The registry lock is taken around the fork itself.)"""
    for loaded in _registry.values():
        loaded.lock = threading.RLock()
        if loaded.owns_init:
            _initialised_before_fork.add(loaded.real)
    _registry.clear()
    _registry_lock.release()


os.register_at_fork(
    before=_registry_lock.acquire,
    after_in_parent=_registry_lock.release,
    after_in_child=_after_fork_in_child,
)


def trace(function: str, shape: str, rv: int, started: float) -> None:
    if not _TRACE:
        logging = sys.modules.get("logging")
        if logging is None:
            return  # not imported: nobody asked for debug records
        _TRACE.append(logging.getLogger("ukeytool.pkcs11"))
    log = _TRACE[0]
    if log.isEnabledFor(10):  # logging.DEBUG
        from . import cryptoki as ck

        log.debug(
            "%s(%s) -> %s [%.3f ms]",
            function,
            shape,
            ck.ckr_name(rv),
            (time.perf_counter() - started) * 1000,
        )


def acquire(path: str) -> tuple[tuple[int, int], LoadedModule]:
    """The loaded module at ``path`` (loaded and initialised now, or shared), counted as
    one more user; give it back with :func:`release`."""
    real = check_module_file(path)
    st = os.stat(real)
    key = (st.st_dev, st.st_ino)
    with _registry_lock:
        loaded = _registry.get(key)
        if loaded is not None and loaded.pid != os.getpid():
            # After fork the parent's handle is not ours to use or finalise.
            loaded = None
        if loaded is None:
            loaded = LoadedModule(path, real)
            _registry[key] = loaded
        loaded.users += 1
    return key, loaded


def release(key: tuple[int, int], loaded: LoadedModule) -> None:
    """One user fewer; the last one finalises the module."""
    with _registry_lock:
        loaded.users -= 1
        if loaded.users > 0:
            return
        if _registry.get(key) is loaded:
            del _registry[key]
        # Still under the registry lock: an open of the same module meanwhile would get
        # the still-initialised library and then lose it to this C_Finalize.
        with loaded.lock:
            loaded.finalise()


def iter_open_modules() -> Iterator[str]:
    """Real paths of the modules loaded now (for diagnostics and tests)."""
    with _registry_lock:
        return iter([loaded.real for loaded in _registry.values()])
