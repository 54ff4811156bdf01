"""ukeytool: inspect PKCS#11 tokens read-only and report which certificates still work.

Import everything from here; the underscored modules are private. The common case is
one call::

    import datetime, ukeytool

    report = ukeytool.inspect("/usr/lib/softhsm/libsofthsm2.so",
                              at=datetime.datetime.now(datetime.timezone.utc))
    for entry in report.certificates:
        print(entry.label, entry.status, entry.days_left)

Lower-level access, for tools that need it: :func:`open_module` gives a
:class:`Module` (slots, token info, certificate objects, as ukeytool values),
:func:`read_slot` and :func:`inspect_backend` build reports from it, and
:func:`read_certificate` / :func:`judge` work on certificate bytes alone.

Certificates kept in files rather than on a token (PEM, DER, PKCS#7, PKCS#12) are read by
:func:`inspect_files`, into the same :class:`CertificateEntry` values, one
:class:`FileReport` per file; no PKCS#11 module is loaded.

Heavy dependencies (python-pkcs11, cryptography) are imported on first use, so that
``import ukeytool`` and ``ukeytool --version`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import (
    AuthenticationError,
    CertificateError,
    MissingDependency,
    ModuleCallFailed,
    ModuleError,
    ModuleNotFound,
    NotAPkcs11Module,
    NotASharedLibrary,
    Pkcs11Failure,
    TokenError,
    UkeytoolError,
    UsageError,
    WrongArchitecture,
)
from ._interface import Backend, ObjectListing, RawCertificateObject, RawKeyObject
from ._login import Login, Pin
from ._mask import mask_certificate, mask_report
from ._model import (
    Certificate,
    CertificateEntry,
    CertificateLink,
    FileKey,
    FileReport,
    Finding,
    Holder,
    IdentityNumber,
    KeyMatch,
    KeyObject,
    KeyPresence,
    LoginOutcome,
    LoginState,
    ModuleFailure,
    ModuleInfo,
    NameAttribute,
    PairLink,
    PinState,
    Problem,
    Report,
    Role,
    Severity,
    SlotInfo,
    SlotReport,
    Status,
    TokenInfo,
    Validity,
)
from ._relations import relate, relate_slot
from ._text import Text, decode_text
from ._uri import (
    Pkcs11Uri,
    certificate_uri,
    filter_report,
    format_uri,
    parse_uri,
    select_certificate,
    select_certificates,
    select_token,
    select_tokens,
    token_uri,
    uri_matches_certificate,
    uri_matches_token,
)
from ._validity import judge
from ._version import __version__

if TYPE_CHECKING:
    from ._backend import Module, open_module
    from ._certificate import read_certificate
    from ._discovery import CatalogueError, FoundModule, discover, no_module_message
    from ._files import inspect_file, inspect_files
    from ._inspect import inspect, inspect_backend, inspect_modules, read_slot

__all__ = [
    "AuthenticationError",
    "Backend",
    "CatalogueError",
    "Certificate",
    "CertificateEntry",
    "CertificateError",
    "CertificateLink",
    "FileKey",
    "FileReport",
    "Finding",
    "FoundModule",
    "Holder",
    "IdentityNumber",
    "KeyMatch",
    "KeyObject",
    "KeyPresence",
    "Login",
    "LoginOutcome",
    "LoginState",
    "MissingDependency",
    "Module",
    "ModuleCallFailed",
    "ModuleError",
    "ModuleFailure",
    "ModuleInfo",
    "ModuleNotFound",
    "NameAttribute",
    "NotAPkcs11Module",
    "NotASharedLibrary",
    "ObjectListing",
    "PairLink",
    "Pin",
    "PinState",
    "Pkcs11Failure",
    "Pkcs11Uri",
    "Problem",
    "RawCertificateObject",
    "RawKeyObject",
    "Report",
    "Role",
    "Severity",
    "SlotInfo",
    "SlotReport",
    "Status",
    "Text",
    "TokenError",
    "TokenInfo",
    "UkeytoolError",
    "UsageError",
    "Validity",
    "WrongArchitecture",
    "__version__",
    "certificate_uri",
    "decode_text",
    "discover",
    "filter_report",
    "format_uri",
    "inspect",
    "inspect_backend",
    "inspect_file",
    "inspect_files",
    "inspect_modules",
    "judge",
    "mask_certificate",
    "mask_report",
    "no_module_message",
    "open_module",
    "parse_uri",
    "read_certificate",
    "read_slot",
    "relate",
    "relate_slot",
    "select_certificate",
    "select_certificates",
    "select_token",
    "select_tokens",
    "token_uri",
    "uri_matches_certificate",
    "uri_matches_token",
]

_LAZY = {
    "CatalogueError": "_discovery",
    "FoundModule": "_discovery",
    "discover": "_discovery",
    "no_module_message": "_discovery",
    "Module": "_backend",
    "open_module": "_backend",
    "read_certificate": "_certificate",
    "inspect": "_inspect",
    "inspect_backend": "_inspect",
    "inspect_modules": "_inspect",
    "read_slot": "_inspect",
    "inspect_file": "_files",
    "inspect_files": "_files",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ukeytool' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"ukeytool.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
