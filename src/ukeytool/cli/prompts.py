"""Secrets asked for: the PIN for --login and PKCS#12 passwords for inspect-file.

Neither is ever taken from the command line (argv is visible to every user of the
machine): each comes from an environment variable, else from a prompt without echo on a
terminal. A PIN read from the environment is removed from it, so that no child process
inherits it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Final

from ..errors import UsageError
from ..i18n import _
from ..i18n.message import template
from ..model.text import escape_control

if TYPE_CHECKING:
    from ..certificates.files import PasswordSource
    from ..model import TokenInfo
    from ..pkcs11.login import Pin

__all__ = [
    "PIN_VARIABLE",
    "PKCS12_PASSWORD_ENV",
    "ask_pkcs12_password",
    "pkcs12_password",
    "read_pin",
]

PIN_VARIABLE: Final = "UKEYTOOL_PIN"
"""The environment variable ``--login`` takes the PIN from."""

PKCS12_PASSWORD_ENV: Final = "UKEYTOOL_PKCS12_PASSWORD"
"""The environment variable ``inspect-file`` takes a PKCS#12 password from."""

LOGIN_NEEDS_PIN: Final = template(
    "cli.login_needs_pin",
    "--login needs the PIN: set {variable}, or run on a terminal to be asked for it "
    "(a PIN is never taken from the command line)",
)
NO_PIN_ENTERED: Final = template("cli.no_pin_entered", "no PIN was entered; nothing was tried")


def read_pin(token: TokenInfo) -> Pin:
    """The PIN from $UKEYTOOL_PIN (removed from the environment once read), else from a
    prompt without echo on the terminal; never from the command line."""
    from ..pkcs11.login import Pin

    value = os.environ.pop(PIN_VARIABLE, None)
    if value is not None:
        return Pin(value)
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(LOGIN_NEEDS_PIN(variable=PIN_VARIABLE))
    import getpass

    serial = escape_control(token.serial.value)
    label = repr(escape_control(token.label.value))
    prompt = _("PIN for token {label} (serial {serial}): ").format(label=label, serial=serial)
    try:
        return Pin(getpass.getpass(prompt))
    except EOFError:
        raise UsageError(NO_PIN_ENTERED()) from None


def pkcs12_password() -> PasswordSource:
    """$UKEYTOOL_PKCS12_PASSWORD (as bytes: it need not be UTF-8), else a prompt when
    standard input is a terminal, else none."""
    given = os.environb.get(PKCS12_PASSWORD_ENV.encode())
    if given is not None:
        return given
    if sys.stdin is not None and sys.stdin.isatty():
        return ask_pkcs12_password
    return None


def ask_pkcs12_password(path: str) -> str | None:
    """The password for the PKCS#12 file ``path``, asked for without echo; None when the
    user ends the prompt with Ctrl-D."""
    import getpass

    try:
        prompt = _("Password for PKCS#12 file {path}: ").format(path=escape_control(path))
        return getpass.getpass(prompt)
    except EOFError:  # Ctrl-D: no password for this file
        sys.stderr.write("\n")
        return None
