"""The PKCS#11 backend: the calls ukeytool makes into a loaded module.

How the work is split, and why:

* :mod:`ukeytool.pkcs11.loading` checks the module file, loads it, initialises it and
  finalises it at the end, once per process (C_GetFunctionList, C_Initialize and
  C_Finalize, traced like every other call).
* All other calls go through :mod:`ukeytool.pkcs11.cryptoki`, a ctypes binding over the same
  module's function list that names inspection functions only. python-pkcs11 cannot
  give the raw CK_TOKEN_INFO (it decodes labels with ``errors="replace"``), aborts a
  whole slot scan on one bad slot, and reads ten capability attributes for every
  object it yields; ukeytool reads each certificate object with one pre-sized
  template instead (:mod:`ukeytool.pkcs11.attributes`).

A call about one slot that fails raises :class:`~ukeytool.TokenError` (codes
``slot.*``, ``token.*``, ``session.*``, ``search.*``); a search that stops half-way is a
:class:`~ukeytool.Problem` of the listing (``search.*``), which is then incomplete.
"""

from __future__ import annotations

import ctypes
import logging
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final

from ..errors import ModuleCallFailed, TokenError, UsageError
from ..i18n.message import Template, template
from ..model import (
    LoginOutcome,
    LoginState,
    ModuleInfo,
    PinState,
    Problem,
    SlotInfo,
    TokenInfo,
)
from ..model._value import replace
from ..model.text import decode_text
from . import cryptoki as ck
from .attributes import (
    CERTIFICATE_TEMPLATE,
    KEY_TEMPLATE,
    AttributeReader,
    certificate_object,
    key_object,
)
from .ckr import GONE, explain
from .interface import ObjectListing, RawCertificateObject, RawKeyObject
from .loading import LoadedModule, acquire, call_failed, check_module_file, release, trace
from .login import ALREADY_LOGGED_IN, LOGGED_IN, NOT_READ_AGAIN, Login, login_failed, refusal

__all__ = ["Module", "check_module_file", "open_module", "pin_state"]

log = logging.getLogger("ukeytool.pkcs11")

#: Handles asked for per C_FindObjects call.
FIND_BATCH: Final = 256
#: A token with more certificate objects than this is surely looping; stop there.
MAX_OBJECTS: Final = 100_000
#: A module that claims more slots than this is faulty (no reader, hub or HSM has
#: them): refused before a buffer that large is made.
MAX_SLOTS: Final = 65_536

TOO_MANY_SLOTS: Final = template(
    "module.too_many_slots",
    "module {path}: C_GetSlotList claims {count} slots, more than the {limit} ukeytool "
    "reads; the module is faulty: ask its vendor",
)

CLOSED: Final = template("module.closed", "module {path} is closed")
FORKED: Final = template(
    "module.forked",
    "module {path} was opened before this process forked; open it again in this process",
)
SLOT_LIST_CHANGED: Final = template(
    "module.slot_list_changed",
    "the slot list changed while it was read (a token was plugged in?); read it again",
)
#: The sentences of a TokenError: each has {function}, {code_name} and {slot_id}.
CANNOT_READ_SLOT: Final = template(
    "slot.info_failed", "cannot read the slot: {function} returned {code_name} for slot {slot_id}"
)
CANNOT_READ_TOKEN: Final = template(
    "token.info_failed",
    "cannot read the token: {function} returned {code_name} for slot {slot_id}",
)
CANNOT_OPEN_SESSION: Final = template(
    "session.open_failed",
    "cannot open a session: {function} returned {code_name} for slot {slot_id}",
)
CANNOT_SEARCH: Final = template(
    "search.init_failed",
    "cannot search the token: {function} returned {code_name} for slot {slot_id}",
)
KEYS_NOT_SEARCHED: Final = template("search.keys_failed", "cannot search for keys: {detail}")
SEARCH_NOT_ENDED: Final = template("search.final_failed", "ending the search failed: {detail}")
#: One sentence per object class (the class's name is words to translate, not a value).
SEARCH_STOPPED: Final = {
    ck.CKO_CERTIFICATE: template(
        "search.stopped.certificates",
        "the search stopped after {n} certificate objects: {detail}",
    ),
    ck.CKO_PRIVATE_KEY: template(
        "search.stopped.private_keys",
        "the search stopped after {n} private key objects: {detail}",
    ),
    ck.CKO_PUBLIC_KEY: template(
        "search.stopped.public_keys",
        "the search stopped after {n} public key objects: {detail}",
    ),
}
TOO_MANY: Final = {
    ck.CKO_CERTIFICATE: template(
        "search.too_many.certificates", "stopped after {n} certificate objects"
    ),
    ck.CKO_PRIVATE_KEY: template(
        "search.too_many.private_keys", "stopped after {n} private key objects"
    ),
    ck.CKO_PUBLIC_KEY: template(
        "search.too_many.public_keys", "stopped after {n} public key objects"
    ),
}
_CLASS_CONSTANTS: Final = {
    ck.CKO_CERTIFICATE: "CKO_CERTIFICATE",
    ck.CKO_PRIVATE_KEY: "CKO_PRIVATE_KEY",
    ck.CKO_PUBLIC_KEY: "CKO_PUBLIC_KEY",
}


def open_module(path: str) -> Module:
    """Load and initialise the PKCS#11 module at ``path`` (or share it if already open).

    Use the result as a context manager, or call :meth:`Module.close`.
    """
    key, loaded = acquire(path)
    try:
        return Module(path, loaded, key)
    except BaseException:
        release(key, loaded)
        raise


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

    def __init__(self, path: str, loaded: LoadedModule, key: tuple[int, int]) -> None:
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
            release(self._key, self._loaded)

    def _call(self, name: str, shape: str, *args: Any) -> int:
        if self._closed:
            raise UsageError(CLOSED(path=self._path))
        if self._loaded.pid != os.getpid():
            raise UsageError(FORKED(path=self._path))
        fn: Callable[..., int] = getattr(self._fl, name)
        started = time.perf_counter()
        rv = int(fn(*args))
        trace(name, shape, rv, started)
        return rv

    def _token_error(self, slot_id: int, function: str, rv: int, sentence: Template) -> TokenError:
        """``sentence``: one of the templates with {function}, {code_name}, {slot_id}."""
        return TokenError(
            sentence(function=function, code_name=ck.ckr_name(rv), slot_id=slot_id),
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
            raise call_failed(self._path, "C_GetInfo", rv)
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
                if count.value > MAX_SLOTS:
                    raise ModuleCallFailed(
                        TOO_MANY_SLOTS(path=self._path, count=str(count.value), limit=MAX_SLOTS),
                        path=self._path,
                        function="C_GetSlotList",
                        code=rv,
                        code_name=ck.ckr_name(rv),
                    )
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
                            SLOT_LIST_CHANGED(),
                            rv,
                            ck.ckr_name(rv),
                        )
                    )
                    continue
                break
        if rv != ck.CKR_OK:
            raise call_failed(self._path, "C_GetSlotList", rv)
        if problems:
            # It worked in the end: the retry is worth a trace, not a problem.
            log.info("C_GetSlotList needed %d retries", len(problems))
        return tuple(int(buf[i]) for i in range(count.value)), ()

    def slot_event(self) -> tuple[int, int | None]:
        """One C_WaitForSlotEvent with CKF_DONT_BLOCK (never waits): the CK_RV, and the
        slot that saw a token come or go when it is CKR_OK (``ukeytool watch``)."""
        slot = ck.CK_SLOT_ID(0)
        with self._loaded.lock:
            rv = self._call(
                "C_WaitForSlotEvent",
                "CKF_DONT_BLOCK, &slot, NULL",
                ck.CKF_DONT_BLOCK,
                ctypes.byref(slot),
                None,
            )
        return rv, (int(slot.value) if rv == ck.CKR_OK else None)

    def slot_info(self, slot_id: int) -> SlotInfo:
        info = ck.CK_SLOT_INFO()
        with self._loaded.lock:
            rv = self._call("C_GetSlotInfo", f"{slot_id}, &info", slot_id, ctypes.byref(info))
        if rv != ck.CKR_OK:
            raise self._token_error(slot_id, "C_GetSlotInfo", rv, CANNOT_READ_SLOT)
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
            raise self._token_error(slot_id, "C_GetTokenInfo", rv, CANNOT_READ_TOKEN)
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

    def certificate_objects(
        self,
        slot_id: int,
        *,
        login: Login | None = None,
        each: Callable[[RawCertificateObject | RawKeyObject], object] | None = None,
    ) -> ObjectListing:
        """Every certificate and key object visible in one read-only session.

        With ``each``, every object is given to ``each`` as soon as its attributes are
        read, instead of being kept in the listing (whose ``objects`` and ``keys`` are
        then empty): the isolation child streams them to the parent this way, which
        parses one while the module reads the next.

        Calls: C_OpenSession (serial, never R/W); with ``login`` only, C_GetTokenInfo
        again and at most one C_Login (see ``login.refusal``); then per
        object class (certificates, private keys, public keys) C_FindObjectsInit with
        CKA_CLASS alone (some modules find nothing with an empty or larger template),
        C_FindObjects until it returns none, C_FindObjectsFinal before any attribute is
        read (an open search blocks other operations on some modules), then one
        C_GetAttributeValue per object, a second only when a value did not fit; then
        C_GetSessionInfo (is the session still alive? unless the token was already seen
        gone), C_Logout when ukeytool logged in, and C_CloseSession on every path.
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
                raise self._token_error(slot_id, "C_OpenSession", rv, CANNOT_OPEN_SESSION)
            outcome: LoginOutcome | None = None
            try:
                if login is not None:
                    outcome = self._login(slot_id, session, login)
                listing = self._list_objects(slot_id, session, each)
                alive = None
                if not any(p.code in GONE for p in listing.problems):
                    alive = self._session_alive(session)
                return replace(listing, login=outcome, session_rv=alive)
            finally:
                # Neither a failing logout nor a failing close may replace what happened
                # before them: their results are only traced.
                if outcome is not None and outcome.state is LoginState.LOGGED_IN:
                    self._call("C_Logout", f"{session.value}", session)
                self._call("C_CloseSession", f"{session.value}", session)

    def _session_alive(self, session: ck.CK_SESSION_HANDLE) -> int | None:
        """C_GetSessionInfo's CK_RV: whether the session outlived the read (issue 13);
        None for a module whose function list has no C_GetSessionInfo at all."""
        if not self._fl.C_GetSessionInfo:
            return None
        info = ck.CK_SESSION_INFO()
        return self._call(
            "C_GetSessionInfo", f"{session.value}, &info", session, ctypes.byref(info)
        )

    def _login(self, slot_id: int, session: ck.CK_SESSION_HANDLE, login: Login) -> LoginOutcome:
        """The one C_Login, after reading the token's PIN flags again; never retried."""
        try:
            token = self.token_info(slot_id)
        except TokenError as exc:
            return LoginOutcome(
                LoginState.REFUSED,
                NOT_READ_AGAIN(code_name=exc.code_name),
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
            return LoginOutcome(LoginState.LOGGED_IN, LOGGED_IN())
        if rv == ck.CKR_USER_ALREADY_LOGGED_IN:
            return LoginOutcome(
                LoginState.ALREADY_LOGGED_IN,
                ALREADY_LOGGED_IN(),
            )
        return login_failed(rv, ck.ckr_name(rv))

    def _list_objects(
        self,
        slot_id: int,
        session: ck.CK_SESSION_HANDLE,
        each: Callable[[RawCertificateObject | RawKeyObject], object] | None = None,
    ) -> ObjectListing:
        handles, problems, complete = self._find(slot_id, session, ck.CKO_CERTIFICATE)
        gone = any(p.code in GONE for p in problems)
        objects: list[RawCertificateObject] = []
        keep = objects.append if each is None else each
        reader = AttributeReader(self._call, session, CERTIFICATE_TEMPLATE)
        for handle in handles:
            read = reader.read(handle)
            keep(certificate_object(handle, read))
            if read.gone is not None:
                problems.append(read.gone)
                return ObjectListing(tuple(objects), tuple(problems), False)
        if gone:  # the token went away during the search: no point looking for keys
            return ObjectListing(tuple(objects), tuple(problems), False)
        keys, keys_listed, lost = self._list_keys(slot_id, session, each)
        if lost is not None:
            problems.append(lost)
            complete = False
        return ObjectListing(tuple(objects), tuple(problems), complete, keys, keys_listed)

    def _list_keys(
        self,
        slot_id: int,
        session: ck.CK_SESSION_HANDLE,
        each: Callable[[RawCertificateObject | RawKeyObject], object] | None = None,
    ) -> tuple[tuple[RawKeyObject, ...], bool, Problem | None]:
        """Private, then public key objects; a failing search only leaves keys unknown,
        unless the token is gone (then the problem is returned)."""
        keys: list[RawKeyObject] = []
        keep = keys.append if each is None else each
        listed = True
        reader = AttributeReader(self._call, session, KEY_TEMPLATE)
        for key_class in (ck.CKO_PRIVATE_KEY, ck.CKO_PUBLIC_KEY):
            try:
                handles, problems, complete = self._find(slot_id, session, key_class)
            except TokenError as exc:
                if exc.code in GONE:
                    return (
                        tuple(keys),
                        False,
                        Problem(
                            exc.function,
                            KEYS_NOT_SEARCHED(detail=explain(exc.code)),
                            exc.code,
                            exc.code_name,
                        ),
                    )
                listed = False  # a module that will not search for keys: keys unknown
                continue
            if problems:
                gone = next((p for p in problems if p.code in GONE), None)
                if gone is not None:
                    return tuple(keys), False, gone
            listed = listed and complete
            for handle in handles:
                read = reader.read(handle)
                if read.gone is not None:
                    return tuple(keys), False, read.gone
                keep(key_object(handle, key_class, read))
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
            raise self._token_error(slot_id, "C_FindObjectsInit", rv, CANNOT_SEARCH)
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
                            SEARCH_STOPPED[object_class](n=len(handles), detail=explain(rv)),
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
                    problems.append(Problem("C_FindObjects", TOO_MANY[object_class](n=MAX_OBJECTS)))
                    complete = False
                    break
        finally:
            rv_final = self._call("C_FindObjectsFinal", f"{session.value}", session)
        if rv_final != ck.CKR_OK and complete:
            problems.append(
                Problem(
                    "C_FindObjectsFinal",
                    SEARCH_NOT_ENDED(detail=explain(rv_final)),
                    rv_final,
                    ck.ckr_name(rv_final),
                )
            )
        return handles, problems, complete
