"""A reader of gettext ``.po`` files and a writer of ``.mo`` bytes (no build step)."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Final

__all__ = ["PoError", "compile_mo", "parse_po"]


class PoError(ValueError):
    """A ``.po`` file this reader cannot read; the message names the line."""


_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_ESCAPES_MORE: Final = {"f": "\f", "v": "\v"}


def _unquote(text: str, line: int) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise PoError(f"line {line}: expected a quoted string, found {text!r}")
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while True:
        # The text up to the next backslash is taken whole (most strings have none).
        escape = body.find("\\", i)
        plain = body[i:] if escape < 0 else body[i:escape]
        if '"' in plain:
            raise PoError(f'line {line}: unescaped " inside a string')
        out.append(plain)
        if escape < 0:
            return "".join(out)
        if escape + 1 >= len(body):
            raise PoError(f"line {line}: a string ends in a lone backslash")
        nxt = body[escape + 1]
        if nxt in _ESCAPES or nxt in _ESCAPES_MORE:
            out.append(_ESCAPES.get(nxt) or _ESCAPES_MORE[nxt])
            i = escape + 2
        elif nxt in "01234567":
            octal = nxt
            for d in body[escape + 2 : escape + 4]:
                if d not in "01234567":
                    break
                octal += d
            out.append(chr(int(octal, 8)))
            i = escape + 1 + len(octal)
        else:
            raise PoError(f"line {line}: unknown escape \\{nxt}")


def parse_po(text: str) -> dict[str | tuple[str, str], str | list[str]]:
    """The translated entries of a ``.po`` file.

    Keys are the msgid, or ``(msgid, msgid_plural)`` for a plural entry (whose value is
    the list of ``msgstr[n]``), each prefixed with ``msgctxt + "\\x04"`` when it has a
    context. The header is the entry with msgid ``""``. Entries marked ``fuzzy``, with
    an empty translation, or obsolete (``#~``) are left out, as ``msgfmt`` leaves them
    out. Raises :class:`PoError` for what it cannot read.
    """
    entries: dict[str | tuple[str, str], str | list[str]] = {}
    fields: dict[str, str] = {}
    plural_forms: dict[int, str] = {}
    flags: set[str] = set()
    current: str | None = None  # the keyword the next continuation line belongs to
    start = 0

    def finish() -> None:
        nonlocal fields, plural_forms, flags, current
        if "msgid" in fields:
            _add_entry(entries, fields, plural_forms, flags, start)
        elif fields or plural_forms:
            raise PoError(f"line {start}: an entry without msgid")
        fields, plural_forms, flags, current = {}, {}, set(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue  # as for msgfmt, blank lines are only white space
        if line.startswith("#"):
            if current is not None and ("msgstr" in fields or plural_forms):
                finish()
            if line.startswith("#,"):
                flags.update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith('"'):
            if current is None:
                raise PoError(f"line {number}: a string outside an entry")
            value = _unquote(line, number)
            if current.startswith("msgstr["):
                index = int(current[7:-1])
                plural_forms[index] += value
            else:
                fields[current] += value
            continue
        keyword, _sep, rest = line.partition(" ")
        rest = rest.strip()
        if keyword in ("msgctxt", "msgid") and ("msgstr" in fields or plural_forms):
            finish()
        if not fields and not plural_forms:
            start = number
        if keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
            if keyword in fields:
                raise PoError(f"line {number}: {keyword} twice in one entry")
            fields[keyword] = _unquote(rest, number)
            current = keyword
        elif keyword.startswith("msgstr[") and keyword.endswith("]"):
            try:
                index = int(keyword[7:-1])
            except ValueError:
                raise PoError(f"line {number}: bad plural index in {keyword}") from None
            plural_forms[index] = _unquote(rest, number)
            current = keyword
        else:
            raise PoError(f"line {number}: unknown keyword {keyword!r}")
    finish()
    return entries


def _add_entry(
    entries: dict[str | tuple[str, str], str | list[str]],
    fields: dict[str, str],
    plural_forms: dict[int, str],
    flags: set[str],
    start: int,
) -> None:
    msgid = fields["msgid"]
    prefix = fields["msgctxt"] + "\x04" if "msgctxt" in fields else ""
    if "msgid_plural" in fields:
        if "msgstr" in fields or not plural_forms:
            raise PoError(f"line {start}: a plural entry needs msgstr[0], msgstr[1]...")
        if sorted(plural_forms) != list(range(len(plural_forms))):
            raise PoError(f"line {start}: plural forms must be msgstr[0], msgstr[1]...")
        forms = [plural_forms[i] for i in range(len(plural_forms))]
        if "fuzzy" in flags or not all(forms):
            return
        entries[(prefix + msgid, fields["msgid_plural"])] = forms
        return
    if plural_forms or "msgstr" not in fields:
        raise PoError(f"line {start}: an entry needs exactly one msgstr")
    # The header (msgid "") is kept even when fuzzy-free rules would drop it: gettext
    # reads the charset and plural forms from it.
    if msgid and ("fuzzy" in flags or not fields["msgstr"]):
        return
    entries[prefix + msgid] = fields["msgstr"]


def compile_mo(catalogue: Mapping[str | tuple[str, str], str | list[str]]) -> bytes:
    """The GNU ``.mo`` file for ``catalogue`` (as :func:`parse_po` returns it), UTF-8,
    without a hash table (which :mod:`gettext` does not use)."""
    pairs: list[tuple[bytes, bytes]] = []
    for key, value in catalogue.items():
        msgid = key[0] + "\x00" + key[1] if isinstance(key, tuple) else key
        msgstr = "\x00".join(value) if isinstance(value, list) else value
        pairs.append((msgid.encode("utf-8"), msgstr.encode("utf-8")))
    pairs.sort()
    count = len(pairs)
    header_size = 7 * 4
    originals_at = header_size
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    table_o: list[int] = []
    table_t: list[int] = []
    data = bytearray()
    for original, _translated in pairs:
        table_o.extend((len(original), data_at + len(data)))
        data += original + b"\x00"
    for _original, translated in pairs:
        table_t.extend((len(translated), data_at + len(data)))
        data += translated + b"\x00"
    head = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, 0)
    tables = struct.pack(f"<{4 * count}I", *table_o, *table_t)
    return head + tables + bytes(data)
