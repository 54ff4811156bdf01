"""A monitoring check's verdicts and how a monitoring plugin shows them.

:func:`~ukeytool.rendering.check.check_reports` (the rules) judges reports into a
:class:`CheckResult`: one verdict per certificate, token, problem and finding, each with
its :class:`CheckState`, and the worst of them. Here are those values and their outputs:
the plugin's status line with performance data and its long output
(:meth:`CheckResult.status_line`, :meth:`CheckResult.details`), and the JSON document of
``check --format json`` (:func:`check_to_dict`).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Iterable, Sequence
from typing import Any

from .._version import __version__
from ..i18n import N_, _
from ..model import PinState, Severity, Status
from ..model.text import escape_control

__all__ = [
    "CHECK_VERSION",
    "PLUGIN_NAME",
    "SEVERITY",
    "AdviceNote",
    "CertificateVerdict",
    "CheckResult",
    "CheckState",
    "FindingVerdict",
    "ProblemVerdict",
    "TokenVerdict",
    "as_utc",
    "check_to_dict",
    "worst",
]


PLUGIN_NAME = "UKEYTOOL"
"""The first word of the status line, as monitoring plugins do (``UKEYTOOL OK - ...``)."""


CHECK_VERSION = 1
"""``check_version`` in :func:`check_to_dict`: raised when a member is removed or changes
meaning; adding members keeps it."""


@enum.unique
class CheckState(enum.IntEnum):
    """A monitoring-plugin state; its value is the plugin's exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    def __str__(self) -> str:
        return self.name


SEVERITY: tuple[CheckState, ...] = (
    CheckState.OK,
    CheckState.WARNING,
    CheckState.UNKNOWN,
    CheckState.CRITICAL,
)
"""The states from best to worst: OK < WARNING < UNKNOWN < CRITICAL."""


def worst(states: Iterable[CheckState]) -> CheckState:
    """The worst of ``states`` by :data:`SEVERITY`; OK when there are none."""
    return max(states, key=SEVERITY.index, default=CheckState.OK)


@dataclasses.dataclass(frozen=True)
class CertificateVerdict:
    """One certificate object's state."""

    name: str
    """``<certificate>@<token>``, unique within the result: the label (else the subject
    CN, the CKA_ID or the object handle) ``@`` the token label (else its serial or the
    slot); `` #2``, `` #3``... when that is not unique. The performance data label."""
    module: str
    slot_id: int
    token_serial: str | None
    token_label: str | None
    label: str | None
    id: str | None
    """CKA_ID as lowercase hex."""
    subject_cn: str | None
    not_after: datetime.datetime | None
    status: Status
    days_left: int | None
    state: CheckState
    reason: str
    """Why this state, for a person: ``"expired on 2026-10-22 13:00 UTC"``."""
    display_name: str | None = None
    """:attr:`name` as the detail lines show it, in the current language (``ID 0b@序列号
    …`` for ``id 0b@serial …``): the words a name falls back on (``id``, ``object``,
    ``serial``, ``slot``) are translated there, while :attr:`name` stays the same in
    every language, as performance data labels and the JSON must. None: as :attr:`name`."""


@dataclasses.dataclass(frozen=True)
class TokenVerdict:
    """One token's state (its user PIN)."""

    module: str
    slot_id: int
    serial: str | None
    label: str | None
    pin_state: PinState
    state: CheckState
    reason: str


@dataclasses.dataclass(frozen=True)
class ProblemVerdict:
    """Something that could not be read, and whether it makes the check UNKNOWN."""

    module: str
    slot_id: int | None
    """None for a module-wide problem or a module that could not be inspected."""
    certificate: str | None
    """The certificate's :attr:`CertificateVerdict.name` for an object attribute problem."""
    where: str
    """What failed: a PKCS#11 function, an attribute, or (for a module that could not be
    inspected) the error's class name, e.g. ``"ModuleNotFound"``."""
    message: str
    code: int | None
    code_name: str | None
    state: CheckState
    """UNKNOWN, or OK for a note that hides nothing (see the module documentation)."""
    reason: str
    message_code: str | None = None
    """The stable code of :attr:`message` (``message_code`` in the JSON); None while the
    message is made as text."""
    says_where: bool = False
    """:attr:`message` begins by naming :attr:`where`: the output does not repeat it."""
    says_code: bool = False
    """:attr:`message` names :attr:`code_name`: the output does not repeat it."""


@dataclasses.dataclass(frozen=True)
class AdviceNote:
    """A token's most urgent renewal action, from its :class:`~ukeytool.TokenAdvice`."""

    module: str
    slot_id: int
    token_serial: str | None
    token_label: str | None
    action: str
    """The :class:`~ukeytool.RenewalAction` value, e.g. ``"renew_online"``."""
    needs_action: bool
    message: str
    """The token and what to do, in the current language (personal data masked)."""


@dataclasses.dataclass(frozen=True)
class FindingVerdict:
    """A finding about a certificate (see docs/relations.md) and its state in the check:
    a critical finding is WARNING, any other OK (shown, not alerting)."""

    certificate: str
    """The certificate's :attr:`CertificateVerdict.name`."""
    code: str
    severity: Severity
    message: str
    state: CheckState
    message_code: str | None = None
    """The stable code of :attr:`message`; None while the message is made as text."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """Every verdict of one check run and the overall state."""

    state: CheckState
    """The worst state of all verdicts; its value is the exit code."""
    summary: str
    """The counts, worst first: ``"1 expired, 2 expiring within 30 days, 5 ok"``."""
    certificates: tuple[CertificateVerdict, ...]
    tokens: tuple[TokenVerdict, ...]
    problems: tuple[ProblemVerdict, ...]
    no_certificates: str | None
    """Why no certificate at all was seen (which makes the state at least UNKNOWN);
    None when there was one."""
    warn_days: int
    crit_days: int
    at: datetime.datetime | None
    """The moment the first report was judged at; None without reports."""
    findings: tuple[FindingVerdict, ...] = ()
    """The certificates' findings, each with its state."""
    personal_data_shown: bool = False
    """True when the verdicts hold personal data unmasked (``show_personal_data``)."""
    advice: tuple[AdviceNote, ...] = ()
    """Each token's most urgent renewal action, when the reports carry renewal advice
    (:func:`~ukeytool.advise`); those that need action end the long output. The
    verdicts do not depend on it."""

    @property
    def exit_code(self) -> int:
        return int(self.state)

    def perfdata(self) -> str:
        """Days left per certificate, ``'label'=days;warn;crit`` separated by blanks.

        The thresholds are in the plugin guidelines' range syntax, ``N:`` (alert when
        the value is below N): a certificate is WARNING with ``days_left <=
        warn_days``, so the warning range is ``{warn_days + 1}:`` and the critical one
        ``{crit_days + 1}:`` (``31:`` and ``8:`` by default), which a graphing or
        alerting tool reads exactly as the plugin judged. Labels are always quoted, a
        ``'`` inside is doubled, and ``=`` (which the plugin guidelines forbid in
        labels, quoted or not) becomes ``_``. Certificates without dates have no
        performance data.
        """
        warn, crit = self.threshold_ranges()
        return " ".join(
            f"'{_clean(v.name).replace(chr(39), chr(39) * 2).replace('=', '_')}'"
            f"={v.days_left};{warn};{crit}"
            for v in self.certificates
            if v.days_left is not None
        )

    def threshold_ranges(self) -> tuple[str, str]:
        """The warning and critical thresholds of the performance data, in the plugin
        guidelines' range syntax: ``("31:", "8:")`` for ``warn_days=30, crit_days=7``."""
        return f"{self.warn_days + 1}:", f"{self.crit_days + 1}:"

    def status_line(self) -> str:
        """``UKEYTOOL <STATE> - <summary> | <perfdata>``: the plugin's first line."""
        line = f"{PLUGIN_NAME} {self.state.name} - {_clean(self.summary)}"
        perfdata = self.perfdata()
        return f"{line} | {perfdata}" if perfdata else line

    def details(self) -> list[str]:
        """One line per verdict, worst first: the plugin's long output."""
        rows: list[tuple[CheckState, str]] = []
        shown = {cert.name: cert.display_name or cert.name for cert in self.certificates}
        if self.no_certificates is not None:
            rows.append((CheckState.UNKNOWN, self.no_certificates))
        for token in self.tokens:
            name = token.label or _("(no label)")
            serial = _(" serial {serial}").format(serial=token.serial) if token.serial else ""
            line = _("token {name}{serial}: {reason}")
            rows.append((token.state, line.format(name=name, serial=serial, reason=token.reason)))
        for cert in self.certificates:
            cn = ""
            if cert.subject_cn and cert.subject_cn != cert.label:
                cn = _(" (CN {cn})").format(cn=cert.subject_cn)
            line = _("certificate {name}{cn}: {reason}")
            name = shown[cert.name]
            rows.append((cert.state, line.format(name=name, cn=cn, reason=cert.reason)))
        for problem in self.problems:
            place = problem.module
            if problem.slot_id is not None:
                place += _(" slot {slot}").format(slot=f"0x{problem.slot_id:x}")
            if problem.certificate is not None:
                name = shown.get(problem.certificate, problem.certificate)
                place += _(" certificate {name}").format(name=name)
            text = problem.message
            if not problem.says_where:
                text = _("{where}: {message}").format(where=problem.where, message=text)
            if problem.code_name and not problem.says_code:
                text = _("{message} ({code_name})").format(
                    message=text, code_name=problem.code_name
                )
            line = _("{place}: {problem}; {reason}")
            rows.append(
                (problem.state, line.format(place=place, problem=text, reason=problem.reason))
            )
        rows.extend(_finding_rows(self.findings, shown))
        order = sorted(range(len(rows)), key=lambda i: -SEVERITY.index(rows[i][0]))
        lines = [f"[{rows[i][0].name}] {_clean(rows[i][1])}" for i in order]
        for note in self.advice:
            if note.needs_action:
                lines.append(_clean(_("advice: {message}").format(message=note.message)))
        return lines

    def output(self) -> str:
        """The whole plugin output: the status line, the details, a final newline."""
        return "\n".join([self.status_line(), *self.details()]) + "\n"


def check_to_dict(result: CheckResult) -> dict[str, Any]:
    """The JSON document for ``check --format json``: the same verdicts as the exit code.

    Every verdict has ``state`` (``"OK"``, ``"WARNING"``, ``"CRITICAL"``, ``"UNKNOWN"``)
    and ``state_code`` (0-3, the exit code); so has the document itself. ``code`` and
    ``code_name`` in problems are the CK_RV, as in the report JSON; ``message_code`` in
    problems and findings is the stable code of ``message`` (docs/json.md).
    """
    return {
        "tool": "ukeytool",
        "tool_version": __version__,
        "check_version": CHECK_VERSION,
        "state": result.state.name,
        "state_code": int(result.state),
        "summary": result.summary,
        "status_line": result.status_line(),
        "at": None if result.at is None else _moment(result.at),
        "warn_days": result.warn_days,
        "crit_days": result.crit_days,
        "no_certificates": result.no_certificates,
        "personal_data": "shown" if result.personal_data_shown else "masked",
        "certificates": [
            {
                "name": v.name,
                "module": v.module,
                "slot_id": v.slot_id,
                "token_serial": v.token_serial,
                "token_label": v.token_label,
                "label": v.label,
                "id": v.id,
                "subject_cn": v.subject_cn,
                "not_after": None if v.not_after is None else _moment(v.not_after),
                "status": v.status.value,
                "days_left": v.days_left,
                "state": v.state.name,
                "state_code": int(v.state),
                "reason": v.reason,
            }
            for v in result.certificates
        ],
        "tokens": [
            {
                "module": v.module,
                "slot_id": v.slot_id,
                "serial": v.serial,
                "label": v.label,
                "pin_state": v.pin_state.value,
                "state": v.state.name,
                "state_code": int(v.state),
                "reason": v.reason,
            }
            for v in result.tokens
        ],
        "problems": [
            {
                "module": v.module,
                "slot_id": v.slot_id,
                "certificate": v.certificate,
                "where": v.where,
                "message": v.message,
                "message_code": v.message_code,
                "code": v.code,
                "code_name": v.code_name,
                "state": v.state.name,
                "state_code": int(v.state),
                "reason": v.reason,
            }
            for v in result.problems
        ],
        "advice": [
            {
                "module": v.module,
                "slot_id": v.slot_id,
                "token_serial": v.token_serial,
                "token_label": v.token_label,
                "action": v.action,
                "needs_action": v.needs_action,
                "message": v.message,
            }
            for v in result.advice
        ],
        "findings": [
            {
                "certificate": v.certificate,
                "code": v.code,
                "severity": v.severity.value,
                "message": v.message,
                "message_code": v.message_code,
                "state": v.state.name,
                "state_code": int(v.state),
            }
            for v in result.findings
        ],
    }


def as_utc(value: datetime.datetime) -> datetime.datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _moment(value: datetime.datetime) -> str:
    value = as_utc(value)
    text = f"{value:%Y-%m-%dT%H:%M:%S}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def _clean(text: str) -> str:
    """Text for the plugin output: no control characters (one verdict, one line) and no
    ``|``, which would start performance data."""
    return escape_control(text).replace("|", "¦")


def _finding_rows(
    findings: Sequence[FindingVerdict], shown: dict[str, str]
) -> list[tuple[CheckState, str]]:
    return [
        (
            f.state,
            _("certificate {name}: {severity} finding {code}: {message}").format(
                name=shown.get(f.certificate, f.certificate),
                severity=_(_SEVERITY_WORDS[f.severity]),
                code=f.code,
                message=f.message,
            ),
        )
        for f in findings
    ]


_SEVERITY_WORDS = {
    Severity.CRITICAL: N_("critical"),
    Severity.WARNING: N_("warning"),
    Severity.INFO: N_("info"),
}
