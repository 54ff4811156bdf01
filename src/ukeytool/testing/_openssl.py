"""The ``openssl`` command line, run in a private temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")


def in_temp_dir(run: Callable[[Path], _T]) -> _T:
    # The directory holds private keys for a moment; it goes whatever happens.
    with tempfile.TemporaryDirectory(prefix="ukeytool-mint-") as work:
        return run(Path(work))


def openssl(work: Path, *args: str, env: dict[str, str] | None = None) -> None:
    command = shutil.which("openssl")
    if command is None:
        raise RuntimeError("minting SM2 certificates needs the openssl command, which is not found")
    done = subprocess.run(
        [command, *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip() or "no output"
        raise RuntimeError(f"openssl {' '.join(args)} failed (exit {done.returncode}): {message}")
