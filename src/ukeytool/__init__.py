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

Every name is imported on first use (:pep:`562`): ``import ukeytool`` loads nothing but
the version, ``from ukeytool import judge`` only the modules that name needs, and heavy
dependencies (python-pkcs11, cryptography, asn1crypto) only with what uses them, so that
the command line starts fast (docs/development.md, "Start-up").
"""

from __future__ import annotations

from ._version import __version__

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .certificates.files import inspect_file, inspect_files
    from .certificates.x509 import read_certificate
    from .config.discovery import CatalogueError, FoundModule, discover, no_module_message
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
    from .judging.validity import judge
    from .model.certificate import (
        Certificate,
        Holder,
        IdentityNumber,
        NameAttribute,
        Status,
        Validity,
    )
    from .model.events import EventKind, TokenEvent
    from .model.files import FileKey, FileReport
    from .model.problem import Problem
    from .model.relations import (
        CertificateLink,
        Finding,
        KeyMatch,
        KeyPresence,
        PairLink,
        Role,
        Severity,
    )
    from .model.renewal import (
        Advice,
        BankChoice,
        BankRule,
        RenewalAction,
        RenewalPhase,
        RenewalWindow,
        TokenAdvice,
        WindowState,
    )
    from .model.report import (
        CertificateEntry,
        KeyObject,
        LoginOutcome,
        LoginState,
        ModuleFailure,
        ModuleInfo,
        PinState,
        Report,
        SlotInfo,
        SlotReport,
        TokenInfo,
    )
    from .model.text import Text, decode_text
    from .pkcs11.backend import Module, open_module
    from .pkcs11.inspect import inspect, inspect_backend, inspect_modules, read_slot
    from .pkcs11.interface import Backend, ObjectListing, RawCertificateObject, RawKeyObject
    from .pkcs11.login import Login, Pin
    from .pkcs11.selection import (
        TokenSelection,
        filter_report,
        select_certificate,
        select_certificates,
        select_token,
        select_tokens,
        uri_matches_certificate,
        uri_matches_token,
    )
    from .pkcs11.token_uris import certificate_uri, token_uri
    from .pkcs11.uri import Pkcs11Uri, format_uri, parse_uri
    from .pkcs11.watch import watch, watch_backend
    from .rendering.mask import mask_certificate, mask_report

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
    "TokenSelection",
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

#: Where each public name is defined: imported from there on first use (:pep:`562`).
#: (tests/test_startup.py checks this table against ``__all__`` and the imports above.)
_SOURCES: dict[str, str] = {
    "certificates.files": "inspect_file inspect_files",
    "certificates.x509": "read_certificate",
    "config.discovery": "CatalogueError FoundModule discover no_module_message",
    "errors": (
        "AuthenticationError CertificateError MissingDependency "
        "ModuleCallFailed ModuleCrashed ModuleError ModuleNotFound "
        "ModuleTimedOut NotAPkcs11Module NotASharedLibrary Pkcs11Failure "
        "TokenError UkeytoolError UsageError WrongArchitecture"
    ),
    "i18n.message": "Message Template",
    "judging.relations": "relate relate_slot",
    "judging.renewal": (
        "IssuerHint OtherClose PolicyChannel RenewalPolicies RenewalPolicy "
        "RenewalPolicyError WindowEdge advice_message advice_summary advise "
        "advise_certificate bank_message choose_bank load_policies "
        "token_advice_message user_policies_path"
    ),
    "judging.validity": "judge",
    "model.certificate": "Certificate Holder IdentityNumber NameAttribute Status Validity",
    "model.events": "EventKind TokenEvent",
    "model.files": "FileKey FileReport",
    "model.problem": "Problem",
    "model.relations": "CertificateLink Finding KeyMatch KeyPresence PairLink Role Severity",
    "model.renewal": (
        "Advice BankChoice BankRule RenewalAction RenewalPhase RenewalWindow "
        "TokenAdvice WindowState"
    ),
    "model.report": (
        "CertificateEntry KeyObject LoginOutcome LoginState ModuleFailure "
        "ModuleInfo PinState Report SlotInfo SlotReport TokenInfo"
    ),
    "model.text": "Text decode_text",
    "pkcs11.backend": "Module open_module",
    "pkcs11.inspect": "inspect inspect_backend inspect_modules read_slot",
    "pkcs11.interface": "Backend ObjectListing RawCertificateObject RawKeyObject",
    "pkcs11.login": "Login Pin",
    "pkcs11.selection": (
        "TokenSelection filter_report select_certificate select_certificates select_token "
        "select_tokens uri_matches_certificate uri_matches_token"
    ),
    "pkcs11.token_uris": "certificate_uri token_uri",
    "pkcs11.uri": "Pkcs11Uri format_uri parse_uri",
    "pkcs11.watch": "watch watch_backend",
    "rendering.mask": "mask_certificate mask_report",
}
_LAZY: dict[str, str] = {
    name: module for module, names in _SOURCES.items() for name in names.split()
}

#: The subpackages, imported on first use as attributes too (``ukeytool.model.Report``
#: after ``import ukeytool`` alone), as when ``import ukeytool`` imported them all.
_SUBPACKAGES = frozenset(
    {
        "certificates",
        "cli",
        "config",
        "errors",
        "i18n",
        "judging",
        "model",
        "pkcs11",
        "rendering",
        "testing",
    }
)


def _lazy_getattr(
    package: str,
    namespace: dict[str, Any],
    table: dict[str, str],
    subpackages: frozenset[str] = frozenset(),
    *,
    module_name: str | None = None,
) -> Any:
    """The :pep:`562` ``__getattr__`` of ``package`` (whose globals are ``namespace``),
    or of its module ``module_name``: each name of ``table`` imported from its
    submodule of ``package`` on first use and kept in ``namespace``; each of
    ``subpackages`` imported as an attribute. The one way ukeytool's modules load
    lazily (``ukeytool``, ``ukeytool.model``, ``ukeytool.i18n``, ``ukeytool.cli``,
    ``ukeytool.pkcs11.interface``, ``ukeytool.judging.renewal``)."""
    owner = package if module_name is None else module_name

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None and name not in subpackages:
            raise AttributeError(f"module {owner!r} has no attribute {name!r}")
        from importlib import import_module

        if module is None:
            return import_module(f"{package}.{name}")
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return __getattr__


__getattr__ = _lazy_getattr(__name__, globals(), _LAZY, _SUBPACKAGES)


def __dir__() -> list[str]:
    return sorted(__all__)
