"""Build the misbehaving PKCS#11 module (``tests/shim/misbehave.c``) and run things against it.

The shim wraps SoftHSM and misbehaves as ``MISBEHAVE`` says (see the C file's header and
``tests/shim/README.md``). Everything that loads it runs in a child process with a
timeout, so a module that hangs or crashes takes down the child, never pytest:

* :func:`run_ukeytool` runs ``python -m ukeytool list-tokens --json`` on the shim and
  returns the exit code, the JSON document, stderr and the shim's log of PKCS#11 calls.
* :func:`run_probe` runs this file as a script: a few raw calls on the shim through
  ctypes (for behaviour ukeytool itself does not exercise yet, such as C_Login).

Run as a script: ``python tests/shim_module.py SHIM [init | login SLOT_INDEX PIN]``
prints, after each call, one JSON line of function name -> its last CK_RV.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ukeytool.testing.softhsm import SoftHSMStore

SOURCE = Path(__file__).resolve().parent / "shim" / "misbehave.c"
HEADER_DIR = Path("/usr/include/p11-kit-1")
#: The source tree's ``src``: children import this copy of ukeytool, installed or not.
SRC = Path(__file__).resolve().parents[1] / "src"
AT = "2030-01-01T00:00:00Z"  # conftest.FIXED_NOW


class ShimUnavailable(Exception):
    """No C compiler or no PKCS#11 header: the shim cannot be built here."""


def build_shim(directory: Path) -> Path:
    """Compile the shim into ``directory``; return the path of ``libmisbehave.so``.

    Raises :class:`ShimUnavailable` when cc or the header is missing (the caller skips,
    or fails under CI) and ``RuntimeError`` when the source does not compile.
    """
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise ShimUnavailable("no C compiler (apt-get install gcc libc6-dev)")
    if not (HEADER_DIR / "p11-kit" / "pkcs11.h").is_file():
        raise ShimUnavailable(f"no {HEADER_DIR}/p11-kit/pkcs11.h (apt-get install libp11-kit-dev)")
    out = directory / "libmisbehave.so"
    command = [cc, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", f"-I{HEADER_DIR}"]
    command += ["-o", str(out), str(SOURCE), "-ldl"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return out


@dataclasses.dataclass(frozen=True)
class Call:
    """One line of the shim's log: ``C_OpenSession slot=1 flags=0x4 rv=0x0 mis=0``."""

    function: str
    fields: Mapping[str, int]

    @property
    def rv(self) -> int | None:
        return self.fields.get("rv")

    @property
    def misbehaved(self) -> bool:
        return bool(self.fields.get("mis"))


@dataclasses.dataclass(frozen=True)
class Run:
    """What one ``ukeytool list-tokens --json`` child did."""

    returncode: int
    document: dict[str, Any] | None
    """The JSON document on stdout; None when there was none."""
    stdout: str
    stderr: str
    calls: tuple[Call, ...]
    """Every call the shim saw from ukeytool, in order."""

    def calls_to(self, function: str) -> list[Call]:
        return [c for c in self.calls if c.function == function]

    def count(self, function: str) -> int:
        return len(self.calls_to(function))

    @property
    def slots(self) -> list[dict[str, Any]]:
        """The slots of the (only) module, in C_GetSlotList order."""
        assert self.document is not None, self.stderr
        (module,) = self.document["modules"]
        slots: list[dict[str, Any]] = module["slots"]
        return slots


def _parse_log(text: str) -> tuple[Call, ...]:
    calls = []
    for line in text.splitlines():
        function, *pairs = line.split()
        fields = {}
        for pair in pairs:
            key, _, value = pair.partition("=")
            fields[key] = int(value, 0)
        calls.append(Call(function, fields))
    return tuple(calls)


def shim_env(
    store: SoftHSMStore,
    modes: Sequence[str] = (),
    *,
    slot: int | None = None,
    obj: int | None = None,
    after: int | None = None,
    log: Path | None = None,
) -> dict[str, str]:
    """A child's environment: the store, the real module, and the misbehaviour."""
    env = {k: v for k, v in store.subprocess_env().items() if not k.startswith("MISBEHAVE")}
    env.pop("UKEYTOOL_DEBUG", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    env["MISBEHAVE_REAL"] = str(store.module_path)
    env["MISBEHAVE"] = ",".join(modes)
    for name, value in (("SLOT", slot), ("OBJECT", obj), ("AFTER", after)):
        if value is not None:
            env[f"MISBEHAVE_{name}"] = str(value)
    if log is not None:
        env["MISBEHAVE_LOG"] = str(log)
    return env


def run_ukeytool(
    shim: Path,
    store: SoftHSMStore,
    modes: Sequence[str] = (),
    *,
    slot: int | None = None,
    obj: int | None = None,
    after: int | None = None,
    timeout: float = 60,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Run:
    """``ukeytool list-tokens --json --at 2030-01-01 [args]`` on the shim, in a child
    process, with ``env`` added to its environment.

    A child that outlives ``timeout`` is killed and ``subprocess.TimeoutExpired`` raised.
    """
    with tempfile.TemporaryDirectory(prefix="misbehave-") as tmp:
        log = Path(tmp) / "calls.log"
        child_env = shim_env(store, modes, slot=slot, obj=obj, after=after, log=log)
        child_env.pop("UKEYTOOL_PIN", None)
        child_env.update(env or {})
        command = [sys.executable, "-m", "ukeytool", "list-tokens", "--module", str(shim)]
        done = subprocess.run(
            [*command, "--json", "--at", AT, *args],
            stdin=subprocess.DEVNULL,
            env=child_env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        calls = _parse_log(log.read_text("ascii")) if log.exists() else ()
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    # A typo in a mode must not pass as "ukeytool coped with it".
    assert "misbehave:" not in stderr, stderr
    document = json.loads(stdout) if stdout.strip() else None
    return Run(done.returncode, document, stdout, stderr, calls)


@dataclasses.dataclass(frozen=True)
class Probe:
    """What a probe child did."""

    returncode: int | None
    """None when it was killed at the timeout; negative for a signal, as subprocess says."""
    results: Mapping[str, int]
    """Each function the probe called (and C_GetFunctionList) -> its last CK_RV."""
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run_probe(
    shim: Path,
    store: SoftHSMStore,
    modes: Sequence[str],
    *steps: str,
    slot: int | None = None,
    timeout: float = 30,
) -> Probe:
    """This file as a script on the shim (see the module docstring), in a child process."""
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), str(shim), *steps],
        env=shim_env(store, modes, slot=slot),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    returncode: int | None
    try:
        stdout, stderr = child.communicate(timeout=timeout)
        returncode = child.returncode
    except subprocess.TimeoutExpired:
        child.kill()
        stdout, stderr = child.communicate()
        returncode = None
    lines = stdout.splitlines()
    return Probe(returncode, json.loads(lines[-1]) if lines else {}, stderr)


# --- the probe: raw calls on the shim, run as a child -----------------------------------
# Self-contained on purpose: ukeytool's binding names inspection functions only (no
# C_Login), and the probe tests the module, not ukeytool.


def _probe(shim: str, steps: Sequence[str]) -> int:
    import ctypes

    ulong, p = ctypes.c_ulong, ctypes.POINTER
    prototypes: dict[str, tuple[int, Any]] = {
        "C_Initialize": (0, ctypes.CFUNCTYPE(ulong, ctypes.c_void_p)),
        "C_Finalize": (1, ctypes.CFUNCTYPE(ulong, ctypes.c_void_p)),
        "C_GetSlotList": (4, ctypes.CFUNCTYPE(ulong, ctypes.c_ubyte, p(ulong), p(ulong))),
        "C_OpenSession": (
            12,
            ctypes.CFUNCTYPE(ulong, ulong, ulong, ctypes.c_void_p, ctypes.c_void_p, p(ulong)),
        ),
        "C_CloseSession": (13, ctypes.CFUNCTYPE(ulong, ulong)),
        "C_Login": (18, ctypes.CFUNCTYPE(ulong, ulong, ulong, ctypes.c_char_p, ulong)),
    }
    # CK_FUNCTION_LIST: a CK_VERSION (two bytes, padded to a pointer), then the pointers.
    entries = ctypes.c_void_p * 69
    results: dict[str, int] = {}

    def call(function: str, *args: Any) -> int:
        index, prototype = prototypes[function]
        rv = int(prototype(table[index + 1])(*args))
        results[function] = rv
        print(json.dumps(results), flush=True)  # before the next call can hang or crash
        return rv

    get_function_list = ctypes.CDLL(shim).C_GetFunctionList
    get_function_list.restype = ulong
    fl = p(entries)()
    results["C_GetFunctionList"] = int(get_function_list(ctypes.byref(fl)))
    print(json.dumps(results), flush=True)
    if results["C_GetFunctionList"] != 0:
        return 1
    table = fl.contents
    call("C_Initialize", None)
    if steps and steps[0] == "login":
        index, pin = int(steps[1]), steps[2].encode()
        count = ulong(0)
        call("C_GetSlotList", 0, None, ctypes.byref(count))
        slots = (ulong * count.value)()
        call("C_GetSlotList", 0, slots, ctypes.byref(count))
        session = ulong(0)
        call("C_OpenSession", slots[index], 0x4, None, None, ctypes.byref(session))  # serial, R/O
        call("C_Login", session, 1, pin, len(pin))  # CKU_USER
        call("C_CloseSession", session)
    call("C_Finalize", None)
    return 0


if __name__ == "__main__":
    sys.exit(_probe(sys.argv[1], sys.argv[2:]))
