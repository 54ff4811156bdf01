"""The fields of a certificate, each read on its own by the parser that can read it.

cryptography's well-tested view is used when it took the whole certificate; a field it
still fails on is read again with asn1crypto, and a :class:`~ukeytool.Problem` says so.
When cryptography refused the certificate every field is read with asn1crypto. Each
field is read in its own ``try``: one that fails is None with a Problem, the others are
still filled. The key is always read from the SubjectPublicKeyInfo by hand, as
cryptography cannot load SM2 public keys at all. (A clean certificate never comes here:
:mod:`.plain` reads it; the parsers are imported only when a field is read with them.)
"""

from __future__ import annotations

import datetime
import hashlib
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict, TypeVar

from ..i18n.message import Message, template
from ..model import Certificate, NameAttribute, Problem
from ..model.text import decode_text
from .algorithms import (
    BASIC_CONSTRAINTS,
    CURVE_PRIMES,
    CURVES,
    DSA_KEY,
    EC_KEY,
    EDWARDS_KEYS,
    EKU_NAMES,
    EXTENDED_KEY_USAGE,
    KEY_USAGE,
    KEY_USAGE_BITS,
    RSA_KEYS,
    SIGNATURE_NAMES,
    SM2,
    curve_name,
)
from .asn1 import contents, oid_text, rsa_modulus, tlvs
from .names import (
    attributes,
    holder,
    identity_numbers_of,
    lenient_identity_numbers,
    rfc4514,
    strict_identity_numbers,
)
from .parts import Parts
from .reasons import Unreadable, reason, warning_reason

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["COULD_NOT_READ", "Reader", "fingerprints", "lenient_extension", "sm3"]

_V = TypeVar("_V")


class Fingerprints(TypedDict):
    """A certificate's fingerprints, as :class:`~ukeytool.Certificate` takes them."""

    sha256: str
    sha1: str
    sm3: str | None


COULD_NOT_READ = template("certificate.field_unreadable", "could not be read: {detail}")
COULD_NOT_READ_EITHER = template(
    "certificate.field_unreadable_both",
    "could not be read: {detail}; leniently: {detail_lenient}",
)
LENIENT_LOAD_FAILED = template(
    "certificate.lenient_load_failed", "the lenient parser could not load the certificate"
)
READ_LENIENTLY = template(
    "certificate.field_read_leniently", "strict parsing refused it ({detail}); read leniently"
)
TIME_OUT_OF_RANGE = template(
    "certificate.time_out_of_range", "the time {value} is outside what Python's datetime holds"
)
TIME_WITHOUT_ZONE = template("certificate.time_without_zone", "the time has no zone; read as UTC")
DSA_INHERITED = template(
    "certificate.dsa_inherited", "the DSA parameters are inherited from the issuer"
)
NO_CURVE = template("certificate.no_curve", "the key names no curve")
CURVE_SIZE_UNKNOWN = template(
    "certificate.curve_size_unknown", "the size of curve {name} is not known"
)
SIGNATURE_MISMATCH = template(
    "certificate.signature_mismatch",
    "the signed part names {inner} but the signature is {outer}",
)
KEY_USAGE_NOT_BITS = template(
    "certificate.key_usage_not_bits", "the KeyUsage extension is not a BIT STRING"
)


def sm3(data: bytes) -> str | None:
    """The SM3 digest of ``data`` in hex, or None when this Python's OpenSSL has no SM3."""
    if not _SM3:
        try:
            _SM3.append(hashlib.new("sm3"))
        except ValueError:
            return None
    digest = _SM3[0].copy()  # a copy of a fresh one: cheaper than looking the name up
    digest.update(data)
    text: str = digest.hexdigest()
    return text


_SM3: list[hashlib._Hash] = []
"""A fresh SM3 hash, once one was made."""


def fingerprints(data: bytes) -> Fingerprints:
    """:attr:`Certificate.sha256`, ``sha1`` and ``sm3`` of ``data``, as keywords."""
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sm3": sm3(data),
    }


_ISSUERS: dict[bytes, tuple[tuple[str, str | None], tuple[NameAttribute, ...]]] = {}
"""The issuer names read cleanly (no problem, no warning: both parsers took them), by
their DER: the same bytes are read the same way, so a token's next certificate from the
same issuer takes them from here. Bounded: emptied when full."""
_ISSUERS_MAX = 256


def _remember_issuer(
    der: bytes, found: tuple[tuple[str, str | None], tuple[NameAttribute, ...]]
) -> None:
    if len(_ISSUERS) >= _ISSUERS_MAX:
        _ISSUERS.clear()
    _ISSUERS[der] = found


class _Key(NamedTuple):
    algorithm: str
    size: int | None
    curve: str | None


class Reader:
    """Reads each field on its own: strictly when cryptography took the certificate,
    with asn1crypto when it did not or when the strict read of that field fails."""

    def __init__(
        self,
        strict: x509.Certificate | None,
        lenient: Any,  # asn1crypto.x509.Certificate; None when only cryptography parsed it
        problems: list[Problem],
        parts: Parts | None = None,
    ) -> None:
        self._strict = strict
        self._lenient = lenient
        self.problems = problems
        self._caught: list[warnings.WarningMessage] = []
        # The raw parts, when the DER was plain enough to find them in one walk: then
        # the fields asn1crypto would read come from them (the same bytes, far cheaper).
        self._parts = parts if lenient is not None else None

    def read(
        self,
        der: bytes,
        encoding: str,
        relations: tuple[dict[str, Any], list[Problem]] | None = None,
        caught: list[warnings.WarningMessage] | None = None,
    ) -> Certificate:
        """The certificate; ``relations``: its relation fields and the problems reading
        them (:func:`.identifiers.relation_fields`), which go after the others;
        ``caught``: the record of warnings the caller keeps (``simplefilter("always")``),
        else one is kept here."""
        # One record of warnings for all fields (entering one costs as much as reading a
        # field): each strict read looks at the warnings it added itself.
        if caught is not None:
            self._caught = caught
            return self._read(der, encoding, relations)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            self._caught = record
            return self._read(der, encoding, relations)

    def _read(
        self,
        der: bytes,
        encoding: str,
        relations: tuple[dict[str, Any], list[Problem]] | None,
    ) -> Certificate:
        parts = self._parts
        subject = self._field("subject", _strict_subject, self._lenient_subject)
        # The certificates of a token mostly share one issuer: its name is read once.
        known = None if parts is None else _ISSUERS.get(parts.issuer)
        mark = len(self.problems)
        issuer = (
            known[0]
            if known is not None
            else self._field("issuer", _strict_issuer, self._lenient_issuer)
        )
        issuer_clean = len(self.problems) == mark
        key = self._field(
            "key_algorithm",
            None,
            self._lenient_key if parts is None else lambda _: self._key(parts.public_key_info),
        )
        signature = self._field("signature_algorithm", _strict_signature, self._lenient_signature)
        if signature is not None:
            self._check_signature_match(signature[1])
        # Raw bytes are what these need, and asn1crypto keeps them exactly as they are
        # (cryptography re-encodes names); cryptography only when asn1crypto could not
        # load the certificate. What is odd about a name the subject's problem says.
        only_strict = self._lenient is None
        subject_attributes = self._field(
            "subject_attributes",
            (lambda c: attributes(c.subject.public_bytes())) if only_strict else None,
            (lambda c: attributes(c["tbs_certificate"]["subject"].dump()))
            if parts is None
            else lambda _: attributes(parts.subject),
        )
        issuer_attributes: tuple[NameAttribute, ...] | None
        if known is not None:
            issuer_attributes = known[1]
        else:
            mark = len(self.problems)
            issuer_attributes = self._field(
                "issuer_attributes",
                (lambda c: attributes(c.issuer.public_bytes())) if only_strict else None,
                (lambda c: attributes(c["tbs_certificate"]["issuer"].dump()))
                if parts is None
                else lambda _: attributes(parts.issuer),
            )
            if (
                parts is not None
                and issuer_clean
                and len(self.problems) == mark
                and issuer is not None
                and issuer_attributes is not None
            ):
                _remember_issuer(parts.issuer, (issuer, issuer_attributes))
        identity_numbers = self._field(
            "identity_numbers",
            strict_identity_numbers if only_strict else None,
            lenient_identity_numbers
            if parts is None
            else lambda _: identity_numbers_of(parts.extensions or ()),
        )
        return Certificate(
            der=der,
            **fingerprints(der),
            subject=subject[0] if subject else None,
            subject_cn=subject[1] if subject else None,
            issuer=issuer[0] if issuer else None,
            issuer_cn=issuer[1] if issuer else None,
            serial=self._field("serial", _strict_serial, _lenient_serial),
            not_before=self._field(
                "not_before", _strict_not_before, lambda c: self._lenient_time(c, "not_before")
            ),
            not_after=self._field(
                "not_after", _strict_not_after, lambda c: self._lenient_time(c, "not_after")
            ),
            key_algorithm=key.algorithm if key else None,
            key_size=key.size if key else None,
            key_curve=key.curve if key else None,
            signature_algorithm=signature[0] if signature else None,
            signature_algorithm_oid=signature[1] if signature else None,
            key_usage=self._field("key_usage", _strict_key_usage, _lenient_key_usage),
            extended_key_usage=self._field(
                "extended_key_usage", _strict_extended_key_usage, _lenient_extended_key_usage
            ),
            is_ca=self._field("is_ca", _strict_is_ca, _lenient_is_ca),
            self_signed=self._field(
                "self_signed",
                None,
                _lenient_self_signed if parts is None else lambda _: parts.issuer == parts.subject,
            ),
            subject_attributes=subject_attributes,
            issuer_attributes=issuer_attributes,
            holder=holder(subject[1]) if subject else None,
            identity_numbers=identity_numbers or (),
            encoding=encoding,
            problems=(*self.problems, *relations[1]) if relations else tuple(self.problems),
            **(relations[0] if relations else {}),
        )

    def _field(
        self,
        where: str,
        strict: Callable[[x509.Certificate], _V] | None,
        lenient: Callable[[Any], _V],
    ) -> _V | None:
        refused: Message | str | None = None
        if self._strict is not None and strict is not None:
            caught = self._caught
            mark = len(caught)
            try:
                value = strict(self._strict)
                if len(caught) == mark:
                    return value
                refused = warning_reason(caught[mark].message)
            except Exception as exc:
                refused = reason(exc)
        if self._lenient is None:
            why = refused or LENIENT_LOAD_FAILED()
            self.problems.append(Problem(where, COULD_NOT_READ(detail=why)))
            return None
        mark = len(self.problems)
        try:
            value = lenient(self._lenient)
        except Exception as exc:
            del self.problems[mark:]
            message = COULD_NOT_READ(detail=reason(exc))
            if refused is not None:
                message = COULD_NOT_READ_EITHER(detail=refused, detail_lenient=reason(exc))
            self.problems.append(Problem(where, message))
            return None
        if refused is not None:
            # Before the lenient reader's own notes, which it explains.
            self.problems.insert(mark, Problem(where, READ_LENIENTLY(detail=refused)))
        return value

    def _lenient_subject(self, certificate: Any) -> tuple[str, str | None]:
        return self._lenient_name(certificate["tbs_certificate"]["subject"].dump(), "subject")

    def _lenient_issuer(self, certificate: Any) -> tuple[str, str | None]:
        return self._lenient_name(certificate["tbs_certificate"]["issuer"].dump(), "issuer")

    def _lenient_name(self, der: bytes, where: str) -> tuple[str, str | None]:
        text, cn, odd = rfc4514(der)
        if odd is not None:
            self.problems.append(Problem(where, odd))
        return text, cn

    def _lenient_time(self, certificate: Any, field: str) -> datetime.datetime:
        moment = certificate["tbs_certificate"]["validity"][field].chosen.native
        if not isinstance(moment, datetime.datetime):
            raise Unreadable(TIME_OUT_OF_RANGE(value=repr(moment)))
        if moment.tzinfo is None:
            self.problems.append(Problem(field, TIME_WITHOUT_ZONE()))
            return moment.replace(tzinfo=datetime.timezone.utc)
        if moment.utcoffset() == datetime.timedelta(0):
            # astimezone would overflow near year 9999 for no gain; it is UTC already.
            return moment.replace(tzinfo=datetime.timezone.utc)
        return moment.astimezone(datetime.timezone.utc)

    def _lenient_key(self, certificate: Any) -> _Key:
        return self._key(certificate["tbs_certificate"]["subject_public_key_info"].dump())

    def _key(self, info: bytes) -> _Key:
        # Walked by hand: asn1crypto looks the parameters' type up by the algorithm OID
        # and raises KeyError for one it does not know (SM2's, or anything new).
        algorithm, public_key = list(tlvs(contents(info)))[:2]
        oid_tlv, *rest = tlvs(algorithm.contents)
        oid = oid_text(oid_tlv.encoded)
        parameters = rest[0].encoded if rest else b""
        if oid in RSA_KEYS:
            return _Key("RSA", rsa_modulus(public_key.contents[1:]).bit_length(), None)
        if oid in (EC_KEY, SM2):
            return self._curve_key(oid, parameters)
        if oid == DSA_KEY:
            size = None
            if parameters:
                from asn1crypto import keys as asn1_keys

                size = int(asn1_keys.DSAParams.load(parameters)["p"].native).bit_length()
            else:
                self.problems.append(Problem("key_size", DSA_INHERITED()))
            return _Key("DSA", size, None)
        if oid in EDWARDS_KEYS:
            name, size = EDWARDS_KEYS[oid]
            return _Key(name, size, None)
        return _Key(oid, None, None)

    def _curve_key(self, oid: str, parameters: bytes) -> _Key:
        curve_oid = None
        size = None
        if parameters[:1] == b"\x06":
            curve_oid = oid_text(parameters)
        elif parameters[:1] == b"\x30":
            from asn1crypto import keys as asn1_keys

            domain = asn1_keys.SpecifiedECDomain.load(parameters)
            prime = int(domain["field_id"]["parameters"].native)
            curve_oid = CURVE_PRIMES.get(prime)
            size = prime.bit_length()
        if oid == SM2 and curve_oid is None:
            # With the SM2 OID as the key algorithm the curve is implied.
            curve_oid = SM2
        if curve_oid is None:
            self.problems.append(Problem("key_curve", NO_CURVE()))
            return _Key("EC", size, None)
        name, size = CURVES.get(curve_oid, (curve_name(curve_oid), size))
        if size is None:
            self.problems.append(Problem("key_size", CURVE_SIZE_UNKNOWN(name=name)))
        return _Key("SM2" if curve_oid == SM2 else "EC", size, name)

    def _lenient_signature(self, certificate: Any) -> tuple[str, str]:
        oid = str(certificate["signature_algorithm"]["algorithm"].dotted)
        return SIGNATURE_NAMES.get(oid, oid), oid

    def _check_signature_match(self, outer: str) -> None:
        # RFC 5280 4.1.1.2: the signed copy must name the same algorithm; a mismatch is
        # a sign of tampering or a broken issuer, worth telling, not worth failing on.
        if self._lenient is None:
            return
        try:
            if self._parts is not None:
                inner = self._parts.inner_signature_oid
            else:
                inner = str(self._lenient["tbs_certificate"]["signature"]["algorithm"].dotted)
        except Exception:
            return  # reading the signature algorithm already said what is wrong
        if inner != outer:
            self.problems.append(
                Problem(
                    "signature_algorithm",
                    SIGNATURE_MISMATCH(
                        inner=SIGNATURE_NAMES.get(inner, inner),
                        outer=SIGNATURE_NAMES.get(outer, outer),
                    ),
                )
            )


def _strict_subject(certificate: x509.Certificate) -> tuple[str, str | None]:
    return certificate.subject.rfc4514_string(), _strict_cn(certificate.subject)


def _strict_issuer(certificate: x509.Certificate) -> tuple[str, str | None]:
    return certificate.issuer.rfc4514_string(), _strict_cn(certificate.issuer)


def _strict_cn(name: x509.Name) -> str | None:
    from cryptography.x509.oid import NameOID

    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        return None
    value = values[-1].value
    return value if isinstance(value, str) else decode_text(value).value


def _strict_serial(certificate: x509.Certificate) -> str:
    return _hex(certificate.serial_number)


def _lenient_serial(certificate: Any) -> str:
    return _hex(int(certificate["tbs_certificate"]["serial_number"].native))


def _hex(number: int) -> str:
    return f"-{-number:x}" if number < 0 else f"{number:x}"


def _strict_not_before(certificate: x509.Certificate) -> datetime.datetime:
    return certificate.not_valid_before_utc


def _strict_not_after(certificate: x509.Certificate) -> datetime.datetime:
    return certificate.not_valid_after_utc


def _strict_signature(certificate: x509.Certificate) -> tuple[str, str]:
    oid = certificate.signature_algorithm_oid.dotted_string
    return SIGNATURE_NAMES.get(oid, oid), oid


def _strict_key_usage(certificate: x509.Certificate) -> tuple[str, ...] | None:
    from cryptography import x509

    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    bits = (
        usage.digital_signature,
        usage.content_commitment,
        usage.key_encipherment,
        usage.data_encipherment,
        usage.key_agreement,
        usage.key_cert_sign,
        usage.crl_sign,
        # cryptography raises for these two unless keyAgreement is set.
        usage.key_agreement and usage.encipher_only,
        usage.key_agreement and usage.decipher_only,
    )
    return tuple(name for name, bit in zip(KEY_USAGE_BITS, bits, strict=True) if bit)


def _strict_extended_key_usage(certificate: x509.Certificate) -> tuple[str, ...] | None:
    from cryptography import x509

    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    return tuple(EKU_NAMES.get(oid.dotted_string, oid.dotted_string) for oid in usage)


def _strict_is_ca(certificate: x509.Certificate) -> bool | None:
    from cryptography import x509

    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return None


def lenient_extension(certificate: Any, oid: str) -> bytes | None:
    """The extension's value octets, or None when the certificate has none such."""
    for extension in certificate["tbs_certificate"]["extensions"]:
        if extension["extn_id"].dotted == oid:
            return bytes(extension["extn_value"].contents)
    return None


def _lenient_key_usage(certificate: Any) -> tuple[str, ...] | None:
    value = lenient_extension(certificate, KEY_USAGE)
    if value is None:
        return None
    bits = contents(value)
    if value[:1] != b"\x03" or not bits:
        raise Unreadable(KEY_USAGE_NOT_BITS())
    octets = bits[1:]
    return tuple(
        name
        for i, name in enumerate(KEY_USAGE_BITS)
        if i // 8 < len(octets) and octets[i // 8] & (0x80 >> (i % 8))
    )


def _lenient_extended_key_usage(certificate: Any) -> tuple[str, ...] | None:
    value = lenient_extension(certificate, EXTENDED_KEY_USAGE)
    if value is None:
        return None
    from asn1crypto import x509 as asn1_x509

    purposes = asn1_x509.ExtKeyUsageSyntax.load(value)
    return tuple(EKU_NAMES.get(p.dotted, str(p.dotted)) for p in purposes)


def _lenient_is_ca(certificate: Any) -> bool | None:
    value = lenient_extension(certificate, BASIC_CONSTRAINTS)
    if value is None:
        return None
    from asn1crypto import x509 as asn1_x509

    return bool(asn1_x509.BasicConstraints.load(value)["ca"].native)


def _lenient_self_signed(certificate: Any) -> bool:
    # Raw bytes, as RFC 5280's name matching would accept re-encodings we cannot see.
    tbs = certificate["tbs_certificate"]
    return bool(tbs["issuer"].dump() == tbs["subject"].dump())
