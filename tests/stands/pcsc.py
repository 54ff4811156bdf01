"""The smart-card stand: a private ``pcscd`` with vsmartcard's ``vpcd`` reader driver and
the virtual PIV card of :mod:`tests.stands.piv_card`, read through OpenSC's
``opensc-pkcs11.so``.

:class:`PcscStand` starts, in this order, and stops in the reverse order:

1. ``pcscd --foreground`` with a reader configuration of its own (``-c DIR``, a copy of
   ``/etc/reader.conf.d/vpcd``), in namespaces of its own (below);
2. the card (``piv_card.py`` in a child Python, entered into pcscd's network namespace
   with ``nsenter``), which connects to vpcd's port there.

Why namespaces. pcscd 1.9.9 (Debian 12) has its socket at a fixed path,
``/run/pcscd/pcscd.comm``; only its clients (libpcsclite, so OpenSC) honour
``PCSCLITE_CSOCK_NAME``. And vpcd listens for the card on every interface
(``INADDR_ANY``), while the only mode in which it would connect to 127.0.0.1 instead
aborts pcscd in Debian 12's vpcd when a card leaves. So pcscd runs under
``unshare --mount --net``: a private directory is bound over ``/run`` (its socket is
``DIR/run/pcscd/pcscd.comm`` for everyone else, beside any system pcscd, which it never
meets), and its network is a namespace holding only a loopback interface, so vpcd's port
is reachable from 127.0.0.1 in that namespace and from nowhere else. Where namespaces
cannot be made (not root, no user namespaces), the stand refuses to start
(:class:`StandUnavailable`) rather than run pcscd at the system's socket path or open a
port on every interface; it never stops, replaces or talks to a pcscd it did not start.

Every process the stand starts is recorded (:attr:`PcscStand.pids`) and only those are
stopped. Clients find the stand through :attr:`PcscStand.env`: ``PCSCLITE_CSOCK_NAME``
and ``OPENSC_CONF`` (a private OpenSC configuration: the PIV driver only, no file cache,
so every run reads the card itself).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

CARD_SCRIPT = Path(__file__).resolve().parent / "piv_card.py"
VPCD_DRIVER_CANDIDATES = (
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
)
OPENSC_MODULE_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
)
SYSTEM_SOCKET = Path("/run/pcscd/pcscd.comm")
#: vpcd's port for the card, in pcscd's own network namespace. vpcd has two reader slots
#: (``... 00 00`` on this port, ``... 00 01`` on the next): the second stays empty.
VPCD_PORT = 35990
READER_NAME = "ukeytool test PCD"
#: The card's PIN (VERIFY, key reference 80).
PIN = "123456"
#: The card's ATR: T=0 then T=1, eight historical bytes "ukeyPIV1", and TCK.
_ATR_BODY = bytes.fromhex("3B888001") + b"ukeyPIV1"

OPENSC_CONF = """\
app default {
    card_drivers = PIV-II;
    framework pkcs15 {
        use_file_caching = no;
    }
}
"""


def _tck(body: bytes) -> int:
    check = 0
    for byte in body[1:]:
        check ^= byte
    return check


ATR = _ATR_BODY + bytes([_tck(_ATR_BODY)])


class StandUnavailable(Exception):
    """A tool the stand needs is missing, or the stand cannot run beside this system."""


def find_first(candidates: tuple[str, ...]) -> str | None:
    return next((path for path in candidates if os.path.exists(path)), None)


# --- PIV data objects (NIST SP 800-73-4 part 1)


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    if size < 0x100:
        return bytes([0x81, size])
    return bytes([0x82]) + size.to_bytes(2, "big")


def tlv(tag: bytes, value: bytes) -> bytes:
    return tag + _length(len(value)) + value


def certificate_object(der: bytes) -> bytes:
    """The container of one certificate: the certificate, CertInfo 00 (not compressed),
    and the error detection code."""
    return tlv(b"\x53", tlv(b"\x70", der) + tlv(b"\x71", b"\x00") + tlv(b"\xfe", b""))


def chuid_object(guid: bytes) -> bytes:
    """A Card Holder Unique Identifier: a FASC-N of all nines' shape, ``guid``, an expiry
    date and an empty signature."""
    fasc_n = bytes.fromhex("D4E739DA739CED39CE739D836858210842108421C84210C3EB")
    body = (
        tlv(b"\x30", fasc_n)
        + tlv(b"\x34", guid)
        + tlv(b"\x35", b"20991231")
        + tlv(b"\x3e", b"")
        + tlv(b"\xfe", b"")
    )
    return tlv(b"\x53", body)


DISCOVERY_OBJECT = bytes.fromhex("7E124F0BA0000003080000100001005F2F024000")

#: The certificate object of each PIV key reference.
CERTIFICATE_TAGS = {"9A": "5FC105", "9C": "5FC10A", "9D": "5FC10B", "9E": "5FC101"}


def card_objects(certificates: Mapping[str, bytes], guid: bytes) -> dict[str, str]:
    """The card's data objects, hex, by tag: ``certificates`` by key reference (9A...)."""
    objects = {"5FC102": chuid_object(guid).hex(), "7E": DISCOVERY_OBJECT.hex()}
    for key, der in certificates.items():
        objects[CERTIFICATE_TAGS[key]] = certificate_object(der).hex()
    return objects


# --- the stand


def _namespace_prefix() -> list[str] | None:
    """The ``unshare`` words that give pcscd a mount and network namespace of its own
    (as root, or in a user namespace otherwise), or None when this system allows neither.
    """
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return None
    if shutil.which("ip") is None:
        return None
    tries = [["unshare", "--mount", "--net", "--propagation", "private"]]
    if os.geteuid() != 0:
        tries = [
            ["unshare", "--user", "--map-root-user", "--mount", "--net", "--propagation", "private"]
        ]
    for prefix in tries:
        done = subprocess.run(
            [*prefix, "ip", "link", "set", "lo", "up"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        if done.returncode == 0:
            return prefix
    return None


class PcscStand:
    """A private pcscd with a vpcd reader and the virtual PIV card (see the module)."""

    def __init__(self, directory: Path, certificates: Mapping[str, bytes], *, guid: bytes):
        self.directory = directory
        self.certificates = dict(certificates)
        self.guid = guid
        self.pids: list[int] = []
        self._card: subprocess.Popen[str] | None = None
        self._pcscd: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.socket_path = SYSTEM_SOCKET
        self.module = ""

    # -- start and stop

    def start(self) -> None:
        pcscd = shutil.which("pcscd") or find_first(("/usr/sbin/pcscd", "/sbin/pcscd"))
        driver = find_first(VPCD_DRIVER_CANDIDATES)
        module = find_first(OPENSC_MODULE_CANDIDATES)
        for what, found, package in (
            ("pcscd", pcscd, "pcscd"),
            ("vpcd reader driver libifdvpcd.so", driver, "vsmartcard-vpcd"),
            ("OpenSC's opensc-pkcs11.so", module, "opensc-pkcs11"),
            ("opensc-tool", shutil.which("opensc-tool"), "opensc"),
            ("unshare and nsenter", shutil.which("nsenter"), "util-linux"),
            ("ip", shutil.which("ip"), "iproute2"),
        ):
            if not found:
                raise StandUnavailable(f"{what} not found (apt-get install {package})")
        assert pcscd is not None
        assert driver is not None
        assert module is not None
        prefix = _namespace_prefix()
        if prefix is None:
            raise StandUnavailable(
                "cannot make a mount and network namespace here (unshare --mount --net): "
                f"pcscd 1.9.9's socket path is fixed ({SYSTEM_SOCKET}) and vpcd listens "
                "on every interface, so the stand does not start outside one"
            )
        self.module = module
        run = self.directory / "run"
        run.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "reader.conf.d"
        conf.mkdir(exist_ok=True)
        (self.directory / "opensc.conf").write_text(OPENSC_CONF, encoding="utf-8")
        self.socket_path = run / "pcscd" / "pcscd.comm"
        (conf / "vpcd").write_text(
            f'FRIENDLYNAME "{READER_NAME}"\n'
            f"DEVICENAME   /dev/null:{VPCD_PORT}\n"
            f"LIBPATH      {driver}\n"
            f"CHANNELID    {VPCD_PORT}\n",
            encoding="utf-8",
        )
        log = (self.directory / "pcscd.log").open("wb")
        self._pcscd = subprocess.Popen(
            [
                *prefix,
                "sh",
                "-c",
                'ip link set lo up && mount --bind "$1" /run && exec "$2" --foreground -c "$3"',
                "sh",
                str(run),
                pcscd,
                str(conf),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.pids.append(self._pcscd.pid)

        try:
            self._wait_for_socket(timeout=20)
        except BaseException:
            self.stop()
            raise
        card_config = self.directory / "card.json"
        config = {
            "port": VPCD_PORT,
            "atr": ATR.hex(),
            "pin": PIN,
            "objects": card_objects(self.certificates, self.guid),
        }
        card_config.write_text(json.dumps(config), encoding="utf-8")
        enter = ["nsenter", f"--target={self._pcscd.pid}", "--net"]
        if "--user" in prefix:
            enter += ["--user", "--preserve-credentials"]
        self._card = subprocess.Popen(
            [*enter, sys.executable, str(CARD_SCRIPT), str(card_config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pids.append(self._card.pid)
        try:
            assert self._card.stdout is not None
            if self._card.stdout.readline().strip() != "ready":
                raise StandUnavailable("the virtual card did not start")
            self.wait_for(present=True, timeout=20)
        except BaseException:
            self.stop()
            raise

    def _wait_for_socket(self, timeout: float) -> None:
        """Wait until pcscd listens: it is then in its namespaces (nsenter would enter
        this process's own before unshare has made them) and vpcd listens for the card."""
        assert self._pcscd is not None
        deadline = time.monotonic() + timeout
        while not self.socket_path.exists():
            if self._pcscd.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "pcscd.log").read_text(errors="replace")
                raise StandUnavailable(f"pcscd did not start: {log[-2000:]}")
            time.sleep(0.05)
        own = os.readlink("/proc/self/ns/net")
        if os.readlink(f"/proc/{self._pcscd.pid}/ns/net") == own:
            raise StandUnavailable("pcscd is not in a network namespace of its own")

    def stop(self) -> None:
        """Stop the card, then pcscd: exactly the processes this stand started."""
        if self._card is not None:
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                self.command("quit")
            _stop(self._card)
            self._card = None
        if self._pcscd is not None:
            _stop(self._pcscd)
            self._pcscd = None

    # -- what clients need

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point libpcsclite and OpenSC at this stand."""
        return {
            "PCSCLITE_CSOCK_NAME": str(self.socket_path),
            "OPENSC_CONF": str(self.directory / "opensc.conf"),
        }

    def readers(self) -> dict[str, bool]:
        """Reader name -> card present, as ``opensc-tool --list-readers`` sees them."""
        done = subprocess.run(
            ["opensc-tool", "--list-readers"],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        readers: dict[str, bool] = {}
        for line in done.stdout.splitlines():
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[0].isdigit() and parts[1] in ("Yes", "No"):
                readers[parts[2].strip()] = parts[1] == "Yes"
        return readers

    def card_reader(self) -> str:
        return f"{READER_NAME} 00 00"

    def wait_for(self, *, present: bool, timeout: float = 15) -> None:
        """Wait until pcscd sees the card in (or out of) its reader."""
        deadline = time.monotonic() + timeout
        seen: dict[str, bool] = {}
        while time.monotonic() < deadline:
            if self._pcscd is not None and self._pcscd.poll() is not None:
                log = (self.directory / "pcscd.log").read_text(errors="replace")
                raise StandUnavailable(f"pcscd exited ({self._pcscd.returncode}): {log[-2000:]}")
            seen = self.readers()
            if seen.get(self.card_reader()) is present:
                return
            time.sleep(0.2)
        raise StandUnavailable(
            f"the card is not {'in' if present else 'out of'} the reader: {seen}"
        )

    # -- what tests do to the card

    def command(self, command: str) -> str:
        """Send the card one control command; return what follows its "ok"."""
        card = self._card
        if card is None or card.stdin is None or card.stdout is None:
            raise RuntimeError("the card is not running")
        card.stdin.write(command + "\n")
        card.stdin.flush()
        if command == "quit":
            return ""
        answer = card.stdout.readline().split(None, 1)
        if not answer or answer[0] != "ok":
            raise RuntimeError(f"the card did not do {command!r}")
        return answer[1].strip() if len(answer) > 1 else ""

    def pins_presented(self) -> int:
        """How many VERIFY commands have presented a PIN to the card so far."""
        return int(self.command("pins"))

    def remove(self) -> None:
        self.command("remove")
        self.wait_for(present=False)

    def insert(self) -> None:
        self.command("insert")
        self.wait_for(present=True)

    @contextlib.contextmanager
    def removed(self) -> Iterator[None]:
        """The card out of the reader for the block; back in afterwards."""
        self.remove()
        try:
            yield
        finally:
            self.insert()

    @contextlib.contextmanager
    def pulled_after(self, get_data: int) -> Iterator[None]:
        """During the block, the card pulls itself out right after answering its next
        ``get_data`` GET DATA commands (a card pulled in the middle of a read); afterwards
        it is out of the reader for a moment (so pcscd sees it leave either way) and put
        back in."""
        self.command(f"remove_after {get_data}")
        try:
            yield
        finally:
            self.command("remove_after -1")
            self.remove()
            self.insert()

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """The card stops answering APDUs for the block; afterwards it is pulled out (so
        vpcd and pcscd let go of it: pcscd must see the reader empty, or it keeps the
        card's old, failed state) and put back in."""
        self.command("freeze")
        try:
            yield
        finally:
            self.command("thaw")
            self.wait_for(present=False, timeout=30)
            self.insert()


def _stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
