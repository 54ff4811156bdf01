"""Legacy: sentences made in English, matched back against the catalogue's templates.

Being replaced by :mod:`ukeytool.i18n.message` (messages as data)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Final

from .catalogue import _catalogue, translations
from .language import get_language as _get_language

__all__ = ["retranslate"]


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
    lang = _get_language()
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
