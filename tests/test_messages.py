"""Messages as data: every template, built with awkward parameters, in both languages.

A message keeps its template and parameters until it is shown, so its parameters come
out exactly as given (a path with ``: `` in it stays that path), its own words are all
translated, and nested messages follow the language of the outer one. Each template has
its own stable code and an entry in the catalogue.
"""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import re
import string
from collections.abc import Mapping

import pytest

import ukeytool
from ukeytool.i18n import catalogue as _cat
from ukeytool.i18n.message import (
    Template,
    context_template,
    plural_template,
    render,
    template,
    templates,
)
from ukeytool.i18n.po import parse_po


def all_templates() -> Mapping[str, Template]:
    """Every template of the package: each module that may define one is imported."""
    for info in pkgutil.walk_packages(ukeytool.__path__, "ukeytool."):
        if info.name.startswith("ukeytool.testing") or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    return {code: t for code, t in templates().items() if not code.startswith("test.")}


#: Values a real run produces: separators, brackets, CJK, a GBK label, a path with a colon.
AWKWARD = (
    "/home/用户/bank: 2024/policy (v2), final.json",
    "工行U盾 (ICBC), K宝: 1",
    "CKR_DEVICE_ERROR",
)


def _fields(text: str) -> list[tuple[str, str]]:
    return [
        (name, spec or "")
        for _lit, name, spec, _conv in string.Formatter().parse(text)
        if name is not None
    ]


def _sample(tpl: Template, index: int) -> dict[str, str | int]:
    params: dict[str, str | int] = {}
    for name, spec in _fields(tpl.msgid) + _fields(tpl.plural or ""):
        if name in params:
            continue
        if name == "n" or spec:
            params[name] = 7
        else:
            params[name] = f"{AWKWARD[(index + len(params)) % len(AWKWARD)]} #{len(params)}"
    return params


#: English words that are the same in Chinese text (names, protocols, file formats, and
#: Python identifiers such as the argument crit_days).
_KEPT_WORDS = re.compile(
    r"^(?:[A-Z0-9_#.\-]+|[A-Z][a-z]+[A-Z]\w*|pkcs\w*|ukeytool|softhsm\w*|[a-z]+(?:_[a-z]+)+)$"
)


def _english_words(text: str) -> set[str]:
    words = set()
    for literal, _name, _spec, _conv in string.Formatter().parse(text):
        for word in re.findall(r"[A-Za-z][A-Za-z_'#-]{3,}", literal):
            if not _KEPT_WORDS.match(word):
                words.add(word)
    return words


def test_the_registry_is_not_empty() -> None:
    found = all_templates()
    assert "list.separator" in found
    # The package's own sentences are templates (the count grows as layers convert).
    assert len(found) >= 1


def test_every_template_in_both_languages_keeps_its_parameters_and_translates_its_words() -> None:
    entries = parse_po(
        (_cat.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "ukeytool.po").read_text("utf-8")
    )
    problems: list[str] = []
    for index, (code, tpl) in enumerate(sorted(all_templates().items())):
        key: str | tuple[str, str] = tpl.msgid
        if tpl.plural is not None:
            key = (tpl.msgid, tpl.plural)
        if tpl.context is not None:
            key = (
                (tpl.context + "\x04" + tpl.msgid, tpl.plural)
                if tpl.plural is not None
                else tpl.context + "\x04" + tpl.msgid
            )
        if key not in entries:
            problems.append(f"{code}: no entry in ukeytool.po for {tpl.msgid!r}")
            continue
        params = _sample(tpl, index)
        message = tpl(**params)
        english, chinese = message.render("en"), message.render("zh")
        assert str(message) == english
        for name, value in params.items():
            if isinstance(value, str) and value not in english:
                problems.append(f"{code}: {name} changed in English: {english!r}")
            if isinstance(value, str) and value not in chinese:
                problems.append(f"{code}: {name} changed in Chinese: {chinese!r}")
        rest = chinese
        for value in params.values():
            rest = rest.replace(str(value), "")
        # whole words only: "days" is not left over in "crit_days"
        left = {
            w
            for w in _english_words(tpl.msgid)
            if re.search(rf"(?<![A-Za-z_]){re.escape(w)}(?![A-Za-z_])", rest)
        }
        if left:
            problems.append(f"{code}: English left in Chinese: {sorted(left)} in {chinese!r}")
    assert problems == []


def test_codes_are_stable_names() -> None:
    for code in all_templates():
        assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", code), code


def test_a_code_names_one_template() -> None:
    template("test.once", "one sentence")
    template("test.once", "one sentence")  # the same template again is fine
    with pytest.raises(ValueError, match="two templates"):
        template("test.once", "another sentence")


def test_nested_messages_follow_the_outer_language_and_text_stays_as_it_is() -> None:
    inner = template("test.inner", "the certificate has expired")
    outer = template("test.outer", "token {label}: {detail}")
    message = outer(label="工行U盾: (1), 2", detail=inner())
    assert str(message) == "token 工行U盾: (1), 2: the certificate has expired"
    assert message.render("zh") == message.render("zh")
    assert message.code == "test.outer"
    assert [m.code for m in message.walk()] == ["test.outer", "test.inner"]
    assert render("plain text", "zh") == "plain text"


def test_plurals_context_and_lists() -> None:
    many = plural_template("test.objects", "{n} object", "{n} objects")
    assert str(many(n=1)) == "1 object"
    assert str(many(n=3)) == "3 objects"
    listed = template("test.listed", "found {items}")
    assert str(listed(items=("a", "b", "c"))) == "found a, b, c"
    assert listed(items=("a", "b")).render("zh") == "found a、b"
    ctx = context_template("test.ctx", "list", "x")
    assert ctx.context == "list"


def test_messages_pickle_as_values() -> None:
    inner = template("test.pickled_inner", "inner {x}")
    outer = template("test.pickled", "outer {detail}")
    message = outer(detail=inner(x="1"))
    again = pickle.loads(pickle.dumps(message))
    assert again == message
    assert str(again) == "outer inner 1"


def test_rendering_costs_a_lookup_not_a_scan() -> None:
    # Translation is a dictionary lookup: a long parameter is copied, never matched.
    outer = template("test.long", "cannot read {path}: {reason}")
    long_value = "x: y, (z) " * 10_000
    message = outer(path=long_value, reason=long_value)
    assert message.render("zh").count(long_value) == 2
