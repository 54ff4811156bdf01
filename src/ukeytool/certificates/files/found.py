"""What a file holds before it becomes entries, and where in the file each part is.

A location is a :class:`~ukeytool.Message` (``"PEM block 3 (line 40)"``,
``"PKCS#12 content 2, bag 1"``); a part inside another part is a message whose ``outer``
parameter is the outer part's location, so a location of any depth is shown wholly in
the reader's language, and ``str()`` gives the English that JSON keeps. The few places
that are not in the file's structure (``"file"``, ``"content"``, ``"password"``,
``"PKCS#7"``) are plain codes, the same in every language.
"""

from __future__ import annotations

import dataclasses

from ...i18n.message import Message, template
from ...model import Problem
from ..reasons import Unreadable

__all__ = [
    "AT_BYTE",
    "DER_CERTIFICATE",
    "IN_CONTAINER",
    "NOT_READ",
    "PEM_BLOCK",
    "PKCS7_CERTIFICATE",
    "PKCS12_BAG",
    "PKCS12_CONTENT",
    "PKCS12_CONTENTS",
    "PKCS12_INNER_BAG",
    "Found",
    "Key",
    "Raw",
    "why",
]

PEM_BLOCK = template("file.location.pem_block", "PEM block {number} (line {line})")
DER_CERTIFICATE = template(
    "file.location.der_certificate", "DER certificate {number} (byte {offset})"
)
AT_BYTE = template("file.location.byte", "byte {offset}")
PKCS7_CERTIFICATE = template("file.location.pkcs7_certificate", "PKCS#7 certificate {number}")
IN_CONTAINER = template("file.location.certificate_in", "{outer}, certificate {number}")
"""A certificate inside another location (a PKCS#7 in a PEM block, a PKCS#12 content)."""
PKCS12_CONTENT = template("file.location.pkcs12_content", "PKCS#12 content {number}")
PKCS12_CONTENTS = template("file.location.pkcs12_contents", "PKCS#12 contents {numbers}")
PKCS12_BAG = template("file.location.pkcs12_bag", "PKCS#12 content {content}, bag {number}")
PKCS12_INNER_BAG = template("file.location.pkcs12_inner_bag", "{outer}, inner bag {number}")
"""A bag in a bag of bags: ``outer`` is the location of the bag that holds it."""

NOT_READ = template("file.part_unreadable", "could not be read: {error}")


@dataclasses.dataclass
class Raw:
    """A certificate's bytes as the file holds them, and where."""

    der: bytes
    location: Message
    label: bytes | None = None
    """Label text as UTF-8 bytes (PKCS#12 friendlyName, OpenSSL alias)."""
    id: bytes | None = None


@dataclasses.dataclass
class Key:
    """A private key in the file: what ties it to its certificate, never the key."""

    location: Message
    algorithm: str | None = None
    public_key_sha256: str | None = None
    local_key_id: bytes | None = None


@dataclasses.dataclass
class Found:
    """Everything read from one file so far."""

    format: str | None
    certificates: list[Raw] = dataclasses.field(default_factory=list)
    keys: list[Key] = dataclasses.field(default_factory=list)
    problems: list[Problem] = dataclasses.field(default_factory=list)


def why(exc: BaseException) -> Message | str:
    """What went wrong: a reader's own message, else the parser's first line as it is."""
    if isinstance(exc, Unreadable):
        return exc.message
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
