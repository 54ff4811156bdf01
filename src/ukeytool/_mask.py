"""Masking personal data in names before they are shown, logged or exported as metrics.

Certificates on Chinese banking keys carry the holder's ID-card number in the subject,
e.g. ``CN=051@张三@Z11010519491231002X@0001`` (CFCA's personal format: ``051``, the
name, an ID-type letter and the ID number, a sequence number). An ID-card number is
sensitive personal information and has no business in a monitoring system or a log.
:func:`mask_personal` is a default-on safety net that the check verdicts and the
Prometheus metrics pass every certificate name and label through; a later
``--show-personal-data`` option will turn it off where a person needs the number.

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

Names are kept: telling whose key it is is what a listing is for. Hex serial numbers
and CKA_ID values are not passed through here (they are not personal data, and a
masked serial could make two certificates look alike).
"""

from __future__ import annotations

import re

__all__ = ["mask_number", "mask_personal"]

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
