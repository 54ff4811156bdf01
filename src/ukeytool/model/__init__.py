"""The values ukeytool reports: frozen dataclasses and string enums, no foreign types.

A :class:`Report` holds one module's :class:`ModuleInfo` and a :class:`SlotReport` per
slot; a slot may hold a :class:`TokenInfo` and the token's certificate objects as
:class:`CertificateEntry` values, each with the parsed :class:`Certificate` and its
:class:`Validity` at the report's moment. Wherever something could not be read, a
:class:`Problem` says where and why, and everything else is still there.

The values live in submodules by idea, and every name is importable from here:
:mod:`.problem` (:class:`Problem`), :mod:`.report` (modules, slots, tokens, objects,
logins), :mod:`.certificate` (what a certificate says and its validity),
:mod:`.relations` (roles, links, key presence, findings), :mod:`.renewal` (renewal
advice), :mod:`.files` (certificate files) and :mod:`.text` (bytes kept with their text).
Each name is imported from its submodule on first use (:pep:`562`), so that the command
line loads only the values it uses.
"""

from __future__ import annotations

from .. import _lazy_getattr

# typing.TYPE_CHECKING without importing typing (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .certificate import Certificate, Holder, IdentityNumber, NameAttribute, Status, Validity
    from .files import FileKey, FileReport
    from .problem import Problem
    from .relations import (
        CertificateLink,
        Finding,
        KeyMatch,
        KeyPresence,
        PairLink,
        Role,
        Severity,
    )
    from .renewal import (
        Advice,
        BankChoice,
        BankRule,
        RenewalAction,
        RenewalPhase,
        RenewalWindow,
        TokenAdvice,
        WindowState,
    )
    from .report import (
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

__all__ = [
    "Advice",
    "BankChoice",
    "BankRule",
    "Certificate",
    "CertificateEntry",
    "CertificateLink",
    "FileKey",
    "FileReport",
    "Finding",
    "Holder",
    "IdentityNumber",
    "KeyMatch",
    "KeyObject",
    "KeyPresence",
    "LoginOutcome",
    "LoginState",
    "ModuleFailure",
    "ModuleInfo",
    "NameAttribute",
    "PairLink",
    "PinState",
    "Problem",
    "RenewalAction",
    "RenewalPhase",
    "RenewalWindow",
    "Report",
    "Role",
    "Severity",
    "SlotInfo",
    "SlotReport",
    "Status",
    "TokenAdvice",
    "TokenInfo",
    "Validity",
    "WindowState",
]

_SOURCES: dict[str, str] = {
    "certificate": "Certificate Holder IdentityNumber NameAttribute Status Validity",
    "files": "FileKey FileReport",
    "problem": "Problem",
    "relations": "CertificateLink Finding KeyMatch KeyPresence PairLink Role Severity",
    "renewal": (
        "Advice BankChoice BankRule RenewalAction RenewalPhase RenewalWindow "
        "TokenAdvice WindowState"
    ),
    "report": (
        "CertificateEntry KeyObject LoginOutcome LoginState ModuleFailure "
        "ModuleInfo PinState Report SlotInfo SlotReport TokenInfo"
    ),
}
_LAZY: dict[str, str] = {
    name: module for module, names in _SOURCES.items() for name in names.split()
}


__getattr__ = _lazy_getattr(__name__, globals(), _LAZY)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
