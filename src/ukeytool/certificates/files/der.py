"""DER files, told apart by their first tags alone: one certificate or several one
after the other, a PKCS#7/CMS SignedData, or a PKCS#12 PFX. A damaged file still gets
the reader for its kind, which says what is wrong with it."""

from __future__ import annotations

from ...i18n.message import Message, template
from ...model import Problem
from ..asn1 import header, oid_at, small_integer_at, tlv_end
from .found import AT_BYTE, DER_CERTIFICATE, Found, Raw
from .pkcs7 import NO_CERTIFICATE_LIST, PKCS7_TYPES, SIGNED_DATA, pkcs7
from .pkcs12 import PasswordSource, pkcs12

__all__ = ["der", "der_kind"]

_TRAILING_FILLER = b" \t\r\n\x00\x1a"

NOT_A_CERTIFICATE_FILE = template("file.not_certificate_file", "not a certificate file: {detail}")
NO_CERTIFICATE = template("file.no_certificate", "the file holds no certificate")
CUT_HEADER = template("file.der_cut_header", "DER that ends inside its first header")
EMPTY_SEQUENCE = template("file.der_empty_sequence", "an empty DER SEQUENCE")
UNKNOWN_OID = template(
    "file.der_unknown_oid", "DER of an unknown kind (a SEQUENCE starting with the OID {oid})"
)
PRIVATE_KEY = template(
    "file.der_private_key", "a private key (PKCS#8 or PKCS#1 DER), no certificate"
)
UNKNOWN_TAG = template(
    "file.der_unknown_tag", "DER of an unknown kind (a SEQUENCE starting with tag {tag})"
)
TRAILING_BYTE = template(
    "file.der_trailing_byte",
    "1 byte after certificate {number} is not a certificate; it was not read",
)
TRAILING_BYTES = template(
    "file.der_trailing_bytes",
    "{count} bytes after certificate {number} are not a certificate; they were not read",
)


def der(data: bytes, path: str, password: PasswordSource) -> Found:
    """Everything in the DER file ``data``."""
    kind = der_kind(data)
    if kind == "pkcs12":
        found = Found("pkcs12")
        pkcs12(data, path, password, found)
    elif kind == "pkcs7":
        found = Found("pkcs7")
        pkcs7(data, None, found)
    elif kind == "certificate":
        found = Found("der")
        _certificates(data, found)
    else:
        found = Found(None)
        found.problems.append(Problem("content", NOT_A_CERTIFICATE_FILE(detail=kind)))
    if not found.certificates and not found.problems:
        found.problems.append(Problem("content", NO_CERTIFICATE()))
    return found


def der_kind(data: bytes) -> str | Message:
    """``"certificate"``, ``"pkcs7"`` or ``"pkcs12"``, else a message saying what else
    the DER seems to be, from its first tags alone."""
    outer = header(data, 0)
    if outer is None:
        return CUT_HEADER()
    inner = outer[0]
    if inner >= len(data):
        return EMPTY_SEQUENCE()
    tag = data[inner]
    if tag == 0x30:
        return "certificate"  # tbsCertificate; a broken one is still reported as one
    if tag == 0x06:
        oid = oid_at(data, inner)
        if oid == SIGNED_DATA:
            return "pkcs7"
        if oid in PKCS7_TYPES:
            return NO_CERTIFICATE_LIST(name=PKCS7_TYPES[oid])
        return UNKNOWN_OID(oid=str(oid))
    if tag == 0x02:
        version = small_integer_at(data, inner)
        after = tlv_end(data, inner)
        if version == 3 and after is not None and after < len(data) and data[after] == 0x30:
            content = header(data, after)
            if content is not None and after + content[0] < len(data):
                oid = oid_at(data, after + content[0])
                if oid in PKCS7_TYPES:
                    return "pkcs12"
        if version in (0, 1):
            return PRIVATE_KEY()
    return UNKNOWN_TAG(tag=f"0x{tag:02x}")


def _certificates(data: bytes, found: Found) -> None:
    """One DER certificate, or several written one after the other."""
    offset = 0
    number = 0
    while offset < len(data):
        if data[offset] != 0x30:
            rest = data[offset:]
            if rest.strip(_TRAILING_FILLER):
                message = (
                    TRAILING_BYTE(number=number)
                    if len(rest) == 1
                    else TRAILING_BYTES(count=len(rest), number=number)
                )
                found.problems.append(Problem(AT_BYTE(offset=offset), message))
            return
        if not found.take():
            return
        number += 1
        end = tlv_end(data, offset)
        # A certificate cut short takes the rest: read_certificate says what is wrong.
        certificate = data[offset:] if end is None else data[offset:end]
        found.certificates.append(Raw(certificate, DER_CERTIFICATE(number=number, offset=offset)))
        if end is None:
            return
        offset = end
