"""What the inspection logic needs from a PKCS#11 backend, as a Protocol.

The real backend (:class:`ukeytool.pkcs11.backend.Module`) talks to a module through
a narrow ctypes binding; a test double or a child-process proxy can
stand behind the same interface.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from ..model import LoginOutcome, ModuleInfo, Problem, SlotInfo, TokenInfo

if TYPE_CHECKING:
    from .login import Login

__all__ = ["Backend", "ObjectListing", "RawCertificateObject", "RawKeyObject"]


@dataclasses.dataclass(frozen=True)
class RawCertificateObject:
    """A certificate object's attributes as the module gave them: raw bytes, no decoding."""

    handle: int
    value: bytes | None
    """CKA_VALUE, None when the module did not give it."""
    label: bytes | None
    id: bytes | None
    certificate_type: int | None
    private: bool | None
    problems: tuple[Problem, ...] = ()


@dataclasses.dataclass(frozen=True)
class RawKeyObject:
    """A key object's identifying attributes as the module gave them."""

    handle: int
    key_class: int
    """CKO_PUBLIC_KEY (2) or CKO_PRIVATE_KEY (3)."""
    id: bytes | None
    label: bytes | None
    key_type: int | None
    public_key_info: bytes | None = None
    modulus: bytes | None = None
    ec_point: bytes | None = None
    problems: tuple[Problem, ...] = ()


@dataclasses.dataclass(frozen=True)
class ObjectListing:
    """The certificate and key objects of one token, and whether the listing got to the end."""

    objects: tuple[RawCertificateObject, ...]
    problems: tuple[Problem, ...] = ()
    complete: bool = True
    keys: tuple[RawKeyObject, ...] = ()
    keys_listed: bool = False
    """True when both key searches (private, public) got to the end."""
    login: LoginOutcome | None = None
    """The outcome of the login asked for; None when none was asked for."""
    session_rv: int | None = None
    """What C_GetSessionInfo returned at the end of the read, before the session was
    closed (a session that died with its token says so); None when it was not asked
    (the token was already gone, or a backend that has no sessions)."""


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
