"""One certificate of a JSON listing, written straight from its values to UTF-8 text.

:func:`~.json_certificate.certificate` gives a certificate's members as dicts
(:func:`~.json.report_to_dict`'s form). A listing of thousands of certificates spent
most of its JSON time building those dicts and walking them again to write them
(issue 12): here :func:`~.json.iter_json_utf8` writes the same text at once. Each
object (the certificate, its subject's attributes, its advice and the advice's windows)
is a template of its member names, laid out once for each indentation; each value is
written into it as JSON text. Runs of members that many certificates hold alike (a
renewal policy's branch members, a window's menus and steps) are written once for all
of them (:meth:`.json_encode.SharedParts.text`), and so are the parts
:mod:`.json_certificate` already shares (the issuer's name, the bank, the findings...),
and the subject's attributes that certificates hold as the same objects.
What is rare (the holder, identity numbers, a pair, key objects found, problems, other
closing dates) is :mod:`.json_certificate`'s dicts, encoded by :mod:`.json_encode`.

Everything is written in UTF-8 from the start: each value is encoded on its own (most
are ASCII, which Python copies as it is), the templates' constant pieces and the
shared parts once. A certificate's 8 KB of JSON, most of it indentation and member
names, used to be joined as text and then encoded as a whole; as it holds Chinese, that
text took two bytes a character and was encoded character by character. The strings'
escaping leaves no surrogate, so encoding never fails.

The text is that of ``json.dumps`` of the dicts, escaped as the listing escapes:
``tests/test_json_shared.py`` compares the two on every document it makes. A member
added to :mod:`.json_certificate` is added here too, in the same place; those tests
fail until it is.
"""

from __future__ import annotations

import datetime
import operator
from binascii import hexlify
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring
from typing import Any

from ..i18n import render
from ..model import Advice, CertificateEntry, NameAttribute, RenewalWindow, TokenInfo
from ..model.text import Text
from ..pkcs11.token_uris import certificate_uri_text
from . import json_certificate as dicts
from . import json_encode
from .json_encode import Shared, SharedParts, encode_shared
from .json_values import escape_string, moment, problem_list

__all__ = ["certificate_utf8"]

_INDENT = "  "

_CERTIFICATE = (
    "handle",
    "label",
    "label_hex",
    "label_encoding",
    "label_guessed",
    "id",
    "certificate_type",
    "private",
    "uri",
    "status",
    "days_left",
    *dicts.READ_MEMBERS,
    "problems",
    "subject_attributes",
    "issuer_attributes",
    "holder",
    "identity_numbers",
    "subject_key_identifier",
    "authority_key_identifier",
    "role",
    "issued_by",
    "pair",
    "key_on_token",
    "findings",
)
"""A certificate's members in :func:`.json_certificate.certificate`'s order (``advice``
follows when the certificate has advice)."""

_NOT_READ = (b"null",) * len(dicts.READ_MEMBERS)
"""What a certificate that could not be read has from ``subject`` to ``message_code``."""

_ATTRIBUTE = (
    "oid",
    "name",
    "string_type",
    "value",
    "value_hex",
    "value_encoding",
    "value_guessed",
    "decoding",
    "rdn",
)

_RUN = ""
"""In a template's member names: a run of members written as one shared text."""

_ADVICE = (
    "phase",
    "action",
    "needs_action",
    "expired",
    "bank",
    "key_name",
    "expires",
    "expiry_date",
    "window_opens",
    "window_closes",
    "windows",
    _RUN,  # _BRANCH
    "sources_disagree",
    "not_yet_valid",
    "valid_from",
    "pair_partner_handle",
    "pair_partner_label",
    "own_expiry_date",
    "summary",
    "message",
)

_BRANCH = (
    "branch_items",
    "branch_note",
    "branch_note_zh",
    "validity_years",
    "term",
    "term_zh",
    "stops_working",
    "branch_steps",
    "branch_steps_zh",
    "branch_sources",
)
"""The advice's members from its bank's policy, the same objects in the advice on every
certificate the policy advises on."""

_WINDOW = ("channel", "opens", "closes", "state", _RUN, "other_closes")  # _CHANNEL
_CHANNEL = ("key_types", "menu_zh", "menu", "steps", "steps_zh", "sources")
"""A window's members from its channel's policy."""

_branch_values = operator.attrgetter(*_BRANCH)
_channel_values = operator.attrgetter(*_CHANNEL)


class _Template:
    """An object of members ``names`` at the indentation ``newline`` ends with, a hole
    for each value (and for each run): :meth:`fill` puts the values' texts in them.
    Filled by one join of its constant pieces and the values (``%`` formatting would
    read the whole template again, character by character, for each object)."""

    __slots__ = ("_pieces",)

    def __init__(self, names: Sequence[str], newline: str) -> None:
        inner = newline + _INDENT
        constants = ["{"]
        for i, name in enumerate(names):
            member = inner if name == _RUN else inner + encode_basestring(name) + ": "
            constants[-1] += ("," if i else "") + member
            constants.append("")
        constants[-1] += newline + "}"
        pieces: list[bytes] = [b""] * (2 * len(constants) - 1)
        pieces[0::2] = [constant.encode() for constant in constants]
        self._pieces = pieces

    def fill(self, values: Sequence[bytes]) -> bytes:
        pieces = self._pieces.copy()
        pieces[1::2] = values  # raises ValueError for a wrong number of values
        return b"".join(pieces)


class _Layout:
    """The templates of a certificate's objects for one indentation."""

    __slots__ = (
        "advice",
        "attribute",
        "attributes_close",
        "attributes_open",
        "attributes_separator",
        "certificate",
        "certificate_with_advice",
        "inner",
        "window",
        "window_members",
        "windows_close",
        "windows_open",
        "windows_separator",
    )

    def __init__(self, newline: str) -> None:
        inner = self.inner = newline + _INDENT
        self.certificate = _Template(_CERTIFICATE, newline)
        self.certificate_with_advice = _Template((*_CERTIFICATE, "advice"), newline)
        item = inner + _INDENT  # an item of a member's array
        self.attribute = _Template(_ATTRIBUTE, item)
        self.attributes_open = ("[" + item).encode()
        self.attributes_separator = ("," + item).encode()
        self.attributes_close = (inner + "]").encode()
        self.advice = _Template(_ADVICE, inner)
        window = item + _INDENT  # an item of the advice's windows
        self.window = _Template(_WINDOW, window)
        self.window_members = window + _INDENT
        self.windows_open = ("[" + window).encode()
        self.windows_separator = ("," + window).encode()
        self.windows_close = (item + "]").encode()


_LAYOUTS: dict[str, _Layout] = {}
"""The layout of each indentation certificates are written at (a few)."""


def certificate_utf8(
    token: TokenInfo | None, entry: CertificateEntry, shared: SharedParts, newline: str
) -> bytes:
    """The JSON text of ``json_certificate.certificate(token, entry, shared)`` at the
    indentation ``newline`` ends with, as :mod:`.json_encode` writes it (strings escaped
    by :func:`~.json_values.escape_string`), in UTF-8."""
    layout = _LAYOUTS.get(newline)
    if layout is None:
        layout = _LAYOUTS[newline] = _Layout(newline)
    inner = layout.inner
    cert = entry.certificate
    label = entry.label
    values: tuple[bytes, ...] = (
        b"%d" % entry.handle,
        *_text(label),
        _hex(entry.id),
        _integer(entry.certificate_type),
        _boolean(entry.private),
        _string(certificate_uri_text(token, entry)),
        _string(entry.status._value_),  # an enum's value without its property
        _integer(entry.days_left),
    )
    if cert is None:
        values += (
            *_NOT_READ,
            _encoded(problem_list(entry.problems), inner),
            b"null",  # subject_attributes
            b"null",  # issuer_attributes
            b"null",  # holder
            b"[]",  # identity_numbers
            b"null",  # subject_key_identifier
            b"null",  # authority_key_identifier
        )
    else:
        not_before, not_after, error = cert.not_before, cert.not_after, cert.error
        key_usage, extended_key_usage = cert.key_usage, cert.extended_key_usage
        issuer = cert.issuer_attributes
        problems = (*entry.problems, *cert.problems)
        values += (
            _optional(cert.subject),
            _optional(cert.subject_cn),
            _optional(cert.issuer),
            _optional(cert.issuer_cn),
            _optional(cert.serial),
            _moment(not_before),
            _moment(not_after),
            _optional(cert.key_algorithm),
            _integer(cert.key_size),
            _optional(cert.key_curve),
            _optional(cert.signature_algorithm),
            _optional(cert.signature_algorithm_oid),
            _string(cert.sha256),
            _string(cert.sha1),
            _optional(cert.sm3),
            b"null" if key_usage is None else _list(key_usage, shared, inner),
            b"null" if extended_key_usage is None else _list(extended_key_usage, shared, inner),
            _boolean(cert.is_ca),
            _boolean(cert.self_signed),
            _string(cert.encoding),
            b"null" if error is None else _string(render(error)),
            b"null" if error is None else _string(error.code),
            _encoded(problem_list(problems), inner) if problems else b"[]",
            _attributes(cert.subject_attributes, shared, layout),
            b"null" if issuer is None else _part(shared, dicts.attributes_json, issuer, inner),
            b"null" if cert.holder is None else _encoded(dicts.holder_json(cert.holder), inner),
            _encoded([dicts.identity_number_json(n) for n in cert.identity_numbers], inner)
            if cert.identity_numbers
            else b"[]",
            _hex(cert.subject_key_identifier),
            _hex(cert.authority_key_identifier),
        )
    presence, issued_by, findings, pair = (
        entry.key_on_token,
        entry.issued_by,
        entry.findings,
        entry.pair,
    )
    values += (
        b"null" if entry.role is None else _string(entry.role._value_),
        b"null" if issued_by is None else _part(shared, dicts.link_json, issued_by, inner),
        b"null" if pair is None else _encoded(dicts.pair(pair), inner),
        b"null"
        if presence is None
        else _encoded(dicts.key_on_token_json(presence), inner)
        if presence.matches  # the certificate's own keys
        else _part(shared, dicts.key_on_token_json, presence, inner),
        b"[]" if not findings else _part(shared, dicts.findings_json, findings, inner),
    )
    if entry.advice is None:
        return layout.certificate.fill(values)
    return layout.certificate_with_advice.fill((*values, _advice(entry.advice, shared, layout)))


def _advice(advice: Advice, shared: SharedParts, layout: _Layout) -> bytes:
    renewal = dicts.renewal_module()
    inner = layout.inner + _INDENT
    windows = advice.windows
    return layout.advice.fill(
        (
            _string(advice.phase._value_),
            _string(advice.action._value_),
            b"true" if advice.needs_action else b"false",
            b"true" if advice.expired else b"false",
            _part(shared, dicts.bank_json, advice.bank, inner),
            _optional(advice.key_name),
            _moment(advice.expires),
            _day(advice.expiry_date),
            _day(advice.window_opens),
            _day(advice.window_closes),
            _windows(windows, shared, layout) if windows else b"[]",
            shared.text(_branch_run, _branch_values(advice), inner),
            b"true" if any(w.other_closes for w in windows) else b"false",
            b"true" if advice.not_yet_valid else b"false",
            _day(advice.valid_from),
            _integer(advice.pair_partner),
            _optional(advice.pair_partner_label),
            _day(advice.own_expiry_date),
            _string(renewal.advice_summary(advice)),
            _string(renewal.advice_message(advice)),
        )
    )


def _windows(windows: Sequence[RenewalWindow], shared: SharedParts, layout: _Layout) -> bytes:
    template = layout.window
    inner = layout.window_members
    texts = [
        template.fill(
            (
                _string(w.channel),
                _day(w.opens),
                _day(w.closes),
                _string(w.state._value_),
                shared.text(_channel_run, _channel_values(w), inner),
                _encoded(dicts.other_closes(w), inner) if w.other_closes else b"[]",
            )
        )
        for w in windows
    ]
    return layout.windows_open + layout.windows_separator.join(texts) + layout.windows_close


def _run_of(names: tuple[str, ...]) -> Callable[[tuple[Any, ...], str], bytes]:
    """The writer of a run of members ``names``: given their values and the indentation
    of the members, their text without the braces around them."""

    def run(values: tuple[Any, ...], newline: str) -> bytes:
        members = dict(zip(names, values, strict=True))  # (tuples are written as lists)
        text = encode_shared(members, newline[: -len(_INDENT)], escape_string)
        # Without "{<newline>" and "<newline>}".
        return text[1 + len(newline) : 1 - len(newline)].encode()

    return run


_branch_run = _run_of(_BRANCH)
_channel_run = _run_of(_CHANNEL)


def _attributes(
    attributes: Sequence[NameAttribute] | None, shared: SharedParts, layout: _Layout
) -> bytes:
    """The subject's attributes. Those that many certificates hold as the same objects
    (their C, O, OU..., which the plain reader makes once for all) are written once; the
    common name, the certificate's own, each time."""
    if attributes is None:
        return b"null"
    if not attributes:
        return b"[]"
    template, memo = layout.attribute, shared.memo(layout)
    texts: list[bytes] = []
    for attribute in attributes:
        found = memo.get(id(attribute))
        if found is None:
            text = _attribute(attribute, template)
            if len(memo) < json_encode.PARTS_MAX:  # the bound of the document's parts
                memo[id(attribute)] = (attribute, text)
        else:
            text = found[1]
        texts.append(text)
    return (
        layout.attributes_open + layout.attributes_separator.join(texts) + layout.attributes_close
    )


def _attribute(attribute: NameAttribute, template: _Template) -> bytes:
    return template.fill(
        (
            _string(attribute.oid),
            _string(attribute.name),
            _string(attribute.string_type),
            *_text(attribute.text),
            _string(attribute.decoding),
            b"%d" % attribute.rdn,
        )
    )


def _list(values: Sequence[Any], shared: SharedParts, newline: str) -> bytes:
    """A list many certificates hold alike (key usages), as :mod:`.json_certificate`
    shares it."""
    if not values:
        return b"[]"
    return _part(shared, list, values, newline)


def _part(shared: SharedParts, make: Callable[[Any], Any], value: Any, newline: str) -> bytes:
    """``make(value)``, a part :mod:`.json_certificate` shares, as text: written once
    (past :data:`~.json_encode.PARTS_MAX` parts, each time)."""
    part = shared.get(make, value)
    if type(part) is Shared:
        return part.utf8(newline, escape_string)
    return _encoded(part, newline)


def _encoded(value: Any, newline: str) -> bytes:
    """A part :mod:`.json_certificate` makes as dicts, encoded."""
    return encode_shared(value, newline, escape_string).encode()


def _string(value: str) -> bytes:
    if value.isprintable():
        return encode_basestring(value).encode()
    return escape_string(encode_basestring(value)).encode()


def _optional(value: str | None) -> bytes:
    # _string's two lines written out: a call less for each of ~20 values a certificate.
    if value is None:
        return b"null"
    if value.isprintable():
        return encode_basestring(value).encode()
    return escape_string(encode_basestring(value)).encode()


def _integer(value: int | None) -> bytes:
    return b"null" if value is None else b"%d" % value


def _boolean(value: bool | None) -> bytes:
    return b"null" if value is None else b"true" if value else b"false"


def _hex(value: bytes | None) -> bytes:
    return b"null" if value is None else b'"' + hexlify(value) + b'"'


def _day(value: datetime.date | None) -> bytes:
    """A day (``YYYY-MM-DD``), as text; remembered, as the same days recur (a
    certificate's expiry is its window's end, and many expire on one day)."""
    if value is None:
        return b"null"
    text = _DAYS.get(value)
    if text is None:
        text = b'"' + value.isoformat().encode() + b'"'
        if len(_DAYS) >= _TEXTS_MAX:
            _DAYS.clear()
        _DAYS[value] = text
    return text


def _moment(value: datetime.datetime | None) -> bytes:
    """A moment (:func:`~.json_values.moment`), as text; remembered, as one moment is
    written several times (a certificate's end is its advice's expiry and its pair's)."""
    if value is None:
        return b"null"
    text = _MOMENTS.get(value)
    if text is None:
        text = b'"' + moment(value).encode() + b'"'
        if len(_MOMENTS) >= _TEXTS_MAX:
            _MOMENTS.clear()
        _MOMENTS[value] = text
    return text


_DAYS: dict[datetime.date, bytes] = {}
_MOMENTS: dict[datetime.datetime, bytes] = {}
_TEXTS_MAX = 4096
"""At most this many days and moments are remembered (values: right for any document);
when full, forgotten and remembered afresh, so that the moments a certificate writes
more than once are still found in a document of more of them."""


_NO_TEXT = (b"null", b"null", b"null", b"null")


def _text(value: Text | None) -> tuple[bytes, bytes, bytes, bytes]:
    """A :class:`Text`'s four members (see :func:`~.json_values.text_members`)."""
    if value is None:
        return _NO_TEXT
    return (
        _string(value.value),
        b'"' + hexlify(value.raw) + b'"',
        _string(value.encoding),
        b"true" if value.guessed else b"false",
    )
