"""RFC 7512 ``pkcs11:`` URIs as values: parse and format them (the URIs of a token and
its certificates are built by :mod:`.token_uris`).

A :class:`Pkcs11Uri` holds every attribute as the raw bytes it stands for (percent-decoded),
so a GBK token label such as ``b"\\xb9\\xa4\\xd0\\xd0U\\xb6\\xdc"`` (工行U盾) survives a round
trip through text unchanged, and matching compares bytes, never decoded guesses.

Formatting follows p11-kit's ``p11_kit_uri_format``, which is what ``p11tool`` prints, so the
URI ukeytool shows for a token or a certificate is the very string ``p11tool`` shows:

* Attribute order: ``library-description``, ``library-manufacturer``, ``library-version``,
  ``slot-description``, ``slot-manufacturer``, ``slot-id``, ``model``, ``manufacturer``,
  ``serial``, ``token``, ``id``, ``object``, ``type``; then vendor path attributes by name;
  then the query: ``pin-source``, ``pin-value``, ``module-name``, ``module-path``, and vendor
  query attributes by name.
* Only ``A-Z a-z 0-9 - . _`` are written as they are; every other byte is ``%XX`` with
  upper-case hex. That is stricter than RFC 7512 requires (it allows ``~``, ``:``, ``@``,
  ``,`` and more, and ``/`` ``?`` in the query) but it is what p11-kit does, and it means
  UTF-8 text is percent-encoded too (``token=%E4%B8%AD%E6%96%87`` for 中文), never written as
  literal characters. ``id`` is always percent-encoded byte by byte (``id=%61%62``).
* ``pin-value`` is never written by :func:`str`, never shown by :func:`repr`; only
  ``format_uri(uri, reveal_pin_value=True)`` writes it. ukeytool itself never uses it.

Parsing follows the RFC 7512 grammar (section 2.3), and refuses with a one-line
:class:`~ukeytool.UsageError` naming the bad part: a missing ``pkcs11:`` scheme, a ``%``
not followed by two hex digits, an attribute without ``=`` or with a bad name, a path
attribute given twice (the RFC forbids it), a standard query attribute given twice, both
``pin-source`` and ``pin-value`` (the RFC says such a URI SHOULD be refused), an unknown
``type``, a malformed ``library-version`` or ``slot-id``, a path attribute in the query or a
query attribute in the path, a ``#``, and an ASCII character the grammar does not allow
unencoded (space, ``/`` in the path, ``"``, ``<``...). Two leniencies: a URI wrapped over
several lines (as the RFC prints its examples) is joined, the line breaks and the blanks
around them dropped; and a literal non-ASCII character stands for its UTF-8 bytes, as in an
IRI (p11-kit accepts these too).

Unknown attribute names: the final RFC 7512 grammar (section 2.3) makes every name that is
not a standard one a vendor-specific attribute, ``1*(ALPHA / DIGIT / "-" / "_")``; the ``x-``
prefix of the drafts was dropped (RFC 6648), and the RFC's own example uses
``vendor-aaa=value-a``. So no name is "unknown but standard-looking": each non-standard name
is a vendor attribute, kept (:attr:`Pkcs11Uri.vendor_path`, :attr:`Pkcs11Uri.vendor_query`)
and written back out. A standard name in the wrong part (``pin-source`` in the path,
``token`` in the query) is an error. The RFC's matching guidelines say a path attribute the
consumer does not understand must make the URI match nothing, so the matchers of
:mod:`ukeytool.pkcs11.selection` return False for a URI with vendor path attributes (and
its select functions refuse it, saying why); vendor query attributes are ignored.

Every refusal's message has a code ``uri.*``; the bad part is quoted in it as it was
given, never translated.
"""

from __future__ import annotations

import re

from ..errors import UsageError
from ..i18n.message import template
from ..model import _value
from ..model.text import escape_control

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

__all__ = [
    "OBJECT_TYPES",
    "SCHEME",
    "Pkcs11Uri",
    "format_uri",
    "parse_uri",
    "percent_encode",
    "shown",
]

SCHEME: Final = "pkcs11"

OBJECT_TYPES: Final = frozenset({"cert", "private", "public", "secret-key", "data"})
"""The values RFC 7512 allows for ``type``."""

# Path attribute name -> Pkcs11Uri field, in the order p11-kit writes them.
_PATH_ORDER: Final = (
    ("library-description", "library_description"),
    ("library-manufacturer", "library_manufacturer"),
    ("library-version", "library_version"),
    ("slot-description", "slot_description"),
    ("slot-manufacturer", "slot_manufacturer"),
    ("slot-id", "slot_id"),
    ("model", "model"),
    ("manufacturer", "manufacturer"),
    ("serial", "serial"),
    ("token", "token"),
    ("id", "id"),
    ("object", "object"),
    ("type", "type"),
)
_PATH_FIELDS: Final = dict(_PATH_ORDER)
_QUERY_ORDER: Final = (
    ("pin-source", "pin_source"),
    ("pin-value", "pin_value"),
    ("module-name", "module_name"),
    ("module-path", "module_path"),
)
_QUERY_FIELDS: Final = dict(_QUERY_ORDER)

_VERBATIM: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._")
"""Bytes written as they are (p11-kit's P11_URL_VERBATIM); everything else is %XX."""

# RFC 3986 unreserved plus RFC 7512 pk11-res-avail: allowed unencoded in path and query.
_RES_AVAIL: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:[]@!$'()*+,="
)
_PATH_CHARS: Final = _RES_AVAIL | {"&"}
_QUERY_CHARS: Final = _RES_AVAIL | {"/", "?", "|"}

# Patterns compiled on first use (re keeps them): a listing that parses no URI compiles none.
_NAME: Final = r"[A-Za-z0-9_-]+"
_WRAP: Final = r"[ \t]*\r?\n[ \t]*"
_VERSION: Final = r"([0-9]+)(?:\.([0-9]+))?"
_DIGITS: Final = r"[0-9]+"

_Vendor = tuple[tuple[str, bytes], ...]

# A Pkcs11Uri built with wrong values.
FIELD_NOT_BYTES: Final = template(
    "uri.field_not_bytes", "PKCS#11 URI attribute {name} must be bytes or None"
)
FIELD_NOT_TEXT: Final = template(
    "uri.field_not_text", "PKCS#11 URI attribute {name} must be a string or None"
)
TYPE_NOT_ALLOWED: Final = template(
    "uri.type_not_allowed", "PKCS#11 URI type {kind} is not one of {kinds}"
)
VERSION_OUT_OF_RANGE: Final = template(
    "uri.version_out_of_range", "PKCS#11 URI library-version numbers must be 0 to 255"
)
NEGATIVE_SLOT_ID: Final = template(
    "uri.negative_slot_id", "PKCS#11 URI slot-id must not be negative"
)
PIN_SOURCE_AND_VALUE: Final = template(
    "uri.pin_source_and_value", "a PKCS#11 URI must not have both pin-source and pin-value"
)
VENDOR_PATH_TWICE: Final = template(
    "uri.vendor_path_twice", "PKCS#11 URI path attribute {name} appears twice"
)
VENDOR_NOT_BYTES: Final = template(
    "uri.vendor_not_bytes", "PKCS#11 URI attribute {name} must be bytes"
)
STANDARD_NAME: Final = template(
    "uri.standard_name_as_vendor", "{name} is a standard PKCS#11 URI attribute, not a vendor one"
)
# Parsing text.
BAD_NAME: Final = template(
    "uri.bad_name", "bad PKCS#11 URI attribute name {name}: use letters, digits, '-' and '_'"
)
BAD_ESCAPE: Final = template(
    "uri.bad_escape",
    "bad percent escape {escape} in PKCS#11 URI attribute {name}: "
    "'%' must be followed by two hex digits (write '%' itself as %25)",
)
SPACE_UNENCODED: Final = template(
    "uri.space_unencoded",
    "a space is not allowed unencoded in PKCS#11 URI attribute {name}: write it as {encoded}",
)
CHAR_UNENCODED: Final = template(
    "uri.char_unencoded",
    "{char} is not allowed unencoded in PKCS#11 URI attribute {name}: write it as {encoded}",
)
NOT_TEXT: Final = template("uri.not_text", "a PKCS#11 URI must be given as text")
NO_SCHEME: Final = template(
    "uri.no_scheme",
    "not a PKCS#11 URI: {text} does not start with 'pkcs11:' (e.g. pkcs11:token=My%20Token)",
)
FRAGMENT: Final = template("uri.fragment", "'#' is not allowed in a PKCS#11 URI: write it as %23")
PATH_TWICE: Final = template(
    "uri.path_attribute_twice",
    "PKCS#11 URI path attribute {name} appears twice (RFC 7512 allows each path attribute once)",
)
QUERY_IN_PATH: Final = template(
    "uri.query_attribute_in_path",
    "{quoted} belongs in the query part of a PKCS#11 URI, after '?' (pkcs11:...?{name}=...)",
)
BAD_SLOT_ID: Final = template(
    "uri.bad_slot_id", "bad slot-id {value} in PKCS#11 URI: a decimal number is expected"
)
UNKNOWN_TYPE: Final = template(
    "uri.unknown_type", "unknown type {kind} in PKCS#11 URI: expected one of {kinds}"
)
PATH_IN_QUERY: Final = template(
    "uri.path_attribute_in_query",
    "{quoted} belongs in the path part of a PKCS#11 URI, before '?' (pkcs11:{name}=...)",
)
QUERY_TWICE: Final = template(
    "uri.query_attribute_twice", "PKCS#11 URI query attribute {name} appears twice"
)
PIN_SOURCE_AND_VALUE_PARSED: Final = template(
    "uri.pin_source_and_value_given",
    "a PKCS#11 URI must not have both pin-source and pin-value (RFC 7512 says to refuse it)",
)
PIN_ATTRIBUTE_REFUSED: Final = template(
    "uri.pin_attribute_refused",
    "a PKCS#11 URI that selects tokens must not hold {name} (its value is not shown): "
    "ukeytool never takes a PIN from a URI or the command line; use --login, with the "
    "PIN in UKEYTOOL_PIN or typed at the prompt",
)
EMPTY_PATH_ATTRIBUTE: Final = template(
    "uri.empty_path_attribute", "empty attribute in the path of a PKCS#11 URI (a stray ';')"
)
EMPTY_QUERY_ATTRIBUTE: Final = template(
    "uri.empty_query_attribute", "empty attribute in the query of a PKCS#11 URI (a stray '&')"
)
NO_EQUALS: Final = template(
    "uri.no_equals",
    "PKCS#11 URI attribute {attribute} has no '=' "
    "(attributes are name=value, separated by {separator})",
)
BAD_VERSION: Final = template(
    "uri.bad_version",
    "bad library-version {value} in PKCS#11 URI: expected major[.minor], e.g. 2.6",
)
VERSION_TOO_BIG: Final = template(
    "uri.version_too_big", "bad library-version {value} in PKCS#11 URI: numbers go up to 255"
)


@_value.value
class Pkcs11Uri:
    """A parsed ``pkcs11:`` URI: each attribute's value as raw bytes, None when absent.

    Two URIs that RFC 7512 calls equivalent (attribute order, percent-encoding case and
    needless escapes aside) are equal. :func:`str` gives the canonical form
    (:func:`format_uri`), without ``pin-value``.
    """

    token: bytes | None = None
    """CK_TOKEN_INFO label."""
    manufacturer: bytes | None = None
    """CK_TOKEN_INFO manufacturerID."""
    model: bytes | None = None
    """CK_TOKEN_INFO model."""
    serial: bytes | None = None
    """CK_TOKEN_INFO serialNumber."""
    object: bytes | None = None
    """CKA_LABEL."""
    id: bytes | None = None
    """CKA_ID."""
    type: str | None = None
    """CKA_CLASS: one of :data:`OBJECT_TYPES`."""
    library_manufacturer: bytes | None = None
    """CK_INFO manufacturerID."""
    library_description: bytes | None = None
    """CK_INFO libraryDescription."""
    library_version: tuple[int, int] | None = None
    """CK_INFO libraryVersion as (major, minor); ``library-version=3`` is (3, 0)."""
    slot_id: int | None = None
    """CK_SLOT_ID (decimal in the URI)."""
    slot_description: bytes | None = None
    """CK_SLOT_INFO slotDescription."""
    slot_manufacturer: bytes | None = None
    """CK_SLOT_INFO manufacturerID."""
    vendor_path: _Vendor = ()
    """Vendor-specific path attributes as (name, value), sorted by name. A URI with any
    matches nothing (RFC 7512's matching guidelines): ukeytool does not know their meaning."""
    pin_source: str | None = None
    """Where a PIN can be read (e.g. ``file:/etc/token_pin``); ukeytool never logs in by it."""
    pin_value: str | None = _value.field(default=None, repr=False)
    """A PIN written into the URI. Kept only so nothing is lost; never shown, never used."""
    module_name: str | None = None
    """The module's name without path or suffix (``module-name=softhsm2``)."""
    module_path: str | None = None
    """The module's absolute path."""
    vendor_query: _Vendor = ()
    """Vendor-specific query attributes as (name, value), sorted by name (stable: a name
    may repeat in the query). Ignored when matching."""

    def __post_init__(self) -> None:
        for field in (
            "token",
            "manufacturer",
            "model",
            "serial",
            "object",
            "id",
            "library_manufacturer",
            "library_description",
            "slot_description",
            "slot_manufacturer",
        ):
            value = getattr(self, field)
            if value is not None and not isinstance(value, bytes):
                raise UsageError(FIELD_NOT_BYTES(name=field))
        for field in ("pin_source", "pin_value", "module_name", "module_path"):
            value = getattr(self, field)
            if value is not None and not isinstance(value, str):
                raise UsageError(FIELD_NOT_TEXT(name=field))
        if self.type is not None and self.type not in OBJECT_TYPES:
            raise UsageError(
                TYPE_NOT_ALLOWED(kind=shown(str(self.type)), kinds=tuple(sorted(OBJECT_TYPES)))
            )
        if self.library_version is not None:
            major, minor = self.library_version
            if not (0 <= major <= 255 and 0 <= minor <= 255):
                raise UsageError(VERSION_OUT_OF_RANGE())
        if self.slot_id is not None and self.slot_id < 0:
            raise UsageError(NEGATIVE_SLOT_ID())
        if self.pin_source is not None and self.pin_value is not None:
            raise UsageError(PIN_SOURCE_AND_VALUE())
        seen: set[str] = set()
        for name, value in self.vendor_path:
            _check_vendor_name(name)
            if name in seen:
                raise UsageError(VENDOR_PATH_TWICE(name=repr(name)))
            seen.add(name)
            if not isinstance(value, bytes):
                raise UsageError(VENDOR_NOT_BYTES(name=name))
        for name, value in self.vendor_query:
            _check_vendor_name(name)
            if not isinstance(value, bytes):
                raise UsageError(VENDOR_NOT_BYTES(name=name))
        # Canonical order, so equivalent URIs compare equal.
        object.__setattr__(self, "vendor_path", tuple(sorted(self.vendor_path)))
        object.__setattr__(
            self, "vendor_query", tuple(sorted(self.vendor_query, key=lambda item: item[0]))
        )

    def __str__(self) -> str:
        return format_uri(self)

    @property
    def has_object_attributes(self) -> bool:
        """True when the URI names objects (``object``, ``id`` or ``type``), not just tokens."""
        return self.object is not None or self.id is not None or self.type is not None

    # --- generated by scripts/values.py from the fields above: do not edit ---
    def __init__(  # noqa: PLR0917
        self,
        token: bytes | None = None,
        manufacturer: bytes | None = None,
        model: bytes | None = None,
        serial: bytes | None = None,
        object: bytes | None = None,
        id: bytes | None = None,
        type: str | None = None,
        library_manufacturer: bytes | None = None,
        library_description: bytes | None = None,
        library_version: tuple[int, int] | None = None,
        slot_id: int | None = None,
        slot_description: bytes | None = None,
        slot_manufacturer: bytes | None = None,
        vendor_path: _Vendor = (),
        pin_source: str | None = None,
        pin_value: str | None = None,
        module_name: str | None = None,
        module_path: str | None = None,
        vendor_query: _Vendor = (),
    ) -> None:
        _fields = self.__dict__
        _fields["token"] = token
        _fields["manufacturer"] = manufacturer
        _fields["model"] = model
        _fields["serial"] = serial
        _fields["object"] = object
        _fields["id"] = id
        _fields["type"] = type
        _fields["library_manufacturer"] = library_manufacturer
        _fields["library_description"] = library_description
        _fields["library_version"] = library_version
        _fields["slot_id"] = slot_id
        _fields["slot_description"] = slot_description
        _fields["slot_manufacturer"] = slot_manufacturer
        _fields["vendor_path"] = vendor_path
        _fields["pin_source"] = pin_source
        _fields["pin_value"] = pin_value
        _fields["module_name"] = module_name
        _fields["module_path"] = module_path
        _fields["vendor_query"] = vendor_query
        self.__post_init__()

    # --- end of generated code ---


def _check_vendor_name(name: str) -> None:
    if not re.fullmatch(_NAME, name):
        raise UsageError(BAD_NAME(name=shown(name)))
    if name in _PATH_FIELDS or name in _QUERY_FIELDS:
        raise UsageError(STANDARD_NAME(name=repr(name)))


# -- formatting ------------------------------------------------------------------------


def percent_encode(value: bytes, *, every_byte: bool = False) -> str:
    """``value`` as a URI attribute's text: ``A-Z a-z 0-9 - . _`` as they are and every
    other byte ``%XX``, as p11-kit writes them; with ``every_byte``, every byte (``id``)."""
    if every_byte:  # in C: "%" and the bytes in upper-case hex, "%" between them
        return "%" + bytes(value).hex("%").upper() if value else ""
    # A table lookup per byte in C (map), not a Python loop: a URI per certificate.
    return "".join(map(_ENCODED.__getitem__, value))


_ENCODED: Final = tuple(chr(b) if b in _VERBATIM else f"%{b:02X}" for b in range(256))


def _str_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def format_uri(uri: Pkcs11Uri, *, reveal_pin_value: bool = False) -> str:
    """The canonical text of ``uri``, attribute order and encoding as p11-kit writes them.

    ``pin-value`` is left out unless ``reveal_pin_value`` (so a URI can be logged or shown).
    """
    path: list[str] = []
    for name, field in _PATH_ORDER:
        value = getattr(uri, field)
        if value is None:
            continue
        if field == "library_version":
            text = f"{value[0]}.{value[1]}"
        elif field == "slot_id":
            text = str(value)
        elif field == "type":
            text = value
        else:
            text = percent_encode(value, every_byte=field == "id")
        path.append(f"{name}={text}")
    path.extend(f"{name}={percent_encode(value)}" for name, value in uri.vendor_path)
    query: list[str] = []
    for name, field in _QUERY_ORDER:
        value = getattr(uri, field)
        if value is None or (field == "pin_value" and not reveal_pin_value):
            continue
        query.append(f"{name}={percent_encode(_str_bytes(value))}")
    query.extend(f"{name}={percent_encode(value)}" for name, value in uri.vendor_query)
    text = f"{SCHEME}:" + ";".join(path)
    if query:
        text += "?" + "&".join(query)
    return text


# -- parsing ---------------------------------------------------------------------------


def shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for a one-line message: control characters escaped, long text cut."""
    text = escape_control(text)
    return "'" + (text if len(text) <= limit else text[: limit - 3] + "...") + "'"


def _decode(value: str, *, name: str, allowed: frozenset[str]) -> bytes:
    out = bytearray()
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "%":
            pair = value[i + 1 : i + 3]
            if len(pair) != 2 or not all(c in "0123456789abcdefABCDEF" for c in pair):
                raise UsageError(BAD_ESCAPE(escape=shown(value[i : i + 3]), name=name))
            out.append(int(pair, 16))
            i += 3
            continue
        if ord(ch) > 0x7F:
            if ch.isprintable():
                out += ch.encode("utf-8")  # an IRI-style literal character
                i += 1
                continue
        elif ch in allowed:
            out.append(ord(ch))
            i += 1
            continue
        encoded = percent_encode(_str_bytes(ch), every_byte=True)
        if ch == " ":
            raise UsageError(SPACE_UNENCODED(name=name, encoded=encoded))
        raise UsageError(CHAR_UNENCODED(char=shown(ch), name=name, encoded=encoded))
    return bytes(out)


def _text_value(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def refuse_pin_attributes(uri: Pkcs11Uri) -> Pkcs11Uri:
    """``uri``, unless it holds ``pin-value`` or ``pin-source``: a URI that selects tokens
    is shown back (in a no-match error, a status line), so it must hold no secret.
    Raises :class:`~ukeytool.UsageError` naming the attribute, never its value."""
    for name, value in (("pin-value", uri.pin_value), ("pin-source", uri.pin_source)):
        if value is not None:
            raise UsageError(PIN_ATTRIBUTE_REFUSED(name=name))
    return uri


def parse_uri(text: str) -> Pkcs11Uri:
    """Parse a ``pkcs11:`` URI (RFC 7512); see the module documentation for the rules.

    Raises :class:`~ukeytool.UsageError` with a one-line message naming the bad part.
    """
    if not isinstance(text, str):
        raise UsageError(NOT_TEXT())
    joined = re.sub(_WRAP, "", text.strip())
    scheme, colon, rest = joined.partition(":")
    if not colon or scheme.lower() != SCHEME:
        raise UsageError(NO_SCHEME(text=shown(text)))
    if "#" in rest:
        raise UsageError(FRAGMENT())
    path, question, query = rest.partition("?")
    fields: dict[str, Any] = {}
    vendor_path: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for attribute in path.split(";") if path else ():
        name, value = _split_attribute(attribute, part="path")
        if name in seen:
            raise UsageError(PATH_TWICE(name=repr(name)))
        seen.add(name)
        if name in _QUERY_FIELDS:
            raise UsageError(QUERY_IN_PATH(quoted=repr(name), name=name))
        field = _PATH_FIELDS.get(name)
        if field is None:
            vendor_path.append((name, _decode(value, name=name, allowed=_PATH_CHARS)))
        elif field == "library_version":
            fields[field] = _parse_version(value)
        elif field == "slot_id":
            if not re.fullmatch(_DIGITS, value):
                raise UsageError(BAD_SLOT_ID(value=shown(value)))
            fields[field] = int(value)
        elif field == "type":
            kind = _decode(value, name=name, allowed=_PATH_CHARS).decode("ascii", "replace")
            if kind not in OBJECT_TYPES:
                raise UsageError(UNKNOWN_TYPE(kind=shown(kind), kinds=tuple(sorted(OBJECT_TYPES))))
            fields[field] = kind
        else:
            fields[field] = _decode(value, name=name, allowed=_PATH_CHARS)
    vendor_query: list[tuple[str, bytes]] = []
    if question and query:
        for attribute in query.split("&"):
            name, value = _split_attribute(attribute, part="query")
            if name in _PATH_FIELDS:
                raise UsageError(PATH_IN_QUERY(quoted=repr(name), name=name))
            decoded = _decode(value, name=name, allowed=_QUERY_CHARS)
            field = _QUERY_FIELDS.get(name)
            if field is None:
                vendor_query.append((name, decoded))
                continue
            if field in fields:
                raise UsageError(QUERY_TWICE(name=repr(name)))
            fields[field] = _text_value(decoded)
    if "pin_source" in fields and "pin_value" in fields:
        raise UsageError(PIN_SOURCE_AND_VALUE_PARSED())
    return Pkcs11Uri(
        vendor_path=tuple(vendor_path),
        vendor_query=tuple(vendor_query),
        **fields,
    )


def _split_attribute(attribute: str, *, part: str) -> tuple[str, str]:
    separator = ";" if part == "path" else "&"
    name, equals, value = attribute.partition("=")
    if not attribute:
        raise UsageError(EMPTY_PATH_ATTRIBUTE() if part == "path" else EMPTY_QUERY_ATTRIBUTE())
    if not equals:
        raise UsageError(NO_EQUALS(attribute=shown(attribute), separator=repr(separator)))
    if not re.fullmatch(_NAME, name):
        raise UsageError(BAD_NAME(name=shown(name)))
    return name, value


def _parse_version(value: str) -> tuple[int, int]:
    match = re.fullmatch(_VERSION, value)
    if match is None:
        raise UsageError(BAD_VERSION(value=shown(value)))
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    if major > 255 or minor > 255:
        raise UsageError(VERSION_TOO_BIG(value=shown(value)))
    return major, minor
