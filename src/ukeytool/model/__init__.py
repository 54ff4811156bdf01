"""The values ukeytool reports: frozen dataclasses and string enums, no foreign types.

A :class:`Report` holds one module's :class:`ModuleInfo` and a :class:`SlotReport` per
slot; a slot may hold a :class:`TokenInfo` and the token's certificate objects as
:class:`CertificateEntry` values, each with the parsed :class:`Certificate` and its
:class:`Validity` at the report's moment. Wherever something could not be read, a
:class:`Problem` says where and why, and everything else is still there.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum

from ..i18n.message import Message
from .text import STRING_TYPES, Text

__all__ = [
    "Advice",
    "BankChoice",
    "BankRule",
    "Certificate",
    "CertificateEntry",
    "CertificateLink",
    "FileKey",
    "FileReport",
    "Finding",
    "Holder",
    "IdentityNumber",
    "KeyMatch",
    "KeyObject",
    "KeyPresence",
    "LoginOutcome",
    "LoginState",
    "ModuleFailure",
    "ModuleInfo",
    "NameAttribute",
    "PairLink",
    "PinState",
    "Problem",
    "RenewalAction",
    "RenewalPhase",
    "RenewalWindow",
    "Report",
    "Role",
    "Severity",
    "SlotInfo",
    "SlotReport",
    "Status",
    "TokenAdvice",
    "TokenInfo",
    "Validity",
    "WindowState",
]


def N_(message: str) -> str:
    """Mark ``message`` for translation (as :func:`ukeytool.i18n.N_`, which is not
    imported here: ``import ukeytool`` must not import gettext). The sentences marked
    here are shown through :func:`ukeytool.i18n.retranslate`."""
    return message


@enum.unique
class Status(str, enum.Enum):
    """A certificate's validity at a moment."""

    VALID = "valid"
    """Inside its validity period, and not within the warning window."""
    EXPIRING = "expiring"
    """Still valid, but not_after falls within the warning window."""
    EXPIRED = "expired"
    """The moment is after not_after."""
    NOT_YET_VALID = "not_yet_valid"
    """The moment is before not_before."""
    UNREADABLE = "unreadable"
    """The dates could not be read."""

    def __str__(self) -> str:
        return self.value


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
    message: Message | str
    """One sentence for a person: what happened and what to do."""
    code: int | None = None
    """The CK_RV of C_Login when it was called and failed."""
    code_name: str | None = None

    @property
    def logged_in(self) -> bool:
        """Whether private objects were visible (the login worked or was already there)."""
        return self.state in (LoginState.LOGGED_IN, LoginState.ALREADY_LOGGED_IN)


@dataclasses.dataclass(frozen=True)
class Problem:
    """Something that could not be read, and where."""

    where: Message | str
    """What failed: a PKCS#11 function (``"C_GetTokenInfo"``), an attribute
    (``"CKA_VALUE"``) or a certificate field (``"subject"``)."""
    message: Message | str
    """One sentence for a person."""
    code: int | None = None
    """The CK_RV number when a PKCS#11 call failed."""
    code_name: str | None = None
    """The CK_RV name when a PKCS#11 call failed, e.g. ``"CKR_DEVICE_ERROR"``."""


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
    message: Message | str
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
class NameAttribute:
    """One attribute of a certificate's subject or issuer name, as the certificate has it."""

    oid: str
    """The attribute type, dotted, e.g. ``"2.5.4.3"``."""
    name: str
    """Its short name as RFC 4514 writes it (``"CN"``, ``"O"``, ``"OU"``...), or the OID."""
    string_type: str
    """The value's ASN.1 type: ``"UTF8String"``, ``"PrintableString"``, ``"BMPString"``...;
    for a value that is not a string, the type's name or ``"[tag 0xNN]"``."""
    text: Text
    """The value: its content octets exactly as in the certificate (:attr:`Text.raw`) and
    their decoding by :func:`~ukeytool.decode_text`. A value that is not a string keeps
    its whole encoding as raw bytes and reads ``#<hex>``, as RFC 4514 writes it."""
    rdn: int
    """The position of its RelativeDistinguishedName in the name, 0 for the first in the
    certificate (usually C); attributes of one multi-valued RDN share it."""

    @property
    def value(self) -> str:
        """The decoded value."""
        return self.text.value

    @property
    def decoding(self) -> str:
        """How the value was decoded: ``"strict"`` (as its string type says),
        ``"guess"`` (it is not what its type says; :attr:`Text.encoding` tells what it was
        read as, usually GB18030), ``"undecodable"`` (shown with ``\\xNN`` escapes) or
        ``"not_a_string"``."""
        if self.string_type not in _STRING_TYPE_NAMES:
            return "not_a_string"
        if self.text.encoding == "unknown":
            return "undecodable"
        return "guess" if self.text.guessed else "strict"


_STRING_TYPE_NAMES = frozenset(STRING_TYPES.values())


@dataclasses.dataclass(frozen=True)
class Holder:
    """The fields of a CFCA-style common name: ``051@<name>@<ID type><ID number>@<seq>``
    for a person, ``041@<code>@<organisation>@<seq>`` for an organisation.

    Many Chinese banks' certificates (CFCA's and banks' own CAs copying it) name their
    holder this way. Only these two shapes are split; a name of another shape has no
    holder rather than a guessed one.
    """

    type_code: str
    """The leading code: ``"051"`` or ``"041"``."""
    kind: str
    """What the code means: ``"individual"`` (051, with OU=Individual-N) or
    ``"organisation"`` (041, with OU=Enterprises, Employees...)."""
    name: str
    """The person's name (051) or the organisation's (041)."""
    id_type: str | None
    """The letter in front of the number (``"Z"``), None when the number starts with a
    digit or is empty."""
    id_type_name: str | None
    """What :attr:`id_type` stands for where known (``"Z"``: ``"identity card"``); None
    when unknown."""
    id_number: str
    """The ID number without its letter (051), or the organisation's code (041: an
    organisation code, a unified social credit code, sometimes a person's ID number).
    Sensitive: renderers mask it unless asked to show personal data."""
    sequence: str
    """The CA's sequence number for the holder's certificates."""


@dataclasses.dataclass(frozen=True)
class IdentityNumber:
    """An identity number a certificate carries in an extension: the GB/T 20518 and
    GM/T 0015 extensions 1.2.156.10260.4.1.1 to .5 (SM2 certificates) and their older
    twins 1.2.86.11.7.1 to .5 (RSA certificates)."""

    oid: str
    """The extension's OID."""
    meaning: str
    """What the number is: ``"identity code"`` (an ID card, military officer card or
    passport number), ``"social insurance number"``, ``"business registration number"``,
    ``"organisation code"``, ``"tax number"``; ``"unknown"`` for another OID of these arcs
    (CA-specific uses)."""
    personal: bool
    """True when the number identifies a person (identity code, social insurance number,
    unknown ones): renderers then mask it whatever its shape. An organisation's number is
    masked only when it has the shape of an ID-card number (a sole trader's may be one)."""
    number: Text | None
    """The number as text; None when the value could not be read as one."""
    string_type: str | None
    """The ASN.1 string type the number was found in (``"PrintableString"``...); None
    when the extension holds the bare bytes (or for an implicitly tagged choice)."""
    id_kind: str | None
    """For an identity code, which choice it is: ``"resident identity card"`` ([0]),
    ``"military officer card"`` ([1]) or ``"passport"`` ([2]); None otherwise."""
    critical: bool
    raw: bytes = dataclasses.field(repr=False)
    """The extension's value octets exactly as in the certificate."""


@dataclasses.dataclass(frozen=True)
class Certificate:
    """What an X.509 certificate says, read from its bytes.

    Every field is read on its own: one that cannot be read is None and a
    :class:`Problem` in :attr:`problems` says why; the others are still there.
    """

    der: bytes = dataclasses.field(repr=False)
    """The certificate's bytes (DER; decoded from PEM where the object held PEM text)."""
    sha256: str
    """SHA-256 fingerprint of :attr:`der`, lowercase hex."""
    sha1: str
    """SHA-1 fingerprint of :attr:`der`, lowercase hex."""
    sm3: str | None = None
    """SM3 fingerprint of :attr:`der`, lowercase hex, as Chinese tools show it; None
    when the interpreter's OpenSSL has no SM3 (``hashlib.new("sm3")`` fails)."""
    subject: str | None = None
    """The subject as an RFC 4514 string."""
    subject_cn: str | None = None
    """The subject's (last) common name."""
    issuer: str | None = None
    """The issuer as an RFC 4514 string."""
    issuer_cn: str | None = None
    """The issuer's (last) common name."""
    serial: str | None = None
    """The serial number as lowercase hex without leading zeros; a negative serial (which
    RFC 5280 forbids but real certificates have) as ``-`` and the hex of its magnitude."""
    not_before: datetime.datetime | None = None
    """Start of validity, aware, UTC."""
    not_after: datetime.datetime | None = None
    """End of validity, aware, UTC."""
    key_algorithm: str | None = None
    """``"RSA"``, ``"EC"``, ``"SM2"``, ``"DSA"``, ``"Ed25519"``, ``"Ed448"``, or the OID."""
    key_size: int | None = None
    """Key size in bits (RSA modulus, curve size)."""
    key_curve: str | None = None
    """The curve name for EC and SM2 keys, e.g. ``"secp256r1"`` or ``"sm2p256v1"``."""
    signature_algorithm: str | None = None
    """The signature algorithm's name, e.g. ``"sha256WithRSAEncryption"``, ``"SM3withSM2"``,
    or the OID when unknown."""
    signature_algorithm_oid: str | None = None
    key_usage: tuple[str, ...] | None = None
    """KeyUsage bits set, by RFC 5280 name (``"digitalSignature"``...); None when absent."""
    extended_key_usage: tuple[str, ...] | None = None
    """ExtendedKeyUsage purposes, by name or OID; None when absent."""
    is_ca: bool | None = None
    """BasicConstraints cA; None when the extension is absent."""
    self_signed: bool | None = None
    """Issuer equals subject (name comparison; the signature is not verified)."""
    subject_attributes: tuple[NameAttribute, ...] | None = None
    """The subject's attributes one by one, in certificate order, each with its string
    type, raw bytes and how it was decoded; None when the name could not be read."""
    issuer_attributes: tuple[NameAttribute, ...] | None = None
    """The issuer's attributes, as :attr:`subject_attributes`."""
    holder: Holder | None = None
    """The subject CN split into its fields when it has CFCA's shape; None otherwise."""
    identity_numbers: tuple[IdentityNumber, ...] = ()
    """Identity numbers carried in extensions (1.2.156.10260.4.1.x, 1.2.86.11.7.x)."""
    encoding: str = "der"
    """``"der"`` when strict DER parsing worked; ``"pem"`` when the bytes were PEM text;
    ``"lenient"`` when only a lenient parser could read it."""
    problems: tuple[Problem, ...] = ()
    """Fields that could not be read."""
    error: Message | str | None = None
    """Why the certificate could not be read at all; None when it could."""
    subject_key_identifier: bytes | None = None
    """The SubjectKeyIdentifier extension's key identifier; None when absent."""
    authority_key_identifier: bytes | None = None
    """The AuthorityKeyIdentifier extension's keyIdentifier; None when absent (or when
    the extension names the issuer only by name and serial)."""
    public_key_info: bytes | None = dataclasses.field(default=None, repr=False)
    """The SubjectPublicKeyInfo exactly as the certificate holds it (DER)."""
    public_key: bytes | None = dataclasses.field(default=None, repr=False)
    """The public key itself, for matching key objects: an RSA key's modulus (big-endian,
    no leading zero octets), an EC or SM2 key's point (the BIT STRING's octets, normally
    ``04 || X || Y``); None for other algorithms or when it could not be read."""


@dataclasses.dataclass(frozen=True)
class Validity:
    """A certificate's status at a moment."""

    status: Status
    days_left: int | None
    """Whole days from the moment to not_after, rounded down: 0 on the last day,
    negative once expired; None when unreadable."""


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
    location: str | None = None
    """Where in its file the certificate was found, e.g. ``"PEM block 2 (line 14)"``, for a
    certificate read from a file (:class:`FileReport`); None for one on a token."""
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
        if self.validity.status is not Status.UNREADABLE:
            return None
        cert = self.certificate
        if cert is not None and cert.error:
            return cert.error
        if cert is None:
            return next(
                (p.message for p in self.problems if p.where == "CKA_VALUE"),
                N_("the certificate's value could not be read"),
            )
        return N_("its validity dates could not be read")

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
        """True when nothing failed anywhere in the report."""
        return not self.problems and all(
            s.complete and not s.problems and all(not c.problems for c in s.certificates)
            for s in self.slots
        )


# -- relations between a token's certificates and keys, and findings (see _relations.py)


@enum.unique
class Role(str, enum.Enum):
    """What a certificate is among the certificates of its token."""

    ROOT = "root"
    """Self-signed, and a CA: a CA certificate (BasicConstraints cA or keyCertSign), or a
    self-signed certificate that issued others on the same token."""
    INTERMEDIATE = "intermediate"
    """A CA certificate issued by another CA (whether or not that one is on the token)."""
    END_ENTITY = "end_entity"
    """Not a CA: a person's, a server's or an organisation's certificate."""
    SELF_SIGNED = "self_signed"
    """Self-signed but not a CA (a self-made end-entity certificate)."""
    UNKNOWN = "unknown"
    """The certificate could not be read well enough to tell."""

    def __str__(self) -> str:
        return self.value


@enum.unique
class Severity(str, enum.Enum):
    """How much a :class:`Finding` matters."""

    CRITICAL = "critical"
    """The certificate gives no real security any more: replace it now."""
    WARNING = "warning"
    """Weak or about to cause trouble: plan to replace it."""
    INFO = "info"
    """Worth knowing; nothing needs doing."""

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class Finding:
    """Something about a certificate a user should act on, apart from its validity."""

    code: str
    """Stable, for scripts: ``"weak-rsa-key"``, ``"sha1-signature"``, ``"md5-signature"``,
    ``"obsolete-signature-hash"``, ``"no-signing-key-usage"``, ``"no-key-usage"``,
    ``"ca-expires-before-child"``, ``"key-id-mismatch"`` (see docs/relations.md)."""
    severity: Severity
    message: Message | str
    """One sentence for a person: what is wrong and what to do."""


@dataclasses.dataclass(frozen=True)
class CertificateLink:
    """Another certificate object on the same token."""

    handle: int
    """Its object handle (unique on the token within the listing)."""
    sha256: str
    """Its SHA-256 fingerprint."""
    label: Text | None
    """Its CKA_LABEL."""
    subject_cn: str | None
    """Its subject's common name."""
    by: str
    """How the link was found: ``"key_identifier"`` (this certificate's
    AuthorityKeyIdentifier is that one's SubjectKeyIdentifier) or ``"name"`` (this
    certificate's issuer name is that one's subject name). Signatures are not verified."""


@dataclasses.dataclass(frozen=True)
class PairLink:
    """The other half of an SM2 signing + encryption certificate pair."""

    partner: CertificateLink
    """The other certificate (``by`` is ``"subject_and_issuer"``)."""
    usage: str
    """This certificate's half: ``"signing"`` or ``"encryption"``."""
    not_after: datetime.datetime | None
    """The pair's earliest expiry: the earlier not_after of the two; None when either is
    unknown. The pair is renewed together, so this is when it must be renewed by."""
    days_left: int | None
    """Days left of the half that expires first (as :attr:`Validity.days_left`)."""


@dataclasses.dataclass(frozen=True)
class KeyMatch:
    """A key object that belongs to a certificate."""

    handle: int
    key_class: str
    """``"private"`` or ``"public"``."""
    label: Text | None
    by: tuple[str, ...]
    """How it was matched: ``"id"`` (the same non-empty CKA_ID) and/or ``"public_key"``
    (the same RSA modulus or EC point)."""


@dataclasses.dataclass(frozen=True)
class KeyPresence:
    """Whether a certificate's key is on its token, and how that is known."""

    state: str
    """``"yes"``: its private key is on the token, or (where private keys cannot be seen
    without login) its public key object is; ``"no"``: private keys were visible, the key
    search was complete, and none belongs to it; ``"unknown"``: private keys could not
    be seen (no login) or the key search did not finish, and no key object matched."""
    private_key: str
    """The same question for the private key alone: ``"yes"``, ``"no"`` or ``"unknown"``."""
    matches: tuple[KeyMatch, ...] = ()
    """The key objects that belong to the certificate, private keys first."""
    reason: Message | str = ""
    """One sentence for a person saying how the answer was reached."""


@dataclasses.dataclass(frozen=True)
class FileKey:
    """A private key found next to certificates in a file: a PKCS#12 key bag or a PEM key.

    Only what tells which certificate it belongs to is kept, never the key itself; an
    encrypted key is not decrypted (its certificate is found by its PKCS#12 localKeyId).
    """

    location: Message | str
    """Where in the file, e.g. ``"PKCS#12 content 2, bag 1"`` or ``"PEM block 3 (line 40)"``."""
    algorithm: str | None
    """``"RSA"``, ``"EC"``, ``"SM2"``... when the key is not encrypted; None when it is."""
    public_key_sha256: str | None
    """SHA-256 of the public key's bits (the subjectPublicKey BIT STRING contents of its
    certificate), lowercase hex; None when it cannot be known without decrypting the key."""
    local_key_id: bytes | None
    """The PKCS#12 localKeyId attribute (the same value marks the key's certificate)."""
    certificates: tuple[int, ...] = ()
    """The positions (:attr:`CertificateEntry.handle`) of the file's certificates for
    this key: same public key, or the same localKeyId when the public key is not known."""


@dataclasses.dataclass(frozen=True)
class FileReport:
    """The certificates in one file (PEM, DER, PKCS#7 or PKCS#12), judged at one moment.

    Each certificate is a :class:`CertificateEntry` like a token's: the same
    :class:`Certificate` and :class:`Validity` for the same bytes. A file has no object
    handles: :attr:`CertificateEntry.handle` is the certificate's position in the file,
    from 1; :attr:`CertificateEntry.label` and :attr:`CertificateEntry.id` are a PKCS#12
    friendlyName and localKeyId (or an OpenSSL trusted certificate's alias and key id),
    None otherwise; :attr:`CertificateEntry.location` says where it was found.
    """

    path: str
    """The path as given."""
    format: str | None
    """``"pem"``, ``"der"``, ``"pkcs7"`` or ``"pkcs12"``; None when the file could not be
    read or is none of them."""
    certificates: tuple[CertificateEntry, ...]
    at: datetime.datetime
    """The moment validity was judged at (aware)."""
    warn_days: int
    """Certificates that expire within this many days are :attr:`Status.EXPIRING`."""
    keys: tuple[FileKey, ...] = ()
    """Private keys in the file, and which certificates they belong to."""
    problems: tuple[Problem, ...] = ()
    """What could not be read: the file itself (``where="file"``), its content as a whole
    (``where="content"``), or a located part (``"PEM block 2 (line 14)"``,
    ``"PKCS#12 MAC"``...). One bad part hides nothing else."""

    @property
    def opened(self) -> bool:
        """False when the file could not be opened or read at all (not found, no
        permission, a directory)."""
        return not any(p.where == "file" for p in self.problems)

    @property
    def complete(self) -> bool:
        """True when nothing failed: the whole file was read."""
        return not self.problems and all(not c.problems for c in self.certificates)


# --- renewal advice (see ukeytool.judging.renewal) -------------------------------------------


@enum.unique
class RenewalPhase(str, enum.Enum):
    """Where a certificate stands in its bank's renewal windows, at the report's moment."""

    NOT_OPEN = "not_open"
    """Renewal is not open yet: no channel's window has opened."""
    ONLINE_OPEN = "online_open"
    """At least one self-service channel (online banking, the app...) is open."""
    BRANCH_ONLY = "branch_only"
    """Every self-service window has closed: only a branch counter can renew it."""
    NOT_BANK_CERTIFICATE = "not_bank_certificate"
    """A CA or self-signed certificate, which the holder does not renew."""
    NO_DATES = "no_dates"
    """The certificate's dates could not be read: no advice."""

    def __str__(self) -> str:
        return self.value


@enum.unique
class RenewalAction(str, enum.Enum):
    """What the holder should do."""

    NONE = "none"
    """Nothing to renew (not a bank certificate, or no dates)."""
    WAIT = "wait"
    """Nothing yet: renewal opens later."""
    RENEW_ONLINE = "renew_online"
    """Renew through a self-service channel while it is open."""
    RENEW = "renew"
    """Renew through the bank before expiry (the generic policy: channel unknown)."""
    VISIT_BRANCH = "visit_branch"
    """Go to a branch counter: the self-service windows have closed."""
    CONTACT_BANK = "contact_bank"
    """Contact the bank (the generic policy, after its window)."""
    UNLOCK_PIN = "unlock_pin"
    """The token's PIN is locked: the bank must unlock it first (tokens only)."""

    def __str__(self) -> str:
        return self.value


@enum.unique
class BankRule(str, enum.Enum):
    """Which rule decided a certificate's bank, strongest first."""

    EXPLICIT = "explicit"
    """The caller named it (``--bank``, the ``bank`` argument)."""
    MODULE_NAME = "module_name"
    """The PKCS#11 module's file name (a bank hint of the module catalogue)."""
    ISSUER = "issuer"
    """The certificate issuer's name (a bank's own CA)."""
    FALLBACK = "fallback"
    """Nothing said which bank: the generic advice."""

    def __str__(self) -> str:
        return self.value


@enum.unique
class WindowState(str, enum.Enum):
    """One channel's renewal window at the report's moment."""

    NOT_OPEN = "not_open"
    OPEN = "open"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class BankChoice:
    """Which bank a certificate belongs to, which rule said so, and how sure it is."""

    rule: BankRule
    bank: str | None
    """The bank's short code (``"ICBC"``); None for :attr:`BankRule.FALLBACK`."""
    policy: str
    """The id of the renewal policy used: the bank's (``"icbc-ushield"``), or
    ``"generic"`` when the bank is unknown or has no policy."""
    confidence: str | None
    """``"high"`` (explicit), ``"medium"`` or ``"low"`` (from the hint's data); None for
    the fallback."""
    evidence: str | None = None
    """What the rule saw: the value given, the module's file name, the issuer's name."""
    bank_name: str | None = None
    bank_name_zh: str | None = None


@dataclasses.dataclass(frozen=True)
class RenewalWindow:
    """One channel's renewal window for one certificate, in China Standard Time days."""

    channel: str
    """``"online_banking"``, ``"mobile_app"``, ``"online"`` (self-service, channel not
    known more exactly) or ``"bank"`` (the generic policy: any channel of the bank)."""
    opens: datetime.date | None
    """The first day it is open; None when it is open-ended before expiry."""
    closes: datetime.date | None
    """The last day it is open; None when it never closes."""
    state: WindowState
    key_types: tuple[str, ...] = ()
    """The key types the channel is for (``("通用U盾",)``); empty for every key type."""


@dataclasses.dataclass(frozen=True)
class Advice:
    """What to do about one certificate's renewal at the report's moment.

    Days are calendar days in China Standard Time (UTC+8), where the banks work; window
    edges are inclusive (see ``docs/renewal.md``). The human sentences are made in the
    chosen language by :func:`~ukeytool.advice_message`.
    """

    phase: RenewalPhase
    action: RenewalAction
    needs_action: bool
    """True when something should be done now: the certificate is expiring or expired
    and a window is open, or only a branch can help."""
    bank: BankChoice
    key_name: str | None = None
    """The bank's name for the key (``"U盾"``), from the policy."""
    expires: datetime.datetime | None = None
    """The certificate's not_after (aware, UTC)."""
    expiry_date: datetime.date | None = None
    """The day it expires, in China Standard Time."""
    expired: bool = False
    """Whether it has expired at the report's moment."""
    window_opens: datetime.date | None = None
    """The first day any self-service window opens; None when one is open-ended."""
    window_closes: datetime.date | None = None
    """The last day any self-service window is open; None when one never closes."""
    windows: tuple[RenewalWindow, ...] = ()
    branch_items: tuple[str, ...] = ()
    """What to bring to a branch: ``"id_card"``, ``"bank_card"``, ``"key"``."""
    branch_note: str | None = None
    branch_note_zh: str | None = None
    validity_years: tuple[int, ...] = ()
    """How long the bank's certificates are valid, from the policy."""


@dataclasses.dataclass(frozen=True)
class TokenAdvice:
    """A token's most urgent renewal action."""

    action: RenewalAction
    needs_action: bool
    pin_locked: bool
    """The user PIN is locked: the bank must unlock the key before anything else."""
    certificate: int | None = None
    """The handle of the most urgent certificate; None when there is none."""
    certificate_label: str | None = None
    """Its CKA_LABEL (else subject CN) as shown."""
    advice: Advice | None = None
    """Its advice."""
