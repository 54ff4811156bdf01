"""``json.dumps(value, ensure_ascii=False, indent=2)``, the same text, several times faster.

The standard library's C encoder does not indent (before Python 3.14), so with
``indent`` every value goes through its pure-Python generators: for a document of 300
certificates (200,000 values) that took longer than reading the certificates. Here one
recursive function appends to one list, the strings are escaped by the same C function
(``json.encoder.encode_basestring``) and the common leaves are handled in the loop, without
a call. The output is byte-identical to ``json.dumps``'s (``tests/test_json_encode.py``
compares them on every document the tests make and on odd values).

Two additions make a document of many alike certificates cheap (issue 12):

* ``escape``: a function given the JSON text of each string that is not printable
  (:meth:`str.isprintable`: a control, format, surrogate... character, U+2028), which
  escapes what is left of them; the JSON documents pass
  :func:`~.json_values.escape_string`, so that the text never has to be scanned again
  as a whole, character by character. Printable strings (nearly all) cost one
  :meth:`str.isprintable` of their own characters.
* :class:`Shared`: a part that many certificates hold (an issuer's name, a bank's
  renewal policy), written once for each indentation it is met at and then reused as
  text.

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
from collections.abc import Callable, Hashable, Iterator, Sequence
from json.encoder import encode_basestring
from typing import Any, TypeVar

_T = TypeVar("_T", bound=Hashable)

__all__ = [
    "Escape",
    "Items",
    "Shared",
    "SharedParts",
    "dumps_indented",
    "iter_indented",
    "iter_indented_utf8",
]

_INDENT = "  "
_INFINITY = float("inf")

Escape = Callable[[str], str]
"""Given the JSON text of a string that is not printable, that text as written."""


def dumps_indented(value: Any, end: str = "", *, escape: Escape | None = None) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2) + end``: dicts, lists, tuples,
    str, int, float, bool and None (subclasses as ``json`` treats them); anything else
    raises TypeError as ``json.dumps`` does. With ``escape``, the text of each string
    (and key) that is not printable goes through it.

    Each container in a list is joined into one string on its own, so the pieces held
    at once are those of one certificate, not of the whole document (for 5000
    certificates, millions of small strings)."""
    parts: list[str] = []
    _value(value, parts, "\n", escape)
    parts.append(end)
    return "".join(parts)


class Items:
    """A JSON array of ``items`` that each write themselves, when the array is written:
    ``write(item, newline)`` gives an item's JSON text at the indentation ``newline``
    ends with, in UTF-8, its strings escaped as the document's are (a token's
    certificates, :mod:`.json_certificate_text`). In :func:`iter_indented`, each item's
    text is made only when it is asked for and dropped once given: the document's text
    is never held whole. UTF-8, so that the command line writes it as it is, without
    encoding 8 KB of text a certificate again."""

    __slots__ = ("items", "write")

    def __init__(self, items: Sequence[Any], write: Callable[[Any, str], bytes]) -> None:
        self.items = items
        self.write = write


class Shared:
    """A value (a dict, a list...) that many parts of one document hold, written as
    ``value`` would be: its text is made once for each indentation and way of escaping
    it is met at, and reused after that. The value must not change once written."""

    __slots__ = ("_texts", "_utf8", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._texts: dict[tuple[str, Escape | None], str] = {}
        self._utf8: dict[tuple[str, Escape | None], bytes] = {}

    def text(self, newline: str, escape: Escape | None) -> str:
        """The JSON text of the value, at the indentation ``newline`` ends with."""
        key = (newline, escape)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = encode_shared(self.value, newline, escape)
        return text

    def utf8(self, newline: str, escape: Escape | None) -> bytes:
        """:meth:`text` in UTF-8 (a surrogate that ``escape`` left written as
        ``\\udcxx``), made once too."""
        key = (newline, escape)
        text = self._utf8.get(key)
        if text is None:
            made = encode_shared(self.value, newline, escape)
            text = self._utf8[key] = made.encode("utf-8", "backslashreplace")
        return text


class SharedParts:
    """The :class:`Shared` parts of one document, by what they are made from: ``get(make,
    value)`` is ``make(value)``, made once for all the equal ``value``\\ s (frozen model
    values, whose equality is that of what they write) and then held as one
    :class:`Shared`. The same object (an issuer's name, read once for all its
    certificates) is found by its identity, without hashing it; a value that cannot be
    hashed is made each time. Bounded: past :data:`PARTS_MAX` parts, a new one is made
    each time it is asked for (a document whose parts are all different)."""

    __slots__ = ("_by_id", "_by_value", "_memos", "_texts")

    def __init__(self) -> None:
        self._by_id: dict[tuple[Callable[[Any], Any], int], tuple[object, Shared]] = {}
        self._by_value: dict[tuple[Callable[[Any], Any], Hashable], Shared] = {}
        self._texts: dict[tuple[Any, ...], tuple[tuple[Any, ...], bytes]] = {}
        self._memos: dict[Hashable, dict[int, tuple[object, bytes]]] = {}

    def memo(self, key: Hashable) -> dict[int, tuple[object, bytes]]:
        """This document's memo named ``key``: texts by the identity of the object each
        is made from, the object held beside its text (so that its id stays its own,
        and an id found is that very object). Its user keeps it within
        :data:`PARTS_MAX` entries."""
        memo = self._memos.get(key)
        if memo is None:
            memo = self._memos[key] = {}
        return memo

    def get(self, make: Callable[[_T], Any], value: _T) -> Any:
        key = (make, id(value))
        found = self._by_id.get(key)
        if found is not None and found[0] is value:  # held, so its id is not reused
            return found[1]
        by_value = self._by_value
        try:
            shared = by_value.get((make, value))
        except TypeError:  # a value that cannot be hashed: made each time
            return make(value)
        if shared is None:
            made = make(value)
            if len(by_value) >= PARTS_MAX:
                return made
            shared = by_value[(make, value)] = Shared(made)
        if len(self._by_id) < PARTS_MAX:
            self._by_id[key] = (value, shared)
        return shared

    def text(
        self, make: Callable[[tuple[Any, ...], str], bytes], values: tuple[Any, ...], newline: str
    ) -> bytes:
        """``make(values, newline)``, a text (UTF-8) made from ``values``: made once for all the
        calls with the same ``make``, ``newline`` and the very same objects in
        ``values`` (by identity, and held, so that their ids stay theirs; a renewal
        policy's lists are the same objects in the advice on every certificate it
        advises on). Bounded by :data:`PARTS_MAX` as :meth:`get` is."""
        key = (make, newline, *map(id, values))
        texts = self._texts
        found = texts.get(key)
        if found is not None:  # the same ids as held objects: those very objects
            return found[1]
        text = make(values, newline)
        if len(texts) < PARTS_MAX:
            texts[key] = (values, text)
        return text


PARTS_MAX = 4096
"""At most this many parts are held by one :class:`SharedParts`."""


def encode_shared(value: Any, newline: str, escape: Escape | None) -> str:
    """The text of a :class:`Shared` value, made the first time it is met at an
    indentation (tests count these calls)."""
    parts: list[str] = []
    _value(value, parts, newline, escape)
    return "".join(parts)


def iter_indented(value: Any, end: str = "", *, escape: Escape | None = None) -> Iterator[str]:
    """:func:`dumps_indented`'s text in pieces: one for each item of an :class:`Items`
    array, a few for the containers around them. ``"".join`` of the pieces is the text."""
    for piece in _pieces(value, "\n", escape):
        yield piece if isinstance(piece, str) else piece.decode()
    if end:
        yield end


def iter_indented_utf8(
    value: Any, end: str = "", *, escape: Escape | None = None
) -> Iterator[bytes]:
    """:func:`iter_indented`'s pieces in UTF-8, as the command line writes them: the
    items that :class:`Items` writes are UTF-8 already (their writers say how they
    encode), the rest is encoded here (a surrogate that ``escape`` did not escape,
    or that nothing escaped, written as ``\\udcxx``)."""
    for piece in _pieces(value, "\n", escape):
        yield piece if isinstance(piece, bytes) else piece.encode("utf-8", "backslashreplace")
    if end:
        yield end.encode()


def _pieces(value: Any, newline: str, escape: Escape | None) -> Iterator[str | bytes]:
    # str, and UTF-8 for the items an Items array writes (iter_indented decodes them).
    if isinstance(value, Items):
        if not value.items:
            yield "[]"
            return
        inner = newline + _INDENT
        write = value.write
        written, separator = ("[" + inner).encode(), ("," + inner).encode()
        for item in value.items:
            yield written + write(item, inner)
            written = separator
        yield newline + "]"
    elif isinstance(value, dict) and value:
        inner = newline + _INDENT
        opening = "{" + inner
        for key, item in value.items():
            yield opening + _key_text(key, escape)
            yield from _pieces(item, inner, escape)
            opening = "," + inner
        yield newline + "}"
    elif isinstance(value, (list, tuple)) and value:
        inner = newline + _INDENT
        opening = "[" + inner
        for item in value:
            yield opening
            yield from _pieces(item, inner, escape)
            opening = "," + inner
        yield newline + "]"
    else:
        text: list[str] = []
        _value(value, text, newline, escape)
        yield "".join(text)


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _string(value: str, escape: Escape | None) -> str:
    text = encode_basestring(value)
    if escape is not None and not value.isprintable():
        return escape(text)
    return text


def _scalar(value: Any, escape: Escape | None) -> str:
    """The JSON text of a value that is not a container."""
    if isinstance(value, str):
        return _string(value, escape)
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


_MEMBERS: dict[str, dict[str, str]] = {}
"""For each indentation, ``,<newline>"key": `` of the printable str keys seen there (the
same few dozen in every certificate), so that each is escaped and joined once, whatever
the escaping; bounded, for documents whose keys are data."""
_KEYS_MAX = 4096


def _member(key: Any, inner: str, escape: Escape | None, members: dict[str, str]) -> str:
    """``,<inner>"key": ``, remembered in ``members`` (the indentation's) when it can be."""
    if type(key) is not str:
        return "," + inner + _string(_key(key), escape) + ": "
    if not key.isprintable():
        return "," + inner + _string(key, escape) + ": "
    text = "," + inner + encode_basestring(key) + ": "
    if len(members) < _KEYS_MAX:
        members[key] = text
    return text


def _key_text(key: Any, escape: Escape | None) -> str:
    return _string(key if type(key) is str else _key(key), escape) + ": "


def _value(value: Any, parts: list[str], newline: str, escape: Escape | None) -> None:
    """Appends ``value``'s text to ``parts``; ``newline`` is a newline and the current
    indentation."""
    # The exact types first (by far the most common), one comparison each; subclasses
    # and the rest go the general way, as ``json`` treats them.
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + _INDENT
        append = parts.append
        members = _MEMBERS.get(inner)
        if members is None:
            members = _MEMBERS[inner] = {}
        first = len(parts)
        for key, item in value.items():
            member = members.get(key) if type(key) is str else None
            if member is None:
                member = _member(key, inner, escape, members)
            kind = type(item)
            if kind is str:
                if escape is None or item.isprintable():
                    append(member + encode_basestring(item))
                else:
                    append(member + escape(encode_basestring(item)))
            elif item is None:
                append(member + "null")
            elif kind is dict or kind is list or kind is tuple:
                append(member)
                _value(item, parts, inner, escape)
            elif kind is int:
                append(member + int.__repr__(item))
            elif item is True:
                append(member + "true")
            elif item is False:
                append(member + "false")
            elif kind is Shared:
                append(member + item.text(inner, escape))
            elif isinstance(item, (dict, list, tuple, Items, Shared)):
                append(member)
                _value(item, parts, inner, escape)
            else:
                append(member + _scalar(item, escape))
        parts[first] = "{" + parts[first][1:]  # the first member's "," opens the object
        append(newline + "}")
    elif isinstance(value, Items):
        if not value.items:
            parts.append("[]")
            return
        inner = newline + _INDENT
        write = value.write
        texts = [write(item, inner).decode() for item in value.items]
        parts.append("[" + inner + ("," + inner).join(texts) + newline + "]")
    elif isinstance(value, (list, tuple)):
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
                if escape is None or item.isprintable():
                    append(opening + encode_basestring(item))
                else:
                    append(opening + escape(encode_basestring(item)))
            elif kind is Shared:
                append(opening + item.text(inner, escape))
            elif (
                kind is dict
                or kind is list
                or kind is tuple
                or isinstance(item, (dict, list, tuple, Items, Shared))
            ):
                pieces: list[str] = [opening]
                _value(item, pieces, inner, escape)
                append("".join(pieces))
            else:
                append(opening + _scalar(item, escape))
            opening = separator
        append(newline + "]")
    elif isinstance(value, Shared):
        parts.append(value.text(newline, escape))
    else:
        parts.append(_scalar(value, escape))
