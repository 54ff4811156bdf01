"""What each entry point imports: nothing heavy that it does not need.

``import ukeytool``, ``--version`` and ``--help`` must stay fast, and the renderers and
the URI module must work where python-pkcs11 or the certificate parsers are missing, so
each case runs a few lines in a fresh interpreter and lists the modules it must not have
loaded. One test, one case per entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ukeytool.testing.certs import Minted, to_pem

from .conftest import FIXED_NOW

SRC = Path(__file__).resolve().parents[1] / "src"
PARSERS = ("pkcs11", "cryptography", "asn1crypto")

#: (what runs in the child, modules it must not load, texts its standard output must hold)
CASES = {
    "import-ukeytool": (
        "import ukeytool",
        # the catalogue (and gettext) only for a language other than English; renewal
        # policies only when advice is asked for
        ("gettext", "ukeytool.i18n.catalogue", "ukeytool.judging.renewal", *PARSERS),
        (),
    ),
    "version-and-help": (
        "from ukeytool.cli import main\n"
        "assert main(['--version']) == 0\n"
        "assert main(['--help']) == 0\n"
        "assert main(['list-tokens', '--help']) == 0\n",
        PARSERS,
        ("ukeytool 0.", "exit codes"),
    ),
    "inspect-file": (
        # certificates in files: no PKCS#11 at all
        "from ukeytool.cli import main\nassert main(['inspect-file', PEM, '--json']) == 0\n",
        ("pkcs11", "ukeytool.pkcs11.backend"),
        ('"format": "pem"',),
    ),
    "relations-and-check": (
        # the text renderer imports the relations module; neither may pull in the parsers
        "import ukeytool.judging.relations, ukeytool.rendering.text\n"
        "import ukeytool.rendering.check\n",
        PARSERS,
        (),
    ),
    "renderers": (
        "import ukeytool.rendering.text, ukeytool.rendering.json\n",
        PARSERS,
        (),
    ),
    "uri": ("import ukeytool.pkcs11.uri\n", PARSERS, ()),
}

_REPORT = (
    "import json, sys\n"
    "loaded = set(sys.modules) | {name.split('.')[0] for name in sys.modules}\n"
    "print(json.dumps(sorted(loaded & set(FORBIDDEN))), file=sys.stderr)\n"
)


@pytest.mark.parametrize("case", list(CASES))
def test_imports_nothing_heavy(
    case: str, tmp_path: Path, mint_cached: Callable[..., Minted]
) -> None:
    code, forbidden, expected = CASES[case]
    pem = tmp_path / "leaf.pem"
    if "PEM" in code:
        leaf = mint_cached(
            subject_cn="import test", not_before=FIXED_NOW, not_after=FIXED_NOW, key="ec-p256"
        )
        pem.write_bytes(to_pem(leaf.der))
    program = f"PEM = {str(pem)!r}\nFORBIDDEN = {list(forbidden)!r}\n{code}\n{_REPORT}"
    env = dict(os.environ)
    if SRC.is_dir():  # a checkout or an unpacked sdist: the code under test, not an install
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.splitlines()[-1]) == []
    for text in expected:
        assert text in done.stdout
