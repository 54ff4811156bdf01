"""Odd encodings of certificates: DER edited into the shapes real tokens hold.

The ``with_*`` functions edit a certificate's DER, most often into something strict
parsers refuse: a negative serial, a non-minimal INTEGER, GBK bytes in a
PrintableString, a BER length, other algorithm identifiers, one more extension. They do
not re-sign: the results are for parser tests, not for chain validation. Below them, a
tiny DER toolkit (``tlv``, ``children``...): the editors must write what DER encoders
refuse to.
"""

from __future__ import annotations

__all__ = [
    "BMP_STRING",
    "PRINTABLE_STRING",
    "UTF8_STRING",
    "identity_code",
    "oid_tlv",
    "tlv",
    "with_extension",
    "with_gbk_subject_cn",
    "with_key_algorithm",
    "with_long_form_length",
    "with_negative_serial",
    "with_nonminimal_serial",
    "with_serial_contents",
    "with_signature_algorithm",
    "with_subject_value",
]

PRINTABLE_STRING = 0x13
"""The universal tag of PrintableString, for :func:`with_subject_value`."""

UTF8_STRING = 0x0C
"""The universal tag of UTF8String."""

BMP_STRING = 0x1E
"""The universal tag of BMPString (UTF-16 big-endian)."""

_TBS_FIELDS = ("serial", "signature", "issuer", "validity", "subject", "subject_public_key_info")


def with_serial_contents(der: bytes, contents: bytes) -> bytes:
    """The certificate with its serial INTEGER's content octets replaced, as given.

    Anything goes: ``b"\\xff"`` is -1, ``b"\\x00\\x01"`` is a non-minimal 1.
    """
    return _edit_tbs_field(der, "serial", tlv(0x02, contents))


def with_negative_serial(der: bytes, serial: int = -1) -> bytes:
    """The certificate with a negative (or zero) serial number, minimally encoded.

    RFC 5280 forbids it; cryptography warns and will refuse it; tokens hold them.
    """
    if serial > 0:
        raise ValueError("the serial must be negative or zero")
    length = ((-serial - 1).bit_length() + 8) // 8 if serial < 0 else 1
    return with_serial_contents(der, serial.to_bytes(length, "big", signed=True))


def with_nonminimal_serial(der: bytes) -> bytes:
    """The certificate with one superfluous leading zero octet in its serial INTEGER.

    The number is unchanged (for a positive serial); DER forbids the extra octet.
    """
    _, serial = _tbs_field(der, "serial")
    return with_serial_contents(der, b"\x00" + _contents(serial))


def with_subject_value(
    der: bytes, raw: bytes, *, tag: int = PRINTABLE_STRING, oid: str = "2.5.4.3"
) -> bytes:
    """The certificate with the subject's last ``oid`` attribute value replaced.

    The new value is the universal ``tag`` (PrintableString by default) around ``raw``
    exactly as given, so it can hold bytes the string type does not allow.
    """
    wanted = oid_tlv(oid)
    _, subject = _tbs_field(der, "subject")
    rdns = _children(subject)
    for i in reversed(range(len(rdns))):
        atvs = _children(rdns[i])
        for j in reversed(range(len(atvs))):
            parts = _children(atvs[j])
            if parts[0] == wanted:
                atvs[j] = tlv(0x30, parts[0] + tlv(tag, raw))
                rdns[i] = tlv(0x31, b"".join(atvs))
                return _edit_tbs_field(der, "subject", tlv(0x30, b"".join(rdns)))
    raise ValueError(f"the subject has no {oid} attribute")


def with_gbk_subject_cn(der: bytes, text: str) -> bytes:
    """The certificate with ``text``, encoded as GBK, as its subject CN in a PrintableString.

    PrintableString allows only a subset of ASCII; Chinese CAs' older software wrote
    GBK into it anyway.
    """
    return with_subject_value(der, text.encode("gbk"), tag=PRINTABLE_STRING)


def with_extension(der: bytes, oid: str, value: bytes, *, critical: bool = False) -> bytes:
    """The certificate with one more extension: ``oid`` with ``value`` (its extnValue
    octets, exactly as given) at the end of the extensions.

    For the extensions Chinese CAs add, e.g. an identity number
    (``with_extension(der, "1.2.156.10260.4.1.1", identity_code("1101..."))``).
    """
    extension = tlv(0x30, oid_tlv(oid) + (b"\x01\x01\xff" if critical else b"") + tlv(0x04, value))
    certificate = _children(der)
    tbs = _children(certificate[0])
    if tbs[-1][0] == 0xA3:
        extensions = _children(tbs[-1])[0]
        tbs[-1] = tlv(0xA3, tlv(0x30, _contents(extensions) + extension))
    else:
        tbs.append(tlv(0xA3, tlv(0x30, extension)))
    certificate[0] = tlv(0x30, b"".join(tbs))
    return tlv(0x30, b"".join(certificate))


def identity_code(
    number: str, *, choice: int = 0, implicit: bool = False, tag: int = PRINTABLE_STRING
) -> bytes:
    """An IdentifyCode value (GB/T 20518, GM/T 0015) for :func:`with_extension`.

    ``choice`` 0 is a resident identity card number, 1 a military officer card number,
    2 a passport number; the standard leaves the tagging open, so both EXPLICIT (the
    default, ``[n] { PrintableString }``) and ``implicit`` are made. The number is
    encoded as UTF-8 inside the string type ``tag``.
    """
    raw = number.encode("utf-8")
    if implicit:
        return tlv(0x80 | choice, raw)
    return tlv(0xA0 | choice, tlv(tag, raw))


def with_long_form_length(der: bytes) -> bytes:
    """The certificate with its outer SEQUENCE length in one octet more than needed (BER)."""
    contents = _contents(der)
    size = len(contents).to_bytes((len(contents).bit_length() + 7) // 8 + 1, "big")
    return b"\x30" + bytes([0x80 | len(size)]) + size + contents


def with_signature_algorithm(der: bytes, oid: str, *, null_parameters: bool = False) -> bytes:
    """The certificate with ``oid`` as its signature algorithm, in the TBSCertificate and
    outside it, with NULL parameters or none.

    For SM3withSM2 both forms are in use; for unknown algorithms this makes test input.
    """
    algorithm = tlv(0x30, oid_tlv(oid) + (b"\x05\x00" if null_parameters else b""))
    der = _edit_tbs_field(der, "signature", algorithm)
    parts = _children(der)
    parts[1] = algorithm
    return tlv(0x30, b"".join(parts))


def with_key_algorithm(der: bytes, oid: str, *, parameters: bytes | None = None) -> bytes:
    """The certificate with its public key's AlgorithmIdentifier replaced: ``oid`` and
    ``parameters`` (a DER TLV, or none). The key bits stay as they are.

    Some Chinese CAs write SM2 keys with the SM2 OID itself as the key algorithm instead
    of id-ecPublicKey with the SM2 curve: ``with_key_algorithm(der, "1.2.156.10197.1.301")``.
    """
    _, spki = _tbs_field(der, "subject_public_key_info")
    algorithm = tlv(0x30, oid_tlv(oid) + (parameters or b""))
    return _edit_tbs_field(der, "subject_public_key_info", _edit_children(spki, 0, algorithm))


# The DER toolkit.


def _header(data: bytes) -> tuple[int, int]:
    """(header length, content length) of the TLV at the start of ``data``."""
    first = data[1]
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    return 2 + count, int.from_bytes(data[2 : 2 + count], "big")


def _contents(node: bytes) -> bytes:
    start, length = _header(node)
    return node[start : start + length]


def _children(node: bytes) -> list[bytes]:
    contents = _contents(node)
    out = []
    while contents:
        start, length = _header(contents)
        out.append(contents[: start + length])
        contents = contents[start + length :]
    return out


def tlv(tag: int, contents: bytes) -> bytes:
    size = len(contents)
    if size < 0x80:
        return bytes([tag, size]) + contents
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + contents


def oid_tlv(oid: str) -> bytes:
    arcs = [int(arc) for arc in oid.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def _edit_children(node: bytes, index: int, replacement: bytes) -> bytes:
    parts = _children(node)
    parts[index] = replacement
    return tlv(node[0], b"".join(parts))


def _tbs_field(der: bytes, field: str) -> tuple[int, bytes]:
    """The index and TLV of a TBSCertificate field (a v1 certificate has no [0] version)."""
    parts = _children(_children(der)[0])
    index = _TBS_FIELDS.index(field) + (1 if parts[0][0] == 0xA0 else 0)
    return index, parts[index]


def _edit_tbs_field(der: bytes, field: str, replacement: bytes) -> bytes:
    index, _ = _tbs_field(der, field)
    parts = _children(der)
    parts[0] = _edit_children(parts[0], index, replacement)
    return tlv(0x30, b"".join(parts))
