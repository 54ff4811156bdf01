"""ukeytool: inspect PKCS#11 tokens read-only and report which certificates still work.

Import everything from here; the subpackages (``ukeytool.pkcs11``, ``ukeytool.rendering``...)
are internal and may change, except :mod:`ukeytool.testing`. The common case is
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

Every sentence ukeytool makes for a person (a :class:`Problem`'s message, a
:class:`Finding`'s, an exception's) is a :class:`Message`: a template with a stable
:attr:`~Message.code` and its parameters; ``str(message)`` is English and
``message.render("zh")`` Simplified Chinese.

Heavy dependencies (python-pkcs11, cryptography) are imported on first use, so that
``import ukeytool`` and ``ukeytool --version`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
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
from .i18n.message import Message, Template
from .judging.relations import relate, relate_slot
from .judging.validity import judge
from .model import (
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
from .model.text import Text, decode_text
from .pkcs11.interface import Backend, ObjectListing, RawCertificateObject, RawKeyObject
from .pkcs11.login import Login, Pin
from .pkcs11.selection import (
    filter_report,
    select_certificate,
    select_certificates,
    select_token,
    select_tokens,
    uri_matches_certificate,
    uri_matches_token,
)
from .pkcs11.uri import Pkcs11Uri, certificate_uri, format_uri, parse_uri, token_uri
from .rendering.mask import mask_certificate, mask_report

if TYPE_CHECKING:
    from .certificates.files import inspect_file, inspect_files
    from .certificates.x509 import read_certificate
    from .config.discovery import CatalogueError, FoundModule, discover, no_module_message
    from .judging.renewal import (
        IssuerHint,
        OtherClose,
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
    from .model.events import EventKind, TokenEvent
    from .pkcs11.backend import Module, open_module
    from .pkcs11.inspect import inspect, inspect_backend, inspect_modules, read_slot
    from .pkcs11.watch import watch, watch_backend

# Documented and pickled under the name users import them by.
Message.__module__ = __name__
Template.__module__ = __name__

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
    "EventKind",
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
    "Message",
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
    "OtherClose",
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
    "Template",
    "Text",
    "TokenAdvice",
    "TokenError",
    "TokenEvent",
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
    "watch",
    "watch_backend",
]

_LAZY = {
    "CatalogueError": "config.discovery",
    "FoundModule": "config.discovery",
    "discover": "config.discovery",
    "no_module_message": "config.discovery",
    "Module": "pkcs11.backend",
    "open_module": "pkcs11.backend",
    "read_certificate": "certificates.x509",
    "inspect": "pkcs11.inspect",
    "inspect_backend": "pkcs11.inspect",
    "inspect_modules": "pkcs11.inspect",
    "read_slot": "pkcs11.inspect",
    "inspect_file": "certificates.files",
    "inspect_files": "certificates.files",
    "IssuerHint": "judging.renewal",
    "OtherClose": "judging.renewal",
    "PolicyChannel": "judging.renewal",
    "RenewalPolicies": "judging.renewal",
    "RenewalPolicy": "judging.renewal",
    "RenewalPolicyError": "judging.renewal",
    "WindowEdge": "judging.renewal",
    "advice_message": "judging.renewal",
    "advice_summary": "judging.renewal",
    "advise": "judging.renewal",
    "advise_certificate": "judging.renewal",
    "bank_message": "judging.renewal",
    "choose_bank": "judging.renewal",
    "load_policies": "judging.renewal",
    "token_advice_message": "judging.renewal",
    "user_policies_path": "judging.renewal",
    "EventKind": "model.events",
    "TokenEvent": "model.events",
    "watch": "pkcs11.watch",
    "watch_backend": "pkcs11.watch",
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
