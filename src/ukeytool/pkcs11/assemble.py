"""From what a module gave (raw, as it was read) to a :class:`~ukeytool.Report`: each
certificate parsed and judged, the certificates and keys of a slot related.

The reading (:func:`ukeytool.pkcs11.inspect.walk`) and this assembly are apart so that
they can run side by side: in the isolation child the reading needs the PKCS#11 binding
only, and the parent parses certificate N as soon as it arrives, while the module is
busy with certificate N+1 (:mod:`ukeytool.pkcs11.isolate`). In one process the same
:class:`Assembler` is fed by the reading directly, so a report is the same whichever way
it was made.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from ..certificates.x509 import read_certificate
from ..judging.relations import relate
from ..judging.validity import judge
from ..model import (
    CertificateEntry,
    KeyObject,
    ModuleInfo,
    Problem,
    Report,
    SlotReport,
)
from ..model.text import decode_text
from .interface import ObjectListing, RawCertificateObject, RawKeyObject

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Assembler"]


class Assembler:
    """Takes the reading's events, in order, and builds the slots and the report.

    The events (each a call ``assembler(kind, *args)``; the isolation child sends the
    same tuples over its pipe):

    * ``("head", module_info, slot_ids, problems)``: the module and its slot list;
    * ``("slot_start", slot_id)``: a slot is being read (again, in a login's second pass);
    * ``("object", raw)``: a :class:`~ukeytool.RawCertificateObject` (parsed and judged
      at once) or :class:`~ukeytool.RawKeyObject` of the slot being read;
    * ``("slot_end", head, listing)``: the slot is read: ``head`` is its
      :class:`~ukeytool.SlotReport` without certificates (slot and token info, or the
      problem that stopped there), ``listing`` the :class:`~ukeytool.ObjectListing` of
      its objects (without the objects, which came one by one), a :class:`~ukeytool.Problem`
      when they could not be listed at all, or None when they were not read.

    ``progress`` is called as :func:`~ukeytool.inspect_backend` documents it.
    """

    def __init__(
        self,
        at: datetime.datetime,
        warn_days: int,
        progress: Callable[..., Any] | None = None,
    ) -> None:
        self.at = at
        self.warn_days = warn_days
        self.module: ModuleInfo | None = None
        self.slot_ids: tuple[int, ...] = ()
        self.problems: tuple[Problem, ...] = ()
        self.slots: list[SlotReport] = []
        """The slots read to the end, in the order they were read."""
        self.current: int | None = None
        """The slot being read (None between slots)."""
        self._entries: list[CertificateEntry] = []
        self._keys: list[KeyObject] = []
        self._progress = progress

    def __call__(self, kind: str, *args: Any) -> None:
        if kind == "object":
            raw = args[0]
            if isinstance(raw, RawCertificateObject):
                self._entries.append(entry(raw, self.at, self.warn_days))
            else:
                self._keys.append(key(raw))
            return
        if kind == "head":
            self.module, self.slot_ids, self.problems = args
        elif kind == "slot_start":
            self.current = args[0]
            self._entries, self._keys = [], []
        elif kind == "slot_end":
            slot = self._slot(*args)
            self.slots.append(slot)
            self.current = None
            self._entries, self._keys = [], []
            kind, args = "slot", (slot,)
        else:
            raise ValueError(f"unknown reading event {kind!r}")
        if self._progress is not None:
            self._progress(kind, *args)

    def _slot(self, head: SlotReport, listing: ObjectListing | Problem | None) -> SlotReport:
        if listing is None:
            return head
        if isinstance(listing, Problem):
            return SlotReport(head.slot, head.token, problems=(listing,), complete=False)
        keys = tuple(self._keys)
        entries = relate(
            tuple(self._entries),
            keys,
            keys_listed=listing.keys_listed,
            logged_in=listing.login is not None and listing.login.logged_in,
        )
        return SlotReport(
            head.slot,
            head.token,
            entries,
            problems=listing.problems,
            complete=listing.complete,
            keys=keys,
            keys_listed=listing.keys_listed,
            login=listing.login,
        )

    def report(self) -> Report:
        """The report of everything read (call after the reading ended)."""
        assert self.module is not None, "no head event"
        return Report(
            module=self.module,
            slots=tuple(self.slots),
            at=self.at,
            warn_days=self.warn_days,
            problems=self.problems,
        )


_KEY_CLASSES = {2: "public", 3: "private"}
_KEY_TYPES = {0x0: "RSA", 0x1: "DSA", 0x2: "DH", 0x3: "EC", 0x40: "EC_EDWARDS"}


def key(obj: RawKeyObject) -> KeyObject:
    """A key object as the report shows it."""
    key_type = None
    if obj.key_type is not None:
        key_type = _KEY_TYPES.get(obj.key_type, f"0x{obj.key_type:x}")
    return KeyObject(
        handle=obj.handle,
        key_class=_KEY_CLASSES.get(obj.key_class, f"0x{obj.key_class:x}"),
        id=obj.id,
        label=decode_text(obj.label) if obj.label is not None else None,
        key_type=key_type,
        public_key_info=obj.public_key_info,
        modulus=obj.modulus,
        ec_point=obj.ec_point,
        problems=obj.problems,
    )


def entry(obj: RawCertificateObject, at: datetime.datetime, warn_days: int) -> CertificateEntry:
    """A certificate object, parsed and judged at ``at``."""
    certificate = read_certificate(obj.value) if obj.value is not None else None
    label = obj.label
    return CertificateEntry(
        handle=obj.handle,
        label=decode_text(label) if label is not None else None,
        id=obj.id,
        certificate_type=obj.certificate_type,
        private=obj.private,
        certificate=certificate,
        validity=judge(certificate, at, warn_days),
        problems=obj.problems,
        location=None,
        advice=None,
        role=None,
        issued_by=None,
        pair=None,
        key_on_token=None,
        findings=(),
    )
