"""Reports as JSON: a pure function from :class:`~ukeytool.model.Report` values to text.

The shape is described by ``schema/report.schema.json`` (JSON Schema draft 2020-12),
shipped inside the package; :data:`SCHEMA_ID` is its ``$id`` and every document names it
in its ``"schema"`` member together with :data:`SCHEMA_VERSION`.

Choices, so consumers can rely on them:

* Moments are ISO 8601 in UTC with a ``Z`` suffix, ``YYYY-MM-DDTHH:MM:SSZ``; a fraction
  ``.ffffff`` appears only when the sub-second part is not zero. A naive datetime in the
  model is taken to be UTC (the model documents its datetimes as UTC).
* Versions (CK_VERSION) are ``"major.minor"`` with both numbers in decimal, as the
  PKCS#11 headers print them: ``(2, 40)`` is ``"2.40"``, ``(3, 1)`` is ``"3.1"``.
* Every :class:`~ukeytool.model.text.Text` field ``x`` becomes four members: ``x`` (the decoded
  value), ``x_hex`` (the raw bytes, lowercase hex), ``x_encoding`` (``"utf-8"``,
  ``"gb18030"`` or ``"unknown"``) and ``x_guessed``; all four are null where the model
  has None (a certificate object without CKA_LABEL).
* Byte strings (CKA_ID) are lowercase hex; None is null. Tuples become arrays.
* Every token and every certificate has a ``uri``: its RFC 7512 ``pkcs11:`` URI, built from
  the raw bytes exactly as ``p11tool`` prints it (see :mod:`ukeytool.pkcs11.uri`), so it can be
  given back to ukeytool or to other PKCS#11 tools. A token's names model, manufacturer,
  serial and label; a certificate's adds id and object (its label) when not empty, and
  ``type=cert``. For a certificate whose token info could not be read, only the object part.
* A certificate's ``problems`` joins the object's attribute problems (``CKA_*``) and the
  certificate's field problems (``subject``...), in that order; ``where`` tells them apart.
* A slot's certificates are in ``token.certificates``. In the rare case that a slot has
  certificates but its token info could not be read (``token`` is null), they are in the
  slot's own ``certificates`` member, which is absent otherwise.
* ``complete`` at the top and per module is :attr:`Report.complete` (nothing failed
  anywhere); a slot's ``complete`` is :attr:`SlotReport.complete` (its certificate listing
  did not stop part-way).
* All reports in one document share ``at`` and ``warn_days``. An empty list of reports is
  allowed: ``at`` is then ``generated_at``, ``warn_days`` null, ``complete`` true and
  ``modules`` empty.
* Each certificate says how it relates to the rest of its token (``role``, ``issued_by``,
  ``pair``, ``key_on_token``) and lists its ``findings``; see docs/relations.md. These are
  null (``findings`` empty) for a certificate whose relations were not worked out.
* Personal data is masked unless ``show_personal_data`` is given, and the document says
  which in its top-level ``"personal_data"`` member (``"masked"`` or ``"shown"``). Masking
  (:func:`~ukeytool.rendering.mask.mask_report`) covers every string that can carry an ID number:
  labels and their ``_hex`` bytes, names whole and per attribute, the holder fields,
  identity numbers from extensions, URIs, messages. Serials, CKA_ID and fingerprints are
  kept.
* Certificates read from files (``ukeytool inspect-file``, :func:`files_to_dict`) are
  the same document with empty ``modules`` and ``failed_modules`` and a ``files`` array
  (absent from token documents); each certificate validates against the same definition
  as a token's, with ``uri`` null (a file has no PKCS#11 URI), ``handle`` its position in
  the file, and a ``location`` member that only file certificates have.
* Renewal advice, when the reports carry it (:func:`~ukeytool.advise`), is an ``advice``
  object per certificate and per token: stable English codes (``phase``, ``action``,
  ``rule``...) and dates, with the human sentences (``message``, ``summary``) in the
  language chosen (``language`` at the top). Days there are China Standard Time dates,
  ``YYYY-MM-DD``.
* The text never carries raw control characters: besides the escapes JSON requires, C1
  controls, format characters (bidi overrides...), U+2028, U+2029 and other
  non-printing characters inside strings are written as ``\\uXXXX`` escapes, which
  decode to the same value (the characters :func:`~ukeytool.model.text.escape_control`
  escapes in text).
* Every file and module path has its bytes beside it (``path_hex``, ``real_path_hex``);
  a name that is not UTF-8 shows each such byte as the text ``\\xNN``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from .._version import __version__
from ..i18n import get_language, render, using
from ..judging.validity import check_moment
from ..model import (
    CertificateEntry,
    FileKey,
    FileReport,
    LoginOutcome,
    ModuleFailure,
    ModuleInfo,
    Report,
    SlotReport,
    Status,
    TokenAdvice,
    TokenInfo,
)
from ..pkcs11.token_uris import token_uri
from .json_certificate import certificate as _certificate
from .json_certificate import token_advice
from .json_certificate_text import certificate_utf8
from .json_encode import Items, SharedParts, dumps_indented, iter_indented, iter_indented_utf8
from .json_values import (
    escape_string,
    message_code,
    moment,
    path_hex,
    problem_list,
    text_members,
    version,
)
from .mask import mask_failure, mask_file, mask_report

__all__ = [
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "files_to_dict",
    "iter_json",
    "iter_json_utf8",
    "render_files_json",
    "render_json",
    "report_to_dict",
]

SCHEMA_ID = "https://ukeytool.invalid/schema/report-1.json"
"""The ``$id`` of the shipped schema and the value of every document's ``"schema"``."""
SCHEMA_VERSION = 1
"""Raised when a member is removed or changes meaning; adding members keeps it."""


def report_to_dict(
    reports: Sequence[Report],
    *,
    generated_at: datetime.datetime,
    failures: Sequence[ModuleFailure] = (),
    show_personal_data: bool = False,
    lang: str | None = None,
) -> dict[str, Any]:
    """The JSON document for ``reports`` as plain dicts, lists, strings, numbers and None.

    ``generated_at`` is when the document was made (aware; a naive datetime raises
    :class:`~ukeytool.errors.UsageError`). Raises ValueError when the reports were
    judged at different moments or with different warning windows. ID numbers are
    masked unless ``show_personal_data``. ``lang``: the language of the advice sentences
    (default: the current language).
    """
    with using(lang):
        return _document(
            reports,
            generated_at=generated_at,
            failures=failures,
            show_personal_data=show_personal_data,
        )


def _document(
    reports: Sequence[Report],
    *,
    generated_at: datetime.datetime,
    failures: Sequence[ModuleFailure],
    show_personal_data: bool,
) -> dict[str, Any]:
    generated_at = check_moment(generated_at, what="generated_at")
    if not show_personal_data:
        reports = [mask_report(report) for report in reports]
        failures = [mask_failure(failure) for failure in failures]
    if reports:
        at, warn_days = reports[0].at, reports[0].warn_days
        for report in reports[1:]:
            if report.at != at or report.warn_days != warn_days:
                raise ValueError(
                    "all reports in one document must be judged at the same moment "
                    "with the same warning window"
                )
        at_value: str = moment(at)
        warn_value: int | None = warn_days
    else:
        at_value, warn_value = moment(generated_at), None
    counts = {status.value: 0 for status in Status}
    for report in reports:
        for entry in report.certificates:
            counts[entry.status._value_] += 1  # an enum's value without its property
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "tool": "ukeytool",
        "tool_version": __version__,
        "generated_at": moment(generated_at),
        "at": at_value,
        "warn_days": warn_value,
        "complete": not failures and all(report.complete for report in reports),
        "personal_data": "shown" if show_personal_data else "masked",
        "summary": {"certificates": sum(counts.values()), **counts},
        "modules": [_report(report) for report in reports],
        "failed_modules": [_failure(failure) for failure in failures],
        "language": get_language(),
    }


def _failure(failure: ModuleFailure) -> dict[str, Any]:
    return {
        "path": failure.path,
        "path_hex": path_hex(failure.path),
        "kind": failure.kind,
        "message": render(failure.message),
        "message_code": message_code(failure.message),
        "code": failure.code,
        "code_name": failure.code_name,
    }


def render_json(
    reports: Sequence[Report],
    *,
    generated_at: datetime.datetime,
    failures: Sequence[ModuleFailure] = (),
    show_personal_data: bool = False,
    lang: str | None = None,
) -> str:
    """The JSON document for ``reports`` (and ``failures``, modules that could not be
    inspected): UTF-8 friendly, indented by 2, ending in a newline. ID numbers are
    masked unless ``show_personal_data``; ``lang``: the language of the advice
    sentences."""
    return b"".join(
        iter_json_utf8(
            reports,
            generated_at=generated_at,
            failures=failures,
            show_personal_data=show_personal_data,
            lang=lang,
        )
    ).decode()


def iter_json(
    reports: Sequence[Report],
    *,
    generated_at: datetime.datetime,
    failures: Sequence[ModuleFailure] = (),
    show_personal_data: bool = False,
    lang: str | None = None,
) -> Iterator[str]:
    """:func:`render_json`'s document in pieces, one a certificate (and a few around
    them), each made when it is asked for: write them as they come and the document is
    never held whole, neither as text nor as Python objects (for 5000 certificates, a
    few hundred MB). Raises what :func:`render_json` raises before the first piece.
    To write the pieces as UTF-8, :func:`iter_json_utf8` gives them so."""
    document = _lazy_document(reports, generated_at, failures, show_personal_data, lang)
    return _in_language(iter_indented(document, end="\n", escape=escape_string), lang)


def iter_json_utf8(
    reports: Sequence[Report],
    *,
    generated_at: datetime.datetime,
    failures: Sequence[ModuleFailure] = (),
    show_personal_data: bool = False,
    lang: str | None = None,
) -> Iterator[bytes]:
    """:func:`iter_json`'s pieces in UTF-8, as ``list-tokens --json`` writes them: each
    certificate is written in UTF-8 from the start (its 8 KB of text is not encoded
    again, character by character, as text that holds Chinese would be)."""
    document = _lazy_document(reports, generated_at, failures, show_personal_data, lang)
    return _in_language(iter_indented_utf8(document, end="\n", escape=escape_string), lang)


def _lazy_document(
    reports: Sequence[Report],
    generated_at: datetime.datetime,
    failures: Sequence[ModuleFailure],
    show_personal_data: bool,
    lang: str | None,
) -> dict[str, Any]:
    """The document whose certificates are written as it is written (:data:`_LAZY`)."""
    with using(lang):
        lazy = _LAZY.set(SharedParts())
        try:
            return _document(
                reports,
                generated_at=generated_at,
                failures=failures,
                show_personal_data=show_personal_data,
            )
        finally:
            _LAZY.reset(lazy)


_Piece = TypeVar("_Piece", str, bytes)


def _in_language(pieces: Iterator[_Piece], lang: str | None) -> Iterator[_Piece]:
    # Each piece is made in the document's language (a certificate's advice sentences),
    # and the language is the caller's again between pieces. The encoder escapes the
    # non-printing characters of each string as it writes it (escape_string): the
    # pieces are not scanned again.
    if lang is None:  # the current language throughout
        yield from pieces
        return
    while True:
        with using(lang):
            piece = next(pieces, None)
        if piece is None:
            return
        yield piece


_LAZY: ContextVar[SharedParts | None] = ContextVar("_LAZY", default=None)
"""Set while :func:`_lazy_document` builds the document of :func:`iter_json`,
:func:`iter_json_utf8` and :func:`render_json`: a token's certificates become an
:class:`~.json_encode.Items` array, each certificate written straight to UTF-8 text as
the array is written (:mod:`.json_certificate_text`), and the parts certificates share
are made once, by these :class:`~.json_encode.SharedParts`."""


def files_to_dict(
    files: Sequence[FileReport],
    *,
    generated_at: datetime.datetime,
    show_personal_data: bool = False,
    lang: str | None = None,
) -> dict[str, Any]:
    """The JSON document for certificate files: the report document's members, with
    ``modules`` and ``failed_modules`` empty, and ``files``; personal data masked unless
    ``show_personal_data``. Raises ValueError when the files were judged at different
    moments or with different warning windows."""
    if not show_personal_data:
        files = [mask_file(report) for report in files]
    document = report_to_dict(
        [], generated_at=generated_at, show_personal_data=show_personal_data, lang=lang
    )
    if files:
        at, warn_days = files[0].at, files[0].warn_days
        if any(f.at != at or f.warn_days != warn_days for f in files[1:]):
            raise ValueError(
                "all files in one document must be judged at the same moment "
                "with the same warning window"
            )
        document["at"], document["warn_days"] = moment(at), warn_days
    counts = {status.value: 0 for status in Status}
    for report in files:
        for entry in report.certificates:
            counts[entry.status.value] += 1
    document["complete"] = all(report.complete for report in files)
    document["summary"] = {"certificates": sum(counts.values()), **counts}
    document["files"] = [_file(report) for report in files]
    return document


def render_files_json(
    files: Sequence[FileReport],
    *,
    generated_at: datetime.datetime,
    show_personal_data: bool = False,
    lang: str | None = None,
) -> str:
    """:func:`files_to_dict` as text, written as :func:`render_json` writes."""
    document = files_to_dict(
        files, generated_at=generated_at, show_personal_data=show_personal_data, lang=lang
    )
    return dumps_indented(document, end="\n", escape=escape_string)


def _file(report: FileReport) -> dict[str, Any]:
    return {
        "path": report.path,
        "path_hex": path_hex(report.path),
        "format": report.format,
        "opened": report.opened,
        "complete": report.complete,
        "problems": problem_list(report.problems),
        "certificates": [_file_certificate(entry) for entry in report.certificates],
        "private_keys": [_file_key(key) for key in report.keys],
    }


def _file_certificate(entry: CertificateEntry) -> dict[str, Any]:
    # The token certificate's members, in the same order; a file has no PKCS#11 URI.
    location = None if entry.location is None else str(entry.location)  # English, as where
    return {**_certificate(None, entry), "uri": None, "location": location}


def _file_key(key: FileKey) -> dict[str, Any]:
    return {
        "location": str(key.location),
        "algorithm": key.algorithm,
        "public_key_sha256": key.public_key_sha256,
        "local_key_id": None if key.local_key_id is None else key.local_key_id.hex(),
        "certificates": list(key.certificates),
    }


def _module(module: ModuleInfo) -> dict[str, Any]:
    return {
        "path": module.path,
        "path_hex": path_hex(module.path),
        "real_path": module.real_path,
        "real_path_hex": path_hex(module.real_path),
        **text_members("manufacturer", module.manufacturer),
        **text_members("description", module.description),
        "cryptoki_version": version(module.cryptoki_version),
        "library_version": version(module.library_version),
    }


def _report(report: Report) -> dict[str, Any]:
    return {
        **_module(report.module),
        "complete": report.complete,
        "problems": problem_list(report.problems),
        "slots": [_slot(slot) for slot in report.slots],
    }


def _slot(slot: SlotReport) -> dict[str, Any]:
    info = slot.slot
    out: dict[str, Any] = {
        "slot_id": info.slot_id,
        **text_members("description", info.description),
        **text_members("manufacturer", info.manufacturer),
        "flags": info.flags,
        "flag_names": list(info.flag_names),
        "token_present": info.token_present,
        "hardware_version": version(info.hardware_version),
        "firmware_version": version(info.firmware_version),
        "complete": slot.complete,
        "problems": problem_list(slot.problems),
        "login": None if slot.login is None else _login(slot.login),
        "private_objects_visible": slot.logged_in,
        "token": None
        if slot.token is None
        else _token(slot.token, info.slot_id, slot.certificates, slot.advice),
    }
    if slot.token is None and slot.certificates:
        out["certificates"] = [_certificate(None, entry) for entry in slot.certificates]
    return out


def _login(outcome: LoginOutcome) -> dict[str, Any]:
    from ..pkcs11.login import login_message as _login_message

    return {
        "state": outcome.state.value,
        "message": _login_message(outcome),
        "message_code": message_code(outcome.message),
        "code": outcome.code,
        "code_name": outcome.code_name,
    }


def _token(
    token: TokenInfo,
    slot_id: int,
    certificates: Sequence[CertificateEntry],
    advice: TokenAdvice | None = None,
) -> dict[str, Any]:
    shared = _LAZY.get()
    return {
        "slot_id": slot_id,
        **text_members("label", token.label),
        **text_members("serial", token.serial),
        **text_members("manufacturer", token.manufacturer),
        **text_members("model", token.model),
        "uri": str(token_uri(token)),
        "flags": token.flags,
        "flag_names": list(token.flag_names),
        "unknown_flags": token.unknown_flags,
        "pin_state": token.pin_state.value,
        "initialized": token.initialized,
        "login_required": token.login_required,
        "protected_authentication_path": token.protected_authentication_path,
        "min_pin_len": token.min_pin_len,
        "max_pin_len": token.max_pin_len,
        "max_session_count": token.max_session_count,
        "session_count": token.session_count,
        "max_rw_session_count": token.max_rw_session_count,
        "rw_session_count": token.rw_session_count,
        "total_public_memory": token.total_public_memory,
        "free_public_memory": token.free_public_memory,
        "total_private_memory": token.total_private_memory,
        "free_private_memory": token.free_private_memory,
        "hardware_version": version(token.hardware_version),
        "firmware_version": version(token.firmware_version),
        "utc_time": token.utc_time,
        "certificates": [_certificate(token, entry) for entry in certificates]
        if shared is None
        else Items(
            certificates, lambda entry, newline: certificate_utf8(token, entry, shared, newline)
        ),
        **({} if advice is None else {"advice": token_advice(advice)}),
    }
