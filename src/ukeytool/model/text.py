"""Text that comes from a token or a certificate as bytes, kept with its bytes.

Token labels, manufacturer and model strings and object labels are meant to be UTF-8;
Chinese modules often put GBK there instead. Certificate names say which string type
each value is (UTF8String, BMPString, PrintableString...), and Chinese CAs' older
software wrote GBK into UTF8Strings, PrintableStrings and TeletexStrings anyway.

:func:`decode_text` is the single place that turns such bytes into a :class:`Text`,
for token strings, object labels and name attributes alike: strictly as what the bytes
claim to be (UTF-8 for PKCS#11 strings; the string type for a certificate's), otherwise
UTF-8 and then GB18030 (a superset of GBK), marked as a guess; the bytes are always kept,
so nothing is lost and a label can be matched on its raw value.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import re
import unicodedata

__all__ = ["STRING_TYPES", "Text", "candidates", "decode_text", "escape_control", "needs_escape"]

STRING_TYPES: dict[int, str] = {
    0x0C: "UTF8String",
    0x12: "NumericString",
    0x13: "PrintableString",
    0x14: "TeletexString",
    0x15: "VideotexString",
    0x16: "IA5String",
    0x19: "GraphicString",
    0x1A: "VisibleString",
    0x1B: "GeneralString",
    0x1C: "UniversalString",
    0x1E: "BMPString",
}
"""The ASN.1 string types, by universal tag, that :func:`decode_text` knows."""

# What each string type holds when it is what it claims to be. The ASCII-based types are
# read as ASCII without policing their exact repertoire (PrintableString has no "@", yet
# CFCA's names use it): a wrong character is not a wrong encoding. TeletexString is T.61
# in theory and ASCII or GBK in the certificates that matter here.
_STRICT_CODECS = {0x0C: "utf-8", 0x1C: "utf-32-be", 0x1E: "utf-16-be"}


@dataclasses.dataclass(frozen=True)
class Text:
    """A string read as bytes, with how it was decoded."""

    raw: bytes
    """The bytes exactly as read (for CK_TOKEN_INFO and CK_SLOT_INFO fields: without the
    trailing blanks, NUL bytes kept, as RFC 7512 URIs and p11tool take them)."""
    value: str
    """The decoded text."""
    encoding: str
    """How :attr:`value` was decoded: ``"utf-8"``, ``"gb18030"`` or ``"unknown"``
    (neither worked; undecodable bytes appear as ``\\xNN`` escapes); for name attributes
    also ``"ascii"`` (PrintableString, IA5String...), ``"utf-16-be"`` (BMPString) and
    ``"utf-32-be"`` (UniversalString)."""
    guessed: bool
    """True when the bytes are not what they claim to be (UTF-8 for token strings and
    labels, the string type for name attributes) and the encoding is a guess."""

    @property
    def hex(self) -> str:
        """The raw bytes as lowercase hex."""
        return self.raw.hex()

    def __str__(self) -> str:
        return self.value


def decode_text(raw: bytes, *, strip_padding: bool = False, string_type: int | None = None) -> Text:
    """Decode bytes from a token or certificate into a :class:`Text`.

    With ``strip_padding`` the bytes are a CK_TOKEN_INFO or CK_SLOT_INFO field, padded to
    a fixed width with blanks (some modules, tpm2-pkcs11 for one, pad with NUL bytes):
    :attr:`Text.raw` drops the trailing blanks only, as RFC 7512 and p11tool do, so that a
    URI built from it names the token as p11tool does; the text is decoded without the
    trailing blanks and NUL bytes (``b"SW   TPM"`` followed by eight NUL bytes: the
    value ``"SW   TPM"``, the raw bytes all sixteen).

    ``string_type`` is the ASN.1 universal tag of a string in a certificate (``0x0C``
    UTF8String, ``0x13`` PrintableString, ``0x14`` TeletexString, ``0x1E`` BMPString,
    ``0x1C`` UniversalString...); the bytes are decoded strictly as that type first
    (UTF8String as UTF-8, BMPString as UTF-16, UniversalString as UTF-32, the others as
    ASCII). Without it they are meant to be UTF-8, as PKCS#11 strings are. When the
    strict reading fails: UTF-8, then GB18030, both marked as guesses; when nothing
    works, ``"unknown"`` with the undecodable bytes as ``\\xNN`` escapes.
    """
    if strip_padding:
        raw = raw.rstrip(b" ")
        text = _decode(raw.rstrip(b" \x00"), string_type)
        return dataclasses.replace(text, raw=raw)
    return _decode(raw, string_type)


def _decode(raw: bytes, string_type: int | None) -> Text:
    strict = "utf-8" if string_type is None else _STRICT_CODECS.get(string_type, "ascii")
    try:
        return Text(raw, raw.decode(strict), strict, False)
    except UnicodeDecodeError:
        pass
    if strict != "utf-8":
        try:
            return Text(raw, raw.decode("utf-8"), "utf-8", True)
        except UnicodeDecodeError:
            pass
    try:
        return Text(raw, raw.decode("gb18030"), "gb18030", True)
    except UnicodeDecodeError:
        pass
    return Text(raw, raw.decode("utf-8", "backslashreplace"), "unknown", True)


def escape_control(value: str, *, lines: bool = False, color: bool = False) -> str:
    """``value`` as ukeytool writes it to a terminal or a log: every character that could
    steer a terminal or forge a line shown as a backslash escape.

    Escaped: Unicode's control, format, surrogate, private-use and unassigned characters
    (categories ``C*``: C0 and C1 controls, ESC, BEL, bidi overrides such as U+202E, the
    BOM...) and the line and paragraph separators U+2028 and U+2029, which some
    terminals and editors take for line breaks. ``\x1b``, ``\u202e``, ``\U000e0001``
    are Python's escapes; a byte that was not valid UTF-8 in a file name (decoded by
    the operating system as a lone surrogate) is shown as that byte, ``\xff``.
    Already escaped text is unchanged, so a value may go through this more than once.

    With ``lines``, newlines are kept (``value`` is several lines); with ``color``, the
    colour sequences ukeytool writes itself (SGR, ``ESC [ ... m``) are kept.

    It is the one function for every line ukeytool writes to standard output or
    standard error; JSON documents escape the same characters
    (:func:`ukeytool.rendering.json_values.escape_nonprinting`). The text is scanned by
    a regular expression for the rare characters that need a look; only those are
    looked up, one at a time."""
    if (value if not lines else value.replace("\n", "")).isprintable():
        # The usual case: nothing to look at (printable: no category C*, Zl or Zp).
        return value
    return candidates(lines, color).sub(_text_escape, value)


# Characters that are printable in every Unicode version Python 3.10 and later know, so
# that the pattern below passes over them without looking them up: printable ASCII and
# Latin-1, Latin Extended A and B, CJK punctuation, the CJK Unified Ideographs (to
# U+9FEF, Unicode 11), Hangul syllables and the fullwidth ASCII forms.
# tests/test_escape.py checks each of them on the running Python.
SURELY_PRINTABLE = (
    r"\x20-\x7e\u00a1-\u00ac\u00ae-\u024f\u3001-\u303f\u4e00-\u9fef"
    r"\uac00-\ud7a3\uff01-\uff5e"
)
_SGR = r"\x1b\[[0-9;]*m"
_PATTERNS: dict[tuple[bool, bool], re.Pattern[str]] = {}


def candidates(lines: bool, color: bool) -> re.Pattern[str]:
    """Matches each character that needs a look (and, with ``color``, each colour
    sequence as a whole); with ``lines`` not newlines."""
    key = (lines, color)
    if key not in _PATTERNS:
        newline = r"\n" if lines else ""
        candidate = f"[^{SURELY_PRINTABLE}{newline}]"
        _PATTERNS[key] = re.compile(f"{_SGR}|{candidate}" if color else candidate)
    return _PATTERNS[key]


def needs_escape(ch: str) -> bool:
    """Whether :func:`escape_control` escapes the character ``ch``."""
    return _needs_escape(ch)


@functools.lru_cache(maxsize=4096)
def _needs_escape(ch: str) -> bool:
    return unicodedata.category(ch) in _ESCAPED_CATEGORIES


_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _text_escape(match: re.Match[str]) -> str:
    ch = match.group()
    if len(ch) > 1 or not _needs_escape(ch):
        return ch  # a colour sequence, or a character that is fine
    return _text_escape_char(ch)


@functools.lru_cache(maxsize=4096)
def _text_escape_char(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a byte of a non-UTF-8 file name
    return codecs.encode(ch, "unicode_escape").decode("ascii")
