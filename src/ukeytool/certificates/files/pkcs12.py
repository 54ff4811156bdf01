"""PKCS#12 (``.pfx``, ``.p12``): walked with asn1crypto, decrypted with cryptography's
primitives (:mod:`.decrypt`).

Not handed whole to cryptography's ``pkcs12.load_pkcs12``, because that call (1) says
the same "Invalid password or PKCS12 data" for a wrong password and for a damaged file,
(2) fails as a whole when one key is SM2 ("Curve 1.2.156.10197.1.301 is not
supported"), which is what Chinese soft certificates hold, and (3) loses the bag order
and localKeyId. The integrity MAC tells a wrong password apart. ``load_pkcs12`` is still
used, as a fallback, for certificate encryptions the walker does not implement (RC2-40
is, the ``-legacy`` default of older exports; DES with MD5 is not). Private keys are not
decrypted: a key is tied to its certificate by its public half when that is in clear,
else by the PKCS#12 localKeyId, as OpenSSL pairs them (only in the fallback does the
OpenSSL behind cryptography decrypt a key, and only its public half's hash is kept).

Passwords: tried in this order, the given one, then the empty one (many soft
certificates have none), then, only if a callable was given, whatever it returns. A
password is never stored in a value, logged or put in a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asn1crypto import cms as asn1_cms
from asn1crypto import pkcs12 as asn1_pkcs12

from ...i18n.message import Message, template
from ...model import Problem
from ..asn1 import header, octets, tlv_end
from ..reasons import Unreadable
from .decrypt import (
    DIGESTS,
    Secret,
    TooManyIterations,
    Undecryptable,
    Unsupported,
    check_iterations,
    decrypt_content,
    mac,
)
from .found import (
    IN_CONTAINER,
    MAX_DEPTH,
    NOT_READ,
    PKCS12_BAG,
    PKCS12_CONTENT,
    PKCS12_CONTENTS,
    PKCS12_INNER_BAG,
    TOO_DEEP,
    Found,
    Key,
    Raw,
    why,
)
from .keys import certificate_public_key_sha256, pkcs8_key

__all__ = ["Password", "PasswordSource", "pkcs12"]

Password = str | bytes
"""A PKCS#12 password: text, or bytes (taken as UTF-8, as OpenSSL takes them)."""
PasswordSource = Password | Callable[[str], Password | None] | None
"""A password, or a function that is given the file's path and returns one (or None to
give up); it is only called for a PKCS#12 file that the given and empty passwords do not
open, at most once per file."""

SIGNED = template(
    "file.pkcs12_signed",
    "a PKCS#12 file in public-key integrity mode (signed), which ukeytool cannot read",
)
DAMAGED = template("file.pkcs12_damaged", "a damaged PKCS#12 file: {error}")
ENVELOPED = template(
    "file.pkcs12_enveloped",
    "encrypted to a recipient's public key (envelopedData); it cannot be read without "
    "that recipient's private key",
)
CONTENT_TYPE = template("file.pkcs12_content_type", "an unexpected content type {kind}")
PASSWORD_NEEDED = template(
    "file.password_needed", "a password is needed: the PKCS#12 file does not open without one"
)
WRONG_PASSWORD = template(
    "file.wrong_password",
    "wrong password: the PKCS#12 file does not open with the password given",
)
NOT_BAGS = template(
    "file.pkcs12_not_bags",
    "not a list of PKCS#12 bags ({error}): a wrong password, or a damaged file",
)
FALLBACK_FAILED = template(
    "file.pkcs12_fallback_failed",
    "encrypted with {detail}, which ukeytool cannot decrypt, and the OpenSSL behind "
    "cryptography could not read the file either ({error})",
)


def _secrets(password: Password) -> list[Secret]:
    raw = password.encode("utf-8") if isinstance(password, str) else bytes(password)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # OpenSSL's fallback: each byte one character
    forms = [Secret(raw, text.encode("utf-16-be") + b"\x00\x00")]
    if not raw:
        forms.append(Secret(b"", b""))  # an absent password, which some writers use
    return forms


def pkcs12(data: bytes, path: str, source: PasswordSource, found: Found) -> None:
    """The certificates and keys of the PKCS#12 file ``data`` (at ``path``) into
    ``found``, opened with a password from ``source``."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data)
        if pfx["auth_safe"]["content_type"].dotted != "1.2.840.113549.1.7.1":
            found.problems.append(Problem("content", SIGNED()))
            return
        auth_safe_der = octets(pfx["auth_safe"]["content"])
        contents = [asn1_cms.ContentInfo.load(part) for part in _elements(auth_safe_der, found)]
    except Exception as exc:
        found.problems.append(Problem("content", DAMAGED(error=why(exc))))
        return
    needs_password = any(ci["content_type"].native != "data" for ci in contents)
    secret: Secret | None = None
    if needs_password:
        secret, problem = _find_password(pfx, auth_safe_der, contents, path, source)
        if problem is not None:
            found.problems.append(problem)
    fallback: list[tuple[int, Message | str]] = []
    for number, info in enumerate(contents, start=1):
        where = PKCS12_CONTENT(number=number)
        kind = info["content_type"].native
        try:
            if kind == "data":
                _bags(octets(info["content"]), number, found)
            elif kind == "encrypted_data":
                if secret is None:
                    continue  # the password problem already says why
                try:
                    plain = decrypt_content(info, secret)
                except Unsupported as exc:
                    fallback.append((number, exc.scheme))
                    continue
                _bags(plain, number, found)
            elif kind == "enveloped_data":
                found.problems.append(Problem(where, ENVELOPED()))
            else:
                found.problems.append(Problem(where, CONTENT_TYPE(kind=str(kind))))
        except Unreadable as exc:
            found.problems.append(Problem(where, exc.message))
        except Exception as exc:
            found.problems.append(Problem(where, NOT_READ(error=why(exc))))
    if fallback and secret is not None:
        infos = [contents[number - 1] for number, _ in fallback]
        _fallback(data, secret, fallback, found, _fallback_iterations(pfx, infos))


def _find_password(
    pfx: Any, auth_safe_der: bytes, contents: list[Any], path: str, source: PasswordSource
) -> tuple[Secret | None, Problem | None]:
    """The password that opens the file, or the problem saying why there is none."""
    try:
        return _try_passwords(pfx, auth_safe_der, contents, path, source)
    except TooManyIterations as exc:  # before any password was tried, or asked for
        return None, Problem("content", exc.message)


def _try_passwords(
    pfx: Any, auth_safe_der: bytes, contents: list[Any], path: str, source: PasswordSource
) -> tuple[Secret | None, Problem | None]:
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
            return None, Problem("password", WRONG_PASSWORD())
    if given:
        return None, Problem("password", WRONG_PASSWORD())
    return None, Problem("password", PASSWORD_NEEDED())


def _password_test(pfx: Any, auth_safe_der: bytes, contents: list[Any]) -> Callable[[Secret], bool]:
    """How to tell the right password: the MAC when there is one we can compute, else
    whether the first encrypted content decrypts to valid padding and structure."""
    mac_data = pfx["mac_data"]
    if mac_data.native is not None:
        oid = mac_data["mac"]["digest_algorithm"]["algorithm"].dotted
        if oid in DIGESTS:
            salt = mac_data["mac_salt"].native
            iterations = mac_data["iterations"].native or 1
            check_iterations(iterations)
            expected = mac_data["mac"]["digest"].native

            def mac_matches(secret: Secret) -> bool:
                return bool(mac(oid, secret, salt, iterations, auth_safe_der) == expected)

            return mac_matches
    encrypted = [ci for ci in contents if ci["content_type"].native == "encrypted_data"]

    def decrypts(secret: Secret) -> bool:
        if not encrypted:
            return True
        try:
            plain = decrypt_content(encrypted[0], secret)
            for bag in _elements(plain, Found(None)):
                asn1_pkcs12.SafeBag.load(bag).native  # noqa: B018
        except TooManyIterations:
            raise
        except Unsupported:
            return True  # no way to tell here; the fallback will
        except Exception:
            return False
        return True

    return decrypts


def _elements(der: bytes, found: Found) -> list[bytes]:
    """The elements of the DER (or BER) SEQUENCE OF ``der``, each one a part of the file
    (:meth:`Found.take`): walked by hand, so that a list of a million empty elements
    costs no more than the parts that are read."""
    head = header(der, 0)
    if head is None or der[0] != 0x30:
        raise ValueError("not a SEQUENCE")
    size, length = head
    stop = len(der) if length is None else size + length
    if stop > len(der):
        raise ValueError("the SEQUENCE is cut short")
    elements: list[bytes] = []
    offset = size
    while offset < stop:
        if length is None and der[offset : offset + 2] == b"\x00\x00":
            break
        end = tlv_end(der, offset)
        if end is None or end > stop:
            raise ValueError(f"element {len(elements) + 1} is cut short")
        if not found.take():
            break
        elements.append(der[offset:end])
        offset = end
    return elements


def _bags(
    safe_contents_der: bytes,
    content: int,
    found: Found,
    outer: Message | None = None,
    depth: int = 1,
) -> None:
    """The bags of a SafeContents in PKCS#12 content number ``content``; ``outer`` is
    the location of the bag that holds them when they are a bag of bags, ``depth`` how
    many SafeContents hold them (see :data:`MAX_DEPTH`)."""
    if depth > MAX_DEPTH:
        found.problems.append(Problem(outer or "content", TOO_DEEP(limit=MAX_DEPTH)))
        return
    try:
        bags = [asn1_pkcs12.SafeBag.load(bag) for bag in _elements(safe_contents_der, found)]
        for bag in bags:
            bag["bag_id"].dotted  # noqa: B018 - parse the list now, not half-way through
    except Exception as exc:
        raise Undecryptable(NOT_BAGS(error=why(exc))) from None
    for number, bag in enumerate(bags, start=1):
        if outer is None:
            here = PKCS12_BAG(content=content, number=number)
        else:
            here = PKCS12_INNER_BAG(outer=outer, number=number)
        try:
            _bag(bag, here, found, content, depth)
        except Exception as exc:
            found.problems.append(Problem(here, NOT_READ(error=why(exc))))


def _bag(bag: Any, where: Message, found: Found, content: int, depth: int) -> None:
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
        found.certificates.append(Raw(octets(value["cert_value"]), where, name, local_key_id))
    elif kind == "key_bag":
        try:
            key = pkcs8_key(value.untag().dump(), where, local_key_id)
        except Exception:
            key = Key(where, local_key_id=local_key_id)
        found.keys.append(key)
    elif kind == "pkcs8_shrouded_key_bag":
        # Never decrypted: its certificate is the one with the same localKeyId.
        found.keys.append(Key(where, local_key_id=local_key_id))
    elif kind == "safe_contents":
        _bags(value.untag().dump(), content, found, where, depth + 1)
    # CRL and secret bags hold no certificate.


def _fallback_iterations(pfx: Any, infos: list[Any]) -> Message | None:
    """Why OpenSSL must not be handed the file: an iteration count over the cap, in its
    MAC (whatever its digest) or in a content it would decrypt; None when there is none
    (a count that cannot be read is OpenSSL's to judge)."""
    counts = []
    if pfx["mac_data"].native is not None:
        counts.append(pfx["mac_data"]["iterations"].native or 1)
    for info in infos:
        try:
            algorithm = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
            counts.append(algorithm.kdf_iterations)
        except Exception:  # a scheme asn1crypto does not know
            continue
    try:
        for count in counts:
            check_iterations(count)
    except TooManyIterations as exc:
        return exc.message
    return None


def _fallback(
    data: bytes,
    secret: Secret,
    fallback: list[tuple[int, Message | str]],
    found: Found,
    refused: Message | None = None,
) -> None:
    """Contents encrypted with a scheme the walker does not implement, through
    cryptography's whole-file reader (the OpenSSL behind it knows more ciphers); not
    when ``refused`` says why not."""
    from cryptography.hazmat.primitives.serialization import pkcs12 as openssl_pkcs12

    numbers = tuple(number for number, _ in fallback)
    if len(numbers) == 1:
        where = PKCS12_CONTENT(number=numbers[0])
    else:
        where = PKCS12_CONTENTS(numbers=numbers)
    if refused is not None:
        found.problems.append(Problem(where, refused))
        return
    schemes = tuple(dict.fromkeys(scheme for _, scheme in fallback))
    try:
        loaded = openssl_pkcs12.load_pkcs12(data, secret.utf8)
    except Exception as exc:
        found.problems.append(Problem(where, FALLBACK_FAILED(detail=schemes, error=why(exc))))
        return
    from cryptography.hazmat.primitives.serialization import Encoding

    known = {raw.der for raw in found.certificates}
    ordered = ([loaded.cert] if loaded.cert is not None else []) + list(loaded.additional_certs)
    for number, item in enumerate(ordered, start=1):
        der = item.certificate.public_bytes(Encoding.DER)
        if der in known:
            continue
        known.add(der)
        here = IN_CONTAINER(outer=where, number=number)
        found.certificates.append(Raw(der, here, item.friendly_name))
    # cryptography pairs the key with its certificate (by localKeyId, as OpenSSL does);
    # its certificate has lost the localKeyId here, so the key's public half says it.
    unknown = [key for key in found.keys if key.public_key_sha256 is None]
    if loaded.key is not None and loaded.cert is not None and len(unknown) == 1:
        der = loaded.cert.certificate.public_bytes(Encoding.DER)
        unknown[0].public_key_sha256 = certificate_public_key_sha256(der)
