"""Tokens coming and going: what :func:`ukeytool.watch` yields.

A :class:`TokenEvent` says that a token was found in a slot when the watch started
(:attr:`EventKind.PRESENT`), was plugged in (:attr:`EventKind.INSERTED`) or pulled out
(:attr:`EventKind.REMOVED`). A token that arrives comes with its listing, a
:class:`~ukeytool.Report` of its one slot, exactly as :func:`ukeytool.inspect` reads
it; a token that leaves is named by what was remembered when it arrived (its label,
serial and the rest of its :class:`~ukeytool.TokenInfo`).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum

from .report import ModuleInfo, Report, SlotReport, TokenInfo
from .text import Text

__all__ = ["EventKind", "TokenEvent"]


class EventKind(str, enum.Enum):
    """What happened to a token; the value is the ``event`` member of the JSON line."""

    PRESENT = "present"
    """The token was in its slot when the watch started."""
    INSERTED = "inserted"
    """The token was plugged in (or put in its reader) while the watch ran."""
    REMOVED = "removed"
    """The token was pulled out while the watch ran."""

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class TokenEvent:
    """One token found, plugged in or pulled out."""

    kind: EventKind
    at: datetime.datetime
    """When the watch saw it (aware, UTC): the poll that noticed it."""
    module: ModuleInfo
    slot_id: int
    token: TokenInfo
    """The token that came (as read now) or left (as read when it came)."""
    report: Report | None = None
    """For :attr:`EventKind.PRESENT` and :attr:`EventKind.INSERTED`: the token's slot read
    as :func:`ukeytool.inspect` reads it (certificates judged, problems where they
    happened), one slot in :attr:`Report.slots`; None for :attr:`EventKind.REMOVED`."""

    @property
    def label(self) -> Text:
        """The token's label (CK_TOKEN_INFO.label)."""
        return self.token.label

    @property
    def serial(self) -> Text:
        """The token's serial number (CK_TOKEN_INFO.serialNumber)."""
        return self.token.serial

    @property
    def slot(self) -> SlotReport | None:
        """The token's slot as read, for a token that came; None for one that left."""
        return self.report.slots[0] if self.report is not None and self.report.slots else None
