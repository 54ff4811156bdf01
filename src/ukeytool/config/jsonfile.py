"""Reading a small JSON configuration file (module catalogue, renewal policies) with one
sentence per way it can be wrong; each caller puts its own error type and prefix on it.

The sentences are English templates marked with ``N_`` (translated when shown, see
:func:`ukeytool.i18n.retranslate`); what the operating system or the JSON decoder said
stays in a placeholder of its own (``{reason}``, ``{error}``), in their words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..i18n import N_

__all__ = ["JsonFileProblem", "read_json_file"]


class JsonFileProblem(Exception):
    """Why the file cannot be used, as the end of a sentence ("not valid JSON: ...")."""


def read_json_file(path: Path | str, *, limit: int) -> Any:
    """The decoded JSON of ``path`` (UTF-8, a BOM allowed, at most ``limit`` bytes).

    Raises :class:`JsonFileProblem` saying what is wrong: unreadable, too large, not UTF-8,
    not JSON.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise JsonFileProblem(
            N_("cannot read it: {reason}").format(reason=exc.strerror or exc)
        ) from None
    if len(raw) > limit:
        raise JsonFileProblem(
            N_("larger than {limit} bytes; is this the right file?").format(limit=limit)
        )
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise JsonFileProblem(
            N_("not UTF-8 (byte {offset}); save it as UTF-8").format(offset=exc.start)
        ) from None
    except json.JSONDecodeError as exc:
        raise JsonFileProblem(
            N_("not valid JSON: {error} at line {line} column {column}").format(
                error=exc.msg, line=exc.lineno, column=exc.colno
            )
        ) from None
