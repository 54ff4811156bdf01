"""One module's report: the module, its slots and tokens, the tokens' certificate and key
objects, the login, and a module that could not be inspected at all.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum

from ..i18n.message import Message, template
from .problem import Problem
from .text import Text

# typing.TYPE_CHECKING without importing typing (mypy reads the name). What a certificate
# says, its relations and renewal advice are imported where they are used, so that the
# isolation child, which reads slots and tokens, does not import them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .certificate import Certificate, Status, Validity
    from .relations import CertificateLink, Finding, KeyPresence, PairLink, Role
    from .renewal import Advice, TokenAdvice

__all__ = [
    "DATES_UNREADABLE",
    "VALUE_UNREADABLE",
    "CertificateEntry",
    "KeyObject",
    "LoginOutcome",
    "LoginState",
    "ModuleFailure",
    "ModuleInfo",
    "PinState",
    "Report",
    "SlotInfo",
    "SlotReport",
    "TokenInfo",
]

# Why a certificate is unreadable when no problem says it better
# (CertificateEntry.unreadable_reason).
VALUE_UNREADABLE = template(
    "certificate.value_unreadable", "the certificate's value could not be read"
)
DATES_UNREADABLE = template("certificate.dates_unreadable", "its validity dates could not be read")


@enum.unique
class PinState(str, enum.Enum):
    """The user PIN's state, from the token flags alone (reading it costs no PIN try)."""

    OK = "ok"
    """Initialised, no failed attempts reported."""
    COUNT_LOW = "count_low"
    """At least one wrong PIN was entered since the last successful login."""
    FINAL_TRY = "final_try"
    """One more wrong PIN locks the token."""
    LOCKED = "locked"
    """The user PIN is locked; only the token's issuer can unlock it."""
    MUST_BE_CHANGED = "must_be_changed"
    """The PIN is valid but must be changed (initial or expired PIN)."""
    USER_PIN_NOT_SET = "user_pin_not_set"
    """The token is initialised but has no user PIN yet."""
    NOT_INITIALISED = "not_initialised"
    """The token has not been initialised (its SO PIN flags say nothing about a lock)."""

    def __str__(self) -> str:
        return self.value


@enum.unique
class LoginState(str, enum.Enum):
    """What became of a login the caller asked for."""

    LOGGED_IN = "logged_in"
    """C_Login succeeded; private objects were listed, then the session logged out."""
    ALREADY_LOGGED_IN = "already_logged_in"
    """The module said CKR_USER_ALREADY_LOGGED_IN (another user of the module in this
    process logged in): private objects were listed and the login was left alone."""
    REFUSED = "refused"
    """ukeytool did not call C_Login (PIN locked, final try not confirmed, PIN length
    outside the token's range, no PIN): no PIN try was spent."""
    FAILED = "failed"
    """C_Login was called once and failed (wrong PIN, PIN locked...): it is not retried."""

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class LoginOutcome:
    """The result of the one login attempt on a token (never a PIN, never its length)."""

    state: LoginState
    message: Message
    """One sentence for a person: what happened and what to do."""
    code: int | None = None
    """The CK_RV of C_Login when it was called and failed."""
    code_name: str | None = None

    @property
    def logged_in(self) -> bool:
        """Whether private objects were visible (the login worked or was already there)."""
        return self.state in (LoginState.LOGGED_IN, LoginState.ALREADY_LOGGED_IN)


@dataclasses.dataclass(frozen=True)
class ModuleInfo:
    """A loaded PKCS#11 module (CK_INFO)."""

    path: str
    """The module path as given."""
    real_path: str
    """The path with symlinks and ``..`` resolved."""
    cryptoki_version: tuple[int, int]
    """The PKCS#11 version the module implements."""
    manufacturer: Text
    """CK_INFO manufacturerID."""
    description: Text
    """CK_INFO libraryDescription."""
    library_version: tuple[int, int]
    """The module's own version."""


@dataclasses.dataclass(frozen=True)
class ModuleFailure:
    """A module that could not be inspected at all, when several are inspected in one run."""

    path: str
    """The module path as given."""
    kind: str
    """The error's class name, e.g. ``"ModuleNotFound"`` or ``"ModuleCallFailed"``; with
    isolation also ``"ModuleTimedOut"`` and ``"ModuleCrashed"``."""
    message: Message
    """The error's one-line message."""
    code: int | None = None
    """The CK_RV when a PKCS#11 call failed (C_Initialize, C_GetSlotList...)."""
    code_name: str | None = None


@dataclasses.dataclass(frozen=True)
class SlotInfo:
    """A slot (CK_SLOT_INFO): a reader, or a virtual place a token can be."""

    slot_id: int
    """The module's number for the slot; not stable across runs or re-initialisation."""
    description: Text
    """CK_SLOT_INFO slotDescription."""
    manufacturer: Text
    """CK_SLOT_INFO manufacturerID."""
    flags: int
    """The raw CK_SLOT_INFO flags."""
    flag_names: tuple[str, ...]
    """The known flags that are set, e.g. ``("CKF_TOKEN_PRESENT", "CKF_HW_SLOT")``."""
    hardware_version: tuple[int, int]
    firmware_version: tuple[int, int]

    @property
    def token_present(self) -> bool:
        """Whether the slot says a token is present."""
        return bool(self.flags & 0x1)


@dataclasses.dataclass(frozen=True)
class TokenInfo:
    """A token (CK_TOKEN_INFO), read from the raw structure so no byte is lost."""

    label: Text
    manufacturer: Text
    model: Text
    serial: Text
    flags: int
    """The raw CK_TOKEN_INFO flags."""
    flag_names: tuple[str, ...]
    """The known flags that are set, e.g. ``"CKF_LOGIN_REQUIRED"``."""
    unknown_flags: int
    """Set bits that no PKCS#11 version defines (vendor bits), kept as a number."""
    pin_state: PinState
    """The user PIN's state, derived from the flags."""
    max_session_count: int | None
    """None where the module says CK_UNAVAILABLE_INFORMATION. For the maximum session
    counts, 0 is CK_EFFECTIVELY_INFINITE (no limit), as in the PKCS#11 specification."""
    session_count: int | None
    max_rw_session_count: int | None
    rw_session_count: int | None
    max_pin_len: int | None
    min_pin_len: int | None
    total_public_memory: int | None
    free_public_memory: int | None
    total_private_memory: int | None
    free_private_memory: int | None
    hardware_version: tuple[int, int]
    firmware_version: tuple[int, int]
    utc_time: str | None
    """The token's clock (``YYYYMMDDhhmmss00``) when it has one."""

    @property
    def initialized(self) -> bool:
        """CKF_TOKEN_INITIALIZED."""
        return bool(self.flags & 0x400)

    @property
    def login_required(self) -> bool:
        """CKF_LOGIN_REQUIRED."""
        return bool(self.flags & 0x4)

    @property
    def protected_authentication_path(self) -> bool:
        """CKF_PROTECTED_AUTHENTICATION_PATH: a PIN pad or biometric reader."""
        return bool(self.flags & 0x100)


@dataclasses.dataclass(frozen=True)
class CertificateEntry:
    """A certificate object on a token, with what it says and its validity."""

    handle: int
    """The object handle; only meaningful within the session that found it."""
    label: Text | None
    """CKA_LABEL, None when the module did not give it."""
    id: bytes | None
    """CKA_ID, None when the module did not give it."""
    certificate_type: int | None
    """CKA_CERTIFICATE_TYPE (0 = CKC_X_509)."""
    private: bool | None
    """CKA_PRIVATE."""
    certificate: Certificate | None
    """The parsed certificate; None when CKA_VALUE could not be read at all."""
    validity: Validity
    problems: tuple[Problem, ...] = ()
    """Attributes that could not be read."""
    location: Message | str | None = None
    """Where in its file the certificate was found, e.g. ``"PEM block 2 (line 14)"``, for a
    certificate read from a file (:class:`~ukeytool.model.files.FileReport`); None for
    one on a token. English in JSON, in the reader's language in a listing."""
    advice: Advice | None = None
    """What to do about the certificate's renewal, when renewal advice was asked for
    (:func:`~ukeytool.advise`); None otherwise."""
    role: Role | None = None
    """What the certificate is on this token: root, intermediate, end entity...; None
    when the relations were not worked out (a hand-built entry)."""
    issued_by: CertificateLink | None = None
    """The certificate on the same token that issued this one; None for a self-signed
    certificate or when the issuer is not on the token."""
    pair: PairLink | None = None
    """The other half of an SM2 signing + encryption pair on the same token; None when
    the certificate is not in such a pair."""
    key_on_token: KeyPresence | None = None
    """Whether the certificate's key is on the token; None when the relations were not
    worked out."""
    findings: tuple[Finding, ...] = ()
    """Things about the certificate a user should act on (weak keys, weak signatures...),
    apart from its validity status."""

    @property
    def status(self) -> Status:
        return self.validity.status

    @property
    def unreadable_reason(self) -> Message | str | None:
        """Why the status is :attr:`Status.UNREADABLE`, in one sentence; None otherwise."""
        from .certificate import Status

        if self.validity.status is not Status.UNREADABLE:
            return None
        cert = self.certificate
        if cert is not None and cert.error:
            return cert.error
        if cert is None:
            return next(
                (p.message for p in self.problems if p.where == "CKA_VALUE"),
                VALUE_UNREADABLE(),
            )
        return DATES_UNREADABLE()

    @property
    def days_left(self) -> int | None:
        return self.validity.days_left


@dataclasses.dataclass(frozen=True)
class KeyObject:
    """A public or private key object on a token: only what tells which certificate it
    belongs to (never key material beyond the public key)."""

    handle: int
    key_class: str
    """``"private"`` (CKO_PRIVATE_KEY) or ``"public"`` (CKO_PUBLIC_KEY)."""
    id: bytes | None
    """CKA_ID, which by convention equals the certificate's CKA_ID."""
    label: Text | None
    key_type: str | None
    """``"RSA"``, ``"EC"``... from CKA_KEY_TYPE, or ``"0x..."`` for a vendor type."""
    public_key_info: bytes | None = dataclasses.field(default=None, repr=False)
    """CKA_PUBLIC_KEY_INFO (DER SubjectPublicKeyInfo) when the module gives it."""
    modulus: bytes | None = dataclasses.field(default=None, repr=False)
    """CKA_MODULUS of an RSA key."""
    ec_point: bytes | None = dataclasses.field(default=None, repr=False)
    """CKA_EC_POINT of an EC key as the module gave it (normally a DER OCTET STRING)."""
    problems: tuple[Problem, ...] = ()


@dataclasses.dataclass(frozen=True)
class SlotReport:
    """One slot, its token if present, and the token's certificates."""

    slot: SlotInfo
    token: TokenInfo | None
    """None when no token is present or its info could not be read."""
    certificates: tuple[CertificateEntry, ...] = ()
    problems: tuple[Problem, ...] = ()
    """What failed for this slot (slot info, token info, session, search)."""
    complete: bool = True
    """False when the certificate listing stopped part-way (the token failed or was removed)."""
    keys: tuple[KeyObject, ...] = ()
    """The key objects visible in the same session (private keys only after login)."""
    keys_listed: bool = False
    """True when the key objects were searched for and the search got to the end."""
    login: LoginOutcome | None = None
    """The login asked for on this token; None when no login was asked for it."""

    advice: TokenAdvice | None = None
    """The token's most urgent renewal action, when renewal advice was asked for
    (:func:`~ukeytool.advise`) and the slot holds a token; None otherwise."""

    @property
    def logged_in(self) -> bool:
        """Whether private objects were visible when this token was listed."""
        return self.login is not None and self.login.logged_in


@dataclasses.dataclass(frozen=True)
class Report:
    """One module's slots, tokens and certificates, judged at one moment."""

    module: ModuleInfo
    slots: tuple[SlotReport, ...]
    at: datetime.datetime
    """The moment validity was judged at (aware)."""
    warn_days: int
    """Certificates that expire within this many days are :attr:`Status.EXPIRING`."""
    problems: tuple[Problem, ...] = ()
    """Module-wide problems (e.g. the slot list changed while it was read)."""

    @property
    def tokens(self) -> tuple[TokenInfo, ...]:
        return tuple(s.token for s in self.slots if s.token is not None)

    @property
    def certificates(self) -> tuple[CertificateEntry, ...]:
        return tuple(c for s in self.slots for c in s.certificates)

    @property
    def complete(self) -> bool:
        """True when nothing failed anywhere in the report (a fault after everything
        was read, :attr:`Problem.after_read <ukeytool.Problem.after_read>`, loses
        nothing and does not count)."""
        return all(p.after_read for p in self.problems) and all(
            s.complete and not s.problems and all(not c.problems for c in s.certificates)
            for s in self.slots
        )
