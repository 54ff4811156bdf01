"""Reports as a listing for people: a pure function from :class:`~ukeytool.model.Report`
values to text.

Every string that came from a module, a token or a certificate goes through
:func:`~ukeytool.model.text.escape_control`, so a label cannot steer the terminal. Text that
was not valid UTF-8 (decoded as a guess) is marked with a trailing ``†`` and explained,
with its raw bytes, in a footnote at the end. Columns are lined up by display width:
East Asian wide and fullwidth characters take two columns (:func:`display_width`).

Personal data is masked unless ``show_personal_data`` is given
(:func:`~ukeytool.rendering.mask.mask_report`): ID-card numbers in names, labels, footnotes' raw
bytes and URIs are partly replaced by ``*``, and a line before the summary says so when
anything was masked. A subject CN that was not what its string type says (GBK in a
PrintableString) is marked ``†`` like a guessed label.

With ``details``, each certificate row is followed by its fingerprints (SHA-256, SHA-1,
and SM3 where available), its subject and issuer attribute by attribute with their string
types, the CFCA holder fields and the identity numbers from extensions.

Each token gets a ``URI pkcs11:...`` line, its RFC 7512 URI as p11tool prints it, ready to
be copied into a selection. Certificate URIs would make the table too wide; they are shown
on a line under each row only when asked for (``certificate_uris``), and are always in the
JSON.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from ..i18n import N_, _, ngettext, render, using
from ..model import (
    BankChoice,
    Certificate,
    CertificateEntry,
    FileKey,
    FileReport,
    LoginOutcome,
    LoginState,
    ModuleFailure,
    PinState,
    RenewalPhase,
    Report,
    Severity,
    SlotReport,
    TokenInfo,
)
from ..model.text import escape_control
from ..pkcs11.token_uris import certificate_uri_text, token_uri
from .mask import mask_certificate, mask_failure, mask_report
from .text_parts import (
    BOLD_RED,
    GREEN,
    GUESSED_MARK,
    RED,
    YELLOW,
    Pieces,
    display_width,
    field,
    last_cn,
    pad,
    utc,
    utc_day,
    version,
)

__all__ = [
    "GUESSED_MARK",
    "LOGIN_WORDS",
    "display_width",
    "pad",
    "render_certificate_details",
    "render_files_text",
    "render_text",
]


_PIN_TEXT = {
    PinState.OK: (N_("ok"), ""),
    PinState.COUNT_LOW: (N_("WRONG PIN ENTERED since the last login"), YELLOW),
    PinState.FINAL_TRY: (N_("FINAL TRY (one more wrong PIN locks the token)"), BOLD_RED),
    PinState.LOCKED: (N_("LOCKED (only the token's issuer can unlock it)"), BOLD_RED),
    PinState.MUST_BE_CHANGED: (N_("must be changed"), YELLOW),
    PinState.USER_PIN_NOT_SET: (N_("not set"), YELLOW),
    PinState.NOT_INITIALISED: (N_("token not initialised"), YELLOW),
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
_RIGHT_ALIGNED = frozenset({"DAYS", "#"})
_GAP = "  "
_MAX_ID_BYTES = 8
_MAX_COLUMN = 64
"""Columns are padded to at most this many terminal columns."""
"""Longer CKA_ID values are cut to their first bytes plus "..." (the JSON has them whole)."""


def render_text(
    reports: Sequence[Report],
    *,
    color: bool,
    certificate_uris: bool = False,
    failures: Sequence[ModuleFailure] = (),
    show_personal_data: bool = False,
    details: bool = False,
    lang: str | None = None,
) -> str:
    """A listing of ``reports`` readable at a glance, ending in a one-line summary.

    With ``color`` statuses, PIN warnings and problem marks are coloured with ANSI
    escapes; without it the text holds no escape sequence at all. With
    ``certificate_uris`` each certificate's ``pkcs11:`` URI is shown under its row; with
    ``details`` its fingerprints, name attributes, holder and identity numbers. ID
    numbers are masked unless ``show_personal_data``. Reports with renewal advice
    (:func:`~ukeytool.advise`) get it under each certificate and a summary per token.
    ``lang``: ``"en"`` or ``"zh"`` (default: the current language, see
    :mod:`ukeytool.i18n`).
    """
    masked = False
    if not show_personal_data:
        shown = [mask_report(report) for report in reports]
        shown_failures = [mask_failure(failure) for failure in failures]
        masked = shown != list(reports) or shown_failures != list(failures)
        reports, failures = shown, shown_failures
    renderer = _Renderer(color, certificate_uris, details=details, masked=masked)
    with using(lang):
        return renderer.render(reports, failures)


def render_certificate_details(
    certificate: Certificate, *, indent: str = "", show_personal_data: bool = False
) -> str:
    """The details of one certificate as :func:`render_text` shows them with ``details``
    (fingerprints, name attributes, holder, identity numbers), with footnotes for guessed
    text; ID numbers masked unless ``show_personal_data``."""
    if not show_personal_data:
        certificate = mask_certificate(certificate)
    renderer = _Renderer(color=False, details=True)
    renderer.details(certificate, indent)
    if renderer.footnotes:
        renderer.lines.append("")
        renderer.lines.extend(renderer.footnotes.values())
    return "\n".join(renderer.lines) + "\n"


_MASKED_NOTE = N_(
    "Personal data masked: ID numbers are partly replaced by *; --show-personal-data shows them."
)


def render_files_text(
    files: Sequence[FileReport],
    *,
    color: bool,
    show_personal_data: bool = False,
    lang: str | None = None,
) -> str:
    """A listing of the certificates in ``files``, with the same rows as
    :func:`render_text` gives a token's certificates, numbered (``#``) by their position
    in the file, and ending in the same kind of summary line; personal data masked
    unless ``show_personal_data``."""
    from .mask import mask_file

    shown = list(files) if show_personal_data else [mask_file(report) for report in files]
    with using(lang):
        return _Renderer(color, masked=shown != list(files)).render_files(shown)


_FORMAT_NAMES = {"pem": "PEM", "der": "DER", "pkcs7": "PKCS#7", "pkcs12": "PKCS#12"}
_FILE_WIDE = frozenset({"file", "content", "password"})


class _Renderer(Pieces):
    # -- small pieces --------------------------------------------------------------

    # -- the listing ---------------------------------------------------------------

    def moment(self, at: datetime.datetime, warn_days: int) -> None:
        """The first line: when validity was judged, and what "expiring" means."""
        self.lines.append(
            _("Validity at {at} UTC; expiring = expires within {days} days").format(
                at=f"{utc(at):%Y-%m-%d %H:%M:%S}", days=warn_days
            )
        )

    def render(self, reports: Sequence[Report], failures: Sequence[ModuleFailure] = ()) -> str:
        if reports:
            self.moment(reports[0].at, reports[0].warn_days)
        else:
            self.lines.append(_("No modules inspected."))
        for failure in failures:
            self.lines.append("")
            self.lines.append(_("Module {path}").format(path=escape_control(failure.path)))
            self.lines.append(
                "  " + self.paint(f"! {escape_control(render(failure.message))}", RED)
            )
        for report in reports:
            self.lines.append("")
            self.module(report)
        self.notes()
        self.lines.append("")
        self.lines.append(self.summary(reports, failures))
        return "\n".join(self.lines) + "\n"

    def module(self, report: Report) -> None:
        module = report.module
        about = [
            part for part in (self.text(module.manufacturer), self.text(module.description)) if part
        ]
        about.append(_("version {version}").format(version=version(module.library_version)))
        about.append(f"PKCS#11 {version(module.cryptoki_version)}")
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
        if slot.login is not None:
            self.login(slot.login)
        if slot.certificates:
            self.table(slot.token, slot.certificates)
        elif slot.token is not None and slot.complete and not slot.problems:
            if not slot.token.initialized:
                pass  # the PIN line already says so; an uninitialised token holds nothing
            elif slot.logged_in:
                self.lines.append("    " + _("no certificates (logged in: private ones included)"))
            else:
                # Never absolute: certificates can be private objects, hidden until login.
                self.lines.append(
                    "    "
                    + _(
                        "no certificates visible without login (private certificates may be "
                        "hidden; --login shows them)"
                    )
                )
        if not slot.complete:
            self.lines.append(
                "    "
                + self.paint(
                    _(
                        "(certificate listing incomplete: certificates may be missing; "
                        "see the lines marked !)"
                    ),
                    YELLOW,
                )
            )
        if slot.advice is not None and (slot.certificates or slot.advice.pin_locked):
            self.token_advice(slot)

    def login(self, outcome: LoginOutcome) -> None:
        color = GREEN if outcome.logged_in else BOLD_RED
        from ..pkcs11.login import login_message

        word = self.paint(_(LOGIN_WORDS[outcome.state]), color)
        self.lines.append(f"  {word}: {escape_control(login_message(outcome))}")

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

    def table(
        self,
        token: TokenInfo | None,
        entries: Sequence[CertificateEntry],
        *,
        numbered: bool = False,
    ) -> None:
        """One row per certificate; ``numbered`` puts each one's handle (a file's
        position) first, under ``#``."""
        names = ("#", *_HEADERS) if numbered else _HEADERS
        headers = [_(h) for h in names]
        rows = [[str(entry.handle)] * numbered + self.row(entry) for entry in entries]
        # Each cell measured once (for its column's width and for its padding).
        sizes = [list(map(display_width, row)) for row in rows]
        header_sizes = list(map(display_width, headers))
        # A column is as wide as its widest cell, up to _MAX_COLUMN: a longer cell sticks
        # out of its row rather than widening every row (so the text stays linear in
        # what it shows; one 1 MB name once padded every row to 1 MB).
        widths = [
            max(header_sizes[i], *(min(size[i], _MAX_COLUMN) for size in sizes))
            for i in range(len(headers) - 1)
        ]
        right = [name in _RIGHT_ALIGNED for name in names[:-1]]

        def line(cells: Sequence[str], cell_sizes: Sequence[int], last: str) -> str:
            padded = [
                " " * (width - size) + cell if to_right else cell + " " * (width - size)
                for cell, size, width, to_right in zip(
                    cells, cell_sizes, widths, right, strict=True
                )
            ]
            padded.append(last)
            return "    " + _GAP.join(padded)

        self.lines.append(line(headers[:-1], header_sizes[:-1], headers[-1]))
        for entry, row, size in zip(entries, rows, sizes, strict=True):
            self.lines.append(line(row, size, self.status(entry)))
            if self.certificate_uris and not numbered:
                self.lines.append(f"      {certificate_uri_text(token, entry)}")
            self.relations(entry)
            if self.show_details and entry.certificate is not None:
                self.details(entry.certificate, "      ")
            for problem in entry.problems:
                self.problem(problem, "      ")
            if entry.certificate is not None:
                for problem in entry.certificate.problems:
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
            subject = field(cert.subject_cn if cert.subject_cn is not None else cert.subject)
            cn = last_cn(cert.subject_attributes)
            if cn is not None and cn.text.guessed and cn.value == cert.subject_cn:
                # Marked †, with its bytes in a footnote.
                subject = self.text(cn.text, claimed=cn.string_type)
            issuer = field(cert.issuer_cn if cert.issuer_cn is not None else cert.issuer)
            if cert.key_algorithm is not None:
                key = escape_control(cert.key_algorithm)
                if cert.key_size is not None and cert.key_algorithm not in ("Ed25519", "Ed448"):
                    key += f"-{cert.key_size}"
            if cert.not_after is not None:
                not_after = utc_day(cert.not_after)
        days = "-" if entry.days_left is None else str(entry.days_left)
        label = self.text(entry.label, empty="-")
        return [label, ident, subject, issuer, key, not_after, days]

    def summary(self, reports: Sequence[Report], failures: Sequence[ModuleFailure] = ()) -> str:
        text = self.counts(entry for report in reports for entry in report.certificates)
        if failures:
            n = len(failures)
            text += ngettext(
                "; {n} module could not be inspected", "; {n} modules could not be inspected", n
            ).format(n=n)
        text += _findings_summary(reports)
        if not all(report.complete for report in reports):
            text += _("; some things could not be read (lines marked !)")
        return text

    # -- relations and findings (docs/relations.md) ----------------------------------

    # -- certificate files ---------------------------------------------------------

    def notes(self) -> None:
        """The footnotes on decoded text and the note on masked personal data, after the
        listing (of tokens or of files) and before its summary."""
        if self.footnotes:
            self.lines.append("")
            self.lines.extend(self.footnotes.values())
        if self.masked:
            self.lines.append("")
            self.lines.append(_(_MASKED_NOTE))

    def render_files(self, files: Sequence[FileReport]) -> str:
        if files:
            self.moment(files[0].at, files[0].warn_days)
        else:
            self.lines.append(_("No files inspected."))
        for report in files:
            self.lines.append("")
            self.file(report)
        self.notes()
        self.lines.append("")
        text = self.counts(entry for report in files for entry in report.certificates)
        unopened = sum(not report.opened for report in files)
        if unopened:
            text += ngettext(
                "; {n} file could not be opened", "; {n} files could not be opened", unopened
            ).format(n=unopened)
        if not all(report.complete for report in files):
            text += _("; some things could not be read (lines marked !)")
        self.lines.append(text)
        return "\n".join(self.lines) + "\n"

    def file(self, report: FileReport) -> None:
        kind = _FORMAT_NAMES.get(report.format or "")
        self.lines.append(
            _("File {path}").format(path=escape_control(report.path))
            + (f"  ({kind})" if kind else "")
        )
        for problem in report.problems:
            # The file, its content as a whole, its password: the message says it all.
            self.problem(problem, "  ", located=problem.where not in _FILE_WIDE)
        if report.certificates:
            self.table(None, report.certificates, numbered=True)
        for key in report.keys:
            self.key(key)

    def key(self, key: FileKey) -> None:
        if key.algorithm:
            what = _("private key ({algorithm})").format(algorithm=escape_control(key.algorithm))
        else:
            what = _("private key")
        if key.certificates:
            numbers = ", ".join(f"#{n}" for n in key.certificates)
            belongs = ngettext(
                "for certificate {numbers}", "for certificates {numbers}", len(key.certificates)
            ).format(numbers=numbers)
        else:
            belongs = _("no certificate read from this file matches it")
        line = _("{what} at {location}: {belongs}").format(
            what=what, location=escape_control(render(key.location)), belongs=belongs
        )
        self.lines.append(f"  {line}")

    # -- renewal advice (present when the reports went through ukeytool.advise) ------

    def token_advice(self, slot: SlotReport) -> None:
        from ..judging.renewal import bank_message, token_advice_message

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
        color = BOLD_RED if advice.pin_locked else (RED if advice.needs_action else "")
        message = self.paint(token_advice_message(advice), color)
        self.lines.append("    " + _("advice: {message}").format(message=message))


# -- relations and findings ------------------------------------------------------------

# The outcome's message says "logged in" (or "already logged in") itself: said once.
LOGIN_WORDS = {
    LoginState.LOGGED_IN: N_("login"),
    LoginState.ALREADY_LOGGED_IN: N_("login"),
    LoginState.REFUSED: N_("login refused"),
    LoginState.FAILED: N_("login failed"),
}


def _findings_summary(reports: Sequence[Report]) -> str:
    """``"; 3 findings (1 critical, 2 warnings)"``, counting critical and warning ones."""
    counts = dict.fromkeys((Severity.CRITICAL, Severity.WARNING), 0)
    for report in reports:
        for entry in report.certificates:
            for finding in entry.findings:
                if finding.severity in counts:
                    counts[finding.severity] += 1
    total = sum(counts.values())
    if not total:
        return ""
    critical, warning = counts[Severity.CRITICAL], counts[Severity.WARNING]
    parts = [_("{n} critical").format(n=critical)] if critical else []
    if warning:
        parts.append(ngettext("{n} warning", "{n} warnings", warning).format(n=warning))
    return ngettext(
        "; {n} finding to act on ({parts})", "; {n} findings to act on ({parts})", total
    ).format(n=total, parts=_(", ").join(parts))
