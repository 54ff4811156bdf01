"""What the inspection logic needs from a PKCS#11 backend, as a Protocol.

The real backend (:class:`ukeytool.pkcs11.backend.Module`) talks to a module through
a narrow ctypes binding; a test double or a child-process proxy can
stand behind the same interface.
"""

from __future__ import annotations

import dataclasses

from ..model import LoginOutcome, Problem

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .backend_protocol import Backend

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


def __getattr__(name: str) -> Any:
    # The Protocol needs typing, which the isolation child and the command line's
    # start need not import: it is made on first use.
    if name == "Backend":
        from .backend_protocol import Backend

        globals()["Backend"] = Backend
        return Backend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
