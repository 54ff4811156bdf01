"""ukeytool: inspect PKCS#11 tokens read-only and report which certificates still work.

Import everything from here; the underscored modules are private. The common case is
one call::

    import datetime, ukeytool

    report = ukeytool.inspect("/usr/lib/softhsm/libsofthsm2.so",
                              at=datetime.datetime.now(datetime.timezone.utc))
    for entry in report.certificates:
        print(entry.label, entry.status, entry.days_left)

Renewal advice, for the question "my key's certificate is expiring or expired: what do
I do?": :func:`advise` gives every certificate of a report its bank's renewal phase and
dates and every token its most urgent action; :func:`advice_message` says it in English
or Chinese.

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
    ModuleCrashed,
    ModuleError,
    ModuleNotFound,
    ModuleTimedOut,
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
    Advice,
    BankChoice,
    BankRule,
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
    RenewalAction,
    RenewalPhase,
    RenewalWindow,
    Report,
    Role,
    Severity,
    SlotInfo,
    SlotReport,
    Status,
    TokenAdvice,
    TokenInfo,
    Validity,
    WindowState,
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
    from ._renewal import (
        IssuerHint,
        PolicyChannel,
        RenewalPolicies,
        RenewalPolicy,
        RenewalPolicyError,
        WindowEdge,
        advice_message,
        advice_summary,
        advise,
        advise_certificate,
        bank_message,
        choose_bank,
        load_policies,
        token_advice_message,
        user_policies_path,
    )

__all__ = [
    "Advice",
    "AuthenticationError",
    "Backend",
    "BankChoice",
    "BankRule",
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
    "IssuerHint",
    "KeyMatch",
    "KeyObject",
    "KeyPresence",
    "Login",
    "LoginOutcome",
    "LoginState",
    "MissingDependency",
    "Module",
    "ModuleCallFailed",
    "ModuleCrashed",
    "ModuleError",
    "ModuleFailure",
    "ModuleInfo",
    "ModuleNotFound",
    "ModuleTimedOut",
    "NameAttribute",
    "NotAPkcs11Module",
    "NotASharedLibrary",
    "ObjectListing",
    "PairLink",
    "Pin",
    "PinState",
    "Pkcs11Failure",
    "Pkcs11Uri",
    "PolicyChannel",
    "Problem",
    "RawCertificateObject",
    "RawKeyObject",
    "RenewalAction",
    "RenewalPhase",
    "RenewalPolicies",
    "RenewalPolicy",
    "RenewalPolicyError",
    "RenewalWindow",
    "Report",
    "Role",
    "Severity",
    "SlotInfo",
    "SlotReport",
    "Status",
    "Text",
    "TokenAdvice",
    "TokenError",
    "TokenInfo",
    "UkeytoolError",
    "UsageError",
    "Validity",
    "WindowEdge",
    "WindowState",
    "WrongArchitecture",
    "__version__",
    "advice_message",
    "advice_summary",
    "advise",
    "advise_certificate",
    "bank_message",
    "certificate_uri",
    "choose_bank",
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
    "load_policies",
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
    "token_advice_message",
    "token_uri",
    "uri_matches_certificate",
    "uri_matches_token",
    "user_policies_path",
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
    "IssuerHint": "_renewal",
    "PolicyChannel": "_renewal",
    "RenewalPolicies": "_renewal",
    "RenewalPolicy": "_renewal",
    "RenewalPolicyError": "_renewal",
    "WindowEdge": "_renewal",
    "advice_message": "_renewal",
    "advice_summary": "_renewal",
    "advise": "_renewal",
    "advise_certificate": "_renewal",
    "bank_message": "_renewal",
    "choose_bank": "_renewal",
    "load_policies": "_renewal",
    "token_advice_message": "_renewal",
    "user_policies_path": "_renewal",
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
