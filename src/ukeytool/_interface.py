"""What the inspection logic needs from a PKCS#11 backend, as a Protocol.

The real backend (``_backend.Module``) talks to a module through python-pkcs11 and a
narrow ctypes binding; a test double or a child-process proxy can stand behind the
same interface.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from ._model import ModuleInfo, Problem, SlotInfo, TokenInfo

__all__ = ["Backend", "ObjectListing", "RawCertificateObject"]


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
class ObjectListing:
    """The certificate objects of one token, and whether the listing got to the end."""

    objects: tuple[RawCertificateObject, ...]
    problems: tuple[Problem, ...] = ()
    complete: bool = True


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

    def certificate_objects(self, slot_id: int) -> ObjectListing:
        """Every certificate object visible in a read-only session without login."""
        ...
