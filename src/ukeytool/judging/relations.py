"""What belongs together on a token, and what a user should act on: a pure function from
one token's :class:`~ukeytool.CertificateEntry` values and :class:`~ukeytool.KeyObject`
values to the same entries with :attr:`~ukeytool.CertificateEntry.role`,
:attr:`~ukeytool.CertificateEntry.issued_by`, :attr:`~ukeytool.CertificateEntry.pair`,
:attr:`~ukeytool.CertificateEntry.key_on_token` and
:attr:`~ukeytool.CertificateEntry.findings` filled in.

Only what is on the same token is related; nothing is fetched and no signature is
verified (links say what the certificates *claim*: key identifiers, else names). The
rules, with the reasons for them, are in ``docs/relations.md``. Nothing here raises for
any input the model can hold.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from ..i18n.message import Message, plural_template, template
from ..model import (
    Certificate,
    CertificateEntry,
    CertificateLink,
    Finding,
    KeyMatch,
    KeyObject,
    KeyPresence,
    PairLink,
    Role,
    Severity,
    SlotReport,
)
from ..model._value import replace
from .relation_index import IssuerIndex, KeyIndex
from .relation_index import comparable_name as _name
from .relation_index import is_ca as _is_ca
from .relation_index import self_signed as _self_signed

__all__ = ["finding_message", "key_presence_reason", "relate", "relate_slot"]

MIN_RSA_BITS = 2048
"""RSA keys below this many bits are a ``weak-rsa-key`` finding (NIST SP 800-131A)."""
BROKEN_RSA_BITS = 1024
"""RSA keys below this many bits make the finding critical."""

KEY_SEARCH_UNFINISHED = "key.search_unfinished"
"""The code of :attr:`KeyPresence.reason` when the key objects could not all be listed
and none belongs to the certificate."""

_SIGNING_USAGES = frozenset({"digitalSignature", "nonRepudiation"})
_ENCRYPTION_USAGES = frozenset({"keyEncipherment", "dataEncipherment", "keyAgreement"})

# Signature algorithm OID -> (finding code, severity, hash name)
_WEAK_SIGNATURES: dict[str, tuple[str, Severity, str]] = {
    "1.2.840.113549.1.1.2": ("obsolete-signature-hash", Severity.CRITICAL, "MD2"),
    "1.2.840.113549.1.1.3": ("obsolete-signature-hash", Severity.CRITICAL, "MD4"),
    "1.2.840.113549.1.1.4": ("md5-signature", Severity.CRITICAL, "MD5"),
    "1.2.840.113549.1.1.5": ("sha1-signature", Severity.WARNING, "SHA-1"),
    "1.3.14.3.2.29": ("sha1-signature", Severity.WARNING, "SHA-1"),
    "1.2.840.10045.4.1": ("sha1-signature", Severity.WARNING, "SHA-1"),
    "1.2.840.10040.4.3": ("sha1-signature", Severity.WARNING, "SHA-1"),
}

_SEVERITY_ORDER = (Severity.CRITICAL, Severity.WARNING, Severity.INFO)


def relate_slot(slot: SlotReport) -> SlotReport:
    """``slot`` with its certificates related to each other and to its key objects."""
    entries = relate(
        slot.certificates, slot.keys, keys_listed=slot.keys_listed, logged_in=slot.logged_in
    )
    return replace(slot, certificates=entries)


def relate(
    entries: Sequence[CertificateEntry],
    keys: Sequence[KeyObject] = (),
    *,
    keys_listed: bool = False,
    logged_in: bool = False,
) -> tuple[CertificateEntry, ...]:
    """The certificates of one token, in the same order, with their relations and findings.

    ``keys`` are the key objects seen in the same session; ``keys_listed`` says the key
    search got to the end and ``logged_in`` that private objects were visible. A key is
    only ever said to be missing ("no") when both are true.
    """
    entries = tuple(entries)
    certs = [_readable(entry) for entry in entries]
    # Every lookup below goes through an index built once: linear in certificates + keys
    # (docs/relations.md, "Cost").
    issuer_index = IssuerIndex(certs)
    signed = [cert is not None and _self_signed(cert, issuer_index) for cert in certs]
    issuers = [
        issuer_index.issuer(cert, signed_by_itself=signed[i]) for i, cert in enumerate(certs)
    ]
    children = [0] * len(entries)
    for link in issuers:
        if link is not None:
            children[link[0]] += 1
    roles = [_role(certs[i], children[i] > 0, signed[i]) for i in range(len(entries))]
    pairs = _pairs(entries, certs, roles)
    key_index = KeyIndex(keys)
    # What is the same for many certificates is made once and shared (the values are
    # frozen): the link to an issuer, the key presence of a certificate without key
    # objects, a finding without parameters, and the tuple of the same findings.
    links: dict[tuple[int, str], CertificateLink] = {}
    no_key: tuple[KeyPresence, list[KeyObject]] | None = None
    shared: dict[str, Finding] = {}
    # By the identities of the findings (held in the tuple, so their ids stay theirs).
    same_findings: dict[tuple[int, ...], tuple[Finding, ...]] = {}
    out = []
    for i, entry in enumerate(entries):
        issued_by = None
        issuer_entry = None
        link = issuers[i]
        if link is not None:
            issuer_entry = entries[link[0]]
            issued_by = links.get(link)
            if issued_by is None:
                issued_by = links[link] = _link(issuer_entry, link[1])
        pair = pairs.get(i)
        candidates = key_index.candidates(entry)
        if candidates:
            presence, mismatches = _key_presence(entry, candidates, keys_listed, logged_in)
        else:
            if no_key is None:
                no_key = _key_presence(entry, candidates, keys_listed, logged_in)
            presence, mismatches = no_key
        findings = _findings(entry, certs[i], roles[i], issuer_entry, pair, mismatches, shared)
        if findings:
            findings = same_findings.setdefault(tuple(map(id, findings)), findings)
        out.append(
            replace(
                entry,
                role=roles[i],
                issued_by=issued_by,
                pair=pair,
                key_on_token=presence,
                findings=findings,
            )
        )
    return tuple(out)


# -- certificates -------------------------------------------------------------------


def _readable(entry: CertificateEntry) -> Certificate | None:
    cert = entry.certificate
    if cert is None or cert.error is not None:
        return None
    return cert


def _role(cert: Certificate | None, has_children: bool, signed_by_itself: bool) -> Role:
    if cert is None or cert.subject is None:
        return Role.UNKNOWN
    ca = _is_ca(cert) or (has_children and cert.is_ca is not False)
    if signed_by_itself:
        return Role.ROOT if ca else Role.SELF_SIGNED
    if cert.issuer is None:
        return Role.UNKNOWN
    return Role.INTERMEDIATE if ca else Role.END_ENTITY


def _link(entry: CertificateEntry, by: str) -> CertificateLink:
    cert = entry.certificate
    return CertificateLink(
        handle=entry.handle,
        sha256=cert.sha256 if cert is not None else "",
        label=entry.label,
        subject_cn=cert.subject_cn if cert is not None else None,
        by=by,
    )


# -- SM2 pairs ----------------------------------------------------------------------


def _usage(cert: Certificate) -> str | None:
    """``"signing"`` or ``"encryption"`` for a certificate that is purely one of them."""
    if cert.key_usage is None:
        return None
    usage = set(cert.key_usage)
    signs, encrypts = bool(usage & _SIGNING_USAGES), bool(usage & _ENCRYPTION_USAGES)
    if signs and not encrypts:
        return "signing"
    if encrypts and not signs:
        return "encryption"
    return None


def _pairs(
    entries: Sequence[CertificateEntry],
    certs: Sequence[Certificate | None],
    roles: Sequence[Role],
) -> dict[int, PairLink]:
    groups: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for i, cert in enumerate(certs):
        if (
            cert is None
            or cert.key_algorithm != "SM2"
            or roles[i] not in (Role.END_ENTITY, Role.SELF_SIGNED)
            or cert.subject is None
            or cert.issuer is None
        ):
            continue
        usage = _usage(cert)
        if usage is None:
            continue
        key = (_name(cert.subject) or "", _name(cert.issuer) or "")
        signing, encryption = groups.setdefault(key, ([], []))
        (signing if usage == "signing" else encryption).append(i)
    pairs: dict[int, PairLink] = {}
    for signing, encryption in groups.values():
        if len(signing) * len(encryption) > _MAX_PAIR_CANDIDATES:
            # Not a token's pair or two: the halves in the order they were issued, so the
            # work stays linear.
            candidates = list(
                zip(
                    [(0.0, 0.0)] * len(signing),
                    sorted(signing, key=lambda i: _issued(certs[i], i)),
                    sorted(encryption, key=lambda i: _issued(certs[i], i)),
                    strict=False,
                )
            )
        else:
            # Halves issued together are closest in time: pair those first.
            candidates = sorted(
                (_distance(certs[s], certs[e]), s, e) for s in signing for e in encryption
            )
        for _, s, e in candidates:
            if s in pairs or e in pairs:
                continue
            pairs[s] = _pair_link(entries[s], entries[e], "signing")
            pairs[e] = _pair_link(entries[e], entries[s], "encryption")
    return pairs


_FAR = 10**12
_MAX_PAIR_CANDIDATES = 10_000
"""Above this many signing x encryption candidates for one subject and issuer, halves
are paired in the order they were issued instead of by closeness in time."""


def _issued(cert: Certificate | None, i: int) -> tuple[float, int]:
    start = cert.not_before if cert is not None else None
    return (start.timestamp() if start is not None else _FAR, i)


def _distance(a: Certificate | None, b: Certificate | None) -> tuple[float, float]:
    def gap(x: datetime.datetime | None, y: datetime.datetime | None) -> float:
        return _FAR if x is None or y is None else abs((x - y).total_seconds())

    if a is None or b is None:
        return (_FAR, _FAR)
    return (gap(a.not_before, b.not_before), gap(a.not_after, b.not_after))


def _pair_link(entry: CertificateEntry, partner: CertificateEntry, usage: str) -> PairLink:
    ends = [e.certificate.not_after if e.certificate else None for e in (entry, partner)]
    days = [e.validity.days_left for e in (entry, partner)]
    return PairLink(
        partner=_link(partner, "subject_and_issuer"),
        usage=usage,
        not_after=None if None in ends else min(d for d in ends if d is not None),
        days_left=None if None in days else min(d for d in days if d is not None),
    )


# -- keys ---------------------------------------------------------------------------


def _key_presence(
    entry: CertificateEntry,
    keys: Sequence[tuple[KeyObject, set[bytes]]],
    keys_listed: bool,
    logged_in: bool,
) -> tuple[KeyPresence, list[KeyObject]]:
    """Whether the certificate's key is on the token, and the key objects that share its
    CKA_ID but hold another public key."""
    cert = entry.certificate
    public_key = cert.public_key if cert is not None else None
    matches: list[KeyMatch] = []
    mismatches: list[KeyObject] = []
    for key, values in keys:
        by: list[str] = []
        same_id = bool(entry.id) and key.id == entry.id
        same_key = public_key is not None and public_key in values
        if same_id:
            if public_key is not None and values and not same_key:
                mismatches.append(key)
                continue
            by.append("id")
        if same_key:
            by.append("public_key")
        if by:
            matches.append(KeyMatch(key.handle, key.key_class, key.label, tuple(by)))
    matches.sort(key=lambda m: m.key_class != "private")
    private = [m for m in matches if m.key_class == "private"]
    public = [m for m in matches if m.key_class == "public"]
    visible = logged_in and keys_listed
    if private:
        state = private_key = "yes"
        reason = _PRIVATE_KEY_THERE(detail=_how(private[0]))
    elif visible:
        state = private_key = "no"
        reason = _NO_PRIVATE_KEY()
        if public:
            reason = _NO_PRIVATE_KEY_PUBLIC_THERE(detail=_how(public[0]))
    else:
        private_key = "unknown"
        if public:
            state = "yes"
            made = _PUBLIC_KEY_UNFINISHED if not keys_listed else _PUBLIC_KEY_NO_LOGIN
            reason = made(detail=_how(public[0]))
        else:
            state = "unknown"
            reason = _NO_KEY_UNFINISHED() if not keys_listed else _NO_KEY_NO_LOGIN()
    return KeyPresence(state, private_key, tuple(matches), reason, keys_listed), mismatches


def _how(match: KeyMatch) -> Message:
    if "id" in match.by and "public_key" in match.by:
        return _SAME_ID_AND_KEY()
    return _SAME_ID() if "id" in match.by else _SAME_KEY()


# -- key presence reasons: messages (made perhaps in an isolation child), shown in the
# reader's language. Whole sentences, so a translation can order them as it needs;
# {detail} is one of the _SAME_* phrases.

_SAME_ID = template("key.same_id", "same CKA_ID")
_SAME_KEY = template("key.same_public_key", "same public key")
_SAME_ID_AND_KEY = template("key.same_id_and_public_key", "same CKA_ID and same public key")
_PRIVATE_KEY_THERE = template(
    "key.private_key_on_token", "its private key is on the token ({detail})"
)
_NO_PRIVATE_KEY = template(
    "key.no_private_key", "no private key on the token belongs to it (searched after login)"
)
_NO_PRIVATE_KEY_PUBLIC_THERE = template(
    "key.no_private_key_public_key_on_token",
    "no private key on the token belongs to it (searched after login); "
    "its public key object is there ({detail})",
)
_PUBLIC_KEY_UNFINISHED = template(
    "key.public_key_search_unfinished",
    "its public key object is on the token ({detail}); the key search did not finish",
)
_PUBLIC_KEY_NO_LOGIN = template(
    "key.public_key_no_login",
    "its public key object is on the token ({detail}); private keys cannot be seen without login",
)
_NO_KEY_UNFINISHED = template(
    KEY_SEARCH_UNFINISHED,
    "the key search did not finish, and no public key object belongs to it",
)
_NO_KEY_NO_LOGIN = template(
    "key.no_login",
    "private keys cannot be seen without login, and no public key object belongs to it",
)


def key_presence_reason(presence: KeyPresence) -> str:
    """``presence.reason`` in the current language (``state`` and ``private_key`` stay
    as they are); empty when it has none."""
    return "" if presence.reason is None else presence.reason.render()


# -- findings -----------------------------------------------------------------------


def _findings(  # noqa: PLR0917 - one caller, all of it is needed
    entry: CertificateEntry,
    cert: Certificate | None,
    role: Role,
    issuer: CertificateEntry | None,
    pair: PairLink | None,
    mismatches: Sequence[KeyObject],
    shared: dict[str, Finding] | None = None,
) -> tuple[Finding, ...]:
    found: list[Finding] = []
    if cert is not None:
        found.extend(_key_findings(cert))
        found.extend(_signature_findings(cert, role))
        found.extend(_usage_findings(cert, role, pair, shared))
        found.extend(_expiry_findings(cert, issuer))
    for key in mismatches:
        ident = entry.id.hex() if entry.id else ""
        # The model's key classes are "private" and "public" only.
        made = _KEY_ID_MISMATCH_PUBLIC if key.key_class == "public" else _KEY_ID_MISMATCH
        found.append(Finding("key-id-mismatch", Severity.WARNING, made(ident=ident)))
    if len(found) > 1:
        found.sort(key=lambda f: _SEVERITY_ORDER.index(f.severity))
    return tuple(found)


def _key_findings(cert: Certificate) -> list[Finding]:
    if cert.key_algorithm != "RSA" or cert.key_size is None or cert.key_size >= MIN_RSA_BITS:
        return []
    severity = Severity.CRITICAL if cert.key_size < BROKEN_RSA_BITS else Severity.WARNING
    return [
        Finding(
            "weak-rsa-key",
            severity,
            _WEAK_RSA(bits=cert.key_size, minimum=MIN_RSA_BITS),
        )
    ]


def _signature_findings(cert: Certificate, role: Role) -> list[Finding]:
    weak = _WEAK_SIGNATURES.get(cert.signature_algorithm_oid or "")
    if weak is None:
        return []
    code, severity, hash_name = weak
    name = cert.signature_algorithm or cert.signature_algorithm_oid
    if role in (Role.ROOT, Role.SELF_SIGNED):
        # A self-signed certificate is trusted as it is; its own signature protects nothing.
        return [
            Finding(
                code,
                Severity.INFO,
                _SELF_SIGNED_WEAK(hash=hash_name, name=name or ""),
            )
        ]
    return [
        Finding(
            code,
            severity,
            _SIGNED_WEAK(hash=hash_name, name=name or ""),
        )
    ]


def _usage_findings(
    cert: Certificate,
    role: Role,
    pair: PairLink | None,
    shared: dict[str, Finding] | None = None,
) -> list[Finding]:
    """``shared``: findings without parameters made once (per token) and shared."""
    if role not in (Role.END_ENTITY, Role.SELF_SIGNED):
        return []
    if cert.key_usage is None:
        finding = None if shared is None else shared.get("no-key-usage")
        if finding is None:
            finding = Finding("no-key-usage", Severity.INFO, _NO_KEY_USAGE())
            if shared is not None:
                shared["no-key-usage"] = finding
        return [finding]
    if set(cert.key_usage) & _SIGNING_USAGES:
        return []
    if pair is not None:
        return []  # the encryption half of a pair: its partner signs
    # The usages are the extension's own names, one list (joined as the language joins).
    allowed = tuple(cert.key_usage)
    message = _NO_SIGNING(allowed=allowed) if allowed else _NO_SIGNING_NONE()
    if cert.key_algorithm == "SM2" and _usage(cert) == "encryption":
        message = _NO_SIGNING_SM2(allowed=allowed)
    return [Finding("no-signing-key-usage", Severity.WARNING, message)]


def _expiry_findings(cert: Certificate, issuer: CertificateEntry | None) -> list[Finding]:
    parent = issuer.certificate if issuer is not None else None
    if parent is None or parent.not_after is None or cert.not_after is None:
        return []
    if parent.not_after >= cert.not_after:
        return []
    days = (cert.not_after - parent.not_after).days
    name = parent.subject_cn or parent.subject or "?"
    if days:
        message = _CA_EXPIRES_DAYS(name=name, date=_day(parent.not_after), n=days)
    else:
        message = _CA_EXPIRES(name=name, date=_day(parent.not_after))
    return [Finding("ca-expires-before-child", Severity.WARNING, message)]


def _day(moment: datetime.datetime) -> str:
    return f"{moment.astimezone(datetime.timezone.utc):%Y-%m-%d}"


# -- finding messages (made perhaps in an isolation child), shown in the reader's
# language by finding_message().

_KEY_ID_MISMATCH = template(
    "finding.key_id_mismatch",
    "the private key object with the same CKA_ID ({ident}) holds "
    "another public key: software that pairs keys with certificates by CKA_ID "
    "will pick the wrong key",
)
_KEY_ID_MISMATCH_PUBLIC = template(
    "finding.key_id_mismatch_public",
    "the public key object with the same CKA_ID ({ident}) holds "
    "another public key: software that pairs keys with certificates by CKA_ID "
    "will pick the wrong key",
)
_WEAK_RSA = template(
    "finding.weak_rsa_key",
    "RSA key of {bits} bits (under {minimum}), which can be broken: "
    "replace the certificate with one for a longer key",
)
_SELF_SIGNED_WEAK = template(
    "finding.self_signed_weak_hash",
    "self-signed with {hash} ({name}): harmless, a self-signed "
    "certificate is trusted as it is, not for its signature",
)
_SIGNED_WEAK = template(
    "finding.signed_weak_hash",
    "signed with {hash} ({name}), which can be forged: "
    "ask the issuer for one signed with SHA-256 or SM3",
)
_NO_KEY_USAGE = template(
    "finding.no_key_usage",
    "no KeyUsage extension: any use is allowed, but software that looks for "
    "the signing certificate by key usage may pass over it",
)
_NO_SIGNING = template(
    "finding.no_signing_key_usage",
    "its key usage ({allowed}) does not allow signing: it cannot sign logins or transactions",
)
_NO_SIGNING_NONE = template(
    "finding.no_signing_key_usage_empty",
    "its key usage (nothing) does not allow signing: it cannot sign logins or transactions",
)
_NO_SIGNING_SM2 = template(
    "finding.no_signing_key_usage_sm2",
    "its key usage ({allowed}) does not allow signing: it cannot sign logins or "
    "transactions; it looks like the encryption half of an SM2 pair whose signing "
    "certificate is not on this token",
)
_CA_EXPIRES_DAYS = plural_template(
    "finding.ca_expires_before_child",
    'its issuer "{name}" is valid only until {date}, {n} day before it: it '
    "stops validating then, unless the issuer's CA certificate is renewed",
    'its issuer "{name}" is valid only until {date}, {n} days before it: it '
    "stops validating then, unless the issuer's CA certificate is renewed",
)
_CA_EXPIRES = template(
    "finding.ca_expires_before_child_same_day",
    'its issuer "{name}" is valid only until {date}, before it: it '
    "stops validating then, unless the issuer's CA certificate is renewed",
)


def finding_message(finding: Finding) -> str:
    """``finding.message`` in the current language (the ``code`` stays as it is)."""
    from ..i18n import render

    return render(finding.message)
