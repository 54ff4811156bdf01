"""The raw parts of a certificate that cryptography took, found in one walk of its DER.

cryptography's view has no raw names (it re-encodes them), no SubjectPublicKeyInfo it can
read for SM2 and no way to list extensions by raw value. asn1crypto has them, but walking
its lazily parsed objects field by field cost more than everything else a listing does
(about 0.6 ms of a certificate's 0.95 ms). A certificate cryptography accepted is clean
DER, so its parts are found here by offsets alone, once; when the walk finds anything it
does not expect, :func:`split` returns None and the reader uses asn1crypto as before.
The values are the same bytes asn1crypto's ``dump()`` and ``contents`` give.
"""

from __future__ import annotations

from typing import NamedTuple

from .asn1 import definite, oid_text

__all__ = ["Extension", "Parts", "oid_text", "split"]


class Extension(NamedTuple):
    oid: str
    critical: bool
    value: bytes
    """The extnValue OCTET STRING's contents."""


class Parts(NamedTuple):
    inner_signature_oid: str
    """The algorithm the signed part (TBSCertificate.signature) names."""
    issuer: bytes
    """The issuer Name, its whole TLV."""
    subject: bytes
    """The subject Name, its whole TLV."""
    public_key_info: bytes
    """The SubjectPublicKeyInfo, its whole TLV."""
    extensions: tuple[Extension, ...] | None
    """In certificate order; None when the certificate has no extensions field."""

    def extension(self, oid: str) -> bytes | None:
        """The first extension ``oid``'s value, or None when there is none."""
        for extension in self.extensions or ():
            if extension.oid == oid:
                return extension.value
        return None


class _NotPlain(Exception):
    """Something the walk does not expect: leave the certificate to asn1crypto."""


def _next(data: bytes, start: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the definite-length TLV at ``start``."""
    found = definite(data, start, end)
    if found is None:
        raise _NotPlain
    return data[start], found[0], found[1]


def split(der: bytes) -> Parts | None:
    """The parts of the certificate ``der``, or None when it is not plain DER of the
    shape RFC 5280 gives."""
    try:
        return _split(der)
    except (_NotPlain, ValueError, TypeError):
        return None


def _split(der: bytes) -> Parts:
    tag, body, end = _next(der, 0, len(der))
    if tag != 0x30 or end != len(der):
        raise _NotPlain
    tag, position, tbs_end = _next(der, body, end)
    if tag != 0x30:
        raise _NotPlain
    children: list[tuple[int, int, int, int]] = []  # tag, start, contents, end
    while position < tbs_end:
        tag, contents, stop = _next(der, position, tbs_end)
        children.append((tag, position, contents, stop))
        position = stop
    if children and children[0][0] == 0xA0:
        children = children[1:]  # the version
    if len(children) < 6 or [c[0] for c in children[:6]] != [0x02, 0x30, 0x30, 0x30, 0x30, 0x30]:
        raise _NotPlain
    _serial, signature, issuer, _validity, subject, info = children[:6]
    oid_tag, _oid_body, oid_end = _next(der, signature[2], signature[3])
    if oid_tag != 0x06:
        raise _NotPlain
    inner_signature_oid = oid_text(der[signature[2] : oid_end])
    extensions = None
    for tag, _start, contents, stop in children[6:]:
        if tag == 0xA3:
            if extensions is not None:
                raise _NotPlain
            extensions = _extensions(der, contents, stop)
        elif tag not in (0x81, 0x82):
            raise _NotPlain
    return Parts(
        inner_signature_oid=inner_signature_oid,
        issuer=der[issuer[1] : issuer[3]],
        subject=der[subject[1] : subject[3]],
        public_key_info=der[info[1] : info[3]],
        extensions=extensions,
    )


def _extensions(der: bytes, start: int, end: int) -> tuple[Extension, ...]:
    tag, position, stop = _next(der, start, end)
    if tag != 0x30 or stop != end:
        raise _NotPlain
    found = []
    while position < stop:
        tag, body, extension_end = _next(der, position, stop)
        if tag != 0x30:
            raise _NotPlain
        oid_tag, _oid_body, oid_end = _next(der, body, extension_end)
        if oid_tag != 0x06:
            raise _NotPlain
        oid = oid_text(der[body:oid_end])
        tag, value_body, value_end = _next(der, oid_end, extension_end)
        critical = False
        if tag == 0x01:
            if value_end - value_body != 1:
                raise _NotPlain
            critical = der[value_body] != 0
            tag, value_body, value_end = _next(der, value_end, extension_end)
        if tag != 0x04 or value_end != extension_end:
            raise _NotPlain
        found.append(Extension(oid, critical, der[value_body:value_end]))
        position = extension_end
    return tuple(found)
