"""RFC 7512 ``pkcs11:`` URIs: parse, format, build for tokens and certificates, match, select.

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
consumer does not understand must make the URI match nothing, so the matchers return False
for a URI with vendor path attributes (and the select functions refuse it, saying why);
vendor query attributes are ignored.

Matching: an attribute absent from the URI matches anything; a present one must equal the
resource's raw bytes (token fields as stored without their blank padding; trailing blanks in
the URI value are ignored the same way, as p11-kit pads before it compares). An empty value
matches only an empty field (``serial=`` matches a token without a serial). Query
attributes never take part in matching.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from ..errors import UsageError
from ..model import CertificateEntry, ModuleInfo, Report, SlotInfo, SlotReport, TokenInfo
from ..model.text import escape_control


def N_(message: str) -> str:
    """Mark ``message`` for translation (as :func:`ukeytool.i18n.N_`, which is not
    imported here: ``import ukeytool`` must not import gettext). Errors are made in
    English from these templates; the CLI shows them translated
    (:func:`ukeytool.i18n.retranslate`)."""
    return message


__all__ = [
    "OBJECT_TYPES",
    "Pkcs11Uri",
    "certificate_uri",
    "filter_report",
    "format_uri",
    "parse_uri",
    "select_certificate",
    "select_certificates",
    "select_token",
    "select_tokens",
    "token_uri",
    "uri_matches_certificate",
    "uri_matches_token",
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

_NAME: Final = re.compile(r"[A-Za-z0-9_-]+")
_WRAP: Final = re.compile(r"[ \t]*\r?\n[ \t]*")
_VERSION: Final = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_DIGITS: Final = re.compile(r"[0-9]+")

_Vendor = tuple[tuple[str, bytes], ...]


@dataclasses.dataclass(frozen=True)
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
    pin_value: str | None = dataclasses.field(default=None, repr=False)
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
                raise UsageError(
                    N_("PKCS#11 URI attribute {name} must be bytes or None").format(name=field)
                )
        for field in ("pin_source", "pin_value", "module_name", "module_path"):
            value = getattr(self, field)
            if value is not None and not isinstance(value, str):
                raise UsageError(
                    N_("PKCS#11 URI attribute {name} must be a string or None").format(name=field)
                )
        if self.type is not None and self.type not in OBJECT_TYPES:
            raise UsageError(
                N_("PKCS#11 URI type {kind} is not one of {kinds}").format(
                    kind=_shown(str(self.type)), kinds=", ".join(sorted(OBJECT_TYPES))
                )
            )
        if self.library_version is not None:
            major, minor = self.library_version
            if not (0 <= major <= 255 and 0 <= minor <= 255):
                raise UsageError(N_("PKCS#11 URI library-version numbers must be 0 to 255"))
        if self.slot_id is not None and self.slot_id < 0:
            raise UsageError(N_("PKCS#11 URI slot-id must not be negative"))
        if self.pin_source is not None and self.pin_value is not None:
            raise UsageError(N_("a PKCS#11 URI must not have both pin-source and pin-value"))
        seen: set[str] = set()
        for name, value in self.vendor_path:
            _check_vendor_name(name)
            if name in seen:
                raise UsageError(
                    N_("PKCS#11 URI path attribute {name} appears twice").format(name=repr(name))
                )
            seen.add(name)
            if not isinstance(value, bytes):
                raise UsageError(N_("PKCS#11 URI attribute {name} must be bytes").format(name=name))
        for name, value in self.vendor_query:
            _check_vendor_name(name)
            if not isinstance(value, bytes):
                raise UsageError(N_("PKCS#11 URI attribute {name} must be bytes").format(name=name))
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


def _check_vendor_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise UsageError(_BAD_NAME.format(name=_shown(name)))
    if name in _PATH_FIELDS or name in _QUERY_FIELDS:
        raise UsageError(
            N_("{name} is a standard PKCS#11 URI attribute, not a vendor one").format(
                name=repr(name)
            )
        )


_BAD_NAME = N_("bad PKCS#11 URI attribute name {name}: use letters, digits, '-' and '_'")


# -- formatting ------------------------------------------------------------------------


def _encode(value: bytes, *, every_byte: bool = False) -> str:
    if every_byte:
        return "".join(f"%{byte:02X}" for byte in value)
    return "".join(chr(byte) if byte in _VERBATIM else f"%{byte:02X}" for byte in value)


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
            text = _encode(value, every_byte=field == "id")
        path.append(f"{name}={text}")
    path.extend(f"{name}={_encode(value)}" for name, value in uri.vendor_path)
    query: list[str] = []
    for name, field in _QUERY_ORDER:
        value = getattr(uri, field)
        if value is None or (field == "pin_value" and not reveal_pin_value):
            continue
        query.append(f"{name}={_encode(_str_bytes(value))}")
    query.extend(f"{name}={_encode(value)}" for name, value in uri.vendor_query)
    text = f"{SCHEME}:" + ";".join(path)
    if query:
        text += "?" + "&".join(query)
    return text


# -- parsing ---------------------------------------------------------------------------


def _shown(text: str, limit: int = 80) -> str:
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
                raise UsageError(
                    N_(
                        "bad percent escape {escape} in PKCS#11 URI attribute {name}: "
                        "'%' must be followed by two hex digits (write '%' itself as %25)"
                    ).format(escape=_shown(value[i : i + 3]), name=name)
                )
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
        template = (
            N_(
                "a space is not allowed unencoded in PKCS#11 URI attribute {name}: "
                "write it as {encoded}"
            )
            if ch == " "
            else N_(
                "{char} is not allowed unencoded in PKCS#11 URI attribute {name}: "
                "write it as {encoded}"
            )
        )
        raise UsageError(
            template.format(
                char=_shown(ch), name=name, encoded=_encode(_str_bytes(ch), every_byte=True)
            )
        )
    return bytes(out)


def _text_value(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def parse_uri(text: str) -> Pkcs11Uri:
    """Parse a ``pkcs11:`` URI (RFC 7512); see the module documentation for the rules.

    Raises :class:`~ukeytool.UsageError` with a one-line message naming the bad part.
    """
    if not isinstance(text, str):
        raise UsageError(N_("a PKCS#11 URI must be given as text"))
    joined = _WRAP.sub("", text.strip())
    scheme, colon, rest = joined.partition(":")
    if not colon or scheme.lower() != SCHEME:
        raise UsageError(
            N_(
                "not a PKCS#11 URI: {text} does not start with 'pkcs11:' "
                "(e.g. pkcs11:token=My%20Token)"
            ).format(text=_shown(text))
        )
    if "#" in rest:
        raise UsageError(N_("'#' is not allowed in a PKCS#11 URI: write it as %23"))
    path, question, query = rest.partition("?")
    fields: dict[str, Any] = {}
    vendor_path: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for attribute in path.split(";") if path else ():
        name, value = _split_attribute(attribute, part="path")
        if name in seen:
            raise UsageError(
                N_(
                    "PKCS#11 URI path attribute {name} appears twice "
                    "(RFC 7512 allows each path attribute once)"
                ).format(name=repr(name))
            )
        seen.add(name)
        if name in _QUERY_FIELDS:
            raise UsageError(
                N_(
                    "{quoted} belongs in the query part of a PKCS#11 URI, after '?' "
                    "(pkcs11:...?{name}=...)"
                ).format(quoted=repr(name), name=name)
            )
        field = _PATH_FIELDS.get(name)
        if field is None:
            vendor_path.append((name, _decode(value, name=name, allowed=_PATH_CHARS)))
        elif field == "library_version":
            fields[field] = _parse_version(value)
        elif field == "slot_id":
            if not _DIGITS.fullmatch(value):
                raise UsageError(
                    N_("bad slot-id {value} in PKCS#11 URI: a decimal number is expected").format(
                        value=_shown(value)
                    )
                )
            fields[field] = int(value)
        elif field == "type":
            kind = _decode(value, name=name, allowed=_PATH_CHARS).decode("ascii", "replace")
            if kind not in OBJECT_TYPES:
                raise UsageError(
                    N_("unknown type {kind} in PKCS#11 URI: expected one of {kinds}").format(
                        kind=_shown(kind), kinds=", ".join(sorted(OBJECT_TYPES))
                    )
                )
            fields[field] = kind
        else:
            fields[field] = _decode(value, name=name, allowed=_PATH_CHARS)
    vendor_query: list[tuple[str, bytes]] = []
    if question and query:
        for attribute in query.split("&"):
            name, value = _split_attribute(attribute, part="query")
            if name in _PATH_FIELDS:
                raise UsageError(
                    N_(
                        "{quoted} belongs in the path part of a PKCS#11 URI, before '?' "
                        "(pkcs11:{name}=...)"
                    ).format(quoted=repr(name), name=name)
                )
            decoded = _decode(value, name=name, allowed=_QUERY_CHARS)
            field = _QUERY_FIELDS.get(name)
            if field is None:
                vendor_query.append((name, decoded))
                continue
            if field in fields:
                raise UsageError(
                    N_("PKCS#11 URI query attribute {name} appears twice").format(name=repr(name))
                )
            fields[field] = _text_value(decoded)
    if "pin_source" in fields and "pin_value" in fields:
        raise UsageError(
            N_(
                "a PKCS#11 URI must not have both pin-source and pin-value "
                "(RFC 7512 says to refuse it)"
            )
        )
    return Pkcs11Uri(
        vendor_path=tuple(vendor_path),
        vendor_query=tuple(vendor_query),
        **fields,
    )


def _split_attribute(attribute: str, *, part: str) -> tuple[str, str]:
    separator = ";" if part == "path" else "&"
    name, equals, value = attribute.partition("=")
    if not attribute:
        raise UsageError(
            N_("empty attribute in the path of a PKCS#11 URI (a stray ';')")
            if part == "path"
            else N_("empty attribute in the query of a PKCS#11 URI (a stray '&')")
        )
    if not equals:
        raise UsageError(
            N_(
                "PKCS#11 URI attribute {attribute} has no '=' "
                "(attributes are name=value, separated by {separator})"
            ).format(attribute=_shown(attribute), separator=repr(separator))
        )
    if not _NAME.fullmatch(name):
        raise UsageError(_BAD_NAME.format(name=_shown(name)))
    return name, value


def _parse_version(value: str) -> tuple[int, int]:
    match = _VERSION.fullmatch(value)
    if match is None:
        raise UsageError(
            N_(
                "bad library-version {value} in PKCS#11 URI: expected major[.minor], e.g. 2.6"
            ).format(value=_shown(value))
        )
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    if major > 255 or minor > 255:
        raise UsageError(
            N_("bad library-version {value} in PKCS#11 URI: numbers go up to 255").format(
                value=_shown(value)
            )
        )
    return major, minor


# -- building --------------------------------------------------------------------------


def token_uri(token: TokenInfo, module: ModuleInfo | None = None) -> Pkcs11Uri:
    """The URI of ``token``: model, manufacturer, serial and label (``token``).

    With ``module``, ``library-description`` and ``library-manufacturer`` too (as
    ``p11tool --detailed-url`` prints them; the version is left out so the URI survives a
    module update). Empty fields are kept (``serial=``): they match only an empty field.
    """
    return Pkcs11Uri(
        token=token.label.raw,
        manufacturer=token.manufacturer.raw,
        model=token.model.raw,
        serial=token.serial.raw,
        library_description=None if module is None else module.description.raw,
        library_manufacturer=None if module is None else module.manufacturer.raw,
    )


def certificate_uri(
    token: TokenInfo | None, entry: CertificateEntry, module: ModuleInfo | None = None
) -> Pkcs11Uri:
    """The URI of a certificate object: its token's attributes, ``id``, ``object``,
    ``type=cert``.

    An empty or absent CKA_ID or CKA_LABEL is left out, as p11tool does. Without ``token``
    (its information could not be read) the URI has the object attributes only.
    """
    base = Pkcs11Uri() if token is None else token_uri(token, module)
    if token is None and module is not None:
        base = Pkcs11Uri(
            library_description=module.description.raw,
            library_manufacturer=module.manufacturer.raw,
        )
    return dataclasses.replace(
        base,
        id=entry.id or None,
        object=None if entry.label is None or not entry.label.raw else entry.label.raw,
        type="cert",
    )


# -- matching --------------------------------------------------------------------------


def _same(wanted: bytes | None, actual: bytes) -> bool:
    # p11-kit pads the URI value with blanks to the field's width before comparing, and
    # ukeytool stores fields without their padding: compare both without trailing blanks.
    return wanted is None or wanted.rstrip(b" \x00") == actual


def uri_matches_token(
    uri: Pkcs11Uri,
    token: TokenInfo,
    module: ModuleInfo | None = None,
    *,
    slot: SlotInfo | None = None,
) -> bool:
    """Whether the token parts of ``uri`` match ``token``, comparing raw bytes.

    ``object``, ``id`` and ``type`` are not looked at (use :func:`uri_matches_certificate`).
    Library attributes need ``module`` and slot attributes need ``slot``: without them such
    a URI does not match. A URI with vendor path attributes matches nothing.
    """
    return (
        not uri.vendor_path
        and _same(uri.token, token.label.raw)
        and _same(uri.manufacturer, token.manufacturer.raw)
        and _same(uri.model, token.model.raw)
        and _same(uri.serial, token.serial.raw)
        and _context_matches(uri, module, slot)
    )


def _context_matches(uri: Pkcs11Uri, module: ModuleInfo | None, slot: SlotInfo | None) -> bool:
    """The library and slot parts of ``uri`` against ``module`` and ``slot``."""
    if (
        uri.library_description is not None
        or uri.library_manufacturer is not None
        or uri.library_version is not None
    ) and (
        module is None
        or not _same(uri.library_description, module.description.raw)
        or not _same(uri.library_manufacturer, module.manufacturer.raw)
        or (uri.library_version is not None and uri.library_version != module.library_version)
    ):
        return False
    slot_named = (
        uri.slot_id is not None
        or uri.slot_description is not None
        or uri.slot_manufacturer is not None
    )
    return not slot_named or (
        slot is not None
        and (uri.slot_id is None or uri.slot_id == slot.slot_id)
        and _same(uri.slot_description, slot.description.raw)
        and _same(uri.slot_manufacturer, slot.manufacturer.raw)
    )


def uri_matches_certificate(
    uri: Pkcs11Uri,
    token: TokenInfo | None,
    entry: CertificateEntry,
    module: ModuleInfo | None = None,
    *,
    slot: SlotInfo | None = None,
) -> bool:
    """Whether ``uri`` matches the certificate object ``entry`` on ``token``, on raw bytes.

    The token parts as in :func:`uri_matches_token` (a URI with token attributes does not
    match when ``token`` is None); ``object`` against CKA_LABEL and ``id`` against CKA_ID
    exactly (an object without the attribute does not match); ``type`` must be absent or
    ``cert``.
    """
    if token is not None:
        if not uri_matches_token(uri, token, module, slot=slot):
            return False
    elif (
        uri.vendor_path
        or any(v is not None for v in (uri.token, uri.manufacturer, uri.model, uri.serial))
        or not _context_matches(uri, module, slot)
    ):
        return False
    if uri.type is not None and uri.type != "cert":
        return False
    if uri.object is not None and (entry.label is None or entry.label.raw != uri.object):
        return False
    return uri.id is None or entry.id == uri.id


# -- selecting -------------------------------------------------------------------------


def _as_uri(uri: Pkcs11Uri | str | None) -> Pkcs11Uri | None:
    result = uri if uri is None or isinstance(uri, Pkcs11Uri) else parse_uri(uri)
    if result is not None and result.vendor_path:
        names = ", ".join(name for name, _ in result.vendor_path)
        raise UsageError(
            N_(
                "the PKCS#11 URI has path attributes ukeytool does not know ({names}); "
                "RFC 7512 says such a URI matches nothing: remove them"
            ).format(names=names)
        )
    return result


def _text_matches(wanted: bytes | str | None, actual_raw: bytes, actual_value: str) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, bytes):
        return wanted.rstrip(b" \x00") == actual_raw
    return wanted == actual_value


def _slots_of(
    source: Report | Iterable[SlotReport], module: ModuleInfo | None
) -> tuple[Sequence[SlotReport], ModuleInfo | None]:
    if isinstance(source, Report):
        return source.slots, module if module is not None else source.module
    return tuple(source), module


def _token_selected(
    slot: SlotReport,
    module: ModuleInfo | None,
    uri: Pkcs11Uri | None,
    label: bytes | str | None,
    serial: bytes | str | None,
) -> bool:
    token = slot.token
    if token is None:
        return False
    if not _text_matches(label, token.label.raw, token.label.value):
        return False
    if not _text_matches(serial, token.serial.raw, token.serial.value):
        return False
    return uri is None or uri_matches_token(uri, token, module, slot=slot.slot)


def select_tokens(
    source: Report | Iterable[SlotReport],
    *,
    uri: Pkcs11Uri | str | None = None,
    label: bytes | str | None = None,
    serial: bytes | str | None = None,
    module: ModuleInfo | None = None,
) -> list[SlotReport]:
    """The slots of ``source`` whose token matches every criterion given, in slot order.

    ``source`` is a :class:`~ukeytool.Report` (its module is used for library attributes) or
    slot reports (pass ``module`` for library attributes). ``uri`` (text or parsed) is
    matched by :func:`uri_matches_token`: raw bytes, object attributes ignored. ``label``
    and ``serial`` as bytes are compared with the raw field; as text, with the decoded text
    (:attr:`~ukeytool.Text.value`), so ``label="工行U盾"`` finds a GBK-labelled token too.
    No criterion selects every slot with a token. Slots without token info never match.
    Raises :class:`~ukeytool.UsageError` for a malformed URI or one with vendor path
    attributes (which match nothing).
    """
    parsed = _as_uri(uri)
    slots, module = _slots_of(source, module)
    return [slot for slot in slots if _token_selected(slot, module, parsed, label, serial)]


def select_certificates(
    source: Report | Iterable[SlotReport],
    *,
    uri: Pkcs11Uri | str | None = None,
    label: bytes | str | None = None,
    serial: bytes | str | None = None,
    module: ModuleInfo | None = None,
) -> list[tuple[SlotReport, CertificateEntry]]:
    """The certificates on the tokens :func:`select_tokens` selects that ``uri`` matches
    (:func:`uri_matches_certificate`), as (slot, certificate) pairs in listing order."""
    parsed = _as_uri(uri)
    slots, module = _slots_of(source, module)
    found: list[tuple[SlotReport, CertificateEntry]] = []
    for slot in slots:
        if not _token_selected(slot, module, parsed, label, serial):
            continue
        for entry in slot.certificates:
            if parsed is None or uri_matches_certificate(
                parsed, slot.token, entry, module, slot=slot.slot
            ):
                found.append((slot, entry))
    return found


def _criteria(
    uri: Pkcs11Uri | str | None, label: bytes | str | None, serial: bytes | str | None
) -> str:
    parts = []
    if uri is not None:
        parts.append(_shown(str(uri) if isinstance(uri, Pkcs11Uri) else uri, 200))
    for name, value in (("label", label), ("serial", serial)):
        if isinstance(value, str):
            parts.append(f"{name} {_shown(value)}")
        elif value is not None:
            parts.append(f"{name} {value!r}")
    return " and ".join(parts) if parts else "the selection"


def _describe_token(slot: SlotReport) -> str:
    assert slot.token is not None
    return f"slot 0x{slot.slot.slot_id:x} {token_uri(slot.token)}"


def select_token(
    source: Report | Iterable[SlotReport],
    *,
    uri: Pkcs11Uri | str | None = None,
    label: bytes | str | None = None,
    serial: bytes | str | None = None,
    module: ModuleInfo | None = None,
) -> SlotReport:
    """The one slot whose token matches (as :func:`select_tokens`).

    Raises :class:`~ukeytool.UsageError` when none matches (listing the tokens there are) or
    several do (listing them, with their URIs, so one can be chosen); one line either way.
    """
    slots, module = _slots_of(source, module)
    found = select_tokens(slots, uri=uri, label=label, serial=serial, module=module)
    if len(found) == 1:
        return found[0]
    wanted = _criteria(uri, label, serial)
    if not found:
        present = [_describe_token(s) for s in slots if s.token is not None]
        if not present:
            raise UsageError(
                N_("no token matches {wanted}: there is no token").format(wanted=wanted)
            )
        there = "; ".join(present)
        raise UsageError(
            N_("no token matches {wanted}: {tokens}").format(wanted=wanted, tokens=there)
        )
    listing = "; ".join(_describe_token(s) for s in found)
    raise UsageError(
        N_(
            "{count} tokens match {wanted}, one is needed: {listing}; "
            "select one by its URI or serial"
        ).format(count=len(found), wanted=wanted, listing=listing)
    )


def select_certificate(
    source: Report | Iterable[SlotReport],
    *,
    uri: Pkcs11Uri | str | None = None,
    label: bytes | str | None = None,
    serial: bytes | str | None = None,
    module: ModuleInfo | None = None,
) -> tuple[SlotReport, CertificateEntry]:
    """The one certificate that matches (as :func:`select_certificates`).

    Raises :class:`~ukeytool.UsageError` when none or several match, listing the candidates
    with their URIs; one line either way.
    """
    slots, module = _slots_of(source, module)
    found = select_certificates(slots, uri=uri, label=label, serial=serial, module=module)
    if len(found) == 1:
        return found[0]
    wanted = _criteria(uri, label, serial)
    if not found:
        raise UsageError(N_("no certificate matches {wanted}").format(wanted=wanted))
    listing = "; ".join(
        f"slot 0x{slot.slot.slot_id:x} {certificate_uri(slot.token, entry)}"
        for slot, entry in found
    )
    raise UsageError(
        N_(
            "{count} certificates match {wanted}, one is needed: {listing}; select one by its URI"
        ).format(count=len(found), wanted=wanted, listing=listing)
    )


def filter_report(
    report: Report,
    *,
    uri: Pkcs11Uri | str | None = None,
    label: bytes | str | None = None,
    serial: bytes | str | None = None,
) -> Report:
    """``report`` with only the slots whose token is selected (:func:`select_tokens`) and,
    when ``uri`` names objects (``object``, ``id``, ``type``), only the certificates it
    matches. Module-wide problems are kept. With no criterion, ``report`` itself."""
    parsed = _as_uri(uri)
    if parsed is None and label is None and serial is None:
        return report
    slots = []
    for selected in select_tokens(report, uri=parsed, label=label, serial=serial):
        if parsed is not None and parsed.has_object_attributes:
            kept = tuple(
                entry
                for entry in selected.certificates
                if uri_matches_certificate(
                    parsed, selected.token, entry, report.module, slot=selected.slot
                )
            )
            slots.append(dataclasses.replace(selected, certificates=kept))
        else:
            slots.append(selected)
    return dataclasses.replace(report, slots=tuple(slots))
