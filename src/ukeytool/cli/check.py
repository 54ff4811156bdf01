"""``ukeytool check``: every certificate judged as a monitoring plugin (Nagios/Icinga exit
codes and status line with performance data, JSON verdicts, or Prometheus).

A plugin's caller reads its exit code: every failure, usage errors included, is UNKNOWN
(3), told on the status line (standard output)."""

from __future__ import annotations

import argparse
import dataclasses

from ..errors import UsageError
from ..i18n import N_, _
from ..i18n.message import template
from . import values
from .exits import PLUGIN_UNKNOWN
from .parser import CHECK_TIMEOUT, SharedOptions, Subcommands, uri_operand
from .reporting import PLUGIN

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    from .options import Inspection

__all__ = ["CHECK_EXIT_HELP", "CheckOptions", "add_parser", "run"]

CHECK_EXIT_HELP: Final = N_("""\
exit codes, as a Nagios/Icinga plugin:
  0  OK        every certificate valid for more than --warn-days days
  1  WARNING   a certificate expires within --warn-days days, or a PIN is on
               its final try
  2  CRITICAL  a certificate expires within --crit-days days, is expired or
               not yet valid, or a PIN is locked
  3  UNKNOWN   something could not be read (module, token, certificate; a
               module that timed out or crashed), no certificate is visible,
               a --login was refused or failed, or the command line was wrong
               (said on the status line too), or it was interrupted
               by Ctrl-C or SIGTERM (said on the status line)
performance data: the days left of each certificate, with the thresholds in
the plugin guidelines' range syntax, alerting below: -w 30 -c 7 gives 31:;8:
""")

CRIT_ABOVE_WARN: Final = template(
    "cli.crit_days_above_warn_days",
    "--crit-days ({crit}) must not be greater than --warn-days ({warn})",
)


@dataclasses.dataclass(frozen=True)
class CheckOptions:
    """What a check run was asked for."""

    inspection: Inspection
    crit_days: int
    """--crit-days: CRITICAL within this many days."""
    format: str
    """``"text"`` (the plugin output), ``"json"`` or ``"prometheus"``."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CheckOptions:
        from .options import Inspection

        return cls(Inspection.from_args(args), crit_days=args.crit_days, format=args.format)


def add_parser(commands: Subcommands, shared: SharedOptions) -> None:
    check = commands.add_parser(
        "check",
        help=_("monitoring check: Nagios/Icinga exit codes, performance data, Prometheus"),
        description=_(
            "Judge every certificate as a monitoring plugin: one status line with "
            "performance data (days left per certificate), then the details."
        ),
        epilog=_(CHECK_EXIT_HELP),
        parents=[shared.plugin],
    )
    check.usage_exit_code = PLUGIN_UNKNOWN
    check.add_argument(
        "-c",
        "--crit-days",
        type=values.days,
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
    check.set_defaults(run=run, reporter=PLUGIN, early_child=True)


def run(args: argparse.Namespace) -> int:
    from .inspection import early_child, inspect_all, load_renewal
    from .login import login_exit, login_note
    from .output import emit

    options = CheckOptions.from_args(uri_operand(args))
    inspection = options.inspection
    if inspection.timeout is None and not inspection.no_isolation:
        # Below the monitoring system's own limit, so that this plugin answers first.
        inspection = dataclasses.replace(inspection, timeout=CHECK_TIMEOUT)
    if options.crit_days > inspection.warn_days:
        raise UsageError(CRIT_ABOVE_WARN(crit=options.crit_days, warn=inspection.warn_days))
    warm = ["ukeytool.rendering.check"]
    if options.format == "prometheus":
        warm.append("ukeytool.rendering.prometheus")
    with early_child(inspection, warm=warm):
        reports, failures, _now = inspect_all(
            inspection, load_renewal(inspection), progress=options.format == "text"
        )
    from ..rendering.check import CheckState, check_reports, check_to_dict

    personal = inspection.show_personal_data
    result = check_reports(
        reports,
        warn_days=inspection.warn_days,
        crit_days=options.crit_days,
        failures=failures,
        show_personal_data=personal,
    )
    if options.format == "json":
        from ..rendering.json_encode import dumps_indented
        from ..rendering.json_values import escape_nonprinting

        # json.dumps(..., ensure_ascii=False, indent=2)'s text, made in C-sized steps.
        text = escape_nonprinting(dumps_indented(check_to_dict(result), end="\n"))
    elif options.format == "prometheus":
        from ..rendering.prometheus import render_prometheus

        text = render_prometheus(reports, failures=failures, show_personal_data=personal)
    else:
        text = result.output()
    emit(text, inspection.output)
    login_note(reports)
    if login_exit(reports) is not None:
        return CheckState.UNKNOWN  # the private objects asked for could not be seen
    return result.exit_code
