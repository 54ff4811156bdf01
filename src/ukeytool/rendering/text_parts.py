"""The pieces a listing for people is made of, shared by token and file listings:
coloured words, text whose encoding was guessed (marked, with a footnote), problems,
and one certificate's status, details, relations, findings and renewal advice."""

from __future__ import annotations

import datetime
import operator
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..i18n import N_, _, ngettext, render
from ..i18n.message import Message
from ..model import (
    Advice,
    Certificate,
    CertificateEntry,
    CertificateLink,
    Finding,
    NameAttribute,
    PairLink,
    Problem,
    RenewalPhase,
    Role,
    Severity,
    Status,
)
from ..model.text import Text, escape_control
from .problem import says_code, says_where

__all__ = [
    "BOLD_RED",
    "GREEN",
    "GUESSED_MARK",
    "RED",
    "YELLOW",
    "Pieces",
    "display_width",
    "field",
    "last_cn",
    "pad",
    "utc",
    "utc_day",
    "version",
]


GUESSED_MARK = "†"
"""Appended to text whose encoding is a guess; a footnote gives its raw bytes."""


RED = "\x1b[31m"


YELLOW = "\x1b[33m"


GREEN = "\x1b[32m"


BOLD_RED = "\x1b[1;31m"


_RESET = "\x1b[0m"


_STATUS_COLOR = {
    Status.VALID: GREEN,
    Status.EXPIRING: YELLOW,
    Status.EXPIRED: RED,
    Status.NOT_YET_VALID: RED,
    Status.UNREADABLE: RED,
}


# Marked with N_() for translation; translated with _() where they are shown.
_STATUS_WORDS = {
    Status.VALID: N_("valid"),
    Status.EXPIRING: N_("expiring"),
    Status.EXPIRED: N_("expired"),
    Status.NOT_YET_VALID: N_("not yet valid"),
    Status.UNREADABLE: N_("unreadable"),
}


def display_width(text: str) -> int:
    """The number of terminal columns ``text`` takes.

    East Asian wide and fullwidth characters take two columns, combining marks and
    format characters none, everything else one.
    """
    if text.isascii() and text.isprintable():
        return len(text)  # the usual case, without a loop
    # Each character's width looked up in C (map over a dict); only a character not
    # seen before costs a Python call.
    return sum(map(_WIDTHS.__getitem__, text))


class _Widths(dict[str, int]):
    def __missing__(self, ch: str) -> int:
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            width = 0
        else:
            width = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        self[ch] = width
        return width


_WIDTHS = _Widths()


def pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` filled with blanks to ``width`` columns (on the left when ``right``)."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def last_cn(attributes: Sequence[NameAttribute] | None) -> NameAttribute | None:
    """The subject's last common name attribute (the one shown as its CN), if any."""
    for attribute in reversed(attributes or ()):
        if attribute.oid == "2.5.4.3":
            return attribute
    return None


def field(value: str | None) -> str:
    return "-" if value is None or value == "" else escape_control(value)


def utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is datetime.timezone.utc:
        return value  # the usual case: what the certificate readers give
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def utc_day(value: datetime.datetime) -> str:
    """The day of ``value`` in UTC, ``YYYY-MM-DD`` (as ``f"{utc(value):%Y-%m-%d}"`` writes
    it, without strftime's cost for every certificate)."""
    moment = utc(value)
    if moment.year >= 1000:  # strftime writes the years before 1000 without zeros
        return moment.date().isoformat()
    return f"{moment:%Y-%m-%d}"


def version(value: tuple[int, int]) -> str:
    return f"{value[0]}.{value[1]}"


_ROLE_WORDS = {
    Role.ROOT: N_("root CA"),
    Role.INTERMEDIATE: N_("intermediate CA"),
    Role.END_ENTITY: N_("end entity"),
    Role.SELF_SIGNED: N_("self-signed"),
    Role.UNKNOWN: "",
}


_LINK_WORDS = {"key_identifier": N_("key identifier"), "name": N_("name")}


# The certificate's name fields, where a problem with one of them happened (other fields
# keep the names the JSON gives them).
_FIELD_WORDS = {"subject": N_("subject"), "issuer": N_("issuer")}
_KEY_MATCH_WORDS = {"id": N_("CKA_ID"), "public_key": N_("public key")}


_SEVERITY_WORDS = {
    Severity.CRITICAL: N_("critical"),
    Severity.WARNING: N_("warning"),
    Severity.INFO: N_("info"),
}


def _label(text: str) -> str:
    """A details label padded to 12 columns (by display width)."""
    return pad(text, 12)


_FINDING_COLOR = {Severity.CRITICAL: BOLD_RED, Severity.WARNING: YELLOW, Severity.INFO: ""}


_ADVICE_WORDS: list[Callable[[Advice], str]] = []
"""judging.advice_text's advice_summary and advice_message, once imported (the renderers
import judging lazily: a listing without advice does not need it)."""


class Pieces:
    """The parts of a listing that a token's and a file's listing share; collects lines."""

    def __init__(
        self,
        color: bool,
        certificate_uris: bool = False,
        *,
        details: bool = False,
        masked: bool = False,
    ) -> None:
        self.color = color
        self.certificate_uris = certificate_uris
        self.show_details = details
        self.masked = masked
        self.lines: list[str] = []
        self.footnotes: dict[tuple[bytes, str], str] = {}
        # Lines made once and shown again for the next certificate that shares the same
        # (frozen) objects: the certificates of one issuer share its link, those without
        # key objects one key presence, a finding without parameters is one object
        # (judging.relations). Keyed by the objects' ids, the objects kept with the line
        # (so that an id is never taken for another object's).
        self._relation_lines: dict[tuple[Any, ...], tuple[tuple[Any, ...], str]] = {}
        self._finding_lines: dict[int, tuple[Finding, str]] = {}

    def paint(self, text: str, code: str) -> str:
        if not self.color or not code:
            return text
        return f"{code}{text}{_RESET}"

    def text(self, value: Text | None, *, empty: str = "", claimed: str = "UTF-8") -> str:
        """Escaped, marked when guessed (with a footnote), ``empty`` when None or blank.

        ``claimed`` is what the bytes should have been: UTF-8 for PKCS#11 strings, the
        string type for a name attribute."""
        if value is None:
            return empty
        shown = escape_control(value.value)
        if not value.guessed:
            return shown or empty
        key = (value.raw, value.encoding)
        if key not in self.footnotes:
            if value.encoding == "unknown":
                how = _(r"neither UTF-8 nor GB18030, undecodable bytes shown as \xNN")
            else:
                how = _("decoded as {encoding} (not valid {claimed})").format(
                    encoding=value.encoding.upper(), claimed=claimed
                )
            self.footnotes[key] = _("{mark} {text}: {how}; raw bytes: {hex}").format(
                mark=GUESSED_MARK, text=shown or _("(empty)"), how=how, hex=value.hex
            )
        return f"{shown}{GUESSED_MARK}"

    @staticmethod
    def where(where: Message | str) -> str:
        """A problem's place: a location message in the reader's language; a PKCS#11
        function or attribute as it is named; a certificate's name field in words."""
        if isinstance(where, Message):
            return where.render()
        return _(_FIELD_WORDS[where]) if where in _FIELD_WORDS else where

    def problem(self, problem: Problem, indent: str, *, located: bool = True) -> None:
        line = escape_control(render(problem.message))
        if located and not says_where(problem):
            where = escape_control(self.where(problem.where))
            line = _("{where}: {message}").format(where=where, message=line)
        name = problem.code_name
        number = None if problem.code is None else f"0x{problem.code:x}"
        if name and not says_code(problem):
            code = escape_control(name)
            if number:
                code = _("{code_name} ({number})").format(code_name=code, number=number)
            line = _("{message}: {code}").format(message=line, code=code)
        elif number:
            if name:
                line = _("{message} ({code_name})").format(message=line, code_name=number)
            else:
                line = _("{message}: CK_RV {number}").format(message=line, number=number)
        self.lines.append(f"{indent}{self.paint('!', BOLD_RED)} {line}")

    def status(self, entry: CertificateEntry) -> str:
        status = entry.status
        word = _(_STATUS_WORDS[status])
        # (Only an unreadable certificate has a reason: not asked of the others.)
        reason = entry.unreadable_reason if status is Status.UNREADABLE else None
        if reason is not None:
            # The reason is a problem's message, made in English: shown translated.
            reason = render(reason)
            word = _("{status}: {reason}").format(status=word, reason=escape_control(reason))
        return self.paint(word, _STATUS_COLOR[status])

    def details(self, cert: Certificate, indent: str) -> None:
        """Fingerprints, names attribute by attribute, holder and identity numbers."""
        self.lines.append(f"{indent}{_label('SHA-256')}  {cert.sha256}")
        self.lines.append(f"{indent}{_label('SHA-1')}  {cert.sha1}")
        if cert.sm3 is not None:
            self.lines.append(f"{indent}{_label('SM3')}  {cert.sm3}")
        for title, attributes in (
            (_("subject"), cert.subject_attributes),
            (_("issuer"), cert.issuer_attributes),
        ):
            if attributes is None:
                continue
            for i, attribute in enumerate(attributes):
                head = title if i == 0 else ""
                self.lines.append(f"{indent}{_label(head)}  {self.attribute(attribute)}")
        holder = cert.holder
        if holder is not None:
            letter = ""
            if holder.id_type is not None:
                # Words made in English where the certificate was read (codes in the JSON).
                meaning = _(holder.id_type_name) if holder.id_type_name else _("meaning unknown")
                letter = _("{letter} ({meaning}) ").format(
                    letter=escape_control(holder.id_type), meaning=escape_control(meaning)
                )
            empty = _("(empty)")
            line = _(
                "{kind} ({type_code}): {name}, {id_word} {letter}{number}, sequence {sequence}"
            )
            line = line.format(
                kind=_(holder.kind) if holder.kind else "",
                type_code=holder.type_code,
                name=escape_control(holder.name) or _("(no name)"),
                id_word=_("ID") if holder.type_code == "051" else _("code"),
                letter=letter,
                number=escape_control(holder.id_number) or empty,
                sequence=escape_control(holder.sequence) or empty,
            )
            head = _label(_("holder"))
            self.lines.append(f"{indent}{head}  {line}")
        for number in cert.identity_numbers:
            what = _(number.meaning) if number.meaning else ""
            if number.id_kind:
                what = _("{meaning} ({kind})").format(meaning=what, kind=_(number.id_kind))
            if number.number is None:
                value = _("(not readable; raw bytes {hex})").format(
                    hex=number.raw.hex() or _("none")
                )
            else:
                claimed = number.string_type or "UTF-8"
                value = self.text(number.number, empty=_("(empty)"), claimed=claimed)
            head = _label(_("extension"))
            self.lines.append(f"{indent}{head}  {number.oid} {what}: {value}")

    def attribute(self, attribute: NameAttribute) -> str:
        value = self.text(attribute.text, empty=_("(empty)"), claimed=attribute.string_type)
        if attribute.decoding == "not_a_string":
            value = escape_control(attribute.value)
        return f"{escape_control(attribute.name)}={value}  ({attribute.string_type})"

    def relations(self, entry: CertificateEntry) -> None:
        """A line saying what the certificate is on its token, then one per finding."""
        objects = (entry.issued_by, entry.pair, entry.key_on_token)
        key = (entry.role, entry.location is None, *map(id, objects))
        known = self._relation_lines.get(key)
        if known is not None and all(map(operator.is_, known[0], objects)):
            line = known[1]
        else:
            line = self._relation_line(entry)
            self._relation_lines[key] = (objects, line)
        if line:
            self.lines.append(line)
        for finding in entry.findings:
            said = self._finding_lines.get(id(finding))
            if said is None or said[0] is not finding:
                said = self._finding_lines[id(finding)] = (finding, self._finding_line(finding))
            self.lines.append(said[1])

    def _finding_line(self, finding: Finding) -> str:
        color = _FINDING_COLOR[finding.severity]
        mark = self.paint(f"[{_(_SEVERITY_WORDS[finding.severity])}]", color)
        # As judging.relations.finding_message says it, without importing it here.
        message = escape_control(render(finding.message))
        return f"      {mark} {finding.code}: {message}"

    def _relation_line(self, entry: CertificateEntry) -> str:
        """What the certificate is on its token ("" when there is nothing to say)."""
        role = _ROLE_WORDS.get(entry.role, "") if entry.role is not None else ""
        words = [_(role) if role else ""]
        if entry.issued_by is not None:
            by = entry.issued_by.by
            how = _(_LINK_WORDS[by]) if by in _LINK_WORDS else by
            words.append(
                _("issued by {issuer} ({how})").format(issuer=self.link(entry.issued_by), how=how)
            )
        elif entry.role in (Role.INTERMEDIATE, Role.END_ENTITY):
            words.append(
                _("issuer not in this file")
                if entry.location is not None
                else _("issuer not on this token")
            )
        parts = [_(", ").join(word for word in words if word)]
        if entry.pair is not None:
            parts.append(self.pair(entry.pair))
        key = self.key_presence(entry)
        if key:
            parts.append(key)
        if any(parts):
            return "      " + _("; ").join(part for part in parts if part)
        return ""

    def link(self, link: CertificateLink) -> str:
        name = self.text(link.label)
        if not name:
            name = (
                escape_control(link.subject_cn)
                if link.subject_cn
                else _("object {handle}").format(handle=link.handle)
            )
        return f'"{name}"'

    def pair(self, pair: PairLink) -> str:
        if pair.usage == "signing":
            text = _("SM2 signing half, paired with {partner}")
        elif pair.usage == "encryption":
            text = _("SM2 encryption half, paired with {partner}")
        else:
            text = f"SM2 {pair.usage} half, paired with {{partner}}"
        text = text.format(partner=self.link(pair.partner))
        if pair.not_after is not None:
            date = utc_day(pair.not_after)
            if pair.days_left is None:
                note = _("(pair expires {date})").format(date=date)
            else:
                note = _("(pair expires {date}, {n} days)").format(date=date, n=pair.days_left)
            # Translators: a sentence and the note in brackets after it.
            text = _("{text} {note}").format(text=text, note=note)
        return text

    def key_presence(self, entry: CertificateEntry) -> str | None:
        presence = entry.key_on_token
        if presence is None:
            return None
        if entry.role in (Role.ROOT, Role.INTERMEDIATE, Role.UNKNOWN) and not presence.matches:
            return None  # CA certificates rarely come with their key; no need to say so
        if entry.location is not None:  # a certificate from a file: its keys are the file's
            if presence.state == "yes":  # (the key's own line says where it is)
                return _("key: yes (its private key is in the file)")
            if presence.state == "no":
                return _("key: no (no private key in the file belongs to it)")
            return _("key: unknown (a key in the file could not be tied to a certificate)")
        if presence.state == "yes":
            match = presence.matches[0]
            how = _(" and ").join(
                _(_KEY_MATCH_WORDS[b]) if b in _KEY_MATCH_WORDS else b for b in match.by
            )
            if match.key_class == "private":
                return _("key: yes (private key, same {how})").format(how=how)
            if presence.private_key == "unknown":
                # As the JSON says: the public key object is there, the private key unknown.
                if not presence.search_finished:
                    return _(
                        "key: yes (public key object, same {how}); "
                        "private key: unknown (key search incomplete)"
                    ).format(how=how)
                return _(
                    "key: yes (public key object, same {how}); private key: unknown (not logged in)"
                ).format(how=how)
            return _("key: yes (public key object, same {how})").format(how=how)
        if presence.state == "no":
            return _("key: no (no private key after login)")
        if not presence.search_finished:
            return _("key: unknown (key search incomplete)")
        return _("key: unknown (not logged in)")

    def certificate_advice(self, entry: CertificateEntry) -> None:
        words = _ADVICE_WORDS
        if not words:
            # Imported at the first certificate with advice, not once per certificate.
            from ..judging.advice_text import advice_message, advice_summary

            words.extend((advice_summary, advice_message))
        advice = entry.advice
        assert advice is not None
        color = RED if advice.needs_action else ""
        summary = self.paint(words[0](advice), color)
        self.lines.append("      " + _("renewal: {summary}").format(summary=summary))
        if advice.phase not in (RenewalPhase.NOT_BANK_CERTIFICATE, RenewalPhase.NO_DATES):
            self.lines.append("        " + words[1](advice))

    def counts(self, entries: Iterable[CertificateEntry]) -> str:
        """``N certificates: n1 valid, n2 expired...``."""
        counts = dict.fromkeys(Status, 0)
        for entry in entries:
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
        return text
