"""``ukeytool list-modules``: the PKCS#11 modules ukeytool can find, and where from.
Nothing is loaded."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING

from ..i18n import _, get_language, render
from .exits import EXIT_CODES_HELP, ExitCode
from .output import emit
from .parser import SharedOptions, Subcommands, inherit
from .reporting import STANDARD

if TYPE_CHECKING:
    from ..i18n.message import Message

__all__ = ["ListModulesOptions", "add_parser", "run"]


@dataclasses.dataclass(frozen=True)
class ListModulesOptions:
    """What a list-modules run was asked for."""

    modules: tuple[str, ...]
    """--module: paths to list as well."""
    json: bool
    """--json."""
    catalogue: str | None
    """--catalogue: an extra catalogue file, tried first."""
    no_catalogue: bool
    """--no-catalogue."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ListModulesOptions:
        return cls(
            modules=tuple(args.module or ()),
            json=args.json,
            catalogue=args.catalogue,
            no_catalogue=args.no_catalogue,
        )


def add_parser(commands: Subcommands, shared: SharedOptions) -> None:
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
    modules.add_argument(
        "--module",
        metavar="PATH",
        action="append",
        help=_("a module path to list as well (repeatable)"),
    )
    modules.add_argument("--json", action="store_true", help=_("one JSON document"))
    modules.add_argument(
        "--catalogue", metavar="FILE", help=_("an extra module catalogue (JSON), tried first")
    )
    modules.add_argument(
        "--no-catalogue", action="store_true", help=_("do not look for catalogue modules")
    )
    inherit(modules, shared.lang)
    modules.set_defaults(run=run, reporter=STANDARD)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..config.discovery import default_catalogue_paths, discover, no_module_message

    options = ListModulesOptions.from_args(args)
    catalogues = None
    if options.catalogue:
        catalogues = [Path(options.catalogue), *default_catalogue_paths()]
    found = discover(
        explicit=options.modules,
        catalogue_paths=catalogues,
        include_catalogue=not options.no_catalogue,
        broken_catalogues_warn=True,
        required_catalogues=[Path(options.catalogue)] if options.catalogue else (),
    )

    # Notes and problems are made by discovery (library code) and shown here in the
    # current language, in the listing and in the JSON.
    def shown(value: Message | str | None) -> str | None:
        return None if value is None else render(value)

    if options.json:
        import json

        doc = [
            dataclasses.asdict(m)
            | {"note": shown(m.note), "problem": shown(m.problem), "usable": m.usable}
            for m in found
        ]
        text = json.dumps(
            {"modules": doc, "language": get_language()}, ensure_ascii=False, indent=2
        )
        from ..rendering.json_values import escape_nonprinting

        emit(escape_nonprinting(text) + "\n")
        return ExitCode.OK
    if not found:
        emit(no_module_message() + "\n")
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
        for extra in (shown(m.note), shown(m.problem)):
            if extra:
                lines.append(f"    {extra}")
    emit("\n".join(lines) + "\n")
    return ExitCode.OK
