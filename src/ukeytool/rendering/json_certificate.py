"""One certificate in ukeytool's JSON documents: what it says, its names attribute by
attribute, the CFCA holder and identity numbers, its relations to the rest of its token
and its findings (docs/relations.md), and its renewal advice."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from ..i18n import render
from ..model import (
    Advice,
    BankChoice,
    Certificate,
    CertificateEntry,
    CertificateLink,
    Finding,
    Holder,
    IdentityNumber,
    KeyPresence,
    NameAttribute,
    PairLink,
    RenewalWindow,
    TokenAdvice,
    TokenInfo,
)
from ..pkcs11.token_uris import certificate_uri_text
from .json_values import day, hex_or_none, message_code, moment, problem_list, text_members

# The members' makers are the module's API: json_certificate_text writes the same
# certificate, and shares these parts of it.
__all__ = [
    "READ_MEMBERS",
    "attributes_json",
    "bank_json",
    "certificate",
    "findings_json",
    "holder_json",
    "identity_number_json",
    "key_on_token_json",
    "link_json",
    "other_closes",
    "pair",
    "renewal_module",
    "token_advice",
]


@functools.cache
def renewal_module() -> ModuleType:
    # Imported when first needed (a document without advice does without it), and then
    # looked up once, not once per certificate (an import statement costs a microsecond).
    from ..judging import renewal

    return renewal


@functools.cache
def _relations_module() -> ModuleType:
    from ..judging import relations

    return relations


def certificate(token: TokenInfo | None, entry: CertificateEntry) -> dict[str, Any]:
    """One certificate's members (:func:`~.json.report_to_dict`'s form; a listing
    writes the same members straight to text, :mod:`.json_certificate_text`)."""
    cert = entry.certificate
    label = entry.label
    members: dict[str, Any] = {
        "handle": entry.handle,
        **(_NO_LABEL if label is None else text_members("label", label)),
        "id": None if entry.id is None else entry.id.hex(),
        "certificate_type": entry.certificate_type,
        "private": entry.private,
        "uri": certificate_uri_text(token, entry),
        # ._value_: an enum's value without the property that .value goes through.
        "status": entry.status._value_,
        "days_left": entry.days_left,
    }
    if cert is None:
        members.update(_NOT_READ)
        members["problems"] = problem_list(entry.problems)
    else:
        not_before, not_after = cert.not_before, cert.not_after
        key_usage, extended_key_usage, error = cert.key_usage, cert.extended_key_usage, cert.error
        members.update(
            {
                "subject": cert.subject,
                "subject_cn": cert.subject_cn,
                "issuer": cert.issuer,
                "issuer_cn": cert.issuer_cn,
                "serial": cert.serial,
                "not_before": None if not_before is None else moment(not_before),
                "not_after": None if not_after is None else moment(not_after),
                "key_algorithm": cert.key_algorithm,
                "key_size": cert.key_size,
                "key_curve": cert.key_curve,
                "signature_algorithm": cert.signature_algorithm,
                "signature_algorithm_oid": cert.signature_algorithm_oid,
                "sha256": cert.sha256,
                "sha1": cert.sha1,
                "sm3": cert.sm3,
                "key_usage": None if key_usage is None else list(key_usage),
                "extended_key_usage": None
                if extended_key_usage is None
                else list(extended_key_usage),
                "is_ca": cert.is_ca,
                "self_signed": cert.self_signed,
                "encoding": cert.encoding,
                "error": None if error is None else render(error),
                "message_code": None if error is None else error.code,
                "problems": problem_list((*entry.problems, *cert.problems))
                if entry.problems or cert.problems
                else [],
            }
        )
    members.update(_name_and_identity_members(cert))
    members.update(_relations(entry))
    if entry.advice is not None:
        members["advice"] = _advice(entry.advice)
    return members


_NO_LABEL = text_members("label", None)
READ_MEMBERS = (
    "subject",
    "subject_cn",
    "issuer",
    "issuer_cn",
    "serial",
    "not_before",
    "not_after",
    "key_algorithm",
    "key_size",
    "key_curve",
    "signature_algorithm",
    "signature_algorithm_oid",
    "sha256",
    "sha1",
    "sm3",
    "key_usage",
    "extended_key_usage",
    "is_ca",
    "self_signed",
    "encoding",
    "error",
    "message_code",
)
"""The members of a certificate read from its DER, from ``subject`` to ``message_code``
(:mod:`.json_certificate_text` writes them in this order too)."""
_NOT_READ: dict[str, Any] = dict.fromkeys(READ_MEMBERS)
"""The members of a certificate that could not be read at all (all null)."""


def _name_and_identity_members(cert: Certificate | None) -> dict[str, Any]:
    """Names attribute by attribute, the CFCA holder and identity numbers."""
    if cert is None:
        return {
            "subject_attributes": None,
            "issuer_attributes": None,
            "holder": None,
            "identity_numbers": [],
        }
    subject, issuer = cert.subject_attributes, cert.issuer_attributes
    return {
        "subject_attributes": None if subject is None else attributes_json(subject),
        "issuer_attributes": None if issuer is None else attributes_json(issuer),
        "holder": holder_json(cert.holder),
        "identity_numbers": [identity_number_json(n) for n in cert.identity_numbers],
    }


def attributes_json(attributes: Sequence[NameAttribute]) -> list[dict[str, Any]]:
    return [_attribute(a) for a in attributes]


def _attribute(a: NameAttribute) -> dict[str, Any]:
    return {
        "oid": a.oid,
        "name": a.name,
        "string_type": a.string_type,
        **text_members("value", a.text),
        "decoding": a.decoding,
        "rdn": a.rdn,
    }


def holder_json(holder: Holder | None) -> dict[str, Any] | None:
    if holder is None:
        return None
    return {
        "type_code": holder.type_code,
        "kind": holder.kind,
        "name": holder.name,
        "id_type": holder.id_type,
        "id_type_name": holder.id_type_name,
        "id_number": holder.id_number,
        "sequence": holder.sequence,
    }


def identity_number_json(number: IdentityNumber) -> dict[str, Any]:
    return {
        "oid": number.oid,
        "meaning": number.meaning,
        "personal": number.personal,
        **text_members("number", number.number),
        "string_type": number.string_type,
        "id_kind": number.id_kind,
        "critical": number.critical,
        "raw_hex": number.raw.hex(),
    }


def bank_json(choice: BankChoice) -> dict[str, Any]:
    bank_message = renewal_module().bank_message
    return {
        "bank": choice.bank,
        "bank_name": choice.bank_name,
        "bank_name_zh": choice.bank_name_zh,
        "policy": choice.policy,
        "rule": choice.rule._value_,
        "confidence": choice.confidence,
        "evidence": choice.evidence,
        "message": bank_message(choice),
    }


def _advice(advice: Advice) -> dict[str, Any]:
    renewal = renewal_module()
    return {
        "phase": advice.phase._value_,
        "action": advice.action._value_,
        "needs_action": advice.needs_action,
        "expired": advice.expired,
        "bank": bank_json(advice.bank),
        "key_name": advice.key_name,
        "expires": None if advice.expires is None else moment(advice.expires),
        "expiry_date": day(advice.expiry_date),
        "window_opens": day(advice.window_opens),
        "window_closes": day(advice.window_closes),
        "windows": [
            {
                "channel": w.channel,
                "opens": day(w.opens),
                "closes": day(w.closes),
                "state": w.state._value_,
                "key_types": list(w.key_types),
                "menu_zh": list(w.menu_zh),
                "menu": list(w.menu),
                "steps": list(w.steps),
                "steps_zh": list(w.steps_zh),
                "sources": list(w.sources),
                "other_closes": other_closes(w),
            }
            for w in advice.windows
        ],
        "branch_items": list(advice.branch_items),
        "branch_note": advice.branch_note,
        "branch_note_zh": advice.branch_note_zh,
        "validity_years": list(advice.validity_years),
        "term": advice.term,
        "term_zh": advice.term_zh,
        "stops_working": list(advice.stops_working),
        "branch_steps": list(advice.branch_steps),
        "branch_steps_zh": list(advice.branch_steps_zh),
        "branch_sources": list(advice.branch_sources),
        "sources_disagree": any(w.other_closes for w in advice.windows),
        "not_yet_valid": advice.not_yet_valid,
        "valid_from": day(advice.valid_from),
        "pair_partner_handle": advice.pair_partner,
        "pair_partner_label": advice.pair_partner_label,
        "own_expiry_date": day(advice.own_expiry_date),
        "summary": renewal.advice_summary(advice),
        "message": renewal.advice_message(advice),
    }


def token_advice(advice: TokenAdvice) -> dict[str, Any]:
    from ..judging.renewal import token_advice_message

    return {
        "action": advice.action.value,
        "needs_action": advice.needs_action,
        "pin_locked": advice.pin_locked,
        "certificate_handle": advice.certificate,
        "certificate_label": advice.certificate_label,
        "message": token_advice_message(advice),
    }


def _relations(entry: CertificateEntry) -> dict[str, Any]:
    """The members relating a certificate to its token (see docs/relations.md)."""
    cert = entry.certificate
    presence, issued_by, findings = entry.key_on_token, entry.issued_by, entry.findings
    return {
        "subject_key_identifier": hex_or_none(
            None if cert is None else cert.subject_key_identifier
        ),
        "authority_key_identifier": hex_or_none(
            None if cert is None else cert.authority_key_identifier
        ),
        "role": None if entry.role is None else entry.role._value_,
        "issued_by": None if issued_by is None else link_json(issued_by),
        "pair": None if entry.pair is None else pair(entry.pair),
        "key_on_token": None if presence is None else key_on_token_json(presence),
        "findings": findings_json(findings),
    }


def pair(link: PairLink) -> dict[str, Any]:
    return {
        "partner": link_json(link.partner),
        "usage": link.usage,
        "not_after": None if link.not_after is None else moment(link.not_after),
        "days_left": link.days_left,
    }


def other_closes(window: RenewalWindow) -> list[dict[str, Any]]:
    """The other closing dates the sources give for a window."""
    return [
        {"closes": day(d), "source": s}
        for d, s in zip(window.other_closes, window.other_sources, strict=True)
    ]


def key_on_token_json(presence: KeyPresence) -> dict[str, Any]:
    return {
        "state": presence.state,
        "private_key": presence.private_key,
        "reason": _relations_module().key_presence_reason(presence),
        "message_code": message_code(presence.reason),
        "matches": [
            {
                "handle": m.handle,
                "key_class": m.key_class,
                **text_members("label", m.label),
                "by": list(m.by),
            }
            for m in presence.matches
        ],
    }


def findings_json(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    finding_message = _relations_module().finding_message
    return [
        {
            "code": f.code,
            "severity": f.severity._value_,
            "message": finding_message(f),
            "message_code": message_code(f.message),
        }
        for f in findings
    ]


def link_json(link: CertificateLink) -> dict[str, Any]:
    return {
        "handle": link.handle,
        "sha256": link.sha256,
        **text_members("label", link.label),
        "subject_cn": link.subject_cn,
        "by": link.by,
    }
