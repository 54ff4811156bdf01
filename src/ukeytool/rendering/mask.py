"""Masking personal data in names before they are shown, logged or exported as metrics.

Certificates on Chinese banking keys carry the holder's ID-card number in the subject,
e.g. ``CN=051@张三@Z11010519491231002X@0001`` (CFCA's personal format: ``051``, the
name, an ID-type letter and the ID number, a sequence number). An ID-card number is
sensitive personal information and has no business in a monitoring system or a log.
:func:`mask_personal` is a default-on safety net that every output passes its text
through: the check verdicts and the Prometheus metrics string by string, the text and
JSON listings through :func:`mask_report`, a masked copy of the whole report (labels and
their raw bytes, names whole and per attribute, :class:`~ukeytool.Holder` fields,
:class:`~ukeytool.IdentityNumber` values, URIs, messages). The model itself keeps the
true values for library users; ``--show-personal-data`` (``show_personal_data=True``
for the renderers) turns masking off where a person needs the number.

What is masked, keeping the first 3 and the last 4 characters and replacing the middle
with ``*`` (the length is kept, so columns stay lined up)::

    051@张三@Z11010519491231002X@0001  ->  051@张三@Z110***********002X@0001
    holder 110105491231002 (old card)  ->  holder 110********1002

* In a CFCA personal name ``051@<name>@<type letter><number>@<seq>`` the number is
  always masked, whatever its type letter (``Z`` ID card, ``P`` passport...): numbers
  shorter than 15 characters are masked completely, as 3 + 4 kept characters would
  give most of a short number away.
* Anywhere else, including the code field of a CFCA organisation name
  ``041@<code>@<company>@<seq>``, a number is masked when it has the shape of a Chinese
  ID-card number: 18 characters (17 digits and a check digit or ``X``) or the old 15
  digits, a region code not starting with 0, and a plausible birth date (month 01-12,
  day 01-31; years 18xx-20xx for the 18-character form), with no further digit
  directly before or after it. The check digit is not verified, so a mistyped number
  is masked too. Organisation codes (unified social credit codes, with letters or
  without a birth date inside) are public and kept.
* Full-width digits and ``Ｘ`` count as their ASCII forms.

Identity numbers from extensions are masked by their meaning, not their shape: a
person's (identity code, social insurance number, or a number of unknown meaning) always,
an organisation's (organisation code, business registration or tax number) only when it
has the shape of an ID-card number. A CFCA holder's ID number is always masked.

Names are kept: telling whose key it is is what a listing is for. Hex serial numbers
and CKA_ID values are not passed through here (they are not personal data, and a
masked serial could make two certificates look alike).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any, TypeVar

from ..i18n.message import Message, Param
from ..model import (
    Advice,
    Certificate,
    CertificateEntry,
    CertificateLink,
    FileReport,
    IdentityNumber,
    ModuleFailure,
    NameAttribute,
    Problem,
    Report,
    SlotReport,
    TokenAdvice,
)
from ..model._value import replace
from ..model.text import Text

__all__ = [
    "mask_certificate",
    "mask_failure",
    "mask_file",
    "mask_number",
    "mask_optional",
    "mask_personal",
    "mask_report",
    "mask_text",
]

MASK_CHAR = "*"
_KEEP_HEAD = 3
_KEEP_TAIL = 4
_MIN_PARTIAL = 15
"""Numbers shorter than this are masked completely."""

_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_ID18 = rf"[1-9][0-9]{{5}}(?:18|19|20)[0-9]{{2}}{_DATE}[0-9]{{3}}[0-9Xx]"
_ID15 = rf"[1-9][0-9]{{5}}[0-9]{{2}}{_DATE}[0-9]{{3}}"
_BARE_ID = re.compile(rf"(?<![0-9])(?:{_ID18}|{_ID15})(?![0-9])")
_CFCA_PERSON = re.compile(
    # "*" belongs to the number, so that masking masked text changes nothing.
    r"(?<![0-9A-Za-z])051@[^@,;+=\n]*@[A-Za-z]?(?P<number>[0-9A-Za-z*]+)(?![0-9A-Za-z*])"
)

# Full-width digits and X map one character to one character, so offsets found in the
# folded text are offsets in the original.
# What either pattern needs before folding: "051@" or 15 digits in a row, ASCII or
# full-width. Most text has neither, and is given back after this one search.
_MAYBE_PERSONAL = re.compile("[0\uff10][5\uff15][1\uff11]@|[0-9\uff10-\uff19]{15}")
_FOLD = str.maketrans(
    {**{0xFF10 + i: str(i) for i in range(10)}, 0xFF38: "X", 0xFF58: "x"}  # ０-９, Ｘ, ｘ
)


def mask_number(number: str) -> str:
    """``number`` with all but its first 3 and last 4 characters replaced by ``*``;
    completely replaced when it is shorter than 15 characters."""
    if len(number) < _MIN_PARTIAL:
        return MASK_CHAR * len(number)
    middle = len(number) - _KEEP_HEAD - _KEEP_TAIL
    return number[:_KEEP_HEAD] + MASK_CHAR * middle + number[-_KEEP_TAIL:]


def mask_personal(text: str) -> str:
    """``text`` with ID-card numbers masked (see the module documentation for the rules)."""
    if _MAYBE_PERSONAL.search(text) is None:
        return text
    folded = text.translate(_FOLD)
    spans = [m.span("number") for m in _CFCA_PERSON.finditer(folded)]
    spans.extend(
        m.span()
        for m in _BARE_ID.finditer(folded)
        if not any(start <= m.start() < end for start, end in spans)
    )
    if not spans:
        return text
    out = []
    last = 0
    for start, end in sorted(spans):
        out.append(text[last:start])
        out.append(mask_number(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_optional(text: str | None, *, show_personal_data: bool) -> str | None:
    """:func:`mask_personal` for a value that may be None, unless ``show_personal_data``."""
    if text is None or show_personal_data:
        return text
    return mask_personal(text)


# -- masked copies of the model, for renderers ------------------------------------------
#
# Most values hold no personal data: every function below gives back the very object it
# was given when masking changed nothing in it, and _copy copies only what changed (a
# dataclass copy of a certificate costs more than masking it).

_T = TypeVar("_T")
_V = TypeVar("_V")


def _copy(obj: _T, **changes: Any) -> _T:
    """``obj`` itself when every change is the value it holds already, else a copy."""
    held = obj.__dict__  # a value class's fields (read without a getattr each)
    for name, value in changes.items():
        if value is not held[name]:
            return replace(obj, **changes)
    return obj


def _same(new: tuple[_T, ...], old: tuple[_T, ...]) -> tuple[_T, ...]:
    """``old`` when ``new`` holds the same objects, else ``new``."""
    if len(new) == len(old) and all(map(operator.is_, new, old)):
        return old
    return new


_REVERSIBLE = frozenset({"utf-8", "gb18030", "ascii", "utf-16-be", "utf-32-be"})


def mask_text(text: Text) -> Text:
    """``text`` with ID numbers masked in its value and in its raw bytes alike.

    The raw bytes are the masked value encoded as the bytes were decoded (the masked
    characters become ``*`` in that encoding), so a hex dump shows no more than the text;
    for undecodable bytes, every byte is read as one character and masked as such.
    """
    value = mask_personal(text.value)
    if value == text.value and text.encoding in _REVERSIBLE:
        return text
    return _with_value(text, value)


def _with_value(text: Text, value: str) -> Text:
    if text.encoding in _REVERSIBLE:
        try:
            raw = value.encode(text.encoding) + _nul_padding(text)
        except UnicodeEncodeError:
            raw = _mask_bytes(text.raw)
    else:
        raw = _mask_bytes(text.raw)
    if raw == text.raw and value == text.value:
        return text
    return replace(text, raw=raw, value=value)


def _nul_padding(text: Text) -> bytes:
    # A token field's NUL padding (kept in the raw bytes, not in the value) stays.
    content = text.raw.rstrip(b"\x00")
    return b"" if text.value.endswith("\x00") else text.raw[len(content) :]


def _mask_bytes(raw: bytes) -> bytes:
    # Latin-1 maps each byte to one character and back, so offsets stay byte offsets.
    text = raw.decode("latin-1")
    masked = mask_personal(text)
    return raw if masked is text else masked.encode("latin-1")


def mask_certificate(certificate: Certificate) -> Certificate:
    """A copy of ``certificate`` with personal data masked in every field that can hold
    it: names (whole and per attribute, values and raw bytes), the holder's ID number,
    identity numbers from extensions, the error and the problems. Fingerprints, serial
    and the DER are kept (the DER is never shown)."""
    holder = certificate.holder
    if holder is not None:
        # A person's number is masked whatever its shape; an organisation's code only
        # when it has the shape of an ID-card number.
        number = holder.id_number
        masked = mask_number(number) if holder.type_code == "051" else mask_personal(number)
        if masked != number:
            holder = replace(holder, id_number=masked)
    numbers = certificate.identity_numbers
    # The usual case: nothing to mask, and the certificate itself comes back (a copy
    # costs more than masking it).
    return _copy(
        certificate,
        subject=_name(certificate.subject),
        subject_cn=_optional(certificate.subject_cn),
        issuer=_issuer_name(certificate.issuer),
        issuer_cn=_issuer_name(certificate.issuer_cn, cn=True),
        subject_attributes=_attributes(certificate.subject_attributes),
        issuer_attributes=_issuer_attributes(certificate.issuer_attributes),
        holder=holder,
        identity_numbers=_same(tuple(map(_identity, numbers)), numbers) if numbers else numbers,
        error=_optional_message(certificate.error),
        problems=_problems(certificate.problems),
    )


# The certificates of a token mostly share one issuer: its name is masked once. Keyed by
# the text, or for the attributes by the tuple's identity (the reader gives the
# certificates of one issuer the same tuple), the tuple kept so its id stays its own.
# Bounded: emptied when full.
_ISSUER_NAMES: dict[tuple[str, bool], str] = {}
_ISSUER_ATTRIBUTES: dict[
    int, tuple[tuple[NameAttribute, ...], tuple[NameAttribute, ...] | None]
] = {}
_MEMO_MAX = 256


def _issuer_name(text: str | None, *, cn: bool = False) -> str | None:
    if text is None:
        return None
    key = (text, cn)
    masked = _ISSUER_NAMES.get(key)
    if masked is None:
        if len(_ISSUER_NAMES) >= _MEMO_MAX:
            _ISSUER_NAMES.clear()
        masked = mask_personal(text) if cn else _name(text) or ""
        _ISSUER_NAMES[key] = masked
    # This certificate's own string when nothing changed: _copy then copies nothing.
    return text if masked == text else masked


def _issuer_attributes(
    attributes: tuple[NameAttribute, ...] | None,
) -> tuple[NameAttribute, ...] | None:
    if attributes is None:
        return None
    return _by_identity(_ISSUER_ATTRIBUTES, attributes, _attributes)


def _by_identity(memo: dict[int, tuple[_T, _V]], value: _T, make: Callable[[_T], _V]) -> _V:
    """``make(value)``, made once for the same object: ``memo`` keeps it by the object's
    identity, with the object (so that its id stays its own). Emptied when full."""
    kept = memo.get(id(value))
    if kept is not None and kept[0] is value:
        return kept[1]
    made = make(value)
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[id(value)] = (value, made)
    return made


def _optional(text: str | None) -> str | None:
    return None if text is None else mask_personal(text)


def _optional_message(message: Message | None) -> Message | None:
    return None if message is None else mask_message(message)


def mask_message(message: Message) -> Message:
    """``message`` with ID-card numbers masked in its text parameters (a message's own
    words hold none), nested messages and lists included."""
    params = message.params
    if not params:
        return message
    masked = tuple((k, _mask_param(v)) for k, v in params)
    if all(new[1] is old[1] for new, old in zip(masked, params, strict=True)):
        return message
    return Message(message.template, masked)


def _mask_param(value: Param) -> Param:
    if isinstance(value, tuple):
        return _same(tuple(_mask_item(item) for item in value), value)
    return _mask_item(value)


def _mask_item(value: str | int | Message) -> str | int | Message:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return mask_personal(value)
    return mask_message(value)


_HEX_VALUE = re.compile(r"#((?:[0-9A-Fa-f]{2})+)")


def _name(text: str | None) -> str | None:
    """An RFC 4514 name masked, including values written as ``#<hex>`` of their
    encoding (attribute values that are not strings), whose bytes are masked."""
    if text is None:
        return None
    masked = mask_personal(text)
    if "#" not in masked:
        return masked
    hex_masked = _HEX_VALUE.sub(
        lambda m: "#" + _mask_bytes(bytes.fromhex(m.group(1))).hex(), masked
    )
    return text if hex_masked == text else hex_masked


def _attributes(
    attributes: tuple[NameAttribute, ...] | None,
) -> tuple[NameAttribute, ...] | None:
    if attributes is None:
        return None
    out = []
    changed = False
    for attribute in attributes:
        text = attribute.text
        if attribute.decoding == "not_a_string":
            # "#<hex>" of the whole encoding: masked in the bytes, then shown again.
            raw = _mask_bytes(text.raw)
            value = "#" + raw.hex()
            if raw is not text.raw or value != text.value:
                text = replace(text, raw=raw, value=value)
        else:
            text = mask_text(text)
        if text is attribute.text:
            out.append(attribute)
        else:
            out.append(replace(attribute, text=text))
            changed = True
    return tuple(out) if changed else attributes


def _identity(number: IdentityNumber) -> IdentityNumber:
    text = number.number
    if text is None:
        return replace(number, raw=_mask_bytes(number.raw))
    value = mask_number(text.value) if number.personal else mask_personal(text.value)
    masked = _with_value(text, value)
    raw = number.raw
    if text.raw and masked.raw != text.raw:
        raw = raw.replace(text.raw, masked.raw)
    return replace(number, number=masked, raw=_mask_bytes(raw))


def _problems(problems: tuple[Problem, ...]) -> tuple[Problem, ...]:
    if not problems:
        return problems
    return _same(tuple(_copy(p, message=mask_message(p.message)) for p in problems), problems)


def mask_report(report: Report) -> Report:
    """A copy of ``report`` with personal data masked everywhere it can appear: token and
    object labels (and so the ``pkcs11:`` URIs made from them), module and slot strings,
    certificates (:func:`mask_certificate`) and problem messages.

    Token serial numbers and CKA_ID values are kept: they identify keys, and are not
    personal data. The report given is not changed; the library's own values always hold
    the true data, and renderers mask only what they show.
    """
    module = report.module
    return replace(
        report,
        module=replace(
            module,
            path=mask_personal(module.path),
            real_path=mask_personal(module.real_path),
            manufacturer=mask_text(module.manufacturer),
            description=mask_text(module.description),
        ),
        slots=tuple(_slot(slot) for slot in report.slots),
        problems=_problems(report.problems),
    )


def _slot(slot: SlotReport) -> SlotReport:
    token = slot.token
    if token is not None:
        token = replace(
            token,
            label=mask_text(token.label),
            manufacturer=mask_text(token.manufacturer),
            model=mask_text(token.model),
        )
    return replace(
        slot,
        slot=replace(
            slot.slot,
            description=mask_text(slot.slot.description),
            manufacturer=mask_text(slot.slot.manufacturer),
        ),
        token=token,
        certificates=tuple(_entry(entry) for entry in slot.certificates),
        problems=_problems(slot.problems),
        keys=tuple(
            replace(
                key,
                label=None if key.label is None else mask_text(key.label),
                problems=_problems(key.problems),
            )
            for key in slot.keys
        ),
        login=None
        if slot.login is None
        else replace(slot.login, message=mask_message(slot.login.message)),
        advice=None if slot.advice is None else _token_advice(slot.advice),
    )


def _entry(entry: CertificateEntry) -> CertificateEntry:
    entry = _copy(
        entry,
        label=None if entry.label is None else mask_text(entry.label),
        certificate=None if entry.certificate is None else mask_certificate(entry.certificate),
        problems=_problems(entry.problems),
        advice=None if entry.advice is None else _advice(entry.advice),
    )
    return _relations(entry)


def _advice(advice: Advice) -> Advice:
    """Advice names what decided the bank (an issuer name can hold an ID number)."""
    bank = advice.bank
    # The certificates of one issuer share one choice (renewal.choose_bank's memo), and
    # its evidence is the issuer's name: masked once (see _issuer_name).
    return _copy(advice, bank=_copy(bank, evidence=_issuer_name(bank.evidence, cn=True)))


def _token_advice(advice: TokenAdvice) -> TokenAdvice:
    return replace(
        advice,
        certificate_label=_optional(advice.certificate_label),
        advice=None if advice.advice is None else _advice(advice.advice),
    )


def _relations(entry: CertificateEntry) -> CertificateEntry:
    """The relations' copies of other objects' labels and names, and the findings'
    messages (which may name an issuer), masked like the rest (docs/relations.md)."""
    pair = entry.pair
    presence = entry.key_on_token
    if presence is not None and presence.matches:
        presence = _copy(
            presence,
            matches=_same(
                tuple(
                    _copy(m, label=None if m.label is None else mask_text(m.label))
                    for m in presence.matches
                ),
                presence.matches,
            ),
        )
    findings = entry.findings
    if findings:
        masked = tuple(_copy(f, message=mask_message(f.message)) for f in findings)
        findings = _same(masked, findings)
    return _copy(
        entry,
        issued_by=None if entry.issued_by is None else _link(entry.issued_by),
        pair=None if pair is None else _copy(pair, partner=_link(pair.partner)),
        key_on_token=presence,
        findings=findings,
    )


# The certificates of one issuer share one link to it (judging.relations): masked once,
# kept by the link's identity (the link kept so its id stays its own). Bounded.
_LINKS: dict[int, tuple[CertificateLink, CertificateLink]] = {}


def _link(link: CertificateLink) -> CertificateLink:
    return _by_identity(_LINKS, link, _mask_link)


def _mask_link(link: CertificateLink) -> CertificateLink:
    return _copy(
        link,
        label=None if link.label is None else mask_text(link.label),
        subject_cn=_optional(link.subject_cn),
    )


def mask_failure(failure: ModuleFailure) -> ModuleFailure:
    """A copy of ``failure`` with personal data masked in its path and message."""
    return replace(failure, path=mask_personal(failure.path), message=mask_message(failure.message))


def mask_file(report: FileReport) -> FileReport:
    """A copy of a file's report with personal data masked as :func:`mask_report` masks a
    token's: the path, certificate labels (PKCS#12 friendlyNames), the certificates and
    the problem messages."""
    return replace(
        report,
        path=mask_personal(report.path),
        certificates=tuple(_entry(entry) for entry in report.certificates),
        problems=_problems(report.problems),
    )
