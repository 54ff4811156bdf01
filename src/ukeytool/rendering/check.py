"""Monitoring-plugin verdicts (Nagios, Icinga, Naemon, Checkmk): pure functions from
:class:`~ukeytool.model.Report` values to a :class:`CheckResult`.

:func:`check_reports` judges every certificate, every token's PIN and every read problem
and gives each a :class:`CheckState`; the worst of them is the overall state, whose
number is the plugin's exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).

Rules, for each certificate (on its whole days left, as shown in the output and the
performance data; :attr:`Validity.days_left` rounds down, so 0 is the last day):

* expired or not yet valid: CRITICAL;
* ``days_left <= crit_days``: CRITICAL; ``days_left <= warn_days``: WARNING; else OK;
* unreadable (no dates): UNKNOWN.

The performance data gives each certificate's days left with these thresholds in the
plugin guidelines' range syntax, ``N:`` meaning "alert below N": ``31:`` and ``8:`` for
``warn_days=30, crit_days=7``, as 30 days left is already WARNING and 7 CRITICAL.

The statuses' own "expiring" judgement (made with the report's ``warn_days``) plays no
part; only the thresholds given here do. For each token: PIN locked is CRITICAL, PIN on
its final try WARNING, any other PIN state OK. Every problem the reports carry, at
module or slot level, a slot listing that stopped part-way, and every module that could
not be inspected at all (:class:`~ukeytool.model.ModuleFailure`) is UNKNOWN: something
that could not be read may hide an expired certificate. Two kinds of problem are notes
(OK) instead, as they hide nothing and would otherwise keep the check UNKNOWN for good:
a certificate object attribute that could not be read (CKA_LABEL, CKA_PRIVATE...) when
the certificate itself could be judged, and a slot the module lists but then calls
invalid (CKR_SLOT_ID_INVALID, seen on virtual reader slots). When no certificate is
visible at all the state is at least UNKNOWN, with the reason (for instance "no
certificates visible without login").

Findings (docs/relations.md) are listed too: a critical one (an MD5 or older signature, an
RSA key under 1024 bits) is WARNING, as it needs acting on but stops nothing today; a
warning or note is OK, shown in the details but not alerting, or the check would stay
WARNING for years over a SHA-1 certificate that works. A certificate in an SM2 pair is
judged on its own dates; when its other half expires first, its reason says by when the
pair must be renewed (the halves are renewed together, and the other half's own verdict
carries the alert).

The overall state is the worst by the order OK < WARNING < UNKNOWN < CRITICAL
(:data:`SEVERITY`). CRITICAL is a definite finding that needs action now, and a part
that could not be read must not water it down to UNKNOWN. UNKNOWN ranks above WARNING
because the unread part may hide something worse than a warning, and a blind spot
should not hide behind a routine expiry warning. (The monitoring-plugins C library's
``max_state_alt`` ranks UNKNOWN below WARNING; this is a deliberate difference.) The
summary counts every finding, so none is hidden by the state.

Personal data: unless ``show_personal_data`` is given, every name, label and message
in the result has been through :func:`~ukeytool.rendering.mask.mask_personal`, so ID-card
numbers never reach the monitoring system.

These are the rules; the values they produce and their outputs (the plugin's lines, the
JSON) are in :mod:`ukeytool.rendering.verdict`, and every name is importable from here.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from ..errors import UsageError
from ..i18n import N_, _, ngettext, pgettext, render, template
from ..judging.relations import finding_message
from ..judging.validity import check_warn_days
from ..model import (
    CertificateEntry,
    Finding,
    ModuleFailure,
    PinState,
    Problem,
    Report,
    Severity,
    SlotReport,
    Status,
    TokenInfo,
)
from ..model.report import DATES_UNREADABLE
from .json_values import message_code
from .mask import mask_optional, mask_personal
from .problem import says_code, says_where
from .verdict import (
    CHECK_VERSION,
    PLUGIN_NAME,
    SEVERITY,
    AdviceNote,
    CertificateVerdict,
    CheckResult,
    CheckState,
    FindingVerdict,
    ProblemVerdict,
    TokenVerdict,
    as_utc,
    check_to_dict,
    worst,
)

__all__ = [
    "CHECK_VERSION",
    "CRIT_DAYS_ABOVE_WARN",
    "CRIT_DAYS_INVALID",
    "LISTING_STOPPED",
    "PLUGIN_NAME",
    "SEVERITY",
    "AdviceNote",
    "CertificateVerdict",
    "CheckResult",
    "CheckState",
    "FindingVerdict",
    "ProblemVerdict",
    "TokenVerdict",
    "check_reports",
    "check_to_dict",
    "worst",
]

CRIT_DAYS_INVALID = template(
    "check.crit_days_invalid", "crit_days must be a whole number of days >= 0, not {value}"
)
CRIT_DAYS_ABOVE_WARN = template(
    "check.crit_days_above_warn", "crit_days ({crit}) must not be greater than warn_days ({warn})"
)
LISTING_STOPPED = template("check.listing_stopped", "the certificate listing stopped part-way")
"""The problem a slot whose listing stopped part-way gets when it has none of its own."""


def check_reports(
    reports: Sequence[Report],
    *,
    warn_days: int = 30,
    crit_days: int = 7,
    failures: Sequence[ModuleFailure] = (),
    show_personal_data: bool = False,
) -> CheckResult:
    """Judge ``reports`` (and modules that could not be inspected) as a monitoring check.

    Raises :class:`~ukeytool.errors.UsageError` when a threshold is not a whole number
    of days >= 0 or ``crit_days`` is greater than ``warn_days``.
    """
    check_warn_days(warn_days)
    if isinstance(crit_days, bool) or not isinstance(crit_days, int) or crit_days < 0:
        raise UsageError(CRIT_DAYS_INVALID(value=repr(crit_days)))
    if crit_days > warn_days:
        raise UsageError(CRIT_DAYS_ABOVE_WARN(crit=crit_days, warn=warn_days))
    judge = _Judge(warn_days, crit_days, show_personal_data)
    for failure in failures:
        judge.failure(failure)
    for report in reports:
        judge.report(report)
    return judge.result(reports, failures)


# -- the judging -------------------------------------------------------------------

_SLOT_ID_INVALID = "CKR_SLOT_ID_INVALID"

# Reasons marked with N_() for translation; translated with _() where they are used.
_PIN_VERDICTS: dict[PinState, tuple[CheckState, str]] = {
    PinState.OK: (CheckState.OK, N_("PIN ok")),
    PinState.COUNT_LOW: (
        CheckState.OK,
        N_("a wrong PIN was entered since the last successful login"),
    ),
    PinState.FINAL_TRY: (
        CheckState.WARNING,
        N_("PIN on its final try: one more wrong PIN locks it"),
    ),
    PinState.LOCKED: (
        CheckState.CRITICAL,
        N_("PIN locked: only the token's issuer can unlock it"),
    ),
    PinState.MUST_BE_CHANGED: (CheckState.OK, N_("the PIN must be changed at the next login")),
    PinState.USER_PIN_NOT_SET: (CheckState.OK, N_("no user PIN set yet")),
    PinState.NOT_INITIALISED: (CheckState.OK, N_("token not initialised")),
}


class _Judge:
    def __init__(self, warn_days: int, crit_days: int, show_personal_data: bool) -> None:
        self.warn_days = warn_days
        self.crit_days = crit_days
        self.show = show_personal_data
        self.certificates: list[CertificateVerdict] = []
        self.findings: list[FindingVerdict] = []
        self.tokens: list[TokenVerdict] = []
        self.problems: list[ProblemVerdict] = []
        self.names: set[str] = set()
        self.failed_modules = 0
        self.advice: list[AdviceNote] = []

    def mask(self, text: str | None) -> str | None:
        return mask_optional(text, show_personal_data=self.show)

    def text(self, text: str) -> str:
        return text if self.show else mask_personal(text)

    def problem(
        self,
        module: str,
        slot_id: int | None,
        problem: Problem,
        *,
        state: CheckState,
        reason: str,
        certificate: str | None = None,
    ) -> None:
        self.problems.append(
            ProblemVerdict(
                module=self.text(module),
                slot_id=slot_id,
                certificate=certificate,
                where=str(problem.where),
                message=self.text(render(problem.message)),
                code=problem.code,
                code_name=problem.code_name,
                state=state,
                reason=reason,
                message_code=message_code(problem.message),
                says_where=says_where(problem),
                says_code=says_code(problem),
            )
        )

    def failure(self, failure: ModuleFailure) -> None:
        self.failed_modules += 1
        self.problems.append(
            ProblemVerdict(
                module=self.text(failure.path),
                slot_id=None,
                certificate=None,
                where=failure.kind,
                message=self.text(render(failure.message)),
                code=failure.code,
                code_name=failure.code_name,
                state=CheckState.UNKNOWN,
                reason=_("the module could not be inspected"),
                message_code=message_code(failure.message),
                says_code=says_code(failure),
            )
        )

    def report(self, report: Report) -> None:
        module = report.module.path
        for problem in report.problems:
            if problem.after_read:
                # C_Finalize failed after everything was read: shown, but nothing is lost.
                self.problem(
                    module,
                    None,
                    problem,
                    state=CheckState.OK,
                    reason=_("ignored: everything had been read before"),
                )
                continue
            self.problem(
                module,
                None,
                problem,
                state=CheckState.UNKNOWN,
                reason=_("the module was not fully read"),
            )
        for slot in report.slots:
            self.slot(module, slot)

    def slot(self, module: str, slot: SlotReport) -> None:
        slot_id = slot.slot.slot_id
        for problem in slot.problems:
            if problem.code_name == _SLOT_ID_INVALID and slot.token is None:
                self.problem(
                    module,
                    slot_id,
                    problem,
                    state=CheckState.OK,
                    reason=_(
                        "ignored: the module lists this slot but says it does not exist "
                        "(a virtual reader slot)"
                    ),
                )
            else:
                self.problem(
                    module,
                    slot_id,
                    problem,
                    state=CheckState.UNKNOWN,
                    reason=_("the slot was not fully read"),
                )
        if not slot.complete and not slot.problems:
            self.problem(
                module,
                slot_id,
                Problem("C_FindObjects", LISTING_STOPPED()),
                state=CheckState.UNKNOWN,
                reason=_("the slot was not fully read"),
            )
        token = slot.token
        if token is not None:
            state, reason = _PIN_VERDICTS[token.pin_state]
            self.tokens.append(
                TokenVerdict(
                    module=self.text(module),
                    slot_id=slot_id,
                    serial=token.serial.value,
                    label=self.mask(token.label.value),
                    pin_state=token.pin_state,
                    state=state,
                    reason=_(reason),
                )
            )
        for entry in slot.certificates:
            self.certificate(module, slot_id, token, entry)
        if token is not None and slot.advice is not None:
            self.token_advice(module, slot_id, token, slot)

    def token_advice(self, module: str, slot_id: int, token: TokenInfo, slot: SlotReport) -> None:
        from ..judging.renewal import token_advice_message

        advice = slot.advice
        assert advice is not None
        label = self.mask(token.label.value)
        name = label or _("(no label)")
        serial = (
            _(" serial {serial}").format(serial=token.serial.value) if token.serial.value else ""
        )
        message = _("token {name}{serial}: {reason}").format(
            name=name, serial=serial, reason=token_advice_message(advice)
        )
        self.advice.append(
            AdviceNote(
                module=self.text(module),
                slot_id=slot_id,
                token_serial=token.serial.value,
                token_label=label,
                action=advice.action.value,
                needs_action=advice.needs_action,
                message=self.text(message),
            )
        )

    def unique_name(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.names:
            n += 1
            candidate = f"{name} #{n}"
        self.names.add(candidate)
        return candidate

    def certificate(
        self, module: str, slot_id: int, token: TokenInfo | None, entry: CertificateEntry
    ) -> None:
        cert = entry.certificate
        label = self.mask(None if entry.label is None else entry.label.value)
        subject_cn = self.mask(None if cert is None else cert.subject_cn)
        ident = None if entry.id is None else entry.id.hex()
        token_label = None if token is None else self.mask(token.label.value)
        token_serial = None if token is None else token.serial.value
        # The name is the performance data label and the JSON's: the same in every
        # language. The detail lines show it with its fallback words translated.
        what = label or subject_cn or (f"id {ident}" if ident else f"object {entry.handle}")
        where = token_label or (f"serial {token_serial}" if token_serial else None)
        stable = f"{what}@{where or f'slot 0x{slot_id:x}'}"
        name = self.unique_name(stable)
        shown_what = label or subject_cn
        if not shown_what:
            shown_what = (
                pgettext("certificate name", "id {id}").format(id=ident)
                if ident
                else pgettext("certificate name", "object {handle}").format(handle=entry.handle)
            )
        shown_where = token_label
        if not shown_where:
            shown_where = (
                pgettext("certificate name", "serial {serial}").format(serial=token_serial)
                if token_serial
                else pgettext("certificate name", "slot {slot}").format(slot=f"0x{slot_id:x}")
            )
        display_name = f"{shown_what}@{shown_where}{name[len(stable) :]}"
        state, reason = self.verdict(entry)
        reason += _pair_note(entry)
        self.findings.extend(
            FindingVerdict(
                name,
                f.code,
                f.severity,
                self.text(finding_message(f)),
                _finding_state(f),
                message_code(f.message),
            )
            for f in entry.findings
        )
        self.certificates.append(
            CertificateVerdict(
                name=name,
                module=self.text(module),
                slot_id=slot_id,
                token_serial=token_serial,
                token_label=token_label,
                label=label,
                id=ident,
                subject_cn=subject_cn,
                not_after=None if cert is None else cert.not_after,
                status=entry.status,
                days_left=entry.days_left,
                state=state,
                reason=self.text(reason),
                display_name=None if display_name == name else display_name,
            )
        )
        if state is not CheckState.UNKNOWN:
            # The certificate was judged: attributes that could not be read hide nothing.
            for problem in entry.problems:
                self.problem(
                    module,
                    slot_id,
                    problem,
                    state=CheckState.OK,
                    reason=_("ignored: the certificate itself could be judged"),
                    certificate=name,
                )

    def verdict(self, entry: CertificateEntry) -> tuple[CheckState, str]:
        cert = entry.certificate
        days = entry.days_left
        if entry.status is Status.UNREADABLE or days is None or cert is None:
            why = render(entry.unreadable_reason or DATES_UNREADABLE())
            return CheckState.UNKNOWN, _("unreadable: {why}").format(why=why)
        if entry.status is Status.EXPIRED:
            return CheckState.CRITICAL, _("expired on {when}").format(when=_when(cert.not_after))
        if entry.status is Status.NOT_YET_VALID:
            return CheckState.CRITICAL, _("not valid before {when}").format(
                when=_when(cert.not_before)
            )
        left = _("{days} left, expires {when}").format(days=_days(days), when=_when(cert.not_after))
        if days <= self.crit_days:
            return CheckState.CRITICAL, _("{left} (critical: within {days})").format(
                left=left, days=_days(self.crit_days)
            )
        if days <= self.warn_days:
            return CheckState.WARNING, _("{left} (warning: within {days})").format(
                left=left, days=_days(self.warn_days)
            )
        return CheckState.OK, left

    def result(self, reports: Sequence[Report], failures: Sequence[ModuleFailure]) -> CheckResult:
        no_certificates = None
        if not self.certificates and (reports or not failures):
            tokens = [t for report in reports for t in report.tokens]
            if not reports:
                no_certificates = _("no PKCS#11 module was inspected")
            elif not any(report.slots for report in reports):
                # No slot at all is not an empty slot: no reader, or no reader service.
                no_certificates = (
                    _(
                        "no certificates: the module lists no slot "
                        "(no reader, or no reader service: is pcscd running?)"
                    )
                    if len(reports) == 1
                    else _(
                        "no certificates: no module lists a slot "
                        "(no reader, or no reader service: is pcscd running?)"
                    )
                )
            elif not tokens:
                no_certificates = _("no certificates: no token present")
            elif any(t.initialized and t.login_required for t in tokens):
                no_certificates = _(
                    "no certificates visible without login (private certificates may be hidden)"
                )
            else:
                no_certificates = _("no certificates on any token")
        states = [v.state for v in self.certificates]
        states.extend(v.state for v in self.tokens)
        states.extend(v.state for v in self.problems)
        states.extend(v.state for v in self.findings)
        if no_certificates is not None:
            states.append(CheckState.UNKNOWN)
        return CheckResult(
            state=worst(states),
            summary=self.summary(no_certificates),
            certificates=tuple(self.certificates),
            tokens=tuple(self.tokens),
            problems=tuple(self.problems),
            no_certificates=no_certificates,
            warn_days=self.warn_days,
            crit_days=self.crit_days,
            at=reports[0].at if reports else None,
            findings=tuple(self.findings),
            personal_data_shown=self.show,
            advice=tuple(self.advice),
        )

    def summary(self, no_certificates: str | None) -> str:
        def count(items: Iterable[object]) -> int:
            return sum(1 for _ in items)

        certs = self.certificates
        by_days = [v for v in certs if v.status in (Status.VALID, Status.EXPIRING)]
        unknown_problems = [p for p in self.problems if p.state is CheckState.UNKNOWN]
        failed_modules = self.failed_modules
        read_errors = len(unknown_problems) - failed_modules
        tokens_locked = count(t for t in self.tokens if t.state is CheckState.CRITICAL)
        tokens_final = count(t for t in self.tokens if t.state is CheckState.WARNING)
        parts = [
            (count(v for v in certs if v.status is Status.EXPIRED), _("{n} expired")),
            (count(v for v in certs if v.status is Status.NOT_YET_VALID), _("{n} not yet valid")),
            (
                count(v for v in by_days if v.state is CheckState.CRITICAL),
                _("{n} expiring within {days}").format(n="{n}", days=_days(self.crit_days)),
            ),
            (
                tokens_locked,
                ngettext("{n} token with PIN locked", "{n} tokens with PIN locked", tokens_locked),
            ),
            (
                failed_modules,
                ngettext("{n} module not inspected", "{n} modules not inspected", failed_modules),
            ),
            (read_errors, ngettext("{n} read error", "{n} read errors", read_errors)),
            (count(v for v in certs if v.state is CheckState.UNKNOWN), _("{n} unreadable")),
            (
                count(v for v in by_days if v.state is CheckState.WARNING),
                _("{n} expiring within {days}").format(n="{n}", days=_days(self.warn_days)),
            ),
            (
                tokens_final,
                ngettext(
                    "{n} token with PIN on its final try",
                    "{n} tokens with PIN on its final try",
                    tokens_final,
                ),
            ),
            _findings_count(self.findings),
            (count(v for v in certs if v.state is CheckState.OK), _("{n} ok")),
        ]
        words = [what.format(n=n) for n, what in parts if n]
        if no_certificates is not None:
            words.insert(0, no_certificates)
        return _(", ").join(words) if words else _("nothing to check")


def _days(n: int) -> str:
    return ngettext("{n} day", "{n} days", n).format(n=n)


def _when(value: datetime.datetime | None) -> str:
    if value is None:
        return _("an unknown date")
    return _("{when} UTC").format(when=f"{as_utc(value):%Y-%m-%d %H:%M}")


# -- findings and pairs (docs/relations.md) ----------------------------------------------


def _finding_state(finding: Finding) -> CheckState:
    """A critical finding (MD5 signature, RSA key under 1024 bits) is WARNING: it needs
    acting on but is no outage; warnings and notes are shown and stay OK, or the check
    would warn for years about a SHA-1 certificate that works."""
    return CheckState.WARNING if finding.severity is Severity.CRITICAL else CheckState.OK


def _findings_count(findings: Sequence[FindingVerdict]) -> tuple[int, str]:
    n = sum(1 for f in findings if f.state is CheckState.WARNING)
    return n, ngettext("{n} critical finding", "{n} critical findings", n)


def _pair_note(entry: CertificateEntry) -> str:
    """For one half of an SM2 pair whose other half expires first: when the pair must be
    renewed by (both halves are renewed together)."""
    pair = entry.pair
    cert = entry.certificate
    if pair is None or pair.not_after is None or cert is None or cert.not_after is None:
        return ""
    if pair.not_after >= cert.not_after:
        return ""
    if pair.usage == "signing":
        note = _("; its SM2 pair must be renewed by {when}, when its encryption half expires")
    else:
        note = _("; its SM2 pair must be renewed by {when}, when its signing half expires")
    return note.format(when=_when(pair.not_after))
