"""The certificates and keys found in one certificate file (PEM, DER, PKCS#7, PKCS#12)."""

from __future__ import annotations

import dataclasses
import datetime

from ..i18n.message import Message
from .problem import Problem
from .report import CertificateEntry

__all__ = ["FileKey", "FileReport"]


@dataclasses.dataclass(frozen=True)
class FileKey:
    """A private key found next to certificates in a file: a PKCS#12 key bag or a PEM key.

    Only what tells which certificate it belongs to is kept, never the key itself; an
    encrypted key is not decrypted (its certificate is found by its PKCS#12 localKeyId).
    """

    location: Message
    """Where in the file, e.g. ``"PKCS#12 content 2, bag 1"`` or ``"PEM block 3 (line 40)"``."""
    algorithm: str | None
    """``"RSA"``, ``"EC"``, ``"SM2"``... when the key is not encrypted; None when it is."""
    public_key_sha256: str | None
    """SHA-256 of the public key's bits (the subjectPublicKey BIT STRING contents of its
    certificate), lowercase hex; None when it cannot be known without decrypting the key."""
    local_key_id: bytes | None
    """The PKCS#12 localKeyId attribute (the same value marks the key's certificate)."""
    certificates: tuple[int, ...] = ()
    """The positions (:attr:`CertificateEntry.handle`) of the file's certificates for
    this key: same public key, or the same localKeyId when the public key is not known."""


@dataclasses.dataclass(frozen=True)
class FileReport:
    """The certificates in one file (PEM, DER, PKCS#7 or PKCS#12), judged at one moment.

    Each certificate is a :class:`CertificateEntry` like a token's: the same
    :class:`Certificate` and :class:`Validity` for the same bytes. A file has no object
    handles: :attr:`CertificateEntry.handle` is the certificate's position in the file,
    from 1; :attr:`CertificateEntry.label` and :attr:`CertificateEntry.id` are a PKCS#12
    friendlyName and localKeyId (or an OpenSSL trusted certificate's alias and key id),
    None otherwise; :attr:`CertificateEntry.location` says where it was found.
    """

    path: str
    """The path as given."""
    format: str | None
    """``"pem"``, ``"der"``, ``"pkcs7"`` or ``"pkcs12"``; None when the file could not be
    read or is none of them."""
    certificates: tuple[CertificateEntry, ...]
    at: datetime.datetime
    """The moment validity was judged at (aware)."""
    warn_days: int
    """Certificates that expire within this many days are :attr:`Status.EXPIRING`."""
    keys: tuple[FileKey, ...] = ()
    """Private keys in the file, and which certificates they belong to."""
    problems: tuple[Problem, ...] = ()
    """What could not be read: the file itself (``where="file"``), its content as a whole
    (``where="content"``), or a located part (``"PEM block 2 (line 14)"``,
    ``"PKCS#12 MAC"``...). One bad part hides nothing else."""

    @property
    def opened(self) -> bool:
        """False when the file could not be opened or read at all (not found, no
        permission, a directory)."""
        return not any(p.where == "file" for p in self.problems)

    @property
    def complete(self) -> bool:
        """True when nothing failed: the whole file was read."""
        return not self.problems and all(not c.problems for c in self.certificates)
