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
    Holder,
    IdentityNumber,
    NameAttribute,
    TokenAdvice,
    TokenInfo,
)
from ..pkcs11.uri import certificate_uri_text
from .json_values import day, hex_or_none, message_code, moment, problem_list, text_members

__all__ = ["certificate", "token_advice"]


@functools.cache
def _renewal() -> ModuleType:
    # Imported when first needed (a document without advice does without it), and then
    # looked up once, not once per certificate (an import statement costs a microsecond).
    from ..judging import renewal

    return renewal


@functools.cache
def _relations_module() -> ModuleType:
    from ..judging import relations

    return relations


def certificate(token: TokenInfo | None, entry: CertificateEntry) -> dict[str, Any]:
    cert = entry.certificate
    problems = list(entry.problems)
    if cert is not None:
        problems.extend(cert.problems)
    return {
        "handle": entry.handle,
        **text_members("label", entry.label),
        "id": None if entry.id is None else entry.id.hex(),
        "certificate_type": entry.certificate_type,
        "private": entry.private,
        "uri": certificate_uri_text(token, entry),
        "status": entry.status.value,
        "days_left": entry.days_left,
        "subject": None if cert is None else cert.subject,
        "subject_cn": None if cert is None else cert.subject_cn,
        "issuer": None if cert is None else cert.issuer,
        "issuer_cn": None if cert is None else cert.issuer_cn,
        "serial": None if cert is None else cert.serial,
        "not_before": None if cert is None or cert.not_before is None else moment(cert.not_before),
        "not_after": None if cert is None or cert.not_after is None else moment(cert.not_after),
        "key_algorithm": None if cert is None else cert.key_algorithm,
        "key_size": None if cert is None else cert.key_size,
        "key_curve": None if cert is None else cert.key_curve,
        "signature_algorithm": None if cert is None else cert.signature_algorithm,
        "signature_algorithm_oid": None if cert is None else cert.signature_algorithm_oid,
        "sha256": None if cert is None else cert.sha256,
        "sha1": None if cert is None else cert.sha1,
        "sm3": None if cert is None else cert.sm3,
        "key_usage": None if cert is None or cert.key_usage is None else list(cert.key_usage),
        "extended_key_usage": None
        if cert is None or cert.extended_key_usage is None
        else list(cert.extended_key_usage),
        "is_ca": None if cert is None else cert.is_ca,
        "self_signed": None if cert is None else cert.self_signed,
        "encoding": None if cert is None else cert.encoding,
        "error": None if cert is None or cert.error is None else render(cert.error),
        "message_code": None if cert is None else message_code(cert.error),
        "problems": problem_list(problems),
        **_name_and_identity_members(cert),
        **_relations(entry),
        **({} if entry.advice is None else {"advice": _advice(entry.advice)}),
    }


def _name_and_identity_members(cert: Certificate | None) -> dict[str, Any]:
    """Names attribute by attribute, the CFCA holder and identity numbers."""
    return {
        "subject_attributes": _attributes(None if cert is None else cert.subject_attributes),
        "issuer_attributes": _attributes(None if cert is None else cert.issuer_attributes),
        "holder": None if cert is None else _holder(cert.holder),
        "identity_numbers": []
        if cert is None
        else [_identity_number(n) for n in cert.identity_numbers],
    }


def _attributes(attributes: Sequence[NameAttribute] | None) -> list[dict[str, Any]] | None:
    if attributes is None:
        return None
    return [
        {
            "oid": a.oid,
            "name": a.name,
            "string_type": a.string_type,
            **text_members("value", a.text),
            "decoding": a.decoding,
            "rdn": a.rdn,
        }
        for a in attributes
    ]


def _holder(holder: Holder | None) -> dict[str, Any] | None:
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


def _identity_number(number: IdentityNumber) -> dict[str, Any]:
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


def _bank(choice: BankChoice) -> dict[str, Any]:
    bank_message = _renewal().bank_message
    return {
        "bank": choice.bank,
        "bank_name": choice.bank_name,
        "bank_name_zh": choice.bank_name_zh,
        "policy": choice.policy,
        "rule": choice.rule.value,
        "confidence": choice.confidence,
        "evidence": choice.evidence,
        "message": bank_message(choice),
    }


def _advice(advice: Advice) -> dict[str, Any]:
    renewal = _renewal()
    return {
        "phase": advice.phase.value,
        "action": advice.action.value,
        "needs_action": advice.needs_action,
        "expired": advice.expired,
        "bank": _bank(advice.bank),
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
                "state": w.state.value,
                "key_types": list(w.key_types),
                "menu_zh": list(w.menu_zh),
                "menu": list(w.menu),
                "steps": list(w.steps),
                "steps_zh": list(w.steps_zh),
                "sources": list(w.sources),
                "other_closes": [
                    {"closes": day(d), "source": s}
                    for d, s in zip(w.other_closes, w.other_sources, strict=True)
                ],
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
    relations = _relations_module()
    finding_message, key_presence_reason = relations.finding_message, relations.key_presence_reason
    cert = entry.certificate
    presence = entry.key_on_token
    return {
        "subject_key_identifier": hex_or_none(
            None if cert is None else cert.subject_key_identifier
        ),
        "authority_key_identifier": hex_or_none(
            None if cert is None else cert.authority_key_identifier
        ),
        "role": None if entry.role is None else entry.role.value,
        "issued_by": None if entry.issued_by is None else _link(entry.issued_by),
        "pair": None
        if entry.pair is None
        else {
            "partner": _link(entry.pair.partner),
            "usage": entry.pair.usage,
            "not_after": None if entry.pair.not_after is None else moment(entry.pair.not_after),
            "days_left": entry.pair.days_left,
        },
        "key_on_token": None
        if presence is None
        else {
            "state": presence.state,
            "private_key": presence.private_key,
            "reason": key_presence_reason(presence),
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
        },
        "findings": [
            {
                "code": f.code,
                "severity": f.severity.value,
                "message": finding_message(f),
                "message_code": message_code(f.message),
            }
            for f in entry.findings
        ],
    }


def _link(link: CertificateLink) -> dict[str, Any]:
    return {
        "handle": link.handle,
        "sha256": link.sha256,
        **text_members("label", link.label),
        "subject_cn": link.subject_cn,
        "by": link.by,
    }
