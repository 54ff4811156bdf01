"""Module files are checked before anything is loaded; each mistake has its own error.

The odd modules are real files built at test time with the machine's C compiler.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import ukeytool
from ukeytool import (
    MissingDependency,
    ModuleNotFound,
    NotAPkcs11Module,
    NotASharedLibrary,
    UsageError,
    WrongArchitecture,
)
from ukeytool.pkcs11.cryptoki import CKR_NAMES, ckr_name
from ukeytool.pkcs11.loading import _registry, check_module_file, code_of_pkcs11_exception

needs_cc = pytest.mark.skipif(
    shutil.which("cc") is None and not os.environ.get("CI"), reason="no C compiler"
)


def build_so(tmp_path: Path, name: str, source: str, *extra: str) -> Path:
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    out = tmp_path / f"lib{name}.so"
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", str(out), str(src), *extra],
        check=True,
        capture_output=True,
    )
    return out


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.so")
    with pytest.raises(ModuleNotFound, match="module not found") as info:
        check_module_file(path)
    assert info.value.path == path


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModuleNotFound) as info:
        check_module_file("libvendor.so")
    assert str(tmp_path / "libvendor.so") in str(info.value)


@pytest.mark.parametrize("bad", ["", "/usr/lib/libx.so\x00/etc/passwd"])
def test_empty_or_nul_path(bad: str) -> None:
    with pytest.raises(UsageError):
        check_module_file(bad)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(NotASharedLibrary, match="is a directory"):
        check_module_file(str(tmp_path))


def test_text_file(tmp_path: Path) -> None:
    f = tmp_path / "module.so"
    f.write_text("#!/bin/sh\necho hello\n")
    with pytest.raises(NotASharedLibrary, match="not a shared library"):
        check_module_file(str(f))


def _elf_header(bits: int, machine: int, e_type: int = 3) -> bytes:
    head = bytearray(64)
    head[:4] = b"\x7fELF"
    head[4] = 1 if bits == 32 else 2
    head[5] = 1  # little endian
    head[6] = 1
    head[16:18] = e_type.to_bytes(2, "little")
    head[18:20] = machine.to_bytes(2, "little")
    return bytes(head)


@pytest.mark.parametrize(
    ("bits", "machine", "described"),
    [(32, 0x03, "32-bit x86"), (64, 0xB7, "64-bit arm64"), (32, 0x28, "32-bit ARM")],
)
def test_wrong_architecture(tmp_path: Path, bits: int, machine: int, described: str) -> None:
    f = tmp_path / "libforeign.so"
    f.write_bytes(_elf_header(bits, machine))
    if (bits, machine) == (64, 0xB7) and os.uname().machine == "aarch64":
        pytest.skip("this machine is arm64")
    with pytest.raises(WrongArchitecture) as info:
        check_module_file(str(f))
    assert info.value.module_arch == described
    assert f"is {described} and Python is 64-bit" in str(info.value)


def test_executable_is_not_a_library(tmp_path: Path) -> None:
    f = tmp_path / "prog"
    f.write_bytes(_elf_header(64, 0x3E, e_type=2))
    with pytest.raises(NotASharedLibrary, match="executable"):
        check_module_file(str(f))


@needs_cc
def test_shared_library_without_c_getfunctionlist(tmp_path: Path) -> None:
    lib = build_so(tmp_path, "plain", "int answer(void) { return 42; }\n")
    with pytest.raises(NotAPkcs11Module, match="no C_GetFunctionList"):
        ukeytool.inspect(str(lib))


@needs_cc
def test_missing_dependency_is_named(tmp_path: Path) -> None:
    dep = build_so(tmp_path, "vendordep", "int helper(void) { return 1; }\n")
    module = build_so(
        tmp_path,
        "vendorp11",
        "int helper(void);\nint C_GetFunctionList(void **p) { return helper(); }\n",
        f"-L{tmp_path}",
        "-lvendordep",
    )
    dep.unlink()
    with pytest.raises(MissingDependency) as info:
        ukeytool.inspect(str(module))
    assert info.value.dependency == "libvendordep.so"
    assert "libvendordep.so" in str(info.value)
    assert "not installed" in str(info.value)


# python-pkcs11's own conditions, not CKR codes
OWN_CONDITIONS = {
    "PKCS11Error",
    "NoSuchKey",
    "NoSuchToken",
    "MultipleObjectsReturned",
    "MultipleTokensReturned",
}


def test_every_pkcs11_exception_maps_back_to_its_code() -> None:
    import pkcs11.exceptions as ex

    for name in dir(ex):
        cls = getattr(ex, name)
        if not isinstance(cls, type) or not issubclass(cls, ex.PKCS11Error):
            continue
        if name in OWN_CONDITIONS:
            continue
        code = code_of_pkcs11_exception(cls())
        assert code in CKR_NAMES, name
        assert code != 0x5 or name == "GeneralError", name
    unmapped = ex.PKCS11Error("Unmapped error code 0x80000005")
    assert ckr_name(code_of_pkcs11_exception(unmapped)) == "CKR_VENDOR_DEFINED+0x5"


def test_ckr_names() -> None:
    assert ckr_name(0) == "CKR_OK"
    assert ckr_name(0xA4) == "CKR_PIN_LOCKED"
    assert ckr_name(0x80000001) == "CKR_VENDOR_DEFINED+0x1"
    assert ckr_name(0x7777) == "CKR_0x7777"


@pytest.mark.softhsm
def test_same_file_under_two_spellings_is_loaded_once(softhsm_module: str, tmp_path: Path) -> None:
    link = tmp_path / "vendor.so"
    link.symlink_to(softhsm_module)
    dotted = os.path.join(
        os.path.dirname(softhsm_module),
        "..",
        os.path.basename(os.path.dirname(softhsm_module)),
        os.path.basename(softhsm_module),
    )
    with ukeytool.open_module(softhsm_module) as a, ukeytool.open_module(str(link)) as b:
        with ukeytool.open_module(dotted) as c:
            assert len(_registry) == 1
            assert a.info.real_path == b.info.real_path == c.info.real_path
            assert b.info.path == str(link)
            assert a.slot_ids()[0] == b.slot_ids()[0]
        # closing one user does not finalise the module under the others
        assert a.slot_ids()[0]
    assert not _registry


@pytest.mark.softhsm
def test_module_initialised_by_someone_else_is_used(softhsm_module: str) -> None:
    # Initialise SoftHSM behind ukeytool's back, as p11-kit-proxy or another library would.
    lib = ctypes.CDLL(softhsm_module)
    fl = ctypes.c_void_p()
    assert lib.C_GetFunctionList(ctypes.byref(fl)) == 0
    fns = ctypes.cast(fl, ctypes.POINTER(ctypes.c_void_p * 3)).contents
    c_initialize = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_void_p)(fns[1])
    c_finalize = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_void_p)(fns[2])
    assert c_initialize(None) == 0
    try:
        with ukeytool.open_module(softhsm_module) as module:
            assert module.slot_ids()[0]
        # ukeytool did not own the initialisation, so it did not finalise: still usable
        assert c_finalize(None) == 0
    finally:
        c_finalize(None)
