"""What an X.509 certificate says (:class:`Certificate`, its names' attributes, a
CFCA-style holder, identity numbers) and its :class:`Validity` at a moment.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum

from ..i18n.message import Message
from .problem import Problem
from .text import STRING_TYPES, Text

__all__ = ["Certificate", "Holder", "IdentityNumber", "NameAttribute", "Status", "Validity"]


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
    error: Message | None = None
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
