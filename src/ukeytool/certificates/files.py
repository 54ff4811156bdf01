"""Certificates kept in files instead of on a token: PEM, DER, PKCS#7 and PKCS#12.

Bank software can keep "soft" certificates on disk (``.pfx``/``.p12`` exports, ``.cer``,
``.p7b`` chains, PEM bundles). :func:`inspect_files` reads them and gives each certificate
as the same :class:`~ukeytool.CertificateEntry` a token gives (:func:`read_certificate`
and :func:`judge` on the same bytes), in a :class:`~ukeytool.FileReport` per file.

The format is told by the content, never by the file name:

* PEM text (``-----BEGIN``): ``CERTIFICATE``, ``X509 CERTIFICATE`` and ``TRUSTED
  CERTIFICATE`` blocks (OpenSSL's alias and key id after the latter become the label and
  id), ``PKCS7``/``CMS`` blocks, and private keys (only their public half is looked at);
  other blocks (CRLs, requests, public keys) are passed over.
* DER: one certificate, or several one after the other; a PKCS#7/CMS SignedData
  (``.p7b``/``.p7c``); a PKCS#12 PFX.

Each part is read on its own, and one that fails is a :class:`~ukeytool.Problem` located
in the file (``"PEM block 2 (line 14)"``) while the others are still read: one bad block
hides nothing else. A certificate whose bytes could be taken out of the file but are not
a readable certificate is an entry with :attr:`~ukeytool.Status.UNREADABLE`, exactly as
on a token.

PKCS#12 is walked here with asn1crypto, and decrypted with cryptography's primitives
(PBKDF2, HMAC, AES, SM4, 3DES, RC2-128, RC4), rather than handed whole to cryptography's
``pkcs12.load_pkcs12``, because that call (1) says the same "Invalid password or PKCS12
data" for a wrong password and for a damaged file, (2) fails as a whole when one key is
SM2 ("Curve 1.2.156.10197.1.301 is not supported"), which is what Chinese soft
certificates hold, and (3) loses the bag order and localKeyId. The integrity MAC tells a
wrong password apart. ``load_pkcs12`` is still used, as a fallback, for certificate
encryptions this walker does not implement (RC2-40, the ``-legacy`` default of older
exports). Private keys are not decrypted here: a key is tied to its certificate by its
public half when that is in clear, else by the PKCS#12 localKeyId, as OpenSSL pairs them
(only in that fallback does the OpenSSL behind cryptography decrypt a key, and only its
public half's hash is kept).

Passwords: tried in this order, the given one, then the empty one (many soft
certificates have none), then, only if a callable was given, whatever it returns.
A password is never stored in a value, logged or put in a message.

Besides :mod:`ukeytool.certificates.x509` and :mod:`ukeytool.testing`, this is the one module
that imports asn1crypto and cryptography; none of their types leave it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable
from typing import Any

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import parser as asn1_parser
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ..errors import UsageError
from ..i18n import N_
from ..judging.validity import check_moment, check_warn_days, judge
from ..model import CertificateEntry, FileKey, FileReport, KeyPresence, Problem
from ..model.text import decode_text
from .x509 import read_certificate

__all__ = ["MAX_FILE_SIZE", "Password", "PasswordSource", "inspect_file", "inspect_files"]

Password = str | bytes
"""A PKCS#12 password: text, or bytes (taken as UTF-8, as OpenSSL takes them)."""
PasswordSource = Password | Callable[[str], Password | None] | None
"""A password, or a function that is given the file's path and returns one (or None to
give up); it is only called for a PKCS#12 file that the given and empty passwords do not
open, at most once per file."""

MAX_FILE_SIZE = 32 * 1024 * 1024
"""Larger files are refused unread: certificate files are kilobytes."""

# --- OIDs and algorithm tables ----------------------------------------------------------

_SIGNED_DATA = "1.2.840.113549.1.7.2"
_PKCS7_TYPES = {
    "1.2.840.113549.1.7.1": "data",
    _SIGNED_DATA: "signedData",
    "1.2.840.113549.1.7.3": "envelopedData",
    "1.2.840.113549.1.7.5": "digestedData",
    "1.2.840.113549.1.7.6": "encryptedData",
    "1.2.840.113549.1.9.16.1.2": "authData",
}
_RSA = "1.2.840.113549.1.1.1"
_EC = "1.2.840.10045.2.1"
_SM2 = "1.2.156.10197.1.301"
_KEY_NAMES = {
    _RSA: "RSA",
    "1.2.840.113549.1.1.10": "RSA",
    _EC: "EC",
    _SM2: "SM2",
    "1.2.840.10040.4.1": "DSA",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
}


def _triple_des(key: bytes) -> Any:
    # Single DES and two-key 3DES as the three-key form cryptography keeps supporting.
    return decrepit.TripleDES(
        key * 3 if len(key) == 8 else key + key[:8] if len(key) == 16 else key
    )


# digest OID -> (cryptography hash, its block size in bytes, for the PKCS#12 KDF)
_DIGESTS: dict[str, tuple[Callable[[], hashes.HashAlgorithm], int]] = {
    "1.3.14.3.2.26": (hashes.SHA1, 64),
    "2.16.840.1.101.3.4.2.4": (hashes.SHA224, 64),
    "2.16.840.1.101.3.4.2.1": (hashes.SHA256, 64),
    "2.16.840.1.101.3.4.2.2": (hashes.SHA384, 128),
    "2.16.840.1.101.3.4.2.3": (hashes.SHA512, 128),
    "1.2.156.10197.1.401": (hashes.SM3, 64),
}
# PBKDF2 PRF OID -> hash
_PRFS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1.2.840.113549.2.7": hashes.SHA1,
    "1.2.840.113549.2.8": hashes.SHA224,
    "1.2.840.113549.2.9": hashes.SHA256,
    "1.2.840.113549.2.10": hashes.SHA384,
    "1.2.840.113549.2.11": hashes.SHA512,
    # HMAC-SM3, as GmSSL and most Chinese software write it, and as GM/T 0091 does.
    "1.2.156.10197.1.401.2": hashes.SM3,
    "1.2.156.10197.1.401.3.1": hashes.SM3,
}
# PBES2 cipher OID -> (name, key length, cipher factory)
_PBES2_CIPHERS: dict[str, tuple[str, int, Callable[[bytes], Any]]] = {
    "2.16.840.1.101.3.4.1.2": ("AES-128-CBC", 16, algorithms.AES),
    "2.16.840.1.101.3.4.1.22": ("AES-192-CBC", 24, algorithms.AES),
    "2.16.840.1.101.3.4.1.42": ("AES-256-CBC", 32, algorithms.AES),
    "1.2.156.10197.1.104.2": ("SM4-CBC", 16, algorithms.SM4),
    "1.2.840.113549.3.7": ("DES-EDE3-CBC", 24, _triple_des),
    "1.3.14.3.2.7": ("DES-CBC", 8, _triple_des),
}
_SHA1 = "1.3.14.3.2.26"
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
# PKCS#12 PBE OID -> (name, key length, cipher factory, IV length; 0: a stream cipher)
_PKCS12_PBES: dict[str, tuple[str, int, Callable[[bytes], Any] | None, int]] = {
    "1.2.840.113549.1.12.1.1": ("pbeWithSHAAnd128BitRC4", 16, decrepit.ARC4, 0),
    "1.2.840.113549.1.12.1.2": ("pbeWithSHAAnd40BitRC4", 5, decrepit.ARC4, 0),
    "1.2.840.113549.1.12.1.3": ("pbeWithSHAAnd3-KeyTripleDES-CBC", 24, _triple_des, 8),
    "1.2.840.113549.1.12.1.4": ("pbeWithSHAAnd2-KeyTripleDES-CBC", 16, _triple_des, 8),
    "1.2.840.113549.1.12.1.5": ("pbeWithSHAAnd128BitRC2-CBC", 16, decrepit.RC2, 8),
    # cryptography's RC2 takes 128-bit keys only: the 40-bit one is _rc2_cbc_decrypt's.
    "1.2.840.113549.1.12.1.6": ("pbeWithSHAAnd40BitRC2-CBC", 5, None, 8),
}
_OTHER_SCHEMES = {
    "1.2.840.113549.1.5.3": "pbeWithMD5AndDES-CBC",
    "1.2.840.113549.1.5.10": "pbeWithSHA1AndDES-CBC",
    "1.2.156.10197.6.1.4.1.12.1.1": "pbeWithSM3AndSM4-CBC",
    "1.2.840.113549.3.2": "RC2-CBC",
}

_CERT_LABELS = frozenset({b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"})
_PKCS7_LABELS = frozenset({b"PKCS7", b"PKCS #7 SIGNED DATA", b"CMS", b"CERTIFICATE CHAIN"})
_KEY_LABELS = frozenset({b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY"})
_ENCRYPTED_KEY_LABELS = frozenset({b"ENCRYPTED PRIVATE KEY"})
_BEGIN = re.compile(rb"-----BEGIN ([^\r\n-]+)-----[ \t]*\r?\n?")
_END = re.compile(rb"-----END ([^\r\n-]+)-----")
_TRAILING_FILLER = b" \t\r\n\x00\x1a"


def inspect_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    at: datetime.datetime | None = None,
    warn_days: int = 30,
    password: PasswordSource = None,
) -> list[FileReport]:
    """Read the certificates in each file of ``paths``, each file on its own.

    Never raises for a file: one that cannot be opened or read has a
    :class:`~ukeytool.Problem` with ``where="file"`` (and :attr:`FileReport.opened` is
    False), one that holds no certificate format a problem with ``where="content"``.
    ``at`` (aware; None means now) and ``warn_days`` are as for :func:`~ukeytool.inspect`;
    all files are judged at the same moment.

    ``password`` opens PKCS#12 files: a str or bytes (bytes as OpenSSL takes them,
    UTF-8), or a function that is given the file's path and returns one, or None to give
    up; it is called only for a file that neither the given nor the empty password
    opens, at most once per file. The password is never kept in a value, logged or put
    in a message; nothing is read from the environment or the terminal.
    """
    if isinstance(paths, str | bytes | os.PathLike):
        raise UsageError(N_("inspect_files takes a list of paths; for one file use inspect_file"))
    moment = _resolve_moment(at)
    check_warn_days(warn_days)
    return [inspect_file(path, at=moment, warn_days=warn_days, password=password) for path in paths]


def inspect_file(
    path: str | os.PathLike[str],
    *,
    at: datetime.datetime | None = None,
    warn_days: int = 30,
    password: PasswordSource = None,
) -> FileReport:
    """:func:`inspect_files` for one file."""
    moment = _resolve_moment(at)
    check_warn_days(warn_days)
    name = os.fspath(path)
    data = _read(name)
    if isinstance(data, Problem):
        return FileReport(name, None, (), moment, warn_days, problems=(data,))
    try:
        found = _parse(data, name, password)
    except Exception as exc:  # a bug here must not cost the other files
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        found = _Found(None)
        found.problems.append(
            Problem(
                "content",
                N_("ukeytool failed to read this file ({error}); this is a bug").format(error=why),
            )
        )
    return _report(name, found, moment, warn_days)


def _resolve_moment(at: datetime.datetime | None) -> datetime.datetime:
    if at is None:
        return datetime.datetime.now(datetime.timezone.utc)
    return check_moment(at, what="at")


def _read(path: str) -> bytes | Problem:
    """The file's bytes, or why they cannot be had (one sentence, naming the path).

    Messages here and below are English templates (``N_``), translated when shown
    (``_i18n.retranslate``); text from the OS or a parser goes in a placeholder that is
    not ``{detail}`` and stays as it is."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            return Problem(
                "file",
                N_("{path} is a directory; give the certificate files in it ({pattern})").format(
                    path=path, pattern=f"{path}/*"
                ),
            )
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or a device would block or never end.
            return Problem("file", N_("{path} is not a regular file").format(path=path))
        if info.st_size > MAX_FILE_SIZE:
            return Problem(
                "file",
                N_(
                    "{path} is {size} bytes, too large for a certificate file (at most {limit})"
                ).format(path=path, size=info.st_size, limit=MAX_FILE_SIZE),
            )
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_SIZE + 1)
        if len(data) > MAX_FILE_SIZE:  # it grew since stat
            return Problem(
                "file", N_("{path} is too large for a certificate file").format(path=path)
            )
        return data
    except FileNotFoundError:
        return Problem("file", N_("file not found: {path} does not exist").format(path=path))
    except PermissionError:
        return Problem(
            "file",
            N_("permission denied: {path} cannot be read by this user").format(path=path),
        )
    except OSError as exc:
        return Problem(
            "file",
            N_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror or exc),
        )


# --- what a file holds, before it becomes entries ------------------------------------------


@dataclasses.dataclass
class _Raw:
    der: bytes
    location: str
    label: bytes | None = None
    """Label text as UTF-8 bytes (PKCS#12 friendlyName, OpenSSL alias)."""
    id: bytes | None = None


@dataclasses.dataclass
class _Key:
    location: str
    algorithm: str | None = None
    public_key_sha256: str | None = None
    local_key_id: bytes | None = None


@dataclasses.dataclass
class _Found:
    format: str | None
    certificates: list[_Raw] = dataclasses.field(default_factory=list)
    keys: list[_Key] = dataclasses.field(default_factory=list)
    problems: list[Problem] = dataclasses.field(default_factory=list)


def _report(path: str, found: _Found, at: datetime.datetime, warn_days: int) -> FileReport:
    entries = []
    public_keys: dict[int, str | None] = {}
    for position, raw in enumerate(found.certificates, start=1):
        certificate = _relocate(read_certificate(raw.der), raw.location)
        public_keys[position] = _certificate_public_key_sha256(raw.der)
        entries.append(
            CertificateEntry(
                handle=position,
                label=None if raw.label is None else decode_text(raw.label),
                id=raw.id,
                certificate_type=None,
                private=None,
                certificate=certificate,
                validity=judge(certificate, at, warn_days),
                location=raw.location,
            )
        )
    keys = []
    for key in found.keys:
        if key.public_key_sha256 is not None:
            matches = [p for p, value in public_keys.items() if value == key.public_key_sha256]
        elif key.local_key_id is not None:
            matches = [
                p for p, raw in enumerate(found.certificates, 1) if raw.id == key.local_key_id
            ]
        else:
            matches = []
        keys.append(
            FileKey(
                key.location,
                key.algorithm,
                key.public_key_sha256,
                key.local_key_id,
                tuple(matches),
            )
        )
    return FileReport(
        path,
        found.format,
        _related(entries, keys),
        at,
        warn_days,
        keys=tuple(keys),
        problems=tuple(found.problems),
    )


def _related(entries: list[CertificateEntry], keys: list[FileKey]) -> tuple[CertificateEntry, ...]:
    """Relations and findings as for a token's certificates (docs/relations.md); the key
    is "yes" when a private key in the file belongs to the certificate, "no" when every
    key in the file was tied to its certificates and none to this one, else "unknown"."""
    from ..judging.relations import relate

    related = relate(entries)
    all_tied = all(key.certificates for key in keys)
    out = []
    for entry in related:
        mine = [key for key in keys if entry.handle in key.certificates]
        if mine:
            where = ", ".join(str(key.location) for key in mine)
            reason = N_("its private key is in the file ({detail})").format(detail=where)
            presence = KeyPresence("yes", "yes", (), reason)
        elif all_tied:
            presence = KeyPresence("no", "no", (), N_("no private key in the file belongs to it"))
        else:
            presence = KeyPresence(
                "unknown", "unknown", (), N_("a key in the file could not be tied to a certificate")
            )
        out.append(dataclasses.replace(entry, key_on_token=presence))
    return tuple(out)


def _relocate(certificate: Any, location: str) -> Any:
    """The certificate with its "CKA_VALUE" notes (a token attribute) placed in the file."""
    if not any(p.where == "CKA_VALUE" for p in certificate.problems):
        return certificate
    problems = tuple(
        dataclasses.replace(p, where=location) if p.where == "CKA_VALUE" else p
        for p in certificate.problems
    )
    return dataclasses.replace(certificate, problems=problems)


# --- telling the format by the content ------------------------------------------------------


def _parse(data: bytes, path: str, password: PasswordSource) -> _Found:
    if not data:
        found = _Found(None)
        found.problems.append(Problem("content", N_("the file is empty")))
        return found
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # PEM text saved as "Unicode" by Windows Notepad: UTF-16 with a byte order mark.
        try:
            text = data.decode("utf-16").encode("ascii")
        except (UnicodeDecodeError, UnicodeEncodeError):
            text = b""
        if _BEGIN.search(text):
            return _pem(text)
    if _BEGIN.search(data):
        return _pem(data)
    if data[0] == 0x30:
        return _der(data, path, password)
    found = _Found(None)
    found.problems.append(Problem("content", _not_a_format(data)))
    return found


def _not_a_format(data: bytes) -> str:
    head = data[:4].hex(" ")
    if b"-----BEGIN" in data[:4096] or b"BEGIN CERTIFICATE" in data[:4096]:
        return N_("not a certificate file: text with a damaged -----BEGIN line")
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return N_(
            "not a certificate file: neither PEM text nor DER "
            "(it starts with bytes {head}, not 30 for an ASN.1 SEQUENCE)"
        ).format(head=head)
    return N_("not a certificate file: text without a -----BEGIN CERTIFICATE----- line")


def _der(data: bytes, path: str, password: PasswordSource) -> _Found:
    kind = _der_kind(data)
    if kind == "pkcs12":
        found = _Found("pkcs12")
        _pkcs12(data, path, password, found)
    elif kind == "pkcs7":
        found = _Found("pkcs7")
        _pkcs7(data, "PKCS#7", found)
    elif kind == "certificate":
        found = _Found("der")
        _der_certificates(data, found)
    else:
        found = _Found(None)
        found.problems.append(
            Problem("content", N_("not a certificate file: {detail}").format(detail=kind))
        )
    if not found.certificates and not found.problems:
        found.problems.append(Problem("content", N_("the file holds no certificate")))
    return found


def _der_kind(data: bytes) -> str:
    """``"certificate"``, ``"pkcs7"`` or ``"pkcs12"``, else a few words saying what else
    the DER seems to be (for a message), from its first tags alone: a damaged file still
    gets the reader for its kind, which says what is wrong with it."""
    outer = _header(data, 0)
    if outer is None:
        return N_("DER that ends inside its first header")
    inner = outer[0]
    if inner >= len(data):
        return N_("an empty DER SEQUENCE")
    tag = data[inner]
    if tag == 0x30:
        return "certificate"  # tbsCertificate; a broken one is still reported as one
    if tag == 0x06:
        oid = _oid_at(data, inner)
        if oid == _SIGNED_DATA:
            return "pkcs7"
        if oid in _PKCS7_TYPES:
            return _NO_CERTIFICATE_LIST.format(name=_PKCS7_TYPES[oid])
        return N_("DER of an unknown kind (a SEQUENCE starting with the OID {oid})").format(oid=oid)
    if tag == 0x02:
        version = _small_integer_at(data, inner)
        after = _tlv_end(data, inner)
        if version == 3 and after is not None and after < len(data) and data[after] == 0x30:
            content = _header(data, after)
            if content is not None and after + content[0] < len(data):
                oid = _oid_at(data, after + content[0])
                if oid in _PKCS7_TYPES:
                    return "pkcs12"
        if version in (0, 1):
            return N_("a private key (PKCS#8 or PKCS#1 DER), no certificate")
    return N_("DER of an unknown kind (a SEQUENCE starting with tag {tag})").format(
        tag=f"0x{tag:02x}"
    )


_NO_CERTIFICATE_LIST = N_("a PKCS#7/CMS {name}, which holds no certificate list")


def _der_certificates(data: bytes, found: _Found) -> None:
    """One DER certificate, or several written one after the other."""
    offset = 0
    number = 0
    while offset < len(data):
        if data[offset] != 0x30:
            rest = data[offset:]
            if rest.strip(_TRAILING_FILLER):
                message = (
                    N_("1 byte after certificate {number} is not a certificate; it was not read")
                    if len(rest) == 1
                    else N_(
                        "{count} bytes after certificate {number} are not a certificate; "
                        "they were not read"
                    )
                )
                found.problems.append(
                    Problem(
                        N_("byte {offset}").format(offset=offset),
                        message.format(count=len(rest), number=number),
                    )
                )
            return
        number += 1
        end = _tlv_end(data, offset)
        # A certificate cut short takes the rest: read_certificate says what is wrong.
        der = data[offset:] if end is None else data[offset:end]
        where = N_("DER certificate {number} (byte {offset})").format(number=number, offset=offset)
        found.certificates.append(_Raw(der, where))
        if end is None:
            return
        offset = end


# --- PEM ------------------------------------------------------------------------------------


def _pem(data: bytes) -> _Found:
    found = _Found("pem")
    begins = list(_BEGIN.finditer(data))
    others: list[str] = []
    for number, begin in enumerate(begins, start=1):
        label = begin.group(1).strip()
        line = data.count(b"\n", 0, begin.start()) + 1
        where = N_("PEM block {number} (line {line})").format(number=number, line=line)
        stop = begins[number].start() if number < len(begins) else len(data)
        end = _END.search(data, begin.end(), stop)
        if label not in _CERT_LABELS | _PKCS7_LABELS | _KEY_LABELS | _ENCRYPTED_KEY_LABELS:
            others.append(label.decode("ascii", "replace"))
            continue
        if end is None:
            found.problems.append(
                Problem(
                    where,
                    N_("no -----END {label}----- line; the file may be cut short").format(
                        label=_ascii(label)
                    ),
                )
            )
            continue
        if end.group(1).strip() != label:
            found.problems.append(
                Problem(
                    where,
                    N_("BEGIN {label} ends with END {end}; the block was not read").format(
                        label=_ascii(label), end=_ascii(end.group(1).strip())
                    ),
                )
            )
            continue
        body, encrypted = _pem_body(data[begin.end() : end.start()])
        if body is None:
            found.problems.append(Problem(where, N_("its base64 text could not be decoded")))
            continue
        if not body:
            found.problems.append(Problem(where, N_("the block is empty")))
            continue
        if label in _CERT_LABELS and _der_kind(body) == "pkcs7":
            _pkcs7(body, where, found)  # some CAs hand out their chain so labelled
        elif label in _CERT_LABELS:
            found.certificates.append(_pem_certificate(body, where, trusted=label[0:1] == b"T"))
        elif label in _PKCS7_LABELS:
            _pkcs7(body, where, found)
        elif encrypted or label in _ENCRYPTED_KEY_LABELS:
            found.keys.append(_Key(where))
        else:
            found.keys.append(_pem_key(body, label, where))
    if not found.certificates and not found.problems:
        labels = ", ".join(dict.fromkeys(others))
        if found.keys and labels:
            message = N_("no certificate in this PEM text (it holds a private key, {labels})")
        elif found.keys:
            message = N_("no certificate in this PEM text (it holds a private key)")
        elif labels:
            message = N_("no certificate in this PEM text (it holds {labels})")
        else:
            message = N_("no certificate in this PEM text (it holds no block ukeytool reads)")
        found.problems.append(Problem("content", message.format(labels=labels)))
    return found


def _ascii(label: bytes) -> str:
    return label.decode("ascii", "replace")


def _pem_body(text: bytes) -> tuple[bytes | None, bool]:
    """The block's bytes (None when the base64 is broken), and whether RFC 1421 headers
    say it is encrypted (``Proc-Type: 4,ENCRYPTED``)."""
    lines = text.splitlines()
    encrypted = any(line.startswith(b"Proc-Type:") and b"ENCRYPTED" in line for line in lines)
    # RFC 7468 has no headers, but old tools wrote RFC 1421 ones (key: value).
    joined = b"".join(line.strip() for line in lines if b":" not in line)
    try:
        return base64.b64decode(joined, validate=True), encrypted
    except ValueError:
        return None, encrypted


def _pem_certificate(body: bytes, where: str, *, trusted: bool) -> _Raw:
    if not trusted:
        return _Raw(body, where)
    # OpenSSL's TRUSTED CERTIFICATE: the certificate, then X509_AUX with trust settings,
    # an alias (UTF8String) and a key id (OCTET STRING).
    end = _tlv_end(body, 0)
    if end is None or end == len(body):
        return _Raw(body, where)
    alias = key_id = None
    aux = _header(body, end)
    if aux is not None and body[end] == 0x30:
        offset = end + aux[0]
        while offset < len(body):
            child = _header(body, offset)
            child_end = _tlv_end(body, offset)
            if child is None or child_end is None:
                break
            if body[offset] == 0x0C:
                alias = body[offset + child[0] : child_end]
            elif body[offset] == 0x04:
                key_id = body[offset + child[0] : child_end]
            offset = child_end
    return _Raw(body[:end], where, alias, key_id)


def _pem_key(body: bytes, label: bytes, where: str) -> _Key:
    try:
        if label == b"RSA PRIVATE KEY":
            return _Key(where, "RSA", _rsa_public_sha256(body))
        if label == b"EC PRIVATE KEY":
            return _ec_key(body, None, where)
        return _pkcs8_key(body, where)
    except Exception:
        # The key is only looked at to find its certificate; a key we cannot read is
        # still a key in the file.
        return _Key(where)


def _pkcs8_key(der: bytes, where: str, local_key_id: bytes | None = None) -> _Key:
    info = asn1_keys.PrivateKeyInfo.load(der)
    oid = info["private_key_algorithm"]["algorithm"].dotted
    inner = bytes(info["private_key"].contents)
    if oid == _RSA:
        return _Key(where, "RSA", _rsa_public_sha256(inner), local_key_id)
    if oid in (_EC, _SM2):
        parameters = info["private_key_algorithm"]["parameters"]
        curve = _oid_at(parameters.dump(), 0) if parameters.dump()[:1] == b"\x06" else None
        key = _ec_key(inner, _SM2 if oid == _SM2 else curve, where)
        key.local_key_id = local_key_id
        return key
    return _Key(where, _KEY_NAMES.get(oid, oid), None, local_key_id)


def _rsa_public_sha256(der: bytes) -> str:
    private = asn1_keys.RSAPrivateKey.load(der)
    public = asn1_keys.RSAPublicKey(
        {"modulus": private["modulus"].native, "public_exponent": private["public_exponent"].native}
    )
    return hashlib.sha256(public.dump()).hexdigest()


def _ec_key(der: bytes, curve: str | None, where: str) -> _Key:
    # Parsed by hand: asn1crypto's ECPrivateKey looks the curve up when its fields are
    # read, and it does not know SM2's.
    fields: dict[int, bytes] = {}
    outer = _header(der, 0)
    offset = 0 if outer is None else outer[0]
    while outer is not None and offset < len(der):
        child = _header(der, offset)
        end = _tlv_end(der, offset)
        if child is None or end is None:
            break
        fields[der[offset]] = der[offset + child[0] : end]
        offset = end
    named = fields.get(0xA0)
    if curve is None and named and named[:1] == b"\x06":
        curve = _oid_at(named, 0)
    algorithm = "SM2" if curve == _SM2 else "EC"
    bits = fields.get(0xA1)
    if not bits or bits[0] != 0x03:
        return _Key(where, algorithm)
    point = _header(bits, 0)
    if point is None:
        return _Key(where, algorithm)
    # Skip the BIT STRING's unused-bits octet: the point itself is what certificates hold.
    return _Key(where, algorithm, hashlib.sha256(bits[point[0] + 1 :]).hexdigest())


def _certificate_public_key_sha256(der: bytes) -> str | None:
    try:
        spki = asn1_x509.Certificate.load(der)["tbs_certificate"]["subject_public_key_info"]
        return hashlib.sha256(bytes(spki["public_key"].contents)[1:]).hexdigest()
    except Exception:
        return None


# --- PKCS#7 ---------------------------------------------------------------------------------


def _pkcs7(der: bytes, where: str, found: _Found) -> None:
    """The certificates of a SignedData, each one's bytes as they are in the file."""
    try:
        info = asn1_cms.ContentInfo.load(der)
        kind = info["content_type"].dotted
        if kind != _SIGNED_DATA:
            name = _PKCS7_TYPES.get(kind, kind)
            found.problems.append(Problem(where, _NO_CERTIFICATE_LIST.format(name=name)))
            return
        certificates = info["content"]["certificates"]
        # The set's elements are walked here, not by asn1crypto, which would parse each
        # certificate and refuse a broken one: read_certificate is to judge those.
        listed = bytes(certificates.contents or b"")  # Void (absent) has none
    except Exception as exc:
        found.problems.append(
            Problem(where, N_("not a readable PKCS#7 structure: {error}").format(error=_why(exc)))
        )
        return
    if not listed:
        found.problems.append(Problem(where, N_("a PKCS#7 SignedData without certificates")))
        return
    offset = number = 0
    while offset < len(listed):
        end = _tlv_end(listed, offset)
        if end is None:
            cut = (
                N_("its certificate list is cut short after 1 certificate")
                if number == 1
                else N_("its certificate list is cut short after {number} certificates")
            )
            found.problems.append(Problem(where, cut.format(number=number)))
            return
        if listed[offset] == 0x30:  # others are attribute certificates, not X.509 ones
            number += 1
            here = _IN_CONTAINER.format(detail=where, number=number)
            if where == "PKCS#7":
                here = N_("PKCS#7 certificate {number}").format(number=number)
            found.certificates.append(_Raw(listed[offset:end], here))
        offset = end


_IN_CONTAINER = N_("{detail}, certificate {number}")
"""The location of a certificate in a PEM block (``{detail}``, which ends in ")", so its
own template cannot take the suffix when the location is translated)."""


# --- PKCS#12 --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Secret:
    """A password in the two forms PKCS#12 uses; never shown."""

    utf8: bytes = dataclasses.field(repr=False)
    """For PBKDF2 (PBES2), as OpenSSL passes it: the bytes as given."""
    bmp: bytes = dataclasses.field(repr=False)
    """For the PKCS#12 KDF: UTF-16BE with a terminating zero; empty for "no password"."""


def _secrets(password: Password) -> list[_Secret]:
    raw = password.encode("utf-8") if isinstance(password, str) else bytes(password)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # OpenSSL's fallback: each byte one character
    forms = [_Secret(raw, text.encode("utf-16-be") + b"\x00\x00")]
    if not raw:
        forms.append(_Secret(b"", b""))  # an absent password, which some writers use
    return forms


class _Unsupported(Exception):
    """An encryption this module does not implement (the message names it)."""


class _Undecryptable(Exception):
    """Decryption gave no valid padding or no valid structure: a wrong password, or damage."""


def _pkcs12(data: bytes, path: str, source: PasswordSource, found: _Found) -> None:
    try:
        pfx = asn1_pkcs12.Pfx.load(data)
        if pfx["auth_safe"]["content_type"].dotted != "1.2.840.113549.1.7.1":
            found.problems.append(
                Problem(
                    "content",
                    N_(
                        "a PKCS#12 file in public-key integrity mode (signed), which ukeytool "
                        "cannot read"
                    ),
                )
            )
            return
        auth_safe_der = _octets(pfx["auth_safe"]["content"])
        contents = list(asn1_pkcs12.AuthenticatedSafe.load(auth_safe_der))
    except Exception as exc:
        found.problems.append(
            Problem("content", N_("a damaged PKCS#12 file: {error}").format(error=_why(exc)))
        )
        return
    needs_password = any(ci["content_type"].native != "data" for ci in contents)
    secret: _Secret | None = None
    if needs_password:
        secret, problem = _find_password(pfx, auth_safe_der, contents, path, source)
        if problem is not None:
            found.problems.append(problem)
    fallback: list[tuple[int, str]] = []
    for number, info in enumerate(contents, start=1):
        where = N_("PKCS#12 content {number}").format(number=number)
        kind = info["content_type"].native
        try:
            if kind == "data":
                _bags(_octets(info["content"]), number, found)
            elif kind == "encrypted_data":
                if secret is None:
                    continue  # the password problem already says why
                try:
                    plain = _decrypt_content(info, secret)
                except _Unsupported as exc:
                    fallback.append((number, str(exc)))
                    continue
                _bags(plain, number, found)
            elif kind == "enveloped_data":
                found.problems.append(
                    Problem(
                        where,
                        N_(
                            "encrypted to a recipient's public key (envelopedData); it cannot "
                            "be read without that recipient's private key"
                        ),
                    )
                )
            else:
                found.problems.append(
                    Problem(where, N_("an unexpected content type {kind}").format(kind=kind))
                )
        except _Undecryptable as exc:
            found.problems.append(Problem(where, str(exc)))
        except Exception as exc:
            found.problems.append(Problem(where, _NOT_READ.format(error=_why(exc))))
    if fallback and secret is not None:
        _pkcs12_fallback(data, secret, fallback, found)


def _find_password(
    pfx: Any, auth_safe_der: bytes, contents: list[Any], path: str, source: PasswordSource
) -> tuple[_Secret | None, Problem | None]:
    """The password that opens the file, or the problem saying why there is none."""
    given = source if isinstance(source, str | bytes) else None
    candidates = ([given] if given else []) + [""]
    test = _password_test(pfx, auth_safe_der, contents)
    for candidate in candidates:
        for secret in _secrets(candidate):
            if test(secret):
                return secret, None
    if callable(source):
        asked = source(path)
        if asked is not None:
            for secret in _secrets(asked):
                if test(secret):
                    return secret, None
            return None, Problem("password", _WRONG_PASSWORD)
    if given:
        return None, Problem("password", _WRONG_PASSWORD)
    return None, Problem(
        "password", N_("a password is needed: the PKCS#12 file does not open without one")
    )


_WRONG_PASSWORD = N_("wrong password: the PKCS#12 file does not open with the password given")
_NOT_READ = N_("could not be read: {error}")


def _password_test(
    pfx: Any, auth_safe_der: bytes, contents: list[Any]
) -> Callable[[_Secret], bool]:
    """How to tell the right password: the MAC when there is one we can compute, else
    whether the first encrypted content decrypts to valid padding and structure."""
    mac_data = pfx["mac_data"]
    if mac_data.native is not None:
        oid = mac_data["mac"]["digest_algorithm"]["algorithm"].dotted
        if oid in _DIGESTS:
            salt = mac_data["mac_salt"].native
            iterations = mac_data["iterations"].native or 1
            expected = mac_data["mac"]["digest"].native

            def mac_matches(secret: _Secret) -> bool:
                return bool(_mac(oid, secret, salt, iterations, auth_safe_der) == expected)

            return mac_matches
    encrypted = [ci for ci in contents if ci["content_type"].native == "encrypted_data"]

    def decrypts(secret: _Secret) -> bool:
        if not encrypted:
            return True
        try:
            asn1_pkcs12.SafeContents.load(_decrypt_content(encrypted[0], secret)).native  # noqa: B018
        except _Unsupported:
            return True  # no way to tell here; the fallback will
        except Exception:
            return False
        return True

    return decrypts


def _mac(oid: str, secret: _Secret, salt: bytes, iterations: int, message: bytes) -> bytes:
    factory, _ = _DIGESTS[oid]
    size = factory().digest_size
    key = _pkcs12_kdf(oid, secret.bmp, salt, purpose=3, rounds=iterations, size=size)
    mac = hmac.HMAC(key, factory())
    mac.update(message)
    return mac.finalize()


def _pkcs12_kdf(
    oid: str, password: bytes, salt: bytes, *, purpose: int, rounds: int, size: int
) -> bytes:
    """RFC 7292 appendix B.2: purpose 1 makes keys, 2 IVs, 3 MAC keys."""
    factory, v = _DIGESTS[oid]

    def stretch(value: bytes) -> bytes:
        if not value:
            return b""
        length = v * -(-len(value) // v)
        return (value * (length // len(value) + 1))[:length]

    block = stretch(salt) + stretch(password)
    out = b""
    while len(out) < size:
        digest = bytes([purpose]) * v + block
        for _ in range(rounds):
            h = hashes.Hash(factory())
            h.update(digest)
            digest = h.finalize()
        out += digest
        if len(out) >= size:
            break
        b = int.from_bytes((digest * (v // len(digest) + 1))[:v], "big") + 1
        block = b"".join(
            ((int.from_bytes(block[i : i + v], "big") + b) % (1 << (8 * v))).to_bytes(v, "big")
            for i in range(0, len(block), v)
        )
    return out[:size]


def _decrypt_content(info: Any, secret: _Secret) -> bytes:
    encrypted = info["content"]["encrypted_content_info"]
    algorithm = encrypted["content_encryption_algorithm"]
    ciphertext = _octets(encrypted["encrypted_content"])
    return _decrypt(algorithm, ciphertext, secret)


def _decrypt(algorithm: Any, ciphertext: bytes, secret: _Secret) -> bytes:
    oid = algorithm["algorithm"].dotted
    if oid == _PBES2:
        return _pbes2(algorithm["parameters"], ciphertext, secret)
    if oid in _PKCS12_PBES:
        _, size, cipher, iv_size = _PKCS12_PBES[oid]
        parameters = algorithm["parameters"]
        salt, rounds = parameters["salt"].native, parameters["iterations"].native
        key = _pkcs12_kdf(_SHA1, secret.bmp, salt, purpose=1, rounds=rounds, size=size)
        if not iv_size and cipher is not None:
            decryptor = Cipher(cipher(key), mode=None).decryptor()
            return bytes(decryptor.update(ciphertext) + decryptor.finalize())
        iv = _pkcs12_kdf(_SHA1, secret.bmp, salt, purpose=2, rounds=rounds, size=iv_size)
        if cipher is None:
            return _unpad(_rc2_cbc_decrypt(key, 8 * size, iv, ciphertext), 8)
        return _cbc(cipher(key), iv, ciphertext)
    raise _Unsupported(_OTHER_SCHEMES.get(oid) or N_("the scheme {oid}").format(oid=oid))


def _pbes2(parameters: Any, ciphertext: bytes, secret: _Secret) -> bytes:
    kdf = parameters["key_derivation_func"]
    scheme = parameters["encryption_scheme"]
    kdf_oid = kdf["algorithm"].dotted
    cipher_oid = scheme["algorithm"].dotted
    if cipher_oid not in _PBES2_CIPHERS:
        cipher_name = _OTHER_SCHEMES.get(cipher_oid, cipher_oid)
        raise _Unsupported(N_("PBES2 with {cipher}").format(cipher=cipher_name))
    if kdf_oid != _PBKDF2:
        raise _Unsupported(N_("PBES2 with the key derivation {oid}").format(oid=kdf_oid))
    name, size, cipher = _PBES2_CIPHERS[cipher_oid]
    kdf_parameters = kdf["parameters"]
    prf_oid = kdf_parameters["prf"]["algorithm"].dotted
    if prf_oid not in _PRFS:
        raise _Unsupported(N_("PBES2 {cipher} with the PRF {oid}").format(cipher=name, oid=prf_oid))
    length = kdf_parameters["key_length"].native or size
    key = PBKDF2HMAC(
        algorithm=_PRFS[prf_oid](),
        length=length,
        salt=kdf_parameters["salt"].native,
        iterations=kdf_parameters["iteration_count"].native,
    ).derive(secret.utf8)
    iv = asn1_core.OctetString.load(scheme["parameters"].dump()).native
    return _cbc(cipher(key), iv, ciphertext)


def _cbc(algorithm: Any, iv: bytes, ciphertext: bytes) -> bytes:
    decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
    return _unpad(decryptor.update(ciphertext) + decryptor.finalize(), algorithm.block_size // 8)


def _unpad(padded: bytes, block: int) -> bytes:
    unpadder = padding.PKCS7(8 * block).unpadder()
    try:
        return bytes(unpadder.update(padded) + unpadder.finalize())
    except ValueError:
        raise _Undecryptable(
            N_("could not be decrypted (no valid padding): a wrong password, or a damaged file")
        ) from None


def _bags(safe_contents_der: bytes, content: int, found: _Found, outer: str | None = None) -> None:
    """The bags of a SafeContents in PKCS#12 content number ``content``; ``outer`` numbers
    the bag that holds them when they are a bag of bags.

    Each location is one template: a location made of a shorter one and a suffix
    ("{detail}, bag {number}") would be read back by the shorter one's template, whose
    last placeholder takes the suffix, when the message is translated."""
    try:
        bags = list(asn1_pkcs12.SafeContents.load(safe_contents_der))
        for bag in bags:
            bag["bag_id"].dotted  # noqa: B018 - parse the list now, not half-way through
    except Exception as exc:
        raise _Undecryptable(
            N_("not a list of PKCS#12 bags ({error}): a wrong password, or a damaged file").format(
                error=_why(exc)
            )
        ) from None
    for number, bag in enumerate(bags, start=1):
        if outer is None:
            here = N_("PKCS#12 content {content}, bag {number}").format(
                content=content, number=number
            )
            path = str(number)
        else:
            here = N_("PKCS#12 content {content}, bag {bag}, inner bag {number}").format(
                content=content, bag=outer, number=number
            )
            path = f"{outer}, inner bag {number}"  # deeper still: only the numbers' part
        try:
            _bag(bag, here, found, content, path)
        except Exception as exc:
            found.problems.append(Problem(here, _NOT_READ.format(error=_why(exc))))


def _bag(bag: Any, where: str, found: _Found, content: int, path: str) -> None:
    kind = bag["bag_id"].native
    name = local_key_id = None
    for attribute in bag["bag_attributes"]:
        values = attribute["values"]
        if attribute["type"].native == "friendly_name" and len(values):
            name = str(values[0].native).encode("utf-8")
        elif attribute["type"].native == "local_key_id" and len(values):
            local_key_id = bytes(values[0].native)
    value = bag["bag_value"]
    if kind == "cert_bag":
        if value["cert_id"].native != "x509":
            return  # an SDSI certificate is not X.509
        found.certificates.append(_Raw(_octets(value["cert_value"]), where, name, local_key_id))
    elif kind == "key_bag":
        try:
            key = _pkcs8_key(value.untag().dump(), where, local_key_id)
        except Exception:
            key = _Key(where, local_key_id=local_key_id)
        found.keys.append(key)
    elif kind == "pkcs8_shrouded_key_bag":
        # Never decrypted: its certificate is the one with the same localKeyId.
        found.keys.append(_Key(where, local_key_id=local_key_id))
    elif kind == "safe_contents":
        _bags(value.untag().dump(), content, found, path)
    # CRL and secret bags hold no certificate.


def _pkcs12_fallback(
    data: bytes, secret: _Secret, fallback: list[tuple[int, str]], found: _Found
) -> None:
    """Contents encrypted with a scheme the walker does not implement, through
    cryptography's whole-file reader (the OpenSSL behind it knows more ciphers)."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    numbers = ", ".join(str(n) for n, _ in fallback)
    if len(fallback) == 1:
        where = N_("PKCS#12 content {number}").format(number=numbers)
        located = N_("PKCS#12 content {content}, certificate {number}")
    else:
        where = N_("PKCS#12 contents {numbers}").format(numbers=numbers)
        located = N_("PKCS#12 contents {contents}, certificate {number}")
    schemes = ", ".join(dict.fromkeys(name for _, name in fallback))
    try:
        loaded = pkcs12.load_pkcs12(data, secret.utf8)
    except Exception as exc:
        found.problems.append(
            Problem(
                where,
                N_(
                    "encrypted with {detail}, which ukeytool cannot decrypt, and the OpenSSL "
                    "behind cryptography could not read the file either ({error})"
                ).format(detail=schemes, error=_why(exc)),
            )
        )
        return
    from cryptography.hazmat.primitives.serialization import Encoding

    known = {raw.der for raw in found.certificates}
    ordered = ([loaded.cert] if loaded.cert is not None else []) + list(loaded.additional_certs)
    for number, item in enumerate(ordered, start=1):
        der = item.certificate.public_bytes(Encoding.DER)
        if der in known:
            continue
        known.add(der)
        here = located.format(content=numbers, contents=numbers, number=number)
        found.certificates.append(_Raw(der, here, item.friendly_name))
    # cryptography pairs the key with its certificate (by localKeyId, as OpenSSL does);
    # its certificate has lost the localKeyId here, so the key's public half says it.
    unknown = [key for key in found.keys if key.public_key_sha256 is None]
    if loaded.key is not None and loaded.cert is not None and len(unknown) == 1:
        der = loaded.cert.certificate.public_bytes(Encoding.DER)
        unknown[0].public_key_sha256 = _certificate_public_key_sha256(der)


# --- small DER helpers ----------------------------------------------------------------------


def _header(data: bytes, start: int) -> tuple[int, int | None] | None:
    """(header length, content length; None for BER's indefinite form) of the TLV at
    ``start``, or None when the header itself is cut short or invalid."""
    if start + 2 > len(data) or data[start] & 0x1F == 0x1F:
        return None
    first = data[start + 1]
    if first == 0x80:
        return 2, None
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    if count > 4 or start + 2 + count > len(data):
        return None
    return 2 + count, int.from_bytes(data[start + 2 : start + 2 + count], "big")


def _tlv_end(data: bytes, start: int) -> int | None:
    """Where the TLV at ``start`` ends, or None when it does not fit in ``data``."""
    header = _header(data, start)
    if header is None:
        return None
    size, length = header
    if length is None:
        try:
            return start + int(asn1_parser.peek(data[start:]))
        except Exception:
            return None
    end = start + size + length
    return end if end <= len(data) else None


def _oid_at(data: bytes, start: int) -> str | None:
    end = _tlv_end(data, start)
    if end is None or data[start] != 0x06:
        return None
    try:
        return str(asn1_core.ObjectIdentifier.load(data[start:end]).dotted)
    except Exception:
        return None


def _small_integer_at(data: bytes, start: int) -> int | None:
    end = _tlv_end(data, start)
    header = _header(data, start)
    if end is None or header is None or end - start - header[0] > 4:
        return None
    return int.from_bytes(data[start + header[0] : end], "big", signed=True)


def _octets(value: Any) -> bytes:
    """An OCTET STRING's bytes, also when BER split it into pieces."""
    return bytes(value.__bytes__())


# --- RC2 (RFC 2268), decryption only ------------------------------------------------------
# Legacy exports (openssl pkcs12 -legacy, OpenSSL 1.x and GmSSL 2.x defaults, Windows)
# encrypt the certificates with 40-bit RC2, which cryptography does not offer. What it
# decrypts is certificates, public data, and the MAC has already vouched for the password.

_PITABLE = bytes.fromhex(
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2"
    "179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82"
    "54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626"
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7"
    "08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec"
    "c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731"
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9"
    "0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad"
)


def _rc2_key_schedule(key: bytes, bits: int) -> list[int]:
    table = bytearray(128)
    table[: len(key)] = key
    for i in range(len(key), 128):
        table[i] = _PITABLE[(table[i - 1] + table[i - len(key)]) & 0xFF]
    t8 = (bits + 7) // 8
    table[128 - t8] = _PITABLE[table[128 - t8] & (0xFF >> (8 * t8 - bits))]
    for i in range(127 - t8, -1, -1):
        table[i] = _PITABLE[table[i + 1] ^ table[i + t8]]
    return [table[2 * i] | table[2 * i + 1] << 8 for i in range(64)]


def _rc2_decrypt_block(k: list[int], block: bytes) -> bytes:
    r = [int.from_bytes(block[i : i + 2], "little") for i in range(0, 8, 2)]
    j = 63
    for round_ in range(16):
        if round_ in (5, 11):  # the two r-mashing rounds, undone
            for i in (3, 2, 1, 0):
                r[i] = (r[i] - k[r[i - 1] & 63]) & 0xFFFF
        for i, shift in ((3, 5), (2, 3), (1, 2), (0, 1)):  # an r-mixing round, undone
            r[i] = ((r[i] >> shift) | (r[i] << (16 - shift))) & 0xFFFF
            r[i] = (r[i] - k[j] - (r[i - 1] & r[i - 2]) - (~r[i - 1] & r[i - 3])) & 0xFFFF
            j -= 1
    return b"".join(word.to_bytes(2, "little") for word in r)


def _rc2_cbc_decrypt(key: bytes, bits: int, iv: bytes, data: bytes) -> bytes:
    if len(data) % 8:
        raise _Undecryptable(N_("could not be decrypted: not a whole number of RC2 blocks"))
    schedule = _rc2_key_schedule(key, bits)
    out = bytearray()
    previous = iv
    for i in range(0, len(data), 8):
        block = data[i : i + 8]
        plain = _rc2_decrypt_block(schedule, block)
        out += bytes(a ^ b for a, b in zip(plain, previous, strict=True))
        previous = block
    return bytes(out)


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
