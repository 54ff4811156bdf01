"""What the command line's words say before they are parsed: which command they name.

Imports nothing: :func:`ukeytool.cli.main` reads the command from the words to start the
isolation child (``_early_child``) before it imports argparse and the parsers."""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["command_of"]


def command_of(words: Sequence[str]) -> str | None:
    """The command's name in ``words``: the first word that is neither an option nor
    the value of the top-level ``--lang``."""
    after_lang = False
    for word in words:
        if not after_lang and not word.startswith("-"):
            return word
        after_lang = word == "--lang"
    return None
