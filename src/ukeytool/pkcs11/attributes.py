"""Reading one object's attributes with a single pre-sized template.

Each certificate or key object is read with one C_GetAttributeValue whose buffers are
big enough for nearly every value; a second call, with room for a value up to a limit,
only when something did not fit. An attribute the module will not give becomes a
:class:`~ukeytool.Problem` of its own (code ``attribute.*``) and the rest of the object
is still read; a code that says the token is gone stops the listing (``object.*``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import sys
from collections.abc import Callable

from ..i18n.message import Template, template
from ..model import Problem
from . import cryptoki as ck
from .ckr import GONE, explain
from .interface import RawCertificateObject, RawKeyObject

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = [
    "CERTIFICATE_TEMPLATE",
    "KEY_TEMPLATE",
    "AttributeReader",
    "certificate_object",
    "key_object",
]

#: Pre-sized buffers for the single attribute template: big enough for nearly every
#: certificate and label, so one C_GetAttributeValue per object is the norm.
VALUE_BUFFER: Final = 8192
SMALL_BUFFER: Final = 512
#: Retry buffers when a value did not fit; a certificate over 1 MiB is refused.
MAX_VALUE: Final = 1 << 20
MAX_SMALL: Final = 64 << 10

CANNOT_READ_OBJECT: Final = template("object.cannot_read", "cannot read the object: {detail}")
TOO_LARGE: Final = template(
    "attribute.too_large", "{attribute} is larger than {size} bytes; not read"
)
IMPLAUSIBLE_SIZE: Final = template(
    "attribute.implausible_size", "{attribute} has an implausible size; not read"
)
SENSITIVE: Final = template(
    "attribute.sensitive", "the module refuses to reveal {attribute} (CKR_ATTRIBUTE_SENSITIVE)"
)
ABSENT: Final = template(
    "attribute.absent", "the object has no {attribute} (CKR_ATTRIBUTE_TYPE_INVALID)"
)
NO_VALUE: Final = template("attribute.no_value", "the module gave no value for {attribute}")
CANNOT_READ: Final = template("attribute.cannot_read", "{attribute} could not be read: {code_name}")


@dataclasses.dataclass(frozen=True)
class _Attr:
    attribute: int
    name: str
    size: int
    retry_size: int


_ULONG_SIZE: Final = ctypes.sizeof(ck.CK_ULONG)

CERTIFICATE_TEMPLATE: Final = (
    _Attr(ck.CKA_VALUE, "CKA_VALUE", VALUE_BUFFER, MAX_VALUE),
    _Attr(ck.CKA_LABEL, "CKA_LABEL", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_ID, "CKA_ID", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_CERTIFICATE_TYPE, "CKA_CERTIFICATE_TYPE", _ULONG_SIZE, 64),
    _Attr(ck.CKA_PRIVATE, "CKA_PRIVATE", ctypes.sizeof(ck.CK_BBOOL), 64),
)

KEY_TEMPLATE: Final = (
    _Attr(ck.CKA_ID, "CKA_ID", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_LABEL, "CKA_LABEL", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_KEY_TYPE, "CKA_KEY_TYPE", _ULONG_SIZE, 64),
    _Attr(ck.CKA_MODULUS, "CKA_MODULUS", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_EC_POINT, "CKA_EC_POINT", SMALL_BUFFER, MAX_SMALL),
    _Attr(ck.CKA_PUBLIC_KEY_INFO, "CKA_PUBLIC_KEY_INFO", 1024, MAX_SMALL),
)


@dataclasses.dataclass
class _Read:
    """One object's attributes: a value per template entry, and what went wrong."""

    values: list[bytes | None]
    problems: list[Problem]
    gone: Problem | None = None
    """Set when the session or token went away while reading: stop listing."""


class AttributeReader:
    """Reads one template's attributes from objects, reusing its buffers."""

    def __init__(
        self,
        call: Callable[..., int],
        session: ck.CK_SESSION_HANDLE,
        template: tuple[_Attr, ...],
    ) -> None:
        self._call = call
        """The backend's traced call: ``call(name, shape, *args)``."""
        self._session = session
        self._template = template
        self._buffers = [ctypes.create_string_buffer(a.size) for a in template]
        self._retry: dict[int, ctypes.Array[ctypes.c_char]] = {}

    def _get(
        self, handle: int, slots: list[int], buffers: list[ctypes.Array[ctypes.c_char]]
    ) -> tuple[int, list[int | None]]:
        """One C_GetAttributeValue; per slot index the value length or None (unavailable)."""
        n = len(slots)
        template = (ck.CK_ATTRIBUTE * n)()
        for k, (i, buf) in enumerate(zip(slots, buffers, strict=True)):
            template[k].type = self._template[i].attribute
            template[k].pValue = ctypes.cast(buf, ctypes.c_void_p)
            template[k].ulValueLen = len(buf)
        shape = ", ".join(
            f"{self._template[i].name}[{len(b)}]" for i, b in zip(slots, buffers, strict=True)
        )
        rv = self._call(
            "C_GetAttributeValue",
            f"{self._session.value}, {handle}, {{{shape}}}, {n}",
            self._session,
            handle,
            template,
            n,
        )
        lengths: list[int | None] = []
        for k in range(n):
            length = int(template[k].ulValueLen)
            lengths.append(None if length == ck.CK_UNAVAILABLE_INFORMATION else length)
        return rv, lengths

    def read(self, handle: int) -> _Read:
        values: list[bytes | None] = [None] * len(self._template)
        failures: dict[int, int] = {}
        indexes = list(range(len(self._template)))
        rv, lengths = self._get(handle, indexes, self._buffers)
        if rv not in (
            ck.CKR_OK,
            ck.CKR_ATTRIBUTE_SENSITIVE,
            ck.CKR_ATTRIBUTE_TYPE_INVALID,
            ck.CKR_BUFFER_TOO_SMALL,
        ):
            problem = _object_problem(rv)
            return _Read(values, [problem], problem if rv in GONE else None)
        again: list[int] = []
        for i, length in zip(indexes, lengths, strict=True):
            if length is None:
                again.append(i)
                failures[i] = rv
            elif length > len(self._buffers[i]):
                # CKR_OK with a length larger than the buffer: the module did not copy
                # (or overran); ask again with room rather than trust either.
                again.append(i)
                failures[i] = ck.CKR_BUFFER_TOO_SMALL
            else:
                values[i] = self._buffers[i].raw[:length]
        if again:
            buffers = [self._retry_buffer(i) for i in again]
            rv2, lengths2 = self._get(handle, again, buffers)
            if rv2 in GONE:
                problem = _object_problem(rv2)
                return _Read(values, self._problems(failures), problem)
            for i, buf, length in zip(again, buffers, lengths2, strict=True):
                if length is not None and length <= len(buf):
                    values[i] = buf.raw[:length]
                    failures.pop(i, None)
                elif length is not None:
                    failures[i] = ck.CKR_BUFFER_TOO_SMALL
                elif rv2 != ck.CKR_OK or failures.get(i) == ck.CKR_OK:
                    failures[i] = rv2
        return _Read(values, self._problems(failures))

    def _retry_buffer(self, i: int) -> ctypes.Array[ctypes.c_char]:
        if i not in self._retry:
            self._retry[i] = ctypes.create_string_buffer(self._template[i].retry_size)
        return self._retry[i]

    def _problems(self, failures: dict[int, int]) -> list[Problem]:
        return [attribute_problem(self._template[i], rv) for i, rv in sorted(failures.items())]


def _ulong(raw: bytes | None) -> int | None:
    return int.from_bytes(raw, sys.byteorder) if raw else None


def certificate_object(handle: int, read: _Read) -> RawCertificateObject:
    value, label, ident, ctype_raw, private_raw = read.values
    private = any(private_raw) if private_raw else None
    return RawCertificateObject(
        handle=handle,
        value=value,
        label=label,
        id=ident,
        certificate_type=_ulong(ctype_raw),
        private=private,
        problems=tuple(read.problems),
    )


#: Attributes a key object need not have (an EC key has no modulus, an RSA key no EC
#: point; CKA_PUBLIC_KEY_INFO is PKCS#11 2.40): their absence is not a problem.
_OPTIONAL_KEY_ATTRIBUTES: Final = frozenset(
    {"CKA_MODULUS", "CKA_EC_POINT", "CKA_PUBLIC_KEY_INFO", "CKA_LABEL"}
)


def key_object(handle: int, key_class: int, read: _Read) -> RawKeyObject:
    ident, label, key_type, modulus, ec_point, spki = read.values
    problems = tuple(
        p
        for p in read.problems
        if not (
            p.where in _OPTIONAL_KEY_ATTRIBUTES
            and p.code in (ck.CKR_ATTRIBUTE_TYPE_INVALID, ck.CKR_ATTRIBUTE_SENSITIVE, ck.CKR_OK)
        )
    )
    return RawKeyObject(
        handle=handle,
        key_class=key_class,
        id=ident,
        label=label,
        key_type=_ulong(key_type),
        public_key_info=spki or None,
        modulus=modulus or None,
        ec_point=ec_point or None,
        problems=problems,
    )


def _object_problem(rv: int) -> Problem:
    return Problem(
        "C_GetAttributeValue", CANNOT_READ_OBJECT(detail=explain(rv)), rv, ck.ckr_name(rv)
    )


def attribute_problem(attr: _Attr, rv: int) -> Problem:
    name = attr.name
    if rv == ck.CKR_BUFFER_TOO_SMALL:
        if attr.attribute == ck.CKA_VALUE or attr.retry_size >= MAX_SMALL:
            message = TOO_LARGE(attribute=name, size=attr.retry_size)
        else:
            message = IMPLAUSIBLE_SIZE(attribute=name)
    else:
        known: Template = {
            ck.CKR_ATTRIBUTE_SENSITIVE: SENSITIVE,
            ck.CKR_ATTRIBUTE_TYPE_INVALID: ABSENT,
            ck.CKR_OK: NO_VALUE,
        }.get(rv, CANNOT_READ)
        message = (
            CANNOT_READ(attribute=name, code_name=ck.ckr_name(rv))
            if known is CANNOT_READ
            else known(attribute=name)
        )
    # The renderers put the place before a sentence that does not start with it, and
    # the CK_RV after one that does not name it; these templates say both themselves.
    says_where = message.template in (TOO_LARGE, IMPLAUSIBLE_SIZE, CANNOT_READ)
    says_code = message.template in (SENSITIVE, ABSENT)
    return Problem(name, message, rv, ck.ckr_name(rv), says_where=says_where, says_code=says_code)
