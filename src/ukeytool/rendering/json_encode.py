"""``json.dumps(value, ensure_ascii=False, indent=2)``, the same text, several times faster.

The standard library's C encoder does not indent (before Python 3.14), so with
``indent`` every value goes through its pure-Python generators: for a document of 300
certificates (200,000 values) that took longer than reading the certificates. Here one
recursive function appends to one list, the strings are escaped by the same C function
(``json.encoder.encode_basestring``) and the common leaves are handled in the loop, without
a call. The output is byte-identical to ``json.dumps``'s (``tests/test_json_encode.py``
compares them on every document the tests make and on odd values).

>>> print(dumps_indented({"a": [1, 2.5, None], "b": {}, "c": "证书"}))
{
  "a": [
    1,
    2.5,
    null
  ],
  "b": {},
  "c": "证书"
}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring
from typing import Any

__all__ = ["Items", "dumps_indented", "iter_indented"]

_INDENT = "  "
_INFINITY = float("inf")


def dumps_indented(value: Any, end: str = "") -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2) + end``: dicts, lists, tuples,
    str, int, float, bool and None (subclasses as ``json`` treats them); anything else
    raises TypeError as ``json.dumps`` does.

    Each container in a list is joined into one string on its own, so the pieces held
    at once are those of one certificate, not of the whole document (for 5000
    certificates, millions of small strings)."""
    parts: list[str] = []
    _value(value, parts, "\n")
    parts.append(end)
    return "".join(parts)


class Items:
    """A JSON array whose items are made only when it is written, one at a time, and
    dropped once written (a token's certificates, in :func:`iter_indented`): the
    document never holds them all as Python objects."""

    __slots__ = ("_count", "_make")

    def __init__(self, count: int, make: Callable[[], Iterable[Any]]) -> None:
        self._count = count
        self._make = make

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        return iter(self._make())


def iter_indented(value: Any, end: str = "") -> Iterator[str]:
    """:func:`dumps_indented`'s text in pieces: one for each item of an :class:`Items`
    array, a few for the containers around them. ``"".join`` of the pieces is the text."""
    yield from _pieces(value, "\n")
    if end:
        yield end


def _pieces(value: Any, newline: str) -> Iterator[str]:
    if isinstance(value, Items):
        if not len(value):
            yield "[]"
            return
        inner = newline + _INDENT
        opening = "[" + inner
        for item in value:
            parts = [opening]
            _value(item, parts, inner)
            yield "".join(parts)
            opening = "," + inner
        yield newline + "]"
    elif isinstance(value, dict) and value:
        inner = newline + _INDENT
        opening = "{" + inner
        for key, item in value.items():
            yield opening + encode_basestring(key if type(key) is str else _key(key)) + ": "
            yield from _pieces(item, inner)
            opening = "," + inner
        yield newline + "}"
    elif isinstance(value, (list, tuple)) and value:
        inner = newline + _INDENT
        opening = "[" + inner
        for item in value:
            yield opening
            yield from _pieces(item, inner)
            opening = "," + inner
        yield newline + "]"
    else:
        text: list[str] = []
        _value(value, text, newline)
        yield "".join(text)


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _scalar(value: Any) -> str:
    """The JSON text of a value that is not a container."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _float(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


_KEYS: dict[str, str] = {}
"""``"key": `` of the str keys seen (the same few dozen in every certificate), so that
each is escaped once; bounded, for documents whose keys are data."""
_KEYS_MAX = 4096


def _key_text(key: Any) -> str:
    if type(key) is not str:
        return encode_basestring(_key(key)) + ": "
    text = _KEYS.get(key)
    if text is None:
        text = encode_basestring(key) + ": "
        if len(_KEYS) < _KEYS_MAX:
            _KEYS[key] = text
    return text


def _value(value: Any, parts: list[str], newline: str) -> None:
    """Appends ``value``'s text to ``parts``; ``newline`` is a newline and the current
    indentation."""
    # The exact types first (by far the most common), one comparison each; subclasses
    # and the rest go the general way, as ``json`` treats them.
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + _INDENT
        separator = "," + inner
        append = parts.append
        keys = _KEYS
        opening = "{" + inner
        for key, item in value.items():
            key_text = keys.get(key) if type(key) is str else None
            if key_text is None:
                key_text = _key_text(key)
            kind = type(item)
            if kind is str:
                append(opening + key_text + encode_basestring(item))
            elif item is None:
                append(opening + key_text + "null")
            elif kind is dict or kind is list or kind is tuple:
                append(opening + key_text)
                _value(item, parts, inner)
            elif kind is int:
                append(opening + key_text + int.__repr__(item))
            elif item is True:
                append(opening + key_text + "true")
            elif item is False:
                append(opening + key_text + "false")
            elif isinstance(item, (dict, list, tuple, Items)):
                append(opening + key_text)
                _value(item, parts, inner)
            else:
                append(opening + key_text + _scalar(item))
            opening = separator
        append(newline + "}")
    elif isinstance(value, (list, tuple, Items)):
        if not value:
            parts.append("[]")
            return
        inner = newline + _INDENT
        separator = "," + inner
        append = parts.append
        opening = "[" + inner
        for item in value:
            kind = type(item)
            if kind is str:
                append(opening + encode_basestring(item))
            elif (
                kind is dict
                or kind is list
                or kind is tuple
                or isinstance(item, (dict, list, tuple, Items))
            ):
                pieces: list[str] = [opening]
                _value(item, pieces, inner)
                append("".join(pieces))
            else:
                append(opening + _scalar(item))
            opening = separator
        append(newline + "]")
    else:
        parts.append(_scalar(value))
