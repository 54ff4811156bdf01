"""Messages as data: a template and its parameters, rendered when shown.

A :class:`Template` is one English sentence (the gettext msgid, marked for xgettext) with
a stable machine-readable :attr:`~Template.code` such as ``"certificate.der_truncated"``.
Calling it with the sentence's parameters makes a :class:`Message`, a frozen value that
holds the code, the msgid and the parameters, and nothing rendered::

    DER_TRUNCATED = template(
        "certificate.der_truncated", "the DER is cut off after {size} bytes"
    )
    problem = Problem(where="CKA_VALUE", message=DER_TRUNCATED(size=12))
    str(problem.message)           # 'the DER is cut off after 12 bytes'
    problem.message.render("zh")   # the same sentence from the zh_CN catalogue

A parameter is one of:

- another :class:`Message` (a nested sentence), rendered in the same language;
- a ``str``: text that is shown as it is and never translated (a path, a label, a
  CKR name, or the words of other software: the dynamic loader, the operating system,
  a parser);
- an ``int`` (counts; a :func:`plural_template` picks its form by the ``n`` parameter);
- a tuple of the above, shown as a list joined by the language's list separator.

Rendering looks the msgid up in the catalogue (one dictionary lookup) and fills in the
parameters with :meth:`str.format`: its cost does not depend on the catalogue's size,
and no sentence is ever parsed back. Messages pickle, so the isolation child sends them
to the parent as values.

This module imports nothing heavier than :mod:`dataclasses`; the catalogue is read
(:mod:`ukeytool.i18n`) only when a message is rendered in a language other than English.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Final, TypeAlias, Union

__all__ = [
    "Message",
    "Param",
    "Template",
    "context_template",
    "plural_template",
    "render",
    "template",
    "templates",
]

Param: TypeAlias = Union[str, int, "Message", tuple[Union[str, int, "Message"], ...]]
"""What may fill a placeholder: a nested message, verbatim text, a number, or a list."""

_REGISTRY: dict[str, Template] = {}


@dataclasses.dataclass(frozen=True)
class Template:
    """One sentence with a stable code; call it with the parameters to make a message."""

    code: str
    """Stable and machine-readable (``"certificate.der_truncated"``), shown in JSON as
    ``message_code``; scripts branch on it, never on the sentence."""
    msgid: str
    """The English sentence with ``{name}`` placeholders: the gettext msgid."""
    plural: str | None = None
    """The English plural form (then the ``n`` parameter chooses the form)."""
    context: str | None = None
    """The gettext context, where one English text needs two translations."""

    def __post_init__(self) -> None:
        known = _REGISTRY.get(self.code)
        if known is not None and known != self:
            raise ValueError(f"message code {self.code!r} is used for two templates")
        _REGISTRY[self.code] = self

    def __call__(self, **params: Param) -> Message:
        return Message(self, tuple(params.items()))


def template(code: str, msgid: str) -> Template:
    """A template; xgettext finds ``msgid`` with ``--keyword=template:2``."""
    return Template(code, msgid)


def plural_template(code: str, singular: str, plural: str) -> Template:
    """A template with a plural form chosen by its ``n`` parameter
    (``--keyword=plural_template:2,3``)."""
    return Template(code, singular, plural=plural)


def context_template(code: str, context: str, msgid: str) -> Template:
    """A template with a gettext context (``--keyword=context_template:2c,3``)."""
    return Template(code, msgid, context=context)


def templates() -> Mapping[str, Template]:
    """Every template defined so far, by code (import the modules that define them
    first; :func:`ukeytool.i18n.catalogue.all_templates` imports them all)."""
    return dict(_REGISTRY)


LIST_SEPARATOR: Final = context_template("list.separator", "list", ", ")
"""What joins the items of a tuple parameter: ``", "`` in English, ``"、"`` in Chinese."""


@dataclasses.dataclass(frozen=True)
class Message:
    """A sentence for a person, kept as its template and parameters until it is shown."""

    template: Template
    params: tuple[tuple[str, Param], ...]
    """The parameters, in the order given."""

    @property
    def code(self) -> str:
        """The template's stable code."""
        return self.template.code

    @property
    def msgid(self) -> str:
        """The English template."""
        return self.template.msgid

    @property
    def args(self) -> dict[str, Param]:
        """The parameters by name."""
        return dict(self.params)

    def render(self, lang: str | None = None) -> str:
        """The sentence in ``lang`` (``"en"``, ``"zh"``; None: the language of the run,
        as ``--lang`` or the locale chose it). Nested messages are rendered in the same
        language; ``str`` parameters are shown as they are."""
        if lang is None:
            lang = _current_language()
        return _format(self, lang)

    def __str__(self) -> str:
        return _format(self, "en")

    def walk(self) -> Iterator[Message]:
        """This message and every message nested in its parameters, depth first."""
        yield self
        for _name, value in self.params:
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, Message):
                    yield from item.walk()


def render(value: Message | str, lang: str | None = None) -> str:
    """``value`` rendered in ``lang`` when it is a message; text as it is."""
    return value.render(lang) if isinstance(value, Message) else value


def _current_language() -> str:
    from . import get_language

    return get_language()


def _lookup(tpl: Template, lang: str, count: int) -> str:
    if lang == "en":
        if tpl.plural is not None and count != 1:
            return tpl.plural
        return tpl.msgid
    from . import translations

    catalogue = translations(lang)
    if tpl.plural is not None:
        if tpl.context is not None:
            return catalogue.npgettext(tpl.context, tpl.msgid, tpl.plural, count)
        return catalogue.ngettext(tpl.msgid, tpl.plural, count)
    if tpl.context is not None:
        return catalogue.pgettext(tpl.context, tpl.msgid)
    return catalogue.gettext(tpl.msgid)


def _value(value: Param, lang: str) -> str | int:
    if isinstance(value, Message):
        return _format(value, lang)
    if isinstance(value, tuple):
        separator = _lookup(LIST_SEPARATOR, lang, 1)
        return separator.join(str(_value(item, lang)) for item in value)
    return value


def _format(message: Message, lang: str) -> str:
    params = dict(message.params)
    count = params.get("n", 1)
    text = _lookup(message.template, lang, count if isinstance(count, int) else 1)
    if not params:
        return text
    return text.format_map({name: _value(value, lang) for name, value in params.items()})
