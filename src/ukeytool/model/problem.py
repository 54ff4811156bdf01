"""Something that could not be read, and where: the one value every part of a report
uses to say so, so that one bad thing hides nothing else.
"""

from __future__ import annotations

import dataclasses

from ..i18n.message import Message

__all__ = ["Problem"]


@dataclasses.dataclass(frozen=True)
class Problem:
    """Something that could not be read, and where."""

    where: Message | str
    """What failed: a PKCS#11 function (``"C_GetTokenInfo"``), an attribute
    (``"CKA_VALUE"``) or a certificate field (``"subject"``)."""
    message: Message
    """One sentence for a person."""
    code: int | None = None
    """The CK_RV number when a PKCS#11 call failed."""
    code_name: str | None = None
    """The CK_RV name when a PKCS#11 call failed, e.g. ``"CKR_DEVICE_ERROR"``."""
    says_where: bool = False
    """True when :attr:`message` begins by naming :attr:`where` (``"C_GetTokenInfo
    failed"``): renderers then do not put the place in front of it a second time."""
    says_code: bool = False
    """True when :attr:`message` already names the CK_RV (``"cannot read the object:
    CKR_DEVICE_REMOVED (the token was removed)"``): renderers then do not add it again.
    Renderers read these two flags, never the sentence."""
    after_read: bool = False
    """True for a fault after everything had been read (the module crashed or hung in
    C_Finalize): reported, but nothing was lost, so it does not make a report
    incomplete (:attr:`Report.complete <ukeytool.Report.complete>`)."""
