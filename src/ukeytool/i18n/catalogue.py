"""The translator's catalogues, read at run time.

The translator's file, ``locale/zh_CN/LC_MESSAGES/ukeytool.po``, is shipped as it is and
read when a message is first shown in Chinese: :func:`~ukeytool.i18n.po.parse_po` reads
it and :func:`~ukeytool.i18n.po.compile_mo` turns it into the bytes of a ``.mo`` file,
which :class:`gettext.GNUTranslations` loads as usual (plural forms included). So there
is no build step, no binary file in the repository, and a translator's edit shows the
next time ukeytool runs; ``msgfmt --check`` accepts the same file (the tests compare
both). Why, at more length: docs/development.md.
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path
from typing import Final

from .po import PoError, compile_mo, parse_po

__all__ = ["DOMAIN", "LOCALE_DIR", "translations"]

DOMAIN: Final = "ukeytool"
"""The gettext domain: the catalogue is ``locale/<locale>/LC_MESSAGES/ukeytool.po``."""
LOCALE_DIR: Final = Path(__file__).parent.parent / "locale"
_CATALOGUE_LOCALE: Final = {"zh": "zh_CN"}


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
