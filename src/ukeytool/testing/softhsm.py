"""Throw-away SoftHSM2 stores for tests and the demo: the only code allowed to write tokens.

ukeytool itself never writes to a token. Tests and the demo need tokens with chosen
labels, certificates and keys, so this module builds them in a private SoftHSM token
directory and never in the system one (``/var/lib/softhsm/tokens``)::

    store = SoftHSMStore(tmp_path)
    token = store.add_token(
        TokenSpec(label=b"\\xb9\\xa4\\xd0\\xd0U\\xb6\\xdc", objects=[CertObject(der, label="sign")])
    )
    monkeypatch.setenv("SOFTHSM2_CONF", store.env["SOFTHSM2_CONF"])  # before the first load
    ...  # inspect store.module_path in-process, select the token by token.serial

The writing happens in a child process (``python -m ukeytool.testing._writer``) because
SoftHSM reads ``SOFTHSM2_CONF`` once, at ``C_Initialize``, and python-pkcs11 keeps one
initialised module per path for the life of the process: the caller (a test) must be
free to load SoftHSM itself, with the store's configuration, to inspect what was built.

Two SoftHSM facts callers must design around (measured with SoftHSM 2.6.1):

- A process that has already initialised SoftHSM does not see tokens added or deleted
  afterwards by another process until it finalises and initialises the module again
  (python-pkcs11: ``lib.reinitialize()``). Build the tokens first, then load.
- SoftHSM always shows one extra slot with an uninitialised token after the initialised
  ones. It is kept on purpose: real modules show empty slots too.

Everything here is pure Python in the caller; the parsing of keys and certificates into
PKCS#11 attribute templates happens here as well, so the child only replays raw
``C_CreateObject`` templates.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509

__all__ = [
    "CKA_CERTIFICATE_TYPE",
    "CKA_CLASS",
    "CKA_COEFFICIENT",
    "CKA_DECRYPT",
    "CKA_DERIVE",
    "CKA_EC_PARAMS",
    "CKA_EC_POINT",
    "CKA_ENCRYPT",
    "CKA_EXPONENT_1",
    "CKA_EXPONENT_2",
    "CKA_EXTRACTABLE",
    "CKA_ID",
    "CKA_ISSUER",
    "CKA_KEY_TYPE",
    "CKA_LABEL",
    "CKA_MODULUS",
    "CKA_PRIME_1",
    "CKA_PRIME_2",
    "CKA_PRIVATE",
    "CKA_PRIVATE_EXPONENT",
    "CKA_PUBLIC_EXPONENT",
    "CKA_SENSITIVE",
    "CKA_SERIAL_NUMBER",
    "CKA_SIGN",
    "CKA_SUBJECT",
    "CKA_TOKEN",
    "CKA_UNWRAP",
    "CKA_VALUE",
    "CKA_VERIFY",
    "CKA_WRAP",
    "CKC_X_509",
    "CKK_EC",
    "CKK_RSA",
    "CKO_CERTIFICATE",
    "CKO_PRIVATE_KEY",
    "CKO_PUBLIC_KEY",
    "MODULE_ENV",
    "CertObject",
    "CreatedToken",
    "PrivateKeyObject",
    "PublicKeyObject",
    "RawAttributes",
    "RawObject",
    "SoftHSMError",
    "SoftHSMNotFound",
    "SoftHSMStore",
    "TokenObject",
    "TokenSpec",
    "certificate_template",
    "ck_bool",
    "ck_ulong",
    "find_softhsm_module",
    "find_softhsm_util",
    "object_template",
    "private_key_template",
    "public_key_template",
]

_INSTALL_HINT = "install it with: sudo apt-get install softhsm2"

MODULE_ENV = "UKEYTOOL_SOFTHSM_MODULE"
"""Environment variable naming the SoftHSM module explicitly (wins over the search)."""

_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/*-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/lib/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)

_UTIL_CANDIDATES = ("/usr/bin/softhsm2-util", "/usr/local/bin/softhsm2-util")

# First line of every softhsm2.conf written here: proves a directory is a test store.
_CONF_MARKER = "# Written by ukeytool.testing.softhsm"

# SoftHSM stores CK_TOKEN_INFO.label in a fixed 32-byte, blank-padded field.
_TOKEN_LABEL_SIZE = 32

# PKCS#11 constants, written out: python-pkcs11 is imported by ukeytool's backend and by
# the writer child only, and none of its types cross into callers.
CKA_CLASS = 0x0000
CKA_TOKEN = 0x0001
CKA_PRIVATE = 0x0002
CKA_LABEL = 0x0003
CKA_VALUE = 0x0011
CKA_CERTIFICATE_TYPE = 0x0080
CKA_ISSUER = 0x0081
CKA_SERIAL_NUMBER = 0x0082
CKA_KEY_TYPE = 0x0100
CKA_SUBJECT = 0x0101
CKA_ID = 0x0102
CKA_SENSITIVE = 0x0103
CKA_ENCRYPT = 0x0104
CKA_DECRYPT = 0x0105
CKA_WRAP = 0x0106
CKA_UNWRAP = 0x0107
CKA_SIGN = 0x0108
CKA_VERIFY = 0x010A
CKA_DERIVE = 0x010C
CKA_MODULUS = 0x0120
CKA_PUBLIC_EXPONENT = 0x0122
CKA_PRIVATE_EXPONENT = 0x0123
CKA_PRIME_1 = 0x0124
CKA_PRIME_2 = 0x0125
CKA_EXPONENT_1 = 0x0126
CKA_EXPONENT_2 = 0x0127
CKA_COEFFICIENT = 0x0128
CKA_EXTRACTABLE = 0x0162
CKA_EC_PARAMS = 0x0180
CKA_EC_POINT = 0x0181

CKO_CERTIFICATE = 1
CKO_PUBLIC_KEY = 2
CKO_PRIVATE_KEY = 3
CKC_X_509 = 0
CKK_RSA = 0
CKK_EC = 3

_RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1"
_EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"
_SM2_CURVE_OID = "1.2.156.10197.1.301"

RawAttributes = tuple[tuple[int, bytes], ...]
"""A PKCS#11 template as (attribute type, raw value bytes) pairs, in order."""


class SoftHSMNotFound(RuntimeError):
    """SoftHSM2 (its module or ``softhsm2-util``) is not installed."""


class SoftHSMError(RuntimeError):
    """Building or changing a SoftHSM store failed."""


def ck_ulong(value: int) -> bytes:
    """Pack a CK_ULONG (native ``unsigned long``) as a raw attribute value."""
    return struct.pack("@L", value)


def ck_bool(value: bool) -> bytes:
    """Pack a CK_BBOOL as a raw attribute value."""
    return b"\x01" if value else b"\x00"


def _label_bytes(label: bytes | str) -> bytes:
    # Bytes are kept verbatim (GBK labels are the point of many tests); text is UTF-8,
    # which is what PKCS#11 prescribes.
    return label if isinstance(label, bytes) else label.encode("utf-8")


def find_softhsm_module() -> Path:
    """Return the SoftHSM2 PKCS#11 module, or raise :class:`SoftHSMNotFound`.

    ``$UKEYTOOL_SOFTHSM_MODULE`` wins; otherwise the usual distribution paths are tried.
    The path is returned as found, not resolved: python-pkcs11 caches modules by the
    path string, so callers should use this one spelling everywhere in a process.
    """
    explicit = os.environ.get(MODULE_ENV)
    if explicit:
        if Path(explicit).is_file():
            return Path(explicit)
        raise SoftHSMNotFound(f"${MODULE_ENV} names {explicit!r}, which is not a file")
    for pattern in _MODULE_CANDIDATES:
        for match in sorted(glob.glob(pattern)):
            if Path(match).is_file():
                return Path(match)
    raise SoftHSMNotFound(
        f"SoftHSM2 module libsofthsm2.so not found (looked at {', '.join(_MODULE_CANDIDATES)}); "
        f"{_INSTALL_HINT}, or set ${MODULE_ENV}"
    )


def find_softhsm_util() -> Path:
    """Return the ``softhsm2-util`` program, or raise :class:`SoftHSMNotFound`."""
    found = shutil.which("softhsm2-util")
    if found:
        return Path(found)
    for candidate in _UTIL_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise SoftHSMNotFound(f"softhsm2-util not found on PATH; {_INSTALL_HINT}")


# --------------------------------------------------------------------------- specs


@dataclasses.dataclass(frozen=True)
class CertObject:
    """An X.509 certificate object (CKO_CERTIFICATE, CKC_X_509)."""

    value: bytes
    """Stored verbatim as CKA_VALUE: DER, but also empty, truncated, PEM text or garbage."""
    label: bytes | str | None = None
    """CKA_LABEL; bytes are stored raw (e.g. GBK), text as UTF-8, None leaves it out."""
    id: bytes | None = None
    """CKA_ID; None leaves it out (SoftHSM then stores an empty one)."""
    private: bool = False
    """CKA_PRIVATE: a private certificate is only visible after login."""
    subject: bytes | None = None
    """CKA_SUBJECT; None derives it from ``value`` (empty when ``value`` does not parse).

    SoftHSM refuses a certificate without CKA_SUBJECT, so "absent" is stored as empty.
    CKA_ISSUER and CKA_SERIAL_NUMBER are derived alongside when ``value`` parses."""
    extra_attributes: RawAttributes = ()
    """Further raw attributes, appended last (so they override the derived ones)."""


@dataclasses.dataclass(frozen=True)
class PrivateKeyObject:
    """A private key (CKO_PRIVATE_KEY) imported from PKCS#8 DER: RSA or EC (P-256, SM2...).

    EC keys are stored with the curve OID from the PKCS#8 parameters as CKA_EC_PARAMS, so
    SM2 keys work too (SoftHSM 2.6.1 stores them; nothing here signs with them), whether
    the key algorithm is id-ecPublicKey with the SM2 curve or the SM2 OID itself. The key
    is private, sensitive and not extractable, like on a real key.
    """

    pkcs8_der: bytes
    """Unencrypted PKCS#8 PrivateKeyInfo, DER."""
    label: bytes | str | None = None
    """CKA_LABEL, as for :class:`CertObject`."""
    id: bytes | None = None
    """CKA_ID; use the certificate's CKA_ID to pair them."""
    extra_attributes: RawAttributes = ()
    """Further raw attributes, appended last."""


@dataclasses.dataclass(frozen=True)
class PublicKeyObject:
    """A public key (CKO_PUBLIC_KEY) from SubjectPublicKeyInfo DER: RSA or EC."""

    spki_der: bytes
    """SubjectPublicKeyInfo, DER (``Minted.public_key_der``)."""
    label: bytes | str | None = None
    """CKA_LABEL, as for :class:`CertObject`."""
    id: bytes | None = None
    """CKA_ID."""
    extra_attributes: RawAttributes = ()
    """Further raw attributes, appended last."""


@dataclasses.dataclass(frozen=True)
class RawObject:
    """Any object, given as a complete raw template (for cases the classes above refuse).

    CKA_TOKEN is not added for you: include ``(CKA_TOKEN, ck_bool(True))`` or the object
    vanishes with the writer's session.
    """

    attributes: RawAttributes
    """The template passed to C_CreateObject, verbatim."""
    description: str = "raw object"
    """Named in error messages."""


TokenObject = CertObject | PrivateKeyObject | PublicKeyObject | RawObject


@dataclasses.dataclass(frozen=True)
class TokenSpec:
    """One token to initialise in a free slot and fill with objects."""

    label: bytes | str
    """Token label (CK_TOKEN_INFO.label): at most 32 bytes, raw bytes kept verbatim.

    SoftHSM pads it with blanks, so trailing blanks cannot be told apart from padding."""
    so_pin: str = dataclasses.field(default="12345678", repr=False)
    """Security officer PIN (SoftHSM wants 4 to 255 characters)."""
    user_pin: str = dataclasses.field(default="1234", repr=False)
    """User PIN (SoftHSM wants 4 to 255 characters)."""
    objects: Sequence[TokenObject] = ()
    """Objects to create, in this order."""

    def __post_init__(self) -> None:
        # Frozen and hashable even when the caller passes a list.
        object.__setattr__(self, "objects", tuple(self.objects))
        raw = _label_bytes(self.label)
        if len(raw) > _TOKEN_LABEL_SIZE:
            raise ValueError(f"token label is {len(raw)} bytes; PKCS#11 allows 32: {raw!r}")
        if b"\x00" in raw:
            # It goes through softhsm2-util's argv, where NUL ends the string.
            raise ValueError(f"token label must not contain NUL bytes: {raw!r}")
        for name, pin in (("so_pin", self.so_pin), ("user_pin", self.user_pin)):
            if not 4 <= len(pin.encode("utf-8")) <= 255 or "\x00" in pin:
                raise ValueError(f"{name} must be 4 to 255 bytes without NUL (SoftHSM limit)")


@dataclasses.dataclass(frozen=True)
class CreatedToken:
    """A token the writer initialised and filled."""

    serial: str
    """CK_TOKEN_INFO.serialNumber as SoftHSM assigned it (16 hex digits): select by this."""
    label: bytes
    """The label bytes as written, trailing blanks removed."""
    slot_id: int
    """SoftHSM's slot id for it (derived from the serial, so stable for SoftHSM only;
    for ``pkcs11-tool --slot``, never for selecting tokens in ukeytool's tests)."""


# ----------------------------------------------------------------- templates


def _int_bytes(value: int) -> bytes:
    """Big-endian unsigned bytes, minimal length: PKCS#11's "Big integer"."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _common(label: bytes | str | None, id_: bytes | None, private: bool) -> list[tuple[int, bytes]]:
    attrs = [(CKA_TOKEN, ck_bool(True)), (CKA_PRIVATE, ck_bool(private))]
    if label is not None:
        attrs.append((CKA_LABEL, _label_bytes(label)))
    if id_ is not None:
        attrs.append((CKA_ID, id_))
    return attrs


def _certificate_names(value: bytes) -> list[tuple[int, bytes]]:
    """CKA_SUBJECT / CKA_ISSUER / CKA_SERIAL_NUMBER cut verbatim out of DER, or []."""
    # asn1crypto re-emits the original encoding of a part it did not have to change, so
    # these are the certificate's own bytes even when they are not canonical DER.
    try:
        tbs = asn1_x509.Certificate.load(value)["tbs_certificate"]
        return [
            (CKA_SUBJECT, bytes(tbs["subject"].dump())),
            (CKA_ISSUER, bytes(tbs["issuer"].dump())),
            (CKA_SERIAL_NUMBER, bytes(tbs["serial_number"].dump())),
        ]
    except Exception:  # any bytes at all are allowed in CKA_VALUE; those give no names
        return []


def certificate_template(obj: CertObject) -> RawAttributes:
    """The C_CreateObject template for a :class:`CertObject`."""
    attrs = [(CKA_CLASS, ck_ulong(CKO_CERTIFICATE)), (CKA_CERTIFICATE_TYPE, ck_ulong(CKC_X_509))]
    attrs += _common(obj.label, obj.id, obj.private)
    attrs.append((CKA_VALUE, obj.value))
    names = _certificate_names(obj.value)
    if obj.subject is not None:
        names = [(t, v) for t, v in names if t != CKA_SUBJECT] + [(CKA_SUBJECT, obj.subject)]
    elif not names:
        names = [(CKA_SUBJECT, b"")]
    attrs += names
    return _merge(attrs, obj.extra_attributes)


def _key_algorithm(algorithm_identifier: Any) -> tuple[str, bytes]:
    """(key algorithm OID, CKA_EC_PARAMS or b"") from a parsed AlgorithmIdentifier."""
    oid = algorithm_identifier[0].dotted
    if oid == _SM2_CURVE_OID:
        # Some SM2 keys name the curve as the key algorithm itself, with no parameters.
        return oid, bytes(asn1_core.ObjectIdentifier(_SM2_CURVE_OID).dump())
    if oid == _EC_PUBLIC_KEY_OID:
        return oid, bytes(algorithm_identifier[1].dump())  # the named curve's OID, DER
    if oid == _RSA_ENCRYPTION_OID:
        return oid, b""
    raise ValueError(f"unsupported key algorithm {oid}")


def private_key_template(obj: PrivateKeyObject) -> RawAttributes:
    """The C_CreateObject template for a :class:`PrivateKeyObject`."""
    # Generic parsing: asn1crypto's PrivateKeyInfo raises KeyError on the SM2 OID used
    # as key algorithm; the inner RSAPrivateKey / ECPrivateKey are standard either way.
    info = asn1_core.load(obj.pkcs8_der)
    oid, ec_params = _key_algorithm(info[1])
    inner = info[2].native
    attrs = [(CKA_CLASS, ck_ulong(CKO_PRIVATE_KEY))]
    attrs += _common(obj.label, obj.id, private=True)
    attrs += [(CKA_SENSITIVE, ck_bool(True)), (CKA_EXTRACTABLE, ck_bool(False))]
    # Usage flags are all spelt out: SoftHSM's defaults would also allow unwrap (and
    # decrypt for EC), which no banking key offers and listings would show.
    attrs += [(CKA_SIGN, ck_bool(True)), (CKA_UNWRAP, ck_bool(False))]
    if oid == _RSA_ENCRYPTION_OID:
        rsa = asn1_keys.RSAPrivateKey.load(inner)
        attrs += [
            (CKA_KEY_TYPE, ck_ulong(CKK_RSA)),
            (CKA_DECRYPT, ck_bool(True)),
            (CKA_DERIVE, ck_bool(False)),
        ]
        for attr, field in (
            (CKA_MODULUS, "modulus"),
            (CKA_PUBLIC_EXPONENT, "public_exponent"),
            (CKA_PRIVATE_EXPONENT, "private_exponent"),
            (CKA_PRIME_1, "prime1"),
            (CKA_PRIME_2, "prime2"),
            (CKA_EXPONENT_1, "exponent1"),
            (CKA_EXPONENT_2, "exponent2"),
            (CKA_COEFFICIENT, "coefficient"),
        ):
            attrs.append((attr, _int_bytes(rsa[field].native)))
    else:
        ec = asn1_keys.ECPrivateKey.load(inner)
        attrs += [
            (CKA_KEY_TYPE, ck_ulong(CKK_EC)),
            (CKA_DECRYPT, ck_bool(False)),
            (CKA_DERIVE, ck_bool(True)),
            (CKA_EC_PARAMS, ec_params),
            # The scalar's octets as encoded (fixed curve size, leading zeros kept).
            (CKA_VALUE, bytes(ec["private_key"].contents)),
        ]
    return _merge(attrs, obj.extra_attributes)


def public_key_template(obj: PublicKeyObject) -> RawAttributes:
    """The C_CreateObject template for a :class:`PublicKeyObject`."""
    info = asn1_core.load(obj.spki_der)
    oid, ec_params = _key_algorithm(info[0])
    key_bits = bytes(info[1].contents[1:])  # the BIT STRING without its unused-bits octet
    attrs = [(CKA_CLASS, ck_ulong(CKO_PUBLIC_KEY))]
    attrs += _common(obj.label, obj.id, private=False)
    attrs += [(CKA_VERIFY, ck_bool(True)), (CKA_WRAP, ck_bool(False))]
    if oid == _RSA_ENCRYPTION_OID:
        rsa = asn1_keys.RSAPublicKey.load(key_bits)
        attrs += [
            (CKA_KEY_TYPE, ck_ulong(CKK_RSA)),
            (CKA_ENCRYPT, ck_bool(True)),
            (CKA_MODULUS, _int_bytes(rsa["modulus"].native)),
            (CKA_PUBLIC_EXPONENT, _int_bytes(rsa["public_exponent"].native)),
        ]
    else:
        attrs += [
            (CKA_KEY_TYPE, ck_ulong(CKK_EC)),
            (CKA_ENCRYPT, ck_bool(False)),
            (CKA_EC_PARAMS, ec_params),
            # PKCS#11 2.40 wants the point DER-wrapped in an OCTET STRING (SoftHSM does).
            (CKA_EC_POINT, bytes(asn1_core.OctetString(key_bits).dump())),
        ]
    return _merge(attrs, obj.extra_attributes)


def _merge(attrs: list[tuple[int, bytes]], extra: RawAttributes) -> RawAttributes:
    # A template must not name an attribute twice (CKR_TEMPLATE_INCONSISTENT), so extra
    # attributes replace derived ones instead of being appended beside them.
    overridden = {t for t, _ in extra}
    return tuple((t, v) for t, v in attrs if t not in overridden) + tuple(extra)


def object_template(obj: TokenObject) -> tuple[str, RawAttributes]:
    """(description for errors, raw template) for any token object."""
    if isinstance(obj, CertObject):
        return f"certificate {obj.label!r}", certificate_template(obj)
    if isinstance(obj, PrivateKeyObject):
        return f"private key {obj.label!r}", private_key_template(obj)
    if isinstance(obj, PublicKeyObject):
        return f"public key {obj.label!r}", public_key_template(obj)
    return obj.description, obj.attributes


# -------------------------------------------------------------------- store


class SoftHSMStore:
    """A SoftHSM2 configuration and token directory of its own under ``directory``.

    Creating the store writes ``softhsm2.conf`` (overwriting one left by an earlier run)
    and the ``tokens`` directory; existing tokens there are kept (see :meth:`reset`).
    """

    def __init__(
        self,
        directory: Path,
        *,
        module_path: Path | None = None,
        util_path: Path | None = None,
    ) -> None:
        self._module_path = module_path if module_path is not None else find_softhsm_module()
        self._util_path = util_path if util_path is not None else find_softhsm_util()
        self._directory = Path(directory).absolute()
        self._tokens_dir = self._directory / "tokens"
        if "\n" in str(self._directory):
            raise ValueError(f"store directory {self._directory!r} cannot go in softhsm2.conf")
        self._conf_path = self._directory / "softhsm2.conf"
        self._refuse_foreign_directory()
        self._tokens_dir.mkdir(parents=True, exist_ok=True)
        self._conf_path.write_text(
            f"{_CONF_MARKER}: a private store for tests and the demo.\n"
            f"directories.tokendir = {self._tokens_dir}\n"
            "objectstore.backend = file\n"
            "log.level = ERROR\n"
            "slots.removable = false\n",
            encoding="utf-8",
        )

    def _refuse_foreign_directory(self) -> None:
        # A mistyped directory (/var/lib/softhsm, /etc/softhsm) must not get its
        # configuration overwritten or, through reset(), its tokens deleted.
        if self._conf_path.exists():
            with self._conf_path.open("rb") as conf:
                if not conf.readline().startswith(_CONF_MARKER.encode()):
                    raise SoftHSMError(
                        f"{self._conf_path} was not written by ukeytool.testing; "
                        "refusing to use that directory as a test store"
                    )
        elif self._tokens_dir.is_dir() and any(self._tokens_dir.iterdir()):
            raise SoftHSMError(
                f"{self._tokens_dir} holds tokens of another SoftHSM setup; "
                "refusing to use that directory as a test store"
            )

    @property
    def directory(self) -> Path:
        """The store's directory."""
        return self._directory

    @property
    def conf_path(self) -> Path:
        """The ``softhsm2.conf`` to point ``SOFTHSM2_CONF`` at."""
        return self._conf_path

    @property
    def tokens_dir(self) -> Path:
        """SoftHSM's token directory for this store (one subdirectory per token)."""
        return self._tokens_dir

    @property
    def module_path(self) -> Path:
        """The SoftHSM2 PKCS#11 module."""
        return self._module_path

    @property
    def util_path(self) -> Path:
        """The ``softhsm2-util`` program."""
        return self._util_path

    @property
    def env(self) -> dict[str, str]:
        """Variables to merge into ``os.environ`` or a child's environment to use this store."""
        return {"SOFTHSM2_CONF": str(self._conf_path)}

    def subprocess_env(self) -> dict[str, str]:
        """A complete environment for a child process (pkcs11-tool, the CLI) using this store."""
        return {**os.environ, **self.env}

    def add_token(self, spec: TokenSpec, *, timeout: float = 300) -> CreatedToken:
        """Initialise one token in a free slot and create its objects."""
        return self.add_tokens([spec], timeout=timeout)[0]

    def add_tokens(self, specs: Iterable[TokenSpec], *, timeout: float = 300) -> list[CreatedToken]:
        """Initialise and fill several tokens in one child process; results in spec order.

        On failure the tokens this call initialised are deleted again and
        :class:`SoftHSMError` carries the child's error output.
        """
        specs = list(specs)
        request = {
            "conf": str(self._conf_path),
            "tokens_dir": str(self._tokens_dir),
            "module": str(self._module_path),
            "util": str(self._util_path),
            "tokens": [_spec_json(spec) for spec in specs],
        }
        env = self.subprocess_env()
        # The child imports ukeytool from wherever this copy lives, installed or not.
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p
        )
        try:
            done = subprocess.run(
                [sys.executable, "-m", "ukeytool.testing._writer"],
                input=json.dumps(request).encode("utf-8"),
                env=env,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SoftHSMError(f"the SoftHSM writer did not finish within {timeout} s") from exc
        if done.returncode != 0:
            raise SoftHSMError(
                f"the SoftHSM writer failed (exit status {done.returncode}):\n"
                + done.stderr.decode("utf-8", "replace")
            )
        try:
            reply = json.loads(done.stdout)
            return [
                CreatedToken(
                    serial=str(t["serial"]),
                    label=bytes.fromhex(t["label_hex"]),
                    slot_id=int(t["slot_id"]),
                )
                for t in reply["tokens"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise SoftHSMError(
                f"unreadable reply from the SoftHSM writer: {done.stdout!r}"
            ) from exc

    def delete_token(self, serial: str) -> None:
        """Delete the token with this serial (``softhsm2-util --delete-token``)."""
        self._util("--delete-token", "--serial", serial)

    def reset(self) -> None:
        """Delete every token of this store (only its own ``tokens`` directory)."""
        shutil.rmtree(self._tokens_dir, ignore_errors=True)
        self._tokens_dir.mkdir(parents=True)

    def show_slots(self) -> bytes:
        """``softhsm2-util --show-slots`` output, raw bytes (labels may be GBK)."""
        return self._util("--show-slots")

    def _util(self, *args: str) -> bytes:
        done = subprocess.run(
            [str(self._util_path), *args],
            env=self.subprocess_env(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
            raise SoftHSMError(f"softhsm2-util {' '.join(args)} failed: {output}")
        return done.stdout

    def __repr__(self) -> str:
        return f"SoftHSMStore({str(self._directory)!r})"


def _spec_json(spec: TokenSpec) -> Mapping[str, Any]:
    objects = []
    for obj in spec.objects:
        description, template = object_template(obj)
        objects.append(
            {"what": description, "attributes": [[t, v.hex()] for t, v in template]},
        )
    return {
        "label_hex": _label_bytes(spec.label).hex(),
        "so_pin": spec.so_pin,
        "user_pin": spec.user_pin,
        "objects": objects,
    }
