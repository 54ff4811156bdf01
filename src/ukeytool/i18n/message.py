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

This module imports nothing that the interpreter has not imported already (every start of
the command line needs it); the catalogue is read (:mod:`ukeytool.i18n`) only when a
message is rendered in a language other than English.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final, TypeAlias

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

Param: TypeAlias = "str | int | Message | tuple[str | int | Message, ...]"
"""What may fill a placeholder: a nested message, verbatim text, a number, or a list."""

_REGISTRY: dict[str, Template] = {}
_set = object.__setattr__  # how a frozen value sets its fields, once, in __init__


class Template:
    """One sentence with a stable code; call it with the parameters to make a message.

    Frozen, compared and hashed by its fields, as a frozen dataclass is (written out by
    hand: importing ``dataclasses`` would cost the command line's start-up more than it
    saves here)."""

    __slots__ = ("code", "context", "msgid", "plural")
    __match_args__ = ("code", "msgid", "plural", "context")

    code: str
    """Stable and machine-readable (``"certificate.der_truncated"``), shown in JSON as
    ``message_code``; scripts branch on it, never on the sentence."""
    msgid: str
    """The English sentence with ``{name}`` placeholders: the gettext msgid."""
    plural: str | None
    """The English plural form (then the ``n`` parameter chooses the form)."""
    context: str | None
    """The gettext context, where one English text needs two translations."""

    def __init__(
        self, code: str, msgid: str, plural: str | None = None, context: str | None = None
    ) -> None:
        _fill(self, code, msgid, plural, context)
        known = _REGISTRY.get(code)
        if known is not None and known != self:
            raise ValueError(f"message code {code!r} is used for two templates")
        _REGISTRY[code] = self

    def _fields(self) -> tuple[str, str, str | None, str | None]:
        return (self.code, self.msgid, self.plural, self.context)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Template) and other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Template(code={self.code!r}, msgid={self.msgid!r}, plural={self.plural!r}, "
            f"context={self.context!r})"
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[object, tuple[str, str, str | None, str | None]]:
        # Unpickled as it was, without registering it again (as a dataclass would be).
        return (_template, self._fields())

    def __call__(self, **params: Param) -> Message:
        return Message(self, tuple(params.items()))


def _fill(made: Template, code: str, msgid: str, plural: str | None, context: str | None) -> None:
    _set(made, "code", code)
    _set(made, "msgid", msgid)
    _set(made, "plural", plural)
    _set(made, "context", context)


def _template(code: str, msgid: str, plural: str | None, context: str | None) -> Template:
    made = object.__new__(Template)
    _fill(made, code, msgid, plural, context)
    return made


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


class Message:
    """A sentence for a person, kept as its template and parameters until it is shown.

    Frozen, compared and hashed by its template and parameters."""

    __slots__ = ("params", "template")
    __match_args__ = ("template", "params")

    template: Template
    params: tuple[tuple[str, Param], ...]
    """The parameters, in the order given."""

    def __init__(self, template: Template, params: tuple[tuple[str, Param], ...]) -> None:
        _set(self, "template", template)
        _set(self, "params", params)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message) and other.__class__ is self.__class__:
            return (self.template, self.params) == (other.template, other.params)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.template, self.params))

    def __repr__(self) -> str:
        return f"Message(template={self.template!r}, params={self.params!r})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[object, tuple[Template, tuple[tuple[str, Param], ...]]]:
        return (Message, (self.template, self.params))

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


# Documented and pickled under the name users import them by (``ukeytool.Message``, which
# :mod:`ukeytool` resolves on first use).
Message.__module__ = "ukeytool"
Template.__module__ = "ukeytool"
