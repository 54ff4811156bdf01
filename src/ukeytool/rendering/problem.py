"""What a problem's sentence already names, so that a renderer does not say it twice.

A listing shows a problem as ``<where>: <message>: <CK_RV name> (<number>)``, leaving out
the place when the sentence begins with it (``"C_GetTokenInfo failed"``) and the CK_RV
name when the sentence holds it (``"... returned CKR_GENERAL_ERROR"``). Both are read
from data, never from the sentence: the place from :attr:`Problem.says_where`, the CK_RV
from :attr:`Problem.says_code` or from a parameter of the message that is the CK_RV name
itself (a nested message's too).

Sentences still made as text, the old way, cannot say so: for them (and only until every
problem is a :class:`~ukeytool.i18n.message.Message`; this goes with
:func:`ukeytool.i18n.localize`) the English text is looked at as before.
"""

from __future__ import annotations

from ..i18n.message import Message
from ..model import ModuleFailure, Problem

__all__ = ["says_code", "says_where"]


def says_where(problem: Problem) -> bool:
    """Whether ``problem.message`` begins by naming ``problem.where``."""
    if problem.says_where or isinstance(problem.message, Message):
        return problem.says_where
    return problem.message.startswith(str(problem.where))  # legacy text


def says_code(problem: Problem | ModuleFailure) -> bool:
    """Whether the message already names the CK_RV (``code_name``)."""
    name = problem.code_name
    if not name:
        return False
    if isinstance(problem, Problem) and problem.says_code:
        return True
    message = problem.message
    if isinstance(message, Message):
        return any(_holds(value, name) for part in message.walk() for _, value in part.params)
    return name in message  # legacy text


def _holds(value: object, name: str) -> bool:
    if isinstance(value, tuple):
        return any(_holds(item, name) for item in value)
    return value == name
