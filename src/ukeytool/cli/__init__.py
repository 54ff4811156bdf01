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

It imports nothing at start-up that the run does not use: ``--version`` and ``--help``
build the top-level parser alone, a command imports its own module and what it runs,
and nothing loads python-pkcs11, cryptography or the Chinese catalogue unless it is used
(docs/development.md, "Start-up"). It is the one place that reads the clock.
"""

from __future__ import annotations

import os
import sys

from .. import _lazy_getattr

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NoReturn

    from .argparse_i18n import ARGPARSE_MESSAGES, ARGPARSE_PLURALS
    from .exits import ExitCode
    from .parser import build_parser
    from .reporting import only_failures as _only_failures  # noqa: F401 (__getattr__)

__all__ = ["ARGPARSE_MESSAGES", "ARGPARSE_PLURALS", "ExitCode", "build_parser", "main", "run"]


_lazy = _lazy_getattr(
    "ukeytool.cli",
    globals(),
    {
        "ARGPARSE_MESSAGES": "argparse_i18n",
        "ARGPARSE_PLURALS": "argparse_i18n",
        "ExitCode": "exits",
        "build_parser": "parser",
    },
)


def __getattr__(name: str) -> Any:
    # Imported on first use, for the tests and scripts that import them from here
    # (_only_failures is reporting.only_failures): main() itself imports the parser
    # only after it started the isolation child (_early_child).
    if name == "_only_failures":
        from .reporting import only_failures

        return only_failures
    return _lazy(name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ukeytool with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    The language (``--lang``, else the locale) is chosen before the parser is built, so
    that ``--help`` and argparse's own messages are in it too. Only the command named in
    ``argv`` is built and imported (see :func:`.parser.build_parser`). A command that
    inspects with isolation starts its child first, from the words alone, before even
    argparse is imported (:func:`_early_child`)."""
    words = list(sys.argv[1:] if argv is None else argv)
    early = _early_child(words)
    with early:
        return _main(words, early)


def _main(words: list[str], early: Any) -> int:
    from ..i18n import _, using
    from .argparse_i18n import argparse_speaks
    from .exits import ExitCode
    from .parser import build_parser, requested_language

    lang = requested_language(words)
    with using(lang), argparse_speaks():
        parser = build_parser(words)
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
                from .reporting import error_line

                parser.print_usage(sys.stderr)
                error_line(_("no command given; try 'ukeytool list-tokens --help'"))
                return ExitCode.USAGE
            options = vars(args)
            if not options.get("early_child") or options.get("no_isolation"):
                early.stop()  # started for words that turned out to ask for none
            from .inspection import warnings_shown
            from .prompts import secrets_withheld
            from .reporting import run_command
            from .signals import interruptible, terminated_as_interrupted

            if not options.get("early_child"):
                start_up_done()  # (list-tokens and check: when their inspection starts)
            with secrets_withheld(), terminated_as_interrupted(), warnings_shown():
                return run_command(interruptible(args.run, args.reporter), args, args.reporter)


#: The commands that inspect tokens with isolation unless --no-isolation is given (they
#: say ``early_child=True`` in their parser's defaults; a test compares the two).
EARLY_CHILD_COMMANDS = ("list-tokens", "check")
#: Options after which no child is started early: they ask for none, or for no run at
#: all. argparse takes a long option abbreviated, so any prefix of them counts.
_NO_EARLY_CHILD = ("--no-isolation", "--help", "--version")


class _NoChild:
    """No child started early (what :class:`~ukeytool.pkcs11.isolate_spawn.Prestart`
    does, doing nothing)."""

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass

    def stop(self) -> None:
        pass


def _early_child(words: Sequence[str]) -> Any:
    """When ``words`` name a command that inspects with isolation, and none of them asks
    for no isolation or for help: the isolation child is started now, before the parser
    is built and before this process imports what the command needs, so that the two
    interpreters start at once (:class:`ukeytool.pkcs11.isolate_spawn.Prestart`; the
    child loads no module before its request). Read from the words alone, before
    argparse: if the parsed arguments want no child after all, ``stop()`` stops
    it; a usage error stops it on the way out. This runs before the parser and argparse
    are imported: the child's interpreter starts while this one imports them."""
    from .words import command_of

    if command_of(words) not in EARLY_CHILD_COMMANDS:
        return _NoChild()
    for word in words:
        if word == "--":
            break
        option = word.partition("=")[0]
        if option == "-h" or (
            len(option) > 2 and any(name.startswith(option) for name in _NO_EARLY_CHILD)
        ):
            return _NoChild()
    from ..pkcs11.isolate_spawn import Prestart

    return Prestart()


#: True while the console script keeps the cyclic garbage collector paused (run()).
_GC_PAUSED = [False]
#: True in the console script (run()), where this process is ukeytool's alone.
_CONSOLE = [False]


def run() -> NoReturn:
    """Console-script entry point.

    The cyclic garbage collector is paused during the start-up: the imports make some
    hundred thousand objects and hardly any garbage, and its collections cost about
    10 ms a run. :func:`start_up_done` starts it again (with what exists by then frozen,
    never scanned again) before the command's own work: for ``list-tokens`` and
    ``check`` when their inspection starts, so that the work that grows with the
    certificates always runs with it."""
    import gc

    gc.disable()
    _GC_PAUSED[0] = True
    _CONSOLE[0] = True
    code = main()
    _straight_out(code)
    sys.exit(code)


def start_up_done() -> None:
    """The start-up is over: the garbage collector the console script paused goes on
    again, the objects made so far frozen (:func:`gc.freeze`). Nothing when it was not
    paused (``main()`` called in a process of its own: the tests, a library caller)."""
    if _GC_PAUSED[0]:
        import gc

        _GC_PAUSED[0] = False
        gc.freeze()
        gc.enable()


def report_made() -> None:
    """The report is complete and will not change: in the console script, everything
    made so far is frozen (:func:`gc.freeze`), so that the collections the output's
    short-lived objects set off no longer walk the whole report (a full collection of
    the report of 5000 certificates costs some 40 ms of a JSON listing). Nothing when
    ``main()`` runs in another program's process (the tests, a library caller): that
    process's objects are not ours to freeze."""
    if _CONSOLE[0]:
        import gc

        gc.freeze()


def _straight_out(code: int) -> None:
    """End the process at once, everything written: the interpreter's teardown (freeing
    every module's objects, OpenSSL's exit handlers) costs about 20 ms a run and writes
    nothing. The exit functions (:mod:`atexit`: logging's flush among them) still run.
    Not when another thread runs (the normal exit waits for it) or when standard output
    or error cannot be flushed (the normal exit then says so as it always did): this
    returns, and the caller exits the usual way."""
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        return
    import atexit

    atexit._run_exitfuncs()
    atexit._clear()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        return
    os._exit(code)
