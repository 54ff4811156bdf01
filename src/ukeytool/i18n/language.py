"""Which language ukeytool speaks, and the gettext lookups of text marked in the code.

The language is per context (a :class:`contextvars.ContextVar`): English unless
:func:`set_language` or :func:`using` says otherwise; the CLI chooses it from
``--lang`` or the locale (:func:`language_from_env`). The catalogue is read
(:mod:`ukeytool.i18n.catalogue`) only when a lookup in a language other than English
needs it, so English costs no import of :mod:`gettext`.
"""

from __future__ import annotations

import contextlib
import contextvars
import os

from .message import template

__all__ = [
    "LANGUAGES",
    "N_",
    "_",
    "get_language",
    "language_from_env",
    "ngettext",
    "normalize_language",
    "pgettext",
    "set_language",
    "using",
]

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import gettext
    from collections.abc import Iterator, Mapping
    from typing import Final


LANGUAGES: Final = ("en", "zh")
"""The languages ukeytool speaks: ``"en"`` (the source text) and ``"zh"`` (Simplified
Chinese, catalogue ``zh_CN``)."""

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


UNKNOWN_LANGUAGE: Final = template(
    "i18n.unknown_language",
    "unknown language {lang}; ukeytool speaks {languages} (en: English, zh: Simplified Chinese)",
)


def _checked(lang: str) -> str:
    value = normalize_language(lang)
    if value is None:
        from ..errors import UsageError

        raise UsageError(UNKNOWN_LANGUAGE(lang=repr(lang), languages=LANGUAGES))
    return value


def set_language(lang: str) -> None:
    """Speak ``lang`` (``"en"``, ``"zh"`` or a locale name such as ``"zh_CN.UTF-8"``)
    from now on in this context. Raises :class:`~ukeytool.errors.UsageError` for a
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
    return _translations(lang).gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it now."""
    return message


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, as meant in ``context`` (the same English
    text may need different translations, e.g. the separators of different lists)."""
    lang = _current.get()
    if lang == "en":
        return message
    return _translations(lang).pgettext(context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the current language."""
    lang = _current.get()
    if lang == "en":
        return singular if n == 1 else plural
    return _translations(lang).ngettext(singular, plural, n)


def _translations(lang: str) -> gettext.NullTranslations:
    from .catalogue import translations

    return translations(lang)
