"""PKCS#7 / CMS SignedData (``.p7b``, ``.p7c``): the certificates of its list, each one's
bytes as they are in the file (a broken one is still an entry, which the certificate
reader judges)."""

from __future__ import annotations

from asn1crypto import cms as asn1_cms

from ...i18n.message import Message, template
from ...model import Problem
from ..asn1 import tlv_end
from .found import IN_CONTAINER, PKCS7_CERTIFICATE, Found, Raw, why

__all__ = ["NO_CERTIFICATE_LIST", "PKCS7_TYPES", "SIGNED_DATA", "pkcs7"]

SIGNED_DATA = "1.2.840.113549.1.7.2"
PKCS7_TYPES = {
    "1.2.840.113549.1.7.1": "data",
    SIGNED_DATA: "signedData",
    "1.2.840.113549.1.7.3": "envelopedData",
    "1.2.840.113549.1.7.5": "digestedData",
    "1.2.840.113549.1.7.6": "encryptedData",
    "1.2.840.113549.1.9.16.1.2": "authData",
}

NO_CERTIFICATE_LIST = template(
    "file.pkcs7_no_certificate_list", "a PKCS#7/CMS {name}, which holds no certificate list"
)
UNREADABLE = template("file.pkcs7_unreadable", "not a readable PKCS#7 structure: {error}")
NO_CERTIFICATES = template("file.pkcs7_no_certificates", "a PKCS#7 SignedData without certificates")
CUT_AFTER_ONE = template(
    "file.pkcs7_cut_after_one", "its certificate list is cut short after 1 certificate"
)
CUT_AFTER = template(
    "file.pkcs7_cut_after", "its certificate list is cut short after {number} certificates"
)

WHOLE_FILE = "PKCS#7"
"""Where a problem of a DER PKCS#7 file is: the file's structure as a whole."""


def pkcs7(der: bytes, where: Message | None, found: Found) -> None:
    """The certificates of a SignedData into ``found``; ``where`` is the location of the
    PKCS#7 in its file (a PEM block), None when it is the whole (DER) file."""
    place: Message | str = WHOLE_FILE if where is None else where
    try:
        info = asn1_cms.ContentInfo.load(der)
        kind = info["content_type"].dotted
        if kind != SIGNED_DATA:
            name = PKCS7_TYPES.get(kind, kind)
            found.problems.append(Problem(place, NO_CERTIFICATE_LIST(name=name)))
            return
        certificates = info["content"]["certificates"]
        # The set's elements are walked here, not by asn1crypto, which would parse each
        # certificate and refuse a broken one: read_certificate is to judge those.
        listed = bytes(certificates.contents or b"")  # Void (absent) has none
    except Exception as exc:
        found.problems.append(Problem(place, UNREADABLE(error=why(exc))))
        return
    if not listed:
        found.problems.append(Problem(place, NO_CERTIFICATES()))
        return
    offset = number = 0
    while offset < len(listed) and found.take():
        end = tlv_end(listed, offset)
        if end is None:
            cut = CUT_AFTER_ONE() if number == 1 else CUT_AFTER(number=number)
            found.problems.append(Problem(place, cut))
            return
        if listed[offset] == 0x30:  # others are attribute certificates, not X.509 ones
            number += 1
            here = (
                PKCS7_CERTIFICATE(number=number)
                if where is None
                else IN_CONTAINER(outer=where, number=number)
            )
            found.certificates.append(Raw(listed[offset:end], here))
        offset = end
