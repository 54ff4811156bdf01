"""The ``ukeytool`` command line: parses arguments, runs one command, maps errors to exit
codes.

One module per command (:mod:`.list_tokens`, :mod:`.check`, :mod:`.list_modules`,
:mod:`.inspect_file`), each adding its subparser and running it from a frozen value of its
options; what they share: the parsers and the shared options (:mod:`.parser`), the
options' types (:mod:`.values`) and state (:mod:`.options`), the exit codes and the one
table from errors to them (:mod:`.exits`), how errors are shown (:mod:`.reporting`),
inspecting tokens (:mod:`.inspection`, :mod:`.login`), the secrets asked for
(:mod:`.prompts`), where output goes (:mod:`.output`), and argparse in Chinese
(:mod:`.argparse_i18n`, :mod:`.layout`).

It imports nothing heavy at start-up: ``--version`` and ``--help`` answer without
loading python-pkcs11 or cryptography. It is the one place that reads the clock.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

from ..i18n import _, using
from .argparse_i18n import ARGPARSE_MESSAGES, ARGPARSE_PLURALS, argparse_speaks
from .exits import ExitCode
from .inspection import warnings_shown
from .parser import build_parser, requested_language
from .prompts import secrets_withheld
from .reporting import error_line, only_failures, run_command
from .signals import interruptible, terminated_as_interrupted

__all__ = ["ARGPARSE_MESSAGES", "ARGPARSE_PLURALS", "ExitCode", "build_parser", "main", "run"]

#: Kept for the tests and scripts that import it from here.
_only_failures = only_failures


def main(argv: Sequence[str] | None = None) -> int:
    """Run ukeytool with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    The language (``--lang``, else the locale) is chosen before the parser is built, so
    that ``--help`` and argparse's own messages are in it too."""
    words = list(sys.argv[1:] if argv is None else argv)
    lang = requested_language(words)
    with using(lang), argparse_speaks():
        parser = build_parser()
        try:
            args = parser.parse_args(words)
        except SystemExit as exc:  # --help, --version, or a usage error already printed
            if isinstance(exc.code, str):
                return parser.usage_exit_code_for(words)
            code = int(exc.code or 0)
            return parser.usage_exit_code_for(words) if code == ExitCode.USAGE else code
        # --lang may also have been given abbreviated (--la zh), which only argparse knows.
        with using(vars(args).get("lang") or lang):
            if args.command is None:
                parser.print_usage(sys.stderr)
                error_line(_("no command given; try 'ukeytool list-tokens --help'"))
                return ExitCode.USAGE
            with secrets_withheld(), terminated_as_interrupted(), warnings_shown():
                return run_command(interruptible(args.run, args.reporter), args, args.reporter)


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
