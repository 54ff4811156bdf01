"""The isolation child's channel (issue 12): raw objects cross as plain tuples, the first
at once, the ones that come while the parent is busy gathered into one message; a
message that must not be lost is written, after everything queued before it, before
send() returns."""

from __future__ import annotations

import pickle
import threading
from typing import Any

from ukeytool.pkcs11.interface import RawCertificateObject, RawKeyObject
from ukeytool.pkcs11.isolate_child import HEADER, _Channel, plain_object
from ukeytool.pkcs11.isolate_pipe import raw_object


class _SlowParent:
    """A pipe whose first write blocks until released: the parent is busy."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.release = threading.Event()
        self.first = threading.Event()

    def write(self, data: bytes) -> int:
        if not self.first.is_set():
            self.first.set()
            self.data += data
            assert self.release.wait(30)
            return len(data)
        self.data += data
        return len(data)

    def flush(self) -> None:
        pass


def _messages(data: bytes) -> list[Any]:
    out = []
    while data:
        size = int.from_bytes(data[:HEADER], "big")
        out.append(pickle.loads(data[HEADER : HEADER + size]))
        data = data[HEADER + size :]
    return out


def test_objects_gather_while_the_parent_is_busy() -> None:
    pipe = _SlowParent()
    channel = _Channel(pipe)  # type: ignore[arg-type]
    objects = [
        RawCertificateObject(i, bytes([i]) * 10, b"label", b"\x01", 0, False) for i in range(100)
    ]
    channel.send_soon(plain_object(objects[0]))
    # The first is written at once, alone, without waiting for more.
    assert pipe.first.wait(30)
    for raw in objects[1:]:
        channel.send_soon(plain_object(raw))
    sender = threading.Thread(target=channel.send, args=(("slot_end", "head", None),))
    sender.start()
    pipe.release.set()
    sender.join(30)
    assert not sender.is_alive()
    first, gathered, end = _messages(bytes(pipe.data))
    assert raw_object(first) == objects[0]
    assert type(gathered) is list
    assert [raw_object(m) for m in gathered] == objects[1:]
    assert end == ("slot_end", "head", None)  # after the objects queued before it


def test_plain_objects_make_the_same_dataclasses() -> None:
    key = RawKeyObject(7, 3, b"\x02", None, 3, b"spki", None, b"\x04point")
    cert = RawCertificateObject(9, None, None, b"", None, None)
    for raw in (key, cert):
        plain = plain_object(raw)
        assert {type(v) for v in plain[1:]} <= {int, bytes, bool, type(None)}
        assert raw_object(pickle.loads(pickle.dumps(plain))) == raw
