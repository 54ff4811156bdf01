#!/usr/bin/env python3
"""Write docs/message-codes.md: every message code with its English template.

    scripts/message-codes.py            # rewrite the file
    scripts/message-codes.py --check    # exit 1 when the file is out of date

The codes come from the templates themselves (``ukeytool.i18n.message.templates()``),
after every module of the package is imported; tests/test_messages.py runs ``--check``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "message-codes.md"
HEADER = """\
# Message codes

Every sentence ukeytool makes for a person has a stable code, shown in JSON as
`message_code` beside the sentence (`message`, `reason`, `error`) and in the library as
`Message.code`. The sentence follows `--lang`; the code never does, and never changes
once released: branch on it, never on the sentence. Parameters in braces are filled
when the message is shown (text from other software stays as that software wrote it).

This list is written by `scripts/message-codes.py` from the code; a test fails when it is
out of date.

| code | English |
|---|---|
"""


def render() -> str:
    sys.path.insert(0, str(ROOT / "src"))
    import ukeytool
    from ukeytool.i18n.message import templates

    for info in pkgutil.walk_packages(ukeytool.__path__, "ukeytool."):
        if info.name.startswith("ukeytool.testing") or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    rows = []
    for code, tpl in sorted(templates().items()):
        english = tpl.msgid if tpl.plural is None else f"{tpl.msgid} / {tpl.plural}"
        english = english.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{code}` | ``{english}`` |\n")
    return HEADER + "".join(rows)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text("utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run scripts/message-codes.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
