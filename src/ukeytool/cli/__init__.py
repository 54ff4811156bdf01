"""The ``ukeytool`` command line: parses arguments, picks a renderer, maps errors to exit codes.

It imports nothing heavy at start-up: ``--version`` and ``--help`` answer without
loading python-pkcs11 or cryptography. It is the one place that reads the clock.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import enum
import logging
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn

from .._version import __version__
from ..errors import (
    ModuleCallFailed,
    ModuleCrashed,
    ModuleError,
    ModuleTimedOut,
    UkeytoolError,
    UsageError,
)
from ..i18n import (
    LANGUAGES,
    N_,
    _,
    get_language,
    language_from_env,
    localize,
    ngettext,
    translations,
    using,
)
from ..i18n.message import Message
from ..model.text import escape_control

if TYPE_CHECKING:
    from ..certificates.files import PasswordSource
    from ..model import FileReport, ModuleFailure, Report

__all__ = ["ExitCode", "main", "run"]


@enum.unique
class ExitCode(enum.IntEnum):
    """What ``ukeytool`` exits with."""

    OK = 0
    """Everything was read."""
    INTERNAL = 1
    """A bug in ukeytool (the message says how to get details)."""
    USAGE = 2
    """The command line was wrong (unknown option, bad value, no module given)."""
    MODULE_UNUSABLE = 3
    """The module cannot be loaded: not found, not a shared library, wrong CPU,
    a missing dependency, or not a PKCS#11 module."""
    MODULE_FAILED = 4
    """The module loaded but failed (C_GetFunctionList, C_Initialize, C_GetInfo or
    C_GetSlotList)."""
    INCOMPLETE = 5
    """Something could not be read (a module of several, a slot, a token, an object);
    what could be read is listed, and each problem is shown where it happened."""
    MODULE_TIMED_OUT = 6
    """The module did not answer within --timeout seconds and was stopped."""
    MODULE_CRASHED = 7
    """The module crashed (a signal such as SIGSEGV) or ended its process itself."""
    LOGIN_REFUSED = 8
    """``--login``: ukeytool did not log in (PIN locked, final try not confirmed, PIN
    length outside the token's range, no PIN); no PIN try was spent."""
    LOGIN_FAILED = 9
    """``--login``: the token rejected the one C_Login (wrong PIN, locked...); not retried."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C)."""


EXIT_CODES_HELP = N_("""\
exit codes (list-tokens, list-modules):
  0  everything was read
  1  internal error in ukeytool (set UKEYTOOL_DEBUG=1 for a traceback)
  2  usage error: bad option or value, no module found, no token matches
  3  the module cannot be loaded (not found, not a shared library, wrong CPU,
     missing dependency, not a PKCS#11 module)
  4  the module failed (C_GetFunctionList, C_Initialize, C_GetInfo or C_GetSlotList
     returned an error)
  5  something could not be read (a module of several, a slot, a token, an object);
     what could be read is listed, problems are shown where they happened
  6  the module did not answer within --timeout seconds and was stopped
  7  the module crashed (e.g. signal 11, SIGSEGV) or ended ukeytool's child process
  (3, 4, 6, 7: when no module could be inspected; with several, the highest applies)
  8  --login: no login was tried (PIN locked, final try not confirmed with
     --allow-final-try, PIN length outside the token's range); no PIN try was spent
  9  --login: the token rejected the PIN (one try spent, never retried)
130  interrupted
exit codes (check): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for usage errors)
exit codes (inspect-file): 0 all read, 2 usage error or no file could be opened,
  5 something could not be read (see 'ukeytool inspect-file --help')
""")

INSPECT_FILE_EXIT_HELP = N_("""\
PKCS#12 passwords are never taken from the command line: a PKCS#12 file is opened
with $UKEYTOOL_PKCS12_PASSWORD or the empty password, or else, when standard input
is a terminal, with a password asked for (not echoed), once per file.

exit codes:
  0  every file was read completely (whatever the certificates' statuses)
  1  internal error in ukeytool (set UKEYTOOL_DEBUG=1 for a traceback)
  2  usage error: bad option or value; or no file could be opened at all (not found,
     a directory, no permission): one error line per file, nothing on standard output
  5  something could not be read: a file of several could not be opened, is not a
     certificate file, is damaged, or needs a password that was not given or is wrong;
     what could be read is listed, problems are shown where they happened
130  interrupted
""")

PKCS12_PASSWORD_ENV = "UKEYTOOL_PKCS12_PASSWORD"
"""The environment variable ``inspect-file`` takes a PKCS#12 password from."""

CHECK_EXIT_HELP = N_("""\
exit codes, as a Nagios/Icinga plugin:
  0  OK        every certificate valid for more than --warn-days days
  1  WARNING   a certificate expires within --warn-days days, or a PIN is on its final try
  2  CRITICAL  a certificate expires within --crit-days days, is expired or not yet
               valid, or a PIN is locked
  3  UNKNOWN   something could not be read (module, token, certificate; a module that
               timed out or crashed), no certificate is visible, a --login was refused
               or failed, or the command line was wrong
""")


#: argparse's own words (the usage line, section titles, the -h and --version help, its
#: error messages), spelt as the argparse of Python 3.10 to 3.13 spells them (and 3.14's
#: "maybe you meant"), marked here so that xgettext and the tests find them. While
#: main() runs, argparse looks them up in our catalogue (see :func:`_argparse_speaks`);
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
    catalogue) at the moment it uses them. While :func:`_argparse_speaks` is active they
    are these lookups: in a context speaking Chinese, a word our catalogue has comes from
    it; anything else (English, a word we do not know) goes to the function argparse had,
    so nothing is lost and nothing fails. Nested or concurrent main() calls share one
    patch, counted, and the last one out puts argparse's functions back.
    """

    lock = threading.Lock()
    users = 0
    saved: tuple[Any, Any] = (None, None)

    @classmethod
    def gettext(cls, message: str) -> str:
        lang = get_language()
        if lang != "en":
            translated = translations(lang).gettext(message)
            if translated != message:
                return translated
        original = cls.saved[0]
        return message if original is None else str(original(message))

    @classmethod
    def ngettext(cls, singular: str, plural: str, n: int) -> str:
        lang = get_language()
        if lang != "en":
            translated = translations(lang).ngettext(singular, plural, n)
            if translated not in (singular, plural):
                return translated
        original = cls.saved[1]
        if original is None:
            return singular if n == 1 else plural
        return str(original(singular, plural, n))


@contextlib.contextmanager
def _argparse_speaks() -> Iterator[None]:
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


def _command_of(words: Sequence[str]) -> str | None:
    """The command's name in ``words``: the first word that is neither an option nor
    the value of the top-level ``--lang``."""
    after_lang = False
    for word in words:
        if not after_lang and not word.startswith("-"):
            return word
        after_lang = word == "--lang"
    return None


def _requested_language(words: Sequence[str]) -> str:
    """The language to speak before the arguments are parsed: the last ``--lang X`` or
    ``--lang=X`` of ``words`` when X is a language ukeytool speaks, else the locale's
    (a bad value is then reported by argparse, in the locale's language)."""
    chosen: str | None = None
    for index, word in enumerate(words):
        if word == "--":
            break
        if word == "--lang":
            value = words[index + 1] if index + 1 < len(words) else ""
        elif word.startswith("--lang="):
            value = word.partition("=")[2]
        else:
            continue
        chosen = value if value in LANGUAGES else None
    return chosen or language_from_env()


#: Characters a line does not start with, and those it does not end with, when help
#: text with Chinese is wrapped (Chinese breaks between any two characters otherwise).
_NO_LINE_START: Final = frozenset("，。；：、！？）》」』”’…,.;:!?)]}")
_NO_LINE_END: Final = frozenset("（《「『“‘([{")


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _wrap_wide(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` (one paragraph) in lines of at most ``width`` terminal columns, wide
    characters counting two: breaks at spaces, and between wide characters except
    before closing and after opening punctuation. ``indent`` starts every line after
    the first one."""
    from ..rendering.text import display_width

    units: list[tuple[str, bool]] = []  # unbreakable pieces; whether a space comes first
    space = glue = False
    for ch in text:
        if ch.isspace():
            space, glue = bool(units), False
            continue
        joins = bool(units) and not space
        if joins and not (glue or ch in _NO_LINE_START):
            # A narrow character after a narrow one: the same word.
            joins = not _is_wide(ch) and not _is_wide(units[-1][0][-1])
        if joins:
            units[-1] = (units[-1][0] + ch, units[-1][1])
        else:
            units.append((ch, space))
        space, glue = False, ch in _NO_LINE_END
    lines: list[str] = []
    line, used = "", 0
    for piece, spaced in units:
        gap = " " if spaced and line else ""
        size = display_width(piece)
        if line and used + len(gap) + size > width:
            lines.append(line)
            line, used = indent + piece, display_width(indent) + size
        else:
            line, used = line + gap + piece, used + len(gap) + size
    if line:
        lines.append(line)
    return lines


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The help layout: descriptions and epilogs as written (argparse's
    RawDescriptionHelpFormatter), and text with Chinese characters laid out by terminal
    columns, a wide character taking two (argparse counts characters): option help
    wrapped to its column, over-long description lines wrapped, continuation lines of
    a wide ``usage:`` prefix moved under its end, and section headings ending in the
    language's colon on every Python (argparse translates it from 3.13 on). In English
    the layout is left entirely to argparse."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ukeytool_headings: list[str] = []

    def _split_lines(self, text: str, width: int) -> list[str]:
        if get_language() == "en" or not any(_is_wide(ch) for ch in text):
            return super()._split_lines(text, width)
        return _wrap_wide(" ".join(text.split()), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if get_language() == "en" or not any(_is_wide(ch) for ch in text):
            return super()._fill_text(text, width, indent)
        from ..rendering.text import display_width

        lines: list[str] = []
        for line in text.splitlines():
            if display_width(indent + line) <= width:
                lines.append(indent + line)
                continue
            # Continuation lines go under the text: after the leading spaces and, in a
            # table of exit codes, after the code.
            lead = re.match(r"\s*(?:\d+\s+)?", line)
            hang = " " * display_width(lead.group() if lead else "")
            lines.extend(_wrap_wide(indent + line, width, indent + hang))
        return "\n".join(lines) + ("\n" if text.endswith("\n") else "")

    def _format_usage(self, usage: Any, actions: Any, groups: Any, prefix: Any) -> str:
        from ..rendering.text import display_width

        if prefix is None:
            prefix = _("usage: ")
        extra = display_width(prefix) - len(prefix)
        if extra <= 0:
            return str(super()._format_usage(usage, actions, groups, prefix))
        self._width -= extra  # argparse measures the prefix in characters
        try:
            text = str(super()._format_usage(usage, actions, groups, prefix))
        finally:
            self._width += extra
        first, *rest = text.split("\n")
        moved = [" " * extra + line if line.startswith(" ") else line for line in rest]
        return "\n".join([first, *moved])

    def start_section(self, heading: str | None) -> None:
        if heading:
            self._ukeytool_headings.append(heading)
        super().start_section(heading)

    def format_help(self) -> str:
        text = str(super().format_help())
        if get_language() == "en":
            return text
        lines = text.split("\n")
        for index, line in enumerate(lines):
            stripped = line.strip()
            if stripped.endswith(":") and stripped[:-1] in self._ukeytool_headings:
                heading = _("%(heading)s:") % {"heading": stripped[:-1]}
                lines[index] = line[: len(line) - len(line.lstrip())] + heading
        return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exits with ExitCode.USAGE
    (or 3, UNKNOWN, for the monitoring check), and lays out help with _HelpFormatter."""

    usage_exit_code: int = ExitCode.USAGE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if get_language() != "en":
            # Before Python 3.11 argparse does not translate this prefix itself.
            untranslated = re.fullmatch(r"argument (\S+): (.*)", message, re.DOTALL)
            if untranslated:
                name, detail = untranslated.groups()
                template = _("argument %(argument_name)s: %(message)s")
                message = template % {"argument_name": name, "message": detail}
        line = _("{prog}: error: {message} (see --help)").format(prog=self.prog, message=message)
        self.exit(self.usage_exit_code, line + "\n")


def _parse_at(text: str) -> datetime.datetime:
    """ISO 8601 moment for --at; a date or a time without zone is taken as UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                _(
                    "{value} is not an ISO 8601 date or moment, e.g. 2027-06-30 or "
                    "2027-06-30T12:00:00+08:00"
                ).format(value=repr(text))
            ) from None
        moment = datetime.datetime(day.year, day.month, day.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(
            _("{value} is not a whole number of days >= 0").format(value=repr(text))
        )
    return days


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(
            _("{value} is not a number of seconds >= 0").format(value=repr(text))
        )
    return seconds


#: --timeout's default, in seconds: far above what a sound module needs even for
#: hundreds of certificates, and well below what monitoring systems allow a check.
DEFAULT_TIMEOUT = 60.0


def _add_modules(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--module", metavar="PATH", action="append", help=help)


def _add_inspection(parser: argparse.ArgumentParser, *, warn_default: int) -> None:
    _add_modules(
        parser,
        _(
            "a vendor's PKCS#11 module (.so); repeat for several. Default: $PKCS11_MODULE, "
            "else every module found by discovery (see list-modules)"
        ),
    )
    parser.add_argument(
        "--warn-days",
        type=_days,
        default=warn_default,
        metavar="N",
        help=_("certificates expiring within N days are 'expiring' (default: {days})").format(
            days=warn_default
        ),
    )
    parser.add_argument(
        "--at",
        type=_parse_at,
        metavar="WHEN",
        help=_(
            "judge validity at this ISO 8601 moment instead of now, e.g. 2027-06-30 "
            "(a date or a time without zone is taken as UTC)"
        ),
    )
    select = parser.add_argument_group(
        _("selecting tokens (a URI matches the raw bytes; a label or serial the text as shown)")
    )
    select.add_argument("--uri", metavar="URI", help=_("an RFC 7512 pkcs11: URI"))
    select.add_argument("--token-label", metavar="LABEL", help=_("the token's label"))
    select.add_argument("--serial", metavar="SERIAL", help=_("the token's serial number"))
    parser.add_argument(
        "--output",
        metavar="FILE",
        help=_(
            "write to FILE (atomically: a temporary file renamed into place, as "
            "node_exporter's textfile collector needs) instead of standard output"
        ),
    )
    login = parser.add_argument_group(
        _("logging in (opt-in: only to see private objects; the PIN is never an option)")
    )
    login.add_argument(
        "--login",
        action="store_true",
        help=_(
            "log in to the one selected token (or the only one) to list private objects "
            "too. The PIN comes from $UKEYTOOL_PIN or is asked for without echo; it is tried "
            "at most once, never on a locked token"
        ),
    )
    login.add_argument(
        "--allow-final-try",
        action="store_true",
        help=_("with --login: log in even though the token says one more wrong PIN locks it"),
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help=_(
            "log every PKCS#11 call (arguments' shape, result, duration) to standard "
            "error, for a support desk"
        ),
    )
    parser.add_argument(
        "--show-personal-data",
        action="store_true",
        help=_(
            "show ID-card and other identity numbers in full; by default they are "
            "partly masked (110***********002X) in every format"
        ),
    )
    isolation = parser.add_argument_group(
        _(
            "isolation (each module is inspected in a child process of its own, so a module "
            "that hangs or crashes cannot take ukeytool down)"
        )
    )
    isolation.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help=_(
            "stop a module that has not answered within SECONDS (default: {default}; "
            "0: no limit); it is reported, the other modules are still listed"
        ).format(default=f"{DEFAULT_TIMEOUT:g}"),
    )
    isolation.add_argument(
        "--no-isolation",
        action="store_true",
        help=_(
            "inspect the modules inside ukeytool's own process (for a debugger); a "
            "module that hangs or crashes then hangs or crashes ukeytool"
        ),
    )
    renewal = parser.add_argument_group(_("renewal advice (see docs/renewal.md)"))
    renewal.add_argument(
        "--bank",
        metavar="BANK",
        help=_(
            "the bank whose renewal rules apply to every certificate: a code (ICBC, ABC, "
            "CCB, BOC, generic), a name such as 工行, or a policy id such as ccb-wangyindun-gd. "
            "Default: from the module's file name, else the issuer's name, else general advice"
        ),
    )
    renewal.add_argument(
        "--renewal-policies",
        metavar="FILE",
        help=_(
            "a renewal policy file (JSON) that replaces or adds to the shipped policies "
            "and $XDG_CONFIG_HOME/ukeytool/renewal.json; it is tried first"
        ),
    )
    _add_lang(parser)


def _add_lang(parser: argparse.ArgumentParser, default: Any = argparse.SUPPRESS) -> None:
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=default,
        help=_(
            "the language of the output: en (English) or zh (Simplified Chinese); "
            "default: from the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG; zh_CN.UTF-8 "
            "gives zh)"
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ukeytool",
        description=_(
            "Inspect PKCS#11 tokens (banking USB keys, smart cards, HSMs) read-only and "
            "report which certificates still work. Never writes to a token, and logs in only "
            "with --login (once, never on a locked PIN), so no PIN try is spent by surprise."
        ),
        epilog=_(EXIT_CODES_HELP),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"ukeytool {__version__}",
        help=_("show program's version number and exit"),  # argparse's own words
    )
    _add_lang(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    listing = commands.add_parser(
        "list-tokens",
        help=_("list slots, tokens and certificates with their validity"),
        description=_(
            "List every slot of the PKCS#11 modules, their tokens, and each certificate "
            "with its validity: valid, expiring, expired, not yet valid or unreadable. "
            "Without --login, certificates marked private are not visible."
        ),
        epilog=_(EXIT_CODES_HELP),
    )
    _add_inspection(listing, warn_default=30)
    listing.add_argument(
        "--format",
        choices=("text", "json", "prometheus"),
        default="text",
        help=_("text (default), one JSON document, or Prometheus text exposition"),
    )
    listing.add_argument("--json", action="store_true", help=_("the same as --format json"))
    listing.add_argument(
        "--uris",
        action="store_true",
        help=_("show each certificate's pkcs11: URI in the text"),
    )
    listing.add_argument(
        "--details",
        action="store_true",
        help=_(
            "show each certificate in detail in the text: fingerprints (SHA-256, SHA-1, "
            "SM3), every name attribute with its string type, the holder and ID numbers"
        ),
    )
    listing.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help=_("colour statuses (default auto: on a terminal, unless NO_COLOR is set)"),
    )
    check = commands.add_parser(
        "check",
        help=_("monitoring check: Nagios/Icinga exit codes, performance data, Prometheus"),
        description=_(
            "Judge every certificate as a monitoring plugin: one status line with "
            "performance data (days left per certificate), then the details."
        ),
        epilog=_(CHECK_EXIT_HELP),
    )
    check.usage_exit_code = 3  # a monitoring plugin's usage error is UNKNOWN
    _add_inspection(check, warn_default=30)
    check.add_argument(
        "--crit-days",
        type=_days,
        default=7,
        metavar="N",
        help=_("CRITICAL when a certificate expires within N days (default: {days})").format(
            days=7
        ),
    )
    check.add_argument(
        "--format",
        choices=("text", "json", "prometheus"),
        default="text",
        help=_("plugin output (default), JSON verdicts, or Prometheus text exposition"),
    )
    modules = commands.add_parser(
        "list-modules",
        help=_("show the PKCS#11 modules ukeytool can find, and where from"),
        description=_(
            "List the modules given with --module or PKCS11_MODULE, registered with "
            "p11-kit, or known from ukeytool's catalogue of banking-key vendors and present "
            "on this machine. Nothing is loaded."
        ),
        epilog=_(EXIT_CODES_HELP),
    )
    _add_modules(modules, _("a module path to list as well (repeatable)"))
    modules.add_argument("--json", action="store_true", help=_("one JSON document"))
    modules.add_argument(
        "--catalogue", metavar="FILE", help=_("an extra module catalogue (JSON), tried first")
    )
    modules.add_argument(
        "--no-catalogue", action="store_true", help=_("do not look for catalogue modules")
    )
    _add_inspect_file(commands)
    _add_lang(modules)
    return parser


def _add_inspect_file(commands: Any) -> None:
    files = commands.add_parser(
        "inspect-file",
        help=_("read certificates from files (PEM, DER, PKCS#7, PKCS#12) instead of a token"),
        description=_(
            "Read the certificates in each file, as bank software keeps 'soft'\n"
            "certificates on disk: PEM (several per file), DER, PKCS#7 bundles (.p7b/.p7c)\n"
            "and PKCS#12 (.p12/.pfx), told apart by content, not by name. Each certificate\n"
            "is reported as on a token, with the same values. No PKCS#11 module is loaded."
        ),
        epilog=_(INSPECT_FILE_EXIT_HELP),
    )
    files.add_argument("paths", nargs="+", metavar="PATH", help=_("a certificate file"))
    files.add_argument(
        "--warn-days",
        type=_days,
        default=30,
        metavar="N",
        help=_("certificates expiring within N days are 'expiring' (default: {days})").format(
            days=30
        ),
    )
    files.add_argument(
        "--at",
        type=_parse_at,
        metavar="WHEN",
        help=_(
            "judge validity at this ISO 8601 moment instead of now, e.g. 2027-06-30 "
            "(a date or a time without zone is taken as UTC)"
        ),
    )
    files.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help=_("text (default) or one JSON document (the list-tokens schema, with 'files')"),
    )
    files.add_argument("--json", action="store_true", help=_("the same as --format json"))
    files.add_argument(
        "--show-personal-data",
        action="store_true",
        help=_(
            "show ID-card and other identity numbers in full; by default they are "
            "partly masked (110***********002X)"
        ),
    )
    _add_lang(files)
    files.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help=_("colour statuses (default auto: on a terminal, unless NO_COLOR is set)"),
    )


def _use_color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def _resolve_modules(given: Sequence[str] | None) -> list[str]:
    """--module, else $PKCS11_MODULE, else every usable module discovery finds."""
    if given:
        return list(given)
    from_env = os.environ.get("PKCS11_MODULE")
    if from_env:
        return [from_env]
    from ..config.discovery import discover, no_module_message

    found = [m for m in discover() if m.usable]
    if not found:
        # In English, as every error: _error_text translates it when it is shown.
        raise UsageError(no_module_message(lang="en"))
    names = ", ".join(f"{m.path} ({m.source})" for m in found)
    line = _("ukeytool: no module given; using {n} found by discovery: {names}")
    sys.stderr.write(line.format(n=len(found), names=names) + "\n")
    return [m.path for m in found]


@contextlib.contextmanager
def _tracing(enabled: bool) -> Iterator[None]:
    """With --trace, every PKCS#11 call is logged to standard error for the command's run."""
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ukeytool trace: %(message)s"))
    trace = logging.getLogger("ukeytool.pkcs11")
    level = trace.level
    trace.addHandler(handler)
    trace.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        trace.removeHandler(handler)
        trace.setLevel(level)


def _inspect_all(args: argparse.Namespace) -> tuple[list[Report], list[ModuleFailure], Any]:
    """Inspect the modules and apply the token selection; also returns the clock reading."""
    from ..pkcs11.inspect import inspect_modules
    from ..pkcs11.selection import filter_report
    from ..pkcs11.uri import parse_uri

    uri = parse_uri(args.uri) if args.uri else None  # a bad URI fails before any loading
    isolate, timeout = _isolation(args)
    now = datetime.datetime.now(datetime.timezone.utc)
    paths = _resolve_modules(args.module)
    with _tracing(args.trace):
        reports, failures = inspect_modules(
            paths, at=args.at or now, warn_days=args.warn_days, isolate=isolate, timeout=timeout
        )
        if args.login and reports:
            reports = _login_pass(
                args, reports, uri, at=args.at or now, isolate=isolate, timeout=timeout
            )
    if uri is not None or args.token_label is not None or args.serial is not None:
        reports = [
            filter_report(r, uri=uri, label=args.token_label, serial=args.serial) for r in reports
        ]
        if reports and not any(r.tokens for r in reports):
            raise UsageError(_no_match(args))
    reports = _advise(reports, args)
    return reports, failures, now


PIN_VARIABLE = "UKEYTOOL_PIN"


def _login_pass(
    args: argparse.Namespace,
    reports: list[Report],
    uri: Any,
    *,
    at: datetime.datetime,
    isolate: bool,
    timeout: float | None,
) -> list[Report]:
    """--login: pick the one token from the listing, check its PIN state, get the PIN,
    and list that token's module again with the one login (in a child process like the
    first listing, the PIN going to it over a pipe only). The PIN is asked for only when
    a login will really be tried."""
    from ..pkcs11.inspect import inspect, login_target
    from ..pkcs11.isolate import inspect_in_child
    from ..pkcs11.login import Login, Pin, refusal, state_refusal
    from ..pkcs11.uri import format_uri, token_uri

    wanted = Login(None, label=args.token_label, serial=args.serial, uri=uri)
    module, slot = login_target([(r.module, s) for r in reports for s in r.slots], wanted)
    token = slot.token
    assert module is not None
    assert token is not None
    index = next(i for i, r in enumerate(reports) if r.module is module)
    refused = state_refusal(token, allow_final_try=args.allow_final_try)
    pin: Pin | None = None
    if refused is None and not token.protected_authentication_path:
        pin = _read_pin(token)
        refused = refusal(token, Login(pin, allow_final_try=args.allow_final_try))
    if refused is not None:
        if pin is not None:
            pin.wipe()
        return _with_login(reports, index, slot, refused)
    if token.protected_authentication_path:
        label = repr(escape_control(token.label.value))
        sys.stderr.write(
            "ukeytool: "
            + _("enter the PIN for token {label} on the reader's PIN pad").format(label=label)
            + "\n"
        )
    request = Login(
        pin,
        uri=format_uri(token_uri(token, module)),
        allow_final_try=args.allow_final_try,
    )
    try:
        if isolate:
            again = inspect_in_child(
                module.path, timeout=timeout, at=at, warn_days=args.warn_days, login=request
            )
        else:
            again = inspect(module.path, at=at, warn_days=args.warn_days, login=request)
    finally:
        if pin is not None:
            pin.wipe()
    return [*reports[:index], again, *reports[index + 1 :]]


def _with_login(reports: list[Report], index: int, slot: Any, outcome: Any) -> list[Report]:
    """The listing as it was, with the refused login recorded on its token."""
    report = reports[index]
    slots = tuple(dataclasses.replace(s, login=outcome) if s is slot else s for s in report.slots)
    return [*reports[:index], dataclasses.replace(report, slots=slots), *reports[index + 1 :]]


def _read_pin(token: Any) -> Any:
    """The PIN from $UKEYTOOL_PIN (removed from the environment once read), else from a
    prompt without echo on the terminal; never from the command line."""
    from ..pkcs11.login import Pin

    value = os.environ.pop(PIN_VARIABLE, None)
    if value is not None:
        return Pin(value)
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(
            _(
                "--login needs the PIN: set {variable}, or run on a terminal to be asked "
                "for it (a PIN is never taken from the command line)"
            ).format(variable=PIN_VARIABLE)
        )
    import getpass

    serial = escape_control(token.serial.value)
    label = repr(escape_control(token.label.value))
    prompt = _("PIN for token {label} (serial {serial}): ").format(label=label, serial=serial)
    try:
        return Pin(getpass.getpass(prompt))
    except EOFError:
        raise UsageError(_("no PIN was entered; nothing was tried")) from None


def _login_exit(reports: Sequence[Report]) -> int | None:
    """The exit code a refused or failed login gives, if one did."""
    from ..model import LoginState

    states = {s.login.state for r in reports for s in r.slots if s.login is not None}
    if LoginState.FAILED in states:
        return ExitCode.LOGIN_FAILED
    if LoginState.REFUSED in states:
        return ExitCode.LOGIN_REFUSED
    return None


def _login_note(reports: Sequence[Report]) -> None:
    """One line on standard error for a login that did not happen or failed."""
    for report in reports:
        for slot in report.slots:
            outcome = slot.login
            if outcome is not None and not outcome.logged_in:
                from ..pkcs11.login import login_message
                from ..rendering.text import LOGIN_WORDS

                word = _(LOGIN_WORDS[outcome.state])
                sys.stderr.write(f"ukeytool: {word}: {login_message(outcome)}\n")


def _isolation(args: argparse.Namespace) -> tuple[bool, float | None]:
    """--no-isolation and --timeout as inspect_modules' isolate and timeout."""
    if args.no_isolation:
        if args.timeout is not None:
            raise UsageError(
                _(
                    "--timeout needs isolation: a module inside ukeytool's process cannot be "
                    "stopped; drop --no-isolation or --timeout"
                )
            )
        return False, None
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    return True, timeout or None


def _renewal_setup(args: argparse.Namespace) -> None:
    """Read the renewal policies (shipped, user file, --renewal-policies) and check
    --bank, so that a bad file or an unknown bank fails before any module is loaded."""
    from ..config.discovery import Catalogue, CatalogueError, load_catalogue
    from ..judging.renewal import check_bank, load_policies

    args.policies = load_policies(extra=args.renewal_policies)
    try:
        args.catalogue = load_catalogue()
    except CatalogueError as exc:
        # The module catalogue only adds bank hints here: say so, and go on without them.
        warning = _("ukeytool: warning: {message}; module file names are not used to tell the bank")
        sys.stderr.write(warning.format(message=localize(str(exc))) + "\n")
        args.catalogue = Catalogue()
    if args.bank is not None:
        check_bank(args.bank, policies=args.policies, catalogue=args.catalogue)


def _advise(reports: list[Report], args: argparse.Namespace) -> list[Report]:
    """Renewal advice for every certificate and token (at each report's moment)."""
    from ..judging.renewal import advise

    return [
        advise(r, bank=args.bank, policies=args.policies, catalogue=args.catalogue) for r in reports
    ]


def _no_match(args: argparse.Namespace) -> str:
    wanted = [
        f"{name} {value!r}"
        for name, value in (
            ("URI", args.uri),
            (_("label"), args.token_label),
            (_("serial"), args.serial),
        )
        if value is not None
    ]
    return _("no token matches {wanted}; run 'ukeytool list-tokens' to see them all").format(
        wanted=_(" and ").join(wanted)
    )


def _emit(text: str, output: str | None) -> None:
    if output:
        from ..rendering.prometheus import write_textfile

        try:
            write_textfile(output, text)
        except OSError as exc:
            message = _("cannot write {path}: {reason}")
            raise UsageError(message.format(path=output, reason=exc.strerror or exc)) from None
        return
    data = text.encode("utf-8", "backslashreplace")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _only_failures(failures: Sequence[ModuleFailure]) -> int:
    """Every module failed: one line each, and the exit code of the worst kind."""
    for failure in failures:
        message = _failure_text(failure.kind, failure.path, failure.message)
        sys.stderr.write(_("ukeytool: error: {message}").format(message=message) + "\n")
    return max(_FAILURE_CODES.get(f.kind, ExitCode.MODULE_UNUSABLE) for f in failures)


#: Exit codes by ModuleFailure.kind; every other kind is MODULE_UNUSABLE. The worst kind
#: of several is the highest code: crashed > timed out > failed a call > unusable.
_FAILURE_CODES = {
    "ModuleCallFailed": ExitCode.MODULE_FAILED,
    "ModuleTimedOut": ExitCode.MODULE_TIMED_OUT,
    "ModuleCrashed": ExitCode.MODULE_CRASHED,
}


def _list_tokens(args: argparse.Namespace) -> int:
    _renewal_setup(args)
    reports, failures, now = _inspect_all(args)
    if not reports:
        return _only_failures(failures)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        from ..rendering.json import render_json

        text = render_json(
            reports,
            generated_at=now,
            failures=failures,
            show_personal_data=args.show_personal_data,
        )
    elif fmt == "prometheus":
        from ..rendering.prometheus import render_prometheus

        text = render_prometheus(
            reports, failures=failures, show_personal_data=args.show_personal_data
        )
    else:
        from ..rendering.text import render_text

        color = _use_color(args.color) and not args.output
        text = render_text(
            reports,
            color=color,
            certificate_uris=args.uris,
            failures=failures,
            show_personal_data=args.show_personal_data,
            details=args.details,
        )
    # (JSON and text take the language of the context main() set up.)
    _emit(text, args.output)
    _login_note(reports)
    login_exit = _login_exit(reports)
    if login_exit is not None:
        return login_exit
    complete = not failures and all(r.complete for r in reports)
    return ExitCode.OK if complete else ExitCode.INCOMPLETE


def _check(args: argparse.Namespace) -> int:
    from ..rendering.check import check_reports, check_to_dict

    if args.crit_days > args.warn_days:
        raise UsageError(
            _("--crit-days ({crit}) must not be greater than --warn-days ({warn})").format(
                crit=args.crit_days, warn=args.warn_days
            )
        )
    _renewal_setup(args)
    reports, failures, _now = _inspect_all(args)
    result = check_reports(
        reports,
        warn_days=args.warn_days,
        crit_days=args.crit_days,
        failures=failures,
        show_personal_data=args.show_personal_data,
    )
    if args.format == "json":
        import json

        text = json.dumps(check_to_dict(result), ensure_ascii=False, indent=2) + "\n"
    elif args.format == "prometheus":
        from ..rendering.prometheus import render_prometheus

        text = render_prometheus(
            reports, failures=failures, show_personal_data=args.show_personal_data
        )
    else:
        text = result.output()
    _emit(text, args.output)
    _login_note(reports)
    if _login_exit(reports) is not None:
        return 3  # UNKNOWN: the private objects asked for could not be seen
    return result.exit_code


def _list_modules(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..config.discovery import default_catalogue_paths, discover, no_module_message

    catalogues = None
    if args.catalogue:
        catalogues = [Path(args.catalogue), *default_catalogue_paths()]
    found = discover(
        explicit=args.module or (),
        catalogue_paths=catalogues,
        include_catalogue=not args.no_catalogue,
    )

    # The notes and problems are made in English (discovery is library code) and shown in
    # the current language, in the listing and in the JSON (as the listing JSON's
    # messages); a problem no template knows gets a translated lead-in.
    def note(text: str | None) -> str | None:
        return None if text is None else localize(text)

    def problem(path: str, text: str | None) -> str | None:
        return None if text is None else _failure_text("ModuleError", path, text)

    if args.json:
        import json

        doc = [
            dataclasses.asdict(m)
            | {"note": note(m.note), "problem": problem(m.path, m.problem), "usable": m.usable}
            for m in found
        ]
        text = json.dumps(
            {"modules": doc, "language": get_language()}, ensure_ascii=False, indent=2
        )
        _emit(text + "\n", None)
        return ExitCode.OK
    if not found:
        _emit(no_module_message() + "\n", None)
        return ExitCode.OK
    lines = []
    for m in found:
        if m.usable:
            state = _("used")
        elif m.problem:
            state = _("not used: problem")
        else:
            state = _("not used: disabled")
        about = ", ".join(x for x in (m.name, m.vendor) if x)
        lines.append(
            f"{m.path}  [{state}]  "
            + _("from {source}").format(source=m.source)
            + ("  " + _("({about})").format(about=about) if about else "")
        )
        for extra in (note(m.note), problem(m.path, m.problem)):
            if extra:
                lines.append(f"    {extra}")
    _emit("\n".join(lines) + "\n", None)
    return ExitCode.OK


def _pkcs12_password() -> PasswordSource:
    """$UKEYTOOL_PKCS12_PASSWORD (as bytes: it need not be UTF-8), else a prompt when
    standard input is a terminal, else none. Never argv."""
    given = os.environb.get(PKCS12_PASSWORD_ENV.encode())
    if given is not None:
        return given
    if sys.stdin is not None and sys.stdin.isatty():
        return _ask_pkcs12_password
    return None


def _ask_pkcs12_password(path: str) -> str | None:
    import getpass

    from ..model.text import escape_control

    try:
        prompt = _("Password for PKCS#12 file {path}: ").format(path=escape_control(path))
        return getpass.getpass(prompt)
    except EOFError:  # Ctrl-D: no password for this file
        sys.stderr.write("\n")
        return None


def _inspect_file(args: argparse.Namespace) -> int:
    from ..certificates.files import inspect_files

    now = datetime.datetime.now(datetime.timezone.utc)
    password = _pkcs12_password()
    files = inspect_files(
        args.paths, at=args.at or now, warn_days=args.warn_days, password=password
    )
    if not any(report.opened for report in files):
        for report in files:
            for problem in report.problems:  # made in English by _files: translated here
                message = localize(problem.message)
                sys.stderr.write(_("ukeytool: error: {message}").format(message=message) + "\n")
        return ExitCode.USAGE
    if args.json or args.format == "json":
        from ..rendering.json import render_files_json

        text = render_files_json(
            files, generated_at=now, show_personal_data=args.show_personal_data
        )
    else:
        from ..rendering.text import render_files_text

        text = render_files_text(
            files, color=_use_color(args.color), show_personal_data=args.show_personal_data
        )
    _emit(text, None)
    if password is None and _needs_password(files):
        hint = _(
            "ukeytool: give PKCS#12 passwords in the environment variable {env}, "
            "or run ukeytool on a terminal to be asked for them"
        ).format(env=PKCS12_PASSWORD_ENV)
        sys.stderr.write(hint + "\n")
    return ExitCode.OK if all(report.complete for report in files) else ExitCode.INCOMPLETE


def _needs_password(files: Sequence[FileReport]) -> bool:
    return any(p.where == "password" for report in files for p in report.problems)


def _fail(message: str, code: int) -> int:
    sys.stderr.write(_("ukeytool: error: {message}").format(message=message) + "\n")
    return code


def _failure_text(kind: str, path: str, message: Message | str) -> str:
    """A module error's message in the current language. Module errors are made in
    English (perhaps in the isolation child) and translated here; a sentence no template
    knows gets a translated lead-in before the English."""
    shown = localize(message)
    if shown != message or get_language() == "en":
        return shown
    if kind == ModuleCallFailed.__name__:
        return _("the module failed: {detail}").format(detail=message)
    return _("the module cannot be used: {detail}").format(detail=message)


def _error_text(exc: UkeytoolError) -> str:
    """An error's message in the current language (see :func:`_failure_text`)."""
    if isinstance(exc, ModuleError):
        return _failure_text(type(exc).__name__, exc.path, exc.message)
    return localize(exc.message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ukeytool with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    The language (``--lang``, else the locale) is chosen before the parser is built, so
    that ``--help`` and argparse's own messages are in it too."""
    words = list(sys.argv[1:] if argv is None else argv)
    lang = _requested_language(words)
    with using(lang), _argparse_speaks():
        parser = build_parser()
        try:
            args = parser.parse_args(words)
        except SystemExit as exc:  # --help, --version, or a usage error already printed
            code = int(exc.code or 0) if not isinstance(exc.code, str) else ExitCode.USAGE
            # A monitoring plugin's usage error is UNKNOWN (3), whichever parser saw it.
            return 3 if code == ExitCode.USAGE and _command_of(words) == "check" else code
        with using(args.lang or lang):
            return _dispatch(parser, args)


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command is None:
        parser.print_usage(sys.stderr)
        return _fail(_("no command given; try 'ukeytool list-tokens --help'"), ExitCode.USAGE)
    if args.command == "check":
        return _run_check(args)
    handler = _list_tokens if args.command == "list-tokens" else _list_modules
    if args.command == "inspect-file":
        handler = _inspect_file
    try:
        return handler(args)
    except UsageError as exc:
        return _fail(_error_text(exc), ExitCode.USAGE)
    except ModuleTimedOut as exc:
        return _fail(_error_text(exc), ExitCode.MODULE_TIMED_OUT)
    except ModuleCrashed as exc:
        return _fail(_error_text(exc), ExitCode.MODULE_CRASHED)
    except ModuleCallFailed as exc:
        return _fail(_error_text(exc), ExitCode.MODULE_FAILED)
    except ModuleError as exc:
        return _fail(_error_text(exc), ExitCode.MODULE_UNUSABLE)
    except UkeytoolError as exc:
        return _fail(_error_text(exc), ExitCode.INCOMPLETE)
    except KeyboardInterrupt:
        return _fail(_("interrupted"), ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Exception as exc:
        return _internal_error(exc)


def _run_check(args: argparse.Namespace) -> int:
    """The check command: every failure is UNKNOWN (3), on one plugin status line."""
    try:
        return _check(args)
    except UkeytoolError as exc:
        sys.stdout.write(f"UKEYTOOL UNKNOWN - {_error_text(exc)}\n")
        return 3
    except KeyboardInterrupt:
        return _fail(_("interrupted"), ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Exception as exc:
        _internal_error(exc)
        return 3


def _quiet_broken_pipe() -> int:
    # The reader went away (`| head`): not an error of ours; keep Python quiet.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return ExitCode.OK


def _internal_error(exc: Exception) -> int:
    if os.environ.get("UKEYTOOL_DEBUG"):
        raise exc
    detail = str(exc) or type(exc).__name__
    message = _(
        "internal error: {kind}: {error} (this is a bug in ukeytool; run again with "
        "UKEYTOOL_DEBUG=1 and report the traceback)"
    )
    return _fail(message.format(kind=type(exc).__name__, error=localize(detail)), ExitCode.INTERNAL)


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
