"""``ukeytool list-tokens``: every slot, token and certificate with its validity, as text,
JSON or Prometheus text exposition."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..i18n import _
from .exits import EXIT_CODES_HELP, ExitCode
from .parser import SharedOptions, Subcommands, inherit, uri_operand
from .reporting import STANDARD, only_failures

if TYPE_CHECKING:
    from .options import Inspection

__all__ = ["ListTokensOptions", "add_parser", "run"]

#: The renderer of each --format, imported while the isolation child reads the module.
_RENDERERS = {
    "text": "ukeytool.rendering.text",
    "json": "ukeytool.rendering.json",
    "prometheus": "ukeytool.rendering.prometheus",
}


@dataclasses.dataclass(frozen=True)
class ListTokensOptions:
    """What a list-tokens run was asked for."""

    inspection: Inspection
    format: str
    """``"text"``, ``"json"`` (also for --json) or ``"prometheus"``."""
    uris: bool
    """--uris: each certificate's pkcs11: URI in the text."""
    details: bool
    """--details: fingerprints, name attributes, holder and ID numbers in the text."""
    color: str
    """--color: ``"auto"``, ``"always"`` or ``"never"``."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ListTokensOptions:
        from .options import Inspection

        return cls(
            inspection=Inspection.from_args(args),
            format="json" if args.json else args.format,
            uris=args.uris,
            details=args.details,
            color=args.color,
        )


def add_parser(commands: Subcommands, shared: SharedOptions) -> None:
    listing = commands.add_parser(
        "list-tokens",
        help=_("list slots, tokens and certificates with their validity"),
        description=_(
            "List every slot of the PKCS#11 modules, their tokens, and each certificate "
            "with its validity: valid, expiring, expired, not yet valid or unreadable. "
            "Without --login, certificates marked private are not visible."
        ),
        epilog=_(EXIT_CODES_HELP),
        parents=[shared.inspection],
    )
    listing.add_argument(
        "--format",
        choices=("text", "json", "prometheus"),
        default="text",
        help=_("text (default), one JSON document, or Prometheus text exposition"),
    )
    inherit(listing, shared.json)
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
    inherit(listing, shared.color)
    listing.set_defaults(run=run, reporter=STANDARD, early_child=True)


def run(args: argparse.Namespace) -> int:
    from .inspection import early_child, inspect_all, load_renewal
    from .login import login_exit, login_note
    from .output import emit, use_color

    options = ListTokensOptions.from_args(uri_operand(args))
    inspection = options.inspection
    with early_child(inspection, warm=(_RENDERERS[options.format],)):
        reports, failures, now = inspect_all(
            inspection, load_renewal(inspection), progress=options.format == "text"
        )
    if not reports:
        return only_failures(failures)
    personal = inspection.show_personal_data
    text: str | Iterator[str]
    if options.format == "json":
        from ..rendering.json import iter_json

        # Written piece by piece as it is made: never held whole.
        text = iter_json(reports, generated_at=now, failures=failures, show_personal_data=personal)
    elif options.format == "prometheus":
        from ..rendering.prometheus import render_prometheus

        text = render_prometheus(reports, failures=failures, show_personal_data=personal)
    else:
        from ..rendering.text import render_text

        text = render_text(
            reports,
            color=use_color(options.color) and not inspection.output,
            certificate_uris=options.uris,
            failures=failures,
            show_personal_data=personal,
            details=options.details,
        )
    # (JSON and text take the language of the context main() set up.)
    emit(text, inspection.output, clean=options.format == "json")
    login_note(reports)
    login_exit_code = login_exit(reports)
    if login_exit_code is not None:
        return login_exit_code
    complete = not failures and all(r.complete for r in reports)
    return ExitCode.OK if complete else ExitCode.INCOMPLETE
