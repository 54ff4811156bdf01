"""A narrow ctypes binding to a PKCS#11 module's function list: inspection calls only.

Every call ukeytool makes into a module goes through this binding over the module's
function list (loading and initialising included, see :mod:`ukeytool.pkcs11.loading`),
rather than through python-pkcs11, which cannot do what ukeytool needs:
the raw CK_TOKEN_INFO (python-pkcs11 decodes labels lossily and drops fields), slot
enumeration that survives one bad slot, and a single pre-sized attribute template per
object (python-pkcs11 reads ten capability attributes per object it yields).

Only the functions ukeytool may call are given names and types here. Every other
entry of CK_FUNCTION_LIST is an anonymous pointer, so nothing in ukeytool can call a
function that writes to a token: there is no name to call it by. C_Login and C_Logout
are named (:data:`LOGIN_FUNCTIONS`) for the one opt-in login path
(``backend.Module.certificate_objects`` with a login request) and called nowhere else.
"""

from __future__ import annotations

import ctypes

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

CK_ULONG = ctypes.c_ulong
CK_RV = CK_ULONG
CK_SLOT_ID = CK_ULONG
CK_FLAGS = CK_ULONG
CK_SESSION_HANDLE = CK_ULONG
CK_OBJECT_HANDLE = CK_ULONG
CK_ATTRIBUTE_TYPE = CK_ULONG
CK_BBOOL = ctypes.c_ubyte

#: ulValueLen a module sets for an attribute it cannot give; also "unavailable" in
#: CK_TOKEN_INFO counters.
CK_UNAVAILABLE_INFORMATION: Final = ctypes.c_ulong(-1).value

CKF_SERIAL_SESSION: Final = 0x4
#: C_WaitForSlotEvent: return CKR_NO_EVENT at once rather than wait.
CKF_DONT_BLOCK: Final = 0x1

CKA_CLASS: Final = 0x0
CKA_PRIVATE: Final = 0x2
CKA_LABEL: Final = 0x3
CKA_VALUE: Final = 0x11
CKA_CERTIFICATE_TYPE: Final = 0x80
CKA_ID: Final = 0x102
CKA_KEY_TYPE: Final = 0x100
CKA_MODULUS: Final = 0x120
CKA_PUBLIC_KEY_INFO: Final = 0x129
CKA_EC_POINT: Final = 0x181
CKO_CERTIFICATE: Final = 0x1
CKO_PUBLIC_KEY: Final = 0x2
CKO_PRIVATE_KEY: Final = 0x3
CKU_USER: Final = 0x1

CKR_OK: Final = 0x0
CKR_ATTRIBUTE_SENSITIVE: Final = 0x11
CKR_ATTRIBUTE_TYPE_INVALID: Final = 0x12
CKR_BUFFER_TOO_SMALL: Final = 0x150
CKR_CRYPTOKI_ALREADY_INITIALIZED: Final = 0x191
CKR_VENDOR_DEFINED: Final = 0x80000000
CKR_FUNCTION_CANCELED: Final = 0x50
CKR_NO_EVENT: Final = 0x8
CKR_FUNCTION_NOT_SUPPORTED: Final = 0x54
CKR_PIN_INCORRECT: Final = 0xA0
CKR_PIN_INVALID: Final = 0xA1
CKR_PIN_LEN_RANGE: Final = 0xA2
CKR_PIN_EXPIRED: Final = 0xA3
CKR_PIN_LOCKED: Final = 0xA4
CKR_USER_ALREADY_LOGGED_IN: Final = 0x100
CKR_USER_NOT_LOGGED_IN: Final = 0x101
CKR_USER_PIN_NOT_INITIALIZED: Final = 0x102


class CK_VERSION(ctypes.Structure):
    _fields_ = (("major", ctypes.c_ubyte), ("minor", ctypes.c_ubyte))


class CK_INFO(ctypes.Structure):
    _fields_ = (
        ("cryptokiVersion", CK_VERSION),
        ("manufacturerID", ctypes.c_ubyte * 32),
        ("flags", CK_FLAGS),
        ("libraryDescription", ctypes.c_ubyte * 32),
        ("libraryVersion", CK_VERSION),
    )


class CK_SLOT_INFO(ctypes.Structure):
    _fields_ = (
        ("slotDescription", ctypes.c_ubyte * 64),
        ("manufacturerID", ctypes.c_ubyte * 32),
        ("flags", CK_FLAGS),
        ("hardwareVersion", CK_VERSION),
        ("firmwareVersion", CK_VERSION),
    )


class CK_TOKEN_INFO(ctypes.Structure):
    _fields_ = (
        ("label", ctypes.c_ubyte * 32),
        ("manufacturerID", ctypes.c_ubyte * 32),
        ("model", ctypes.c_ubyte * 16),
        ("serialNumber", ctypes.c_ubyte * 16),
        ("flags", CK_FLAGS),
        ("ulMaxSessionCount", CK_ULONG),
        ("ulSessionCount", CK_ULONG),
        ("ulMaxRwSessionCount", CK_ULONG),
        ("ulRwSessionCount", CK_ULONG),
        ("ulMaxPinLen", CK_ULONG),
        ("ulMinPinLen", CK_ULONG),
        ("ulTotalPublicMemory", CK_ULONG),
        ("ulFreePublicMemory", CK_ULONG),
        ("ulTotalPrivateMemory", CK_ULONG),
        ("ulFreePrivateMemory", CK_ULONG),
        ("hardwareVersion", CK_VERSION),
        ("firmwareVersion", CK_VERSION),
        ("utcTime", ctypes.c_ubyte * 16),
    )


class CK_SESSION_INFO(ctypes.Structure):
    _fields_ = (
        ("slotID", CK_SLOT_ID),
        ("state", CK_ULONG),
        ("flags", CK_FLAGS),
        ("ulDeviceError", CK_ULONG),
    )


class CK_ATTRIBUTE(ctypes.Structure):
    _fields_ = (
        ("type", CK_ATTRIBUTE_TYPE),
        ("pValue", ctypes.c_void_p),
        ("ulValueLen", CK_ULONG),
    )


_F = ctypes.CFUNCTYPE
_P = ctypes.POINTER

#: The inspection functions, by their index in CK_FUNCTION_LIST (after the version).
INSPECTION_FUNCTIONS: Final[dict[int, tuple[str, Any]]] = {
    0: ("C_Initialize", _F(CK_RV, ctypes.c_void_p)),
    1: ("C_Finalize", _F(CK_RV, ctypes.c_void_p)),
    2: ("C_GetInfo", _F(CK_RV, _P(CK_INFO))),
    4: ("C_GetSlotList", _F(CK_RV, CK_BBOOL, _P(CK_SLOT_ID), _P(CK_ULONG))),
    5: ("C_GetSlotInfo", _F(CK_RV, CK_SLOT_ID, _P(CK_SLOT_INFO))),
    6: ("C_GetTokenInfo", _F(CK_RV, CK_SLOT_ID, _P(CK_TOKEN_INFO))),
    12: (
        "C_OpenSession",
        _F(CK_RV, CK_SLOT_ID, CK_FLAGS, ctypes.c_void_p, ctypes.c_void_p, _P(CK_SESSION_HANDLE)),
    ),
    13: ("C_CloseSession", _F(CK_RV, CK_SESSION_HANDLE)),
    # Whether the session is still alive at the end of a read (a token pulled out).
    15: ("C_GetSessionInfo", _F(CK_RV, CK_SESSION_HANDLE, _P(CK_SESSION_INFO))),
    24: (
        "C_GetAttributeValue",
        _F(CK_RV, CK_SESSION_HANDLE, CK_OBJECT_HANDLE, _P(CK_ATTRIBUTE), CK_ULONG),
    ),
    26: ("C_FindObjectsInit", _F(CK_RV, CK_SESSION_HANDLE, _P(CK_ATTRIBUTE), CK_ULONG)),
    27: (
        "C_FindObjects",
        _F(CK_RV, CK_SESSION_HANDLE, _P(CK_OBJECT_HANDLE), CK_ULONG, _P(CK_ULONG)),
    ),
    28: ("C_FindObjectsFinal", _F(CK_RV, CK_SESSION_HANDLE)),
    # Read-only: which slot saw a token come or go (``ukeytool watch``).
    67: ("C_WaitForSlotEvent", _F(CK_RV, CK_FLAGS, _P(CK_SLOT_ID), ctypes.c_void_p)),
}

#: The opt-in login: named so the user-requested login can call them, nothing else.
#: C_Login takes a CK_CHAR pointer that is NULL for a protected authentication path.
LOGIN_FUNCTIONS: Final[dict[int, tuple[str, Any]]] = {
    18: (
        "C_Login",
        _F(CK_RV, CK_SESSION_HANDLE, CK_ULONG, ctypes.c_void_p, CK_ULONG),
    ),
    19: ("C_Logout", _F(CK_RV, CK_SESSION_HANDLE)),
}

#: CK_FUNCTION_LIST of PKCS#11 2.x has 68 entries; the rest stay anonymous.
_FUNCTION_COUNT: Final = 68


def _function_list_fields() -> list[tuple[str, Any]]:
    fields: list[tuple[str, Any]] = [("version", CK_VERSION)]
    for i in range(_FUNCTION_COUNT):
        named = INSPECTION_FUNCTIONS.get(i) or LOGIN_FUNCTIONS.get(i)
        fields.append(named or (f"_entry_{i}", ctypes.c_void_p))
    return fields


class CK_FUNCTION_LIST(ctypes.Structure):
    _fields_ = _function_list_fields()


SLOT_FLAGS: Final[dict[int, str]] = {
    0x1: "CKF_TOKEN_PRESENT",
    0x2: "CKF_REMOVABLE_DEVICE",
    0x4: "CKF_HW_SLOT",
}

TOKEN_FLAGS: Final[dict[int, str]] = {
    0x1: "CKF_RNG",
    0x2: "CKF_WRITE_PROTECTED",
    0x4: "CKF_LOGIN_REQUIRED",
    0x8: "CKF_USER_PIN_INITIALIZED",
    0x20: "CKF_RESTORE_KEY_NOT_NEEDED",
    0x40: "CKF_CLOCK_ON_TOKEN",
    0x100: "CKF_PROTECTED_AUTHENTICATION_PATH",
    0x200: "CKF_DUAL_CRYPTO_OPERATIONS",
    0x400: "CKF_TOKEN_INITIALIZED",
    0x800: "CKF_SECONDARY_AUTHENTICATION",
    0x10000: "CKF_USER_PIN_COUNT_LOW",
    0x20000: "CKF_USER_PIN_FINAL_TRY",
    0x40000: "CKF_USER_PIN_LOCKED",
    0x80000: "CKF_USER_PIN_TO_BE_CHANGED",
    0x100000: "CKF_SO_PIN_COUNT_LOW",
    0x200000: "CKF_SO_PIN_FINAL_TRY",
    0x400000: "CKF_SO_PIN_LOCKED",
    0x800000: "CKF_SO_PIN_TO_BE_CHANGED",
    0x1000000: "CKF_ERROR_STATE",
}


def flag_names(flags: int, table: dict[int, str]) -> tuple[tuple[str, ...], int]:
    """The names of the known bits set in ``flags``, and the unknown bits left over."""
    names = tuple(name for bit, name in table.items() if flags & bit)
    known = 0
    for bit in table:
        known |= bit
    return names, flags & ~known


def ckr_name(code: int) -> str:
    """The name of a CK_RV: ``CKR_PIN_LOCKED``, ``CKR_VENDOR_DEFINED+0x5``, ``CKR_0x1234``."""
    if code in CKR_NAMES:
        return CKR_NAMES[code]
    if code >= CKR_VENDOR_DEFINED:
        return f"CKR_VENDOR_DEFINED+0x{code - CKR_VENDOR_DEFINED:X}"
    return f"CKR_0x{code:X}"


CKR_NAMES: Final[dict[int, str]] = {
    0x0: "CKR_OK",
    0x1: "CKR_CANCEL",
    0x2: "CKR_HOST_MEMORY",
    0x3: "CKR_SLOT_ID_INVALID",
    0x5: "CKR_GENERAL_ERROR",
    0x6: "CKR_FUNCTION_FAILED",
    0x7: "CKR_ARGUMENTS_BAD",
    0x8: "CKR_NO_EVENT",
    0x9: "CKR_NEED_TO_CREATE_THREADS",
    0xA: "CKR_CANT_LOCK",
    0x10: "CKR_ATTRIBUTE_READ_ONLY",
    0x11: "CKR_ATTRIBUTE_SENSITIVE",
    0x12: "CKR_ATTRIBUTE_TYPE_INVALID",
    0x13: "CKR_ATTRIBUTE_VALUE_INVALID",
    0x1B: "CKR_ACTION_PROHIBITED",
    0x20: "CKR_DATA_INVALID",
    0x21: "CKR_DATA_LEN_RANGE",
    0x30: "CKR_DEVICE_ERROR",
    0x31: "CKR_DEVICE_MEMORY",
    0x32: "CKR_DEVICE_REMOVED",
    0x40: "CKR_ENCRYPTED_DATA_INVALID",
    0x41: "CKR_ENCRYPTED_DATA_LEN_RANGE",
    0x50: "CKR_FUNCTION_CANCELED",
    0x51: "CKR_FUNCTION_NOT_PARALLEL",
    0x54: "CKR_FUNCTION_NOT_SUPPORTED",
    0x60: "CKR_KEY_HANDLE_INVALID",
    0x62: "CKR_KEY_SIZE_RANGE",
    0x63: "CKR_KEY_TYPE_INCONSISTENT",
    0x64: "CKR_KEY_NOT_NEEDED",
    0x65: "CKR_KEY_CHANGED",
    0x66: "CKR_KEY_NEEDED",
    0x67: "CKR_KEY_INDIGESTIBLE",
    0x68: "CKR_KEY_FUNCTION_NOT_PERMITTED",
    0x69: "CKR_KEY_NOT_WRAPPABLE",
    0x6A: "CKR_KEY_UNEXTRACTABLE",
    0x70: "CKR_MECHANISM_INVALID",
    0x71: "CKR_MECHANISM_PARAM_INVALID",
    0x82: "CKR_OBJECT_HANDLE_INVALID",
    0x90: "CKR_OPERATION_ACTIVE",
    0x91: "CKR_OPERATION_NOT_INITIALIZED",
    0xA0: "CKR_PIN_INCORRECT",
    0xA1: "CKR_PIN_INVALID",
    0xA2: "CKR_PIN_LEN_RANGE",
    0xA3: "CKR_PIN_EXPIRED",
    0xA4: "CKR_PIN_LOCKED",
    0xB0: "CKR_SESSION_CLOSED",
    0xB1: "CKR_SESSION_COUNT",
    0xB3: "CKR_SESSION_HANDLE_INVALID",
    0xB4: "CKR_SESSION_PARALLEL_NOT_SUPPORTED",
    0xB5: "CKR_SESSION_READ_ONLY",
    0xB6: "CKR_SESSION_EXISTS",
    0xB7: "CKR_SESSION_READ_ONLY_EXISTS",
    0xB8: "CKR_SESSION_READ_WRITE_SO_EXISTS",
    0xC0: "CKR_SIGNATURE_INVALID",
    0xC1: "CKR_SIGNATURE_LEN_RANGE",
    0xD0: "CKR_TEMPLATE_INCOMPLETE",
    0xD1: "CKR_TEMPLATE_INCONSISTENT",
    0xE0: "CKR_TOKEN_NOT_PRESENT",
    0xE1: "CKR_TOKEN_NOT_RECOGNIZED",
    0xE2: "CKR_TOKEN_WRITE_PROTECTED",
    0xF0: "CKR_UNWRAPPING_KEY_HANDLE_INVALID",
    0xF1: "CKR_UNWRAPPING_KEY_SIZE_RANGE",
    0xF2: "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT",
    0x100: "CKR_USER_ALREADY_LOGGED_IN",
    0x101: "CKR_USER_NOT_LOGGED_IN",
    0x102: "CKR_USER_PIN_NOT_INITIALIZED",
    0x103: "CKR_USER_TYPE_INVALID",
    0x104: "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
    0x105: "CKR_USER_TOO_MANY_TYPES",
    0x110: "CKR_WRAPPED_KEY_INVALID",
    0x112: "CKR_WRAPPED_KEY_LEN_RANGE",
    0x113: "CKR_WRAPPING_KEY_HANDLE_INVALID",
    0x114: "CKR_WRAPPING_KEY_SIZE_RANGE",
    0x115: "CKR_WRAPPING_KEY_TYPE_INCONSISTENT",
    0x120: "CKR_RANDOM_SEED_NOT_SUPPORTED",
    0x121: "CKR_RANDOM_NO_RNG",
    0x130: "CKR_DOMAIN_PARAMS_INVALID",
    0x140: "CKR_CURVE_NOT_SUPPORTED",
    0x150: "CKR_BUFFER_TOO_SMALL",
    0x160: "CKR_SAVED_STATE_INVALID",
    0x170: "CKR_INFORMATION_SENSITIVE",
    0x180: "CKR_STATE_UNSAVEABLE",
    0x190: "CKR_CRYPTOKI_NOT_INITIALIZED",
    0x191: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
    0x1A0: "CKR_MUTEX_BAD",
    0x1A1: "CKR_MUTEX_NOT_LOCKED",
    0x1B0: "CKR_NEW_PIN_MODE",
    0x1B1: "CKR_NEXT_OTP",
    0x1C0: "CKR_EXCEEDED_MAX_ITERATIONS",
    0x1C1: "CKR_FIPS_SELF_TEST_FAILED",
    0x1C2: "CKR_LIBRARY_LOAD_FAILED",
    0x1C3: "CKR_PIN_TOO_WEAK",
    0x1C4: "CKR_PUBLIC_KEY_INVALID",
    0x1C5: "CKR_OPERATION_CANCEL_FAILED",
    0x1C6: "CKR_TOKEN_RESOURCE_EXCEEDED",
    0x1C7: "CKR_OPERATION_PENDING",
    0x200: "CKR_FUNCTION_REJECTED",
}
