"""The indexes that keep relating linear (docs/relations.md, "Cost"): certificates by
subject key identifier and by subject name, key objects by CKA_ID and by public key, each
built once per token, so that a lookup costs what it finds, not the token's size."""

from __future__ import annotations

from collections.abc import Sequence

from ..model import Certificate, CertificateEntry, KeyObject

__all__ = ["IssuerIndex", "KeyIndex", "comparable_name", "is_ca", "self_signed"]


def comparable_name(value: str | None) -> str | None:
    """A name for comparing: case and runs of blanks do not count (as RFC 5280 7.1's
    preparation mostly does)."""
    if value is None:
        return None
    return " ".join(value.casefold().split())


def is_ca(cert: Certificate) -> bool:
    """Marked as a CA: BasicConstraints cA, or (without BasicConstraints) keyCertSign."""
    if cert.is_ca is not None:
        return cert.is_ca
    return cert.key_usage is not None and "keyCertSign" in cert.key_usage


def self_signed(cert: Certificate, index: IssuerIndex | None = None) -> bool:
    """Self-signed: said so by the parser, or subject and issuer the same name, and not a
    key rollover. ``index``: the token's, whose names are folded once."""
    name = comparable_name if index is None else index.name
    if not (
        cert.self_signed or (cert.subject is not None and name(cert.subject) == name(cert.issuer))
    ):
        return False
    # Self-issued with another key (a CA's key rollover certificate) is not self-signed.
    ski, aki = cert.subject_key_identifier, cert.authority_key_identifier
    return ski is None or aki is None or ski == aki


class IssuerIndex:
    """Which certificate on the token issued which: by key identifier, else by name;
    among several, CAs before others, then token order. Each list of candidates is
    ranked once, and a certificate is never its own issuer (nor is a copy of it), so the
    best candidate is the first of its list, or the first one that is another
    certificate: constant work per certificate."""

    def __init__(self, certs: Sequence[Certificate | None]) -> None:
        self.names: dict[str, str | None] = {}
        """Each name's :func:`comparable_name`, made once per distinct name (the
        certificates of one issuer share its name)."""
        by_key: dict[bytes, list[int]] = {}
        by_name: dict[str, list[int]] = {}
        by_name_without_key: dict[str, list[int]] = {}
        for j, other in enumerate(certs):
            if other is None:
                continue
            if other.subject_key_identifier is not None:
                by_key.setdefault(other.subject_key_identifier, []).append(j)
            name = self.name(other.subject)
            if name is not None:
                by_name.setdefault(name, []).append(j)
                if other.subject_key_identifier is None:
                    by_name_without_key.setdefault(name, []).append(j)
        self.certs = certs
        self.by_key = {k: self._best_two(v) for k, v in by_key.items()}
        self.by_name = {k: self._best_two(v) for k, v in by_name.items()}
        self.by_name_without_key = {k: self._best_two(v) for k, v in by_name_without_key.items()}

    def name(self, value: str | None) -> str | None:
        """:func:`comparable_name` of ``value``, folded once per distinct value."""
        if value is None:
            return None
        try:
            return self.names[value]
        except KeyError:
            made = self.names[value] = comparable_name(value)
            return made

    def _best_two(self, indices: list[int]) -> tuple[int, ...]:
        """The best-ranked candidate, and the best one that is another certificate."""

        def rank(j: int) -> tuple[int, int]:
            cert = self.certs[j]
            return (0 if cert is not None and is_ca(cert) else 1, j)

        ranked = sorted(indices, key=rank)
        first = ranked[0]
        digest = self._sha256(first)
        other = next((j for j in ranked if self._sha256(j) != digest), None)
        return (first,) if other is None else (first, other)

    def _sha256(self, j: int) -> str | None:
        cert = self.certs[j]
        return None if cert is None else cert.sha256

    def _pick(self, best: tuple[int, ...] | None, cert: Certificate) -> int | None:
        for j in best or ():
            if self._sha256(j) != cert.sha256:
                return j
        return None

    def issuer(self, cert: Certificate | None, *, signed_by_itself: bool) -> tuple[int, str] | None:
        """(index, how) of the certificate on the token that issued ``cert``
        (``signed_by_itself``: :func:`self_signed` of it, which the caller has)."""
        if cert is None or cert.issuer is None:
            return None
        if signed_by_itself:
            return None
        issuer_name = self.name(cert.issuer) or ""
        aki = cert.authority_key_identifier
        if aki is not None:
            # Key identifiers first; a certificate of the same name with another key
            # identifier is a renewed CA, not this one's issuer.
            j = self._pick(self.by_key.get(aki), cert)
            if j is not None:
                return j, "key_identifier"
            j = self._pick(self.by_name_without_key.get(issuer_name), cert)
        else:
            j = self._pick(self.by_name.get(issuer_name), cert)
        return None if j is None else (j, "name")


def key_values(key: KeyObject) -> set[bytes]:
    """The public key as the key object gives it, in every reading it may have."""
    values: set[bytes] = set()
    if key.modulus:
        values.add(key.modulus.lstrip(b"\x00"))
    if key.ec_point:
        values.add(key.ec_point)  # some modules give the bare point
        unwrapped = octet_string(key.ec_point)
        if unwrapped is not None:
            values.add(unwrapped)  # PKCS#11 2.40: the point DER-wrapped in an OCTET STRING
    if key.public_key_info:
        # Imported here: the renderers import this module and must stay light.
        from ..certificates.x509 import public_key_from_info

        value = public_key_from_info(key.public_key_info)
        if value is not None:
            values.add(value)
    values.discard(b"")
    return values


def octet_string(data: bytes) -> bytes | None:
    """The contents of ``data`` when it is exactly one DER OCTET STRING."""
    if len(data) < 2 or data[0] != 0x04:
        return None
    first = data[1]
    if first < 0x80:
        start, length = 2, first
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or len(data) < 2 + count:
            return None
        start, length = 2 + count, int.from_bytes(data[2 : 2 + count], "big")
    if start + length != len(data):
        return None
    return data[start:]


class KeyIndex:
    """The key objects by CKA_ID and by public key, so that finding a certificate's
    keys costs what it finds, not the number of keys on the token."""

    def __init__(self, keys: Sequence[KeyObject]) -> None:
        self.keys = [(key, key_values(key)) for key in keys]
        self.by_id: dict[bytes, list[int]] = {}
        self.by_value: dict[bytes, list[int]] = {}
        for n, (key, values) in enumerate(self.keys):
            if key.id:
                self.by_id.setdefault(key.id, []).append(n)
            for value in values:
                self.by_value.setdefault(value, []).append(n)

    def candidates(self, entry: CertificateEntry) -> list[tuple[KeyObject, set[bytes]]]:
        """The keys with the certificate's CKA_ID or its public key, in token order."""
        if not self.keys:
            return []  # no key objects (not listed, or none): nothing to look up
        found: set[int] = set()
        if entry.id:
            found.update(self.by_id.get(entry.id, ()))
        cert = entry.certificate
        if cert is not None and cert.public_key is not None:
            found.update(self.by_value.get(cert.public_key, ()))
        return [self.keys[n] for n in sorted(found)]
