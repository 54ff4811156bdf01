"""The opt-in login: what is asked for, what is refused before C_Login, what each failure means.

A banking key locks after a few wrong PINs and then needs a trip to the branch, so
everything here is about *not* spending a PIN try by surprise:

* :class:`Pin` holds the PIN in a ``bytearray`` that is passed to C_Login without a
  copy and wiped afterwards; its ``repr`` and ``str`` never show it, and it can be
  spent once: a second C_Login with the same PIN is refused by ukeytool itself.
* :func:`refusal` decides, from a CK_TOKEN_INFO read just before the login, whether
  C_Login may be called at all: never on a locked PIN, not on the final try unless
  confirmed, not with a PIN whose length the token would reject.
* :func:`login_failed` turns the one C_Login result into a sentence per CKR code.

Every outcome's :attr:`~ukeytool.LoginOutcome.message` is a message as data (code
``login.*``): it may be made in the isolation child, and is shown in the reader's
language where it is shown. No message ever holds the PIN.
"""

from __future__ import annotations

import dataclasses

from ..i18n.message import Message, Template, template
from ..model import LoginOutcome, LoginState, PinState, TokenInfo

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    from .uri import Pkcs11Uri

__all__ = ["Login", "Pin", "login_failed", "login_message", "refusal", "state_refusal"]


_REDACTED = "Pin(<redacted>)"


class Pin:
    """A PIN that never shows itself and is used at most once.

    ``Pin("123456")`` or ``Pin(b"123456")``; text is encoded as UTF-8 (PKCS#11 PINs are
    UTF-8). The bytes live in a ``bytearray`` so :meth:`wipe` can overwrite them.
    """

    __slots__ = ("_spent", "_value")

    def __init__(self, value: str | bytes | bytearray) -> None:
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        self._value = bytearray(raw)
        self._spent = False

    def __repr__(self) -> str:
        return _REDACTED

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled only to hand the PIN to ukeytool's own isolation child over a pipe.
        return (_unpickle_pin, (bytes(self._value), self._spent))

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    @property
    def spent(self) -> bool:
        """True once the PIN has been handed to C_Login (or wiped)."""
        return self._spent

    def spend(self) -> bytearray:
        """The PIN's buffer, for the one C_Login; marks the PIN spent."""
        if self._spent:
            raise RuntimeError("this PIN was already used for a login; ukeytool never retries")
        self._spent = True
        return self._value

    def wipe(self) -> None:
        """Overwrite the PIN's bytes (best effort: Python may hold other copies)."""
        for i in range(len(self._value)):
            self._value[i] = 0
        self._value = bytearray()
        self._spent = True


def _unpickle_pin(value: bytes, spent: bool) -> Pin:
    pin = Pin(value)
    pin._spent = spent
    return pin


@dataclasses.dataclass(frozen=True)
class Login:
    """A request to log in to exactly one token, so private objects can be listed.

    The token is the one matching ``uri``, ``label`` and ``serial`` (bytes match the raw
    field, text the decoded text, as in :func:`~ukeytool.select_token`), or, with no
    criterion, the only initialised token of the module. Zero or several matches are
    refused before any C_Login. ``pin`` may be ``None`` only for a token with a
    protected authentication path (a PIN pad), where the PIN is entered on the reader.
    ``allow_final_try`` confirms a login on a token that says one more wrong PIN locks it.
    """

    pin: Pin | None
    label: bytes | str | None = None
    serial: bytes | str | None = None
    uri: str | Pkcs11Uri | None = None
    allow_final_try: bool = False

    def __post_init__(self) -> None:
        if self.pin is not None and not isinstance(self.pin, Pin):
            raise TypeError("Login(pin=...) takes a ukeytool.Pin, e.g. Pin(os.environ[...])")


_PIN_EMPTY: Final = template("login.pin_empty", "the PIN is empty; no login was tried")
_PIN_TOO_SHORT: Final = template(
    "login.pin_too_short",
    "the PIN is shorter than the token allows (at least {low} characters); "
    "no login was tried, so no PIN try was spent",
)
_PIN_TOO_LONG: Final = template(
    "login.pin_too_long",
    "the PIN is longer than the token allows (at most {high} characters); "
    "no login was tried, so no PIN try was spent",
)
_NOT_INITIALISED: Final = template(
    "login.token_not_initialised", "the token is not initialised; there is nothing to log in to"
)
_NO_USER_PIN: Final = template(
    "login.no_user_pin", "the token has no user PIN set; there is nothing to log in with"
)
_LOCKED: Final = template(
    "login.pin_locked",
    "the user PIN is locked; no login was tried. The key must be unlocked by its "
    "issuer (for a banking key: at a branch of the bank)",
)
_FINAL_TRY: Final = template(
    "login.final_try",
    "the token says one more wrong PIN locks it; no login was tried. Make sure of "
    "the PIN, then confirm with --allow-final-try (library: allow_final_try=True)",
)
_NO_PIN: Final = template(
    "login.no_pin", "no PIN was given and the token has no PIN pad; no login was tried"
)
_PIN_SPENT: Final = template(
    "login.pin_spent", "this PIN was already used for a login in this run; ukeytool never retries"
)
_FAILED: Final = template(
    "login.failed", "the login failed: C_Login returned {code_name}; ukeytool does not retry"
)
LOGGED_IN: Final = template("login.logged_in", "logged in; private objects are listed too")
ALREADY_LOGGED_IN: Final = template(
    "login.already_logged_in",
    "already logged in (by another user of the module in this process); "
    "private objects are listed too",
)
NOT_READ_AGAIN: Final = template(
    "login.token_not_read_again",
    "the token could not be read again before the login ({code_name}); no login was tried",
)


def _length_refusal(token: TokenInfo, pin: Pin) -> Message | None:
    size = len(pin)
    if size == 0:
        return _PIN_EMPTY()
    low, high = token.min_pin_len, token.max_pin_len
    if low is not None and size < low:
        return _PIN_TOO_SHORT(low=low)
    if high is not None and high > 0 and size > high:
        return _PIN_TOO_LONG(high=high)
    return None


def _refused(message: Message) -> LoginOutcome:
    return LoginOutcome(LoginState.REFUSED, message)


def state_refusal(token: TokenInfo, *, allow_final_try: bool = False) -> LoginOutcome | None:
    """Why the token's PIN state alone forbids a login (before any PIN is asked for)."""
    refused = _refused
    state = token.pin_state
    if state is PinState.NOT_INITIALISED:
        return refused(_NOT_INITIALISED())
    if state is PinState.USER_PIN_NOT_SET:
        return refused(_NO_USER_PIN())
    if state is PinState.LOCKED:
        return refused(_LOCKED())
    if state is PinState.FINAL_TRY and not allow_final_try:
        return refused(_FINAL_TRY())
    return None


def refusal(token: TokenInfo, login: Login) -> LoginOutcome | None:
    """Why C_Login must not be called on ``token`` (read just before), or None to go on."""
    refused = _refused
    by_state = state_refusal(token, allow_final_try=login.allow_final_try)
    if by_state is not None:
        return by_state
    if token.protected_authentication_path:
        return None  # the PIN is entered on the reader; nothing to check here
    if login.pin is None:
        return refused(_NO_PIN())
    if login.pin.spent:
        return refused(_PIN_SPENT())
    too_long_or_short = _length_refusal(token, login.pin)
    return refused(too_long_or_short) if too_long_or_short else None


#: What a C_Login failure means, by CK_RV (the CKR name is part of the sentence).
_FAILURES: Final[dict[int, Template]] = {
    0xA0: template(
        "login.rejected.pin_incorrect",
        "the token rejected the PIN (CKR_PIN_INCORRECT) and counted one wrong try; "
        "ukeytool does not retry. Check the PIN before trying again: after a few wrong "
        "PINs the key locks",
    ),
    0xA4: template(
        "login.rejected.pin_locked",
        "the user PIN is locked (CKR_PIN_LOCKED). The key must be unlocked by its issuer "
        "(for a banking key: at a branch of the bank)",
    ),
    0xA3: template(
        "login.rejected.pin_expired",
        "the PIN has expired (CKR_PIN_EXPIRED) and must be changed with the key's own "
        "software; ukeytool never changes PINs",
    ),
    0xA2: template(
        "login.rejected.pin_len_range",
        "the token says the PIN's length is out of range (CKR_PIN_LEN_RANGE); check the PIN",
    ),
    0xA1: template(
        "login.rejected.pin_invalid",
        "the token says the PIN has characters it does not accept (CKR_PIN_INVALID); check the PIN",
    ),
    0x50: template(
        "login.rejected.cancelled",
        "the login was cancelled on the reader (CKR_FUNCTION_CANCELED)",
    ),
    0x102: template(
        "login.rejected.user_pin_not_initialized",
        "the token has no user PIN set (CKR_USER_PIN_NOT_INITIALIZED)",
    ),
}


def login_failed(rv: int, code_name: str) -> LoginOutcome:
    """The outcome of a C_Login that returned ``rv`` (not CKR_OK, not already logged in)."""
    known = _FAILURES.get(rv)
    message = known() if known is not None else _FAILED(code_name=code_name)
    return LoginOutcome(LoginState.FAILED, message, rv, code_name)


def login_message(outcome: LoginOutcome) -> str:
    """``outcome.message`` in the current language (the outcome may come from an
    isolation child, which does not know the language: it sends the message as data)."""
    from ..i18n import render

    return render(outcome.message)
