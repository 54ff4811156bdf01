"""The value classes (``@value``, :mod:`ukeytool.model._value`) are frozen dataclasses to
everyone who uses them: each is compared with a real ``dataclasses.dataclass(frozen=True)``
made here from the same annotated fields of its source (fields, defaults, options and
order; repr, equality and hash of sample instances; replace, asdict, fields,
is_dataclass; frozen; pickling; construction by position and keyword). And the methods
that ``scripts/values.py`` writes into the modules are not stale.
"""

from __future__ import annotations
import __future__

import ast
import copy
import dataclasses
import importlib
import importlib.util
import inspect
import pickle
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("values_script", ROOT / "scripts" / "values.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks its module up
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()


def _value_classes() -> list[type]:
    found = []
    for path in SCRIPT._modules():
        relative = path.relative_to(ROOT / "src").with_suffix("")
        module = importlib.import_module(".".join(relative.parts))
        found += [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and obj.__module__ == module.__name__
            and "_value_key" in obj.__dict__
        ]
    return found


VALUE_CLASSES = _value_classes()


def test_every_marked_class_is_found() -> None:
    marked = sum(p.read_text("utf-8").count("\n@value\n") for p in SCRIPT._modules())
    marked += sum(p.read_text("utf-8").count("\n@_value.value\n") for p in SCRIPT._modules())
    assert len(VALUE_CLASSES) == marked
    assert len(VALUE_CLASSES) >= 50


def test_the_generated_code_is_not_stale() -> None:
    stale = [
        str(p.relative_to(ROOT))
        for p in SCRIPT._modules()
        if SCRIPT.generate(p.read_text("utf-8")) != p.read_text("utf-8")
    ]
    assert stale == [], "run: python3 scripts/values.py"


def test_the_script_writes_what_a_new_field_needs(tmp_path: Path) -> None:
    source = textwrap.dedent(
        '''\
        from __future__ import annotations

        from ukeytool.model._value import field, value


        @value
        class Point:
            """A point."""

            x: int
            y: int = field(default=0, repr=False)
        '''
    )
    once = SCRIPT.generate(source)
    assert SCRIPT.BEGIN in once
    assert '_fields["y"] = y' in once
    assert SCRIPT.generate(once) == once
    namespace: dict[str, Any] = {"__name__": "point"}
    exec(compile(once, "point.py", "exec"), namespace)
    point = namespace["Point"](1, y=2)
    assert repr(point) == "Point(x=1)"
    assert point.__match_args__ == ("x", "y")
    # a field added: the stale code is rewritten
    grown = once.replace("    x: int\n", "    x: int\n    z: str = 'z'\n")
    assert SCRIPT.generate(grown) != grown
    regrown = SCRIPT.generate(grown)
    assert "def __init__(self, x: int, z: str = 'z', y: int = 0) -> None:" in regrown
    assert '_fields["z"] = z' in regrown
    assert SCRIPT.generate(regrown) == regrown


def test_the_check_mode_passes_on_the_tree() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "values.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# --- each value class against a real dataclass made from its source


def _reference(cls: type) -> type:
    """``dataclasses.dataclass(frozen=True)`` applied to a class holding ``cls``'s
    annotated fields, as its source writes them (``field`` being dataclasses.field)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    node = tree.body[0]
    assert isinstance(node, ast.ClassDef)
    body: list[ast.stmt] = [s for s in node.body if isinstance(s, ast.AnnAssign)]
    if ast.get_docstring(node) is not None:
        body.insert(0, node.body[0])
    node.body = body
    node.decorator_list = []
    source = ast.unparse(node)
    module = sys.modules[cls.__module__]
    namespace: dict[str, Any] = {
        **vars(module),
        "field": dataclasses.field,
        "_value": types.SimpleNamespace(field=dataclasses.field),
    }
    flags = __future__.annotations.compiler_flag
    exec(
        compile(source, f"<{cls.__qualname__}>", "exec", flags=flags, dont_inherit=True), namespace
    )
    ref = namespace[cls.__name__]
    ref.__qualname__ = cls.__qualname__
    ref.__module__ = cls.__module__
    if "__post_init__" in cls.__dict__:
        ref.__post_init__ = cls.__dict__["__post_init__"]
    return dataclasses.dataclass(frozen=True)(ref)


def _field_options(f: dataclasses.Field[Any]) -> tuple[object, ...]:
    return (f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.compare, f.hash)


def _samples(cls: type) -> tuple[dict[str, object], dict[str, object], str]:
    """Keyword arguments for two instances that differ in one field, and its name."""
    names = cls.__match_args__  # type: ignore[attr-defined]
    first: dict[str, object] = {n: (n, 1) for n in names}
    try:
        cls(**first)
    except Exception:  # a __post_init__ that checks types
        first = {n: getattr(cls, n, None) for n in names}
        cls(**first)
    for name in names:
        for candidate in (("other", 2), b"other", "other"):
            second = {**first, name: candidate}
            try:
                cls(**second)
            except Exception:
                continue
            return first, second, name
    raise AssertionError(f"no sample for {cls}")


@pytest.mark.parametrize("cls", VALUE_CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_a_value_class_is_the_dataclass_its_fields_make(cls: type) -> None:
    ref = _reference(cls)
    assert dataclasses.is_dataclass(cls)
    assert [_field_options(f) for f in dataclasses.fields(cls)] == [
        _field_options(f) for f in dataclasses.fields(ref)
    ]
    assert repr(cls.__dataclass_params__) == repr(ref.__dataclass_params__)  # type: ignore[attr-defined]
    assert cls.__match_args__ == ref.__match_args__  # type: ignore[attr-defined]
    missing = object()
    for name in ref.__match_args__:  # type: ignore[attr-defined]
        assert getattr(cls, name, missing) == getattr(ref, name, missing), name
    # the same parameters, annotations and defaults (the generated __init__'s return
    # annotation is the string "None", as every annotation of the module)
    empty = inspect.Signature.empty
    assert str(inspect.signature(cls).replace(return_annotation=empty)) == str(
        inspect.signature(ref).replace(return_annotation=empty)
    )
    assert cls.__doc__ == ref.__doc__

    kwargs, other_kwargs, first = _samples(cls)
    obj, ref_obj = cls(**kwargs), ref(**kwargs)
    assert dataclasses.is_dataclass(obj)
    assert repr(obj) == repr(ref_obj)
    assert list(vars(obj).items()) == list(vars(ref_obj).items())
    assert hash(obj) == hash(ref_obj)
    assert obj == cls(**kwargs)
    assert obj == cls(*kwargs.values())
    assert obj != ref_obj  # another class
    other, ref_other = cls(**other_kwargs), ref(**other_kwargs)
    assert (obj == other) == (ref_obj == ref_other)
    assert (hash(obj) == hash(other)) == (hash(ref_obj) == hash(ref_other))
    assert dataclasses.asdict(obj) == dataclasses.asdict(ref_obj)
    assert dataclasses.astuple(obj) == dataclasses.astuple(ref_obj)
    changed = dataclasses.replace(obj, **{first: other_kwargs[first]})
    assert changed == other
    assert type(changed) is cls
    assert obj.__replace__(**{first: other_kwargs[first]}) == other  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        dataclasses.replace(obj, no_such_field=1)

    for target, reference in ((obj, ref_obj),):
        for name in (first, "not_a_field"):
            with pytest.raises(dataclasses.FrozenInstanceError) as raised:
                setattr(target, name, 1)
            with pytest.raises(dataclasses.FrozenInstanceError) as expected:
                setattr(reference, name, 1)
            assert str(raised.value) == str(expected.value)
            with pytest.raises(dataclasses.FrozenInstanceError) as raised:
                delattr(target, name)
            with pytest.raises(dataclasses.FrozenInstanceError) as expected:
                delattr(reference, name)
            assert str(raised.value) == str(expected.value)

    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(obj, protocol))
        assert again == obj
        assert vars(again) == vars(obj)
    assert copy.copy(obj) == obj
    assert copy.deepcopy(obj) == obj
    match obj:
        case cls(value):  # type: ignore[misc]
            assert value == next(iter(kwargs.values()))
        case _:
            pytest.fail("no match")


def test_fields_are_made_on_first_use_without_importing_dataclasses(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """\
        import sys
        from ukeytool.model.report import CertificateEntry, Report
        from ukeytool.model.certificate import Certificate
        from ukeytool.judging.policies import RenewalPolicy
        c = Certificate(b"x", "a", "b")
        assert c == Certificate(b"x", "a", "b") and hash(c) and repr(c)
        assert "dataclasses" not in sys.modules, "imported"
        import dataclasses
        assert dataclasses.is_dataclass(Certificate)
        assert [f.name for f in dataclasses.fields(c)][:3] == ["der", "sha256", "sha1"]
        assert type(Certificate.__dict__["__dataclass_fields__"]) is dict
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"
