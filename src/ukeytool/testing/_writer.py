"""Child-process side of :meth:`ukeytool.testing.softhsm.SoftHSMStore.add_tokens`.

Run as ``python -m ukeytool.testing._writer`` with ``SOFTHSM2_CONF`` set to the store's
configuration and a JSON request on stdin::

    {"conf": ..., "tokens_dir": ..., "module": ..., "util": ...,
     "tokens": [{"label_hex": ..., "so_pin": ..., "user_pin": ...,
                 "objects": [{"what": ..., "attributes": [[type, value_hex], ...]}]}]}

It answers on stdout with ``{"tokens": [{"serial", "label_hex", "slot_id"}]}`` in
request order, or exits non-zero with the reason on stderr after deleting the tokens it
initialised. The templates arrive fully built (raw attribute bytes), so nothing here
interprets certificates or keys.

It runs in its own process because SoftHSM reads its configuration at C_Initialize and
python-pkcs11 keeps one initialised module per path per process: the caller must stay free
to load SoftHSM itself, with the store's configuration, afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

_REASSIGNED = re.compile(rb"reassigned to slot (\d+)")


def _init_token(util: str, label: bytes, so_pin: str, user_pin: str) -> int:
    """Initialise the first free slot with softhsm2-util; return the new slot id.

    python-pkcs11 has no C_InitToken, and softhsm2-util takes the label as raw argv
    bytes, so GBK labels arrive verbatim. SoftHSM derives the slot id from the new
    token's serial, which is how the token is found again after C_Initialize.
    """
    done = subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", user_pin],
        capture_output=True,
        timeout=60,
        check=False,
    )
    found = _REASSIGNED.search(done.stdout)
    if done.returncode != 0 or found is None:
        output = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
        raise RuntimeError(f"softhsm2-util --init-token --label {label!r} failed: {output}")
    return int(found.group(1))


def _fill(module: str, requests: list[dict[str, Any]], slot_ids: list[int]) -> list[str]:
    """Create every requested object; return the tokens' serials in request order."""
    import pkcs11
    from pkcs11.attributes import AttributeMapper

    class RawMapper(AttributeMapper):
        """Packs bytes verbatim: python-pkcs11's own mapper would UTF-8-encode labels."""

        def pack_attribute(self, key: Any, value: Any) -> bytes:
            if isinstance(value, bytes):
                return value
            return super().pack_attribute(key, value)

        def unpack_attributes(self, key: Any, value: bytes) -> Any:
            # python-pkcs11 reads the new object's class and capabilities back after
            # C_CreateObject; raw templates may hold values its enums do not know.
            try:
                return super().unpack_attributes(key, value)
            except (ValueError, NotImplementedError, struct.error):
                return value

    # Tokens were initialised by another process before this C_Initialize, so they are
    # all visible now; SoftHSM would not notice them after it.
    lib = pkcs11.lib(module)
    try:
        slots = {slot.slot_id: slot for slot in lib.get_slots()}
        serials = []
        for request, slot_id in zip(requests, slot_ids, strict=True):
            token = slots[slot_id].get_token()
            serials.append(token.serial.decode("ascii").strip())
            session = token.open(
                rw=True, user_pin=request["user_pin"], attribute_mapper=RawMapper()
            )
            try:
                for obj in request["objects"]:
                    # Plain ints: python-pkcs11's Attribute enum lacks vendor-defined types.
                    template: dict[Any, bytes] = {
                        int(t): bytes.fromhex(v) for t, v in obj["attributes"]
                    }
                    try:
                        session.create_object(template)
                    except pkcs11.PKCS11Error as exc:
                        # python-pkcs11's exceptions have empty messages: name the object.
                        raise RuntimeError(
                            f"C_CreateObject failed for {obj['what']} on token "
                            f"{bytes.fromhex(request['label_hex'])!r}: {type(exc).__name__}"
                        ) from exc
            finally:
                session.close()
        return serials
    finally:
        lib.finalize()


def main() -> int:
    """Build the requested tokens; exit status 0 on success, 1 on failure."""
    request = json.loads(sys.stdin.buffer.read())
    conf = request["conf"]
    # Refuse to write anywhere but the store that asked: without this guard a missing
    # variable would make SoftHSM fall back to the system token directory.
    if os.environ.get("SOFTHSM2_CONF") != conf or not Path(conf).is_file():
        print(f"SOFTHSM2_CONF must name the store's {conf}", file=sys.stderr)
        return 1
    tokens_dir = Path(request["tokens_dir"])
    before = set(tokens_dir.iterdir())
    tokens = request["tokens"]
    try:
        slot_ids = [
            _init_token(request["util"], bytes.fromhex(t["label_hex"]), t["so_pin"], t["user_pin"])
            for t in tokens
        ]
        serials = _fill(request["module"], tokens, slot_ids)
    except Exception:
        traceback.print_exc()
        # Half-built tokens would confuse the next test; each token is one directory.
        for path in set(tokens_dir.iterdir()) - before:
            shutil.rmtree(path, ignore_errors=True)
        return 1
    reply = {
        "tokens": [
            {
                "serial": serial,
                "label_hex": bytes.fromhex(t["label_hex"]).rstrip(b" ").hex(),
                "slot_id": slot_id,
            }
            for t, serial, slot_id in zip(tokens, serials, slot_ids, strict=True)
        ]
    }
    sys.stdout.write(json.dumps(reply))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: python-pkcs11's destructors and SoftHSM's static
    # destructors run in an unreliable order at exit (known crashes), and everything
    # is on disk already since the module was finalised.
    os._exit(status)
