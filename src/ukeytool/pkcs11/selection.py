"""Finding tokens and certificates by a ``pkcs11:`` URI, a label or a serial.

Matching: an attribute absent from the URI matches anything; a present one must equal the
resource's raw bytes (token fields as stored without their blank padding; trailing blanks in
the URI value are ignored the same way, as p11-kit pads before it compares). An empty value
matches only an empty field (``serial=`` matches a token without a serial). Query
attributes never take part in matching.

A path attribute ukeytool does not know (a vendor attribute) makes a URI match nothing, as
RFC 7512's matching guidelines say: the matchers return False for it, and the select
functions refuse it with a :class:`~ukeytool.UsageError` that says why. When not exactly
one token or certificate is selected where one is needed, the error lists the candidates
with their URIs (codes ``select.*``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import UsageError
from ..i18n.message import Message, template
from ..model import CertificateEntry, ModuleInfo, Report, SlotInfo, SlotReport, TokenInfo
from ..model._value import replace, value
from .token_uris import certificate_uri, token_uri
from .uri import Pkcs11Uri, parse_uri, refuse_pin_attributes, shown

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = [
    "TokenSelection",
    "filter_report",
    "select_certificate",
    "select_certificates",
    "select_token",
    "select_tokens",
    "selection_uri",
    "uri_matches_certificate",
    "uri_matches_token",
]

UNKNOWN_PATH_ATTRIBUTES: Final = template(
    "select.unknown_path_attributes",
    "the PKCS#11 URI has path attributes ukeytool does not know ({names}); "
    "RFC 7512 says such a URI matches nothing: remove them",
)
NO_TOKEN: Final = template("select.no_token", "no token matches {wanted}: there is no token")
NO_TOKEN_MATCHES: Final = template("select.no_token_matches", "no token matches {wanted}: {tokens}")
TOKENS_AMBIGUOUS: Final = template(
    "select.tokens_ambiguous",
    "{count} tokens match {wanted}, one is needed: {listing}; select one by its URI or serial",
)
NO_CERTIFICATE_MATCHES: Final = template(
    "select.no_certificate_matches", "no certificate matches {wanted}"
)
CERTIFICATES_AMBIGUOUS: Final = template(
    "select.certificates_ambiguous",
    "{count} certificates match {wanted}, one is needed: {listing}; select one by its URI",
)
#: What was asked for, in the sentences above: "label '...' and serial '...'".
BY_LABEL: Final = template("select.criterion.label", "label {value}")
BY_SERIAL: Final = template("select.criterion.serial", "serial {value}")
BOTH: Final = template("select.criterion.and", "{first} and {second}")
NO_CRITERION: Final = template("select.criterion.none", "the selection")


# -- matching --------------------------------------------------------------------------


def _same(wanted: bytes | None, actual: bytes) -> bool:
    # p11-kit pads the URI value with blanks to the field's width before comparing;
    # ukeytool stores fields without their blank padding but with NUL padding (as
    # p11tool's URIs have it): compare both without trailing blanks and NUL bytes, so
    # that a URI with or without the NUL padding matches.
    return wanted is None or wanted.rstrip(b" \x00") == actual.rstrip(b" \x00")


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


def selection_uri(uri: Pkcs11Uri | str | None) -> Pkcs11Uri | None:
    """``uri`` parsed, for selecting tokens: a PIN in it refused (never echoed), and
    vendor path attributes, which no token could match, refused (UsageError)."""
    result = uri if uri is None or isinstance(uri, Pkcs11Uri) else parse_uri(uri)
    if result is not None:
        refuse_pin_attributes(result)
    if result is not None and result.vendor_path:
        names = tuple(name for name, _ in result.vendor_path)
        raise UsageError(UNKNOWN_PATH_ATTRIBUTES(names=names))
    return result


def _text_matches(wanted: bytes | str | None, actual_raw: bytes, actual_value: str) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, bytes):
        return _same(wanted, actual_raw)
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


@value
class TokenSelection:
    """Which tokens a reading is about, given before it starts, so that the others are
    not read (``select=`` of :func:`~ukeytool.inspect` and
    :func:`~ukeytool.inspect_modules`): matched as :func:`select_tokens` matches, on a
    token's info (C_GetTokenInfo), its slot's and its module's, before any session.

    It crosses to the isolation child with the request. Its URI is one
    ``selection_uri`` gives (the command line's ``--uri`` is refused before
    anything is loaded when it has vendor path attributes, which match nothing)."""

    uri: Pkcs11Uri | None = None
    """A parsed ``pkcs11:`` URI (its object attributes play no part here)."""
    label: bytes | str | None = None
    """The token's label: raw bytes, or text compared with the decoded label."""
    serial: bytes | str | None = None
    """The token's serial: raw bytes, or text compared with the decoded serial."""

    def selects(self, slot: SlotReport, module: ModuleInfo | None = None) -> bool:
        """Whether the token of ``slot`` (read without a session) is selected; a slot
        without token info is not."""
        return _token_selected(slot, module, self.uri, self.label, self.serial)

    # --- generated by scripts/values.py from the fields above: do not edit ---
    def __init__(
        self,
        uri: Pkcs11Uri | None = None,
        label: bytes | str | None = None,
        serial: bytes | str | None = None,
    ) -> None:
        _fields = self.__dict__
        _fields["uri"] = uri
        _fields["label"] = label
        _fields["serial"] = serial

    # --- end of generated code ---


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
    parsed = selection_uri(uri)
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
    parsed = selection_uri(uri)
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
) -> Message | str:
    parts: list[Message | str] = []
    if uri is not None:
        parts.append(shown(str(uri) if isinstance(uri, Pkcs11Uri) else uri, 200))
    for by, given in ((BY_LABEL, label), (BY_SERIAL, serial)):
        if isinstance(given, str):
            parts.append(by(value=shown(given)))
        elif given is not None:
            parts.append(by(value=repr(given)))
    if not parts:
        return NO_CRITERION()
    wanted = parts[0]
    for part in parts[1:]:
        wanted = BOTH(first=wanted, second=part)
    return wanted


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
            raise UsageError(NO_TOKEN(wanted=wanted))
        there = "; ".join(present)
        raise UsageError(NO_TOKEN_MATCHES(wanted=wanted, tokens=there))
    listing = "; ".join(_describe_token(s) for s in found)
    raise UsageError(TOKENS_AMBIGUOUS(count=len(found), wanted=wanted, listing=listing))


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
        raise UsageError(NO_CERTIFICATE_MATCHES(wanted=wanted))
    listing = "; ".join(
        f"slot 0x{slot.slot.slot_id:x} {certificate_uri(slot.token, entry)}"
        for slot, entry in found
    )
    raise UsageError(CERTIFICATES_AMBIGUOUS(count=len(found), wanted=wanted, listing=listing))


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
    parsed = selection_uri(uri)
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
            slots.append(replace(selected, certificates=kept))
        else:
            slots.append(selected)
    return replace(report, slots=tuple(slots))
