"""Relations between a token's certificates and keys, and findings about a certificate
(worked out by :mod:`ukeytool.judging.relations`; the rules are in docs/relations.md).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum

from ..i18n.message import Message
from .text import Text

__all__ = ["CertificateLink", "Finding", "KeyMatch", "KeyPresence", "PairLink", "Role", "Severity"]


@enum.unique
class Role(str, enum.Enum):
    """What a certificate is among the certificates of its token."""

    ROOT = "root"
    """Self-signed, and a CA: a CA certificate (BasicConstraints cA or keyCertSign), or a
    self-signed certificate that issued others on the same token."""
    INTERMEDIATE = "intermediate"
    """A CA certificate issued by another CA (whether or not that one is on the token)."""
    END_ENTITY = "end_entity"
    """Not a CA: a person's, a server's or an organisation's certificate."""
    SELF_SIGNED = "self_signed"
    """Self-signed but not a CA (a self-made end-entity certificate)."""
    UNKNOWN = "unknown"
    """The certificate could not be read well enough to tell."""

    def __str__(self) -> str:
        return self.value


@enum.unique
class Severity(str, enum.Enum):
    """How much a :class:`Finding` matters."""

    CRITICAL = "critical"
    """The certificate gives no real security any more: replace it now."""
    WARNING = "warning"
    """Weak or about to cause trouble: plan to replace it."""
    INFO = "info"
    """Worth knowing; nothing needs doing."""

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class Finding:
    """Something about a certificate a user should act on, apart from its validity."""

    code: str
    """Stable, for scripts: ``"weak-rsa-key"``, ``"sha1-signature"``, ``"md5-signature"``,
    ``"obsolete-signature-hash"``, ``"no-signing-key-usage"``, ``"no-key-usage"``,
    ``"ca-expires-before-child"``, ``"key-id-mismatch"`` (see docs/relations.md)."""
    severity: Severity
    message: Message
    """One sentence for a person: what is wrong and what to do."""


@dataclasses.dataclass(frozen=True)
class CertificateLink:
    """Another certificate object on the same token."""

    handle: int
    """Its object handle (unique on the token within the listing)."""
    sha256: str
    """Its SHA-256 fingerprint."""
    label: Text | None
    """Its CKA_LABEL."""
    subject_cn: str | None
    """Its subject's common name."""
    by: str
    """How the link was found: ``"key_identifier"`` (this certificate's
    AuthorityKeyIdentifier is that one's SubjectKeyIdentifier) or ``"name"`` (this
    certificate's issuer name is that one's subject name). Signatures are not verified."""


@dataclasses.dataclass(frozen=True)
class PairLink:
    """The other half of an SM2 signing + encryption certificate pair."""

    partner: CertificateLink
    """The other certificate (``by`` is ``"subject_and_issuer"``)."""
    usage: str
    """This certificate's half: ``"signing"`` or ``"encryption"``."""
    not_after: datetime.datetime | None
    """The pair's earliest expiry: the earlier not_after of the two; None when either is
    unknown. The pair is renewed together, so this is when it must be renewed by."""
    days_left: int | None
    """Days left of the half that expires first (as :attr:`Validity.days_left`)."""


@dataclasses.dataclass(frozen=True)
class KeyMatch:
    """A key object that belongs to a certificate."""

    handle: int
    key_class: str
    """``"private"`` or ``"public"``."""
    label: Text | None
    by: tuple[str, ...]
    """How it was matched: ``"id"`` (the same non-empty CKA_ID) and/or ``"public_key"``
    (the same RSA modulus or EC point)."""


@dataclasses.dataclass(frozen=True)
class KeyPresence:
    """Whether a certificate's key is on its token, and how that is known."""

    state: str
    """``"yes"``: its private key is on the token, or (where private keys cannot be seen
    without login) its public key object is; ``"no"``: private keys were visible, the key
    search was complete, and none belongs to it; ``"unknown"``: private keys could not
    be seen (no login) or the key search did not finish, and no key object matched."""
    private_key: str
    """The same question for the private key alone: ``"yes"``, ``"no"`` or ``"unknown"``."""
    matches: tuple[KeyMatch, ...] = ()
    """The key objects that belong to the certificate, private keys first."""
    reason: Message | None = None
    """One sentence for a person saying how the answer was reached."""
    search_finished: bool = True
    """False when the key objects could not all be listed (the key search did not
    finish): an ``"unknown"`` then says that, not that private keys need a login."""
