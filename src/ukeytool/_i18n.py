"""Messages in the user's language: English (the source text) and Simplified Chinese.

The standard :mod:`gettext` machinery, with one difference in how the catalogue reaches
it: the translator's file, ``locale/zh_CN/LC_MESSAGES/ukeytool.po``, is shipped as it is
and read at run time. :func:`parse_po` reads it and :func:`compile_mo` turns it into the
bytes of a ``.mo`` file, which :class:`gettext.GNUTranslations` loads as usual (plural
forms included). So there is no build step, no binary file in the repository, and a
translator's edit shows the next time ukeytool runs; ``msgfmt --check`` accepts the same
file (the tests compare both). Why, at more length: docs/development.md.

Marking strings, as xgettext expects them::

    _("expired")                          # translated where it is called
    N_("expired")                         # only marked; translate later with _(...)
    ngettext("{n} certificate", "{n} certificates", n)
    pgettext("list", ", ")                # with a context, where one text means two things

Placeholders are named ``{name}`` fields filled with :meth:`str.format` after the
lookup, so a translation may put them in another order.

The language is per context (a :class:`contextvars.ContextVar`): English unless
:func:`set_language` or :func:`using` says otherwise; the CLI chooses it from
``--lang`` or the locale (:func:`language_from_env`). The JSON keeps English keys and
codes in every language; only its human sentences follow the language.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext
import os
import re
import struct
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Final

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "N_",
    "PoError",
    "_",
    "compile_mo",
    "get_language",
    "language_from_env",
    "ngettext",
    "normalize_language",
    "parse_po",
    "pgettext",
    "retranslate",
    "set_language",
    "translations",
    "using",
]

DOMAIN: Final = "ukeytool"
"""The gettext domain: the catalogue is ``locale/<locale>/LC_MESSAGES/ukeytool.po``."""
LANGUAGES: Final = ("en", "zh")
"""The languages ukeytool speaks: ``"en"`` (the source text) and ``"zh"`` (Simplified
Chinese, catalogue ``zh_CN``)."""
LOCALE_DIR: Final = Path(__file__).parent / "locale"
_CATALOGUE_LOCALE: Final = {"zh": "zh_CN"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("ukeytool_language", default="en")


def normalize_language(name: str | None) -> str | None:
    """``"en"`` or ``"zh"`` for a language or locale name, None when ukeytool does not
    speak it.

    ``zh``, ``zh_CN.UTF-8``, ``zh-Hans``, ``zh_SG`` and also ``zh_TW`` give ``"zh"``
    (Simplified Chinese is the only Chinese catalogue, and closer than English);
    ``en_US.UTF-8``, ``C`` and ``POSIX`` give ``"en"``.
    """
    if not name:
        return None
    base = name.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    if base in ("c", "posix") or base == "en" or base.startswith("en_"):
        return "en"
    if base == "zh" or base.startswith("zh_"):
        return "zh"
    return None


def language_from_env(env: Mapping[str, str] | None = None) -> str:
    """The language the locale asks for, as gettext reads it: the first set variable of
    ``LANGUAGE`` (a ``:``-separated list, taken in order), ``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``; ``"en"`` when none names a language ukeytool speaks.

    ``LANG=zh_CN.UTF-8`` gives ``"zh"``. As in GNU gettext, ``LANGUAGE`` is ignored when
    the locale itself is ``C`` or ``POSIX`` (``C.UTF-8`` included) or not set.
    """
    environ = os.environ if env is None else env
    locale_name = next(
        (environ[var] for var in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(var)), ""
    )
    base = locale_name.split(".")[0].split("@")[0].upper()
    candidates: list[str] = []
    if base not in ("", "C", "POSIX"):
        candidates.extend(environ.get("LANGUAGE", "").split(":"))
    candidates.append(locale_name)
    for candidate in candidates:
        lang = normalize_language(candidate)
        if lang is not None:
            return lang
    return "en"


def get_language() -> str:
    """The language of this context: ``"en"`` or ``"zh"``."""
    return _current.get()


def _checked(lang: str) -> str:
    value = normalize_language(lang)
    if value is None:
        from ._errors import UsageError

        raise UsageError(
            f"unknown language {lang!r}; ukeytool speaks {', '.join(LANGUAGES)} "
            "(en: English, zh: Simplified Chinese)"
        )
    return value


def set_language(lang: str) -> None:
    """Speak ``lang`` (``"en"``, ``"zh"`` or a locale name such as ``"zh_CN.UTF-8"``)
    from now on in this context. Raises :class:`~ukeytool._errors.UsageError` for a
    language ukeytool does not speak."""
    _current.set(_checked(lang))


@contextlib.contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` inside the ``with`` block (None: keep the current language)."""
    if lang is None:
        yield _current.get()
        return
    token = _current.set(_checked(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


# --- lookups ----------------------------------------------------------------------


def _(message: str) -> str:
    """``message`` in the current language (itself in English or when untranslated)."""
    lang = _current.get()
    if lang == "en":
        return message
    return translations(lang).gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it now."""
    return message


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, as meant in ``context`` (the same English
    text may need different translations, e.g. the separators of different lists)."""
    lang = _current.get()
    if lang == "en":
        return message
    return translations(lang).pgettext(context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the current language."""
    lang = _current.get()
    if lang == "en":
        return singular if n == 1 else plural
    return translations(lang).ngettext(singular, plural, n)


def retranslate(message: str, templates: Iterable[str] | None = None) -> str:
    """``message``, made in English (as it is, or as ``template.format(...)``), in the
    current language.

    For sentences made where the language is not known (in an isolation child, in the
    library before rendering: problems, module errors, login outcomes, findings) and
    shown later. A message that is itself a msgid is looked up; otherwise it is matched
    against ``templates`` (each marked with :func:`N_`), or by default against every
    msgid of the catalogue with ``{placeholders}``; of the templates that fit, the one
    that leaves the least text unexplained wins (text in plain values, or in nested
    sentences no template fits), then the one with the most literal text. The
    placeholders' values are read back from the English text and put into the
    translation. A ``{detail}`` placeholder (also ``{detail_...}``) holds another
    English sentence and is translated in turn; other values (paths, labels, codes) are kept as
    they are. A message that matches nothing is returned as it is, so text from other
    software (the dynamic loader, the OS, a parser) stays as that software wrote it.
    """
    lang = _current.get()
    if lang == "en" or not message:
        return message
    return _retranslate(message, lang, None if templates is None else tuple(templates), 0)


def _retranslate(message: str, lang: str, templates: tuple[str, ...] | None, depth: int) -> str:
    return _best(message, lang, templates, depth, {})[1]


def _best(
    message: str,
    lang: str,
    templates: tuple[str, ...] | None,
    depth: int,
    seen: dict[tuple[str, int], tuple[int, str]],
) -> tuple[int, str]:
    """The best translation of ``message`` and how many of its characters it leaves
    unexplained (in plain values, or in nested sentences no template fits)."""
    known = seen.get((message, depth))
    if known is not None:
        return known
    translated = translations(lang).gettext(message)
    if translated != message:
        return 0, translated
    best: tuple[int, int, str] = (len(message), 0, message)
    candidates = _catalogue_templates(lang) if templates is None else templates
    for template in candidates:
        pattern, prefix, suffix = _template_pattern(template)
        if not (message.startswith(prefix) and message.endswith(suffix)):
            continue
        match = pattern.fullmatch(message)
        if match is None:
            continue
        values = match.groupdict()
        unexplained = 0
        for name, value in values.items():
            if _is_detail(name) and depth < 4:
                left, values[name] = _best(value, lang, templates, depth + 1, seen)
                unexplained += left
            else:
                unexplained += len(value)
        # Of the templates that fit, the one that leaves the least unexplained wins:
        # "the search stopped after {n} ...: {detail}" rather than "{code_name} (the
        # session was closed ...)" swallowing the sentence's start as a code name; and a
        # whole-sentence template rather than a short one whose {detail} no template
        # fits. Then the one with the most literal text.
        literal = len(message) - sum(len(v) for v in match.groupdict().values())
        if (unexplained, -literal) < best[:2]:
            best = (unexplained, -literal, translations(lang).gettext(template).format(**values))
    seen[(message, depth)] = (best[0], best[2])
    return best[0], best[2]


def _is_detail(name: str) -> bool:
    return name == "detail" or name.startswith("detail_")


@functools.cache
def _template_pattern(template: str) -> tuple[re.Pattern[str], str, str]:
    """The regular expression a template's English sentences match, and the literal
    text it starts and ends with (for a quick test before the match)."""
    parts = re.split(r"\{(\w+)\}", template)
    seen: set[str] = set()
    pieces: list[str] = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            pieces.append(re.escape(part))
        elif part in seen:
            pieces.append(f"(?P={part})")  # the same value again
        else:
            seen.add(part)
            pieces.append(f"(?P<{part}>.*?)")
    return re.compile("".join(pieces), re.DOTALL), parts[0], parts[-1] if len(parts) > 1 else ""


_MIN_LETTERS: Final = 4


@functools.cache
def _catalogue_templates(lang: str) -> tuple[str, ...]:
    """The translated msgids of ``lang``'s catalogue that have placeholders, without
    context or plural, most literal text first; templates with fewer than four letters
    of their own (such as ``"{label} ({serial})"``) would match too much and are left
    out."""
    found: list[tuple[int, str]] = []
    for key in _catalogue(lang):
        if not isinstance(key, str) or "\x04" in key or "{" not in key:
            continue
        parts = re.split(r"\{\w+\}", key)
        if len(parts) < 2:
            continue  # braces that are not placeholders
        literal = "".join(parts)
        if sum(ch.isalpha() for ch in literal) < _MIN_LETTERS:
            continue
        found.append((len(literal), key))
    found.sort(key=lambda item: (-item[0], item[1]))
    return tuple(key for _length, key in found)


@functools.cache
def _catalogue(lang: str) -> dict[str | tuple[str, str], str | list[str]]:
    """The translated entries of ``lang``'s catalogue (empty for English, a language
    without a catalogue, or a catalogue that cannot be read)."""
    locale_name = _CATALOGUE_LOCALE.get(lang)
    if locale_name is None:
        return {}
    path = LOCALE_DIR / locale_name / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        return parse_po(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, PoError):
        return {}


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue for ``lang`` (``"zh"``), read from the shipped ``.po`` file once.

    English, a language without a catalogue, and a catalogue that cannot be read give
    :class:`gettext.NullTranslations` (the English source text): a broken translation
    must not stop the tool.
    """
    catalogue = _catalogue(lang)
    if not catalogue:
        return gettext.NullTranslations()
    import io

    return gettext.GNUTranslations(io.BytesIO(compile_mo(catalogue)))


# --- the .po reader and .mo writer ------------------------------------------------


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
    while i < len(body):
        ch = body[i]
        if ch == '"':
            raise PoError(f'line {line}: unescaped " inside a string')
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise PoError(f"line {line}: a string ends in a lone backslash")
        nxt = body[i + 1]
        if nxt in _ESCAPES or nxt in _ESCAPES_MORE:
            out.append(_ESCAPES.get(nxt) or _ESCAPES_MORE[nxt])
            i += 2
        elif nxt in "01234567":
            octal = nxt
            for d in body[i + 2 : i + 4]:
                if d not in "01234567":
                    break
                octal += d
            out.append(chr(int(octal, 8)))
            i += 1 + len(octal)
        else:
            raise PoError(f"line {line}: unknown escape \\{nxt}")
    return "".join(out)


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
