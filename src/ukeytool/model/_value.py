"""Frozen dataclasses that cost nothing to create: the value classes' ``__init__`` is
written in their modules (compiled once into the ``.pyc``), generated from the fields by
``scripts/values.py``; their other methods are shared; and what :mod:`dataclasses`
knows of a class is made only when someone asks for it.

``dataclasses.dataclass`` writes each class's methods as source and compiles them at
import (one ``exec`` per method), after importing ``inspect``, ``ast`` and more: tens of
milliseconds for the module and most of one per class, paid by every start of the
command line and of the isolation child. A class decorated with :func:`value` has the
same methods: its ``__init__`` generated between marker comments in its body (with
``__match_args__``, its parameters), and ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``, ``__delattr__`` and ``__replace__`` (as Python 3.13 gives) shared by
all value classes; its ``__dataclass_fields__`` and ``__dataclass_params__`` are those
of a real ``dataclasses.dataclass(frozen=True)`` twin with the same annotations and
defaults, made on first use. So ``dataclasses.fields``, ``replace``, ``asdict`` and
``is_dataclass`` work as on a dataclass, and nothing imports :mod:`dataclasses` until
one of them is called.

>>> @value
... class Point:
...     'A point.'
...     x: int
...     y: int = field(default=0, repr=False)
...     def __init__(self, x: int, y: int = 0) -> None:
...         _fields = self.__dict__
...         _fields["x"] = x
...         _fields["y"] = y
>>> Point(1, 2), Point.__match_args__, Point.y
(Point(x=1), ('x', 'y'), 0)
>>> import dataclasses
>>> [f.name for f in dataclasses.fields(Point)], dataclasses.replace(Point(1), y=3).y
(['x', 'y'], 3)
"""

from __future__ import annotations

import operator

__all__ = ["field", "replace", "value"]

# typing.TYPE_CHECKING without importing typing (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from dataclasses import field
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")


class _Missing:
    """No default."""

    __slots__ = ()


_MISSING: Any = _Missing()


class _Field:
    """What :func:`field` says of a field (the options the value classes use)."""

    __slots__ = ("compare", "default", "repr")

    def __init__(self, default: object, repr: bool, compare: bool) -> None:
        self.default = default
        self.repr = repr
        self.compare = compare


if not TYPE_CHECKING:

    def field(*, default: object = _MISSING, repr: bool = True, compare: bool = True) -> Any:
        """:func:`dataclasses.field` for a value class: a default, ``repr=False``
        (the field is not in the repr) or ``compare=False`` (nor in equality and hash);
        ``scripts/values.py`` reads it from the source."""
        return _Field(default, repr, compare)


def frozen(message: str) -> Exception:
    """The :class:`dataclasses.FrozenInstanceError` a frozen dataclass raises."""
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(message)


class _Lazy:
    """``__dataclass_fields__`` or ``__dataclass_params__`` of a value class: those of
    its dataclass twin, made when first asked for (then set on the class)."""

    __slots__ = ("cls", "name", "specs")

    def __init__(self, cls: type, name: str, specs: dict[str, _Field]) -> None:
        self.cls = cls
        self.name = name
        self.specs = specs

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        twin = _twin(self.cls, self.specs)
        for name in ("__dataclass_fields__", "__dataclass_params__"):
            setattr(self.cls, name, getattr(twin, name))
        return getattr(twin, self.name)


def _twin(cls: type, specs: dict[str, _Field]) -> type:
    """A real frozen dataclass with ``cls``'s annotations, defaults and field options."""
    import dataclasses
    import inspect

    annotations = inspect.get_annotations(cls)
    names: tuple[str, ...] = cls.__dict__["__match_args__"]
    namespace: dict[str, object] = {
        "__annotations__": {name: annotations[name] for name in names},
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    for name in names:
        spec = specs.get(name)
        if spec is not None:
            namespace[name] = dataclasses.field(
                default=spec.default if spec.default is not _MISSING else dataclasses.MISSING,
                repr=spec.repr,
                compare=spec.compare,
            )
        elif name in cls.__dict__:
            namespace[name] = cls.__dict__[name]
    twin = type(cls.__name__, (), namespace)
    return dataclasses.dataclass(frozen=True)(twin)


def _repr(self: Any) -> str:
    cls = self.__class__
    shown = ", ".join([f"{name}={getattr(self, name)!r}" for name in cls._value_shown])
    return f"{cls.__qualname__}({shown})"


def _eq(self: object, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented  # type: ignore[no-any-return]
    key: Callable[[object], tuple[object, ...]] = self.__class__._value_key  # type: ignore[attr-defined]
    return key(self) == key(other)


def _hash(self: object) -> int:
    key: Callable[[object], tuple[object, ...]] = self.__class__._value_key  # type: ignore[attr-defined]
    return hash(key(self))


def _setattr(self: object, name: str, value: object) -> None:
    cls = type(self)
    if "__dataclass_fields__" in cls.__dict__ or name in cls.__match_args__:  # type: ignore[attr-defined]
        raise frozen(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _delattr(self: object, name: str) -> None:
    cls = type(self)
    if "__dataclass_fields__" in cls.__dict__ or name in cls.__match_args__:  # type: ignore[attr-defined]
        raise frozen(f"cannot delete field {name!r}")
    object.__delattr__(self, name)


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of ``obj`` with ``changes``, as :func:`dataclasses.replace` makes it; the
    value classes' ``__replace__`` (:func:`copy.replace` on Python 3.13).

    A class whose ``__init__`` only sets its fields (no ``__post_init__``, no
    ``__slots__``) is copied by its ``__dict__``: the same state, at a fraction of the
    cost of ``__init__`` (paid once per certificate by the relations, the advice and the
    masking). Any other class runs its ``__init__``, with its ``__post_init__``."""
    cls = obj.__class__
    names = _PLAIN.get(cls)
    if names is None:
        names = _PLAIN[cls] = _plain_fields(cls)
    state = getattr(obj, "__dict__", None)
    if names and state is not None and len(state) == len(names) and names.issuperset(changes):
        new = object.__new__(cls)
        copied = new.__dict__
        copied.update(state)
        copied.update(changes)
        return new
    for name in cls.__match_args__:  # type: ignore[attr-defined]
        if name not in changes:
            changes[name] = getattr(obj, name)
    return cls(**changes)


_PLAIN: dict[type, frozenset[str]] = {}
"""For each value class met by :func:`replace`, its field names when it can be copied by
its ``__dict__`` (empty when it cannot)."""


def _plain_fields(cls: type) -> frozenset[str]:
    own = cls.__dict__  # a value class itself, not a subclass that may add state
    if "_value_key" not in own or "__slots__" in own or hasattr(cls, "__post_init__"):
        return frozenset()
    return frozenset(own["__match_args__"])


def _key(names: tuple[str, ...]) -> Callable[[object], tuple[object, ...]]:
    """The fields' values as a tuple, compared and hashed as a dataclass's are."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


if TYPE_CHECKING:

    @dataclass_transform(frozen_default=True, field_specifiers=(field,))
    def value(cls: type[_T]) -> type[_T]: ...

else:

    def value(cls):
        """Make ``cls``, whose ``__init__`` ``scripts/values.py`` generated, a frozen
        dataclass: ``__match_args__`` (the ``__init__``'s parameters), the shared
        methods, and a field given by :func:`field` becomes its default on the class
        (or nothing), as ``dataclasses.dataclass`` leaves it."""
        code = cls.__dict__["__init__"].__code__  # the fields, as scripts/values.py wrote it
        names = cls.__match_args__ = code.co_varnames[1 : code.co_argcount]
        specs = {}
        for name in names:
            spec = cls.__dict__.get(name)
            if isinstance(spec, _Field):
                specs[name] = spec
                if spec.default is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
        if specs:
            cls._value_shown = tuple(n for n in names if n not in specs or specs[n].repr)
            cls._value_key = _key(tuple(n for n in names if n not in specs or specs[n].compare))
        else:
            cls._value_shown = names
            cls._value_key = _key(names)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = _repr
        if "__eq__" not in cls.__dict__:
            cls.__eq__ = _eq
        cls.__hash__ = _hash
        cls.__setattr__ = _setattr
        cls.__delattr__ = _delattr
        cls.__replace__ = replace
        cls.__dataclass_fields__ = _Lazy(cls, "__dataclass_fields__", specs)
        cls.__dataclass_params__ = _Lazy(cls, "__dataclass_params__", specs)
        return cls
