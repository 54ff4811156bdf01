"""Messages in the user's language: English (the source text) and Simplified Chinese.

- :mod:`.message`: messages as data. A :class:`Template` is an English sentence (the
  gettext msgid) with a stable code; calling it makes a :class:`Message`, rendered in a
  language only when it is shown (``str()`` is English, ``.render("zh")`` Chinese).
- :mod:`.language`: the language of this context (``--lang``, the locale, or
  :func:`using`), and the lookups of words a renderer or the CLI shows itself::

    _("expired")                          # translated where it is called
    N_("expired")                         # only marked; translate later with _(...)
    ngettext("{n} certificate", "{n} certificates", n)
    pgettext("list", ", ")                # with a context, where one text means two things

- :mod:`.catalogue` and :mod:`.po`: the translator's ``.po`` file, read at run time
  without a build step (docs/development.md says why); loaded on the first lookup in a
  language other than English, so ``import ukeytool`` never imports :mod:`gettext`.

Placeholders are named ``{name}`` fields filled with :meth:`str.format` after the
lookup, so a translation may put them in another order. JSON keys and codes are the same
in every language; only its human sentences follow the language.
"""

from __future__ import annotations

from .. import _lazy_getattr
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

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
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


# The catalogue (and gettext) load only when something asks for them.
__getattr__ = _lazy_getattr(__name__, globals(), _LAZY)
