"""Reading a small JSON configuration file (module catalogue, renewal policies) with one
message per way it can be wrong; each caller puts its own error type and prefix on it.

What the operating system or the JSON decoder said stays a text parameter of its own
(``reason``, ``error``), in their words. The sentences both configuration files share
about their fields (an unknown key, a value of the wrong type) are here too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from ..i18n.message import Message, template

__all__ = ["JsonFileProblem", "read_json_file"]

CANNOT_READ: Final = template("jsonfile.cannot_read", "cannot read it: {reason}")
TOO_LARGE: Final = template(
    "jsonfile.too_large", "larger than {limit} bytes; is this the right file?"
)
NOT_UTF8: Final = template("jsonfile.not_utf8", "not UTF-8 (byte {offset}); save it as UTF-8")
NOT_JSON: Final = template(
    "jsonfile.not_json", "not valid JSON: {error} at line {line} column {column}"
)

# The fields of either file.
UNKNOWN_KEY: Final = template(
    "config.unknown_key",
    'unknown key {key} (known: {known}; keys starting with "$" are comments)',
)
NOT_TEXT: Final = template("config.not_text", '"{key}" must be a non-empty string')
NOT_TEXT_LIST: Final = template(
    "config.not_text_list", '"{key}" must be a list of non-empty strings'
)
NOT_LIST: Final = template("config.not_list", '"{key}" must be a list')
BAD_CONFIDENCE: Final = template(
    "config.bad_confidence", '"confidence" must be one of {choices}, not {value}'
)
DUPLICATE_ID: Final = template(
    "config.duplicate_id", "id {id} is used by an earlier entry of the same file"
)


class JsonFileProblem(Exception):
    """Why the file cannot be used, as the end of a sentence ("not valid JSON: ...")."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message
        """The reason, as a message."""


def read_json_file(path: Path | str, *, limit: int) -> Any:
    """The decoded JSON of ``path`` (UTF-8, a BOM allowed, at most ``limit`` bytes).

    Raises :class:`JsonFileProblem` saying what is wrong: unreadable, too large, not UTF-8,
    not JSON.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise JsonFileProblem(CANNOT_READ(reason=exc.strerror or str(exc))) from None
    if len(raw) > limit:
        raise JsonFileProblem(TOO_LARGE(limit=limit))
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise JsonFileProblem(NOT_UTF8(offset=exc.start)) from None
    except json.JSONDecodeError as exc:
        raise JsonFileProblem(NOT_JSON(error=exc.msg, line=exc.lineno, column=exc.colno)) from None
