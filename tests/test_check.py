"""Monitoring-plugin verdicts and personal-data masking: hand-built Report values in,
states, status line, performance data, details and the check JSON out.

The builders here are shared with test_prometheus.py."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ukeytool.errors import UsageError
from ukeytool.i18n.message import Message
from ukeytool.judging.validity import judge
from ukeytool.model import (
    Certificate,
    CertificateEntry,
    ModuleFailure,
    ModuleInfo,
    PinState,
    Problem,
    Report,
    SlotReport,
    Status,
    TokenInfo,
)
from ukeytool.rendering.check import (
    SEVERITY,
    CheckResult,
    CheckState,
    check_reports,
    check_to_dict,
    worst,
)
from ukeytool.rendering.mask import mask_number, mask_personal

from .factories import (
    CKF_TOKEN_INITIALIZED,
    CKF_USER_PIN_INITIALIZED,
    DEFAULT_TOKEN_FLAGS,
    make_module_info,
    make_slot_info,
    make_token_info,
    sentence,
    t,
)

UTC = datetime.timezone.utc
AT = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
WARN = 30
CRIT = 7
SENTINEL = "11010519491231002X"
"""The sample ID-card number of GB 11643 (check digit X): must never leak by default."""
SENTINEL_MASKED = "110***********002X"
PERSONAL_CN = f"051@张三@Z{SENTINEL}@0001"
MODULE_PATH = "/opt/icbc/libicbc_ukey.so"


# -- builders ------------------------------------------------------------------------


def in_days(n: int) -> datetime.datetime:
    """A not_after that gives ``days_left == n`` at :data:`AT`."""
    return AT + datetime.timedelta(days=n, hours=1)


def cert(
    cn: str | None = "Demo User",
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    issuer_cn: str | None = "Demo CA",
    serial: str | None = "1a2b3c",
    error: Message | None = None,
) -> Certificate:
    if not_after is None and error is None:
        not_after = in_days(365)
    if not_before is None and error is None:
        not_before = AT - datetime.timedelta(days=100)
    der = f"{cn}|{issuer_cn}|{serial}|{not_after}".encode()
    return Certificate(
        der=der,
        sha256=hashlib.sha256(der).hexdigest(),
        sha1=hashlib.sha1(der).hexdigest(),
        subject=None if cn is None else f"CN={cn},O=Test",
        subject_cn=cn,
        issuer=None if issuer_cn is None else f"CN={issuer_cn}",
        issuer_cn=issuer_cn,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        error=error,
    )


def entry(
    label: str | None,
    certificate: Certificate | None,
    *,
    ident: bytes | None = b"\x01",
    handle: int = 1,
    problems: tuple[Problem, ...] = (),
) -> CertificateEntry:
    return CertificateEntry(
        handle=handle,
        label=None if label is None else t(label),
        id=ident,
        certificate_type=0,
        private=False,
        certificate=certificate,
        validity=judge(certificate, AT, WARN),
        problems=problems,
    )


def days_entry(label: str, days: int, **kwargs: Any) -> CertificateEntry:
    return entry(label, cert(not_after=in_days(days)), **kwargs)


def token(
    label: str = "工行U盾",
    *,
    serial: str = "5f1c2e3d4a5b6c7d",
    pin_state: PinState = PinState.OK,
    flags: int = DEFAULT_TOKEN_FLAGS,
) -> TokenInfo:
    return make_token_info(
        label,
        serial=serial,
        pin_state=pin_state,
        flags=flags,
        manufacturer="Feitian",
        model="ePass3003",
        hardware_version=(1, 0),
        firmware_version=(1, 0),
    )


def slot(
    slot_id: int = 1,
    tok: TokenInfo | None = None,
    certificates: tuple[CertificateEntry, ...] = (),
    *,
    problems: tuple[Problem, ...] = (),
    complete: bool = True,
    present: bool = True,
) -> SlotReport:
    info = make_slot_info(
        slot_id, "USB Key", present=present, manufacturer="Feitian", version=(1, 0)
    )
    return SlotReport(info, tok, certificates, problems=problems, complete=complete)


def module_info(path: str = MODULE_PATH) -> ModuleInfo:
    return make_module_info(
        path,
        manufacturer="Feitian",
        description="ePass PKCS#11",
        cryptoki_version=(2, 20),
        library_version=(1, 2),
    )


def report(
    *slots: SlotReport, problems: tuple[Problem, ...] = (), path: str = MODULE_PATH
) -> Report:
    return Report(module_info(path), tuple(slots), AT, WARN, problems)


def one_token(*certificates: CertificateEntry, **token_args: Any) -> Report:
    return report(slot(1, token(**token_args), certificates))


DEVICE_ERROR = Problem(
    "C_GetTokenInfo",
    sentence("cannot read the token: CKR_DEVICE_ERROR"),
    0x30,
    "CKR_DEVICE_ERROR",
    says_code=True,
)


def check(*reports: Report, **kwargs: Any) -> CheckResult:
    return check_reports(
        reports,
        warn_days=kwargs.pop("warn_days", WARN),
        crit_days=kwargs.pop("crit_days", CRIT),
        **kwargs,
    )


# -- states ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "state"),
    [
        pytest.param(-5, CheckState.CRITICAL, id="expired"),
        pytest.param(-1, CheckState.CRITICAL, id="expired-just-now"),
        pytest.param(0, CheckState.CRITICAL, id="last-day"),
        pytest.param(CRIT - 1, CheckState.CRITICAL, id="crit-1"),
        pytest.param(CRIT, CheckState.CRITICAL, id="crit"),
        pytest.param(CRIT + 1, CheckState.WARNING, id="crit+1"),
        pytest.param(WARN, CheckState.WARNING, id="warn"),
        pytest.param(WARN + 1, CheckState.OK, id="warn+1"),
        pytest.param(364, CheckState.OK, id="a-year"),
    ],
)
def test_days_left_thresholds(days: int, state: CheckState) -> None:
    result = check(one_token(days_entry("sign", days)))
    (verdict,) = result.certificates
    assert verdict.days_left == days
    assert verdict.state is state
    assert result.state is state
    assert result.exit_code == int(state)


def test_exactly_at_not_after_is_critical_not_expired() -> None:
    result = check(one_token(entry("sign", cert(not_after=AT))))
    (verdict,) = result.certificates
    assert verdict.status is Status.EXPIRING
    assert verdict.days_left == 0
    assert verdict.state is CheckState.CRITICAL
    assert result.summary == f"1 expiring within {CRIT} days"


def test_thresholds_are_the_checks_own_not_the_reports() -> None:
    # The report judged with warn_days=30; a check with 60 warns on a 45-day certificate.
    result = check(one_token(days_entry("sign", 45)), warn_days=60)
    assert result.state is CheckState.WARNING
    assert check(one_token(days_entry("sign", 45))).state is CheckState.OK


def test_crit_equal_to_warn_leaves_no_warning_band() -> None:
    result = check(one_token(days_entry("a", 10), days_entry("b", 11)), warn_days=10, crit_days=10)
    assert [v.state for v in result.certificates] == [CheckState.CRITICAL, CheckState.OK]


def test_zero_thresholds() -> None:
    result = check(one_token(days_entry("a", 0), days_entry("b", 1)), warn_days=0, crit_days=0)
    assert [v.state for v in result.certificates] == [CheckState.CRITICAL, CheckState.OK]


def test_not_yet_valid_is_critical() -> None:
    future = cert(not_before=in_days(10), not_after=in_days(400))
    result = check(one_token(entry("future", future)))
    (verdict,) = result.certificates
    assert verdict.status is Status.NOT_YET_VALID
    assert verdict.state is CheckState.CRITICAL
    assert "not valid before 2026-12-01 13:00 UTC" in verdict.reason
    assert result.summary == "1 not yet valid"


def test_expired_reason_and_summary() -> None:
    result = check(one_token(days_entry("old", -5), days_entry("new", 364)))
    assert result.state is CheckState.CRITICAL
    assert result.certificates[0].reason == "expired on 2026-11-16 13:00 UTC"
    assert result.summary == "1 expired, 1 ok"


def test_unreadable_certificate_is_unknown() -> None:
    broken = cert(
        None, issuer_cn=None, serial=None, error=sentence("not a certificate: bad DER length")
    )
    result = check(one_token(entry("broken", broken), days_entry("fine", 100)))
    assert result.state is CheckState.UNKNOWN
    assert result.certificates[0].state is CheckState.UNKNOWN
    assert result.certificates[0].reason == "unreadable: not a certificate: bad DER length"
    assert result.summary == "1 unreadable, 1 ok"


def test_value_not_readable_is_unknown_with_the_attribute_message() -> None:
    problem = Problem(
        "CKA_VALUE",
        sentence("the certificate's value could not be read"),
        0x11,
        "CKR_ATTRIBUTE_SENSITIVE",
    )
    result = check(one_token(entry(None, None, ident=None, handle=7, problems=(problem,))))
    (verdict,) = result.certificates
    assert verdict.state is CheckState.UNKNOWN
    assert verdict.reason == "unreadable: the certificate's value could not be read"
    assert verdict.name == "object 7@工行U盾"
    # The attribute problem is part of the unreadable verdict, not a separate note.
    assert result.problems == ()


@pytest.mark.parametrize(
    ("pin_state", "state"),
    [
        (PinState.OK, CheckState.OK),
        (PinState.COUNT_LOW, CheckState.OK),
        (PinState.FINAL_TRY, CheckState.WARNING),
        (PinState.LOCKED, CheckState.CRITICAL),
        (PinState.MUST_BE_CHANGED, CheckState.OK),
        (PinState.USER_PIN_NOT_SET, CheckState.OK),
        (PinState.NOT_INITIALISED, CheckState.OK),
    ],
)
def test_pin_states(pin_state: PinState, state: CheckState) -> None:
    result = check(one_token(days_entry("sign", 364), pin_state=pin_state))
    (verdict,) = result.tokens
    assert verdict.pin_state is pin_state
    assert verdict.state is state
    assert result.state is state


def test_locked_and_final_try_summary() -> None:
    result = check(
        report(
            slot(1, token("a", serial="1", pin_state=PinState.LOCKED), (days_entry("x", 364),)),
            slot(2, token("b", serial="2", pin_state=PinState.FINAL_TRY), (days_entry("y", 364),)),
        )
    )
    assert result.state is CheckState.CRITICAL
    assert result.summary == "1 token with PIN locked, 1 token with PIN on its final try, 2 ok"


def test_module_problem_is_unknown() -> None:
    problem = Problem("C_GetSlotList", sentence("the slot list changed while it was read"))
    result = check(report(slot(1, token(), (days_entry("sign", 364),)), problems=(problem,)))
    assert result.state is CheckState.UNKNOWN
    (verdict,) = result.problems
    assert (verdict.slot_id, verdict.where, verdict.state) == (
        None,
        "C_GetSlotList",
        CheckState.UNKNOWN,
    )
    assert result.summary == "1 read error, 1 ok"


def test_slot_problem_is_unknown() -> None:
    result = check(
        report(
            slot(1, token(), (days_entry("sign", 364),)), slot(2, None, problems=(DEVICE_ERROR,))
        )
    )
    assert result.state is CheckState.UNKNOWN
    (verdict,) = result.problems
    assert verdict.slot_id == 2
    assert verdict.code_name == "CKR_DEVICE_ERROR"
    assert (
        "[UNKNOWN] /opt/icbc/libicbc_ukey.so slot 0x2: C_GetTokenInfo: "
        "cannot read the token: CKR_DEVICE_ERROR; the slot was not fully read" in result.details()
    )


def test_incomplete_listing_without_problem_is_unknown() -> None:
    result = check(report(slot(1, token(), (days_entry("sign", 364),), complete=False)))
    assert result.state is CheckState.UNKNOWN
    assert result.problems[0].where == "C_FindObjects"


def test_virtual_slot_invalid_is_a_note() -> None:
    invalid = Problem(
        "C_GetTokenInfo",
        sentence("cannot read the token: CKR_SLOT_ID_INVALID"),
        0x3,
        "CKR_SLOT_ID_INVALID",
    )
    result = check(
        report(slot(1, token(), (days_entry("sign", 364),)), slot(9, None, problems=(invalid,)))
    )
    assert result.state is CheckState.OK
    assert result.problems[0].state is CheckState.OK
    assert result.summary == "1 ok"


def test_attribute_problem_on_judged_certificate_is_a_note() -> None:
    problem = Problem(
        "CKA_PRIVATE", sentence("C_GetAttributeValue failed"), 0x12, "CKR_ATTRIBUTE_TYPE_INVALID"
    )
    result = check(one_token(days_entry("sign", 364, problems=(problem,))))
    assert result.state is CheckState.OK
    (note,) = result.problems
    assert note.state is CheckState.OK
    assert note.certificate == "sign@工行U盾"


def test_failed_module_is_unknown() -> None:
    failure = ModuleFailure(
        "/opt/gone/libgone.so", "ModuleNotFound", sentence("no file at /opt/gone/libgone.so")
    )
    result = check(one_token(days_entry("sign", 364)), failures=[failure])
    assert result.state is CheckState.UNKNOWN
    assert result.summary == "1 module not inspected, 1 ok"
    (verdict,) = result.problems
    assert verdict.where == "ModuleNotFound"
    assert verdict.module == "/opt/gone/libgone.so"


def test_only_failed_modules() -> None:
    failure = ModuleFailure(
        "/x.so", "ModuleCallFailed", sentence("C_Initialize failed"), 0x6, "CKR_FUNCTION_FAILED"
    )
    result = check(failures=[failure])
    assert result.state is CheckState.UNKNOWN
    assert result.no_certificates is None
    assert result.status_line() == "UKEYTOOL UNKNOWN - 1 module not inspected"
    assert result.details() == [
        "[UNKNOWN] /x.so: ModuleCallFailed: C_Initialize failed (CKR_FUNCTION_FAILED); "
        "the module could not be inspected"
    ]


@pytest.mark.parametrize(
    ("reports", "reason"),
    [
        pytest.param((), "no PKCS#11 module was inspected", id="no-modules"),
        pytest.param(
            (report(),),
            "no certificates: the module lists no slot "
            "(no reader, or no reader service: is pcscd running?)",
            id="no-slots",
        ),
        pytest.param(
            (report(), report()),
            "no certificates: no module lists a slot "
            "(no reader, or no reader service: is pcscd running?)",
            id="no-slots-anywhere",
        ),
        pytest.param(
            (report(slot(1, None, present=False)),),
            "no certificates: no token present",
            id="empty-slot",
        ),
        pytest.param(
            (report(slot(1, token())),),
            "no certificates visible without login (private certificates may be hidden)",
            id="login-required",
        ),
        pytest.param(
            (report(slot(1, token(flags=CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED))),),
            "no certificates on any token",
            id="public-token",
        ),
    ],
)
def test_no_certificates_is_unknown(reports: tuple[Report, ...], reason: str) -> None:
    result = check(*reports)
    assert result.state is CheckState.UNKNOWN
    assert result.no_certificates == reason
    assert result.certificates == ()
    assert result.status_line() == f"UKEYTOOL UNKNOWN - {reason}"
    assert result.details()[0] == f"[UNKNOWN] {reason}"


def test_no_certificates_but_locked_is_critical() -> None:
    result = check(report(slot(1, token(pin_state=PinState.LOCKED))))
    assert result.state is CheckState.CRITICAL
    assert result.summary.startswith("no certificates visible without login")


# -- ordering -------------------------------------------------------------------------


def test_severity_order() -> None:
    assert SEVERITY == (CheckState.OK, CheckState.WARNING, CheckState.UNKNOWN, CheckState.CRITICAL)
    assert worst([]) is CheckState.OK
    assert worst([CheckState.UNKNOWN, CheckState.CRITICAL]) is CheckState.CRITICAL
    assert worst([CheckState.WARNING, CheckState.UNKNOWN]) is CheckState.UNKNOWN
    assert worst([CheckState.OK, CheckState.WARNING]) is CheckState.WARNING
    assert [int(s) for s in CheckState] == [0, 1, 2, 3]


def test_critical_beats_unknown() -> None:
    result = check(
        report(slot(1, token(), (days_entry("old", -1),)), slot(2, None, problems=(DEVICE_ERROR,)))
    )
    assert result.state is CheckState.CRITICAL
    assert result.summary == "1 expired, 1 read error"


def test_unknown_beats_warning() -> None:
    result = check(
        report(slot(1, token(), (days_entry("soon", 20),)), slot(2, None, problems=(DEVICE_ERROR,)))
    )
    assert result.state is CheckState.UNKNOWN
    assert result.summary == "1 read error, 1 expiring within 30 days"


def test_details_worst_first() -> None:
    result = check(
        one_token(
            days_entry("ok", 364, handle=1),
            days_entry("warn", 20, handle=2),
            days_entry("crit", 3, handle=3),
        )
    )
    states = [line.split("]")[0] + "]" for line in result.details()]
    assert states == ["[CRITICAL]", "[WARNING]", "[OK]", "[OK]"]  # the token's line is OK too


# -- thresholds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("warn", "crit"), [(7, 30), (-1, 0), (30, -1), (True, 0), (30, 7.5), (30, "7")]
)
def test_bad_thresholds(warn: Any, crit: Any) -> None:
    with pytest.raises(UsageError):
        check_reports([], warn_days=warn, crit_days=crit)


def test_crit_greater_than_warn_message() -> None:
    with pytest.raises(
        UsageError, match=r"crit_days \(30\) must not be greater than warn_days \(7\)"
    ):
        check_reports([], warn_days=7, crit_days=30)


def test_defaults() -> None:
    result = check_reports([one_token(days_entry("sign", 364))])
    assert (result.warn_days, result.crit_days) == (30, 7)


# -- status line and performance data ------------------------------------------------

# The Nagios Plugin Development Guidelines' performance data and range syntax, written
# from the guidelines (not from ukeytool): 'label'=value[UOM];[warn];[crit];[min];[max],
# each threshold a range [@]start:end where start defaults to 0, "~" is minus infinity,
# an empty end is infinity, "N" alone is 0:N; alert when the value is outside the range
# (start and end included in it), or inside it with "@".

_NUMBER = r"-?\d+(?:\.\d+)?"
_RANGE = re.compile(rf"(@)?(?:(~|{_NUMBER})?(:))?({_NUMBER})?")
_PERF = re.compile(
    rf"'((?:[^']|'')+)'=({_NUMBER})([a-zA-Z%]*)"
    r"(?:;([^; ]*))?(?:;([^; ]*))?(?:;([^; ]*))?(?:;([^; ]*))?"
)


@dataclasses.dataclass(frozen=True)
class Range:
    start: float
    end: float
    inside: bool = False

    def alerts(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within


def parse_range(text: str) -> Range:
    match = _RANGE.fullmatch(text)
    assert match, f"not a range: {text!r}"
    assert text not in ("", "@"), f"not a range: {text!r}"
    inside, start, colon, end = match.groups()
    assert colon or end is not None, f"not a range: {text!r}"
    low = float("-inf") if start == "~" else float(start or 0)
    high = float("inf") if end is None else float(end)
    assert low <= high, f"start above end: {text!r}"
    return Range(low, high, inside=bool(inside))


@dataclasses.dataclass(frozen=True)
class Perf:
    label: str
    value: float
    uom: str
    warn: Range | None
    crit: Range | None


def parse_perfdata(text: str) -> list[Perf]:
    """Performance data as the plugin guidelines define it: quoted labels, '' inside."""
    out = []
    pos = 0
    while pos < len(text):
        match = _PERF.match(text, pos)
        assert match, text[pos:]
        label, value, uom, warn, crit, low, high = match.groups()
        for bound in (low, high):
            assert not bound or re.fullmatch(_NUMBER, bound)
        out.append(
            Perf(
                label.replace("''", "'"),
                float(value),
                uom,
                parse_range(warn) if warn else None,
                parse_range(crit) if crit else None,
            )
        )
        pos = match.end()
        if pos < len(text):
            assert text[pos] == " "
            pos += 1
    return out


def perf_state(perf: Perf) -> CheckState:
    """The state a monitoring system derives from the performance data alone."""
    if perf.crit is not None and perf.crit.alerts(perf.value):
        return CheckState.CRITICAL
    if perf.warn is not None and perf.warn.alerts(perf.value):
        return CheckState.WARNING
    return CheckState.OK


def labels_and_values(text: str) -> list[tuple[str, float]]:
    return [(perf.label, perf.value) for perf in parse_perfdata(text)]


@pytest.mark.parametrize(
    ("text", "alerting", "quiet"),
    [
        ("10", [-1, 11], [0, 10]),
        ("10:", [9, -3], [10, 11, 1000]),
        ("~:10", [11], [10, -1000]),
        ("10:20", [9, 21], [10, 20]),
        ("@10:20", [10, 15, 20], [9, 21]),
    ],
)
def test_the_range_grammar_of_the_guidelines(
    text: str, alerting: list[int], quiet: list[int]
) -> None:
    # The guidelines' own examples, so that the parser used below is the guidelines'.
    threshold = parse_range(text)
    assert all(threshold.alerts(value) for value in alerting)
    assert not any(threshold.alerts(value) for value in quiet)


@pytest.mark.parametrize(("warn", "crit"), [(30, 7), (0, 0), (10, 10), (60, 1)])
def test_perfdata_thresholds_say_what_the_plugin_judged(warn: int, crit: int) -> None:
    days = list(range(-3, 70))
    entries = [days_entry(f"c{n}", n, handle=i + 1) for i, n in enumerate(days)]
    result = check(one_token(*entries), warn_days=warn, crit_days=crit)
    perfs = {perf.label: perf for perf in parse_perfdata(result.perfdata())}
    assert len(perfs) == len(days)
    for verdict in result.certificates:
        perf = perfs[verdict.name]
        assert perf.value == verdict.days_left
        assert perf.warn == Range(warn + 1, float("inf"))
        assert perf.crit == Range(crit + 1, float("inf"))
        assert perf_state(perf) == verdict.state, (verdict.days_left, verdict.reason)
    # The documented default: 30 days left is WARNING, 7 is CRITICAL.
    if (warn, crit) == (30, 7):
        assert "'c30@工行U盾'=30;31:;8:" in result.perfdata()


def test_status_line_format() -> None:
    result = check(
        one_token(
            days_entry("sign", 364, handle=1),
            days_entry("enc", 20, handle=2),
            days_entry("old", -3, handle=3),
            days_entry("soon", 5, handle=4),
        )
    )
    assert result.status_line() == (
        "UKEYTOOL CRITICAL - 1 expired, 1 expiring within 7 days, 1 expiring within 30 days, 1 ok"
        " | 'sign@工行U盾'=364;31:;8: 'enc@工行U盾'=20;31:;8:"
        " 'old@工行U盾'=-3;31:;8: 'soon@工行U盾'=5;31:;8:"
    )
    assert result.output().splitlines()[0] == result.status_line()
    assert result.output().endswith("\n")
    assert result.output().splitlines()[1:] == result.details()


def test_perfdata_quoting() -> None:
    result = check(
        one_token(
            days_entry("it's a=b c", 100, handle=1),
            days_entry("''", 200, handle=2),
            label="tok en",
        )
    )
    perf = result.status_line().split(" | ", 1)[1]
    assert perf == "'it''s a_b c@tok en'=100;31:;8: '''''@tok en'=200;31:;8:"
    assert labels_and_values(perf) == [("it's a_b c@tok en", 100), ("''@tok en", 200)]


def test_unreadable_has_no_perfdata() -> None:
    broken = cert(None, error=sentence("bad"))
    result = check(one_token(entry("broken", broken, handle=1), days_entry("fine", 100, handle=2)))
    assert labels_and_values(result.perfdata()) == [("fine@工行U盾", 100)]


def test_output_cannot_be_broken_by_labels() -> None:
    evil = "a|b\nc\x1b[2J"
    result = check(one_token(days_entry(evil, 100), label="x|y\nz"))
    text = result.output()
    lines = text.splitlines()
    assert len(lines) == 1 + len(result.details())
    assert lines[0].count("|") == 1  # only the performance data separator
    assert all("|" not in line for line in lines[1:])
    assert "\x1b" not in text
    assert "'a¦b\\nc\\x1b[2J@x¦y\\nz'=100;31:;8:" in lines[0]


def test_names_are_unique() -> None:
    result = check(
        report(
            slot(
                1,
                token("U盾", serial="1"),
                (days_entry("sign", 100, handle=1), days_entry("sign", 200, handle=2)),
            ),
            slot(2, token("U盾", serial="2"), (days_entry("sign", 300, handle=1),)),
            slot(
                3,
                token("", serial=""),
                (
                    entry(None, cert("Subject CN"), ident=None, handle=4),
                    entry("", None, ident=b"\xab", handle=5),
                ),
            ),
        )
    )
    assert [v.name for v in result.certificates] == [
        "sign@U盾",
        "sign@U盾 #2",
        "sign@U盾 #3",
        "Subject CN@slot 0x3",
        "id ab@slot 0x3",
    ]
    assert len({label for label, _value in labels_and_values(result.perfdata())}) == 4


# -- JSON ---------------------------------------------------------------------------


def test_check_to_dict() -> None:
    failure = ModuleFailure("/x.so", "ModuleNotFound", sentence("no file at /x.so"))
    result = check(
        report(
            slot(
                1,
                token(pin_state=PinState.FINAL_TRY),
                (days_entry("sign", 364, handle=1), days_entry("old", -2, handle=2)),
            ),
            slot(2, None, problems=(DEVICE_ERROR,)),
        ),
        failures=[failure],
    )
    document = check_to_dict(result)
    assert json.loads(json.dumps(document, ensure_ascii=False)) == document
    assert document["state"] == "CRITICAL"
    assert document["state_code"] == 2 == result.exit_code
    assert document["status_line"] == result.status_line()
    assert document["at"] == "2026-11-21T12:00:00Z"
    assert (document["warn_days"], document["crit_days"]) == (30, 7)
    assert [
        (c["label"], c["status"], c["days_left"], c["state"], c["state_code"])
        for c in document["certificates"]
    ] == [
        ("sign", "valid", 364, "OK", 0),
        ("old", "expired", -2, "CRITICAL", 2),
    ]
    assert document["certificates"][1]["not_after"] == "2026-11-19T13:00:00Z"
    assert [(t["pin_state"], t["state"], t["state_code"]) for t in document["tokens"]] == [
        ("final_try", "WARNING", 1)
    ]
    assert [
        (p["where"], p["code_name"], p["slot_id"], p["state"]) for p in document["problems"]
    ] == [
        ("ModuleNotFound", None, None, "UNKNOWN"),
        ("C_GetTokenInfo", "CKR_DEVICE_ERROR", 2, "UNKNOWN"),
    ]
    # The JSON carries the same verdicts as the exit code.
    states = [c["state_code"] for c in document["certificates"]]
    states += [t["state_code"] for t in document["tokens"]] + [
        p["state_code"] for p in document["problems"]
    ]
    assert worst(CheckState(s) for s in states) is result.state


def test_check_to_dict_empty() -> None:
    document = check_to_dict(check())
    assert document["state"] == "UNKNOWN"
    assert document["at"] is None
    assert document["no_certificates"] == "no PKCS#11 module was inspected"


# -- personal data --------------------------------------------------------------------


def personal_report() -> Report:
    """The sentinel ID number everywhere a token or certificate can carry text."""
    personal = cert(PERSONAL_CN, issuer_cn="CFCA ACS OCA31", not_after=in_days(3))
    broken = cert(None, error=sentence(f"subject {PERSONAL_CN} is not valid"))
    problem = Problem("CKA_LABEL", sentence(f"label of {SENTINEL} unreadable"))
    return report(
        slot(
            1,
            token(f"U盾 {SENTINEL}"),
            (
                entry(PERSONAL_CN, personal, handle=1, problems=(problem,)),
                entry(None, personal, ident=b"\x02", handle=2),
                entry(f"enc {SENTINEL}", broken, ident=b"\x03", handle=3),
            ),
        ),
        slot(2, None, problems=(Problem("C_OpenSession", sentence(f"token {SENTINEL} failed")),)),
    )


def test_check_masks_personal_data_by_default() -> None:
    result = check(personal_report())
    text = result.output() + json.dumps(check_to_dict(result), ensure_ascii=False)
    assert SENTINEL not in text
    assert SENTINEL[:-1] not in text
    assert f"051@张三@Z{SENTINEL_MASKED}@0001" in text
    assert result.certificates[0].subject_cn == f"051@张三@Z{SENTINEL_MASKED}@0001"


def test_check_shows_personal_data_when_asked() -> None:
    result = check(personal_report(), show_personal_data=True)
    assert PERSONAL_CN in result.output()
    assert result.certificates[0].subject_cn == PERSONAL_CN
    assert SENTINEL in json.dumps(check_to_dict(result), ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        pytest.param(PERSONAL_CN, f"051@张三@Z{SENTINEL_MASKED}@0001", id="cfca-personal"),
        pytest.param(
            f"CN={PERSONAL_CN},OU=Individual-1,OU=Local RA,O=CFCA OCA1,C=CN",
            f"CN=051@张三@Z{SENTINEL_MASKED}@0001,OU=Individual-1,OU=Local RA,O=CFCA OCA1,C=CN",
            id="cfca-personal-in-dn",
        ),
        pytest.param("051@李四@PE12345678@0002", "051@李四@P*********@0002", id="passport-short"),
        pytest.param(
            "051@王五@Z110105491231002@1", "051@王五@Z110********1002@1", id="old-id-in-cn"
        ),
        pytest.param(
            "051@赵六@Z11010519491331002X@1", "051@赵六@Z110***********002X@1", id="cn-field-always"
        ),
        pytest.param(SENTINEL, SENTINEL_MASKED, id="bare-18"),
        pytest.param(SENTINEL.lower(), SENTINEL_MASKED.lower(), id="bare-18-lower-x"),
        pytest.param("id 110105491231002 old", "id 110********1002 old", id="bare-15"),
        pytest.param(f"x{SENTINEL}y", f"x{SENTINEL_MASKED}y", id="bare-between-letters"),
        pytest.param(f"{SENTINEL}XＸ", f"{SENTINEL_MASKED}XＸ", id="bare-18-then-x"),
        pytest.param("110105491231002X", "110********1002X", id="bare-15-then-x"),
        pytest.param(
            "１１０１０５１９４９１２３１００２Ｘ", "１１０***********００２Ｘ", id="full-width"
        ),
        pytest.param(
            f"041@Z{SENTINEL}@某某商店@0001",
            f"041@Z{SENTINEL_MASKED}@某某商店@0001",
            id="cfca-org-personal-code",
        ),
        pytest.param("041@91350100M000100Y43@某某公司@0001", None, id="cfca-org-credit-code"),
        pytest.param("041@N123456789@某某公司@0001", None, id="cfca-org-code"),
        pytest.param("5f1c2e3d4a5b6c7d", None, id="hex-serial"),
        pytest.param(SENTINEL[:-1] + "5" + "12", None, id="longer-digit-run"),
        pytest.param("110105194913310020", None, id="bad-month"),
        pytest.param("010105194912310020", None, id="region-zero"),
        pytest.param("", None, id="empty"),
        pytest.param("张三 Demo CA", None, id="names-kept"),
    ],
)
def test_mask_personal(text: str, masked: str | None) -> None:
    expected = text if masked is None else masked
    assert mask_personal(text) == expected
    assert len(mask_personal(text)) == len(text)
    assert mask_personal(expected) == expected


def test_mask_number() -> None:
    assert mask_number(SENTINEL) == SENTINEL_MASKED
    assert mask_number("110105491231002") == "110********1002"
    assert mask_number("E1234567") == "********"
    assert mask_number("") == ""


_NOT_DIGIT = st.characters(exclude_categories=["Nd"])


@given(st.text(_NOT_DIGIT, max_size=20), st.text(_NOT_DIGIT, max_size=20))
def test_mask_personal_finds_an_id_anywhere(before: str, after: str) -> None:
    masked = mask_personal(before + SENTINEL + after)
    assert SENTINEL not in masked
    assert len(masked) == len(before) + len(SENTINEL) + len(after)


@given(st.text(max_size=60))
def test_mask_personal_keeps_length_and_is_idempotent(text: str) -> None:
    once = mask_personal(text)
    assert len(once) == len(text)
    assert mask_personal(once) == once


def test_result_is_frozen() -> None:
    result = check(one_token(days_entry("sign", 364)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.state = CheckState.OK  # type: ignore[misc]
