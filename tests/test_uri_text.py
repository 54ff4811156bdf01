"""A certificate's URI as text (issue 12): the token's part is made once per token, and
the text is exactly that of the :class:`~ukeytool.pkcs11.uri.Pkcs11Uri`."""

from __future__ import annotations

import pytest

from ukeytool.pkcs11 import token_uris as uri_module
from ukeytool.pkcs11.token_uris import certificate_uri, certificate_uri_text
from ukeytool.pkcs11.uri import Pkcs11Uri

from .test_uri import CERTS, MODULE, TOKEN, t, token


def test_the_text_is_the_uri_s() -> None:
    other = token(t("x"), serial="")
    for tok in (TOKEN, None, other, TOKEN):
        for mod in (None, MODULE, None):
            for entry in CERTS:
                assert certificate_uri_text(tok, entry, mod) == str(
                    certificate_uri(tok, entry, mod)
                )


def test_the_token_part_is_made_once_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = uri_module.token_uri

    def counted(*args: object) -> Pkcs11Uri:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(uri_module, "token_uri", counted)
    monkeypatch.setattr(uri_module, "_LAST_TOKEN", [])
    other = token(t("another"))
    for tok in (TOKEN, other):
        for _ in range(50):
            for entry in CERTS:
                certificate_uri_text(tok, entry)
    assert len(calls) == 2
