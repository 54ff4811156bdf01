"""What a CK_RV means to a person, and which ones mean the token is gone.

A problem a module call causes names its code (``CKR_DEVICE_REMOVED``), with a short
hint where the name alone does not say what happened (the token was removed): the
:func:`explain` message goes into a ``{detail}`` placeholder of the sentence around it,
and is translated with it.
"""

from __future__ import annotations

from ..i18n.message import Message, template
from . import cryptoki as ck

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = ["GONE", "explain"]

#: Codes after which the session or the token is gone: stop listing that token.
GONE: Final = frozenset(
    {
        0x30,  # CKR_DEVICE_ERROR
        0x32,  # CKR_DEVICE_REMOVED
        0xB0,  # CKR_SESSION_CLOSED
        0xB3,  # CKR_SESSION_HANDLE_INVALID
        0xE0,  # CKR_TOKEN_NOT_PRESENT
        0x190,  # CKR_CRYPTOKI_NOT_INITIALIZED
    }
)

_SESSION_CLOSED: Final = template(
    "ckr.session_closed", "{code_name} (the session was closed by the module (token removed?))"
)
_HINTS: Final = {
    0x32: template("ckr.device_removed", "{code_name} (the token was removed)"),
    0xE0: template("ckr.token_not_present", "{code_name} (the token is no longer present)"),
    0xB3: _SESSION_CLOSED,
    0xB0: _SESSION_CLOSED,
    0x30: template("ckr.device_error", "{code_name} (the device reported an error)"),
}


def explain(rv: int) -> Message | str:
    """The code's name, with what it means where that helps (a nested message for a
    ``{detail}`` placeholder; the bare name, which is never translated, otherwise)."""
    name = ck.ckr_name(rv)
    hint = _HINTS.get(rv)
    return hint(code_name=name) if hint is not None else name
