"""``ukeytool inspect-file``: the certificates in files (PEM, DER, PKCS#7, PKCS#12), as
bank software keeps "soft" certificates on disk, reported as on a token. No PKCS#11 module
is loaded."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from ..i18n import N_, _, render
from ..model.text import escape_control
from .exits import ExitCode
from .output import emit, use_color
from .parser import SharedOptions, Subcommands, inherit
from .prompts import PKCS12_PASSWORD_ENV, pkcs12_password
from .reporting import STANDARD, error_line

if TYPE_CHECKING:
    from ..model import FileReport

__all__ = ["INSPECT_FILE_EXIT_HELP", "InspectFileOptions", "add_parser", "run"]

INSPECT_FILE_EXIT_HELP: Final = N_("""\
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
130  interrupted (Ctrl-C)
143  terminated (SIGTERM)
""")


@dataclasses.dataclass(frozen=True)
class InspectFileOptions:
    """What an inspect-file run was asked for."""

    paths: tuple[str, ...]
    """The files, in the order given."""
    warn_days: int
    """--warn-days."""
    at: datetime.datetime | None
    """--at: the moment to judge at; None for the moment of the run."""
    format: str
    """``"text"`` or ``"json"`` (also for --json)."""
    show_personal_data: bool
    """--show-personal-data."""
    color: str
    """--color."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> InspectFileOptions:
        return cls(
            paths=tuple(args.paths),
            warn_days=args.warn_days,
            at=args.at,
            format="json" if args.json else args.format,
            show_personal_data=args.show_personal_data,
            color=args.color,
        )


def add_parser(commands: Subcommands, shared: SharedOptions) -> None:
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
    inherit(files, shared.judging)
    files.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help=_("text (default) or one JSON document (the list-tokens schema, with 'files')"),
    )
    inherit(files, shared.json)
    files.add_argument(
        "--show-personal-data",
        action="store_true",
        help=_(
            "show ID-card and other identity numbers in full; by default they are "
            "partly masked (110***********002X)"
        ),
    )
    inherit(files, shared.lang, shared.color)
    files.set_defaults(run=run, reporter=STANDARD)


def run(args: argparse.Namespace) -> int:
    from ..certificates.files import inspect_files

    options = InspectFileOptions.from_args(args)
    now = datetime.datetime.now(datetime.timezone.utc)
    password = pkcs12_password()
    files = inspect_files(
        options.paths, at=options.at or now, warn_days=options.warn_days, password=password
    )
    if not any(report.opened for report in files):
        for report in files:
            for problem in report.problems:
                error_line(render(problem.message))
        return ExitCode.USAGE
    if options.format == "json":
        from ..rendering.json import render_files_json

        text = render_files_json(
            files, generated_at=now, show_personal_data=options.show_personal_data
        )
    else:
        from ..rendering.text import render_files_text

        text = render_files_text(
            files, color=use_color(options.color), show_personal_data=options.show_personal_data
        )
    emit(text)
    if password is None and _needs_password(files):
        hint = _(
            "ukeytool: give PKCS#12 passwords in the environment variable {env}, "
            "or run ukeytool on a terminal to be asked for them"
        ).format(env=PKCS12_PASSWORD_ENV)
        sys.stderr.write(escape_control(hint) + "\n")
    return ExitCode.OK if all(report.complete for report in files) else ExitCode.INCOMPLETE


def _needs_password(files: Sequence[FileReport]) -> bool:
    return any(p.where == "password" for report in files for p in report.problems)
