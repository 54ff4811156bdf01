"""A PKCS#11 backend in memory, for testing the inspection logic without a module.

:class:`FakeBackend` implements :class:`ukeytool.Backend` (what
:func:`ukeytool.inspect_backend` reads) over slots, tokens and objects described in
Python, so a test of slots, tokens, problems, removal or login needs neither SoftHSM nor
a C compiler, and runs in microseconds::

    backend = FakeBackend([
        FakeSlot(FakeToken(label="工行U盾".encode("gbk"), objects=[FakeCertificate(der)])),
        FakeSlot(),                                        # an empty reader
    ])
    backend.fail("C_GetTokenInfo", CKR_DEVICE_ERROR, slot_id=1)
    report = ukeytool.inspect_backend(backend, at=moment)

What it can be told to do wrong, as real modules do:

- :meth:`FakeBackend.fail`: a PKCS#11 function returns an error code, for one slot or
  for all (``C_GetSlotList``, ``C_GetSlotInfo``, ``C_GetTokenInfo``, ``C_OpenSession``,
  ``C_Login``, ``C_FindObjectsInit``, ``C_FindObjects``);
- :attr:`FakeCertificate.unreadable` / :attr:`FakeKey.unreadable`: an attribute the module
  refuses (``{"CKA_VALUE": CKR_ATTRIBUTE_SENSITIVE}``);
- :meth:`FakeBackend.remove_token`: the token is pulled out while its objects are listed
  (the search stops with ``CKR_DEVICE_REMOVED``; afterwards the slot is empty).

Problems and errors carry the sentences the real backend (:mod:`ukeytool.pkcs11.backend`)
uses for the same failure, so a fake report reads like a real one. The fake never writes
anything and holds no PIN beyond the test's own :attr:`FakeToken.pin`. It is a test
double: what real modules do that it does not (sessions, handles that change between
sessions, buffer sizes, threads) is tested against SoftHSM and the misbehaving module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import TokenError
from ..model import LoginOutcome, LoginState, ModuleInfo, Problem, SlotInfo, TokenInfo
from ..model.text import decode_text
from ..pkcs11 import attributes as _attributes
from ..pkcs11 import backend as _real
from ..pkcs11 import cryptoki as ck
from ..pkcs11.ckr import explain
from ..pkcs11.interface import ObjectListing, RawCertificateObject, RawKeyObject
from ..pkcs11.loading import call_failed

if TYPE_CHECKING:
    from ..pkcs11.interface import Backend
    from ..pkcs11.login import Login
    from .certs import Minted

__all__ = [
    "CKR_DEVICE_ERROR",
    "CKR_DEVICE_REMOVED",
    "CKR_GENERAL_ERROR",
    "CKR_TOKEN_NOT_PRESENT",
    "FakeBackend",
    "FakeCertificate",
    "FakeKey",
    "FakeSlot",
    "FakeToken",
]

CKR_SLOT_ID_INVALID = 0x3
CKR_GENERAL_ERROR = 0x5
CKR_DEVICE_ERROR = 0x30
CKR_DEVICE_REMOVED = 0x32
CKR_TOKEN_NOT_PRESENT = 0xE0

CKF_TOKEN_PRESENT = 0x1
CKF_LOGIN_REQUIRED = 0x4
CKF_USER_PIN_INITIALIZED = 0x8
CKF_TOKEN_INITIALIZED = 0x400
DEFAULT_TOKEN_FLAGS = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED
"""An initialised token with a user PIN, which wants a login for private objects."""

CKK_RSA = 0x0
CKK_EC = 0x3
_KEY_TYPES = {"rsa": CKK_RSA, "ec": CKK_EC, "sm2": CKK_EC}

#: The functions :meth:`FakeBackend.fail` knows.
FUNCTIONS = (
    "C_GetSlotList",
    "C_GetSlotInfo",
    "C_GetTokenInfo",
    "C_OpenSession",
    "C_Login",
    "C_FindObjectsInit",
    "C_FindObjects",
)


def _bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


@dataclasses.dataclass(frozen=True)
class FakeCertificate:
    """A certificate object on a fake token."""

    value: bytes | None
    """CKA_VALUE as the module gives it (any bytes: DER, PEM, broken); None: none."""
    label: bytes | str | None = None
    """CKA_LABEL; text is stored as UTF-8, bytes as they are (GBK, say)."""
    id: bytes | None = None
    """CKA_ID."""
    private: bool = False
    """CKA_PRIVATE: a private object is listed only after a login."""
    certificate_type: int | None = 0
    """CKA_CERTIFICATE_TYPE (0: CKC_X_509)."""
    unreadable: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Attributes the module will not give, by name, with the CK_RV it returns
    (``{"CKA_VALUE": 0x11}``: CKR_ATTRIBUTE_SENSITIVE); the value is then None."""


@dataclasses.dataclass(frozen=True)
class FakeKey:
    """A private or public key object on a fake token."""

    key_class: int = ck.CKO_PRIVATE_KEY
    """CKO_PRIVATE_KEY (3) or CKO_PUBLIC_KEY (2)."""
    id: bytes | None = None
    label: bytes | str | None = None
    key_type: int | None = CKK_RSA
    """CKA_KEY_TYPE (0: CKK_RSA, 3: CKK_EC)."""
    public_key_info: bytes | None = None
    """CKA_PUBLIC_KEY_INFO: the SubjectPublicKeyInfo DER, which links it to certificates."""
    modulus: bytes | None = None
    ec_point: bytes | None = None
    private: bool | None = None
    """CKA_PRIVATE; None: private for a private key, public for a public key."""
    unreadable: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """As :attr:`FakeCertificate.unreadable`."""

    @classmethod
    def of(
        cls,
        minted: Minted,
        *,
        id: bytes | None = None,
        key_class: int = ck.CKO_PRIVATE_KEY,
        label: bytes | str | None = None,
    ) -> FakeKey:
        """The key object of a :class:`~ukeytool.testing.certs.Minted` certificate."""
        return cls(
            key_class=key_class,
            id=id,
            label=label,
            key_type=_KEY_TYPES[minted.key_type],
            public_key_info=minted.public_key_der,
        )

    @property
    def is_private(self) -> bool:
        return self.key_class == ck.CKO_PRIVATE_KEY if self.private is None else self.private


@dataclasses.dataclass(frozen=True)
class FakeToken:
    """A token in a fake slot."""

    label: bytes | str = "Fake Token"
    """CK_TOKEN_INFO label: text as UTF-8, bytes as they are."""
    serial: str = "fake0001"
    objects: Sequence[FakeCertificate | FakeKey] = ()
    """The token's objects, in the order a search finds them."""
    flags: int = DEFAULT_TOKEN_FLAGS
    """CK_TOKEN_INFO flags (CKF_TOKEN_INITIALIZED, CKF_USER_PIN_LOCKED...)."""
    pin: str | None = None
    """The user PIN C_Login accepts; any other gets CKR_PIN_INCORRECT."""
    manufacturer: str = "ukeytool.testing"
    model: str = "FakeBackend"
    min_pin_len: int = 4
    max_pin_len: int = 64


@dataclasses.dataclass(frozen=True)
class FakeSlot:
    """A slot (a reader), with a token in it or empty."""

    token: FakeToken | None = None
    description: str = "Fake Reader"


class FakeBackend:
    """An in-memory :class:`ukeytool.Backend`; slots are numbered from 1 in order.

    Every call is recorded in :attr:`calls` as (function, slot id or None), so a test
    can check what the inspection asked for (no session on an empty slot, one login).
    """

    def __init__(
        self, slots: Iterable[FakeSlot | FakeToken] = (), *, path: str = "/fake/module.so"
    ) -> None:
        self._slots: dict[int, FakeSlot] = {
            number: slot if isinstance(slot, FakeSlot) else FakeSlot(slot)
            for number, slot in enumerate(slots, start=1)
        }
        self._path = path
        self._failures: dict[tuple[str, int | None], int] = {}
        self._removal: dict[int, int] = {}
        self.calls: list[tuple[str, int | None]] = []
        """Each call made, in order: (PKCS#11 function, slot id or None)."""

    # -- what the test sets up

    def fail(self, function: str, code: int, *, slot_id: int | None = None) -> None:
        """From now on ``function`` returns ``code`` (a CK_RV), for ``slot_id`` or for every
        slot; one of :data:`FUNCTIONS`."""
        if function not in FUNCTIONS:
            raise ValueError(f"the fake cannot fail {function}; it knows {', '.join(FUNCTIONS)}")
        self._failures[function, slot_id] = code

    def remove_token(self, slot_id: int, *, after: int = 0) -> None:
        """Pull the token out of ``slot_id`` while its objects are listed: the search stops
        with CKR_DEVICE_REMOVED after ``after`` certificate objects, and from then on the
        slot is empty (its token calls return CKR_TOKEN_NOT_PRESENT)."""
        self._slot(slot_id)
        self._removal[slot_id] = after

    # -- the Backend interface

    @property
    def info(self) -> ModuleInfo:
        return ModuleInfo(
            path=self._path,
            real_path=self._path,
            cryptoki_version=(2, 40),
            manufacturer=decode_text(b"ukeytool.testing"),
            description=decode_text(b"FakeBackend"),
            library_version=(1, 0),
        )

    def slot_ids(self) -> tuple[tuple[int, ...], tuple[Problem, ...]]:
        code = self._call("C_GetSlotList", None)
        if code:
            raise call_failed(self._path, "C_GetSlotList", code)
        return tuple(self._slots), ()

    def slot_info(self, slot_id: int) -> SlotInfo:
        slot = self._slot(slot_id)
        self._raise_on("C_GetSlotInfo", slot_id)
        flags = CKF_TOKEN_PRESENT if slot.token is not None else 0
        return SlotInfo(
            slot_id=slot_id,
            description=decode_text(slot.description.encode()),
            manufacturer=decode_text(b"ukeytool.testing"),
            flags=flags,
            flag_names=ck.flag_names(flags, ck.SLOT_FLAGS)[0],
            hardware_version=(1, 0),
            firmware_version=(1, 0),
        )

    def token_info(self, slot_id: int) -> TokenInfo:
        token = self._token(slot_id, "C_GetTokenInfo")
        names, unknown = ck.flag_names(token.flags, ck.TOKEN_FLAGS)
        return TokenInfo(
            label=decode_text(_bytes(token.label) or b""),
            manufacturer=decode_text(token.manufacturer.encode()),
            model=decode_text(token.model.encode()),
            serial=decode_text(token.serial.encode()),
            flags=token.flags,
            flag_names=names,
            unknown_flags=unknown,
            pin_state=_real.pin_state(token.flags),
            max_session_count=None,
            session_count=None,
            max_rw_session_count=None,
            rw_session_count=None,
            max_pin_len=token.max_pin_len,
            min_pin_len=token.min_pin_len,
            total_public_memory=None,
            free_public_memory=None,
            total_private_memory=None,
            free_private_memory=None,
            hardware_version=(1, 0),
            firmware_version=(1, 0),
            utc_time=None,
        )

    def certificate_objects(self, slot_id: int, *, login: Login | None = None) -> ObjectListing:
        token = self._token(slot_id, "C_OpenSession")
        outcome = None if login is None else self._login(slot_id, login)
        visible = [
            obj
            for obj in token.objects
            if not _is_private(obj) or (outcome is not None and outcome.logged_in)
        ]
        self._raise_on("C_FindObjectsInit", slot_id)
        problems: list[Problem] = []
        certificates = [obj for obj in visible if isinstance(obj, FakeCertificate)]
        stopped = self._call("C_FindObjects", slot_id)
        after = self._removal.pop(slot_id, None)
        if after is not None:
            # The token goes: the search ends early, and the slot is empty from now on.
            self._slots[slot_id] = dataclasses.replace(self._slots[slot_id], token=None)
            certificates, stopped = certificates[:after], CKR_DEVICE_REMOVED
        objects = tuple(
            RawCertificateObject(
                handle=handle,
                value=_readable(obj, "CKA_VALUE", obj.value),
                label=_readable(obj, "CKA_LABEL", _bytes(obj.label)),
                id=_readable(obj, "CKA_ID", obj.id),
                certificate_type=obj.certificate_type,
                private=obj.private,
                problems=_attribute_problems(obj),
            )
            for handle, obj in enumerate(certificates, start=1)
        )
        if stopped:
            problems.append(_search_stopped(len(certificates), stopped))
            return ObjectListing(objects, tuple(problems), False, login=outcome)
        keys = tuple(
            RawKeyObject(
                handle=handle,
                key_class=obj.key_class,
                id=_readable(obj, "CKA_ID", obj.id),
                label=_readable(obj, "CKA_LABEL", _bytes(obj.label)),
                key_type=obj.key_type,
                public_key_info=_readable(obj, "CKA_PUBLIC_KEY_INFO", obj.public_key_info),
                modulus=_readable(obj, "CKA_MODULUS", obj.modulus),
                ec_point=_readable(obj, "CKA_EC_POINT", obj.ec_point),
                problems=_attribute_problems(obj),
            )
            for handle, obj in enumerate(
                (obj for obj in visible if isinstance(obj, FakeKey)), start=len(objects) + 1
            )
        )
        return ObjectListing(objects, tuple(problems), True, keys, True, login=outcome)

    # -- inside

    def _call(self, function: str, slot_id: int | None) -> int:
        self.calls.append((function, slot_id))
        return self._failures.get((function, slot_id), self._failures.get((function, None), 0))

    def _slot(self, slot_id: int) -> FakeSlot:
        if slot_id not in self._slots:
            raise _token_error("C_GetSlotInfo", CKR_SLOT_ID_INVALID, slot_id)
        return self._slots[slot_id]

    def _raise_on(self, function: str, slot_id: int) -> None:
        code = self._call(function, slot_id)
        if code:
            raise _token_error(function, code, slot_id)

    def _token(self, slot_id: int, function: str) -> FakeToken:
        token = self._slot(slot_id).token
        if token is None:
            self.calls.append((function, slot_id))
            raise _token_error(function, CKR_TOKEN_NOT_PRESENT, slot_id)
        self._raise_on(function, slot_id)
        return token

    def _login(self, slot_id: int, login: Login) -> LoginOutcome:
        from ..pkcs11.login import LOGGED_IN, login_failed, refusal

        refused = refusal(self.token_info(slot_id), login)
        if refused is not None:
            return refused
        code = self._call("C_Login", slot_id)
        token = self._slots[slot_id].token
        if not code and login.pin is not None:
            given = bytes(login.pin.spend())
            if token is None or token.pin is None or given != token.pin.encode():
                code = ck.CKR_PIN_INCORRECT
        if code:
            return login_failed(code, ck.ckr_name(code))
        return LoginOutcome(LoginState.LOGGED_IN, LOGGED_IN())


def _is_private(obj: FakeCertificate | FakeKey) -> bool:
    return obj.private if isinstance(obj, FakeCertificate) else obj.is_private


def _readable(obj: FakeCertificate | FakeKey, attribute: str, value: bytes | None) -> bytes | None:
    return None if attribute in obj.unreadable else value


# --- the real backend's words, so a fake report reads like a real one -----------------


_TEMPLATES_BY_FUNCTION = {
    "C_GetSlotInfo": _real.CANNOT_READ_SLOT,
    "C_GetTokenInfo": _real.CANNOT_READ_TOKEN,
    "C_OpenSession": _real.CANNOT_OPEN_SESSION,
    "C_FindObjectsInit": _real.CANNOT_SEARCH,
}


def _token_error(function: str, code: int, slot_id: int) -> TokenError:
    name = ck.ckr_name(code)
    return TokenError(
        _TEMPLATES_BY_FUNCTION[function](function=function, code_name=name, slot_id=slot_id),
        slot_id=slot_id,
        function=function,
        code=code,
        code_name=name,
    )


def _search_stopped(found: int, code: int) -> Problem:
    message = _real.SEARCH_STOPPED[ck.CKO_CERTIFICATE](n=found, detail=explain(code))
    return Problem("C_FindObjects", message, code, ck.ckr_name(code))


def _attribute_problems(obj: FakeCertificate | FakeKey) -> tuple[Problem, ...]:
    template = (
        _attributes.CERTIFICATE_TEMPLATE
        if isinstance(obj, FakeCertificate)
        else _attributes.KEY_TEMPLATE
    )
    by_name = {attr.name: attr for attr in template}
    return tuple(
        _attributes.attribute_problem(by_name[name], code) for name, code in obj.unreadable.items()
    )


if TYPE_CHECKING:

    def _is_a_backend(fake: FakeBackend) -> Backend:  # mypy checks the protocol here
        return fake
