"""The ``ukeytool`` command line: parses arguments, picks a renderer, maps errors to exit codes.

It imports nothing heavy at start-up: ``--version`` and ``--help`` answer without
loading python-pkcs11 or cryptography. It is the one place that reads the clock.
"""

from __future__ import annotations

import argparse
import datetime
import enum
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from ._errors import (
    ModuleCallFailed,
    ModuleError,
    UkeytoolError,
    UsageError,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._model import Report

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
    """The module loaded but failed (C_Initialize, C_GetInfo or C_GetSlotList)."""
    INCOMPLETE = 5
    """Something could not be read (a slot, a token, an object); what could be read is
    listed, and each problem is shown where it happened."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C)."""


EXIT_CODES_HELP = """\
exit codes:
  0  everything was read
  1  internal error in ukeytool (set UKEYTOOL_DEBUG=1 for a traceback)
  2  usage error: bad option or value, no module given
  3  the module cannot be loaded (not found, not a shared library, wrong CPU,
     missing dependency, not a PKCS#11 module)
  4  the module failed (C_Initialize, C_GetInfo or C_GetSlotList returned an error)
  5  listed, but something could not be read; problems are shown where they happened
130  interrupted
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exits with ExitCode.USAGE."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message} (see --help)\n")


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
                f"{text!r} is not an ISO 8601 date or moment, e.g. 2027-06-30 or "
                "2027-06-30T12:00:00+08:00"
            ) from None
        moment = datetime.datetime(day.year, day.month, day.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def _warn_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days >= 0")
    return days


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ukeytool",
        description=(
            "Inspect PKCS#11 tokens (banking USB keys, smart cards, HSMs) read-only and "
            "report which certificates still work. Never writes to a token and never logs in, "
            "so no PIN try is ever spent."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ukeytool {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser(
        "list-tokens",
        help="list slots, tokens and certificates with their validity",
        description=(
            "List every slot of a PKCS#11 module, its token, and each certificate on it "
            "with its validity: valid, expiring, expired, not yet valid or unreadable. "
            "No login: certificates marked private are not visible."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument(
        "--module",
        metavar="PATH",
        help="the vendor's PKCS#11 module (.so); default: $PKCS11_MODULE",
    )
    listing.add_argument("--json", action="store_true", help="one JSON document (UTF-8)")
    listing.add_argument(
        "--warn-days",
        type=_warn_days,
        default=30,
        metavar="N",
        help="report certificates expiring within N days as 'expiring' (default: 30)",
    )
    listing.add_argument(
        "--at",
        type=_parse_at,
        metavar="WHEN",
        help="judge validity at this ISO 8601 moment instead of now, e.g. 2027-06-30 "
        "(a date or a time without zone is taken as UTC)",
    )
    listing.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the status column (default: auto: on a terminal, unless NO_COLOR is set)",
    )
    return parser


def _use_color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def _module_path(given: str | None) -> str:
    path = given or os.environ.get("PKCS11_MODULE")
    if not path:
        raise UsageError(
            "no PKCS#11 module given: pass --module PATH or set PKCS11_MODULE to the "
            "vendor's .so file (for SoftHSM: /usr/lib/softhsm/libsofthsm2.so)"
        )
    return path


def _list_tokens(args: argparse.Namespace) -> int:
    from ._inspect import inspect

    now = datetime.datetime.now(datetime.timezone.utc)
    at = args.at or now
    report = inspect(_module_path(args.module), at=at, warn_days=args.warn_days)
    _write(report, args, generated_at=now)
    return ExitCode.OK if report.complete else ExitCode.INCOMPLETE


def _write(report: Report, args: argparse.Namespace, *, generated_at: datetime.datetime) -> None:
    if args.json:
        from ._render_json import render_json

        data = render_json([report], generated_at=generated_at).encode("utf-8")
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        from ._render_text import render_text

        text = render_text([report], color=_use_color(args.color))
        # Never fail on a label the terminal's encoding cannot show.
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="backslashreplace")
        sys.stdout.write(text)
        sys.stdout.flush()


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"ukeytool: error: {message}\n")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run ukeytool with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return int(exc.code or 0) if not isinstance(exc.code, str) else ExitCode.USAGE
    if args.command is None:
        parser.print_usage(sys.stderr)
        return _fail("no command given; try 'ukeytool list-tokens --help'", ExitCode.USAGE)
    try:
        return _list_tokens(args)
    except UsageError as exc:
        return _fail(str(exc), ExitCode.USAGE)
    except ModuleCallFailed as exc:
        return _fail(str(exc), ExitCode.MODULE_FAILED)
    except ModuleError as exc:
        return _fail(str(exc), ExitCode.MODULE_UNUSABLE)
    except UkeytoolError as exc:
        return _fail(str(exc), ExitCode.INCOMPLETE)
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours; keep Python quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK
    except Exception as exc:
        if os.environ.get("UKEYTOOL_DEBUG"):
            raise
        detail = str(exc) or type(exc).__name__
        return _fail(
            f"internal error: {type(exc).__name__}: {detail} (this is a bug in ukeytool; "
            "run again with UKEYTOOL_DEBUG=1 and report the traceback)",
            ExitCode.INTERNAL,
        )


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
