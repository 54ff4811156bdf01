"""The command line's parsers: the top level, one subparser per command (each command
module adds its own), and the options several commands share, each declared once as an
argparse parent parser.

The parsers are built anew by every main() call, inside the language main() chose, so that
every help text is looked up in that language; and only the command being run is built in
full (:func:`build_parser`), so that ``--version``, ``--help`` and each command import only
what they use (docs/development.md, "Start-up").
"""

from __future__ import annotations

import argparse
import functools
import sys

from .._version import __version__
from ..i18n import LANGUAGES, N_, _, language_from_env
from ..i18n.message import template
from .argparse_i18n import translated_error
from .exits import EXIT_CODES_HELP, PLUGIN_UNKNOWN, ExitCode
from .layout import HelpFormatter
from .words import command_of as _command_of

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Final, NoReturn, TypeAlias

__all__ = [
    "CHECK_TIMEOUT",
    "COMMANDS",
    "SharedOptions",
    "Subcommands",
    "UsageParser",
    "add_no_isolation_and_renewal",
    "add_selection",
    "add_trace_and_personal_data",
    "build_parser",
    "inherit",
    "requested_language",
    "uri_operand",
]

#: check's --timeout default, in seconds: below the 60 seconds Nagios, Icinga and NRPE
#: give a check by default, so that the plugin's own UNKNOWN line arrives first.
#: list-tokens keeps :data:`~.options.DEFAULT_TIMEOUT` (60), having no such caller.
CHECK_TIMEOUT: Final = 50.0

COMMANDS: Final = (
    ("list-tokens", "list_tokens", N_("list slots, tokens and certificates with their validity")),
    (
        "check",
        "check",
        N_("monitoring check: Nagios/Icinga exit codes, performance data, Prometheus"),
    ),
    (
        "list-modules",
        "list_modules",
        N_("show the PKCS#11 modules ukeytool can find, and where from"),
    ),
    (
        "inspect-file",
        "inspect_file",
        N_("read certificates from files (PEM, DER, PKCS#7, PKCS#12) instead of a token"),
    ),
    ("watch", "watch", N_("wait for tokens to be plugged in and pulled out, and list each one")),
)
"""The commands, in the order ``--help`` lists them: each one's name, its module (which
adds its parser) and its one-line help, the same words as the module's own ``help=`` (a
test keeps them equal), so that ``ukeytool --help`` lists every command without importing
their modules."""

URI_OPERAND_NOT_URI: Final = template(
    "cli.uri_operand_not_uri",
    "{operand} is not a pkcs11: URI; the one operand is a URI such as "
    "'pkcs11:token=NAME' (the same as --uri)",
)
URI_OPERAND_DIFFERS: Final = template(
    "cli.uri_operand_differs",
    "the URI operand {operand} and --uri {option} differ; give one of them",
)


class UsageParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exits with
    :attr:`usage_exit_code`, and lays out help with :class:`~.layout.HelpFormatter`."""

    usage_exit_code: int = ExitCode.USAGE
    """The exit code of a usage error: 2, or 3 (UNKNOWN) for the monitoring check."""
    commands: Subcommands | None = None
    """The top level's subparsers (None for a command's parser)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    words: Sequence[str] | None = None
    """The words being parsed (set by :meth:`parse_known_args`)."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self.words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        from ..model.text import escape_control

        message = translated_error(message)
        line = _("{prog}: error: {message} (see --help)").format(prog=self.prog, message=message)
        code = self.usage_exit_code
        if self.commands is not None and self.words is not None:
            code = self.usage_exit_code_for(self.words)
        if code == PLUGIN_UNKNOWN:
            # A monitoring system shows standard output: the plugin's UNKNOWN status line.
            sys.stdout.write(f"UKEYTOOL UNKNOWN - {escape_control(line)}\n")
            sys.stdout.flush()
        self.exit(code, escape_control(line) + "\n")

    def usage_exit_code_for(self, words: Sequence[str]) -> int:
        """The usage error exit code for a command line: the code of the command it
        names, even when the top level found the error (``check --bogus`` is 3)."""
        name = _command_of(words)
        command = None if self.commands is None or name is None else self.commands.choices.get(name)
        return command.usage_exit_code if isinstance(command, UsageParser) else self.usage_exit_code


Subcommands: TypeAlias = "argparse._SubParsersAction[UsageParser]"


def inherit(parser: argparse.ArgumentParser, *parents: argparse.ArgumentParser) -> None:
    """Add the options of ``parents`` to ``parser`` at this point of its option list.

    What ``ArgumentParser(parents=...)`` does (through the same argparse method), but
    after options of the parser's own: the order of options is the order of ``--help``,
    which stays as it is documented."""
    for parent in parents:
        parser._add_container_actions(parent)


def _parent() -> UsageParser:
    return UsageParser(add_help=False)


class SharedOptions:
    """The options several commands share, each declared once, as parent parsers; each
    is made when a command first asks for it, so that a command builds (and imports the
    types of) only the options it has."""

    def __init__(self, lang: UsageParser | None = None) -> None:
        self.lang = lang or _lang()
        """--lang: every command and the top level."""

    @functools.cached_property
    def judging(self) -> UsageParser:
        """--warn-days and --at: list-tokens, check, inspect-file."""
        return _judging()

    @functools.cached_property
    def inspection(self) -> UsageParser:
        """Everything list-tokens and check share: modules, judging, selection, --output,
        login, --trace, --show-personal-data, isolation, renewal advice and --lang."""
        return _inspection(self.judging, self.lang)

    @functools.cached_property
    def plugin(self) -> UsageParser:
        """The same for check, as monitoring plugins name them: ``-w``, ``-t``, and
        :data:`CHECK_TIMEOUT` as --timeout's default."""
        return _inspection(_judging(plugin=True), self.lang, plugin=True)

    @functools.cached_property
    def json(self) -> UsageParser:
        """--json as the same as --format json: list-tokens, inspect-file."""
        return _json()

    @functools.cached_property
    def color(self) -> UsageParser:
        """--color: list-tokens, inspect-file."""
        return _color()


def _judging(*, plugin: bool = False) -> UsageParser:
    """--warn-days and --at; ``plugin``: with the monitoring plugins' ``-w``."""
    from . import values

    parser = _parent()
    parser.add_argument(
        *(("-w", "--warn-days") if plugin else ("--warn-days",)),
        type=values.days,
        default=30,
        metavar="N",
        help=_("certificates expiring within N days are 'expiring' (default: {days})").format(
            days=30
        ),
    )
    parser.add_argument(
        "--at",
        type=values.moment,
        metavar="WHEN",
        help=_(
            "judge validity at this ISO 8601 moment instead of now, e.g. 2027-06-30 "
            "(a date or a time without zone is taken as UTC)"
        ),
    )
    return parser


def _lang() -> UsageParser:
    parser = _parent()
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=argparse.SUPPRESS,  # main() reads the language given anywhere
        help=_(
            "the language of the output: en (English) or zh (Simplified Chinese); "
            "default: from the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG; zh_CN.UTF-8 "
            "gives zh)"
        ),
    )
    return parser


def _json() -> UsageParser:
    parser = _parent()
    parser.add_argument("--json", action="store_true", help=_("the same as --format json"))
    return parser


def _color() -> UsageParser:
    parser = _parent()
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help=_("colour statuses (default auto: on a terminal, unless NO_COLOR is set)"),
    )
    return parser


def add_selection(parser: argparse.ArgumentParser, *, operand: bool) -> None:
    """--uri, --token-label and --serial (``operand``: and a URI operand), as a group."""
    select = parser.add_argument_group(
        _("selecting tokens (a URI matches the raw bytes; a label or serial the text as shown)")
    )
    if operand:
        select.add_argument(
            "uri_operand",
            nargs="?",
            metavar="URI",
            help=_("an RFC 7512 pkcs11: URI, as p11tool takes it: the same as --uri"),
        )
    select.add_argument("--uri", metavar="URI", help=_("an RFC 7512 pkcs11: URI"))
    select.add_argument("--token-label", metavar="LABEL", help=_("the token's label"))
    select.add_argument("--serial", metavar="SERIAL", help=_("the token's serial number"))


def add_trace_and_personal_data(parser: argparse.ArgumentParser) -> None:
    """--trace and --show-personal-data."""
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


def add_no_isolation_and_renewal(
    parser: argparse.ArgumentParser, isolation: argparse._ArgumentGroup
) -> None:
    """--no-isolation (in the ``isolation`` group, after --timeout), then the renewal
    advice group: --bank and --renewal-policies."""
    isolation.add_argument(
        "--no-isolation",
        action="store_true",
        help=_(
            "inspect the modules inside ukeytool's own process (for a debugger); a "
            "module that hangs or crashes then hangs or crashes ukeytool"
        ),
    )
    renewal = parser.add_argument_group(
        _("renewal advice (each bank's rules: docs/renewal.md in the source distribution)")
    )
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


def _inspection(judging: UsageParser, lang: UsageParser, *, plugin: bool = False) -> UsageParser:
    """The options list-tokens and check share; ``plugin``: check's, with ``-t`` and
    :data:`CHECK_TIMEOUT` as --timeout's default."""
    from . import values
    from .options import DEFAULT_TIMEOUT

    parser = _parent()
    parser.add_argument(
        "--module",
        metavar="PATH",
        action="append",
        help=_(
            "a vendor's PKCS#11 module (.so); repeat for several. Default: $PKCS11_MODULE, "
            "else every module found by discovery (see list-modules)"
        ),
    )
    inherit(parser, judging)
    add_selection(parser, operand=True)
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
    add_trace_and_personal_data(parser)
    isolation = parser.add_argument_group(
        _(
            "isolation (each module is inspected in a child process of its own, so a module "
            "that hangs or crashes cannot take ukeytool down)"
        )
    )
    isolation.add_argument(
        *(("-t", "--timeout") if plugin else ("--timeout",)),
        type=values.seconds,
        metavar="SECONDS",
        help=_(
            "stop a module that has not answered within SECONDS (default: {default}; "
            "0: no limit); it is reported, the other modules are still listed"
        ).format(default=f"{CHECK_TIMEOUT if plugin else DEFAULT_TIMEOUT:g}"),
    )
    add_no_isolation_and_renewal(parser, isolation)
    inherit(parser, lang)
    return parser


def shared_options(lang: UsageParser | None = None) -> SharedOptions:
    """The shared options, in the current language (``lang``: --lang, made already)."""
    return SharedOptions(lang)


def build_parser(words: Sequence[str] | None = None) -> UsageParser:
    """The whole command line, in the current language.

    Given the ``words`` about to be parsed, only the commands named among them are built
    in full (importing their modules); the others get a parser with their name and help
    only, which is all that ``ukeytool --help`` and an unknown command's error show, and
    which argparse never runs, since their name is not among the words."""
    shared: SharedOptions | None = None
    lang = _lang()
    parser = UsageParser(
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
    inherit(parser, lang)
    parser.commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=UsageParser
    )
    for name, module, help_text in COMMANDS:
        if words is not None and name not in words:
            parser.commands.add_parser(name, help=_(help_text))
            continue
        if shared is None:
            shared = shared_options(lang)
        from importlib import import_module

        import_module(f"{__package__}.{module}").add_parser(parser.commands, shared)
    return parser


def requested_language(words: Sequence[str]) -> str:
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


def uri_operand(args: argparse.Namespace) -> argparse.Namespace:
    """list-tokens' and check's namespace with the URI operand taken as --uri (p11tool
    takes its URI so); raises :class:`UsageError` for an operand that is not a
    ``pkcs11:`` URI, or for an operand and --uri that select different tokens."""
    operand: str | None = getattr(args, "uri_operand", None)
    if operand is None:
        return args
    from ..errors import UsageError
    from ..pkcs11.uri import parse_uri

    if not operand.strip().lower().startswith("pkcs11:"):
        raise UsageError(URI_OPERAND_NOT_URI(operand=repr(operand)))
    option: str | None = args.uri
    if option is not None and parse_uri(option) != parse_uri(operand):
        raise UsageError(URI_OPERAND_DIFFERS(operand=repr(operand), option=repr(option)))
    return argparse.Namespace(**{**vars(args), "uri": option or operand})
