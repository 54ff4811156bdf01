"""Reading a small JSON configuration file (module catalogue, renewal policies) with one
message per way it can be wrong; each caller puts its own error type and prefix on it.

What the operating system or the JSON decoder said stays a text parameter of its own
(``reason``, ``error``), in their words. The sentences both configuration files share
about their fields (an unknown key, a value of the wrong type) are here too."""

from __future__ import annotations

import json
import os
import re
import stat

from ..i18n.message import Message, template

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Final

__all__ = ["JsonFileProblem", "NotRegularFile", "read_config_bytes", "read_json_file"]

CANNOT_READ: Final = template("jsonfile.cannot_read", "cannot read it: {reason}")
TOO_LARGE: Final = template(
    "jsonfile.too_large", "larger than {limit} bytes; is this the right file?"
)
NOT_REGULAR: Final = template(
    "jsonfile.not_regular",
    "not a regular file (a FIFO, a device, a directory or a socket); a configuration "
    "file must be a regular file",
)
TOO_DEEP: Final = template(
    "jsonfile.too_deep", "not usable JSON: nested too deeply (more than {limit} levels)"
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


#: Deeper nesting than this is refused before it is decoded (the decoder recurses).
MAX_DEPTH: Final = 100


class NotRegularFile(OSError):
    """The configuration file exists and is not a regular file."""


def read_config_bytes(path: Path | str, *, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the configuration file ``path``, opened only when
    it is a regular file: a FIFO, a device or a directory given as a configuration file
    must never make ukeytool wait or read without end. Raises :class:`NotRegularFile`,
    or the :class:`OSError` of the open or the read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(0, "not a regular file", str(path))
        os.set_blocking(fd, True)
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_json_file(path: Path | str, *, limit: int) -> Any:
    """The decoded JSON of ``path`` (UTF-8, a BOM allowed, at most ``limit`` bytes, a
    regular file, nested at most :data:`MAX_DEPTH` levels).

    Raises :class:`JsonFileProblem` saying what is wrong: unreadable, not a regular file,
    too large, not UTF-8, not JSON, nested too deeply.
    """
    try:
        raw = read_config_bytes(path, limit=limit)
    except NotRegularFile:
        raise JsonFileProblem(NOT_REGULAR()) from None
    except OSError as exc:
        raise JsonFileProblem(CANNOT_READ(reason=exc.strerror or str(exc))) from None
    if len(raw) > limit:
        raise JsonFileProblem(TOO_LARGE(limit=limit))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonFileProblem(NOT_UTF8(offset=exc.start)) from None
    if _depth(text) > MAX_DEPTH:
        raise JsonFileProblem(TOO_DEEP(limit=MAX_DEPTH))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileProblem(NOT_JSON(error=exc.msg, line=exc.lineno, column=exc.colno)) from None
    except RecursionError:  # pragma: no cover - _depth() stops it first
        raise JsonFileProblem(TOO_DEEP(limit=MAX_DEPTH)) from None


# A string (unterminated: to the end), its loop unrolled: a third of the time of
# ``"(?:[^"\\]|\\.)*"?``, which tries the alternation at every character.
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKET: Final = re.compile(r"[\[\]{}]")


def _depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (an upper bound for broken
    JSON, which the decoder then refuses anyway); linear in the text."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest
