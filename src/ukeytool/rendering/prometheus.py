"""Reports as Prometheus metrics: a pure function from :class:`~ukeytool.model.Report`
values to the text exposition format, for node_exporter's textfile collector.

Following x509-certificate-exporter: a certificate's end of validity is exported as a
timestamp, so thresholds live in PromQL (``ukeytool_certificate_not_after_timestamp_seconds
- time() < 30 * 86400``) and a stale file does not freeze a countdown; what could not be
read is exported too (``ukeytool_module_read_success``, ``ukeytool_read_errors``), so a
vanished key or a broken module alerts as well.

Families (all gauges; :data:`FAMILIES` holds their help texts):

* per module: ``ukeytool_module_read_success`` (1 read, 0 could not be inspected),
  ``ukeytool_module_info``, ``ukeytool_report_timestamp_seconds``;
* per module, slot, failing call or attribute and CK_RV: ``ukeytool_read_errors``
  (module, slot and certificate-object problems; a module that could not be inspected
  counts 1 with ``where`` its error kind, e.g. ``ModuleNotFound``);
* per token: ``ukeytool_token_info``, ``ukeytool_token_pin_state`` (one series per PIN
  state, 1 for the current one), ``ukeytool_token_certificates``;
* per certificate: ``ukeytool_certificate_not_before_timestamp_seconds``,
  ``ukeytool_certificate_not_after_timestamp_seconds``, ``ukeytool_certificate_expired``
  (1 when expired at the report's moment, else 0), ``ukeytool_certificate_status`` (one
  series per status, 1 for the current one). An unreadable certificate (no dates) has
  only ``ukeytool_certificate_status``, with ``status="unreadable"`` at 1.

Choices, so alert rules can rely on them:

* Tokens are identified by ``module``, ``token_serial`` and ``token_label``, never by slot
  id (slot ids change when a key is plugged in again); certificates additionally by
  ``cert_label``, ``cert_id`` (CKA_ID, lowercase hex), ``subject_cn``, ``issuer_cn`` and
  ``serial`` (lowercase hex). A value that is unknown is the empty string, so every
  series of a family has the same label names. Only ``ukeytool_read_errors`` has a
  ``slot_id`` label (``0x1a2b``, empty for module-wide problems and failed modules): a
  slot whose token cannot be read has nothing else to name it by.
* Two series of a family with exactly the same labels (the same certificate stored
  twice under the same label and id) are written once, the first one.
* Label values are escaped as the format requires (``\\``, ``"``, newline); other
  control characters are written as ``\\xNN``-style text, as in the text listing.
* No sample has a timestamp: the textfile collector refuses them. The report's moment
  is ``ukeytool_report_timestamp_seconds``.
* Unless ``show_personal_data``, labels, names and paths go through
  :func:`~ukeytool.rendering.mask.mask_personal`: ID-card numbers in a CFCA subject CN never
  reach the time-series database. Serial numbers and CKA_ID are not masked.

:func:`write_textfile` writes the text so that a scrape never sees half a file.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import math
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence

from ..model import (
    CertificateEntry,
    ModuleFailure,
    PinState,
    Report,
    SlotReport,
    Status,
    TokenInfo,
)
from ..model.text import Text, escape_control
from .mask import mask_optional

__all__ = [
    "FAMILIES",
    "LABELS",
    "NotARegularFile",
    "escape_label_value",
    "render_prometheus",
    "write_textfile",
]

FAMILIES: dict[str, str] = {
    "ukeytool_module_read_success": "Whether the PKCS#11 module could be inspected (1) or not (0).",
    "ukeytool_module_info": "The PKCS#11 module's CK_INFO, as labels; always 1.",
    "ukeytool_report_timestamp_seconds": "When the module was inspected (the moment "
    "validity was judged at), as a Unix timestamp.",
    "ukeytool_read_errors": "How many things could not be read, by module, slot, failing "
    "call or attribute (where), and CK_RV name or error kind (code).",
    "ukeytool_token_info": "A token present in a slot, with its CK_TOKEN_INFO as labels; always 1.",
    "ukeytool_token_pin_state": "The token's user PIN state from its flags: 1 for the "
    "current state, 0 for the others.",
    "ukeytool_token_certificates": "How many certificate objects the token shows without login.",
    "ukeytool_certificate_not_before_timestamp_seconds": "Start of the certificate's "
    "validity (notBefore), as a Unix timestamp.",
    "ukeytool_certificate_not_after_timestamp_seconds": "End of the certificate's "
    "validity (notAfter), as a Unix timestamp.",
    "ukeytool_certificate_expired": "Whether the certificate had expired (1) or not (0) "
    "when the module was inspected.",
    "ukeytool_certificate_status": "The certificate's status when the module was "
    "inspected: 1 for the current status, 0 for the others.",
}
"""Every metric family written, in order, with its HELP text. All are gauges."""

_MODULE = ("module",)
_TOKEN = ("module", "token_serial", "token_label")
_CERTIFICATE = (
    *_TOKEN,
    "cert_label",
    "cert_id",
    "subject_cn",
    "issuer_cn",
    "serial",
)
LABELS: dict[str, tuple[str, ...]] = {
    "ukeytool_module_read_success": _MODULE,
    "ukeytool_module_info": (
        *_MODULE,
        "real_path",
        "manufacturer",
        "description",
        "library_version",
        "cryptoki_version",
    ),
    "ukeytool_report_timestamp_seconds": _MODULE,
    "ukeytool_read_errors": (*_MODULE, "slot_id", "where", "code"),
    "ukeytool_token_info": (*_TOKEN, "manufacturer", "model"),
    "ukeytool_token_pin_state": (*_TOKEN, "state"),
    "ukeytool_token_certificates": _TOKEN,
    "ukeytool_certificate_not_before_timestamp_seconds": _CERTIFICATE,
    "ukeytool_certificate_not_after_timestamp_seconds": _CERTIFICATE,
    "ukeytool_certificate_expired": _CERTIFICATE,
    "ukeytool_certificate_status": (*_CERTIFICATE, "status"),
}
"""Each family's label names, in the order they are written."""


def render_prometheus(
    reports: Sequence[Report],
    *,
    failures: Sequence[ModuleFailure] = (),
    show_personal_data: bool = False,
) -> str:
    """The metrics for ``reports`` and the modules that could not be inspected
    (``failures``), in the Prometheus text exposition format (version 0.0.4)."""
    return _Renderer(show_personal_data).render(reports, failures)


def write_textfile(path: str | os.PathLike[str], text: str | Iterable[str | bytes]) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, for node_exporter's textfile collector.

    The text goes to a hidden temporary file in the same directory (named ``.<name>.*.tmp``,
    which the collector's ``*.prom`` pattern does not match), is flushed to disk and then
    renamed over ``path`` with :func:`os.replace`, so a scrape sees the old file or the
    new one, never half of one. Only a regular file is replaced: a ``path`` that exists
    and is anything else (a directory, a device, a FIFO, a socket, or a symbolic link to
    one) raises :class:`NotARegularFile` and nothing is written. The file gets the
    permission bits of the file it replaces (never setuid, setgid or sticky), or
    ``0o644`` less the umask when there was none, so the collector can read it. The
    temporary file is removed when anything fails. ``text`` may come in pieces (an
    iterable of str, or of bytes already UTF-8): each is written as it comes.
    """
    target = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(target))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        mode = 0o644 & ~_umask()
    else:
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(errno.EEXIST, "not a regular file", target)
        mode = stat.S_IMODE(st.st_mode) & 0o777
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            for piece in [text] if isinstance(text, str) else text:
                stream.write(piece if isinstance(piece, bytes) else piece.encode())
            stream.flush()
            os.fchmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class NotARegularFile(OSError):
    """:func:`write_textfile`'s target exists and is not a regular file."""


def _umask() -> int:
    """The process's umask, read without changing it where Linux tells it."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)  # pragma: no cover - not Linux
    os.umask(current)  # pragma: no cover
    return current  # pragma: no cover


def escape_label_value(value: str) -> str:
    """``value`` escaped for a label value between double quotes: ``\\`` ``"`` newline,
    and other control characters written as text (``\\x1b``), one line at a time."""
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    lines = [escape_control(line) for line in value.split("\n")]
    return "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(float(value))


class _Renderer:
    def __init__(self, show_personal_data: bool) -> None:
        self.show = show_personal_data
        self.samples: dict[str, list[tuple[tuple[str, ...], str]]] = {f: [] for f in FAMILIES}
        self.seen: dict[str, set[tuple[str, ...]]] = {f: set() for f in FAMILIES}

    def masked(self, value: str | Text | None) -> str:
        if isinstance(value, Text):
            value = value.value
        return mask_optional(value, show_personal_data=self.show) or ""

    def add(self, family: str, labels: tuple[str, ...], value: float) -> None:
        assert len(labels) == len(LABELS[family]), family
        if labels in self.seen[family]:
            return
        self.seen[family].add(labels)
        self.samples[family].append((labels, _number(value)))

    def render(self, reports: Sequence[Report], failures: Sequence[ModuleFailure]) -> str:
        for report in reports:
            self.report(report)
        for failure in failures:
            module = self.masked(failure.path)
            self.add("ukeytool_module_read_success", (module,), 0)
            self.add("ukeytool_read_errors", (module, "", failure.kind, failure.code_name or ""), 1)
        lines: list[str] = []
        for family, help_text in FAMILIES.items():
            lines.append(f"# HELP {family} {_escape_help(help_text)}")
            lines.append(f"# TYPE {family} gauge")
            names = LABELS[family]
            for labels, value in self.samples[family]:
                pairs = ",".join(
                    f'{name}="{escape_label_value(label)}"'
                    for name, label in zip(names, labels, strict=True)
                )
                lines.append(f"{family}{{{pairs}}} {value}")
        return "\n".join(lines) + "\n"

    def report(self, report: Report) -> None:
        info = report.module
        module = self.masked(info.path)
        self.add("ukeytool_module_read_success", (module,), 1)
        self.add(
            "ukeytool_module_info",
            (
                module,
                self.masked(info.real_path),
                self.masked(info.manufacturer),
                self.masked(info.description),
                f"{info.library_version[0]}.{info.library_version[1]}",
                f"{info.cryptoki_version[0]}.{info.cryptoki_version[1]}",
            ),
            1,
        )
        self.add("ukeytool_report_timestamp_seconds", (module,), _seconds(report.at))
        errors: dict[tuple[str, ...], int] = {}
        for problem in report.problems:
            key: tuple[str, ...] = (module, "", str(problem.where), problem.code_name or "")
            errors[key] = errors.get(key, 0) + 1
        for slot in report.slots:
            for where, code in self.slot_problems(slot):
                key = (module, f"0x{slot.slot.slot_id:x}", where, code)
                errors[key] = errors.get(key, 0) + 1
            self.slot(module, slot)
        for key, count in errors.items():
            self.add("ukeytool_read_errors", key, count)

    @staticmethod
    def slot_problems(slot: SlotReport) -> list[tuple[str, str]]:
        problems = [(str(p.where), p.code_name or "") for p in slot.problems]
        if not slot.complete and not slot.problems:
            problems.append(("C_FindObjects", ""))
        for entry in slot.certificates:
            problems.extend((str(p.where), p.code_name or "") for p in entry.problems)
        return problems

    def slot(self, module: str, slot: SlotReport) -> None:
        token = slot.token
        ident = self.token_labels(module, token)
        if token is not None:
            self.add(
                "ukeytool_token_info",
                (*ident, self.masked(token.manufacturer), self.masked(token.model)),
                1,
            )
            for state in PinState:
                self.add(
                    "ukeytool_token_pin_state",
                    (*ident, state.value),
                    1 if token.pin_state is state else 0,
                )
            self.add("ukeytool_token_certificates", ident, len(slot.certificates))
        for entry in slot.certificates:
            self.certificate(ident, entry)

    def token_labels(self, module: str, token: TokenInfo | None) -> tuple[str, str, str]:
        if token is None:
            return (module, "", "")
        return (module, token.serial.value, self.masked(token.label))

    def certificate(self, ident: tuple[str, str, str], entry: CertificateEntry) -> None:
        cert = entry.certificate
        labels = (
            *ident,
            self.masked(entry.label),
            "" if entry.id is None else entry.id.hex(),
            "" if cert is None else self.masked(cert.subject_cn),
            "" if cert is None else self.masked(cert.issuer_cn),
            "" if cert is None or cert.serial is None else cert.serial,
        )
        if cert is not None and cert.not_before is not None and cert.not_after is not None:
            self.add(
                "ukeytool_certificate_not_before_timestamp_seconds",
                labels,
                _seconds(cert.not_before),
            )
            self.add(
                "ukeytool_certificate_not_after_timestamp_seconds",
                labels,
                _seconds(cert.not_after),
            )
        if entry.status is not Status.UNREADABLE:
            self.add(
                "ukeytool_certificate_expired", labels, 1 if entry.status is Status.EXPIRED else 0
            )
        for status in Status:
            self.add(
                "ukeytool_certificate_status",
                (*labels, status.value),
                1 if entry.status is status else 0,
            )


def _seconds(value: datetime.datetime) -> float:
    """A Unix timestamp; a naive datetime is taken to be UTC, as the model documents."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()
