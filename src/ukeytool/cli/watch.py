"""``ukeytool watch``: wait for tokens to be plugged in and pulled out, and say so.

Each token that arrives is listed as ``list-tokens`` lists it (the same renderer: validity,
renewal advice, masking, language); each token that leaves is named by the serial and
label read when it arrived. ``--json`` writes one JSON object per line per event (JSON
Lines). ``--until-inserted`` stops at the first token and exits as ``check`` judges it.
How tokens are noticed, and the deadline of each poll: :mod:`ukeytool.pkcs11.watch`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from ..errors import UkeytoolError, UsageError
from ..i18n import N_, _, render
from ..i18n.message import template
from ..model.text import escape_control
from . import values
from .check import CRIT_ABOVE_WARN
from .exits import PLUGIN_UNKNOWN
from .inspection import load_renewal, resolve_modules, tracing
from .options import Inspection, Selection
from .output import emit, use_color
from .parser import (
    SharedOptions,
    Subcommands,
    add_no_isolation_and_renewal,
    add_selection,
    add_trace_and_personal_data,
    inherit,
)
from .reporting import STANDARD, error_line

if TYPE_CHECKING:
    from ..model import Report
    from ..model.events import TokenEvent
    from .inspection import Renewal

__all__ = ["WATCH_EXIT_HELP", "WatchOptions", "add_parser", "run"]

WATCH_EXIT_HELP: Final = N_("""\
exit codes (watch): it runs until stopped; Ctrl-C ends it with 130, SIGTERM
  with 143, and a module that fails, hangs (--timeout) or crashes with the
  exit code list-tokens gives (3, 4, 6, 7)
exit codes (watch --until-inserted), as check judges the token that came:
  0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (something could not be read, no
  certificate on it, the module failed); 130 and 143 as above
""")

ONE_MODULE: Final = template(
    "cli.watch_one_module",
    "watch takes one module, not {n}: {paths}; choose one with --module",
)

#: What each event is called in the text's heading line (display-time words).
_HEADINGS: Final = {
    "present": N_("{time} UTC  token present in slot {slot}: {token}"),
    "inserted": N_("{time} UTC  token inserted in slot {slot}: {token}"),
    "removed": N_("{time} UTC  token removed from slot {slot}: {token}"),
}


@dataclasses.dataclass(frozen=True)
class WatchOptions:
    """What a watch run was asked for."""

    inspection: Inspection
    interval: float
    """--interval: seconds between two polls."""
    until_inserted: bool
    """--until-inserted: stop at the first token, exit as check judges it."""
    ignore_present: bool
    """--ignore-present: tokens in their slots at the start are not reported."""
    crit_days: int
    json: bool
    color: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> WatchOptions:
        return cls(
            Inspection.from_args(args),
            interval=args.interval,
            until_inserted=args.until_inserted,
            ignore_present=args.ignore_present,
            crit_days=args.crit_days,
            json=args.json,
            color=args.color,
        )


def interval(text: str) -> float:
    """--interval: seconds > 0 (at most what --timeout allows)."""
    number = values.seconds(text)
    if number == 0:
        raise argparse.ArgumentTypeError(
            _("{value} is not a number of seconds > 0").format(value=repr(text))
        )
    return number


def add_parser(commands: Subcommands, shared: SharedOptions) -> None:
    parser = commands.add_parser(
        "watch",
        help=_("wait for tokens to be plugged in and pulled out, and list each one"),
        description=_(
            "Wait for tokens to come and go. Each token plugged in is listed as "
            "list-tokens lists it; each token pulled out is named by its serial and "
            "label. Tokens already present at the start are listed first, as present "
            "(--ignore-present: not). Runs until Ctrl-C or SIGTERM, or with "
            "--until-inserted until the first token."
        ),
        epilog=_(WATCH_EXIT_HELP),
    )
    parser.add_argument(
        "--module",
        metavar="PATH",
        action="append",
        help=_(
            "the PKCS#11 module (.so) to watch; one only. Default: $PKCS11_MODULE, else "
            "the one module found by discovery"
        ),
    )
    inherit(parser, shared.judging)
    parser.add_argument(
        "-c",
        "--crit-days",
        type=values.days,
        default=7,
        metavar="N",
        help=_(
            "with --until-inserted: CRITICAL when a certificate expires within N days "
            "(default: {days})"
        ).format(days=7),
    )
    parser.add_argument(
        "--interval",
        type=interval,
        default=1.0,
        metavar="SECONDS",
        help=_("look for tokens every SECONDS (default: {default})").format(default="1"),
    )
    parser.add_argument(
        "--until-inserted",
        action="store_true",
        help=_(
            "stop at the first token (one already present counts, unless "
            "--ignore-present) and exit as check judges it: 0 OK, 1 WARNING, "
            "2 CRITICAL, 3 UNKNOWN"
        ),
    )
    parser.add_argument(
        "--ignore-present",
        action="store_true",
        help=_("do not report the tokens already present at the start; wait for new ones"),
    )
    add_selection(parser, operand=False)
    parser.add_argument(
        "--json",
        action="store_true",
        help=_("one JSON object per line for each event (JSON Lines)"),
    )
    inherit(parser, shared.color)
    add_trace_and_personal_data(parser)
    isolation = parser.add_argument_group(
        _(
            "isolation (the module runs in a child process of its own, so a module that "
            "hangs or crashes cannot take ukeytool down)"
        )
    )
    isolation.add_argument(
        "--timeout",
        type=values.seconds,
        metavar="SECONDS",
        help=_(
            "stop the module when one look for tokens (with the reading of a token that "
            "came) has not answered within SECONDS (default: {default}; 0: no limit)"
        ).format(default="60"),
    )
    add_no_isolation_and_renewal(parser, isolation)
    inherit(parser, shared.lang)
    parser.set_defaults(run=run, reporter=STANDARD)


def run(args: argparse.Namespace) -> int:
    options = WatchOptions.from_args(args)
    if not options.until_inserted:
        return _run(options)
    try:
        return _run(options)
    except UkeytoolError as exc:
        # A script waiting for "plug in your key" reads check's codes only.
        error_line(render(exc.message))
        return PLUGIN_UNKNOWN


def _run(options: WatchOptions) -> int:
    from ..pkcs11.uri import parse_uri, refuse_pin_attributes
    from ..pkcs11.watch import watch

    inspection = options.inspection
    if options.until_inserted and options.crit_days > inspection.warn_days:
        raise UsageError(CRIT_ABOVE_WARN(crit=options.crit_days, warn=inspection.warn_days))
    selection = inspection.selection
    uri = refuse_pin_attributes(parse_uri(selection.uri)) if selection.uri else None
    isolate, timeout = inspection.isolation()
    renewal = load_renewal(inspection)
    paths = resolve_modules(inspection.modules)
    if len(paths) != 1:
        raise UsageError(ONE_MODULE(n=len(paths), paths=", ".join(paths)))
    (path,) = paths
    if not options.json:
        line = _("ukeytool: watching {path} for tokens; Ctrl-C ends").format(path=path)
        sys.stderr.write(escape_control(line) + "\n")
        sys.stderr.flush()
    color = use_color(options.color)
    events = watch(
        path,
        interval=options.interval,
        at=inspection.at,
        warn_days=inspection.warn_days,
        present=not options.ignore_present,
        isolate=isolate,
        timeout=timeout,
    )
    with tracing(inspection.trace), _closing(events):
        for event in events:
            if not _selected(event, uri, selection):
                continue
            report = _advised(event.report, inspection, renewal)
            if options.json:
                text = event_line(event, report, show_personal_data=inspection.show_personal_data)
            else:
                text = event_text(
                    event, report, color=color, show_personal_data=inspection.show_personal_data
                )
            emit(text)
            sys.stdout.flush()
            if options.until_inserted and report is not None:
                return _verdict(report, options)
    return 0  # pragma: no cover - the events never end


@contextlib.contextmanager
def _closing(events: Iterator[TokenEvent]) -> Iterator[None]:
    """Stop the watch (and its child) however the loop ends: Ctrl-C, SIGTERM, an error."""
    try:
        yield
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def _selected(event: TokenEvent, uri: Any, selection: Selection) -> bool:
    if not selection.given:
        return True
    from ..model import SlotInfo, SlotReport
    from ..model.text import decode_text
    from ..pkcs11.selection import select_tokens

    slot = event.slot
    if slot is None or slot.token is None:
        empty = decode_text(b"")
        info = SlotInfo(event.slot_id, empty, empty, 1, (), (0, 0), (0, 0))
        slot = SlotReport(info, event.token)
    return bool(
        select_tokens(
            [slot], uri=uri, label=selection.label, serial=selection.serial, module=event.module
        )
    )


def _advised(report: Report | None, inspection: Inspection, renewal: Renewal) -> Report | None:
    if report is None:
        return None
    from ..judging.renewal import advise

    return advise(
        report, bank=inspection.bank, policies=renewal.policies, catalogue=renewal.catalogue
    )


def _verdict(report: Report, options: WatchOptions) -> int:
    from ..rendering.check import check_reports

    result = check_reports(
        [report],
        warn_days=options.inspection.warn_days,
        crit_days=options.crit_days,
        failures=(),
        show_personal_data=options.inspection.show_personal_data,
    )
    return int(result.exit_code)


def _token_words(event: TokenEvent, show_personal_data: bool) -> str:
    from ..rendering.mask import mask_text

    label = event.token.label if show_personal_data else mask_text(event.token.label)
    name = label.value or _("(no label)")
    if not event.serial.value:
        return name
    return _("{label} (serial {serial})").format(label=name, serial=event.serial.value)


def event_text(
    event: TokenEvent, report: Report | None, *, color: bool, show_personal_data: bool
) -> str:
    """An event as text: a heading line, and for a token that came its listing as
    list-tokens shows it."""
    from ..rendering.text import render_text

    heading = _(_HEADINGS[event.kind.value]).format(
        time=f"{_utc(event.at):%Y-%m-%d %H:%M:%S}",
        slot=f"0x{event.slot_id:x}",
        token=_token_words(event, show_personal_data),
    )
    if report is None:
        return heading + "\n\n"
    listing = render_text([report], color=color, show_personal_data=show_personal_data)
    return heading + "\n" + listing + "\n"


def event_line(event: TokenEvent, report: Report | None, *, show_personal_data: bool) -> str:
    """An event as one JSON line (see docs/json.md, "watch")."""
    from ..rendering.json_values import escape_nonprinting

    data = event_to_dict(event, report, show_personal_data=show_personal_data)
    return escape_nonprinting(json.dumps(data, ensure_ascii=False)) + "\n"


def event_to_dict(
    event: TokenEvent, report: Report | None, *, show_personal_data: bool
) -> dict[str, Any]:
    """An event as the JSON object of its line."""
    from ..i18n import get_language
    from ..rendering.json import SCHEMA_ID, report_to_dict
    from ..rendering.json_values import moment, path_hex, problem_list, text_members
    from ..rendering.mask import mask_report, mask_text

    line: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "event": event.kind.value,
        "time": moment(event.at),
        "module": {"path": event.module.path, "path_hex": path_hex(event.module.path)},
        "slot_id": event.slot_id,
    }
    slot: dict[str, Any] | None = None
    if report is not None:
        document = report_to_dict(
            [report], generated_at=event.at, show_personal_data=show_personal_data
        )
        (module,) = document["modules"]
        slot = module["slots"][0] if module["slots"] else None
        line["at"] = document["at"]
        line["warn_days"] = document["warn_days"]
    if slot is not None and slot["token"] is not None:
        line["token"] = slot["token"]
    else:
        from ..pkcs11.uri import token_uri

        token = event.token
        label = token.label if show_personal_data else mask_text(token.label)
        line["token"] = {
            "slot_id": event.slot_id,
            **text_members("label", label),
            **text_members("serial", token.serial),
            **text_members("manufacturer", token.manufacturer),
            **text_members("model", token.model),
            "uri": str(token_uri(dataclasses.replace(token, label=label))),
        }
    if report is not None:
        shown = report if show_personal_data else mask_report(report)
        problems = [*shown.problems, *(p for s in shown.slots for p in s.problems)]
        line["complete"] = report.complete
        line["problems"] = problem_list(problems)
    line["personal_data"] = "shown" if show_personal_data else "masked"
    line["language"] = get_language()
    return line


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(datetime.timezone.utc)
