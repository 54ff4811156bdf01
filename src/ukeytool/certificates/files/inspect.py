"""Reading files: each file on its own, its format told by the content, and what it
holds made into the same entries a token gives."""

from __future__ import annotations

import dataclasses
import datetime
import os
import stat
from collections.abc import Iterable

from ...errors import UsageError
from ...i18n.message import Message, template
from ...judging.validity import check_moment, check_warn_days, judge
from ...model import Certificate, CertificateEntry, FileKey, FileReport, KeyPresence, Problem
from ...model.text import decode_text
from ..x509 import read_certificate
from .der import der
from .found import MAX_UNREADABLE_IN_A_ROW, UNREADABLE_IN_A_ROW, Found
from .keys import certificate_public_key_sha256
from .pem import BEGIN, pem
from .pkcs12 import PasswordSource

__all__ = ["MAX_FILE_SIZE", "inspect_file", "inspect_files"]

MAX_FILE_SIZE = 32 * 1024 * 1024
"""Larger files are refused unread: certificate files are kilobytes."""

PATHS_NOT_A_LIST = template(
    "file.paths_not_a_list", "inspect_files takes a list of paths; for one file use inspect_file"
)
BUG = template("file.bug", "ukeytool failed to read this file ({error}); this is a bug")
IS_DIRECTORY = template(
    "file.is_directory", "{path} is a directory; give the certificate files in it ({pattern})"
)
NOT_REGULAR = template("file.not_regular", "{path} is not a regular file")
TOO_LARGE = template(
    "file.too_large",
    "{path} is {size} bytes, too large for a certificate file (at most {limit})",
)
GREW_TOO_LARGE = template("file.grew_too_large", "{path} is too large for a certificate file")
NOT_FOUND = template("file.not_found", "file not found: {path} does not exist")
PERMISSION_DENIED = template(
    "file.permission_denied", "permission denied: {path} cannot be read by this user"
)
CANNOT_READ = template("file.cannot_read", "cannot read {path}: {reason}")
EMPTY = template("file.empty", "the file is empty")
DAMAGED_BEGIN = template(
    "file.damaged_begin", "not a certificate file: text with a damaged -----BEGIN line"
)
NOT_PEM_OR_DER = template(
    "file.not_pem_or_der",
    "not a certificate file: neither PEM text nor DER "
    "(it starts with bytes {head}, not 30 for an ASN.1 SEQUENCE)",
)
TEXT_WITHOUT_BEGIN = template(
    "file.text_without_begin",
    "not a certificate file: text without a -----BEGIN CERTIFICATE----- line",
)
KEY_IN_FILE = template("file.key_in_file", "its private key is in the file ({locations})")
NO_KEY_FOR_IT = template("file.no_key_for_it", "no private key in the file belongs to it")
KEY_UNTIED = template("file.key_untied", "a key in the file could not be tied to a certificate")


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
        raise UsageError(PATHS_NOT_A_LIST())
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
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        found = Found(None)
        found.problems.append(Problem("content", BUG(error=error)))
    return _report(name, found, moment, warn_days)


def _resolve_moment(at: datetime.datetime | None) -> datetime.datetime:
    if at is None:
        return datetime.datetime.now(datetime.timezone.utc)
    return check_moment(at, what="at")


def _read(path: str) -> bytes | Problem:
    """The file's bytes, or why they cannot be had (one sentence, naming the path)."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            return Problem("file", IS_DIRECTORY(path=path, pattern=f"{path}/*"))
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or a device would block or never end.
            return Problem("file", NOT_REGULAR(path=path))
        if info.st_size > MAX_FILE_SIZE:
            return Problem("file", TOO_LARGE(path=path, size=info.st_size, limit=MAX_FILE_SIZE))
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_SIZE + 1)
        if len(data) > MAX_FILE_SIZE:  # it grew since stat
            return Problem("file", GREW_TOO_LARGE(path=path))
        return data
    except FileNotFoundError:
        return Problem("file", NOT_FOUND(path=path))
    except PermissionError:
        return Problem("file", PERMISSION_DENIED(path=path))
    except OSError as exc:
        # The operating system's words, as it said them.
        return Problem("file", CANNOT_READ(path=path, reason=exc.strerror or str(exc)))


def _report(path: str, found: Found, at: datetime.datetime, warn_days: int) -> FileReport:
    entries = []
    problems = list(found.problems)
    # Keys are tied to certificates through these, each looked up once: linear in
    # certificates + keys.
    by_public_key: dict[str, list[int]] = {}
    by_id: dict[bytes, list[int]] = {}
    unreadable = 0
    read: dict[bytes, Certificate] = {}  # a certificate given many times is read once
    for position, raw in enumerate(found.certificates, start=1):
        if raw.der not in read:
            read[raw.der] = read_certificate(raw.der)
        certificate = _relocate(read[raw.der], raw.location)
        unreadable = unreadable + 1 if certificate.error is not None else 0
        if unreadable > MAX_UNREADABLE_IN_A_ROW:
            count = MAX_UNREADABLE_IN_A_ROW
            problems.append(Problem(raw.location, UNREADABLE_IN_A_ROW(count=count)))
            break
        public_key = certificate_public_key_sha256(raw.der)
        if public_key is not None:
            by_public_key.setdefault(public_key, []).append(position)
        if raw.id is not None:
            by_id.setdefault(raw.id, []).append(position)
        entries.append(
            CertificateEntry(
                handle=position,
                label=None if raw.label is None else decode_text(raw.label),
                id=raw.id,
                certificate_type=None,
                private=None,
                certificate=certificate,
                validity=judge(certificate, at, warn_days),
                # English, as JSON keeps it; the problems hold the location as a message.
                location=str(raw.location),
            )
        )
    keys = []
    for key in found.keys:
        if key.public_key_sha256 is not None:
            matches = by_public_key.get(key.public_key_sha256, [])
        elif key.local_key_id is not None:
            matches = by_id.get(key.local_key_id, [])
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
        problems=tuple(problems),
    )


def _related(entries: list[CertificateEntry], keys: list[FileKey]) -> tuple[CertificateEntry, ...]:
    """Relations and findings as for a token's certificates (docs/relations.md); the key
    is "yes" when a private key in the file belongs to the certificate, "no" when every
    key in the file was tied to its certificates and none to this one, else "unknown"."""
    from ...judging.relations import relate

    related = relate(entries)
    all_tied = all(key.certificates for key in keys)
    keys_of: dict[int, list[FileKey]] = {}
    for key in keys:
        for handle in key.certificates:
            keys_of.setdefault(handle, []).append(key)
    out = []
    for entry in related:
        mine = keys_of.get(entry.handle, [])
        if mine:
            reason = KEY_IN_FILE(locations=tuple(key.location for key in mine))
            presence = KeyPresence("yes", "yes", (), reason)
        elif all_tied:
            presence = KeyPresence("no", "no", (), NO_KEY_FOR_IT())
        else:
            presence = KeyPresence("unknown", "unknown", (), KEY_UNTIED())
        out.append(dataclasses.replace(entry, key_on_token=presence))
    return tuple(out)


def _relocate(certificate: Certificate, location: Message) -> Certificate:
    """The certificate with its "CKA_VALUE" notes (a token attribute) placed in the file."""
    if not any(p.where == "CKA_VALUE" for p in certificate.problems):
        return certificate
    problems = tuple(
        dataclasses.replace(p, where=location) if p.where == "CKA_VALUE" else p
        for p in certificate.problems
    )
    return dataclasses.replace(certificate, problems=problems)


def _parse(data: bytes, path: str, password: PasswordSource) -> Found:
    if not data:
        found = Found(None)
        found.problems.append(Problem("content", EMPTY()))
        return found
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # PEM text saved as "Unicode" by Windows Notepad: UTF-16 with a byte order mark.
        try:
            text = data.decode("utf-16").encode("ascii")
        except (UnicodeDecodeError, UnicodeEncodeError):
            text = b""
        if BEGIN.search(text):
            return pem(text)
    if BEGIN.search(data):
        return pem(data)
    if data[0] == 0x30:
        return der(data, path, password)
    found = Found(None)
    found.problems.append(Problem("content", _not_a_format(data)))
    return found


def _not_a_format(data: bytes) -> Message:
    head = data[:4].hex(" ")
    if b"-----BEGIN" in data[:4096] or b"BEGIN CERTIFICATE" in data[:4096]:
        return DAMAGED_BEGIN()
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return NOT_PEM_OR_DER(head=head)
    return TEXT_WITHOUT_BEGIN()
