"""The plain reader (:mod:`ukeytool.certificates.plain`) against the two parsers.

Whenever the plain reader takes a certificate, what it gives must be exactly what reading
it with cryptography and asn1crypto gives (the whole :class:`Certificate`, problems
included); whenever it declines, the parsers read it as before. Proved on every kind of
certificate the suite makes (minted at test time: the bank and demo tokens', the
benchmark's, ones with every extension cryptography knows, odd names, odd times, odd
encodings, each extension malformed in turn, and the public SM2 samples when they are at
hand) and on mutations of them. And it must take the clean certificates that matter, so
that the fast path is the common one.
"""

from __future__ import annotations

import datetime
import functools
import importlib.util
import ipaddress
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    ObjectIdentifier,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ukeytool.certificates.plain import read_plain
from ukeytool.certificates.x509 import read_certificate, read_with_parsers
from ukeytool.testing.demo import _demo_objects
from ukeytool.testing.der import (
    oid_tlv,
    tlv,
    with_extension,
    with_gbk_subject_cn,
    with_key_algorithm,
    with_long_form_length,
    with_negative_serial,
    with_nonminimal_serial,
    with_serial_contents,
    with_signature_algorithm,
    with_subject_value,
)
from ukeytool.testing.objects import CertObject

from .conftest import _certs

ROOT = Path(__file__).resolve().parents[1]
# Public SM2 certificates kept next to the checkout (never in it), when they are at hand.
SAMPLES = ROOT.parent / "shared" / "samples" / "sm2"
NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)

_KEY = ec.generate_private_key(ec.SECP256R1())


def _name(*attributes: tuple[ObjectIdentifier, str] | x509.NameAttribute) -> x509.Name:
    return x509.Name(
        [
            a if isinstance(a, x509.NameAttribute) else x509.NameAttribute(a[0], a[1])
            for a in attributes
        ]
    )


_ISSUER = _name((NameOID.COUNTRY_NAME, "CN"), (NameOID.COMMON_NAME, "Plain CA"))


def _build(
    *extensions: tuple[x509.ExtensionType, bool],
    subject: x509.Name | None = None,
    not_before: datetime.datetime = NOW - 10 * DAY,
    not_after: datetime.datetime = NOW + 300 * DAY,
    serial: int = 0x1234,
    key: object = None,
    private: object = None,
) -> bytes:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject if subject is not None else _name((NameOID.COMMON_NAME, "plain")))
        .issuer_name(_ISSUER)
        .public_key(key if key is not None else _KEY.public_key())  # type: ignore[arg-type]
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    signer = private if private is not None else _KEY
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    certificate = builder.sign(signer, algorithm)  # type: ignore[arg-type]
    return certificate.public_bytes(serialization.Encoding.DER)


def _directory() -> x509.DirectoryName:
    return x509.DirectoryName(
        _name(
            (NameOID.COUNTRY_NAME, "CN"),
            (NameOID.ORGANIZATION_NAME, "CFCA"),
            (NameOID.COMMON_NAME, "crl1"),
        )
    )


def _uri(text: str = "http://crl.example.cn/1.crl") -> x509.UniformResourceIdentifier:
    return x509.UniformResourceIdentifier(text)


def _rich_extensions() -> dict[str, tuple[x509.ExtensionType, bool]]:
    ski = x509.SubjectKeyIdentifier.from_public_key(_KEY.public_key())
    return {
        "bc": (x509.BasicConstraints(ca=False, path_length=None), True),
        "bc_ca": (x509.BasicConstraints(ca=True, path_length=0), True),
        "bc_ca_path": (x509.BasicConstraints(ca=True, path_length=300), True),
        "ku": (
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            True,
        ),
        "ku_agreement": (
            x509.KeyUsage(False, False, True, True, True, False, False, True, True),
            False,
        ),
        "ku_ca": (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
        "eku": (
            x509.ExtendedKeyUsage(
                [
                    ExtendedKeyUsageOID.CLIENT_AUTH,
                    ExtendedKeyUsageOID.EMAIL_PROTECTION,
                    ObjectIdentifier("1.2.156.1.8888.1"),
                ]
            ),
            False,
        ),
        "ski": (ski, False),
        "aki": (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False),
        "aki_issuer": (
            x509.AuthorityKeyIdentifier(b"\x01\x02", [_directory()], 7),
            False,
        ),
        "crldp": (
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint([_uri()], None, None, None),
                    x509.DistributionPoint([_directory()], None, None, None),
                ]
            ),
            False,
        ),
        "crldp_reasons": (
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [_uri()], None, frozenset([x509.ReasonFlags.key_compromise]), None
                    )
                ]
            ),
            False,
        ),
        "crldp_relative": (
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        None,
                        x509.RelativeDistinguishedName(
                            [x509.NameAttribute(NameOID.COMMON_NAME, "crl")]
                        ),
                        None,
                        None,
                    )
                ]
            ),
            False,
        ),
        "policies": (
            x509.CertificatePolicies(
                [
                    x509.PolicyInformation(ObjectIdentifier("2.16.156.112554.1.1"), None),
                    x509.PolicyInformation(
                        ObjectIdentifier("2.16.156.112554.1.2"),
                        [
                            "http://www.cfca.com.cn/us/us-14.htm",
                            x509.UserNotice(None, "个人证书"),
                            x509.UserNotice(None, None),
                        ],
                    ),
                ]
            ),
            False,
        ),
        "policies_notice_ref": (
            x509.CertificatePolicies(
                [
                    x509.PolicyInformation(
                        ObjectIdentifier("2.5.29.32.0"),
                        [x509.UserNotice(x509.NoticeReference("CFCA", [1, 2]), "text")],
                    )
                ]
            ),
            False,
        ),
        "aia": (
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, _uri("http://ocsp.example.cn")
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        _uri("http://ca.example.cn/ca.cer"),
                    ),
                ]
            ),
            False,
        ),
        "san": (
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("ebssec.boc.cn"),
                    x509.RFC822Name("zhang@example.cn"),
                    _uri("https://example.cn/"),
                    x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
                    x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
                    x509.RegisteredID(ObjectIdentifier("1.2.3.4")),
                    _directory(),
                ]
            ),
            False,
        ),
        "san_other": (
            x509.SubjectAlternativeName(
                [x509.OtherName(ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c\x03a@b")]
            ),
            False,
        ),
        "ian": (x509.IssuerAlternativeName([x509.DNSName("ca.example.cn")]), False),
        "name_constraints": (
            x509.NameConstraints([x509.DNSName("example.cn")], None),
            True,
        ),
        "policy_constraints": (x509.PolicyConstraints(0, None), True),
        "inhibit": (x509.InhibitAnyPolicy(0), True),
        "ocsp_nocheck": (x509.OCSPNoCheck(), False),
        "tls_feature": (x509.TLSFeature([x509.TLSFeatureType.status_request]), False),
        "freshest": (
            x509.FreshestCRL([x509.DistributionPoint([_uri()], None, None, None)]),
            False,
        ),
        "precert_poison": (x509.PrecertPoison(), True),
        "ms_template": (x509.MSCertificateTemplate(ObjectIdentifier("1.2.3.4.5"), 1, 2), False),
        "netscape": (
            x509.UnrecognizedExtension(
                ObjectIdentifier("2.16.840.1.113730.1.1"), b"\x03\x02\x07\x80"
            ),
            False,
        ),
        "identity": (
            x509.UnrecognizedExtension(
                ObjectIdentifier("1.2.156.10260.4.1.1"), b"\xa0\x08\x13\x06110101"
            ),
            False,
        ),
        "private_arc": (
            x509.UnrecognizedExtension(ObjectIdentifier("1.2.86.11.7.3"), b"not even DER"),
            True,
        ),
    }


def _names() -> dict[str, x509.Name]:
    def attribute(oid: ObjectIdentifier, value: str, kind: _ASN1Type) -> x509.NameAttribute:
        return x509.NameAttribute(oid, value, kind)

    def unchecked(
        oid: ObjectIdentifier, value: str, kind: _ASN1Type | None = None
    ) -> x509.NameAttribute:
        with warnings.catch_warnings():  # the length warning: these are test input
            warnings.simplefilter("ignore")
            return x509.NameAttribute(oid, value, kind, _validate=False)

    cn = NameOID.COMMON_NAME
    return {
        "bmp": _name(attribute(cn, "张三𝄞", _ASN1Type.BMPString)),
        "universal": _name(attribute(cn, "李四", _ASN1Type.UniversalString)),
        "t61": _name(attribute(cn, "teletex", _ASN1Type.T61String)),
        "visible": _name(attribute(cn, "visible", _ASN1Type.VisibleString)),
        "numeric": _name(attribute(NameOID.SERIAL_NUMBER, "12345", _ASN1Type.NumericString)),
        "ia5_email": _name((NameOID.EMAIL_ADDRESS, "a@b.cn"), (cn, "mail")),
        "dc_uid": _name(
            (NameOID.DOMAIN_COMPONENT, "cn"),
            (NameOID.USER_ID, "u1"),
            (NameOID.STREET_ADDRESS, "路"),
        ),
        "special": _name((cn, ' #lead, "q" +;<>\\ trail '), (NameOID.ORGANIZATION_NAME, "#")),
        "space": _name((cn, " "), (NameOID.ORGANIZATIONAL_UNIT_NAME, "  ")),
        "nul": _name((cn, "a\0b")),
        "empty": x509.Name([]),
        "multi": x509.Name(
            [
                x509.RelativeDistinguishedName(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "O+"),
                        x509.NameAttribute(cn, "multi"),
                    ]
                )
            ]
        ),
        "two_cns": _name((cn, "first"), (NameOID.ORGANIZATION_NAME, "o"), (cn, "last")),
        "cfca": _name(
            (NameOID.COUNTRY_NAME, "CN"),
            (NameOID.ORGANIZATION_NAME, "OCA1"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "Individual-1"),
            (cn, "051@张三@Z110101199001011234@1"),
        ),
        "cn_64": _name((cn, "x" * 64)),
        "cn_65": _name(unchecked(cn, "x" * 65)),
        "cn_empty": _name(unchecked(cn, "")),
        "cn_chinese_long": _name(unchecked(cn, "中" * 22)),
        "country_3": _name(unchecked(NameOID.COUNTRY_NAME, "CHN")),
        "country_chinese": _name(unchecked(NameOID.COUNTRY_NAME, "中", _ASN1Type.UTF8String)),
        "cn_utf8_at": _name(attribute(cn, "051@a@b@1", _ASN1Type.UTF8String)),
        "country_utf8": _name(attribute(NameOID.COUNTRY_NAME, "CN", _ASN1Type.UTF8String)),
        "jurisdiction": _name(unchecked(NameOID.JURISDICTION_COUNTRY_NAME, "C")),
        "unknown_oid": _name((ObjectIdentifier("1.2.156.1.2.3"), "private")),
        "given_name": _name((NameOID.GIVEN_NAME, "Gopher"), (cn, "g")),
    }


def _tweak_subject(der: bytes) -> dict[str, bytes]:
    """Name values cryptography's builder will not write."""
    return {
        "gbk_cn": with_gbk_subject_cn(der, "张三"),
        "utf8_in_printable": with_subject_value(der, "张三".encode()),
        "bad_utf8": with_subject_value(der, b"\xff\xfe", tag=0x0C),
        "odd_bmp": with_subject_value(der, b"\x00a\x00", tag=0x1E),
        "lone_surrogate": with_subject_value(der, b"\xd8\x00", tag=0x1E),
        "bit_string": with_subject_value(der, b"\x00\x01", tag=0x03),
        "octet_string": with_subject_value(der, b"abc", tag=0x04),
        "integer": with_subject_value(der, b"\x01", tag=0x02),
        "utc_time": with_subject_value(der, b"300101000000Z", tag=0x17),
        "general_string": with_subject_value(der, b"general", tag=0x1B),
        "graphic": with_subject_value(der, b"graphic", tag=0x19),
        "videotex": with_subject_value(der, b"videotex", tag=0x15),
        "bad_universal": with_subject_value(der, b"\x00\x11\x00\x00", tag=0x1C),
    }


def _validity(der: bytes, not_before: bytes, not_after: bytes) -> bytes:
    """The certificate with its Validity replaced by these two TLVs."""
    start = der.index(b"\x30\x1e\x17\x0d")  # UTCTime, UTCTime
    return der[:start] + tlv(0x30, not_before + not_after) + der[start + 32 :]


def _times(der: bytes) -> dict[str, bytes]:
    utc, general = 0x17, 0x18
    end = tlv(utc, b"301231235959Z")
    return {
        f"time_{i}": _validity(der, tlv(tag, text), end)
        for i, (tag, text) in enumerate(
            [
                (utc, b"500101000000Z"),
                (utc, b"491231235959Z"),
                (utc, b"000229000000Z"),
                (utc, b"010229000000Z"),
                (utc, b"301301000000Z"),
                (utc, b"300100000000Z"),
                (utc, b"300101240000Z"),
                (utc, b"300101006000Z"),
                (utc, b"300101000060Z"),
                (utc, b"3001010000Z"),
                (utc, b"300101000000+0800"),
                (utc, b"30010100000Z0"),
                (utc, b"300101000000z"),
                (utc, b"30010100 000Z"),
                (utc, b"+00101000000Z"),
                (general, b"20300101000000Z"),
                (general, b"99991231235959Z"),
                (general, b"19491231235959Z"),
                (general, b"00010101000000Z"),
                (general, b"20300101000000.5Z"),
                (general, b"203001010000Z"),
                (general, b"20300101000000"),
                (general, b"20240229120000Z"),
                (general, b"21000229120000Z"),
            ]
        )
    }


def _broken_extensions(der: bytes) -> dict[str, bytes]:
    """Each extension the plain reader checks, and those it leaves to the parsers, with
    values that are wrong in each way cryptography notices (and some it does not)."""
    values = [
        b"",
        b"\x05\x00",
        b"\x30\x00",
        b"\x30\x80\x00\x00",
        b"\x30\x81\x00",
        b"\x03\x00",
        b"\x03\x01\x00",
        b"\x03\x02\x07\x80",
        b"\x03\x02\x00\x80",
        b"\x03\x02\x01\x81",
        b"\x03\x02\x07\x01",
        b"\x03\x03\x07\x80\x80",
        b"\x03\x03\x00\x00\x80",
        b"\x03\x02\x00\x01",
        b"\x04\x00",
        b"\x04\x02\x01\x02",
        b"\x04\x02\x01",
        b"\x30\x03\x01\x01\x00",
        b"\x30\x03\x01\x01\x01",
        b"\x30\x03\x01\x01\xff",
        b"\x30\x06\x01\x01\xff\x02\x01\x00",
        b"\x30\x06\x01\x01\xff\x02\x01\xff",
        b"\x30\x07\x01\x01\xff\x02\x02\x00\x01",
        b"\x30\x03\x02\x01\x01",
        b"\x30\x06\x01\x01\xff\x02\x01\x01\x00",
        b"\x30\x05\x06\x03\x2b\x06\x01",
        b"\x30\x05\x06\x03\x2b\x06\x81",
        b"\x30\x06\x06\x04\x2b\x80\x06\x01",
        b"\x30\x02\x06\x00",
        b"\x30\x04\x80\x02\x01\x02",
        b"\x30\x04\xa0\x02\x01\x02",
        b"\x30\x04\x81\x02\x01\x02",
        b"\x30\x04\x82\x02ab",
        b"\x30\x04\x82\x02\xc3\xa9",
        b"\x30\x04\x86\x02ab",
        b"\x30\x04\x87\x02ab",
        b"\x30\x0a\x87\x08\x0a\x00\x00\x00\xff\x00\x00\x00",
        b"\x30\x04\x88\x02\x2b\x06",
        b"\x30\x04\xa4\x02\x30\x00",
        b"\x30\x06\xa4\x04\x30\x02\x31\x00",
        b"\x30\x04\xa3\x02\x30\x00",
        b"\x30\x04\xa5\x02\x30\x00",
        b"\x30\x06\x30\x04\xa0\x02\xa0\x00",
        b"\x30\x08\x30\x06\xa0\x04\xa0\x02\x82\x00",
        b"\x30\x08\x30\x06\xa0\x04\xa1\x02\x30\x00",
        b"\x30\x0a\x30\x08\xa0\x06\xa0\x04\x86\x02ab",
        b"\x30\x0c\x30\x0a\xa0\x06\xa0\x04\x86\x02ab\x81\x00",
        b"\x30\x0e\x30\x0c\xa0\x06\xa0\x04\x86\x02ab\x81\x02\x07\x80",
        b"\x30\x06\x30\x04\x06\x02\x2a\x03",
        b"\x30\x08\x30\x06\x06\x02\x2a\x03\x30\x00",
        b"\x30\x0e\x30\x0c\x06\x02\x2a\x03\x30\x06\x30\x04\x06\x02\x2a\x03",
        b"\x30\x11\x30\x0f\x06\x02\x2a\x03\x30\x09\x30\x07\x06\x08+\x06\x01\x05\x05\x07\x02\x01",
    ]
    cps = b"\x06\x08\x2b\x06\x01\x05\x05\x07\x02\x01"
    notice = b"\x06\x08\x2b\x06\x01\x05\x05\x07\x02\x02"
    for qualifier in (
        cps + tlv(0x16, b"http://a"),
        cps + tlv(0x16, "é".encode()),
        cps + tlv(0x0C, b"http://a"),
        cps + tlv(0x30, b""),
        notice + tlv(0x30, b""),
        notice + tlv(0x16, b"x"),
        notice + tlv(0x30, tlv(0x0C, b"text")),
        notice + tlv(0x30, tlv(0x0C, b"\xff")),
        notice + tlv(0x30, tlv(0x1A, b"visible")),
        notice + tlv(0x30, tlv(0x1A, "é".encode())),
        notice + tlv(0x30, tlv(0x1A, b"\x01")),
        notice + tlv(0x30, tlv(0x1E, "文".encode("utf-16-be"))),
        notice + tlv(0x30, tlv(0x1E, b"\x00")),
        notice + tlv(0x30, tlv(0x16, b"ia5")),
        notice + tlv(0x30, tlv(0x13, b"printable")),
        notice + tlv(0x30, tlv(0x0C, b"a") + tlv(0x0C, b"b")),
    ):
        values.append(tlv(0x30, tlv(0x30, b"\x06\x02\x2a\x03" + tlv(0x30, tlv(0x30, qualifier)))))
    found = {}
    oids = (
        "2.5.29.19",
        "2.5.29.15",
        "2.5.29.37",
        "2.5.29.14",
        "2.5.29.35",
        "2.5.29.17",
        "2.5.29.18",
        "2.5.29.31",
        "2.5.29.32",
        "2.5.29.30",
        "2.5.29.36",
        "2.5.29.54",
        "2.5.29.16",
        "1.3.6.1.5.5.7.1.1",
        "1.3.6.1.5.5.7.1.11",
        "1.3.6.1.5.5.7.1.24",
        "1.3.6.1.4.1.311.21.7",
        "1.3.36.8.3.3",
        "1.3.6.1.5.5.7.48.1.5",
        "1.3.6.1.4.1.11129.2.4.2",
        "1.3.6.1.4.1.11129.2.4.3",
        "1.2.156.10260.4.1.1",
        "2.16.840.1.113730.1.1",
    )
    for oid in oids:
        for i, value in enumerate(values):
            found[f"ext_{oid}_{i}"] = with_extension(der, oid, value)
        found[f"ext_{oid}_critical"] = with_extension(der, oid, values[2], critical=True)
    return found


def _encodings(der: bytes) -> dict[str, bytes]:
    sm2 = "1.2.156.10197.1.501"
    return {
        "negative_serial": with_negative_serial(der),
        "zero_serial": with_negative_serial(der, 0),
        "nonminimal_serial": with_nonminimal_serial(der),
        "empty_serial": with_serial_contents(der, b""),
        "long_serial": with_serial_contents(der, b"\x01" * 21),
        "longer_serial": with_serial_contents(der, b"\x01" * 22),
        "serial_21_zero": with_serial_contents(der, b"\x00" + b"\x81" * 20),
        "long_form": with_long_form_length(der),
        "trailing": der + b"\x00\x00",
        "ecdsa_null": with_signature_algorithm(der, "1.2.840.10045.4.3.2", null_parameters=True),
        "sm3_null": with_signature_algorithm(der, sm2, null_parameters=True),
        "sm3": with_signature_algorithm(der, sm2),
        "sha256_rsa_null": with_signature_algorithm(
            der, "1.2.840.113549.1.1.11", null_parameters=True
        ),
        "sha256_rsa": with_signature_algorithm(der, "1.2.840.113549.1.1.11"),
        "md5_rsa": with_signature_algorithm(der, "1.2.840.113549.1.1.4", null_parameters=True),
        "ecdsa_sha1": with_signature_algorithm(der, "1.2.840.10045.4.1"),
        "ed25519_alg": with_signature_algorithm(der, "1.3.101.112"),
        "ed25519_null": with_signature_algorithm(der, "1.3.101.112", null_parameters=True),
        "unknown_sig": with_signature_algorithm(der, "1.2.3.4"),
        "pss": with_signature_algorithm(der, "1.2.840.113549.1.1.10"),
        "sm2_key_oid": with_key_algorithm(der, "1.2.156.10197.1.301"),
        "ec_no_curve": with_key_algorithm(der, "1.2.840.10045.2.1"),
        "ec_null_curve": with_key_algorithm(der, "1.2.840.10045.2.1", parameters=b"\x05\x00"),
        "ec_sm2": with_key_algorithm(
            der, "1.2.840.10045.2.1", parameters=oid_tlv("1.2.156.10197.1.301")
        ),
        "ec_unknown_curve": with_key_algorithm(
            der, "1.2.840.10045.2.1", parameters=oid_tlv("1.3.132.0.99")
        ),
        "ec_k1": with_key_algorithm(der, "1.2.840.10045.2.1", parameters=oid_tlv("1.3.132.0.10")),
        "rsa_on_ec_bits": with_key_algorithm(der, "1.2.840.113549.1.1.1", parameters=b"\x05\x00"),
        "dsa": with_key_algorithm(der, "1.2.840.10040.4.1"),
        "v1": _as_v1(der),
        "v2": der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x01", 1),
        "v1_encoded": der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x00", 1),
        "v4": der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x03", 1),
    }


def _as_v1(der: bytes) -> bytes:
    """The certificate without version and extensions (a v1 certificate)."""
    from ukeytool.testing import der as toolkit

    certificate = toolkit._children(der)
    tbs = [c for c in toolkit._children(certificate[0]) if c[0] not in (0xA0, 0xA3)]
    certificate[0] = tlv(0x30, b"".join(tbs))
    return tlv(0x30, b"".join(certificate))


def _bench_certificates() -> list[bytes]:
    spec = importlib.util.spec_from_file_location(
        "ukeytool_bench", ROOT / "benchmarks" / "bench.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    certificates: list[bytes] = module._certificates(4)
    return certificates


def _samples() -> dict[str, bytes]:
    found = {}
    if SAMPLES.is_dir():
        for path in sorted(SAMPLES.glob("*.pem")):
            blocks = re.findall(
                rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----",
                path.read_bytes(),
                re.S,
            )
            for i, block in enumerate(blocks):
                import base64

                found[f"sample_{path.stem}_{i}"] = base64.b64decode(b"".join(block.split()))
    return found


@functools.cache
def clean() -> dict[str, bytes]:
    """The clean certificates that matter: the plain reader must take each."""
    found = {f"bank_{name}": minted.der for name, minted in _certs().items()}
    found.update({f"bench_{i}": der for i, der in enumerate(_bench_certificates())})
    demo = [o for o in _demo_objects(NOW) if isinstance(o, CertObject)]  # the demo token's
    found.update({f"demo_{i}": o.value for i, o in enumerate(demo)})
    # All but one: a serial of -1, which cryptography warns about.
    found.update({k: v for k, v in _samples().items() if "tjfoc" not in k})
    extensions = _rich_extensions()
    usual = ("bc", "ku", "eku", "ski", "aki", "crldp", "policies", "aia", "san", "identity")
    found["rich"] = _build(*(extensions[name] for name in usual))
    ed_key = ed25519.Ed25519PrivateKey.generate()
    found["ed25519"] = _build(extensions["bc"], key=ed_key.public_key(), private=ed_key)
    return found


@functools.cache
def corpus() -> dict[str, bytes]:
    """Every certificate the test compares the two ways of reading on."""
    found = dict(clean())
    found.update(_samples())
    for name, extension in _rich_extensions().items():
        found[f"only_{name}"] = _build(extension)
    for name, subject in _names().items():
        found[f"name_{name}"] = _build(subject=subject)
    base = clean()["rich"]
    found.update(_tweak_subject(_build(subject=_names()["cfca"])))
    found.update(_times(_build()))
    found.update(_broken_extensions(_build(_rich_extensions()["bc"])))
    found.update(_encodings(base))
    utc = datetime.timezone.utc
    found["generalized_2050"] = _build(not_after=datetime.datetime(2050, 1, 1, tzinfo=utc))
    found["year_1950"] = _build(not_before=datetime.datetime(1950, 1, 1, tzinfo=utc))
    found["serial_big"] = _build(serial=(1 << 159) - 1)
    found["serial_one"] = _build(serial=1)
    found["duplicate_ext"] = with_extension(base, "2.5.29.19", b"\x30\x00")
    found["duplicate_unknown"] = with_extension(
        with_extension(base, "1.2.3.4", b"a"), "1.2.3.4", b"b"
    )
    found["critical_false"] = base.replace(
        b"\x06\x03\x55\x1d\x13\x01\x01\xff", b"\x06\x03\x55\x1d\x13\x01\x01\x00", 1
    )
    return found


def test_the_plain_reader_takes_the_clean_certificates_that_matter() -> None:
    declined = [name for name, der in clean().items() if read_plain(der, "der", []) is None]
    assert declined == []
    assert any(name.startswith("sample_") for name in clean()) or not SAMPLES.is_dir()


def test_what_the_plain_reader_takes_reads_as_with_the_parsers() -> None:
    taken = 0
    for name, der in corpus().items():
        plain = read_plain(der, "der", [])
        both = read_with_parsers(der)
        if plain is not None:
            taken += 1
            assert plain == both, name
        assert read_certificate(der) == both, name
    # The comparison means something: many are taken, many are declined.
    assert 60 < taken < len(corpus()) - 200


def test_the_plain_reader_declines_what_cryptography_refuses_or_warns_about() -> None:
    for name in (
        "negative_serial",
        "zero_serial",
        "nonminimal_serial",
        "long_form",
        "ecdsa_null",
        "v2",
        "v1_encoded",
        "duplicate_ext",
        "critical_false",
        "name_country_3",
        "name_cn_65",
        "gbk_cn",
        "only_name_constraints",
        "only_aki_issuer",
        "only_san_other",
    ):
        der = corpus()[name]
        assert read_plain(der, "der", []) is None, name


def test_pem_and_trailing_bytes_keep_their_problems_first() -> None:
    der = clean()["rich"]
    pem = (
        b"-----BEGIN CERTIFICATE-----\n"
        + __import__("base64").encodebytes(der)
        + (b"-----END CERTIFICATE-----\n")
    )
    for value in (pem, der + b"\x00", pem + pem):
        assert read_certificate(value) == read_with_parsers(value)
        assert read_certificate(value).problems


# --- mutations ----------------------------------------------------------------------


def _headers(der: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, length octet position) of each TLV in the certificate, nested ones too."""
    end = len(der) if end is None else end
    while start + 2 <= end:
        first = der[start + 1]
        size = first & 0x7F if first & 0x80 else 0
        body = start + 2 + size
        length = int.from_bytes(der[start + 2 : body], "big") if size else first
        if body + length > end:
            return
        yield start, start + 1 + size
        if der[start] & 0x20:
            yield from _headers(der, body, body + length)
        start = body + length


def _extension_tlvs(der: bytes) -> list[bytes]:
    from ukeytool.testing import der as toolkit

    tbs = toolkit._children(toolkit._children(der)[0])
    if tbs[-1][0] != 0xA3:
        return []
    return toolkit._children(toolkit._children(tbs[-1])[0])


def _with_extensions(der: bytes, extensions: list[bytes]) -> bytes:
    from ukeytool.testing import der as toolkit

    certificate = toolkit._children(der)
    tbs = toolkit._children(certificate[0])
    tbs[-1] = tlv(0xA3, tlv(0x30, b"".join(extensions)))
    certificate[0] = tlv(0x30, b"".join(tbs))
    return tlv(0x30, b"".join(certificate))


_BASES = (
    "rich",
    "bench_1",
    "bank_sm2_sign",
    "bank_expired",
    "only_san",
    "only_policies",
    "only_crldp",
    "name_multi",
    "name_bmp",
    "ed25519",
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    der = corpus()[draw(st.sampled_from(_BASES))]
    kind = draw(st.sampled_from(["byte", "length", "insert", "delete", "extensions"]))
    if kind == "byte":
        at = draw(st.integers(0, len(der) - 1))
        return der[:at] + bytes([draw(st.integers(0, 255))]) + der[at + 1 :]
    if kind == "length":
        _start, at = draw(st.sampled_from(list(_headers(der))))
        value = (der[at] + draw(st.sampled_from([-2, -1, 1, 2, 0x80]))) % 256
        return der[:at] + bytes([value]) + der[at + 1 :]
    if kind == "insert":
        at = draw(st.integers(0, len(der)))
        return der[:at] + draw(st.binary(min_size=1, max_size=3)) + der[at:]
    if kind == "delete":
        at = draw(st.integers(0, len(der) - 1))
        return der[:at] + der[at + draw(st.integers(1, 3)) :]
    extensions = _extension_tlvs(der)
    if not extensions:
        return der
    index = draw(st.integers(0, len(extensions) - 1))
    how = draw(st.sampled_from(["duplicate", "truncate", "drop", "swap_value", "flip"]))
    chosen = extensions[index]
    if how == "duplicate":
        extensions.insert(draw(st.integers(0, len(extensions))), chosen)
    elif how == "truncate":
        cut = draw(st.integers(1, 6))
        extensions[index] = chosen[:-cut]
    elif how == "drop":
        del extensions[index]
    elif how == "swap_value":
        other = extensions[draw(st.integers(0, len(extensions) - 1))]
        extensions[index] = chosen[: chosen.index(b"\x04", 2)] + other[other.index(b"\x04", 2) :]
    else:
        at = draw(st.integers(2, len(chosen) - 1))
        extensions[index] = chosen[:at] + bytes([draw(st.integers(0, 255))]) + chosen[at + 1 :]
    return _with_extensions(der, extensions)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_read_as_with_the_parsers(der: bytes) -> None:
    both = read_with_parsers(der)
    plain = read_plain(der, "der", [])
    if plain is not None:
        assert plain == both
    assert read_certificate(der) == both


def test_the_holders_common_names_do_not_push_out_the_shared_rdns() -> None:
    """A token's subjects share their C and O RDNs and each has its own CN: however many
    subjects are read, the shared RDNs stay the same attribute objects (the JSON and
    text listings share what is written for them by identity), and no CN is kept."""
    from ukeytool.certificates.plain import names

    def subject(i: int) -> bytes:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "共享测试银行"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"持有人 {i}"),
            ]
        ).public_bytes()

    read = [names.read_name(subject(i)) for i in range(names._RDNS_MAX + 100)]
    assert [r[1] for r in read[:2]] == ["持有人 0", "持有人 1"]
    country, organisation = read[0][2][:2]
    for _text, _cn, attributes in read:
        assert attributes[0] is country
        assert attributes[1] is organisation
    assert all(cn is None for _shown, cn, _attributes in names._RDNS.values())
