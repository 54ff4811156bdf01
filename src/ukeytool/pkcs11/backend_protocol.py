"""The :class:`Backend` protocol, apart from :mod:`ukeytool.pkcs11.interface` (which
gives it, made on first use): a :class:`typing.Protocol` needs :mod:`typing`, which the
isolation child and the command line's start do without."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..model import ModuleInfo, Problem, SlotInfo, TokenInfo
    from .interface import ObjectListing
    from .login import Login

__all__ = ["Backend"]


class Backend(Protocol):
    """One loaded PKCS#11 module, from the inspection logic's point of view.

    Each method raises :class:`~ukeytool.TokenError` (or a
    :class:`~ukeytool.ModuleError`) when its call fails as a whole.
    """

    @property
    def info(self) -> ModuleInfo: ...

    def slot_ids(self) -> tuple[tuple[int, ...], tuple[Problem, ...]]:
        """Every slot, with or without a token; problems met while listing them."""
        ...

    def slot_info(self, slot_id: int) -> SlotInfo: ...

    def token_info(self, slot_id: int) -> TokenInfo: ...

    def certificate_objects(self, slot_id: int, *, login: Login | None = None) -> ObjectListing:
        """Every certificate and key object visible in one read-only session; with
        ``login``, after the one C_Login that request allows (see :class:`~ukeytool.Login`)."""
        ...


# Documented and found where it always was.
Backend.__module__ = "ukeytool.pkcs11.interface"
