"""Extensions for the plain reader: those cryptography parses checked exactly as it
checks them (or the certificate declined), the others passed unparsed, as it passes them."""

from __future__ import annotations

from typing import Any

from ..algorithms import (
    AUTHORITY_KEY_IDENTIFIER,
    BASIC_CONSTRAINTS,
    EKU_NAMES,
    EXTENDED_KEY_USAGE,
    KEY_USAGE,
    KEY_USAGE_BITS,
    SUBJECT_KEY_IDENTIFIER,
)
from ..parts import Extension
from .der import (
    Decline,
    ascii_text,
    bit_string,
    children,
    oid_tlv,
    only,
    positive,
    sequences,
    strict_oid,
    tlv,
)
from .names import name_contents

__all__ = ["Usage", "read_extensions"]


class Usage:
    """What the extensions say that the certificate shows."""

    def __init__(self) -> None:
        self.key_usage: tuple[str, ...] | None = None
        self.extended_key_usage: tuple[str, ...] | None = None
        self.is_ca: bool | None = None
        self.subject_key_identifier: bytes | None = None
        self.authority_key_identifier: bytes | None = None


def read_extensions(data: bytes, start: int, end: int, usage: Usage) -> list[Extension]:
    """The extensions, each checked (or left unparsed, as cryptography leaves the ones it
    does not know); what they say that the certificate shows goes into ``usage``."""
    body, stop = only(data, start, end, 0x30)
    found = []
    seen: set[str] = set()
    for _tag, extension_start, _body, extension_end in children(data, body, stop):
        encoded = data[extension_start:extension_end]
        checked = _CHECKED.get(encoded)
        if checked is None:
            checked = _key_identifier(encoded)
            if checked is None:
                checked = _check(encoded)
                if len(_CHECKED) >= _CHECKED_MAX:
                    _CHECKED.clear()
                _CHECKED[encoded] = checked
        extension, shows = checked
        if extension.oid in seen:
            raise Decline  # cryptography raises DuplicateExtension
        seen.add(extension.oid)
        vars(usage).update(shows)
        found.append(extension)
    if not found:
        raise Decline
    return found


_CHECKED: dict[bytes, tuple[Extension, dict[str, Any]]] = {}
"""The extensions checked so far, by their whole encoding, and what each shows: a token's
certificates share most of theirs (their CA's key identifier, policies, CRL points)."""
_CHECKED_MAX = 1024


def _key_identifier(encoded: bytes) -> tuple[Extension, dict[str, Any]] | None:
    """What :func:`_check` makes of a non-critical subject key identifier of a key ID
    under 119 octets (every certificate has its own: not remembered), by its 11 octets
    of header alone; None for any other extension."""
    size = len(encoded) - 11
    if size < 0 or size > 0x76:
        return None
    if encoded[:11] != bytes((0x30, size + 9, 6, 3, 0x55, 0x1D, 0x0E, 4, size + 2, 4, size)):
        return None
    identifier = encoded[11:]
    return (
        Extension(SUBJECT_KEY_IDENTIFIER, False, encoded[9:]),
        {"subject_key_identifier": identifier},
    )


def _check(encoded: bytes) -> tuple[Extension, dict[str, Any]]:
    """One Extension (its whole TLV), checked, and what it shows (:class:`Usage`'s
    attributes it sets)."""
    tag, body, end = tlv(encoded, 0, len(encoded))
    if tag != 0x30 or end != len(encoded):
        raise Decline
    oid, at = oid_tlv(encoded, body, end)
    tag, value_body, value_end = tlv(encoded, at, end)
    critical = False
    if tag == 0x01:
        if encoded[value_body:value_end] != b"\xff":
            raise Decline  # FALSE is a DEFAULT DER leaves out; other octets are BER
        critical = True
        tag, value_body, value_end = tlv(encoded, value_end, end)
    if tag != 0x04 or value_end != end:
        raise Decline
    shows = Usage()
    check = _EXTENSIONS.get(oid)
    if check is not None:
        check(encoded, value_body, value_end, shows)
    elif oid in _KNOWN_ELSEWHERE or oid.startswith(_KNOWN_ARCS):
        raise Decline
    said = {name: value for name, value in vars(shows).items() if value is not None}
    return Extension(oid, critical, encoded[value_body:value_end]), said


def _basic_constraints(data: bytes, start: int, end: int, usage: Usage) -> None:
    body, stop = only(data, start, end, 0x30)
    members = children(data, body, stop)
    if not members:
        usage.is_ca = False
        return
    tag, _start, flag_body, flag_end = members[0]
    if tag != 0x01 or data[flag_body:flag_end] != b"\xff":
        raise Decline  # FALSE encoded, BER, or a path length without cA (refused)
    if len(members) == 2:
        tag, _start, length_body, length_end = members[1]
        if tag != 0x02 or length_end - length_body > 8:
            raise Decline
        if data[length_body:length_end] != b"\x00":
            positive(data, length_body, length_end)
    elif len(members) != 1:
        raise Decline
    usage.is_ca = True


def _key_usage(data: bytes, start: int, end: int, usage: Usage) -> None:
    body, stop = only(data, start, end, 0x03)
    bits = bit_string(data, body, stop)
    if not 1 <= len(bits) <= 2:
        raise Decline
    flags = [i // 8 < len(bits) and bool(bits[i // 8] & (0x80 >> (i % 8))) for i in range(9)]
    if (flags[7] or flags[8]) and not flags[4]:
        raise Decline  # cryptography's KeyUsage refuses these without keyAgreement
    usage.key_usage = tuple(name for name, bit in zip(KEY_USAGE_BITS, flags, strict=True) if bit)


def _extended_key_usage(data: bytes, start: int, end: int, usage: Usage) -> None:
    body, stop = only(data, start, end, 0x30)
    purposes = []
    at = body
    while at < stop:
        oid, at = oid_tlv(data, at, stop)
        purposes.append(EKU_NAMES.get(oid, oid))
    if not purposes:
        raise Decline
    usage.extended_key_usage = tuple(purposes)


def _subject_key_identifier(data: bytes, start: int, end: int, usage: Usage) -> None:
    body, stop = only(data, start, end, 0x04)
    usage.subject_key_identifier = data[body:stop]


def _authority_key_identifier(data: bytes, start: int, end: int, usage: Usage) -> None:
    body, stop = only(data, start, end, 0x30)
    members = children(data, body, stop)
    if len(members) > 1 or (members and members[0][0] != 0x80):
        raise Decline  # an issuer and serial: not read here
    if members:
        usage.authority_key_identifier = data[members[0][2] : members[0][3]]


def _general_names(data: bytes, body: int, stop: int) -> None:
    names = children(data, body, stop)
    if not names:
        raise Decline
    for tag, _start, name_body, name_end in names:
        _general_name(data, tag, name_body, name_end)


def _general_name(data: bytes, tag: int, body: int, stop: int) -> None:
    if tag in (0x81, 0x82, 0x86):  # rfc822Name, dNSName, URI
        ascii_text(data, body, stop)
    elif tag == 0x87:  # iPAddress
        if stop - body not in (4, 16):
            raise Decline
    elif tag == 0x88:  # registeredID
        strict_oid(data, body, stop)
    elif tag == 0xA4:  # directoryName: [4] EXPLICIT Name
        name_body, name_end = only(data, body, stop, 0x30)
        name_contents(data, name_body, name_end)  # checked as cryptography checks it, or declined
    else:
        raise Decline  # otherName, x400Address, ediPartyName


def _alternative_names(data: bytes, start: int, end: int, _usage: Usage) -> None:
    body, stop = only(data, start, end, 0x30)
    _general_names(data, body, stop)


def _distribution_points(data: bytes, start: int, end: int, _usage: Usage) -> None:
    for point_body, point_end in sequences(data, start, end):
        # Only a distributionPoint [0] holding a fullName [0]: no reasons, no cRLIssuer.
        name_body, name_end = only(data, point_body, point_end, 0xA0)
        full_body, full_end = only(data, name_body, name_end, 0xA0)
        _general_names(data, full_body, full_end)


_CPS = "1.3.6.1.5.5.7.2.1"
_USER_NOTICE = "1.3.6.1.5.5.7.2.2"


def _policies(data: bytes, start: int, end: int, _usage: Usage) -> None:
    for policy_body, policy_end in sequences(data, start, end):
        _policy, at = oid_tlv(data, policy_body, policy_end)
        if at == policy_end:
            continue
        for qualifier_body, qualifier_end in sequences(data, at, policy_end):
            kind, at = oid_tlv(data, qualifier_body, qualifier_end)
            value_tag, value_body, value_end = tlv(data, at, qualifier_end)
            if value_end != qualifier_end:
                raise Decline
            if kind == _CPS and value_tag == 0x16:
                ascii_text(data, value_body, value_end)
            elif kind == _USER_NOTICE and value_tag == 0x30:
                _user_notice(data, value_body, value_end)
            else:
                raise Decline


def _user_notice(data: bytes, body: int, stop: int) -> None:
    """A UserNotice of an explicit text alone (no notice reference)."""
    members = children(data, body, stop)
    if not members:
        return
    if len(members) != 1:
        raise Decline
    tag, _start, text_body, text_end = members[0]
    text = data[text_body:text_end]
    if tag == 0x16:  # IA5String
        text.decode("ascii")
    elif tag == 0x0C:  # UTF8String
        text.decode("utf-8")
    elif tag == 0x1A:  # VisibleString: cryptography warns about anything not visible
        if not all(0x20 <= octet <= 0x7E for octet in text):
            raise Decline
    elif tag == 0x1E:  # BMPString
        if len(text) % 2:
            raise Decline
        text.decode("utf-16-be")
    else:
        raise Decline


def _access(data: bytes, start: int, end: int, _usage: Usage) -> None:
    for description_body, description_end in sequences(data, start, end):
        _method, at = oid_tlv(data, description_body, description_end)
        name_tag, name_body, name_end = tlv(data, at, description_end)
        if name_end != description_end:
            raise Decline
        _general_name(data, name_tag, name_body, name_end)


_EXTENSIONS: dict[str, Any] = {
    BASIC_CONSTRAINTS: _basic_constraints,
    KEY_USAGE: _key_usage,
    EXTENDED_KEY_USAGE: _extended_key_usage,
    SUBJECT_KEY_IDENTIFIER: _subject_key_identifier,
    AUTHORITY_KEY_IDENTIFIER: _authority_key_identifier,
    "2.5.29.17": _alternative_names,
    "2.5.29.31": _distribution_points,
    "2.5.29.32": _policies,
    "1.3.6.1.5.5.7.1.1": _access,
}
# Extensions cryptography parses (and may refuse) that are not checked here: the
# certificate is declined. Everything under these arcs counts as known, to be safe
# with versions that know more than this one.
_KNOWN_ARCS = ("2.5.29.", "1.3.6.1.5.5.7.1.", "1.3.6.1.4.1.11129.2.4.")
_KNOWN_ELSEWHERE = frozenset(
    {
        "1.3.36.8.3.3",  # admissions
        "1.3.6.1.4.1.311.21.7",  # MS certificate template
        "1.3.6.1.5.5.7.48.1.5",  # OCSP no check
        "1.3.6.1.5.5.7.48.1.2",  # OCSP nonce
    }
)
