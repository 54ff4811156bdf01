"""A copy of a model dataclass with some fields changed, as :func:`dataclasses.replace`
makes it, at a fraction of the cost.

``dataclasses.replace`` looks the fields up and runs ``__init__`` (each field set through
``object.__setattr__``, as the classes are frozen): several microseconds for a
:class:`~ukeytool.CertificateEntry`, paid once per certificate by the relations and once
by the renewal advice. The value classes (``ukeytool.model._value``) are copied by
their own ``replace`` (by the instance's ``__dict__`` where that gives the same state);
any other class goes through ``dataclasses.replace`` (imported then).

>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Point:
...     x: int
...     y: int = 0
>>> replace(Point(1, 2), y=5)
Point(x=1, y=5)
"""

from __future__ import annotations

from ..model import _value

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    _T = TypeVar("_T")

__all__ = ["replace"]


def replace(obj: _T, **changes: Any) -> _T:
    """``dataclasses.replace(obj, **changes)``: a value class's copy by
    :func:`ukeytool.model._value.replace` (by its ``__dict__`` where that is the same),
    any other class's by :func:`dataclasses.replace`."""
    if "_value_key" in type(obj).__dict__:
        return _value.replace(obj, **changes)
    import dataclasses

    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
