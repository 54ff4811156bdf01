"""The PKCS#11 backend: the only module that loads a vendor module and calls into it.

How the work is split, and why:

* The module file is checked before anything is loaded (no NUL byte, made absolute
  against the current directory so no library search path is ever used, a regular
  file, an ELF shared library for this CPU and word size), so each kind of mistake
  gets its own message instead of a dynamic-loader string.
* python-pkcs11 loads and initialises the module (``pkcs11.lib``) and finalises it
  at the end (``pkcs11.unload``), so C_Finalize runs exactly once and not again from
  a destructor at interpreter exit.
* All other calls go through :mod:`ukeytool.pkcs11.cryptoki`, a ctypes binding over the same
  module's function list that names inspection functions only. python-pkcs11 cannot
  give the raw CK_TOKEN_INFO (it decodes labels with ``errors="replace"``), aborts a
  whole slot scan on one bad slot, and reads ten capability attributes for every
  object it yields; ukeytool reads each certificate object with one pre-sized
  template instead (see :meth:`Module.certificate_objects`).

A module is shared by every :class:`Module` opened on the same file (two spellings of
a path, a symlink) and guarded by one lock: python-pkcs11 initialises modules without
CKF_OS_LOCKING_OK, so the module may not protect itself against concurrent calls.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import logging
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Final

from ..errors import (
    MissingDependency,
    ModuleCallFailed,
    ModuleError,
    ModuleNotFound,
    NotAPkcs11Module,
    NotASharedLibrary,
    TokenError,
    UsageError,
    WrongArchitecture,
)
from ..i18n import N_
from ..model import (
    LoginOutcome,
    LoginState,
    ModuleInfo,
    PinState,
    Problem,
    SlotInfo,
    TokenInfo,
)
from ..model.text import decode_text
from . import cryptoki as ck
from .interface import ObjectListing, RawCertificateObject, RawKeyObject
from .login import ALREADY_LOGGED_IN, LOGGED_IN, NOT_READ_AGAIN, Login, login_failed, refusal

__all__ = ["Module", "open_module"]

log = logging.getLogger("ukeytool.pkcs11")

#: Handles asked for per C_FindObjects call.
FIND_BATCH: Final = 256
#: A token with more certificate objects than this is surely looping; stop there.
MAX_OBJECTS: Final = 100_000
#: Pre-sized buffers for the single attribute template: big enough for nearly every
#: certificate and label, so one C_GetAttributeValue per object is the norm.
VALUE_BUFFER: Final = 8192
SMALL_BUFFER: Final = 512
#: Retry buffers when a value did not fit; a certificate over 1 MiB is refused.
MAX_VALUE: Final = 1 << 20
MAX_SMALL: Final = 64 << 10

#: Codes after which the session or the token is gone: stop listing that token.
_GONE: Final = frozenset(
    {
        0x30,  # CKR_DEVICE_ERROR
        0x32,  # CKR_DEVICE_REMOVED
        0xB0,  # CKR_SESSION_CLOSED
        0xB3,  # CKR_SESSION_HANDLE_INVALID
        0xE0,  # CKR_TOKEN_NOT_PRESENT
        0x190,  # CKR_CRYPTOKI_NOT_INITIALIZED
    }
)

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


def check_module_file(path: str) -> str:
    """Check that ``path`` can be a PKCS#11 module for this Python; return its real path.

    Nothing is loaded. Raises a specific :class:`ModuleError` for each kind of problem.
    """
    if not isinstance(path, str) or not path:
        raise UsageError(
            N_("the module path is empty; give the full path of the vendor's .so file")
        )
    if "\x00" in path:
        raise UsageError(N_("the module path {path} contains a NUL byte").format(path=repr(path)))
    absolute = os.path.abspath(path)
    try:
        st = os.stat(absolute)
    except FileNotFoundError:
        raise ModuleNotFound(
            N_(
                "module not found: {path} does not exist; check the path of the vendor's "
                "PKCS#11 library (a .so file)"
            ).format(path=absolute),
            path=path,
        ) from None
    except OSError as exc:
        raise _unreadable(path, absolute, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise NotASharedLibrary(
            N_("{path} is a directory; give the path of the module file inside it").format(
                path=absolute
            ),
            path=path,
        )
    if not stat.S_ISREG(st.st_mode):
        raise NotASharedLibrary(N_("{path} is not a regular file").format(path=absolute), path=path)
    real = os.path.realpath(absolute)
    try:
        elf = _read_elf(real)
    except OSError as exc:
        raise _unreadable(path, absolute, exc) from None
    if elf is None:
        raise NotASharedLibrary(
            N_(
                "{path} is not a shared library (no ELF header); give the path of the "
                "vendor's PKCS#11 .so file"
            ).format(path=absolute),
            path=path,
        )
    if not elf.shared:
        raise NotASharedLibrary(
            N_("{path} is an ELF executable, not a shared library").format(path=absolute),
            path=path,
        )
    mine = _python_elf()
    if mine is not None and (elf.bits, elf.machine) != (mine.bits, mine.machine):
        raise WrongArchitecture(
            # Each placeholder once: a template is matched back by named groups.
            N_(
                "module {path} is {module_arch} and Python is {python_arch}; "
                "use a {wanted} build of the module"
            ).format(
                path=absolute,
                module_arch=elf.describe(),
                python_arch=mine.describe(),
                wanted=mine.describe(),
            ),
            path=path,
            module_arch=elf.describe(),
            python_arch=mine.describe(),
        )
    return real


def _unreadable(path: str, absolute: str, exc: OSError) -> ModuleError:
    # The reason is the OS's words (strerror): kept as they are in every language.
    return ModuleError(
        N_("cannot read module {path}: {reason}").format(path=absolute, reason=exc.strerror),
        path=path,
    )


_MISSING_DEP = re.compile(r"^(?P<dep>[^:]+): cannot open shared object file")
_UNDEFINED = re.compile(r"undefined symbol: (?P<sym>\S+)")


def _dlopen(path: str, real: str) -> ctypes.CDLL:
    try:
        return ctypes.CDLL(real)
    except OSError as exc:
        text = str(exc)
        m = _MISSING_DEP.match(text)
        if m and os.path.realpath(m.group("dep")) != real:
            dep = m.group("dep")
            raise MissingDependency(
                N_(
                    "module {path} needs {dependency}, which is not installed; install the "
                    "package that provides it (see `ldd {real}`)"
                ).format(path=path, dependency=dep, real=real),
                path=path,
                dependency=dep,
            ) from None
        m = _UNDEFINED.search(text)
        if m:
            raise MissingDependency(
                N_(
                    "module {path} needs the symbol {symbol}, which no installed library "
                    "provides (see `ldd -r {real}`)"
                ).format(path=path, symbol=m.group("sym"), real=real),
                path=path,
                dependency=m.group("sym"),
            ) from None
        # The dynamic loader's own words (dlerror) are kept as they are.
        raise NotASharedLibrary(
            N_("module {path} cannot be loaded: {reason}").format(path=path, reason=text),
            path=path,
        ) from None


def _call_failed(path: str, function: str, rv: int) -> ModuleCallFailed:
    """A module-wide call that returned ``rv`` (C_GetInfo, C_GetSlotList)."""
    return ModuleCallFailed(
        N_("module {path}: {function} returned {code_name}").format(
            path=path, function=function, code_name=ck.ckr_name(rv)
        ),
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
_CODES_BY_NAME: Final = {name: code for code, name in ck.CKR_NAMES.items()}


def code_of_pkcs11_exception(exc: BaseException) -> int:
    """The CK_RV behind a python-pkcs11 exception (it keeps only a class per code)."""
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
    return _CODES_BY_NAME.get(name, 0x5)  # CKR_GENERAL_ERROR when nothing fits


# --- the shared, loaded module -------------------------------------------------------


class _Loaded:
    """One module file, loaded and initialised once per process."""

    def __init__(self, path: str, real: str) -> None:
        self.real = real
        self.lock = threading.RLock()
        self.pid = os.getpid()
        self.users = 0
        cdll = _dlopen(path, real)
        try:
            get_function_list = cdll.C_GetFunctionList
        except AttributeError:
            raise NotAPkcs11Module(
                N_(
                    "{path} is a shared library but not a PKCS#11 module (it has no "
                    "C_GetFunctionList); check that this is the vendor's PKCS#11 library"
                ).format(path=path),
                path=path,
            ) from None
        self._cdll = cdll  # keeps the library mapped while our function list is in use
        # C_GetFunctionList first (the spec allows it before C_Initialize): python-pkcs11
        # calls it too, and a failure there would be reported as C_Initialize's.
        fl = ctypes.POINTER(ck.CK_FUNCTION_LIST)()
        get_function_list.restype = ck.CK_RV
        get_function_list.argtypes = (ctypes.POINTER(ctypes.POINTER(ck.CK_FUNCTION_LIST)),)
        rv = get_function_list(ctypes.byref(fl))
        if rv != ck.CKR_OK or not fl:
            raise ModuleCallFailed(
                N_("module {path}: C_GetFunctionList failed with {code_name}").format(
                    path=path, code_name=ck.ckr_name(rv)
                ),
                path=path,
                function="C_GetFunctionList",
                code=rv,
                code_name=ck.ckr_name(rv),
            )
        self.functions = fl.contents
        self.owns_init = self._initialise(path)

    def _initialise(self, path: str) -> bool:
        """C_Initialize through python-pkcs11; False when someone else already did it."""
        import pkcs11

        started = time.perf_counter()
        try:
            pkcs11.lib(self.real)
        except pkcs11.PKCS11Error as exc:
            code = code_of_pkcs11_exception(exc)
            _trace("C_Initialize", "NULL", code, started)
            if code == ck.CKR_CRYPTOKI_ALREADY_INITIALIZED:
                # Something else in this process (p11-kit-proxy, another library)
                # initialised the module: use it as it is and leave finalising to it.
                return False
            raise ModuleCallFailed(
                N_(
                    "module {path} failed to initialise: C_Initialize returned {code_name}; "
                    "the module or its device may be misconfigured"
                ).format(path=path, code_name=ck.ckr_name(code)),
                path=path,
                function="C_Initialize",
                code=code,
                code_name=ck.ckr_name(code),
            ) from None
        _trace("C_Initialize", "NULL", ck.CKR_OK, started)
        return True

    def finalise(self) -> None:
        if not self.owns_init or self.pid != os.getpid():
            return
        import pkcs11

        started = time.perf_counter()
        try:
            pkcs11.unload(self.real)
        except pkcs11.PKCS11Error as exc:
            # Teardown must never change the outcome of a run: log and go on.
            _trace("C_Finalize", "NULL", code_of_pkcs11_exception(exc), started)
        else:
            _trace("C_Finalize", "NULL", ck.CKR_OK, started)


_registry: dict[tuple[int, int], _Loaded] = {}
_registry_lock = threading.Lock()
#: python-pkcs11's objects for modules a parent process had open before it forked:
#: kept alive and unused in the child, as their destructor would call C_Finalize.
_inherited: list[object] = []


def _after_fork_in_child() -> None:
    """A forked child must neither use nor finalise its parent's modules (PKCS#11 wants
    it to initialise its own), nor wait for a module lock that another thread of the
    parent held at the fork. (The registry lock is taken around the fork itself.)"""
    cache = getattr(sys.modules.get("pkcs11"), "_loaded", None)
    for loaded in _registry.values():
        loaded.lock = threading.RLock()
        if isinstance(cache, dict) and loaded.owns_init:
            # Else pkcs11.lib() would hand the child the parent's initialised library
            # without calling C_Initialize.
            lib = cache.pop(loaded.real, None)
            if lib is not None:
                _inherited.append(lib)
    _registry.clear()
    _registry_lock.release()


os.register_at_fork(
    before=_registry_lock.acquire,
    after_in_parent=_registry_lock.release,
    after_in_child=_after_fork_in_child,
)


def _trace(function: str, shape: str, rv: int, started: float) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "%s(%s) -> %s [%.3f ms]",
            function,
            shape,
            ck.ckr_name(rv),
            (time.perf_counter() - started) * 1000,
        )


def open_module(path: str) -> Module:
    """Load and initialise the PKCS#11 module at ``path`` (or share it if already open).

    Use the result as a context manager, or call :meth:`Module.close`.
    """
    real = check_module_file(path)
    st = os.stat(real)
    key = (st.st_dev, st.st_ino)
    with _registry_lock:
        loaded = _registry.get(key)
        if loaded is not None and loaded.pid != os.getpid():
            # After fork the parent's handle is not ours to use or finalise.
            loaded = None
        if loaded is None:
            loaded = _Loaded(path, real)
            _registry[key] = loaded
        loaded.users += 1
    try:
        return Module(path, loaded, key)
    except BaseException:
        _release(key, loaded)
        raise


def _release(key: tuple[int, int], loaded: _Loaded) -> None:
    with _registry_lock:
        loaded.users -= 1
        if loaded.users > 0:
            return
        if _registry.get(key) is loaded:
            del _registry[key]
        # Still under the registry lock: an open of the same module meanwhile would get
        # python-pkcs11's still-initialised library and then lose it to this C_Finalize.
        with loaded.lock:
            loaded.finalise()


def _version(v: ck.CK_VERSION) -> tuple[int, int]:
    return (int(v.major), int(v.minor))


def _counter(value: int) -> int | None:
    return None if value == ck.CK_UNAVAILABLE_INFORMATION else int(value)


def pin_state(flags: int) -> PinState:
    """The user PIN's state from CK_TOKEN_INFO flags; SO-PIN flags never mean "locked"."""
    if not flags & 0x400:
        return PinState.NOT_INITIALISED
    if flags & 0x40000:
        return PinState.LOCKED
    if flags & 0x20000:
        return PinState.FINAL_TRY
    if flags & 0x10000:
        return PinState.COUNT_LOW
    if flags & 0x80000:
        return PinState.MUST_BE_CHANGED
    if not flags & 0x8:
        return PinState.USER_PIN_NOT_SET
    return PinState.OK


class Module:
    """An open PKCS#11 module: the real :class:`~ukeytool.pkcs11.interface.Backend`."""

    def __init__(self, path: str, loaded: _Loaded, key: tuple[int, int]) -> None:
        self._path = path
        self._loaded = loaded
        self._fl = loaded.functions
        self._closed = False
        self._key = key
        self._info = self._read_info()

    # -- plumbing

    def __enter__(self) -> Module:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<ukeytool Module {self._path!r} ({state})>"

    def close(self) -> None:
        """Release the module; the last user of a module file finalises it."""
        if not self._closed:
            self._closed = True
            _release(self._key, self._loaded)

    def _call(self, name: str, shape: str, *args: Any) -> int:
        if self._closed:
            raise UsageError(N_("module {path} is closed").format(path=self._path))
        if self._loaded.pid != os.getpid():
            raise UsageError(
                N_(
                    "module {path} was opened before this process forked; open it again "
                    "in this process"
                ).format(path=self._path)
            )
        fn: Callable[..., int] = getattr(self._fl, name)
        started = time.perf_counter()
        rv = int(fn(*args))
        _trace(name, shape, rv, started)
        return rv

    def _token_error(self, slot_id: int, function: str, rv: int, template: str) -> TokenError:
        """``template``: one of the N_ sentences with {function}, {code_name}, {slot_id}."""
        return TokenError(
            template.format(function=function, code_name=ck.ckr_name(rv), slot_id=slot_id),
            slot_id=slot_id,
            function=function,
            code=rv,
            code_name=ck.ckr_name(rv),
        )

    # -- the Backend interface

    @property
    def path(self) -> str:
        return self._path

    @property
    def info(self) -> ModuleInfo:
        return self._info

    def _read_info(self) -> ModuleInfo:
        info = ck.CK_INFO()
        with self._loaded.lock:
            rv = self._call("C_GetInfo", "&info", ctypes.byref(info))
        if rv != ck.CKR_OK:
            raise _call_failed(self._path, "C_GetInfo", rv)
        return ModuleInfo(
            path=self._path,
            real_path=self._loaded.real,
            cryptoki_version=_version(info.cryptokiVersion),
            manufacturer=decode_text(bytes(info.manufacturerID), strip_padding=True),
            description=decode_text(bytes(info.libraryDescription), strip_padding=True),
            library_version=_version(info.libraryVersion),
        )

    def slot_ids(self) -> tuple[tuple[int, ...], tuple[Problem, ...]]:
        """Every slot; retries when the list grows between the size query and the fill."""
        problems: list[Problem] = []
        with self._loaded.lock:
            for _attempt in range(3):
                count = ck.CK_ULONG(0)
                rv = self._call(
                    "C_GetSlotList", "FALSE, NULL, &count", 0, None, ctypes.byref(count)
                )
                if rv != ck.CKR_OK:
                    break
                buf = (ck.CK_SLOT_ID * max(count.value, 1))()
                rv = self._call(
                    "C_GetSlotList",
                    f"FALSE, slots[{count.value}], &count",
                    0,
                    buf,
                    ctypes.byref(count),
                )
                if rv == ck.CKR_BUFFER_TOO_SMALL:
                    problems.append(
                        Problem(
                            "C_GetSlotList",
                            N_(
                                "the slot list changed while it was read (a token was "
                                "plugged in?); read it again"
                            ),
                            rv,
                            ck.ckr_name(rv),
                        )
                    )
                    continue
                break
        if rv != ck.CKR_OK:
            raise _call_failed(self._path, "C_GetSlotList", rv)
        if problems:
            # It worked in the end: the retry is worth a trace, not a problem.
            log.info("C_GetSlotList needed %d retries", len(problems))
        return tuple(int(buf[i]) for i in range(count.value)), ()

    def slot_info(self, slot_id: int) -> SlotInfo:
        info = ck.CK_SLOT_INFO()
        with self._loaded.lock:
            rv = self._call("C_GetSlotInfo", f"{slot_id}, &info", slot_id, ctypes.byref(info))
        if rv != ck.CKR_OK:
            raise self._token_error(slot_id, "C_GetSlotInfo", rv, _CANNOT_READ_SLOT)
        flags = int(info.flags)
        names, _unknown = ck.flag_names(flags, ck.SLOT_FLAGS)
        return SlotInfo(
            slot_id=slot_id,
            description=decode_text(bytes(info.slotDescription), strip_padding=True),
            manufacturer=decode_text(bytes(info.manufacturerID), strip_padding=True),
            flags=flags,
            flag_names=names,
            hardware_version=_version(info.hardwareVersion),
            firmware_version=_version(info.firmwareVersion),
        )

    def token_info(self, slot_id: int) -> TokenInfo:
        info = ck.CK_TOKEN_INFO()
        with self._loaded.lock:
            rv = self._call("C_GetTokenInfo", f"{slot_id}, &info", slot_id, ctypes.byref(info))
        if rv != ck.CKR_OK:
            raise self._token_error(slot_id, "C_GetTokenInfo", rv, _CANNOT_READ_TOKEN)
        flags = int(info.flags)
        names, unknown = ck.flag_names(flags, ck.TOKEN_FLAGS)
        clock = bytes(info.utcTime).rstrip(b" \x00")
        return TokenInfo(
            label=decode_text(bytes(info.label), strip_padding=True),
            manufacturer=decode_text(bytes(info.manufacturerID), strip_padding=True),
            model=decode_text(bytes(info.model), strip_padding=True),
            serial=decode_text(bytes(info.serialNumber), strip_padding=True),
            flags=flags,
            flag_names=names,
            unknown_flags=unknown,
            pin_state=pin_state(flags),
            max_session_count=_counter(info.ulMaxSessionCount),
            session_count=_counter(info.ulSessionCount),
            max_rw_session_count=_counter(info.ulMaxRwSessionCount),
            rw_session_count=_counter(info.ulRwSessionCount),
            max_pin_len=_counter(info.ulMaxPinLen),
            min_pin_len=_counter(info.ulMinPinLen),
            total_public_memory=_counter(info.ulTotalPublicMemory),
            free_public_memory=_counter(info.ulFreePublicMemory),
            total_private_memory=_counter(info.ulTotalPrivateMemory),
            free_private_memory=_counter(info.ulFreePrivateMemory),
            hardware_version=_version(info.hardwareVersion),
            firmware_version=_version(info.firmwareVersion),
            utc_time=clock.decode("ascii", "replace") if flags & 0x40 and clock else None,
        )

    def certificate_objects(self, slot_id: int, *, login: Login | None = None) -> ObjectListing:
        """Every certificate and key object visible in one read-only session.

        Calls: C_OpenSession (serial, never R/W); with ``login`` only, C_GetTokenInfo
        again and at most one C_Login (see ``_login.refusal``); then per
        object class (certificates, private keys, public keys) C_FindObjectsInit with
        CKA_CLASS alone (some modules find nothing with an empty or larger template),
        C_FindObjects until it returns none, C_FindObjectsFinal before any attribute is
        read (an open search blocks other operations on some modules), then one
        C_GetAttributeValue per object, a second only when a value did not fit; C_Logout
        when ukeytool logged in, and C_CloseSession on every path.
        """
        with self._loaded.lock:
            session = ck.CK_SESSION_HANDLE(0)
            rv = self._call(
                "C_OpenSession",
                f"{slot_id}, CKF_SERIAL_SESSION, NULL, NULL, &session",
                slot_id,
                ck.CKF_SERIAL_SESSION,
                None,
                None,
                ctypes.byref(session),
            )
            if rv != ck.CKR_OK:
                raise self._token_error(slot_id, "C_OpenSession", rv, _CANNOT_OPEN_SESSION)
            outcome: LoginOutcome | None = None
            try:
                if login is not None:
                    outcome = self._login(slot_id, session, login)
                listing = self._list_objects(slot_id, session)
                return dataclasses.replace(listing, login=outcome)
            finally:
                # Neither a failing logout nor a failing close may replace what happened
                # before them: their results are only traced.
                if outcome is not None and outcome.state is LoginState.LOGGED_IN:
                    self._call("C_Logout", f"{session.value}", session)
                self._call("C_CloseSession", f"{session.value}", session)

    def _login(self, slot_id: int, session: ck.CK_SESSION_HANDLE, login: Login) -> LoginOutcome:
        """The one C_Login, after reading the token's PIN flags again; never retried."""
        try:
            token = self.token_info(slot_id)
        except TokenError as exc:
            return LoginOutcome(
                LoginState.REFUSED,
                NOT_READ_AGAIN.format(code_name=exc.code_name),
                exc.code,
                exc.code_name,
            )
        refused = refusal(token, login)
        if refused is not None:
            return refused
        if token.protected_authentication_path:
            # The PIN is entered on the reader (the caller told the user to do so).
            rv = self._call(
                "C_Login",
                f"{session.value}, CKU_USER, NULL (PIN pad), 0",
                session,
                ck.CKU_USER,
                None,
                0,
            )
        else:
            assert login.pin is not None  # refusal() returned None
            buffer = login.pin.spend()
            pin = (ctypes.c_char * len(buffer)).from_buffer(buffer)
            try:
                rv = self._call(
                    "C_Login",
                    f"{session.value}, CKU_USER, <PIN redacted>, <redacted>",
                    session,
                    ck.CKU_USER,
                    ctypes.cast(pin, ctypes.c_void_p),
                    len(buffer),
                )
            finally:
                del pin  # release the export of the bytearray so it can be wiped
        if rv == ck.CKR_OK:
            return LoginOutcome(LoginState.LOGGED_IN, LOGGED_IN)
        if rv == ck.CKR_USER_ALREADY_LOGGED_IN:
            return LoginOutcome(
                LoginState.ALREADY_LOGGED_IN,
                ALREADY_LOGGED_IN,
            )
        return login_failed(rv, ck.ckr_name(rv))

    def _list_objects(self, slot_id: int, session: ck.CK_SESSION_HANDLE) -> ObjectListing:
        handles, problems, complete = self._find(slot_id, session, ck.CKO_CERTIFICATE)
        gone = any(p.code in _GONE for p in problems)
        objects: list[RawCertificateObject] = []
        reader = _AttributeReader(self, session, _CERTIFICATE_TEMPLATE)
        for handle in handles:
            read = reader.read(handle)
            objects.append(_certificate_object(handle, read))
            if read.gone is not None:
                problems.append(read.gone)
                return ObjectListing(tuple(objects), tuple(problems), False)
        if gone:  # the token went away during the search: no point looking for keys
            return ObjectListing(tuple(objects), tuple(problems), False)
        keys, keys_listed, lost = self._list_keys(slot_id, session)
        if lost is not None:
            problems.append(lost)
            complete = False
        return ObjectListing(tuple(objects), tuple(problems), complete, keys, keys_listed)

    def _list_keys(
        self, slot_id: int, session: ck.CK_SESSION_HANDLE
    ) -> tuple[tuple[RawKeyObject, ...], bool, Problem | None]:
        """Private, then public key objects; a failing search only leaves keys unknown,
        unless the token is gone (then the problem is returned)."""
        keys: list[RawKeyObject] = []
        listed = True
        reader = _AttributeReader(self, session, _KEY_TEMPLATE)
        for key_class in (ck.CKO_PRIVATE_KEY, ck.CKO_PUBLIC_KEY):
            try:
                handles, problems, complete = self._find(slot_id, session, key_class)
            except TokenError as exc:
                if exc.code in _GONE:
                    return (
                        tuple(keys),
                        False,
                        Problem(
                            exc.function,
                            N_("cannot search for keys: {detail}").format(
                                detail=_explain(exc.code)
                            ),
                            exc.code,
                            exc.code_name,
                        ),
                    )
                listed = False  # a module that will not search for keys: keys unknown
                continue
            if problems:
                gone = next((p for p in problems if p.code in _GONE), None)
                if gone is not None:
                    return tuple(keys), False, gone
            listed = listed and complete
            for handle in handles:
                read = reader.read(handle)
                if read.gone is not None:
                    return tuple(keys), False, read.gone
                keys.append(_key_object(handle, key_class, read))
        return tuple(keys), listed, None

    def _find(
        self, slot_id: int, session: ck.CK_SESSION_HANDLE, object_class: int
    ) -> tuple[list[int], list[Problem], bool]:
        cls = ck.CK_ULONG(object_class)
        template = ck.CK_ATTRIBUTE(
            ck.CKA_CLASS, ctypes.cast(ctypes.byref(cls), ctypes.c_void_p), ctypes.sizeof(cls)
        )
        rv = self._call(
            "C_FindObjectsInit",
            f"{session.value}, {{CKA_CLASS={_CLASS_CONSTANTS[object_class]}}}, 1",
            session,
            ctypes.byref(template),
            1,
        )
        if rv != ck.CKR_OK:
            raise self._token_error(slot_id, "C_FindObjectsInit", rv, _CANNOT_SEARCH)
        handles: list[int] = []
        seen: set[int] = set()
        problems: list[Problem] = []
        complete = True
        batch = (ck.CK_OBJECT_HANDLE * FIND_BATCH)()
        try:
            while True:
                count = ck.CK_ULONG(0)
                rv = self._call(
                    "C_FindObjects",
                    f"{session.value}, handles[{FIND_BATCH}], {FIND_BATCH}, &count",
                    session,
                    batch,
                    FIND_BATCH,
                    ctypes.byref(count),
                )
                if rv != ck.CKR_OK:
                    problems.append(
                        Problem(
                            "C_FindObjects",
                            _SEARCH_STOPPED[object_class].format(
                                n=len(handles), detail=_explain(rv)
                            ),
                            rv,
                            ck.ckr_name(rv),
                        )
                    )
                    complete = False
                    break
                n = min(int(count.value), FIND_BATCH)
                fresh = [int(batch[i]) for i in range(n) if int(batch[i]) not in seen]
                if not fresh:
                    break  # none left (or a module repeating itself: nothing new either way)
                seen.update(fresh)
                handles.extend(fresh)
                if len(handles) >= MAX_OBJECTS:
                    problems.append(
                        Problem("C_FindObjects", _TOO_MANY[object_class].format(n=MAX_OBJECTS))
                    )
                    complete = False
                    break
        finally:
            rv_final = self._call("C_FindObjectsFinal", f"{session.value}", session)
        if rv_final != ck.CKR_OK and complete:
            problems.append(
                Problem(
                    "C_FindObjectsFinal",
                    N_("ending the search failed: {detail}").format(detail=_explain(rv_final)),
                    rv_final,
                    ck.ckr_name(rv_final),
                )
            )
        return handles, problems, complete


_CANNOT_READ_SLOT: Final = N_(
    "cannot read the slot: {function} returned {code_name} for slot {slot_id}"
)
_CANNOT_READ_TOKEN: Final = N_(
    "cannot read the token: {function} returned {code_name} for slot {slot_id}"
)
_CANNOT_OPEN_SESSION: Final = N_(
    "cannot open a session: {function} returned {code_name} for slot {slot_id}"
)
_CANNOT_SEARCH: Final = N_(
    "cannot search the token: {function} returned {code_name} for slot {slot_id}"
)
#: One sentence per object class (the class's name is words to translate, not a value).
_SEARCH_STOPPED: Final = {
    ck.CKO_CERTIFICATE: N_("the search stopped after {n} certificate objects: {detail}"),
    ck.CKO_PRIVATE_KEY: N_("the search stopped after {n} private key objects: {detail}"),
    ck.CKO_PUBLIC_KEY: N_("the search stopped after {n} public key objects: {detail}"),
}
_TOO_MANY: Final = {
    ck.CKO_CERTIFICATE: N_("stopped after {n} certificate objects"),
    ck.CKO_PRIVATE_KEY: N_("stopped after {n} private key objects"),
    ck.CKO_PUBLIC_KEY: N_("stopped after {n} public key objects"),
}
_CLASS_CONSTANTS: Final = {
    ck.CKO_CERTIFICATE: "CKO_CERTIFICATE",
    ck.CKO_PRIVATE_KEY: "CKO_PRIVATE_KEY",
    ck.CKO_PUBLIC_KEY: "CKO_PUBLIC_KEY",
}


_HINTS: Final = {
    0x32: N_("{code_name} (the token was removed)"),
    0xE0: N_("{code_name} (the token is no longer present)"),
    0xB3: N_("{code_name} (the session was closed by the module (token removed?))"),
    0xB0: N_("{code_name} (the session was closed by the module (token removed?))"),
    0x30: N_("{code_name} (the device reported an error)"),
}


def _explain(rv: int) -> str:
    """The code's name, with what it means where that helps (an English sentence: put it
    in a ``{detail}`` placeholder of the sentence around it)."""
    name = ck.ckr_name(rv)
    hint = _HINTS.get(rv)
    return hint.format(code_name=name) if hint else name


# --- reading one object's attributes with a single pre-sized template -------------


@dataclasses.dataclass(frozen=True)
class _Attr:
    attribute: int
    name: str
    size: int
    retry_size: int


_ULONG_SIZE: Final = ctypes.sizeof(ck.CK_ULONG)

_CERTIFICATE_TEMPLATE: Final = (
    _Attr(ck.CKA_VALUE, "CKA_VALUE", VALUE_BUFFER, MAX_VALUE),
    _Attr(ck.CKA_LABEL, "CKA_LABEL", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_ID, "CKA_ID", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_CERTIFICATE_TYPE, "CKA_CERTIFICATE_TYPE", _ULONG_SIZE, 64),
    _Attr(ck.CKA_PRIVATE, "CKA_PRIVATE", ctypes.sizeof(ck.CK_BBOOL), 64),
)

_KEY_TEMPLATE: Final = (
    _Attr(ck.CKA_ID, "CKA_ID", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_LABEL, "CKA_LABEL", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_KEY_TYPE, "CKA_KEY_TYPE", _ULONG_SIZE, 64),
    _Attr(ck.CKA_MODULUS, "CKA_MODULUS", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_EC_POINT, "CKA_EC_POINT", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_PUBLIC_KEY_INFO, "CKA_PUBLIC_KEY_INFO", 1024, MAX_SMALL),
)


@dataclasses.dataclass
class _Read:
    """One object's attributes: a value per template entry, and what went wrong."""

    values: list[bytes | None]
    problems: list[Problem]
    gone: Problem | None = None
    """Set when the session or token went away while reading: stop listing."""


class _AttributeReader:
    """Reads one template's attributes from objects, reusing its buffers."""

    def __init__(
        self, module: Module, session: ck.CK_SESSION_HANDLE, template: tuple[_Attr, ...]
    ) -> None:
        self._module = module
        self._session = session
        self._template = template
        self._buffers = [ctypes.create_string_buffer(a.size) for a in template]
        self._retry: dict[int, ctypes.Array[ctypes.c_char]] = {}

    def _get(
        self, handle: int, slots: list[int], buffers: list[ctypes.Array[ctypes.c_char]]
    ) -> tuple[int, list[int | None]]:
        """One C_GetAttributeValue; per slot index the value length or None (unavailable)."""
        n = len(slots)
        template = (ck.CK_ATTRIBUTE * n)()
        for k, (i, buf) in enumerate(zip(slots, buffers, strict=True)):
            template[k].type = self._template[i].attribute
            template[k].pValue = ctypes.cast(buf, ctypes.c_void_p)
            template[k].ulValueLen = len(buf)
        shape = ", ".join(
            f"{self._template[i].name}[{len(b)}]" for i, b in zip(slots, buffers, strict=True)
        )
        rv = self._module._call(
            "C_GetAttributeValue",
            f"{self._session.value}, {handle}, {{{shape}}}, {n}",
            self._session,
            handle,
            template,
            n,
        )
        lengths: list[int | None] = []
        for k in range(n):
            length = int(template[k].ulValueLen)
            lengths.append(None if length == ck.CK_UNAVAILABLE_INFORMATION else length)
        return rv, lengths

    def read(self, handle: int) -> _Read:
        values: list[bytes | None] = [None] * len(self._template)
        failures: dict[int, int] = {}
        indexes = list(range(len(self._template)))
        rv, lengths = self._get(handle, indexes, self._buffers)
        if rv not in (
            ck.CKR_OK,
            ck.CKR_ATTRIBUTE_SENSITIVE,
            ck.CKR_ATTRIBUTE_TYPE_INVALID,
            ck.CKR_BUFFER_TOO_SMALL,
        ):
            problem = Problem(
                "C_GetAttributeValue",
                N_("cannot read the object: {detail}").format(detail=_explain(rv)),
                rv,
                ck.ckr_name(rv),
            )
            return _Read(values, [problem], problem if rv in _GONE else None)
        again: list[int] = []
        for i, length in zip(indexes, lengths, strict=True):
            if length is None:
                again.append(i)
                failures[i] = rv
            elif length > len(self._buffers[i]):
                # CKR_OK with a length larger than the buffer: the module did not copy
                # (or overran); ask again with room rather than trust either.
                again.append(i)
                failures[i] = ck.CKR_BUFFER_TOO_SMALL
            else:
                values[i] = self._buffers[i].raw[:length]
        if again:
            buffers = [self._retry_buffer(i) for i in again]
            rv2, lengths2 = self._get(handle, again, buffers)
            if rv2 in _GONE:
                problem = Problem(
                    "C_GetAttributeValue",
                    N_("cannot read the object: {detail}").format(detail=_explain(rv2)),
                    rv2,
                    ck.ckr_name(rv2),
                )
                return _Read(values, self._problems(failures), problem)
            for i, buf, length in zip(again, buffers, lengths2, strict=True):
                if length is not None and length <= len(buf):
                    values[i] = buf.raw[:length]
                    failures.pop(i, None)
                elif length is not None:
                    failures[i] = ck.CKR_BUFFER_TOO_SMALL
                elif rv2 != ck.CKR_OK or failures.get(i) == ck.CKR_OK:
                    failures[i] = rv2
        return _Read(values, self._problems(failures))

    def _retry_buffer(self, i: int) -> ctypes.Array[ctypes.c_char]:
        if i not in self._retry:
            self._retry[i] = ctypes.create_string_buffer(self._template[i].retry_size)
        return self._retry[i]

    def _problems(self, failures: dict[int, int]) -> list[Problem]:
        return [_attribute_problem(self._template[i], rv) for i, rv in sorted(failures.items())]


def _ulong(raw: bytes | None) -> int | None:
    return int.from_bytes(raw, sys.byteorder) if raw else None


def _certificate_object(handle: int, read: _Read) -> RawCertificateObject:
    value, label, ident, ctype_raw, private_raw = read.values
    private = any(private_raw) if private_raw else None
    return RawCertificateObject(
        handle=handle,
        value=value,
        label=label,
        id=ident,
        certificate_type=_ulong(ctype_raw),
        private=private,
        problems=tuple(read.problems),
    )


#: Attributes a key object need not have (an EC key has no modulus, an RSA key no EC
#: point; CKA_PUBLIC_KEY_INFO is PKCS#11 2.40): their absence is not a problem.
_OPTIONAL_KEY_ATTRIBUTES: Final = frozenset(
    {"CKA_MODULUS", "CKA_EC_POINT", "CKA_PUBLIC_KEY_INFO", "CKA_LABEL"}
)


def _key_object(handle: int, key_class: int, read: _Read) -> RawKeyObject:
    ident, label, key_type, modulus, ec_point, spki = read.values
    problems = tuple(
        p
        for p in read.problems
        if not (
            p.where in _OPTIONAL_KEY_ATTRIBUTES
            and p.code in (ck.CKR_ATTRIBUTE_TYPE_INVALID, ck.CKR_ATTRIBUTE_SENSITIVE, ck.CKR_OK)
        )
    )
    return RawKeyObject(
        handle=handle,
        key_class=key_class,
        id=ident,
        label=label,
        key_type=_ulong(key_type),
        public_key_info=spki or None,
        modulus=modulus or None,
        ec_point=ec_point or None,
        problems=problems,
    )


def _attribute_problem(attr: _Attr, rv: int) -> Problem:
    if rv == ck.CKR_BUFFER_TOO_SMALL:
        template = (
            N_("{attribute} is larger than {size} bytes; not read")
            if attr.attribute == ck.CKA_VALUE or attr.retry_size >= MAX_SMALL
            else N_("{attribute} has an implausible size; not read")
        )
    elif rv == ck.CKR_ATTRIBUTE_SENSITIVE:
        template = N_("the module refuses to reveal {attribute} (CKR_ATTRIBUTE_SENSITIVE)")
    elif rv == ck.CKR_ATTRIBUTE_TYPE_INVALID:
        template = N_("the object has no {attribute} (CKR_ATTRIBUTE_TYPE_INVALID)")
    elif rv == ck.CKR_OK:
        template = N_("the module gave no value for {attribute}")
    else:
        template = N_("{attribute} could not be read: {code_name}")
    message = template.format(attribute=attr.name, size=attr.retry_size, code_name=ck.ckr_name(rv))
    return Problem(attr.name, message, rv, ck.ckr_name(rv))


def iter_open_modules() -> Iterator[str]:
    """Real paths of the modules loaded now (for diagnostics and tests)."""
    with _registry_lock:
        return iter([loaded.real for loaded in _registry.values()])
