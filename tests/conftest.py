"""Fixtures shared by the test suite.

Time: ``now`` is :data:`FIXED_NOW`. Certificates are minted at fixed offsets from it and
judged at it, never at the clock, so no test starts failing on some future day.

SoftHSM: tests that use ``softhsm``, ``fresh_softhsm``, ``softhsm_env`` or
``softhsm_module`` must carry ``@pytest.mark.softhsm``. Without SoftHSM2 installed they
skip, except under CI (``$CI`` set), where they fail: CI must install it.

Loading SoftHSM in the test process: SoftHSM reads ``SOFTHSM2_CONF`` at
``C_Initialize``. Request ``softhsm_env`` (it points ``SOFTHSM2_CONF`` at the session
store for the test) before opening ``softhsm.module_path`` in-process; without it SoftHSM
falls back to the system configuration and token directory. A module initialised before a
token was added does not see that token until it is finalised and initialised again.

Stores: ``softhsm`` is one store for the whole session, so tokens accumulate in it:
select tokens by the serial :meth:`~ukeytool.testing.softhsm.SoftHSMStore.add_token`
returns (never by slot index or count). ``fresh_softhsm`` is an empty store for one test,
for tests that count slots or tokens.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

from ukeytool.testing.certs import Minted, mint
from ukeytool.testing.softhsm import SoftHSMNotFound, SoftHSMStore, find_softhsm_module

FIXED_NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
"""The moment every test judges validity at."""


@pytest.fixture
def now() -> datetime.datetime:
    """:data:`FIXED_NOW`: the moment to mint certificates around and judge them at."""
    return FIXED_NOW


def _softhsm_missing(exc: SoftHSMNotFound) -> NoReturn:
    # A CI run that silently skipped every token test would prove nothing.
    if os.environ.get("CI"):
        pytest.fail(f"SoftHSM2 is required under CI: {exc}")
    pytest.skip(str(exc))


def _new_store(directory: Path) -> SoftHSMStore:
    try:
        return SoftHSMStore(directory)
    except SoftHSMNotFound as exc:
        _softhsm_missing(exc)


@pytest.fixture(scope="session")
def softhsm_module() -> str:
    """Path of the SoftHSM2 PKCS#11 module, as the one spelling to use in this process."""
    try:
        return str(find_softhsm_module())
    except SoftHSMNotFound as exc:
        _softhsm_missing(exc)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHSMStore:
    """A SoftHSM store for the whole session, in a temporary directory (mark: softhsm)."""
    return _new_store(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture
def fresh_softhsm(tmp_path: Path) -> SoftHSMStore:
    """An empty SoftHSM store for this test only (mark: softhsm)."""
    return _new_store(tmp_path / "softhsm")


@pytest.fixture
def softhsm_env(softhsm: SoftHSMStore, monkeypatch: pytest.MonkeyPatch) -> SoftHSMStore:
    """The session store, with ``SOFTHSM2_CONF`` pointing at it for this test.

    Needed by any test that loads SoftHSM in its own process; children started with
    :meth:`~ukeytool.testing.softhsm.SoftHSMStore.subprocess_env` do not need it.
    """
    for name, value in softhsm.env.items():
        monkeypatch.setenv(name, value)
    return softhsm


@pytest.fixture(scope="session")
def mint_cached() -> Callable[..., Minted]:
    """:func:`~ukeytool.testing.certs.mint` remembered for the session, by its arguments.

    Key generation (RSA, and SM2 through the openssl command) dominates minting time;
    tests that only need *a* certificate of some shape share one. The result is frozen,
    so sharing is safe; tests that need distinct keys call ``mint`` itself.
    """
    cache: dict[tuple[tuple[str, Any], ...], Minted] = {}

    def cached(**kwargs: Any) -> Minted:
        key = tuple(sorted(kwargs.items()))
        if key not in cache:
            cache[key] = mint(**kwargs)
        return cache[key]

    return cached
