"""Is it still the same token? The check made once a token's objects were read.

A token pulled out while it is read can leave a listing that looks whole: OpenSC reads a
card inside C_Initialize, so a card pulled then gives fewer certificates and no error at
all (issue 13). After the read, ukeytool therefore asks again:

1. was the session still alive before it was closed (C_GetSessionInfo, made by the
   backend, :attr:`~ukeytool.pkcs11.interface.ObjectListing.session_rv`)?
2. does the slot still hold a token (C_GetSlotInfo, ``CKF_TOKEN_PRESENT``)?
3. is it the same token (C_GetTokenInfo: label, manufacturer, model and serial, raw
   bytes, and the hardware and firmware versions, equal to those read at the start)?

When one of them says no, the slot's listing is incomplete, with a problem saying that
the token was removed or replaced during the read; the certificates seen are still
listed. A call that fails for another reason (a module that does not implement
C_GetSessionInfo) proves nothing either way and is only traced.
"""

from __future__ import annotations

from typing import Final

from ..errors import TokenError
from ..i18n.message import template
from ..model import Problem, TokenInfo
from ..model._value import replace
from . import cryptoki as ck
from .ckr import GONE
from .interface import Backend, ObjectListing

__all__ = ["confirm_same_token"]

#: Codes after which the token is not there any more (GONE, and a slot that vanished
#: with its reader).
_REMOVED_CODES: Final = GONE | {0x3}  # CKR_SLOT_ID_INVALID

REMOVED_DURING_READ: Final = template(
    "token.removed_during_read",
    "the token was removed during the read: {function} returned {code_name}; the "
    "certificates listed may not be all of them",
)
EMPTY_AFTER_READ: Final = template(
    "token.empty_after_read",
    "the token was removed during the read: the slot holds no token any more; the "
    "certificates listed may not be all of them",
)
REPLACED_DURING_READ: Final = template(
    "token.replaced_during_read",
    "the token was replaced during the read: serial {serial} label {label} at the start, "
    "serial {new_serial} label {new_label} at the end; the certificates listed may be "
    "of either token",
)


def confirm_same_token(
    backend: Backend, slot_id: int, token: TokenInfo, listing: ObjectListing
) -> ObjectListing:
    """``listing`` (what was read of the token ``token`` in slot ``slot_id``) as it is,
    or made incomplete with a problem when the token was removed or replaced while it
    was read (see the module's documentation). Called once, right after
    :meth:`~ukeytool.pkcs11.interface.Backend.certificate_objects`, in the process that
    holds the backend."""
    if any(p.code in GONE for p in listing.problems):
        return listing  # the read already says the token went away
    problem = _still_there(backend, slot_id, token, listing.session_rv)
    if problem is None:
        return listing
    return replace(listing, problems=(*listing.problems, problem), complete=False)


def _still_there(
    backend: Backend, slot_id: int, token: TokenInfo, session_rv: int | None
) -> Problem | None:
    if session_rv is not None and session_rv in _REMOVED_CODES:
        return _removed("C_GetSessionInfo", session_rv)
    try:
        slot = backend.slot_info(slot_id)
    except TokenError as exc:
        return _removed(exc.function, exc.code) if exc.code in _REMOVED_CODES else None
    if not slot.token_present:
        return Problem("C_GetSlotInfo", EMPTY_AFTER_READ())
    try:
        now = backend.token_info(slot_id)
    except TokenError as exc:
        return _removed(exc.function, exc.code) if exc.code in _REMOVED_CODES else None
    if _identity(now) == _identity(token):
        return None
    return Problem(
        "C_GetTokenInfo",
        REPLACED_DURING_READ(
            serial=token.serial.value,
            label=token.label.value,
            new_serial=now.serial.value,
            new_label=now.label.value,
        ),
    )


def _removed(function: str, rv: int) -> Problem:
    name = ck.ckr_name(rv)
    return Problem(function, REMOVED_DURING_READ(function=function, code_name=name), rv, name)


def _identity(token: TokenInfo) -> tuple[object, ...]:
    """What tells one token from another (not its flags or counters, which change)."""
    return (
        token.label.raw,
        token.manufacturer.raw,
        token.model.raw,
        token.serial.raw,
        token.hardware_version,
        token.firmware_version,
    )
