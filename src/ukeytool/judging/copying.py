"""A copy of a model dataclass with some fields changed, as :func:`dataclasses.replace`
makes it, at a fraction of the cost.

``dataclasses.replace`` looks the fields up and runs ``__init__`` (each field set through
``object.__setattr__``, as the classes are frozen): several microseconds for a
:class:`~ukeytool.CertificateEntry`, paid once per certificate by the relations and once
by the renewal advice. For a class without ``__post_init__`` or ``__slots__`` whose
fields are all set by ``__init__`` the result is the same object state, made by copying
the instance's ``__dict__``; any other class goes through ``dataclasses.replace``
(imported then: the value classes, ``ukeytool.model._value``, never need it).

>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Point:
...     x: int
...     y: int = 0
>>> replace(Point(1, 2), y=5)
Point(x=1, y=5)
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..model import _value

__all__ = ["replace"]

_T = TypeVar("_T")

_PLAIN: dict[type, frozenset[str]] = {}
"""The classes that can be copied by their ``__dict__``, with their field names."""


def _fields_if_plain(cls: type) -> frozenset[str] | None:
    known = _PLAIN.get(cls)
    if known is not None:
        return known
    # a value class (its fields are __match_args__, all set by __init__)
    if (
        "_value_key" not in cls.__dict__
        or hasattr(cls, "__post_init__")
        or "__slots__" in cls.__dict__
    ):
        return None
    names = frozenset(cls.__dict__["__match_args__"])
    _PLAIN[cls] = names
    return names


def replace(obj: _T, **changes: Any) -> _T:
    """``dataclasses.replace(obj, **changes)``."""
    cls = type(obj)
    names = _fields_if_plain(cls)
    state = getattr(obj, "__dict__", None)
    if names is None or state is None or len(state) != len(names) or not names.issuperset(changes):
        if "_value_key" in cls.__dict__:
            return _value.replace(obj, **changes)
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    new = object.__new__(cls)
    copied = new.__dict__
    copied.update(state)
    copied.update(changes)
    return new
