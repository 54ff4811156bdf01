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

from typing import TYPE_CHECKING, Any

from .language import (
    LANGUAGES,
    N_,
    _,
    get_language,
    language_from_env,
    ngettext,
    normalize_language,
    pgettext,
    set_language,
    using,
)
from .message import (
    Message,
    Param,
    Template,
    context_template,
    plural_template,
    render,
    template,
)

if TYPE_CHECKING:
    from .catalogue import DOMAIN, LOCALE_DIR, translations
    from .po import PoError, compile_mo, parse_po

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "Message",
    "Param",
    "PoError",
    "Template",
    "_",
    "compile_mo",
    "context_template",
    "get_language",
    "language_from_env",
    "ngettext",
    "normalize_language",
    "parse_po",
    "pgettext",
    "plural_template",
    "render",
    "set_language",
    "template",
    "translations",
    "using",
]

_LAZY = {
    "DOMAIN": "catalogue",
    "LOCALE_DIR": "catalogue",
    "translations": "catalogue",
    "PoError": "po",
    "compile_mo": "po",
    "parse_po": "po",
}


def __getattr__(name: str) -> Any:
    # The catalogue (and gettext) load only when something asks for them.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
