"""Reading an X.509 certificate from a token object's bytes, as far as they can be read.

Certificates on banking keys are often not clean DER: negative serials, non-minimal
INTEGERs, BER lengths, GBK bytes in a PrintableString, SM2 keys. Two parsers, because
neither alone reads all of them well (see docs/domain.md):

* cryptography parses strictly and is tried first. When it takes the whole certificate
  (``encoding="der"``) its well-tested view of names, dates, serial and extensions is
  used; a field it still fails on is read again with asn1crypto, and a
  :class:`~ukeytool.Problem` says so.
* asn1crypto parses lazily and accepts the DER mistakes above. When cryptography
  refuses the certificate, or warns about it (a warning is an error under ``-W error``
  and cryptography has announced it will refuse those certificates), every field is read
  with asn1crypto (``encoding="lenient"``). cryptography cannot load SM2 public keys at
  all, so the key is always read from the SubjectPublicKeyInfo with asn1crypto.

Names are also read attribute by attribute from their own bytes
(:class:`~ukeytool.NameAttribute`: string type, raw value, how it was decoded, by the same
:func:`~ukeytool.decode_text` that decodes token labels); a CFCA-style subject CN is split
into its :class:`~ukeytool.Holder` fields, and the identity numbers of the GB/T 20518 /
GM/T 0015 extensions (1.2.156.10260.4.1.x, 1.2.86.11.7.x) are read leniently into
:class:`~ukeytool.IdentityNumber` values. These hold personal data as it is; the
renderers mask it (:mod:`ukeytool.rendering.mask`). The SM3 fingerprint is there when the
interpreter's OpenSSL has SM3.

Each field is read in its own ``try``: one that fails is None with a Problem, the others
are still filled. :func:`read_certificate` never raises. This is the only module of the
package (besides :mod:`ukeytool.testing`) that imports cryptography or asn1crypto; none of
their types leave it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeVar

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import parser as asn1_parser
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID

from ..model import Certificate, Holder, IdentityNumber, NameAttribute, Problem
from ..model.text import STRING_TYPES, Text, decode_text

__all__ = ["public_key_from_info", "read_certificate"]

_V = TypeVar("_V")


def N_(message: str) -> str:
    """Mark ``message`` for translation (as :func:`ukeytool.i18n.N_`).

    Problems and errors are made here in English (perhaps in the isolation child, which
    does not know the reader's language), as ``N_(template).format(...)``; the renderers
    show them translated with :func:`ukeytool.i18n.retranslate`. A ``{detail}``
    placeholder holds another of these sentences (``_reason``'s own wording, or a
    parser's exception text, which matches no template and stays as it is)."""
    return message


_PEM = re.compile(
    rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----(.*?)"
    rb"-----END (?:X509 |TRUSTED )?CERTIFICATE-----",
    re.DOTALL,
)
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")

_RSA_KEYS = ("1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10", "2.5.8.1.1")
_EC_KEY = "1.2.840.10045.2.1"
_SM2 = "1.2.156.10197.1.301"  # the SM2 curve, and in some certificates the key algorithm
_DSA_KEY = "1.2.840.10040.4.1"
_EDWARDS_KEYS = {"1.3.101.112": ("Ed25519", 256), "1.3.101.113": ("Ed448", 448)}

_CURVES = {
    "1.2.840.10045.3.1.1": ("secp192r1", 192),
    "1.3.132.0.33": ("secp224r1", 224),
    "1.2.840.10045.3.1.7": ("secp256r1", 256),
    "1.3.132.0.34": ("secp384r1", 384),
    "1.3.132.0.35": ("secp521r1", 521),
    "1.3.132.0.10": ("secp256k1", 256),
    "1.3.36.3.3.2.8.1.1.7": ("brainpoolP256r1", 256),
    "1.3.36.3.3.2.8.1.1.11": ("brainpoolP384r1", 384),
    "1.3.36.3.3.2.8.1.1.13": ("brainpoolP512r1", 512),
    _SM2: ("sm2p256v1", 256),
}
# Some older certificates spell the curve out instead of naming it; the prime tells which.
_CURVE_PRIMES = {
    0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF: _SM2,
    0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF: "1.2.840.10045.3.1.7",
}

_SIGNATURE_NAMES = {
    "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
    "1.2.840.113549.1.1.3": "md4WithRSAEncryption",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.3.14.3.2.29": "sha1WithRSA",
    "2.16.840.1.101.3.4.3.13": "RSA-SHA3-224",
    "2.16.840.1.101.3.4.3.14": "RSA-SHA3-256",
    "2.16.840.1.101.3.4.3.15": "RSA-SHA3-384",
    "2.16.840.1.101.3.4.3.16": "RSA-SHA3-512",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.2.840.10040.4.3": "dsaWithSHA1",
    "2.16.840.1.101.3.4.3.1": "dsa_with_SHA224",
    "2.16.840.1.101.3.4.3.2": "dsa_with_SHA256",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
    "1.2.156.10197.1.501": "SM3withSM2",
    "1.2.156.10197.1.504": "SM3withRSA",
}

_KEY_USAGE_BITS = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
)
_EKU_NAMES = {
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "2.5.29.37.0": "anyExtendedKeyUsage",
}
_BASIC_CONSTRAINTS = "2.5.29.19"
_KEY_USAGE = "2.5.29.15"
_EXTENDED_KEY_USAGE = "2.5.29.37"

# The same short names cryptography's rfc4514_string uses, so both parsers agree.
_ATTRIBUTE_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.6": "C",
    "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
_COMMON_NAME = "2.5.4.3"


def read_certificate(value: bytes) -> Certificate:
    """What the certificate in ``value`` (a CKA_VALUE) says, as far as it can be read.

    Never raises. DER is expected; PEM text is decoded (first certificate) and noted
    as a problem, as are bytes after the certificate (ignored). Fields that cannot be
    read are None with a :class:`Problem` each; when nothing can be read,
    :attr:`Certificate.error` says why and the fingerprints are over the bytes as given
    (or as decoded from PEM). :attr:`Certificate.encoding` is ``"lenient"`` whenever
    cryptography refused the certificate, also for PEM text (whose problem says so).
    """
    if not isinstance(value, bytes | bytearray | memoryview):
        return _unreadable(
            b"", N_("CKA_VALUE is not bytes but {type}").format(type=type(value).__name__)
        )
    raw = bytes(value)
    try:
        # A warning nobody expected must not become an exception under -W error either;
        # the ones that matter are caught and recorded closer to where they arise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _with_relation_fields(_read(raw))
    except Exception as exc:  # a bug here must not cost the rest of the token's report
        return _unreadable(
            raw, N_("the certificate could not be read: {detail}").format(detail=_reason(exc))
        )


def _read(value: bytes) -> Certificate:
    if not value:
        return _unreadable(value, N_("CKA_VALUE is empty"))
    problems: list[Problem] = []
    encoding = "der"
    der = value
    # A DER certificate starts with a SEQUENCE; only something else can be PEM text.
    if value[0] != 0x30 and _PEM_LABEL.search(value):
        pem = _from_pem(value)
        if isinstance(pem, str):
            return _unreadable(value, pem, encoding="pem")
        der, count = pem
        if not der:
            return _unreadable(value, N_("PEM text with an empty certificate"), encoding="pem")
        encoding = "pem"
        problems.append(Problem("CKA_VALUE", N_("the object holds PEM text, not DER")))
        if count > 1:
            held = N_("the PEM text holds {count} certificates; read the first")
            problems.append(Problem("CKA_VALUE", held.format(count=count)))

    framed = _frame(der)
    if isinstance(framed, str):
        return _unreadable(der, framed, encoding=encoding, problems=problems)
    if len(framed) < len(der):
        extra = len(der) - len(framed)
        ignored = (
            N_("1 byte after the certificate ignored")
            if extra == 1
            else N_("{count} bytes after the certificate ignored").format(count=extra)
        )
        problems.append(Problem("CKA_VALUE", ignored))
        der = framed

    strict, refusal = _load_strict(der)
    try:
        lenient = asn1_x509.Certificate.load(der)
    except Exception as exc:
        if strict is None:
            why = N_("not a DER certificate: {detail}").format(detail=refusal or _reason(exc))
            return _unreadable(der, why, encoding=encoding, problems=problems)
        lenient = None
    if strict is not None:
        return _Reader(strict, lenient, problems).read(der, encoding)

    note = Problem(
        "CKA_VALUE",
        N_(
            "strict DER parsing refused the certificate ({detail}); "
            "it was read with a lenient parser"
        ).format(detail=refusal),
    )
    certificate = _Reader(None, lenient, [*problems, note]).read(der, "lenient")
    if not _anything_read(certificate):
        return _unreadable(
            der,
            N_(
                "not a certificate: strict parsing found {detail} and the lenient parser "
                "could read no field"
            ).format(detail=refusal),
            encoding=encoding,
            problems=problems,
        )
    return certificate


def _unreadable(
    raw: bytes, error: str, *, encoding: str = "der", problems: list[Problem] | None = None
) -> Certificate:
    return Certificate(
        der=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        sha1=hashlib.sha1(raw).hexdigest(),
        sm3=_sm3(raw),
        encoding=encoding,
        problems=tuple(problems or ()),
        error=error,
    )


def _anything_read(certificate: Certificate) -> bool:
    return any(
        field is not None
        for field in (
            certificate.subject,
            certificate.issuer,
            certificate.serial,
            certificate.not_before,
            certificate.not_after,
            certificate.key_algorithm,
        )
    )


def _from_pem(value: bytes) -> tuple[bytes, int] | str:
    """The first certificate's DER and how many there are, or why there is none."""
    blocks = _PEM.findall(value)
    if not blocks:
        label = _PEM_LABEL.search(value)
        kind = label.group(1).decode("ascii") if label else "?"
        if kind.endswith("CERTIFICATE"):
            return N_("PEM text without its END CERTIFICATE line")
        return N_("not a certificate: PEM text of a {kind}").format(kind=kind)
    lines = blocks[0].split(b"\n")
    # RFC 7468 allows no headers in certificates, but old tools wrote RFC 1421 ones.
    body = b"".join(line.strip() for line in lines if b":" not in line)
    try:
        return base64.b64decode(body, validate=True), len(blocks)
    except (binascii.Error, ValueError):
        return N_("PEM text whose base64 could not be decoded")


def _frame(der: bytes) -> bytes | str:
    """The outer TLV of ``der`` (without trailing bytes), or why it is not one."""
    if der[0] != 0x30:
        return N_(
            "not a DER certificate: it starts with byte 0x{byte}, not a SEQUENCE (0x30)"
        ).format(byte=f"{der[0]:02x}")
    if len(der) < 2:
        return N_("not a DER certificate: it ends after its first byte")
    first = der[1]
    if first == 0x80:
        # BER indefinite length: only a parser walking the contents finds the end.
        try:
            return der[: asn1_parser.peek(der)]
        except Exception as exc:
            return N_("not a DER certificate: {detail}").format(detail=_reason(exc))
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count > 4:
            return N_("not a DER certificate: its length takes {count} bytes").format(count=count)
        header = 2 + count
        if len(der) < header:
            return N_("not a DER certificate: truncated at byte {at} of its length field").format(
                at=len(der)
            )
        length = int.from_bytes(der[2:header], "big")
    total = header + length
    if len(der) < total:
        return N_("not a DER certificate: truncated at byte {at} of {total}").format(
            at=len(der), total=total
        )
    return der[:total]


def _load_strict(der: bytes) -> tuple[x509.Certificate | None, str | None]:
    """cryptography's certificate, or why it refused (or warned about) this one."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            certificate = x509.load_der_x509_certificate(der)
    except Exception as exc:
        return None, _reason(exc)
    if caught:
        return None, _warning_reason(caught[0].message)
    return certificate, None


_COULD_NOT_READ = N_("could not be read: {detail}")


class _Key(NamedTuple):
    algorithm: str
    size: int | None
    curve: str | None


class _Reader:
    """Reads each field on its own: strictly when cryptography took the certificate,
    with asn1crypto when it did not or when the strict read of that field fails."""

    def __init__(
        self,
        strict: x509.Certificate | None,
        lenient: Any,  # asn1crypto.x509.Certificate; None when only cryptography parsed it
        problems: list[Problem],
    ) -> None:
        self._strict = strict
        self._lenient = lenient
        self.problems = problems

    def read(self, der: bytes, encoding: str) -> Certificate:
        subject = self._field("subject", _strict_subject, self._lenient_subject)
        issuer = self._field("issuer", _strict_issuer, self._lenient_issuer)
        key = self._field("key_algorithm", None, self._lenient_key)
        signature = self._field("signature_algorithm", _strict_signature, self._lenient_signature)
        if signature is not None:
            self._check_signature_match(signature[1])
        # Raw bytes are what these need, and asn1crypto keeps them exactly as they are
        # (cryptography re-encodes names); cryptography only when asn1crypto could not
        # load the certificate. What is odd about a name the subject's problem says.
        only_strict = self._lenient is None
        subject_attributes = self._field(
            "subject_attributes",
            (lambda c: _attributes(c.subject.public_bytes())) if only_strict else None,
            lambda c: _attributes(c["tbs_certificate"]["subject"].dump()),
        )
        issuer_attributes = self._field(
            "issuer_attributes",
            (lambda c: _attributes(c.issuer.public_bytes())) if only_strict else None,
            lambda c: _attributes(c["tbs_certificate"]["issuer"].dump()),
        )
        identity_numbers = self._field(
            "identity_numbers",
            _strict_identity_numbers if only_strict else None,
            _lenient_identity_numbers,
        )
        return Certificate(
            der=der,
            sha256=hashlib.sha256(der).hexdigest(),
            sha1=hashlib.sha1(der).hexdigest(),
            sm3=_sm3(der),
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
            self_signed=self._field("self_signed", None, _lenient_self_signed),
            subject_attributes=subject_attributes,
            issuer_attributes=issuer_attributes,
            holder=_holder(subject[1]) if subject else None,
            identity_numbers=identity_numbers or (),
            encoding=encoding,
            problems=tuple(self.problems),
        )

    def _field(
        self,
        where: str,
        strict: Callable[[x509.Certificate], _V] | None,
        lenient: Callable[[Any], _V],
    ) -> _V | None:
        refused = None
        if self._strict is not None and strict is not None:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    value = strict(self._strict)
                if not caught:
                    return value
                refused = _warning_reason(caught[0].message)
            except Exception as exc:
                refused = _reason(exc)
        if self._lenient is None:
            why = refused or N_("the lenient parser could not load the certificate")
            self.problems.append(Problem(where, _COULD_NOT_READ.format(detail=why)))
            return None
        mark = len(self.problems)
        try:
            value = lenient(self._lenient)
        except Exception as exc:
            del self.problems[mark:]
            message = _COULD_NOT_READ.format(detail=_reason(exc))
            if refused is not None:
                message = N_("could not be read: {detail}; leniently: {detail_lenient}").format(
                    detail=refused, detail_lenient=_reason(exc)
                )
            self.problems.append(Problem(where, message))
            return None
        if refused is not None:
            # Before the lenient reader's own notes, which it explains.
            refusal = N_("strict parsing refused it ({detail}); read leniently")
            self.problems.insert(mark, Problem(where, refusal.format(detail=refused)))
        return value

    def _lenient_subject(self, certificate: Any) -> tuple[str, str | None]:
        return self._lenient_name(certificate["tbs_certificate"]["subject"].dump(), "subject")

    def _lenient_issuer(self, certificate: Any) -> tuple[str, str | None]:
        return self._lenient_name(certificate["tbs_certificate"]["issuer"].dump(), "issuer")

    def _lenient_name(self, der: bytes, where: str) -> tuple[str, str | None]:
        rdns: dict[int, list[str]] = {}
        cn = None
        odd: list[str] = []
        for attribute in _attributes(der):
            if attribute.decoding == "not_a_string":
                shown = attribute.value  # "#<hex>", which RFC 4514 leaves unescaped
            else:
                shown = _escape(attribute.value)
                if attribute.oid == _COMMON_NAME:
                    cn = attribute.value
            note = _decoding_note(attribute)
            if note is not None:
                odd.append(note)
            rdns.setdefault(attribute.rdn, []).append(f"{attribute.name}={shown}")
        if odd:
            self.problems.append(Problem(where, odd[0]))
        return ",".join("+".join(rdns[i]) for i in sorted(rdns, reverse=True)), cn

    def _lenient_time(self, certificate: Any, field: str) -> datetime.datetime:
        moment = certificate["tbs_certificate"]["validity"][field].chosen.native
        if not isinstance(moment, datetime.datetime):
            raise ValueError(
                N_("the time {value} is outside what Python's datetime holds").format(
                    value=repr(moment)
                )
            )
        if moment.tzinfo is None:
            self.problems.append(Problem(field, N_("the time has no zone; read as UTC")))
            return moment.replace(tzinfo=datetime.timezone.utc)
        if moment.utcoffset() == datetime.timedelta(0):
            # astimezone would overflow near year 9999 for no gain; it is UTC already.
            return moment.replace(tzinfo=datetime.timezone.utc)
        return moment.astimezone(datetime.timezone.utc)

    def _lenient_key(self, certificate: Any) -> _Key:
        # Walked by hand: asn1crypto looks the parameters' type up by the algorithm OID
        # and raises KeyError for one it does not know (SM2's, or anything new).
        info = certificate["tbs_certificate"]["subject_public_key_info"].dump()
        algorithm, public_key = list(_tlvs(_contents(info)))[:2]
        oid_tlv, *rest = _tlvs(algorithm.contents)
        oid = str(asn1_core.ObjectIdentifier.load(oid_tlv.encoded).dotted)
        parameters = rest[0].encoded if rest else b""
        if oid in _RSA_KEYS:
            modulus = asn1_keys.RSAPublicKey.load(public_key.contents[1:])["modulus"]
            return _Key("RSA", int(modulus.native).bit_length(), None)
        if oid in (_EC_KEY, _SM2):
            return self._curve_key(oid, parameters)
        if oid == _DSA_KEY:
            size = None
            if parameters:
                size = int(asn1_keys.DSAParams.load(parameters)["p"].native).bit_length()
            else:
                self.problems.append(
                    Problem("key_size", N_("the DSA parameters are inherited from the issuer"))
                )
            return _Key("DSA", size, None)
        if oid in _EDWARDS_KEYS:
            name, size = _EDWARDS_KEYS[oid]
            return _Key(name, size, None)
        return _Key(oid, None, None)

    def _curve_key(self, oid: str, parameters: bytes) -> _Key:
        curve_oid = None
        size = None
        if parameters[:1] == b"\x06":
            curve_oid = asn1_core.ObjectIdentifier.load(parameters).dotted
        elif parameters[:1] == b"\x30":
            domain = asn1_keys.SpecifiedECDomain.load(parameters)
            prime = int(domain["field_id"]["parameters"].native)
            curve_oid = _CURVE_PRIMES.get(prime)
            size = prime.bit_length()
        if oid == _SM2 and curve_oid is None:
            # With the SM2 OID as the key algorithm the curve is implied.
            curve_oid = _SM2
        if curve_oid is None:
            self.problems.append(Problem("key_curve", N_("the key names no curve")))
            return _Key("EC", size, None)
        name, size = _CURVES.get(curve_oid, (_curve_name(curve_oid), size))
        if size is None:
            unknown = N_("the size of curve {name} is not known").format(name=name)
            self.problems.append(Problem("key_size", unknown))
        return _Key("SM2" if curve_oid == _SM2 else "EC", size, name)

    def _lenient_signature(self, certificate: Any) -> tuple[str, str]:
        oid = str(certificate["signature_algorithm"]["algorithm"].dotted)
        return _SIGNATURE_NAMES.get(oid, oid), oid

    def _check_signature_match(self, outer: str) -> None:
        # RFC 5280 4.1.1.2: the signed copy must name the same algorithm; a mismatch is
        # a sign of tampering or a broken issuer, worth telling, not worth failing on.
        if self._lenient is None:
            return
        try:
            inner = str(self._lenient["tbs_certificate"]["signature"]["algorithm"].dotted)
        except Exception:
            return  # reading the signature algorithm already said what is wrong
        if inner != outer:
            self.problems.append(
                Problem(
                    "signature_algorithm",
                    N_("the signed part names {inner} but the signature is {outer}").format(
                        inner=_SIGNATURE_NAMES.get(inner, inner),
                        outer=_SIGNATURE_NAMES.get(outer, outer),
                    ),
                )
            )


def _strict_subject(certificate: x509.Certificate) -> tuple[str, str | None]:
    return certificate.subject.rfc4514_string(), _strict_cn(certificate.subject)


def _strict_issuer(certificate: x509.Certificate) -> tuple[str, str | None]:
    return certificate.issuer.rfc4514_string(), _strict_cn(certificate.issuer)


def _strict_cn(name: x509.Name) -> str | None:
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
    return _SIGNATURE_NAMES.get(oid, oid), oid


def _strict_key_usage(certificate: x509.Certificate) -> tuple[str, ...] | None:
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
    return tuple(name for name, bit in zip(_KEY_USAGE_BITS, bits, strict=True) if bit)


def _strict_extended_key_usage(certificate: x509.Certificate) -> tuple[str, ...] | None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    return tuple(_EKU_NAMES.get(oid.dotted_string, oid.dotted_string) for oid in usage)


def _strict_is_ca(certificate: x509.Certificate) -> bool | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return None


def _lenient_extension(certificate: Any, oid: str) -> bytes | None:
    """The extension's value octets, or None when the certificate has none such."""
    for extension in certificate["tbs_certificate"]["extensions"]:
        if extension["extn_id"].dotted == oid:
            return bytes(extension["extn_value"].contents)
    return None


def _lenient_key_usage(certificate: Any) -> tuple[str, ...] | None:
    value = _lenient_extension(certificate, _KEY_USAGE)
    if value is None:
        return None
    bits = _contents(value)
    if value[:1] != b"\x03" or not bits:
        raise ValueError(N_("the KeyUsage extension is not a BIT STRING"))
    octets = bits[1:]
    return tuple(
        name
        for i, name in enumerate(_KEY_USAGE_BITS)
        if i // 8 < len(octets) and octets[i // 8] & (0x80 >> (i % 8))
    )


def _lenient_extended_key_usage(certificate: Any) -> tuple[str, ...] | None:
    value = _lenient_extension(certificate, _EXTENDED_KEY_USAGE)
    if value is None:
        return None
    purposes = asn1_x509.ExtKeyUsageSyntax.load(value)
    return tuple(_EKU_NAMES.get(p.dotted, str(p.dotted)) for p in purposes)


def _lenient_is_ca(certificate: Any) -> bool | None:
    value = _lenient_extension(certificate, _BASIC_CONSTRAINTS)
    if value is None:
        return None
    return bool(asn1_x509.BasicConstraints.load(value)["ca"].native)


def _lenient_self_signed(certificate: Any) -> bool:
    # Raw bytes, as RFC 5280's name matching would accept re-encodings we cannot see.
    tbs = certificate["tbs_certificate"]
    return bool(tbs["issuer"].dump() == tbs["subject"].dump())


class _Tlv(NamedTuple):
    tag: int
    """The identifier octet (class, constructed bit and tag number < 31)."""
    contents: bytes
    encoded: bytes


def _tlvs(data: bytes) -> Iterator[_Tlv]:
    """The TLVs one after another in ``data`` (BER lengths accepted)."""
    while data:
        _class, _method, _tag, header, contents, trailer = asn1_parser.parse(data)
        size = len(header) + len(contents) + len(trailer)
        yield _Tlv(header[0], contents, data[:size])
        data = data[size:]


def _contents(tlv: bytes) -> bytes:
    return bytes(asn1_parser.parse(tlv)[4])


def _attributes(name_der: bytes) -> tuple[NameAttribute, ...]:
    """A Name's attributes one by one, in the order the DER has them.

    String values are decoded by :func:`decode_text` as their string type says (and
    guessed at when they are not what it says); a value of another type keeps its whole
    encoding and reads ``#<hex>``, as RFC 4514 writes it.
    """
    attributes = []
    for index, rdn in enumerate(_tlvs(_contents(name_der))):
        for atv in _tlvs(rdn.contents):
            parts = list(_tlvs(atv.contents))
            if len(parts) != 2:
                raise ValueError(
                    N_("an attribute of {count} parts instead of type and value").format(
                        count=len(parts)
                    )
                )
            oid_tlv, value_tlv = parts
            oid = str(asn1_core.ObjectIdentifier.load(oid_tlv.encoded).dotted)
            kind = STRING_TYPES.get(value_tlv.tag)
            if kind is not None:
                text = decode_text(value_tlv.contents, string_type=value_tlv.tag)
            else:
                kind = _OTHER_TYPES.get(value_tlv.tag, f"[tag 0x{value_tlv.tag:02x}]")
                raw = value_tlv.encoded
                text = Text(raw, "#" + raw.hex(), "unknown", False)
            attributes.append(NameAttribute(oid, _ATTRIBUTE_NAMES.get(oid, oid), kind, text, index))
    return tuple(attributes)


_OTHER_TYPES = {
    0x01: "BOOLEAN",
    0x02: "INTEGER",
    0x03: "BIT STRING",
    0x04: "OCTET STRING",
    0x05: "NULL",
    0x06: "OBJECT IDENTIFIER",
    0x17: "UTCTime",
    0x18: "GeneralizedTime",
    0x30: "SEQUENCE",
    0x31: "SET",
}


def _decoding_note(attribute: NameAttribute) -> str | None:
    """A sentence for a value that is not what its string type says, else None."""
    decoding = attribute.decoding
    if decoding in ("strict", "not_a_string"):
        return None
    text = attribute.text
    how = N_("read as {encoding} (a guess)").format(encoding=text.encoding)
    if decoding == "undecodable":
        how = N_("it could not be decoded (shown with \\xNN escapes)")
    kind = attribute.string_type
    if kind == "UTF8String":
        note = N_("{name} is a UTF8String holding non-UTF-8 bytes; {detail}")
        return note.format(name=attribute.name, detail=how)
    if kind in ("BMPString", "UniversalString"):
        codec = "utf-16-be" if kind == "BMPString" else "utf-32-be"
        note = N_("{name} is a {kind} that is not {codec}; {detail}")
        return note.format(name=attribute.name, kind=kind, codec=codec, detail=how)
    note = N_("{name} is a {kind} holding non-ASCII bytes; {detail}")
    return note.format(name=attribute.name, kind=kind, detail=how)


# --- CFCA-style holder names ------------------------------------------------------------

_CFCA_NAME = re.compile(r"(?P<code>0[45]1)@(?P<first>[^@]*)@(?P<second>[^@]*)@(?P<seq>[^@]*)")
# The words below are codes in the JSON; the text's details line shows them translated.
_HOLDER_KINDS = {"051": N_("individual"), "041": N_("organisation")}
# What the letter in front of the number stands for, where it is known (domain.md: CFCA
# writes ID-card numbers as Z<number>; the organisation codes seen with N are unified
# social credit codes). Other letters are reported as they are, meaning unknown.
_ID_TYPE_NAMES = {
    ("051", "Z"): N_("identity card"),
    ("041", "N"): N_("unified social credit code"),
}


def _holder(common_name: str | None) -> Holder | None:
    """The fields of a CFCA-style common name, or None for a name of another shape."""
    match = _CFCA_NAME.fullmatch(common_name or "")
    if match is None:
        return None
    code = match["code"]
    name, number = (match["first"], match["second"])
    if code == "041":
        name, number = number, name
    letter = None
    if len(number) > 1 and number[0].isascii() and number[0].isalpha():
        letter, number = number[0], number[1:]
    return Holder(
        type_code=code,
        kind=_HOLDER_KINDS[code],
        name=name,
        id_type=letter,
        id_type_name=None if letter is None else _ID_TYPE_NAMES.get((code, letter.upper())),
        id_number=number,
        sequence=match["seq"],
    )


# --- identity numbers in extensions -----------------------------------------------------

# GB/T 20518-2006 and GM/T 0015-2012 (1.2.156.10260.4.1.x, SM2 certificates) and the
# older e-government arc 1.2.86.11.7.x (RSA certificates) carry the same numbers, but
# organisation code and business registration number swap places between the two.
_IDENTITY_EXTENSIONS: dict[str, tuple[str, bool]] = {
    "1.2.156.10260.4.1.1": (N_("identity code"), True),
    "1.2.156.10260.4.1.2": (N_("social insurance number"), True),
    "1.2.156.10260.4.1.3": (N_("business registration number"), False),
    "1.2.156.10260.4.1.4": (N_("organisation code"), False),
    "1.2.156.10260.4.1.5": (N_("tax number"), False),
    "1.2.86.11.7.1": ("identity code", True),
    "1.2.86.11.7.2": ("social insurance number", True),
    "1.2.86.11.7.3": ("organisation code", False),
    "1.2.86.11.7.4": ("business registration number", False),
    "1.2.86.11.7.5": ("tax number", False),
}
_IDENTITY_ARCS = ("1.2.156.10260.4.1.", "1.2.86.11.7.")
# IdentifyCode ::= CHOICE { residenterCardNumber [0] PrintableString,
#     militaryOfficerCardNumber [1] UTF8String, passportNumber [2] PrintableString }
# The standard does not say EXPLICIT or IMPLICIT; both are met.
_ID_KINDS = {
    0: N_("resident identity card"),
    1: N_("military officer card"),
    2: N_("passport"),
}
_CONSTRUCTED = (0x30, 0x31)
_OCTET_STRING = 0x04


def _is_identity(oid: str) -> bool:
    return oid in _IDENTITY_EXTENSIONS or oid.startswith(_IDENTITY_ARCS)


def _identity_number(oid: str, raw: bytes, critical: bool) -> IdentityNumber:
    meaning, personal = _IDENTITY_EXTENSIONS.get(oid, (N_("unknown"), True))
    number, string_type, choice = _identity_value(raw)
    is_code = meaning == "identity code"
    return IdentityNumber(
        oid=oid,
        meaning=meaning,
        personal=personal,
        number=number,
        string_type=string_type,
        id_kind=_ID_KINDS.get(choice) if is_code and choice is not None else None,
        critical=critical,
        raw=raw,
    )


def _identity_value(raw: bytes) -> tuple[Text | None, str | None, int | None]:
    """The number in an identity extension's value: (text, string type, choice tag).

    Seen in the wild: a bare string type, one wrapped in a SEQUENCE, SET or an explicit
    [n] of the IdentifyCode choice, an implicit [n], an OCTET STRING, and the bare bytes
    without any ASN.1 around them.
    """
    try:
        items = list(_tlvs(raw))
    except Exception:
        items = []
    if len(items) != 1 or len(items[0].encoded) != len(raw):
        return (decode_text(raw), None, None) if raw else (None, None, None)
    item, choice = items[0], None
    for _ in range(4):  # a few wrappers at most; deeper is not a number
        tag = item.tag
        if tag in STRING_TYPES:
            return decode_text(item.contents, string_type=tag), STRING_TYPES[tag], choice
        if tag & 0xC0 == 0x80:  # context-specific: the IdentifyCode choice
            if choice is None:
                choice = tag & 0x1F
            if not tag & 0x20:  # implicitly tagged: the contents are the string's
                return decode_text(item.contents), None, choice
        elif tag == _OCTET_STRING:
            return decode_text(item.contents), "OCTET STRING", choice
        elif tag not in _CONSTRUCTED:
            return None, None, choice
        children = list(_tlvs(item.contents))
        if not children:
            return None, None, choice
        item = children[0]
    return None, None, choice


def _strict_identity_numbers(certificate: x509.Certificate) -> tuple[IdentityNumber, ...]:
    numbers = []
    for extension in certificate.extensions:
        oid = extension.oid.dotted_string
        if _is_identity(oid):
            value = extension.value
            raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
            numbers.append(_identity_number(oid, raw, extension.critical))
    return tuple(numbers)


def _lenient_identity_numbers(certificate: Any) -> tuple[IdentityNumber, ...]:
    extensions = certificate["tbs_certificate"]["extensions"]
    if not isinstance(extensions, asn1_x509.Extensions):
        return ()  # a v1 certificate, or v3 without extensions
    numbers = []
    for extension in extensions:
        oid = str(extension["extn_id"].dotted)
        if _is_identity(oid):
            raw = bytes(extension["extn_value"].contents)
            numbers.append(_identity_number(oid, raw, bool(extension["critical"].native)))
    return tuple(numbers)


def _sm3(data: bytes) -> str | None:
    """The SM3 digest of ``data`` in hex, or None when this Python's OpenSSL has no SM3."""
    try:
        return hashlib.new("sm3", data).hexdigest()
    except ValueError:
        return None


def _escape(value: str) -> str:
    """RFC 4514 escaping, exactly as cryptography's rfc4514_string does it."""
    if not value:
        return ""
    for special in ("\\", '"', "+", ",", ";", "<", ">"):
        value = value.replace(special, "\\" + special)
    value = value.replace("\0", "\\00")
    if value[0] == "#" or (value[0] == " " and len(value) > 1):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


def _curve_name(oid: str) -> str:
    """asn1crypto's name for a curve outside our table, or the OID."""
    return str(asn1_keys.NamedCurve.map(oid))


def _reason(exc: BaseException) -> str:
    """One line for a person from a parser's exception."""
    short = re.match(
        r"Insufficient data - (\d+) bytes requested but only (\d+) available", str(exc)
    )
    if short:
        return N_("the data ends early ({have} of {need} bytes there)").format(
            have=short.group(2), need=short.group(1)
        )
    if isinstance(exc, KeyError):
        # asn1crypto's way of meeting an OID or name it has no table entry for.
        if not exc.args or not str(exc.args[0]).strip():
            return N_("unknown identifier")
        return N_("unknown identifier {name}").format(name=str(exc.args[0]).strip())
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # cryptography: 'error parsing asn1 value: ParseError { kind: InvalidValue, location: [...] }'
    match = re.search(r"kind: (\w+)(?:.*?location: \[(.*)\])?", text)
    if match:
        location = [part.strip().strip('"') for part in (match.group(2) or "").split(",")]
        where = " > ".join(part for part in location if part)
        known = _PARSE_ERRORS.get(match.group(1))
        if known is not None:
            return known[1].format(location=where) if where else known[0]
        kind = re.sub(r"(?<!^)(?=[A-Z])", " ", match.group(1)).lower()
        return f"{kind} at {where}" if where else kind
    return text[:200]


# cryptography's parse error kinds: what it found, without and with where it found it.
_PARSE_ERRORS = {
    "InvalidValue": (
        N_("a value DER does not allow"),
        N_("a value DER does not allow at {location}"),
    ),
    "InvalidLength": (
        N_("a length not encoded as DER requires"),
        N_("a length not encoded as DER requires at {location}"),
    ),
    "ExtraData": (N_("extra data inside"), N_("extra data inside at {location}")),
    "ShortData": (N_("data that ends early"), N_("data that ends early at {location}")),
    "UnexpectedTag": (N_("an unexpected tag"), N_("an unexpected tag at {location}")),
    "InvalidTag": (N_("an invalid tag"), N_("an invalid tag at {location}")),
    "InvalidSetOrdering": (
        N_("a SET OF not in DER order"),
        N_("a SET OF not in DER order at {location}"),
    ),
    "EncodedDefault": (
        N_("a DEFAULT value that DER leaves out"),
        N_("a DEFAULT value that DER leaves out at {location}"),
    ),
    "IntegerOverflow": (N_("a number too large"), N_("a number too large at {location}")),
}


def _warning_reason(message: Warning | str) -> str:
    text = str(message)
    if "serial number" in text:
        return N_("the serial number is negative or zero, which RFC 5280 forbids")
    return N_("cryptography warned: {warning}").format(warning=text.split(". ", maxsplit=1)[0])


# -- the fields that relate certificates to each other and to key objects ---------------

_SUBJECT_KEY_IDENTIFIER = "2.5.29.14"
_AUTHORITY_KEY_IDENTIFIER = "2.5.29.35"


def _with_relation_fields(certificate: Certificate) -> Certificate:
    """``certificate`` with its key identifiers and public key filled in, where readable.

    Read with asn1crypto alone, which takes every certificate cryptography does and the
    lenient ones too; each field on its own, a failure a :class:`Problem` (an absent
    extension is no problem). Never raises.
    """
    if certificate.error is not None:
        return certificate
    try:
        parsed = asn1_x509.Certificate.load(certificate.der)
        parsed["tbs_certificate"]
    except Exception:
        return certificate  # the reader already said what is wrong with it
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    readers: tuple[tuple[str, Callable[[Any], Any]], ...] = (
        ("subject_key_identifier", _subject_key_identifier),
        ("authority_key_identifier", _authority_key_identifier),
        ("public_key_info", _public_key_info),
    )
    for where, reader in readers:
        try:
            values[where] = reader(parsed)
        except Exception as exc:
            problems.append(Problem(where, _COULD_NOT_READ.format(detail=_reason(exc))))
    if values.get("public_key_info") is not None:
        try:
            values["public_key"] = public_key_from_info(values["public_key_info"], strict=True)
        except Exception as exc:
            problems.append(Problem("public_key", _COULD_NOT_READ.format(detail=_reason(exc))))
    return dataclasses.replace(certificate, problems=(*certificate.problems, *problems), **values)


def _subject_key_identifier(certificate: Any) -> bytes | None:
    value = _lenient_extension(certificate, _SUBJECT_KEY_IDENTIFIER)
    if value is None:
        return None
    if value[:1] != b"\x04":
        raise ValueError(N_("the SubjectKeyIdentifier extension is not an OCTET STRING"))
    return _contents(value)


def _authority_key_identifier(certificate: Any) -> bytes | None:
    value = _lenient_extension(certificate, _AUTHORITY_KEY_IDENTIFIER)
    if value is None:
        return None
    if value[:1] != b"\x30":
        raise ValueError(N_("the AuthorityKeyIdentifier extension is not a SEQUENCE"))
    for part in _tlvs(_contents(value)):
        if part.tag == 0x80:  # [0] IMPLICIT KeyIdentifier
            return part.contents
    return None


def _public_key_info(certificate: Any) -> bytes:
    return bytes(certificate["tbs_certificate"]["subject_public_key_info"].dump())


def public_key_from_info(info: bytes, *, strict: bool = False) -> bytes | None:
    """The public key in a SubjectPublicKeyInfo (a certificate's, or a key object's
    CKA_PUBLIC_KEY_INFO) as :attr:`Certificate.public_key` holds it: an RSA modulus
    without leading zero octets, an EC or SM2 point as is; None for other algorithms.

    Never raises unless ``strict``; then bytes that are not a SubjectPublicKeyInfo raise.
    """
    try:
        algorithm, key = list(_tlvs(_contents(info)))[:2]
        oid_tlv = next(_tlvs(algorithm.contents))
        oid = str(asn1_core.ObjectIdentifier.load(oid_tlv.encoded).dotted)
        if key.tag != 0x03 or not key.contents:
            raise ValueError(N_("the public key is not a BIT STRING"))
        bits = key.contents[1:]
        if oid in _RSA_KEYS:
            modulus = int(asn1_keys.RSAPublicKey.load(bits)["modulus"].native)
            return modulus.to_bytes((modulus.bit_length() + 7) // 8, "big")
        if oid in (_EC_KEY, _SM2):
            return bytes(bits)
        return None
    except Exception:
        if strict:
            raise
        return None
