"""A virtual PIV card for vsmartcard's ``vpcd`` reader driver (standard library only).

Run as a script: ``python piv_card.py CONFIG.json``. The card connects to vpcd at
127.0.0.1:``port`` (vpcd's server mode, ``DEVICENAME /dev/null:PORT``: vpcd listens and
the card comes to it, as vsmartcard's own ``vicc`` does) while it is in the reader, and
again after each removal. (vpcd's client mode, where the reader connects to the card,
cannot be used: Debian 12's vpcd (vsmartcard 3.3+dfsg) then passes socket -1 to
``select`` once the card is gone, and glibc aborts pcscd.)

vpcd's protocol (virtualsmartcard/src/vpcd/vpcd.c): every message is a 2-byte big-endian
length and a payload. A payload of one byte is a control byte: 0 power off, 1 power on,
2 reset (no answer) and 4 "send your ATR" (answered with the ATR). Anything else is a
command APDU, answered with the response APDU. A connection closed is a card removed.

The card answers what OpenSC's PIV driver (card-piv.c) sends to read certificates:
SELECT of the PIV application, GET DATA of the data objects held in CONFIG (the
certificate containers, the CHUID, the discovery object), GET RESPONSE for answers longer
than Le, and VERIFY of the PIV application PIN (key reference 80; an empty VERIFY asks
for the PIN's state). Everything else is refused with the ISO status words.

CONFIG (JSON): ``{"port": P, "atr": HEX, "pin": "123456", "objects": {"5FC105": HEX,
...}}``.

Control, one command a line on standard input, each answered "ok" on standard output:
``remove`` (the card leaves the reader: it closes its connection and stays away),
``insert``, ``freeze`` (the card stops answering: APDUs are read and never answered),
``thaw`` (the frozen card is pulled out, as by ``remove``; ``insert`` puts it back,
answering again), ``remove_after N`` (the card pulls itself out, as by ``remove``,
right after answering its next N GET DATA commands: a card pulled in the middle of a
read; ``remove_after -1`` cancels it), ``pins`` (answered ``ok N``: how many VERIFY
commands presented a PIN so far), ``quit``. The first line written is ``ready``, at
once (the card then connects as soon as vpcd listens). With ``PIV_CARD_LOG`` set,
every APDU and control byte is logged to that file.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import sys
import threading
import time

PIV_AID = bytes.fromhex("A000000308000010000100")
# Application property template: PIX of the application and the coexistent tag allocation
# authority (NIST SP 800-73-4 part 2, 3.1.1).
APT = bytes.fromhex("61114F0600001000010079074F05A000000308")

SW_OK = b"\x90\x00"
SW_NOT_FOUND = b"\x6a\x82"
SW_WRONG_PARAMETERS = b"\x6a\x86"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_CLA_NOT_SUPPORTED = b"\x6e\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_BLOCKED = b"\x69\x83"


QUICKACK = getattr(socket, "TCP_QUICKACK", None)
LOG = open(os.environ["PIV_CARD_LOG"], "a") if os.environ.get("PIV_CARD_LOG") else None  # noqa: SIM115


class Card:
    """The card's state: its data objects, its PIN and what the last command left."""

    def __init__(self, objects: dict[str, bytes], pin: str, atr: bytes) -> None:
        self.objects = objects
        self.pin = pin.encode("ascii")
        self.atr = atr
        self.tries = 3
        self.verified = False
        self.pins_presented = 0
        self.pending = b""

    def power_cycle(self) -> None:
        self.verified = False
        self.pending = b""

    def execute(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
        data, le = _body(apdu[4:])
        if cla & 0x80:
            return SW_CLA_NOT_SUPPORTED
        if ins != 0xC0:
            self.pending = b""
        if ins == 0xA4:
            return self.select(p1, data, le)
        if ins == 0xCB:
            return self.get_data(p1, p2, data, le)
        if ins == 0xC0:
            return self.get_response(le)
        if ins == 0x20:
            return self.verify(p1, p2, data)
        return SW_INS_NOT_SUPPORTED

    def select(self, p1: int, data: bytes, le: int) -> bytes:
        if p1 != 0x04 or not data or not PIV_AID.startswith(data):
            return SW_NOT_FOUND
        return self.answer(APT, le)

    def get_data(self, p1: int, p2: int, data: bytes, le: int) -> bytes:
        if (p1, p2) != (0x3F, 0xFF) or len(data) < 3 or data[0] != 0x5C:
            return SW_WRONG_PARAMETERS
        tag = data[2 : 2 + data[1]].hex().upper()
        value = self.objects.get(tag)
        if value is None:
            return SW_NOT_FOUND
        return self.answer(value, le)

    def get_response(self, le: int) -> bytes:
        if not self.pending:
            return b"\x69\x85"
        pending, self.pending = self.pending, b""
        return self.answer(pending, le)

    def answer(self, value: bytes, le: int) -> bytes:
        """``value`` in pieces of at most ``le`` bytes, announced with 61xx."""
        if len(value) <= le:
            return value + SW_OK
        self.pending = value[le:]
        rest = len(self.pending)
        return value[:le] + bytes([0x61, rest if rest < 256 else 0])

    def verify(self, p1: int, p2: int, data: bytes) -> bytes:
        if p2 != 0x80 or p1 not in (0x00, 0xFF):
            return b"\x6a\x88"
        if p1 == 0xFF:
            self.verified = False
            return SW_OK
        if not data:
            if self.verified:
                return SW_OK
            return bytes([0x63, 0xC0 | self.tries])
        self.pins_presented += 1
        if self.tries == 0:
            return SW_BLOCKED
        if data.rstrip(b"\xff") == self.pin:
            self.tries = 3
            self.verified = True
            return SW_OK
        self.tries -= 1
        self.verified = False
        return bytes([0x63, 0xC0 | self.tries]) if self.tries else SW_BLOCKED


def _body(rest: bytes) -> tuple[bytes, int]:
    """The data and Le (as a number of bytes) of an APDU's body after the header."""
    if not rest:
        return b"", 0
    if len(rest) == 1:
        return b"", rest[0] or 256
    if rest[0] == 0 and len(rest) >= 3:  # extended length
        if len(rest) == 3:
            return b"", int.from_bytes(rest[1:3], "big") or 65536
        lc = int.from_bytes(rest[1:3], "big")
        data = rest[3 : 3 + lc]
        tail = rest[3 + lc :]
        return data, (int.from_bytes(tail, "big") or 65536) if tail else 0
    lc = rest[0]
    data = rest[1 : 1 + lc]
    tail = rest[1 + lc :]
    return data, (tail[0] or 256) if tail else 0


def _receive(conn: socket.socket, size: int) -> bytes | None:
    chunks = b""
    while len(chunks) < size:
        if QUICKACK is not None:
            # vpcd writes the length and the payload separately; without an immediate
            # ACK of the first, its Nagle algorithm holds the second for ~40 ms.
            conn.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        chunk = conn.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return chunks


class Reader:
    """The card's side of vpcd's reader slot: connects to vpcd while the card is in."""

    def __init__(self, port: int, card: Card) -> None:
        self.port = port
        self.card = card
        self.lock = threading.Lock()
        self.present = True
        self.changed = threading.Condition(self.lock)
        self.frozen = threading.Event()
        self.thawed = threading.Event()
        self.connection: socket.socket | None = None
        #: ``remove_after``: GET DATA commands left to answer before the card leaves.
        self.get_data_left: int | None = None

    def run(self) -> None:
        while True:
            with self.changed:
                while not self.present:
                    self.changed.wait()
            try:
                conn = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                time.sleep(0.1)  # vpcd not listening yet
                continue
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                if not self.present:
                    conn.close()
                    continue
                self.connection = conn
            self.card.power_cycle()
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        card = self.card
        try:
            while True:
                header = _receive(conn, 2)
                if header is None:
                    return
                (length,) = struct.unpack(">H", header)
                payload = _receive(conn, length)
                if payload is None:
                    return
                if length == 1 and LOG:
                    LOG.write(f"{time.monotonic():.3f} control {payload[0]}\n")
                    LOG.flush()
                if length == 1:
                    if payload[0] in (0, 1, 2):
                        card.power_cycle()
                    elif payload[0] == 4:
                        conn.sendall(struct.pack(">H", len(card.atr)) + card.atr)
                    continue
                if self.frozen.is_set():
                    self.thawed.wait()
                    return
                response = card.execute(payload)
                if LOG:
                    LOG.write(f"{time.monotonic():.3f} {payload.hex()} -> {response[-2:].hex()}\n")
                    LOG.flush()
                conn.sendall(struct.pack(">H", len(response)) + response)
                if self.get_data_left is not None and payload[1] == 0xCB:
                    self.get_data_left -= 1
                    if self.get_data_left <= 0:  # ``remove_after``: pulled mid-read
                        self.get_data_left = None
                        self.set_present(False)
                        return
        except OSError:
            return
        finally:
            conn.close()
            with self.lock:
                if self.connection is conn:
                    self.connection = None

    def set_present(self, present: bool) -> None:
        with self.changed:
            self.present = present
            conn = None if present else self.connection
            self.changed.notify_all()
        if conn is not None:
            _shut(conn)

    def drop(self) -> None:
        with self.lock:
            conn = self.connection
        if conn is not None:
            _shut(conn)


def _shut(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def main(config_path: str) -> int:
    with open(config_path, encoding="utf-8") as file:
        config = json.load(file)
    objects = {tag.upper(): bytes.fromhex(value) for tag, value in config["objects"].items()}
    card = Card(objects, config["pin"], bytes.fromhex(config["atr"]))
    reader = Reader(config["port"], card)
    threading.Thread(target=reader.run, daemon=True).start()
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "remove":
            reader.set_present(False)
        elif command == "insert":
            reader.set_present(True)
        elif command == "freeze":
            reader.thawed.clear()
            reader.frozen.set()
        elif command == "thaw":
            reader.set_present(False)
            reader.frozen.clear()
            reader.thawed.set()
        elif command.startswith("remove_after "):
            count = int(command.split()[1])
            reader.get_data_left = count if count > 0 else None
        elif command == "pins":
            print(f"ok {card.pins_presented}", flush=True)
            continue
        elif command == "quit":
            break
        print("ok", flush=True)
    reader.set_present(False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
