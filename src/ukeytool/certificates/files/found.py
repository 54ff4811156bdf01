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
    "MAX_DEPTH",
    "MAX_PARTS",
    "MAX_UNREADABLE_IN_A_ROW",
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

MAX_PARTS = 10_000
"""At most this many parts (PEM blocks, DER certificates, PKCS#7 list elements, PKCS#12
contents and bags) are read from one file; the rest is a problem. A certificate file
holds a handful; the largest real bundles (a system's CA store) hold a few hundred."""
MAX_DEPTH = 8
"""At most this many containers inside each other (a PKCS#12 bag of bags of bags...);
real files nest one or two."""
MAX_UNREADABLE_IN_A_ROW = 100
"""After this many certificates in a row that cannot be read, the rest of the file is
not read: it is not a list of certificates (1 MB of empty SEQUENCEs would otherwise be
half a million unreadable entries)."""

TOO_MANY_PARTS = template(
    "file.too_many_parts",
    "the file holds more than {limit} parts; only the first {limit} were read",
)
TOO_DEEP = template(
    "file.too_deep",
    "containers nested more than {limit} deep; the innermost were not read",
)
UNREADABLE_IN_A_ROW = template(
    "file.unreadable_in_a_row",
    "after {count} certificates in a row that could not be read, the rest of the file was not read",
)


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
    parts: int = 0
    """How many parts were taken so far (see :data:`MAX_PARTS`)."""

    def take(self) -> bool:
        """Count one more part; False (and, the first time, a problem) when the file
        already gave :data:`MAX_PARTS` of them and this one is not to be read."""
        self.parts += 1
        if self.parts <= MAX_PARTS:
            return True
        if self.parts == MAX_PARTS + 1:
            self.problems.append(Problem("content", TOO_MANY_PARTS(limit=MAX_PARTS)))
        return False


def why(exc: BaseException) -> Message | str:
    """What went wrong: a reader's own message, else the parser's first line as it is."""
    if isinstance(exc, Unreadable):
        return exc.message
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
