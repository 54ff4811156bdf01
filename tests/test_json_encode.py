"""The fast indenting encoder writes exactly what ``json.dumps(..., ensure_ascii=False,
indent=2)`` writes (issue 12: the pure-Python ``json`` encoder cost more than reading the
certificates)."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ukeytool.rendering.json_encode import (
    Items,
    dumps_indented,
    encode_shared,
    iter_indented,
    iter_indented_utf8,
)
from ukeytool.rendering.json_values import escape_string


class Colour(str, enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


VALUES: list[Any] = [
    {},
    [],
    (),
    "",
    0,
    -1,
    2**70,
    1.5,
    -0.0,
    1e300,
    math.inf,
    -math.inf,
    True,
    False,
    None,
    '证书 \u2028 \x00 \ud800 "quoted" \\ \t\n',
    {"nested": {"list": [1, [2, [3, {}]], []], "empty": {}}, "tuple": (1, "x")},
    {7: "int key", 2.5: "float key", True: "bool key", False: "no", None: "none key"},
    {"enum": Colour.RED, "int enum": Level.HIGH, Colour.RED: "enum key", Level.HIGH: 1},
    [None, True, False, 0, 1.0, "s", [], {}, [[]], [{}]],
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_same_text_as_json_dumps(value: Any) -> None:
    assert dumps_indented(value) == json.dumps(value, ensure_ascii=False, indent=2)


def test_nan_as_json_writes_it() -> None:
    assert dumps_indented([math.nan]) == json.dumps([math.nan], indent=2)


@pytest.mark.parametrize("value", [{"a": object()}, [b"bytes"], {(1, 2): "tuple key"}])
def test_what_json_refuses_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(value, ensure_ascii=False, indent=2)
    with pytest.raises(TypeError):
        dumps_indented(value)


def test_the_document_in_pieces_is_json_dumps_text(mint_cached: Any) -> None:
    # The whole document the way the old code wrote it, in both languages, and the
    # caller's language untouched between the pieces.
    import datetime

    import ukeytool
    from ukeytool.i18n import get_language
    from ukeytool.rendering.json import iter_json, render_json, report_to_dict
    from ukeytool.rendering.json_values import escape_nonprinting
    from ukeytool.testing.fake import FakeBackend, FakeCertificate, FakeToken

    from .conftest import FIXED_NOW

    day = datetime.timedelta(days=1)
    certificates = [
        mint_cached(
            subject_cn=f"pieces {i}",
            not_before=FIXED_NOW - 30 * day,
            not_after=FIXED_NOW + (i * 20 - 10) * day,
        )
        for i in range(3)
    ]
    objects = [FakeCertificate(m.der, label=f"证书 {i}") for i, m in enumerate(certificates)]
    report = ukeytool.inspect_backend(FakeBackend([FakeToken(objects=objects)]), at=FIXED_NOW)
    for lang in ("en", "zh"):
        document = report_to_dict([report], generated_at=FIXED_NOW, lang=lang)
        expected = escape_nonprinting(json.dumps(document, ensure_ascii=False, indent=2)) + "\n"
        assert render_json([report], generated_at=FIXED_NOW, lang=lang) == expected
        pieces = []
        for piece in iter_json([report], generated_at=FIXED_NOW, lang=lang):
            assert get_language() == "en"
            pieces.append(piece)
        assert len(pieces) > 3
        assert "".join(pieces) == expected


# --- the same keys with values of changing kinds, keys that are not str (issue 12: a
# faster writer of dicts by their shape must keep all of these as json.dumps writes them)

_KEYS = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=6),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(st.characters(exclude_categories=()), max_size=8),
    st.sampled_from(["\u2028", "\x85 \u202e", "\udcff", "证书\x00", "\t\n"]),
)
_NESTED = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(_KEYS, children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=4), min_size=1, max_size=24, unique=True), st.data())
def test_one_shape_with_values_that_change(keys: list[str], data: st.DataObject) -> None:
    # Many dicts with the same keys, in one document and call after call, each with
    # values of other kinds (scalars, empty and nested containers) at other depths.
    from ukeytool.rendering.json_values import escape_nonprinting, escape_string

    dicts = [
        {key: data.draw(_NESTED) for key in keys}
        for _ in range(data.draw(st.integers(min_value=1, max_value=4)))
    ]
    for document in (dicts, {"a": dicts, "b": [[dicts[0]]]}, dicts[0]):
        expected = json.dumps(document, ensure_ascii=False, indent=2)
        assert dumps_indented(document) == expected
        assert dumps_indented(document, escape=escape_string) == escape_nonprinting(expected)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_KEYS, _SCALARS, min_size=1, max_size=30))
def test_dicts_of_mixed_scalars_and_keys(value: dict[Any, Any]) -> None:
    from ukeytool.rendering.json_values import escape_nonprinting, escape_string

    expected = json.dumps(value, ensure_ascii=False, indent=2)
    assert dumps_indented(value) == expected
    assert dumps_indented([value, value], escape=escape_string) == escape_nonprinting(
        json.dumps([value, value], ensure_ascii=False, indent=2)
    )
    # Equal keys of other types write other text (1 and True, 0 and False, 1.0).
    for twin in ({True: "x", "y": 1}, {1: "x", "y": 1}, {1.0: "x", "y": 1}):
        assert dumps_indented(twin) == json.dumps(twin, ensure_ascii=False, indent=2)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_items_with_a_writer_are_written_as_a_list_is(count: int) -> None:
    """An :class:`Items` array whose items write themselves (the JSON listing's
    certificates) gives the text the same items in a list give, at any depth, whole or
    in pieces."""
    items: list[Any] = [{"a": [1, "证书 \u202e"]}, None, "x", {"b": {}}][:count]

    def write(item: Any, newline: str) -> bytes:
        return encode_shared(item, newline, escape_string).encode()

    def documents(array: Any) -> Any:
        return {"top": array, "deep": [[{"array": array}]], "n": 1}

    written = documents(Items(items, write))
    plain = documents(list(items))
    expected = dumps_indented(plain, escape=escape_string)
    assert dumps_indented(written, escape=escape_string) == expected
    assert "".join(iter_indented(written, escape=escape_string)) == expected
    pieces = list(iter_indented_utf8(written, "\n", escape=escape_string))
    assert all(type(piece) is bytes for piece in pieces)
    assert b"".join(pieces) == (expected + "\n").encode()
