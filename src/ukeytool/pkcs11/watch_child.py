"""The watch child's side (:mod:`ukeytool.pkcs11.watch`): read the request from standard
input, open the module once, and send each event and a tick after each poll to the
parent, until the parent kills it.

Started by the parent's bootstrap (``from ukeytool.pkcs11.watch_child import
watch_main``) in a fresh interpreter, as :mod:`ukeytool.pkcs11.isolate_child` is.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import sys
from typing import Any

from ..errors import UkeytoolError
from .isolate_child import _portable, connect, results_pipe

__all__ = ["WatchRequest", "watch_main"]


@dataclasses.dataclass(frozen=True)
class WatchRequest:
    """What the parent asks of the watch child."""

    path: str
    kwargs: dict[str, Any] = dataclasses.field(repr=False)
    """Passed to :func:`ukeytool.pkcs11.watch.watch_backend` as they are."""
    log_levels: dict[str, int]
    """The parent's effective level for each of the loggers the child forwards."""
    parent_pid: int


def watch_main() -> None:
    """The child's side (run by the bootstrap): watch until killed, or until an error."""
    results = results_pipe()
    request: WatchRequest = pickle.load(sys.stdin.buffer)
    channel = connect(results, request.parent_pid, request.log_levels)
    message: tuple[Any, ...]
    try:
        from .backend import open_module
        from .watch import watch_backend

        module = open_module(request.path)
        for event in watch_backend(module, tick=lambda: channel.send(("tick",)), **request.kwargs):
            channel.send(("event", event))
    except UkeytoolError as exc:
        message = ("error", exc)
    except BaseException as exc:
        import traceback

        message = ("bug", _portable(exc), traceback.format_exc())
    channel.send(message)
    sys.stderr.flush()
    # Straight out, as the isolation child: nothing at interpreter exit may delay it.
    os._exit(0)
