"""The TPM stand: tpm2-pkcs11 (``libtpm2_pkcs11.so``) on a software TPM.

:class:`Tpm2Stand` starts, in this order, and stops in the reverse order:

1. ``swtpm socket --tpm2``, its state in a temporary directory, its command and control
   ports on 127.0.0.1 only;
2. ``dbus-daemon --session`` on a private socket in that directory (never the user's
   session bus);
3. ``tpm2-abrmd --session`` on that bus, talking to swtpm (``--tcti=swtpm:...``). The
   resource manager is needed: swtpm alone runs out of object slots while tpm2_ptool
   creates the token.

Then it builds a tpm2-pkcs11 store in the directory (``tpm2_ptool init`` and
``addtoken``) and imports each certificate with its private key (``tpm2_ptool import``,
then ``addcert``). Clients (tpm2_ptool, the PKCS#11 module, p11tool) find all of it
through :attr:`Tpm2Stand.env`. Every process started is recorded
(:attr:`Tpm2Stand.pids`) and only those are stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MODULE_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so",
    "/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1",
    "/usr/lib/aarch64-linux-gnu/pkcs11/libtpm2_pkcs11.so",
    "/usr/lib64/pkcs11/libtpm2_pkcs11.so",
    "/usr/lib/pkcs11/libtpm2_pkcs11.so",
)
TABRMD_TCTI_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libtss2-tcti-tabrmd.so.0",
    "/usr/lib/aarch64-linux-gnu/libtss2-tcti-tabrmd.so.0",
    "/usr/lib64/libtss2-tcti-tabrmd.so.0",
    "/usr/lib/libtss2-tcti-tabrmd.so.0",
)
TOKEN_LABEL = "ukeytool TPM"
USER_PIN = "123456"
SO_PIN = "87654321"
TCTI = "tabrmd:bus_type=session"


class StandUnavailable(Exception):
    """A tool the stand needs is missing, or it did not start."""


@dataclass(frozen=True)
class TpmCert:
    """A certificate to import, with its private key (PKCS#8 DER) and the label tpm2_ptool
    gives both (``addcert`` labels the certificate with its key's label)."""

    label: str
    der: bytes
    key_pkcs8_der: bytes
    key_type: str
    """``"rsa"`` or ``"ec"``."""


def _find(candidates: Sequence[str]) -> str | None:
    return next((path for path in candidates if os.path.exists(path)), None)


def _pem(kind: str, der: bytes) -> str:
    import base64

    body = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n"


def _free_port_pair() -> int:
    """A port P with P and P+1 free on 127.0.0.1 (swtpm's command and control ports)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        if first >= 65535:
            continue
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.1", first + 1))
            except OSError:
                continue
        return first
    raise StandUnavailable("no two consecutive free ports on 127.0.0.1")


class Tpm2Stand:
    """swtpm, a private D-Bus, tpm2-abrmd and a tpm2-pkcs11 store (see the module)."""

    def __init__(self, directory: Path, certificates: Sequence[TpmCert]) -> None:
        self.directory = directory
        self.certificates = list(certificates)
        self.pids: list[int] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self.module = ""
        self.bus = directory / "bus"
        self.store = directory / "store"

    @property
    def env(self) -> dict[str, str]:
        """What tpm2-pkcs11 and tpm2_ptool need to find this stand's TPM and store."""
        return {
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={self.bus}",
            "TPM2_PKCS11_TCTI": TCTI,
            "TPM2TOOLS_TCTI": TCTI,
            "TPM2_PKCS11_STORE": str(self.store),
            "TPM2_PKCS11_LOG_LEVEL": "0",
        }

    def start(self) -> None:
        tools = {
            "swtpm": ("swtpm", "swtpm"),
            "tpm2-abrmd": ("tpm2-abrmd", "tpm2-abrmd"),
            "dbus-daemon": ("dbus-daemon", "dbus-daemon"),
            "tpm2_ptool": ("tpm2_ptool", "libtpm2-pkcs11-tools"),
            "dbus-send": ("dbus-send", "dbus-bin"),
        }
        paths: dict[str, str] = {}
        for name, (command, package) in tools.items():
            found = shutil.which(command) or _find((f"/usr/sbin/{command}", f"/sbin/{command}"))
            if found is None:
                raise StandUnavailable(f"{name} not found (apt-get install {package})")
            paths[name] = found
        module = _find(MODULE_CANDIDATES)
        if module is None:
            raise StandUnavailable("libtpm2_pkcs11.so not found (apt-get install libtpm2-pkcs11-1)")
        if _find(TABRMD_TCTI_CANDIDATES) is None:
            raise StandUnavailable(
                "libtss2-tcti-tabrmd.so.0 not found (apt-get install libtss2-tcti-tabrmd0)"
            )
        self.module = module
        state = self.directory / "tpm"
        state.mkdir(parents=True, exist_ok=True)
        self.store.mkdir(exist_ok=True)
        try:
            port = _free_port_pair()
            self._spawn(
                [
                    paths["swtpm"],
                    "socket",
                    "--tpm2",
                    "--tpmstate",
                    f"dir={state}",
                    "--server",
                    f"type=tcp,port={port},bindaddr=127.0.0.1",
                    "--ctrl",
                    f"type=tcp,port={port + 1},bindaddr=127.0.0.1",
                    "--flags",
                    "not-need-init,startup-clear",
                ],
                "swtpm.log",
            )
            _wait_for_port(port, self._processes[-1])
            self._spawn(
                [
                    paths["dbus-daemon"],
                    "--session",
                    "--nofork",
                    f"--address=unix:path={self.bus}",
                ],
                "dbus.log",
            )
            _wait_for(self.bus.exists, self._processes[-1], "dbus-daemon")
            abrmd = [paths["tpm2-abrmd"], "--session", f"--tcti=swtpm:host=127.0.0.1,port={port}"]
            if os.geteuid() == 0:
                abrmd.append("--allow-root")
            self._spawn(abrmd, "abrmd.log")
            _wait_for(self._abrmd_ready, self._processes[-1], "tpm2-abrmd")
            self._build_store()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, command: list[str], log_name: str) -> None:
        env = {**os.environ, **self.env}
        with (self.directory / log_name).open("wb") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.directory,
            )
        self._processes.append(process)
        self.pids.append(process.pid)

    def _abrmd_ready(self) -> bool:
        done = subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:com.intel.tss2.Tabrmd",
            ],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return "boolean true" in done.stdout

    def ptool(self, *args: str) -> str:
        done = subprocess.run(
            ["tpm2_ptool", *args, f"--path={self.store}"],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"tpm2_ptool {args[0]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def _build_store(self) -> None:
        self.ptool("init")
        self.ptool(
            "addtoken",
            "--pid=1",
            f"--label={TOKEN_LABEL}",
            f"--sopin={SO_PIN}",
            f"--userpin={USER_PIN}",
        )
        for cert in self.certificates:
            key_file = self.directory / f"{cert.label}.key.pem"
            cert_file = self.directory / f"{cert.label}.crt.pem"
            key_file.write_text(_pem("PRIVATE KEY", cert.key_pkcs8_der), encoding="ascii")
            cert_file.write_text(_pem("CERTIFICATE", cert.der), encoding="ascii")
            self.ptool(
                "import",
                f"--label={TOKEN_LABEL}",
                f"--key-label={cert.label}",
                f"--userpin={USER_PIN}",
                f"--privkey={key_file}",
                f"--algorithm={'rsa' if cert.key_type == 'rsa' else 'ecc'}",
            )
            self.ptool(
                "addcert", f"--label={TOKEN_LABEL}", f"--key-label={cert.label}", str(cert_file)
            )
            key_file.unlink()

    def stop(self) -> None:
        """Stop abrmd, the bus and swtpm: exactly the processes this stand started."""
        while self._processes:
            process = self._processes.pop()
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    def listening() -> bool:
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(("127.0.0.1", port)) == 0

    _wait_for(listening, process, "swtpm")


def _wait_for(ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 20
    while not ready():
        if process.poll() is not None:
            raise StandUnavailable(f"{what} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise StandUnavailable(f"{what} did not start within 20 s")
        time.sleep(0.05)
