"""Secrets asked for: the PIN for --login and PKCS#12 passwords for inspect-file.

Neither is ever taken from the command line (argv is visible to every user of the
machine): each comes from an environment variable, else from a prompt without echo on a
terminal. Both variables are taken out of the environment when a command starts
(:func:`secrets_withheld`), before any module is loaded or any child process started, so
that no module and no child process can read them there; the PIN reaches the login child
over a pipe only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from ..errors import UsageError
from ..i18n import _
from ..i18n.message import template
from ..model.text import escape_control

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    from ..certificates.files import PasswordSource
    from ..model import TokenInfo
    from ..pkcs11.login import Pin

__all__ = [
    "PIN_VARIABLE",
    "PKCS12_PASSWORD_ENV",
    "ask_pkcs12_password",
    "pkcs12_password",
    "read_pin",
    "secrets_withheld",
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
PIN_NOT_UTF8: Final = template(
    "cli.pin_not_utf8",
    "the PIN in {variable} is not valid UTF-8 (PKCS#11 PINs are UTF-8 text); nothing was tried",
)

#: The secret variables taken out of the environment for the command that runs now.
_withheld: dict[str, bytes] = {}


@contextlib.contextmanager
def secrets_withheld() -> Iterator[None]:
    """For one command: $UKEYTOOL_PIN and $UKEYTOOL_PKCS12_PASSWORD out of the
    environment (kept here, as bytes), so that no module loaded in this process and no
    child process started can see them; put back afterwards, unless the PIN was used."""
    taken = {}
    for name in (PIN_VARIABLE, PKCS12_PASSWORD_ENV):
        value = os.environb.pop(name.encode(), None)
        if value is not None:
            taken[name] = value
    saved = dict(_withheld)
    _withheld.clear()
    _withheld.update(taken)
    try:
        yield
    finally:
        for name, value in taken.items():
            if name in _withheld:  # not used up: the caller's environment as it was
                os.environb[name.encode()] = value
        _withheld.clear()
        _withheld.update(saved)


def _secret(name: str) -> bytes | None:
    """A secret variable: withheld for this command, else (a library caller that did
    not withhold it) taken from the environment now."""
    if name in _withheld:
        return _withheld[name]
    return os.environb.get(name.encode())


def read_pin(token: TokenInfo) -> Pin:
    """The PIN from $UKEYTOOL_PIN (removed from the environment once read), else from a
    prompt without echo on the terminal; never from the command line."""
    from ..pkcs11.login import Pin

    raw = _secret(PIN_VARIABLE)
    if raw is not None:
        # Used once: gone from this process's environment for good.
        _withheld.pop(PIN_VARIABLE, None)
        os.environb.pop(PIN_VARIABLE.encode(), None)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            # Never shown, not even the offending byte.
            raise UsageError(PIN_NOT_UTF8(variable=PIN_VARIABLE)) from None
        return Pin(raw)
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
    given = _secret(PKCS12_PASSWORD_ENV)
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
