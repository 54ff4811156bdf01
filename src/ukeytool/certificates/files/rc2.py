"""RC2 (RFC 2268), decryption only.

Legacy exports (openssl pkcs12 -legacy, OpenSSL 1.x and GmSSL 2.x defaults, Windows)
encrypt the certificates with 40-bit RC2, which cryptography does not offer. What it
decrypts is certificates, public data, and the MAC has already vouched for the password.
"""

from __future__ import annotations

from ...i18n.message import template
from ..reasons import Unreadable

__all__ = ["NOT_WHOLE_BLOCKS", "rc2_cbc_decrypt", "rc2_decrypt_block", "rc2_key_schedule"]

NOT_WHOLE_BLOCKS = template(
    "file.pkcs12_rc2_blocks", "could not be decrypted: not a whole number of RC2 blocks"
)

_PITABLE = bytes.fromhex(
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2"
    "179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82"
    "54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626"
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7"
    "08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec"
    "c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731"
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9"
    "0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad"
)


def rc2_key_schedule(key: bytes, bits: int) -> list[int]:
    table = bytearray(128)
    table[: len(key)] = key
    for i in range(len(key), 128):
        table[i] = _PITABLE[(table[i - 1] + table[i - len(key)]) & 0xFF]
    t8 = (bits + 7) // 8
    table[128 - t8] = _PITABLE[table[128 - t8] & (0xFF >> (8 * t8 - bits))]
    for i in range(127 - t8, -1, -1):
        table[i] = _PITABLE[table[i + 1] ^ table[i + t8]]
    return [table[2 * i] | table[2 * i + 1] << 8 for i in range(64)]


def rc2_decrypt_block(k: list[int], block: bytes) -> bytes:
    r = [int.from_bytes(block[i : i + 2], "little") for i in range(0, 8, 2)]
    j = 63
    for round_ in range(16):
        if round_ in (5, 11):  # the two r-mashing rounds, undone
            for i in (3, 2, 1, 0):
                r[i] = (r[i] - k[r[i - 1] & 63]) & 0xFFFF
        for i, shift in ((3, 5), (2, 3), (1, 2), (0, 1)):  # an r-mixing round, undone
            r[i] = ((r[i] >> shift) | (r[i] << (16 - shift))) & 0xFFFF
            r[i] = (r[i] - k[j] - (r[i - 1] & r[i - 2]) - (~r[i - 1] & r[i - 3])) & 0xFFFF
            j -= 1
    return b"".join(word.to_bytes(2, "little") for word in r)


def rc2_cbc_decrypt(key: bytes, bits: int, iv: bytes, data: bytes) -> bytes:
    if len(data) % 8:
        raise Unreadable(NOT_WHOLE_BLOCKS())
    schedule = rc2_key_schedule(key, bits)
    out = bytearray()
    previous = iv
    for i in range(0, len(data), 8):
        block = data[i : i + 8]
        plain = rc2_decrypt_block(schedule, block)
        out += bytes(a ^ b for a, b in zip(plain, previous, strict=True))
        previous = block
    return bytes(out)
