"""The ``pkcs11:`` URIs of what a token holds: the token's own and its certificates',
built from what was read (:class:`~ukeytool.TokenInfo`, :class:`~ukeytool.CertificateEntry`)
with the attributes p11tool writes, so that ``p11tool`` and ukeytool find the same
objects by them. The URI value, its syntax and its matching are :mod:`.uri`'s."""

from __future__ import annotations

from ..model import _value
from .uri import SCHEME, Pkcs11Uri, format_uri, percent_encode

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..model import CertificateEntry, ModuleInfo, TokenInfo

__all__ = ["certificate_uri", "certificate_uri_text", "token_uri"]


def token_uri(token: TokenInfo, module: ModuleInfo | None = None) -> Pkcs11Uri:
    """The URI of ``token``: model, manufacturer, serial and label (``token``).

    With ``module``, ``library-description`` and ``library-manufacturer`` too (as
    ``p11tool --detailed-url`` prints them; the version is left out so the URI survives a
    module update). Empty fields are kept (``serial=``): they match only an empty field.
    """
    return Pkcs11Uri(
        token=token.label.raw,
        manufacturer=token.manufacturer.raw,
        model=token.model.raw,
        serial=token.serial.raw,
        library_description=None if module is None else module.description.raw,
        library_manufacturer=None if module is None else module.manufacturer.raw,
    )


def certificate_uri(
    token: TokenInfo | None, entry: CertificateEntry, module: ModuleInfo | None = None
) -> Pkcs11Uri:
    """The URI of a certificate object: its token's attributes, ``id``, ``object``,
    ``type=cert``.

    An empty or absent CKA_ID or CKA_LABEL is left out, as p11tool does. Without ``token``
    (its information could not be read) the URI has the object attributes only.
    """
    return _value.replace(
        _token_part(token, module)[0],
        id=entry.id or None,
        object=None if entry.label is None or not entry.label.raw else entry.label.raw,
        type="cert",
    )


def certificate_uri_text(
    token: TokenInfo | None, entry: CertificateEntry, module: ModuleInfo | None = None
) -> str:
    """``str(certificate_uri(token, entry, module))``, made without a
    :class:`Pkcs11Uri`: the token's part is built, checked and written once per token
    (the listings write one URI per certificate), the object's attributes added to it."""
    text = _token_part(token, module)[1]
    if entry.id:
        text += "id=" + percent_encode(entry.id, every_byte=True) + ";"
    if entry.label is not None and entry.label.raw:
        text += "object=" + percent_encode(entry.label.raw) + ";"
    return text + "type=cert"


_LAST_TOKEN: list[tuple[TokenInfo | None, ModuleInfo | None, Pkcs11Uri, str]] = []
"""The token part last made (:func:`_token_part`): the certificates of a token come
one after the other."""


def _token_part(token: TokenInfo | None, module: ModuleInfo | None) -> tuple[Pkcs11Uri, str]:
    """The URI of ``token``'s certificates without the object's attributes, and its text
    followed by ``;`` (or ``pkcs11:`` alone when it has no attribute)."""
    last = _LAST_TOKEN[-1] if _LAST_TOKEN else None
    if last is not None and last[0] is token and last[1] is module:
        return last[2], last[3]
    if token is not None:
        base = token_uri(token, module)
    elif module is not None:
        base = Pkcs11Uri(
            library_description=module.description.raw,
            library_manufacturer=module.manufacturer.raw,
        )
    else:
        base = Pkcs11Uri()
    text = format_uri(base)
    if text != f"{SCHEME}:":
        text += ";"
    # Identity: the same (frozen) objects give the same part; kept alive by the cache.
    _LAST_TOKEN[:] = [(token, module, base, text)]
    return base, text
