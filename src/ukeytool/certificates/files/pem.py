"""PEM text: certificate blocks (``CERTIFICATE``, ``X509 CERTIFICATE``, OpenSSL's
``TRUSTED CERTIFICATE`` whose alias and key id become the label and id), PKCS#7 blocks,
and private keys (only their public half is looked at); other blocks (CRLs, requests,
public keys) are passed over. Each block is read on its own, located by its number and
line: one bad block hides nothing else."""

from __future__ import annotations

import base64
import re

from ...i18n.message import Message, template
from ...model import Problem
from ..asn1 import header, tlv_end
from .der import der_kind
from .found import PEM_BLOCK, Found, Key, Raw
from .keys import pem_key
from .pkcs7 import pkcs7

__all__ = ["BEGIN", "pem"]

_CERT_LABELS = frozenset({b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"})
_PKCS7_LABELS = frozenset({b"PKCS7", b"PKCS #7 SIGNED DATA", b"CMS", b"CERTIFICATE CHAIN"})
_KEY_LABELS = frozenset({b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY"})
_ENCRYPTED_KEY_LABELS = frozenset({b"ENCRYPTED PRIVATE KEY"})
_READ_LABELS = _CERT_LABELS | _PKCS7_LABELS | _KEY_LABELS | _ENCRYPTED_KEY_LABELS
BEGIN = re.compile(rb"-----BEGIN ([^\r\n-]+)-----[ \t]*\r?\n?")
_END = re.compile(rb"-----END ([^\r\n-]+)-----")

NO_END = template("file.pem_no_end", "no -----END {label}----- line; the file may be cut short")
END_MISMATCH = template(
    "file.pem_end_mismatch", "BEGIN {label} ends with END {end}; the block was not read"
)
BAD_BASE64 = template("file.pem_bad_base64", "its base64 text could not be decoded")
EMPTY_BLOCK = template("file.pem_empty_block", "the block is empty")
ONLY_KEY_AND = template(
    "file.pem_only_key_and", "no certificate in this PEM text (it holds a private key, {labels})"
)
ONLY_KEY = template("file.pem_only_key", "no certificate in this PEM text (it holds a private key)")
ONLY_OTHERS = template(
    "file.pem_only_others", "no certificate in this PEM text (it holds {labels})"
)
NOTHING_READ = template(
    "file.pem_nothing_read", "no certificate in this PEM text (it holds no block ukeytool reads)"
)


def pem(data: bytes) -> Found:
    """Every block of the PEM text ``data``."""
    found = Found("pem")
    begins = BEGIN.finditer(data)
    others: dict[str, None] = {}
    # Each search starts where the last one stopped: linear in the text, however many
    # blocks it holds (lines are counted from the previous block, not from the start).
    line, counted = 1, 0
    begin = next(begins, None)
    number = 0
    while begin is not None:
        number += 1
        after = next(begins, None)
        if not found.take():
            break
        label = begin.group(1).strip()
        line += data.count(b"\n", counted, begin.start())
        counted = begin.start()
        where = PEM_BLOCK(number=number, line=line)
        stop = after.start() if after is not None else len(data)
        current, begin = begin, after
        if label not in _READ_LABELS:
            others[_ascii(label)] = None
            continue
        end = _END.search(data, current.end(), stop)
        if end is None:
            found.problems.append(Problem(where, NO_END(label=_ascii(label))))
            continue
        if end.group(1).strip() != label:
            mismatch = END_MISMATCH(label=_ascii(label), end=_ascii(end.group(1).strip()))
            found.problems.append(Problem(where, mismatch))
            continue
        body, encrypted = _pem_body(data[current.end() : end.start()])
        if body is None:
            found.problems.append(Problem(where, BAD_BASE64()))
            continue
        if not body:
            found.problems.append(Problem(where, EMPTY_BLOCK()))
            continue
        if label in _CERT_LABELS and der_kind(body) == "pkcs7":
            pkcs7(body, where, found)  # some CAs hand out their chain so labelled
        elif label in _CERT_LABELS:
            found.certificates.append(_pem_certificate(body, where, trusted=label[0:1] == b"T"))
        elif label in _PKCS7_LABELS:
            pkcs7(body, where, found)
        elif encrypted or label in _ENCRYPTED_KEY_LABELS:
            found.keys.append(Key(where))
        else:
            found.keys.append(pem_key(body, label, where))
    if not found.certificates and not found.problems:
        labels = tuple(others)
        if found.keys and labels:
            message = ONLY_KEY_AND(labels=labels)
        elif found.keys:
            message = ONLY_KEY()
        elif labels:
            message = ONLY_OTHERS(labels=labels)
        else:
            message = NOTHING_READ()
        found.problems.append(Problem("content", message))
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


def _pem_certificate(body: bytes, where: Message, *, trusted: bool) -> Raw:
    if not trusted:
        return Raw(body, where)
    # OpenSSL's TRUSTED CERTIFICATE: the certificate, then X509_AUX with trust settings,
    # an alias (UTF8String) and a key id (OCTET STRING).
    end = tlv_end(body, 0)
    if end is None or end == len(body):
        return Raw(body, where)
    alias = key_id = None
    aux = header(body, end)
    if aux is not None and body[end] == 0x30:
        offset = end + aux[0]
        while offset < len(body):
            child = header(body, offset)
            child_end = tlv_end(body, offset)
            if child is None or child_end is None:
                break
            if body[offset] == 0x0C:
                alias = body[offset + child[0] : child_end]
            elif body[offset] == 0x04:
                key_id = body[offset + child[0] : child_end]
            offset = child_end
    return Raw(body[:end], where, alias, key_id)
