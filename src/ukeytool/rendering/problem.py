"""What a problem's sentence already names, so that a renderer does not say it twice.

A listing shows a problem as ``<where>: <message>: <CK_RV name> (<number>)``, leaving out
the place when the sentence begins with it (``"C_GetTokenInfo failed"``) and the CK_RV
name when the sentence holds it (``"... returned CKR_GENERAL_ERROR"``). Both are read
from data, never from the sentence: the place from :attr:`Problem.says_where`, the CK_RV
from :attr:`Problem.says_code` or from a parameter of the message that is the CK_RV name
itself (a nested message's too).
"""

from __future__ import annotations

from ..model import ModuleFailure, Problem

__all__ = ["says_code", "says_where"]


def says_where(problem: Problem) -> bool:
    """Whether ``problem.message`` begins by naming ``problem.where``."""
    return problem.says_where


def says_code(problem: Problem | ModuleFailure) -> bool:
    """Whether the message already names the CK_RV (``code_name``)."""
    name = problem.code_name
    if not name:
        return False
    if isinstance(problem, Problem) and problem.says_code:
        return True
    return any(_holds(value, name) for part in problem.message.walk() for _, value in part.params)


def _holds(value: object, name: str) -> bool:
    if isinstance(value, tuple):
        return any(_holds(item, name) for item in value)
    return value == name
