"""Reports as a listing for people: a pure function from :class:`~ukeytool._model.Report`
values to text.

Every string that came from a module, a token or a certificate goes through
:func:`~ukeytool._text.escape_control`, so a label cannot steer the terminal. Text that
was not valid UTF-8 (decoded as a guess) is marked with a trailing ``†`` and explained,
with its raw bytes, in a footnote at the end. Columns are lined up by display width:
East Asian wide and fullwidth characters take two columns (:func:`display_width`).

Each token gets a ``URI pkcs11:...`` line, its RFC 7512 URI as p11tool prints it, ready to
be copied into a selection. Certificate URIs would make the table too wide; they are shown
on a line under each row only when asked for (``certificate_uris``), and are always in the
JSON.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Sequence

from ._i18n import N_, _, ngettext, using
from ._model import (
    BankChoice,
    CertificateEntry,
    ModuleFailure,
    PinState,
    Problem,
    RenewalPhase,
    Report,
    SlotReport,
    Status,
    TokenInfo,
)
from ._text import Text, escape_control
from ._uri import certificate_uri, token_uri

__all__ = ["display_width", "pad", "render_text"]

GUESSED_MARK = "†"
"""Appended to text whose encoding is a guess; a footnote gives its raw bytes."""

_RED = "\x1b[31m"
_YELLOW = "\x1b[33m"
_GREEN = "\x1b[32m"
_BOLD_RED = "\x1b[1;31m"
_RESET = "\x1b[0m"

_STATUS_COLOR = {
    Status.VALID: _GREEN,
    Status.EXPIRING: _YELLOW,
    Status.EXPIRED: _RED,
    Status.NOT_YET_VALID: _RED,
    Status.UNREADABLE: _RED,
}

# Marked with N_() for translation; translated with _() where they are shown.
_STATUS_WORDS = {
    Status.VALID: N_("valid"),
    Status.EXPIRING: N_("expiring"),
    Status.EXPIRED: N_("expired"),
    Status.NOT_YET_VALID: N_("not yet valid"),
    Status.UNREADABLE: N_("unreadable"),
}

_PIN_TEXT = {
    PinState.OK: (N_("ok"), ""),
    PinState.COUNT_LOW: (N_("WRONG PIN ENTERED since the last login"), _YELLOW),
    PinState.FINAL_TRY: (N_("FINAL TRY (one more wrong PIN locks the token)"), _BOLD_RED),
    PinState.LOCKED: (N_("LOCKED (only the token's issuer can unlock it)"), _BOLD_RED),
    PinState.MUST_BE_CHANGED: (N_("must be changed"), _YELLOW),
    PinState.USER_PIN_NOT_SET: (N_("not set"), _YELLOW),
    PinState.NOT_INITIALISED: (N_("token not initialised"), _YELLOW),
}

_HEADERS = (
    N_("LABEL"),
    N_("ID"),
    N_("SUBJECT CN"),
    N_("ISSUER CN"),
    N_("KEY"),
    N_("NOT AFTER"),
    N_("DAYS"),
    N_("STATUS"),
)
_RIGHT_ALIGNED = frozenset({"DAYS"})
_GAP = "  "
_MAX_ID_BYTES = 8
"""Longer CKA_ID values are cut to their first bytes plus "..." (the JSON has them whole)."""


def display_width(text: str) -> int:
    """The number of terminal columns ``text`` takes.

    East Asian wide and fullwidth characters take two columns, combining marks and
    format characters none, everything else one.
    """
    width = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` filled with blanks to ``width`` columns (on the left when ``right``)."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def render_text(
    reports: Sequence[Report],
    *,
    color: bool,
    certificate_uris: bool = False,
    failures: Sequence[ModuleFailure] = (),
    lang: str | None = None,
) -> str:
    """A listing of ``reports`` readable at a glance, ending in a one-line summary.

    With ``color`` statuses, PIN warnings and problem marks are coloured with ANSI
    escapes; without it the text holds no escape sequence at all. With
    ``certificate_uris`` each certificate's ``pkcs11:`` URI is shown under its row.
    Reports with renewal advice (:func:`~ukeytool.advise`) get it under each certificate
    and a summary per token. ``lang``: ``"en"`` or ``"zh"`` (default: the current
    language, see :mod:`ukeytool._i18n`).
    """
    with using(lang):
        return _Renderer(color, certificate_uris).render(reports, failures)


class _Renderer:
    def __init__(self, color: bool, certificate_uris: bool = False) -> None:
        self.color = color
        self.certificate_uris = certificate_uris
        self.lines: list[str] = []
        self.footnotes: dict[tuple[bytes, str], str] = {}

    # -- small pieces --------------------------------------------------------------

    def paint(self, text: str, code: str) -> str:
        if not self.color or not code:
            return text
        return f"{code}{text}{_RESET}"

    def text(self, value: Text | None, *, empty: str = "") -> str:
        """Escaped, marked when guessed (with a footnote), ``empty`` when None or blank."""
        if value is None:
            return empty
        shown = escape_control(value.value)
        if not value.guessed:
            return shown or empty
        key = (value.raw, value.encoding)
        if key not in self.footnotes:
            if value.encoding == "gb18030":
                how = _("decoded as GB18030 (not valid UTF-8)")
            else:
                how = _(r"neither UTF-8 nor GB18030, undecodable bytes shown as \xNN")
            self.footnotes[key] = _("{mark} {text}: {how}; raw bytes: {hex}").format(
                mark=GUESSED_MARK, text=shown or _("(empty)"), how=how, hex=value.hex
            )
        return f"{shown}{GUESSED_MARK}"

    def problem(self, problem: Problem, indent: str) -> None:
        line = escape_control(problem.message)
        if not problem.message.startswith(problem.where):
            line = f"{escape_control(problem.where)}: {line}"
        name = problem.code_name
        number = None if problem.code is None else f"0x{problem.code:x}"
        if name and name not in problem.message:
            line += f": {escape_control(name)}" + (f" ({number})" if number else "")
        elif number:
            line += f" ({number})" if name else f": CK_RV {number}"
        self.lines.append(f"{indent}{self.paint('!', _BOLD_RED)} {line}")

    # -- the listing ---------------------------------------------------------------

    def render(self, reports: Sequence[Report], failures: Sequence[ModuleFailure] = ()) -> str:
        if reports:
            at = _utc(reports[0].at)
            self.lines.append(
                _("Validity at {at} UTC; expiring = expires within {days} days").format(
                    at=f"{at:%Y-%m-%d %H:%M:%S}", days=reports[0].warn_days
                )
            )
        else:
            self.lines.append(_("No modules inspected."))
        for failure in failures:
            self.lines.append("")
            self.lines.append(_("Module {path}").format(path=escape_control(failure.path)))
            self.lines.append("  " + self.paint(f"! {escape_control(failure.message)}", _RED))
        for report in reports:
            self.lines.append("")
            self.module(report)
        if self.footnotes:
            self.lines.append("")
            self.lines.extend(self.footnotes.values())
        self.lines.append("")
        self.lines.append(self.summary(reports, failures))
        return "\n".join(self.lines) + "\n"

    def module(self, report: Report) -> None:
        module = report.module
        about = [
            part for part in (self.text(module.manufacturer), self.text(module.description)) if part
        ]
        about.append(_("version {version}").format(version=_version(module.library_version)))
        about.append(f"PKCS#11 {_version(module.cryptoki_version)}")
        self.lines.append(
            _("Module {path}").format(path=escape_control(module.path)) + f"  ({', '.join(about)})"
        )
        if module.real_path != module.path:
            self.lines.append(
                "  " + _("real path {path}").format(path=escape_control(module.real_path))
            )
        for problem in report.problems:
            self.problem(problem, "  ")
        if not report.slots:
            self.lines.append("  " + _("(no slots)"))
        for slot in report.slots:
            self.slot(slot)

    def slot(self, slot: SlotReport) -> None:
        info = slot.slot
        description = self.text(info.description)
        self.lines.append(
            _("Slot {id}").format(id=f"0x{info.slot_id:x}")
            + (f"  {description}" if description else "")
        )
        if slot.token is not None:
            self.token(slot.token)
        elif info.token_present:
            self.lines.append("  " + _("(token present, but its information could not be read)"))
        else:
            self.lines.append("  " + _("(no token)"))
        for problem in slot.problems:
            self.problem(problem, "  ")
        if slot.certificates:
            self.table(slot.token, slot.certificates)
        elif slot.token is not None and slot.complete and not slot.problems:
            if not slot.token.initialized:
                pass  # the PIN line already says so; an uninitialised token holds nothing
            elif slot.token.login_required:
                self.lines.append(
                    "    "
                    + _(
                        "no certificates visible without login (private certificates may be hidden)"
                    )
                )
            else:
                self.lines.append("    " + _("no certificates"))
        if not slot.complete:
            self.lines.append(
                "    "
                + self.paint(
                    _(
                        "(certificate listing incomplete: certificates may be missing; "
                        "see the lines marked !)"
                    ),
                    _YELLOW,
                )
            )
        if slot.advice is not None and (slot.certificates or slot.advice.pin_locked):
            self.token_advice(slot)

    def token(self, token: TokenInfo) -> None:
        parts = [_("Token {label}").format(label=self.text(token.label, empty=_("(no label)")))]
        serial = self.text(token.serial)
        if serial:
            parts.append(_("serial {serial}").format(serial=serial))
        maker = " / ".join(p for p in (self.text(token.manufacturer), self.text(token.model)) if p)
        if maker:
            parts.append(maker)
        pin_text, pin_color = _PIN_TEXT[token.pin_state]
        pin = _("PIN: {state}").format(state=self.paint(_(pin_text), pin_color))
        if token.protected_authentication_path:
            pin += " " + _("(PIN pad)")
        if token.pin_state is PinState.OK:
            # All is well: keep it on the token's line.
            self.lines.append("  " + "  ".join([*parts, pin]))
        else:
            # Anything else gets a line of its own, where nobody can miss it.
            self.lines.append("  " + "  ".join(parts))
            self.lines.append(f"  {pin}")
        # Pure ASCII by construction (every other byte is percent-encoded): nothing to escape.
        self.lines.append(f"  URI {token_uri(token)}")

    def table(self, token: TokenInfo | None, entries: Sequence[CertificateEntry]) -> None:
        rows = [self.row(entry) for entry in entries]
        headers = [_(h) for h in _HEADERS]
        widths = [
            max(display_width(h), *(display_width(row[i]) for row in rows))
            for i, h in enumerate(headers[:-1])
        ]

        def line(cells: Sequence[str], last: str) -> str:
            padded = [
                pad(cell, width, right=header in _RIGHT_ALIGNED)
                for cell, width, header in zip(cells, widths, _HEADERS, strict=False)
            ]
            return "    " + _GAP.join([*padded, last])

        self.lines.append(line(headers[:-1], headers[-1]))
        for entry, row in zip(entries, rows, strict=True):
            self.lines.append(line(row, self.status(entry)))
            if self.certificate_uris:
                self.lines.append(f"      {certificate_uri(token, entry)}")
            problems = list(entry.problems)
            if entry.certificate is not None:
                problems.extend(entry.certificate.problems)
            for problem in problems:
                self.problem(problem, "      ")
            if entry.advice is not None:
                self.certificate_advice(entry)

    def row(self, entry: CertificateEntry) -> list[str]:
        cert = entry.certificate
        if entry.id is None:
            ident = "-"
        elif not entry.id:
            ident = _("(empty)")
        elif len(entry.id) > _MAX_ID_BYTES:
            ident = entry.id[: _MAX_ID_BYTES - 2].hex() + "..."
        else:
            ident = entry.id.hex()
        subject = issuer = key = not_after = "-"
        if cert is not None:
            subject = _field(cert.subject_cn if cert.subject_cn is not None else cert.subject)
            issuer = _field(cert.issuer_cn if cert.issuer_cn is not None else cert.issuer)
            if cert.key_algorithm is not None:
                key = escape_control(cert.key_algorithm)
                if cert.key_size is not None and cert.key_algorithm not in ("Ed25519", "Ed448"):
                    key += f"-{cert.key_size}"
            if cert.not_after is not None:
                not_after = f"{_utc(cert.not_after):%Y-%m-%d}"
        days = "-" if entry.days_left is None else str(entry.days_left)
        label = self.text(entry.label, empty="-")
        return [label, ident, subject, issuer, key, not_after, days]

    def status(self, entry: CertificateEntry) -> str:
        word = _(_STATUS_WORDS[entry.status])
        reason = entry.unreadable_reason
        if reason is not None:
            word = _("{status}: {reason}").format(status=word, reason=escape_control(reason))
        return self.paint(word, _STATUS_COLOR[entry.status])

    def summary(self, reports: Sequence[Report], failures: Sequence[ModuleFailure] = ()) -> str:
        counts = dict.fromkeys(Status, 0)
        for report in reports:
            for entry in report.certificates:
                counts[entry.status] += 1
        total = sum(counts.values())
        text = ngettext("{n} certificate", "{n} certificates", total).format(n=total)
        parts = [
            _("{n} {status}").format(n=n, status=_(_STATUS_WORDS[status]))
            for status, n in counts.items()
            if n
        ]
        if parts:
            text += _(": {parts}").format(parts=_(", ").join(parts))
        if failures:
            n = len(failures)
            text += ngettext(
                "; {n} module could not be inspected", "; {n} modules could not be inspected", n
            ).format(n=n)
        if not all(report.complete for report in reports):
            text += _("; some things could not be read (lines marked !)")
        return text

    # -- renewal advice (present when the reports went through ukeytool.advise) ------

    def certificate_advice(self, entry: CertificateEntry) -> None:
        from ._renewal import advice_message, advice_summary

        advice = entry.advice
        assert advice is not None
        color = _RED if advice.needs_action else ""
        summary = self.paint(advice_summary(advice), color)
        self.lines.append("      " + _("renewal: {summary}").format(summary=summary))
        if advice.phase not in (RenewalPhase.NOT_BANK_CERTIFICATE, RenewalPhase.NO_DATES):
            self.lines.append("        " + advice_message(advice))

    def token_advice(self, slot: SlotReport) -> None:
        from ._renewal import bank_message, token_advice_message

        advice = slot.advice
        assert advice is not None
        choices: dict[BankChoice, list[str]] = {}
        for entry in slot.certificates:
            cert_advice = entry.advice
            if cert_advice is None or cert_advice.phase in (
                RenewalPhase.NOT_BANK_CERTIFICATE,
                RenewalPhase.NO_DATES,
            ):
                continue
            choices.setdefault(cert_advice.bank, []).append(self.text(entry.label, empty="-"))
        for choice, labels in choices.items():
            text = _("bank: {bank}").format(bank=bank_message(choice))
            if len(choices) > 1:
                text += " " + _("[{labels}]").format(labels=_(", ").join(labels))
            self.lines.append("    " + text)
        color = _BOLD_RED if advice.pin_locked else (_RED if advice.needs_action else "")
        message = self.paint(token_advice_message(advice), color)
        self.lines.append("    " + _("advice: {message}").format(message=message))


def _field(value: str | None) -> str:
    return "-" if value is None or value == "" else escape_control(value)


def _utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _version(value: tuple[int, int]) -> str:
    return f"{value[0]}.{value[1]}"
