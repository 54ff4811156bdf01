"""Hand-built model values for tests of pure functions (renderers, the check, metrics).

Every field has a plain default, so a test names only what it is about.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ukeytool.i18n.message import Message, Template
from ukeytool.model import ModuleInfo, PinState, SlotInfo, TokenInfo
from ukeytool.model.text import Text, decode_text
from ukeytool.pkcs11.cryptoki import SLOT_FLAGS, TOKEN_FLAGS, flag_names

CKF_TOKEN_PRESENT = 0x1
CKF_LOGIN_REQUIRED = 0x4
CKF_USER_PIN_INITIALIZED = 0x8
CKF_PROTECTED_AUTHENTICATION_PATH = 0x100
CKF_TOKEN_INITIALIZED = 0x400
CKF_USER_PIN_LOCKED = 0x40000
DEFAULT_TOKEN_FLAGS = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED


def sentence(text: str) -> Message:
    """A message whose English is ``text``, for values built by hand (the library makes
    its own from its templates). It has no translation: it stays English in Chinese."""
    code = "test.sentence." + hashlib.sha256(text.encode()).hexdigest()[:16]
    return Template(code, text.replace("{", "{{").replace("}", "}}"))()


def t(value: str | bytes) -> Text:
    """Text from a str (as UTF-8) or raw bytes, decoded as ukeytool decodes token strings."""
    return decode_text(value.encode() if isinstance(value, str) else value)


def make_token_info(
    label: Text | str = "工行U盾",
    *,
    serial: str = "5f1c2e3d4a5b6c7d",
    flags: int = DEFAULT_TOKEN_FLAGS,
    pin_state: PinState = PinState.OK,
    manufacturer: str = "SoftHSM project",
    model: str = "SoftHSM v2",
    **fields: Any,
) -> TokenInfo:
    """A TokenInfo; flag names are derived from ``flags`` as the backend derives them."""
    names, unknown = flag_names(flags, TOKEN_FLAGS)
    values: dict[str, Any] = {
        "label": label if isinstance(label, Text) else t(label),
        "manufacturer": t(manufacturer),
        "model": t(model),
        "serial": t(serial),
        "flags": flags,
        "flag_names": names,
        "unknown_flags": unknown,
        "pin_state": pin_state,
        "max_session_count": 0,
        "session_count": None,
        "max_rw_session_count": 0,
        "rw_session_count": None,
        "max_pin_len": 255,
        "min_pin_len": 4,
        "total_public_memory": None,
        "free_public_memory": None,
        "total_private_memory": None,
        "free_private_memory": None,
        "hardware_version": (2, 6),
        "firmware_version": (2, 6),
        "utc_time": None,
    }
    values.update(fields)
    return TokenInfo(**values)


def make_slot_info(
    slot_id: int = 1,
    description: str = "USB Key",
    *,
    present: bool = True,
    manufacturer: str = "SoftHSM project",
    version: tuple[int, int] = (2, 6),
) -> SlotInfo:
    flags = CKF_TOKEN_PRESENT if present else 0
    return SlotInfo(
        slot_id=slot_id,
        description=t(description),
        manufacturer=t(manufacturer),
        flags=flags,
        flag_names=flag_names(flags, SLOT_FLAGS)[0],
        hardware_version=version,
        firmware_version=version,
    )


def make_module_info(
    path: str = "/usr/lib/softhsm/libsofthsm2.so",
    *,
    real_path: str | None = None,
    manufacturer: str = "SoftHSM",
    description: str = "Implementation of PKCS11",
    cryptoki_version: tuple[int, int] = (2, 40),
    library_version: tuple[int, int] = (2, 6),
) -> ModuleInfo:
    return ModuleInfo(
        path=path,
        real_path=real_path or path,
        cryptoki_version=cryptoki_version,
        manufacturer=t(manufacturer),
        description=t(description),
        library_version=library_version,
    )
