"""Why a parser failed, as a message: the words of cryptography and asn1crypto made into
one line for a person, and the exception the readers raise with a message of their own.

What a parser says that is known (cryptography's ``ParseError`` kinds, asn1crypto's
"Insufficient data", an unknown OID) becomes one of the templates below; anything else
is the parser's own first line, kept as text (never translated).
"""

from __future__ import annotations

import re

from ..i18n.message import Message, template

__all__ = ["Unreadable", "reason", "warning_reason"]


class Unreadable(ValueError):
    """A reader's own reason for giving up on a field or a part, as a message."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


DATA_ENDS_EARLY = template(
    "certificate.data_ends_early", "the data ends early ({have} of {need} bytes there)"
)
UNKNOWN_IDENTIFIER = template("certificate.unknown_identifier", "unknown identifier")
UNKNOWN_IDENTIFIER_NAMED = template(
    "certificate.unknown_identifier_named", "unknown identifier {name}"
)
PARSE_ERROR_AT = template("certificate.parse_error_at", "{kind} at {location}")
NEGATIVE_SERIAL = template(
    "certificate.negative_serial",
    "the serial number is negative or zero, which RFC 5280 forbids",
)
CRYPTOGRAPHY_WARNED = template("certificate.cryptography_warned", "cryptography warned: {warning}")

# cryptography's parse error kinds: what it found, without and with where it found it.
_PARSE_ERRORS = {
    "InvalidValue": (
        template("certificate.parse.invalid_value", "a value DER does not allow"),
        template("certificate.parse.invalid_value_at", "a value DER does not allow at {location}"),
    ),
    "InvalidLength": (
        template("certificate.parse.invalid_length", "a length not encoded as DER requires"),
        template(
            "certificate.parse.invalid_length_at",
            "a length not encoded as DER requires at {location}",
        ),
    ),
    "ExtraData": (
        template("certificate.parse.extra_data", "extra data inside"),
        template("certificate.parse.extra_data_at", "extra data inside at {location}"),
    ),
    "ShortData": (
        template("certificate.parse.short_data", "data that ends early"),
        template("certificate.parse.short_data_at", "data that ends early at {location}"),
    ),
    "UnexpectedTag": (
        template("certificate.parse.unexpected_tag", "an unexpected tag"),
        template("certificate.parse.unexpected_tag_at", "an unexpected tag at {location}"),
    ),
    "InvalidTag": (
        template("certificate.parse.invalid_tag", "an invalid tag"),
        template("certificate.parse.invalid_tag_at", "an invalid tag at {location}"),
    ),
    "InvalidSetOrdering": (
        template("certificate.parse.set_order", "a SET OF not in DER order"),
        template("certificate.parse.set_order_at", "a SET OF not in DER order at {location}"),
    ),
    "EncodedDefault": (
        template("certificate.parse.encoded_default", "a DEFAULT value that DER leaves out"),
        template(
            "certificate.parse.encoded_default_at",
            "a DEFAULT value that DER leaves out at {location}",
        ),
    ),
    "IntegerOverflow": (
        template("certificate.parse.integer_overflow", "a number too large"),
        template("certificate.parse.integer_overflow_at", "a number too large at {location}"),
    ),
}


def reason(exc: BaseException) -> Message | str:
    """One line for a person from a parser's exception (or a reader's :class:`Unreadable`):
    a message where the parser's words are known, else its first line as it is."""
    if isinstance(exc, Unreadable):
        return exc.message
    short = re.match(
        r"Insufficient data - (\d+) bytes requested but only (\d+) available", str(exc)
    )
    if short:
        return DATA_ENDS_EARLY(have=int(short.group(2)), need=int(short.group(1)))
    if isinstance(exc, KeyError):
        # asn1crypto's way of meeting an OID or name it has no table entry for.
        if not exc.args or not str(exc.args[0]).strip():
            return UNKNOWN_IDENTIFIER()
        return UNKNOWN_IDENTIFIER_NAMED(name=str(exc.args[0]).strip())
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # cryptography: 'error parsing asn1 value: ParseError { kind: InvalidValue, location: [...] }'
    match = re.search(r"kind: (\w+)(?:.*?location: \[(.*)\])?", text)
    if match:
        location = [part.strip().strip('"') for part in (match.group(2) or "").split(",")]
        where = " > ".join(part for part in location if part)
        known = _PARSE_ERRORS.get(match.group(1))
        if known is not None:
            return known[1](location=where) if where else known[0]()
        kind = re.sub(r"(?<!^)(?=[A-Z])", " ", match.group(1)).lower()
        return PARSE_ERROR_AT(kind=kind, location=where) if where else kind
    return text[:200]


def warning_reason(warning: Warning | str) -> Message:
    """Why cryptography warned about a certificate (it has announced it will refuse
    those), as a message."""
    text = str(warning)
    if "serial number" in text:
        return NEGATIVE_SERIAL()
    return CRYPTOGRAPHY_WARNED(warning=text.split(". ", maxsplit=1)[0])
