"""argparse's own words in the user's language: the usage line, section titles, the -h
and --version help and argparse's error messages.

argparse has no catalogue of its own that ukeytool could ship; it looks its words up
through its module globals ``_`` and ``ngettext``. :func:`argparse_speaks` points those
at ukeytool's catalogue while main() runs, and puts argparse's own functions back after.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import re

from ..i18n import N_, _, get_language, ngettext

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Final

__all__ = ["ARGPARSE_MESSAGES", "ARGPARSE_PLURALS", "argparse_speaks", "translated_error"]


#: argparse's own words (the usage line, section titles, the -h and --version help, its
#: error messages), spelt as the argparse of Python 3.10 to 3.13 spells them (and 3.14's
#: "maybe you meant"), marked here so that xgettext and the tests find them. While
#: main() runs, argparse looks them up in our catalogue (see :func:`argparse_speaks`);
#: words a later Python adds or rewords stay English. The %-placeholders are argparse's.
ARGPARSE_MESSAGES: Final = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("%(heading)s:"),
    N_("subcommands"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid choice: %(value)r, maybe you meant %(closest)r? (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("ignored explicit argument %r"),
    N_("not allowed with argument %s"),
    N_("unexpected option string: %s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
)
#: argparse's words with a plural (marked in :func:`_mark_argparse_plurals`).
ARGPARSE_PLURALS: Final = (("expected %s argument", "expected %s arguments"),)


def _mark_argparse_plurals() -> None:  # pragma: no cover - never called
    """Marks :data:`ARGPARSE_PLURALS` for xgettext, which finds plurals in calls only."""
    ngettext("expected %s argument", "expected %s arguments", 2)


class _ArgparseWords:
    """argparse's module-level ``_`` and ``ngettext`` pointed at our catalogue.

    argparse looks its words up through its module globals ``_`` and ``ngettext`` (the
    :mod:`gettext` functions of the ``messages`` domain, for which Python ships no
    catalogue) at the moment it uses them. While :func:`argparse_speaks` is active they
    are these lookups: in a context speaking Chinese, a word our catalogue has comes from
    it; anything else (English, a word we do not know) goes to the function argparse had,
    so nothing is lost and nothing fails. Nested or concurrent main() calls share one
    patch, counted, and the last one out puts argparse's functions back.
    """

    lock = _thread.allocate_lock()  # threading.Lock, without importing threading
    users = 0
    saved: tuple[Any, Any] = (None, None)

    @classmethod
    def gettext(cls, message: str) -> str:
        lang = get_language()
        if lang != "en":
            from ..i18n.catalogue import translations  # read only when Chinese is asked for

            translated = translations(lang).gettext(message)
            if translated != message:
                return translated
        original = cls.saved[0]
        return message if original is None else str(original(message))

    @classmethod
    def ngettext(cls, singular: str, plural: str, n: int) -> str:
        lang = get_language()
        if lang != "en":
            from ..i18n.catalogue import translations

            translated = translations(lang).ngettext(singular, plural, n)
            if translated not in (singular, plural):
                return translated
        original = cls.saved[1]
        if original is None:
            return singular if n == 1 else plural
        return str(original(singular, plural, n))


@contextlib.contextmanager
def argparse_speaks() -> Iterator[None]:
    """argparse's own words in the current language inside the ``with`` block."""
    with _ArgparseWords.lock:
        if _ArgparseWords.users == 0:
            _ArgparseWords.saved = (vars(argparse)["_"], vars(argparse)["ngettext"])
            vars(argparse).update(_=_ArgparseWords.gettext, ngettext=_ArgparseWords.ngettext)
        _ArgparseWords.users += 1
    try:
        yield
    finally:
        with _ArgparseWords.lock:
            _ArgparseWords.users -= 1
            if _ArgparseWords.users == 0:
                gettext, ngettext_ = _ArgparseWords.saved
                vars(argparse).update(_=gettext, ngettext=ngettext_)


def translated_error(message: str) -> str:
    """An argparse error message with its ``argument X:`` prefix in the current
    language: before Python 3.11 argparse does not look that prefix up itself. (The
    text is argparse's own sentence, made by the running argparse.)"""
    if get_language() != "en":
        untranslated = re.fullmatch(r"argument (\S+): (.*)", message, re.DOTALL)
        if untranslated:
            name, detail = untranslated.groups()
            template = _("argument %(argument_name)s: %(message)s")
            return template % {"argument_name": name, "message": detail}
    return message
