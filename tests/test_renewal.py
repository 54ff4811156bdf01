"""Renewal advice: the policy files (shipped, user, --renewal-policies), which bank, the
phases at every window edge of every shipped policy, the token's most urgent action, and
the advice in the listing, the JSON and the check, end to end on a SoftHSM token."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import ukeytool
from ukeytool.cli import ExitCode, main
from ukeytool.config.discovery import SHIPPED_CATALOGUE, load_catalogue
from ukeytool.errors import UsageError
from ukeytool.judging.renewal import (
    CHINA_STANDARD_TIME,
    SHIPPED_POLICIES,
    RenewalPolicyError,
    add_months,
    advice_message,
    advice_summary,
    advise,
    advise_certificate,
    bank_message,
    choose_bank,
    default_policy_paths,
    load_policies,
    token_advice_message,
    user_policies_path,
)
from ukeytool.judging.validity import judge
from ukeytool.model import (
    BankRule,
    Certificate,
    CertificateEntry,
    PinState,
    RenewalAction,
    RenewalPhase,
    Report,
    SlotReport,
    WindowState,
)
from ukeytool.rendering.check import check_reports, check_to_dict
from ukeytool.rendering.json import report_to_dict
from ukeytool.rendering.text import render_text

from .conftest import FIXED_NOW, Bank
from .factories import make_module_info, make_slot_info, make_token_info, t

UTC = datetime.timezone.utc
CST = CHINA_STANDARD_TIME
# The expiry day of every certificate below is 2030-07-01 in China Standard Time, though
# not_after is still 2030-06-30 in UTC: a UTC day count would be one day off.
NOT_AFTER = datetime.datetime(2030, 6, 30, 16, 30, tzinfo=UTC)
EXPIRY_DAY = datetime.date(2030, 7, 1)
POLICIES = load_policies([SHIPPED_POLICIES])
CATALOGUE = load_catalogue([SHIPPED_CATALOGUE])


def cert(
    issuer_cn: str | None = "CFCA OCA1",
    not_after: datetime.datetime = NOT_AFTER,
    *,
    is_ca: bool | None = None,
    self_signed: bool | None = False,
) -> Certificate:
    der = f"{issuer_cn}|{not_after}|{is_ca}".encode()
    return Certificate(
        der=der,
        sha256=hashlib.sha256(der).hexdigest(),
        sha1=hashlib.sha1(der).hexdigest(),
        subject="CN=051@张三@Z000000000000000000@0001,O=CFCA OCA1,C=CN",
        subject_cn="051@张三@Z000000000000000000@0001",
        issuer=None if issuer_cn is None else f"CN={issuer_cn},C=CN",
        issuer_cn=issuer_cn,
        not_before=not_after - datetime.timedelta(days=1826),
        not_after=not_after,
        is_ca=is_ca,
        self_signed=self_signed,
    )


def entry(
    certificate: Certificate | None,
    at: datetime.datetime,
    *,
    label: str = "sign",
    handle: int = 1,
    warn_days: int = 30,
) -> CertificateEntry:
    return CertificateEntry(
        handle=handle,
        label=t(label),
        id=bytes([handle]),
        certificate_type=0,
        private=False,
        certificate=certificate,
        validity=judge(certificate, at, warn_days),
    )


def day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, tzinfo=CST)


def day_end(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=CST)


def advice_at(moment: datetime.datetime, bank: str | None, **kwargs: Any) -> ukeytool.Advice:
    return advise_certificate(
        entry(cert(**kwargs), moment), moment, policies=POLICIES, bank=bank, catalogue=CATALOGUE
    )


# --- the shipped policies -----------------------------------------------------------


def renewal_schema() -> dict[str, Any]:
    text = (resources.files("ukeytool") / "schema" / "renewal.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def test_shipped_policies_match_their_schema() -> None:
    schema = renewal_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    shipped = json.loads(SHIPPED_POLICIES.read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(shipped)


def test_shipped_numbers_are_the_domain_notes() -> None:
    """The numbers of docs/renewal.md's table (from the domain notes), pinned."""

    def windows(policy_id: str) -> list[tuple[str, Any, Any]]:
        policy = POLICIES.get(policy_id)
        assert policy is not None
        return [
            (
                c.channel,
                None if c.opens_before is None else (c.opens_before.amount, c.opens_before.unit),
                None if c.closes_after is None else (c.closes_after.amount, c.closes_after.unit),
            )
            for c in policy.channels
        ]

    assert windows("icbc-ushield") == [
        ("online_banking", (90, "days"), (1800, "days")),
        ("mobile_app", (90, "days"), (30, "days")),
    ]
    assert windows("abc-kbao") == [("online_banking", (3, "months"), (0, "days"))]
    assert windows("ccb-wangyindun-gd") == [("online_banking", (1, "months"), (3, "months"))]
    assert windows("ccb-wangyindun") == [("online_banking", None, (0, "days"))]
    assert windows("boc-ebox") == [("online", None, (0, "days"))]
    assert windows("generic") == [("bank", None, (0, "days"))]
    by_id = {p.id: p for p in POLICIES.policies}
    assert by_id["icbc-ushield"].validity_years == (5,)
    assert by_id["abc-kbao"].validity_years == (2, 5)
    assert by_id["ccb-wangyindun"].validity_years == (2, 5)
    assert by_id["boc-ebox"].validity_years == (5,)
    assert by_id["icbc-ushield"].bring == ("id_card", "bank_card", "key")
    assert by_id["icbc-ushield"].channels[1].key_types == ("通用U盾",)
    assert {p.id: p.confidence for p in POLICIES.policies} == {
        "icbc-ushield": "medium",
        "abc-kbao": "medium",
        "ccb-wangyindun-gd": "low",
        "ccb-wangyindun": "low",
        "boc-ebox": "low",
        "generic": None,
    }
    assert all(p.sources for p in POLICIES.policies)
    assert [(h.issuer, h.bank) for h in POLICIES.issuer_hints] == [
        (("ICBC*",), "ICBC"),
        (("CCB CA*",), "CCB"),
        (("ABC*",), "ABC"),
        (("BOCOMCA*",), "BOCOM"),
    ]


# --- every edge of every shipped policy: the day before, on and after ---------------

_N, _O, _C = WindowState.NOT_OPEN, WindowState.OPEN, WindowState.CLOSED
_NOT_OPEN, _ONLINE, _BRANCH = (
    RenewalPhase.NOT_OPEN,
    RenewalPhase.ONLINE_OPEN,
    RenewalPhase.BRANCH_ONLY,
)

# (policy, day, phase, each channel's state) for the day before, on and after each edge.
EDGES = [
    # ICBC: both channels open 90 days before expiry (2030-04-02) ...
    ("icbc-ushield", "2030-04-01", _NOT_OPEN, (_N, _N)),
    ("icbc-ushield", "2030-04-02", _ONLINE, (_O, _O)),
    ("icbc-ushield", "2030-04-03", _ONLINE, (_O, _O)),
    # ... the app closes 30 days after (2030-07-31) ...
    ("icbc-ushield", "2030-07-30", _ONLINE, (_O, _O)),
    ("icbc-ushield", "2030-07-31", _ONLINE, (_O, _O)),
    ("icbc-ushield", "2030-08-01", _ONLINE, (_O, _C)),
    # ... online banking 1800 days after (2035-06-05).
    ("icbc-ushield", "2035-06-04", _ONLINE, (_O, _C)),
    ("icbc-ushield", "2035-06-05", _ONLINE, (_O, _C)),
    ("icbc-ushield", "2035-06-06", _BRANCH, (_C, _C)),
    # ABC: 3 calendar months before (2030-04-01) to the expiry day.
    ("abc-kbao", "2030-03-31", _NOT_OPEN, (_N,)),
    ("abc-kbao", "2030-04-01", _ONLINE, (_O,)),
    ("abc-kbao", "2030-04-02", _ONLINE, (_O,)),
    ("abc-kbao", "2030-06-30", _ONLINE, (_O,)),
    ("abc-kbao", "2030-07-01", _ONLINE, (_O,)),
    ("abc-kbao", "2030-07-02", _BRANCH, (_C,)),
    # CCB G&D keys: 1 month before (2030-06-01) to 3 months after (2030-10-01).
    ("ccb-wangyindun-gd", "2030-05-31", _NOT_OPEN, (_N,)),
    ("ccb-wangyindun-gd", "2030-06-01", _ONLINE, (_O,)),
    ("ccb-wangyindun-gd", "2030-06-02", _ONLINE, (_O,)),
    ("ccb-wangyindun-gd", "2030-09-30", _ONLINE, (_O,)),
    ("ccb-wangyindun-gd", "2030-10-01", _ONLINE, (_O,)),
    ("ccb-wangyindun-gd", "2030-10-02", _BRANCH, (_C,)),
    # CCB, BOC and the generic policy: any time before, through the expiry day.
    ("ccb-wangyindun", "2020-01-01", _ONLINE, (_O,)),
    ("ccb-wangyindun", "2030-06-30", _ONLINE, (_O,)),
    ("ccb-wangyindun", "2030-07-01", _ONLINE, (_O,)),
    ("ccb-wangyindun", "2030-07-02", _BRANCH, (_C,)),
    ("boc-ebox", "2020-01-01", _ONLINE, (_O,)),
    ("boc-ebox", "2030-06-30", _ONLINE, (_O,)),
    ("boc-ebox", "2030-07-01", _ONLINE, (_O,)),
    ("boc-ebox", "2030-07-02", _BRANCH, (_C,)),
    ("generic", "2020-01-01", _ONLINE, (_O,)),
    ("generic", "2030-06-30", _ONLINE, (_O,)),
    ("generic", "2030-07-01", _ONLINE, (_O,)),
    ("generic", "2030-07-02", _BRANCH, (_C,)),
]


@pytest.mark.parametrize(("policy_id", "day", "phase", "states"), EDGES)
@pytest.mark.parametrize("moment", [day_start, day_end], ids=["00:00 CST", "23:59:59 CST"])
def test_window_edges(
    policy_id: str,
    day: str,
    phase: RenewalPhase,
    states: tuple[WindowState, ...],
    moment: Any,
) -> None:
    at = moment(datetime.date.fromisoformat(day))
    advice = advice_at(at, policy_id)
    assert advice.bank.policy == policy_id
    assert advice.expiry_date == EXPIRY_DAY
    assert advice.phase is phase
    assert tuple(w.state for w in advice.windows) == states


def test_every_shipped_edge_is_pinned() -> None:
    """Each window edge of each shipped policy has its day before, on and after above."""
    pinned = {(p, datetime.date.fromisoformat(d)) for p, d, _phase, _states in EDGES}
    for policy in POLICIES.policies:
        advice = advice_at(day_start(EXPIRY_DAY), policy.id)
        for window in advice.windows:
            for edge in (window.opens, window.closes):
                if edge is None:
                    continue
                for offset in (-1, 0, 1):
                    day = edge + datetime.timedelta(days=offset)
                    assert (policy.id, day) in pinned, (policy.id, window.channel, day)


def test_window_dates_and_actions() -> None:
    at = day_start(datetime.date(2030, 6, 1))
    icbc = advice_at(at, "ICBC")
    assert (icbc.window_opens, icbc.window_closes) == (
        datetime.date(2030, 4, 2),
        datetime.date(2035, 6, 5),
    )
    assert [(w.channel, w.opens, w.closes) for w in icbc.windows] == [
        ("online_banking", datetime.date(2030, 4, 2), datetime.date(2035, 6, 5)),
        ("mobile_app", datetime.date(2030, 4, 2), datetime.date(2030, 7, 31)),
    ]
    assert icbc.action is RenewalAction.RENEW_ONLINE
    assert icbc.needs_action is False  # 30 days and 30 minutes left: still valid
    boc = advice_at(at, "BOC")
    assert (boc.window_opens, boc.window_closes) == (None, EXPIRY_DAY)
    assert advice_at(day_start(datetime.date(2030, 7, 2)), "generic").action is (
        RenewalAction.CONTACT_BANK
    )
    assert advice_at(day_start(datetime.date(2030, 7, 2)), "BOC").action is (
        RenewalAction.VISIT_BRANCH
    )
    assert advice_at(day_start(datetime.date(2030, 1, 1)), "ABC").action is RenewalAction.WAIT


def test_needs_action_follows_the_certificate_status() -> None:
    # 40 days before expiry with the 30-day warning window: valid, nothing needed yet.
    at = day_start(datetime.date(2030, 5, 22))
    assert advice_at(at, "ICBC").needs_action is False
    # 20 days before: expiring, renew now.
    at = day_start(datetime.date(2030, 6, 11))
    advice = advice_at(at, "ICBC")
    assert advice.needs_action is True
    assert advice.expired is False
    # After expiry, still inside ICBC's online window: expired, renew online.
    advice = advice_at(day_start(datetime.date(2030, 9, 1)), "ICBC")
    assert (advice.phase, advice.expired, advice.needs_action) == (_ONLINE, True, True)


def test_expiry_day_is_counted_in_china_standard_time() -> None:
    at = day_start(datetime.date(2030, 1, 1))
    late = datetime.datetime(2030, 6, 30, 15, 59, 59, tzinfo=UTC)  # 23:59:59 CST
    assert advice_at(at, "ICBC", not_after=late).expiry_date == datetime.date(2030, 6, 30)
    assert advice_at(at, "ICBC").expiry_date == datetime.date(2030, 7, 1)


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(datetime.date(2030, 5, 31), -3) == datetime.date(2030, 2, 28)
    assert add_months(datetime.date(2032, 5, 31), -3) == datetime.date(2032, 2, 29)
    assert add_months(datetime.date(2030, 11, 30), 3) == datetime.date(2031, 2, 28)
    assert add_months(datetime.date(2030, 1, 15), -13) == datetime.date(2028, 12, 15)
    assert add_months(datetime.date(2030, 12, 31), 0) == datetime.date(2030, 12, 31)
    # ABC's window for a certificate expiring on 31 May opens on 28 February.
    late_may = datetime.datetime(2030, 5, 31, 4, tzinfo=UTC)
    before = advice_at(day_end(datetime.date(2030, 2, 27)), "ABC", not_after=late_may)
    on = advice_at(day_start(datetime.date(2030, 2, 28)), "ABC", not_after=late_may)
    assert (before.phase, on.phase) == (_NOT_OPEN, _ONLINE)


def test_not_a_bank_certificate_and_no_dates() -> None:
    at = day_start(datetime.date(2030, 1, 1))
    assert advice_at(at, "ICBC", is_ca=True).phase is RenewalPhase.NOT_BANK_CERTIFICATE
    assert advice_at(at, "ICBC", self_signed=True).phase is RenewalPhase.NOT_BANK_CERTIFICATE
    unreadable = advise_certificate(entry(None, at), at, policies=POLICIES, catalogue=CATALOGUE)
    assert unreadable.phase is RenewalPhase.NO_DATES
    assert unreadable.action is RenewalAction.NONE
    no_dates = dataclasses.replace(cert(), not_after=None)
    assert advise_certificate(entry(no_dates, at), at, policies=POLICIES).phase is (
        RenewalPhase.NO_DATES
    )


# --- which bank ---------------------------------------------------------------------

SPDB_MODULE = "/opt/SecurityData_Linux/redist/x86_64/libshuttle_p11v220_spdb.so"


def choice(
    issuer: str | None = "ICBC Sub CA",
    *,
    bank: str | None = None,
    module: str | None = None,
    real_path: str | None = None,
    manufacturer: str = "Feitian",
) -> ukeytool.BankChoice:
    at = day_start(datetime.date(2030, 1, 1))
    result, policy = choose_bank(
        entry(cert(issuer), at),
        token=make_token_info(manufacturer=manufacturer),
        module_path=module,
        real_path=real_path,
        policies=POLICIES,
        bank=bank,
        catalogue=CATALOGUE,
    )
    assert result.policy == policy.id
    return result


def test_explicit_beats_module_name_beats_issuer_beats_fallback() -> None:
    explicit = choice(bank="ABC", module=SPDB_MODULE)
    assert (explicit.rule, explicit.bank, explicit.policy, explicit.confidence) == (
        BankRule.EXPLICIT,
        "ABC",
        "abc-kbao",
        "high",
    )
    assert explicit.evidence == "ABC"
    module = choice(module=SPDB_MODULE)
    assert (module.rule, module.bank, module.confidence) == (
        BankRule.MODULE_NAME,
        "SPDB",
        "medium",
    )
    assert module.evidence == "libshuttle_p11v220_spdb.so"
    assert module.policy == "generic"  # no SPDB policy is shipped
    assert module.bank_name_zh == "上海浦东发展银行"
    issuer = choice(module="/usr/lib/libshuttle_p11v220.so")
    assert (issuer.rule, issuer.bank, issuer.policy, issuer.confidence) == (
        BankRule.ISSUER,
        "ICBC",
        "icbc-ushield",
        "medium",
    )
    assert issuer.evidence == "ICBC Sub CA"
    fallback = choice("CFCA OCA1")
    assert (fallback.rule, fallback.bank, fallback.policy, fallback.confidence) == (
        BankRule.FALLBACK,
        None,
        "generic",
        None,
    )
    assert fallback.evidence == "CFCA OCA1"


def test_module_hints_match_the_real_path_too_and_keep_their_confidence() -> None:
    bocd = choice(module="/usr/lib/libkey.so", real_path="/opt/x/libePass_BOCD.so")
    assert (bocd.rule, bocd.bank, bocd.confidence) == (BankRule.MODULE_NAME, "BOCD", "low")


def test_issuer_hints() -> None:
    assert choice("CCB CA Sub").bank == "CCB"
    assert choice("ABC Individual CA").confidence == "low"
    bocom = choice("BOCOMCA2")
    assert (bocom.bank, bocom.policy, bocom.bank_name) == (
        "BOCOM",
        "generic",
        "Bank of Communications",
    )
    assert choice(None).rule is BankRule.FALLBACK


@pytest.mark.parametrize(
    ("value", "bank", "policy"),
    [
        ("ICBC", "ICBC", "icbc-ushield"),
        ("icbc", "ICBC", "icbc-ushield"),
        ("工行", "ICBC", "icbc-ushield"),
        ("中国工商银行", "ICBC", "icbc-ushield"),
        ("ccb", "CCB", "ccb-wangyindun"),
        ("ccb-wangyindun-gd", "CCB", "ccb-wangyindun-gd"),
        ("中行", "BOC", "boc-ebox"),
        ("generic", None, "generic"),
        ("spdb", "SPDB", "generic"),
        ("BOCOM", "BOCOM", "generic"),
    ],
)
def test_explicit_names(value: str, bank: str | None, policy: str) -> None:
    result = choice(bank=value)
    assert (result.rule, result.bank, result.policy) == (BankRule.EXPLICIT, bank, policy)


def test_unknown_bank_is_a_usage_error_listing_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        choice(bank="Bank of Nowhere")
    message = str(caught.value)
    assert "'Bank of Nowhere'" in message
    for known in ("ICBC", "ABC", "CCB", "BOC", "SPDB", "generic", "renewal.json"):
        assert known in message
    report = Report(make_module_info(), (), FIXED_NOW, 30)
    with pytest.raises(UsageError):
        advise(report, bank="nowhere", policies=POLICIES, catalogue=CATALOGUE)


def test_key_type_by_token_manufacturer() -> None:
    assert choice("CCB CA 2", manufacturer="Giesecke & Devrient").policy == "ccb-wangyindun-gd"
    assert choice("CCB CA 2", manufacturer="捷德").policy == "ccb-wangyindun-gd"
    assert choice("CCB CA 2", manufacturer="Feitian").policy == "ccb-wangyindun"
    assert choice(bank="CCB", manufacturer="G&D").policy == "ccb-wangyindun-gd"


def test_one_choice_per_issuer_and_token_is_the_choice_for_each(tmp_path: Path) -> None:
    # advise() chooses once per issuer and token: the choices must be
    # those made one by one, with two tokens of one bank whose key types differ, one
    # issuer name that two banks' hints match (the first hint wins, every time), and
    # issuers that no hint matches.
    shared = dict(
        USER_FILE,
        issuer_hints=[
            {"issuer": ["Shared CA"], "bank": "SPDB", "confidence": "low"},
            {"issuer": ["Shared CA"], "bank": "ICBC", "confidence": "high"},
        ],
    )
    policies = load_policies([write(tmp_path / "p.json", shared), SHIPPED_POLICIES])
    issuers = ["CCB CA 2", "Shared CA", "CCB CA 2", "Unknown CA", "Shared CA", None]
    slots = []
    for number, maker in enumerate(("Giesecke & Devrient", "Feitian")):
        entries = tuple(
            at_now(issuer, 100 + i, f"c{i}", i) if issuer else entry(None, FIXED_NOW, handle=i)
            for i, issuer in enumerate(issuers, start=1)
        )
        token = make_token_info(manufacturer=maker, serial=f"serial-{number}")
        slots.append(SlotReport(make_slot_info(slot_id=number), token, entries))
    report = Report(make_module_info(), tuple(slots), FIXED_NOW, 30)
    for bank in (None, "CCB"):
        advised = advise(report, bank=bank, policies=policies, catalogue=CATALOGUE)
        for slot, original in zip(advised.slots, report.slots, strict=True):
            for advised_entry, alone in zip(slot.certificates, original.certificates, strict=True):
                assert advised_entry.advice == advise_certificate(
                    alone,
                    FIXED_NOW,
                    token=original.token,
                    module_path=report.module.path,
                    real_path=report.module.real_path,
                    policies=policies,
                    bank=bank,
                    catalogue=CATALOGUE,
                )
    chosen = advise(report, policies=policies, catalogue=CATALOGUE)
    policies_by_token = [
        [e.advice.bank.policy if e.advice else None for e in slot.certificates]
        for slot in chosen.slots
    ]
    assert policies_by_token[0][0] == "ccb-wangyindun-gd"
    assert policies_by_token[1][0] == "ccb-wangyindun"
    banks = [e.advice.bank.bank for e in chosen.slots[0].certificates if e.advice]
    assert banks[1] == banks[4] == "SPDB"


# --- policy files: user override, extra file, errors ---------------------------------

USER_FILE = {
    "version": 1,
    "$comment": "my bank's newer rules",
    "policies": [
        {
            "id": "icbc-ushield",
            "bank": "ICBC",
            "bank_name": "ICBC (mine)",
            "channels": [
                {
                    "channel": "online_banking",
                    "opens_before": {"days": 10},
                    "closes_after": {"days": 5},
                }
            ],
            "branch": {"bring": ["id_card"]},
            "sources": ["a letter from my branch"],
            "confidence": "high",
        },
        {
            "id": "spdb-ukey",
            "bank": "SPDB",
            "key_name": "U-Key",
            "channels": [
                {"channel": "mobile_app", "opens_before": {"months": 2}, "closes_after": None}
            ],
            "branch": {"bring": []},
            "sources": ["SPDB's web site"],
        },
    ],
    "issuer_hints": [{"issuer": ["My CA*"], "bank": "SPDB", "confidence": "low"}],
}


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), "utf-8"
    )
    return path


def test_user_file_overrides_and_extends(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    assert user_policies_path(env) == tmp_path / "config" / "ukeytool" / "renewal.json"
    assert default_policy_paths(env=env) == [SHIPPED_POLICIES]  # no user file yet
    user = write(tmp_path / "config" / "ukeytool" / "renewal.json", USER_FILE)
    assert default_policy_paths(env=env) == [user, SHIPPED_POLICIES]
    policies = load_policies(env=env)
    ids = [p.id for p in policies.policies]
    assert ids.count("icbc-ushield") == 1
    icbc = policies.get("icbc-ushield")
    assert icbc is not None
    assert (icbc.origin, icbc.bank_name) == (str(user), "ICBC (mine)")
    assert {"spdb-ukey", "abc-kbao", "generic"} <= set(ids)
    assert policies.issuer_hints[0].issuer == ("My CA*",)

    at = day_start(datetime.date(2030, 6, 20))
    mine = advise_certificate(entry(cert(), at), at, policies=policies, bank="ICBC")
    assert (mine.window_opens, mine.window_closes) == (
        datetime.date(2030, 6, 21),
        datetime.date(2030, 7, 6),
    )
    assert mine.phase is _NOT_OPEN
    spdb = advise_certificate(
        entry(cert("My CA 1"), at), at, policies=policies, catalogue=CATALOGUE
    )
    assert (spdb.bank.rule, spdb.bank.policy, spdb.phase) == (BankRule.ISSUER, "spdb-ukey", _ONLINE)
    assert spdb.window_closes is None
    # The module-name hint for SPDB now finds the user's SPDB policy.
    module = advise_certificate(
        entry(cert(), at), at, policies=policies, catalogue=CATALOGUE, module_path=SPDB_MODULE
    )
    assert (module.bank.rule, module.bank.policy) == (BankRule.MODULE_NAME, "spdb-ukey")
    jsonschema.Draft202012Validator(renewal_schema()).validate(USER_FILE)


def test_extra_file_beats_the_user_file(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    user = write(tmp_path / "config" / "ukeytool" / "renewal.json", USER_FILE)
    extra = dict(
        USER_FILE, policies=[dict(USER_FILE["policies"][0], bank_name="from --renewal-policies")]
    )
    extra_path = write(tmp_path / "extra.json", extra)
    assert default_policy_paths(extra_path, env=env) == [extra_path, user, SHIPPED_POLICIES]
    policies = load_policies(extra=extra_path, env=env)
    icbc = policies.get("icbc-ushield")
    assert icbc is not None
    assert icbc.bank_name == "from --renewal-policies"
    assert policies.get("spdb-ukey") is not None  # the user file still counts


def test_a_file_without_generic_alone_is_refused(tmp_path: Path) -> None:
    only = write(tmp_path / "only.json", USER_FILE)
    with pytest.raises(RenewalPolicyError, match="'generic'") as caught:
        load_policies([only])
    assert caught.value.path == str(only)


def _policy(**changes: Any) -> dict[str, Any]:
    base = dict(USER_FILE["policies"][1])
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


BAD_FILES = [
    (
        "{not json",
        None,
        "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
    ),
    ([], None, 'the top level must be an object with "version" and "policies"'),
    ({"version": 2}, None, '"version" must be 1'),
    ({"version": 1, "policy": []}, None, "unknown key 'policy'"),
    ({"version": 1, "policies": {}}, None, '"policies" must be a list'),
    (
        {"version": 1, "policies": [_policy(), _policy(chanels=[])]},
        "policies[1] (id 'spdb-ukey')",
        "unknown key 'chanels'",
    ),
    (
        {"version": 1, "policies": [_policy(id="bad id")]},
        "policies[0]",
        "\"id\" 'bad id' must be an id",
    ),
    (
        {"version": 1, "policies": [_policy(bank=None)]},
        "policies[0] (id 'spdb-ukey')",
        '"bank" must be null for the generic policy',
    ),
    (
        {"version": 1, "policies": [_policy(bank=...)]},
        "policies[0] (id 'spdb-ukey')",
        '"bank" is required',
    ),
    (
        {
            "version": 1,
            "policies": [
                _policy(
                    channels=[
                        {"channel": "phone", "opens_before": None, "closes_after": {"days": 1}}
                    ]
                )
            ],
        },
        "policies[0] (id 'spdb-ukey'): channels[0]",
        '"channel" must be one of online_banking, mobile_app, online, bank',
    ),
    (
        {
            "version": 1,
            "policies": [
                _policy(
                    channels=[
                        {"channel": "online", "opens_before": {"weeks": 2}, "closes_after": None}
                    ]
                )
            ],
        },
        "policies[0] (id 'spdb-ukey'): channels[0]",
        '"opens_before" must be {"days": N} (0 to 36500), {"months": N} (0 to 1200) or null',
    ),
    (
        {
            "version": 1,
            "policies": [
                _policy(
                    channels=[
                        {"channel": "online", "opens_before": {"days": -1}, "closes_after": None}
                    ]
                )
            ],
        },
        "policies[0] (id 'spdb-ukey'): channels[0]",
        '"opens_before" must be',
    ),
    (
        {
            "version": 1,
            "policies": [_policy(channels=[{"channel": "online", "opens_before": None}])],
        },
        "policies[0] (id 'spdb-ukey'): channels[0]",
        '"closes_after" is required',
    ),
    (
        {"version": 1, "policies": [_policy(channels=[])]},
        "policies[0] (id 'spdb-ukey')",
        '"channels" must be a non-empty list',
    ),
    (
        {"version": 1, "policies": [_policy(branch={"bring": ["passport"]})]},
        "policies[0] (id 'spdb-ukey'): branch",
        "\"bring\" lists 'passport'; known: id_card, bank_card, key",
    ),
    (
        {"version": 1, "policies": [_policy(sources=[])]},
        "policies[0] (id 'spdb-ukey')",
        '"sources" must not be empty',
    ),
    (
        {"version": 1, "policies": [_policy(confidence="certain")]},
        "policies[0] (id 'spdb-ukey')",
        '"confidence" must be one of high, medium, low',
    ),
    (
        {"version": 1, "policies": [_policy(validity_years=[0])]},
        "policies[0] (id 'spdb-ukey')",
        '"validity_years" must be a list of whole numbers',
    ),
    (
        {"version": 1, "policies": [_policy(match={})]},
        "policies[0] (id 'spdb-ukey'): match",
        'give "token_manufacturer" or "token_model"',
    ),
    (
        {"version": 1, "issuer_hints": [{"issuer": [], "bank": "X"}]},
        "issuer_hints[0]",
        '"issuer" must not be empty',
    ),
]


@pytest.mark.parametrize(("data", "where", "reason"), BAD_FILES)
def test_bad_files_name_the_file_and_the_entry(
    tmp_path: Path, data: Any, where: str | None, reason: str
) -> None:
    path = write(tmp_path / "renewal.json", data)
    with pytest.raises(RenewalPolicyError) as caught:
        load_policies([path, SHIPPED_POLICIES])
    message = str(caught.value)
    expected = f"renewal policies {path}: " + (f"{where}: " if where else "")
    assert message.startswith(expected), message
    assert reason in message
    assert caught.value.path == str(path)
    assert "\n" not in message
    if not isinstance(data, str):
        # The shipped schema refuses what the loader refuses.
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(renewal_schema()).validate(data)


def test_duplicate_ids_in_one_file_and_unreadable_files(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.json", {"version": 1, "policies": [_policy(), _policy()]})
    with pytest.raises(
        RenewalPolicyError, match=r"policies\[1\]: id 'spdb-ukey' is used by an earlier"
    ):
        load_policies([path])
    with pytest.raises(RenewalPolicyError, match="cannot read it"):
        load_policies([tmp_path / "missing.json"])
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"version": 1, "$comment": "\xe9"}')
    with pytest.raises(RenewalPolicyError, match="not UTF-8"):
        load_policies([latin])


# --- the token's most urgent action ---------------------------------------------------


def report_of(entries: list[CertificateEntry], *, pin: PinState = PinState.OK) -> Report:
    token = make_token_info(pin_state=pin)
    slot = SlotReport(make_slot_info(), token, tuple(entries))
    return Report(make_module_info(), (slot,), FIXED_NOW, 30)


def at_now(issuer: str, days: float, label: str, handle: int, **kwargs: Any) -> CertificateEntry:
    not_after = FIXED_NOW + datetime.timedelta(days=days)
    return entry(cert(issuer, not_after, **kwargs), FIXED_NOW, label=label, handle=handle)


def test_most_urgent_action() -> None:
    ca = at_now("Root", 3000, "root", 1, is_ca=True)
    valid = at_now("ICBC Sub CA", 400, "valid", 2)
    expiring = at_now("ICBC Sub CA", 20, "expiring", 3)
    expired = at_now("ICBC Sub CA", -30, "expired", 4)
    closed = at_now("CCB CA 1", -30, "ccb", 5)
    advised = advise(report_of([ca, valid]), policies=POLICIES, catalogue=CATALOGUE)
    token = advised.slots[0].advice
    assert token is not None
    assert (token.action, token.needs_action, token.certificate_label) == (
        RenewalAction.WAIT,
        False,
        "valid",
    )
    assert (
        token_advice_message(token) == "Nothing to do now: renewal of “valid” opens on 2030-11-07."
    )
    for entries, label in (
        ([valid, expiring], "expiring"),
        ([valid, expiring, expired], "expired"),
        ([closed, valid, expiring, expired], "ccb"),
    ):
        token = advise(report_of(entries), policies=POLICIES, catalogue=CATALOGUE).slots[0].advice
        assert token is not None
        assert token.needs_action is True
        assert token.certificate_label == label
    assert token.action is RenewalAction.VISIT_BRANCH
    assert token_advice_message(token).startswith(
        "Most urgent: “ccb”: The certificate update online ended on 2029-12-02"
    )
    only_ca = advise(report_of([ca]), policies=POLICIES, catalogue=CATALOGUE).slots[0].advice
    assert only_ca is not None
    assert only_ca.advice is None
    assert token_advice_message(only_ca) == "No bank certificate to renew."


def test_pin_locked_comes_first() -> None:
    report = report_of([at_now("ICBC Sub CA", -30, "expired", 1)], pin=PinState.LOCKED)
    token = advise(report, policies=POLICIES, catalogue=CATALOGUE).slots[0].advice
    assert token is not None
    assert (token.action, token.pin_locked, token.needs_action) == (
        RenewalAction.UNLOCK_PIN,
        True,
        True,
    )
    assert token_advice_message(token) == (
        "The PIN is locked: the bank must unlock the key (at a branch counter) before it can "
        "be used or renewed."
    )
    assert "PIN 已锁定" in token_advice_message(token, lang="zh")


# --- what it says ---------------------------------------------------------------------


def test_icbc_advice_in_both_languages() -> None:
    at = day_start(datetime.date(2030, 6, 11))
    advice = advice_at(at, None, issuer_cn="ICBC Sub CA")
    assert advice_summary(advice) == (
        "online renewal open until 2035-06-05 (some sources: only until 2030-07-31); "
        "expires 2030-07-01"
    )
    assert advice_message(advice) == (
        "The U盾 self-service update can be done now: online banking (until 2035-06-05) or the "
        "mobile banking app (for 通用U盾 only, until 2030-07-31). When it expires on "
        "2030-07-01, the U盾 can no longer be used for logging in to online banking, mobile "
        "banking and signing transactions such as transfers. In online banking, go to "
        "客户服务 → U盾管理 → U盾自助更新 (Customer service → U盾 management → U盾 "
        "self-service update). Then: click “开始下载” (start download), enter the certificate "
        "password, check that the service period has moved on by 5 years. Sources disagree on "
        "how long after expiry online banking accepts the U盾 self-service update: some say "
        "until 2035-06-05, others only until 2030-07-31. If online banking refuses it, go to a "
        "branch counter with your ID card, your bank card and the U盾. After 2035-06-05, only "
        "at a branch counter, with your ID card, your bank card and the U盾."
    )
    assert advice_message(advice, lang="zh") == (
        "现在即可办理U盾自助更新：网上银行（至 2035-06-05）或"
        "手机银行（仅限通用U盾，至 2030-07-31）。"
        "2030-07-01 到期后，U盾将无法再用于登录网上银行、手机银行和签名交易（如转账）。"
        "在网上银行中依次进入客户服务 → U盾管理 → U盾自助更新。"
        "然后：点击“开始下载”、输入证书密码、确认证书服务期限已顺延 5 年。"
        "到期后还能通过网上银行办理U盾自助更新多久，各来源说法不一："
        "有的说至 2035-06-05，有的说只到 2030-07-31。"
        "如果网上银行无法办理，请携带身份证、银行卡和U盾到网点柜台办理。"
        "2035-06-05 之后只能携带身份证、银行卡和U盾到网点柜台办理。"
    )
    assert bank_message(advice.bank) == (
        "ICBC (Industrial and Commercial Bank of China), from the issuer name “ICBC Sub CA” "
        "(medium confidence)"
    )
    assert bank_message(advice.bank, lang="zh") == (
        "ICBC (中国工商银行)，根据颁发者名称 “ICBC Sub CA”（可信度中）"
    )


def test_branch_and_generic_sentences() -> None:
    after = day_start(datetime.date(2030, 7, 2))
    ccb = advice_at(after, "ccb-wangyindun")
    assert advice_summary(ccb) == "online renewal closed on 2030-07-01: branch only"
    assert advice_message(ccb) == (
        "The certificate update online ended on 2030-07-01: only a branch counter can renew it "
        "now. Since it expired, the 网银盾 can no longer be used for logging in to online "
        "banking, mobile banking and signing transactions such as transfers. Bring your ID "
        "card, your bank card and the 网银盾. After the window you may have to cancel online "
        "banking and sign up for it again."
    )
    assert advice_message(ccb, lang="zh").endswith("窗口结束后可能需要注销网上银行并重新开通。")
    generic_before = advice_at(day_start(datetime.date(2030, 1, 1)), None)
    assert advice_summary(generic_before) == "open until it expires on 2030-07-01"
    assert advice_message(generic_before) == (
        "Renew it through your bank (or whoever issued it) before it expires on 2030-07-01."
    )
    assert advice_message(advice_at(after, None)) == (
        "It expired on 2030-07-01: contact your bank (or whoever issued it) to renew it."
    )
    assert bank_message(generic_before.bank) == (
        "not recognised from the issuer “CFCA OCA1”: general advice"
    )
    waiting = advice_at(day_start(datetime.date(2030, 1, 1)), "ABC")
    assert advice_summary(waiting) == "not open yet: opens 2030-04-01; expires 2030-07-01"
    assert advice_message(waiting).startswith(
        "Nothing to do yet: the certificate update opens on 2030-04-01."
    )


# --- in the outputs -------------------------------------------------------------------


def advised_report() -> Report:
    entries = [
        at_now("ICBC Sub CA", 20, "sign", 1),
        at_now("Root", 3000, "root", 2, is_ca=True),
        entry(None, FIXED_NOW, label="broken", handle=3),
    ]
    return advise(report_of(entries), policies=POLICIES, catalogue=CATALOGUE)


def report_schema() -> jsonschema.Draft202012Validator:
    text = (resources.files("ukeytool") / "schema" / "report.schema.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_json_advice_has_codes_and_sentences(lang: str) -> None:
    doc = report_to_dict([advised_report()], generated_at=FIXED_NOW, lang=lang)
    report_schema().validate(doc)
    assert doc["language"] == lang
    token = doc["modules"][0]["slots"][0]["token"]
    certs = {c["label"]: c["advice"] for c in token["certificates"]}
    sign = certs["sign"]
    assert (sign["phase"], sign["action"], sign["needs_action"]) == (
        "online_open",
        "renew_online",
        True,
    )
    assert sign["bank"] | {"message": None} == {
        "bank": "ICBC",
        "bank_name": "Industrial and Commercial Bank of China",
        "bank_name_zh": "中国工商银行",
        "policy": "icbc-ushield",
        "rule": "issuer",
        "confidence": "medium",
        "evidence": "ICBC Sub CA",
        "message": None,
    }
    assert sign["expiry_date"] == "2030-01-21"
    assert sign["window_opens"] == "2029-10-23"
    assert sign["windows"][1] == {
        "channel": "mobile_app",
        "opens": "2029-10-23",
        "closes": "2030-02-20",
        "state": "open",
        "key_types": ["通用U盾"],
        "menu_zh": [],
        "menu": [],
        "steps": [],
        "steps_zh": [],
        "sources": [],
        "other_closes": [],
    }
    assert sign["branch_items"] == ["id_card", "bank_card", "key"]
    assert certs["root"]["phase"] == "not_bank_certificate"
    assert certs["broken"]["phase"] == "no_dates"
    assert token["advice"]["action"] == "renew_online"
    assert token["advice"]["certificate_label"] == "sign"
    # English advice quotes the bank's own words (key name, menu path, buttons) as they are.
    words = sign["message"]
    for bank_words in ("通用U盾", "U盾自助更新", "客户服务", "U盾管理", "开始下载", "U盾"):
        words = words.replace(bank_words, "")
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in words)
    assert chinese is (lang == "zh")
    assert token["advice"]["message"].startswith("最紧急" if lang == "zh" else "Most urgent")


def test_json_without_advice_has_no_advice_members() -> None:
    doc = report_to_dict([report_of([at_now("ICBC", 20, "sign", 1)])], generated_at=FIXED_NOW)
    report_schema().validate(doc)
    token = doc["modules"][0]["slots"][0]["token"]
    assert "advice" not in token
    assert "advice" not in token["certificates"][0]


def test_text_shows_advice_under_certificates_and_per_token() -> None:
    text = render_text([advised_report()], color=False)
    lines = text.splitlines()
    sign = next(i for i, line in enumerate(lines) if line.startswith("    sign "))
    assert lines[sign + 1] == (
        "      renewal: online renewal open until 2034-12-26 (some sources: only until "
        "2030-02-20); expires 2030-01-21"
    )
    assert lines[sign + 2].startswith(
        "        The U盾 self-service update can be done now: online banking (until 2034-12-26)"
    )
    assert "      renewal: not a bank certificate" in lines
    assert "      renewal: no dates: no advice" in lines
    assert (
        "    bank: ICBC (Industrial and Commercial Bank of China), from the issuer name "
        "“ICBC Sub CA” (medium confidence)"
    ) in lines
    assert any(
        line.startswith("    advice: Most urgent: “sign”: The U盾 self-service update")
        for line in lines
    )
    zh = render_text([advised_report()], color=False, lang="zh")
    assert (
        "      证书更新：可网上更新至 2034-12-26（有的来源说只到 2030-02-20）；2030-01-21 到期"
        in zh
    )
    assert "    建议：最紧急：“sign”：现在即可办理U盾自助更新" in zh


def test_check_mentions_the_most_urgent_action() -> None:
    result = check_reports([advised_report()])
    assert result.advice[0].action == "renew_online"
    assert (
        result.output()
        .splitlines()[-1]
        .startswith(
            "advice: token 工行U盾 serial 5f1c2e3d4a5b6c7d: "
            "Most urgent: “sign”: The U盾 self-service update can be done now"
        )
    )
    doc = check_to_dict(result)
    assert doc["advice"][0]["needs_action"] is True
    # Without advice the check is as before.
    plain = check_reports([report_of([at_now("ICBC Sub CA", 20, "sign", 1)])])
    assert plain.advice == ()
    assert not any(line.startswith("advice:") for line in plain.details())


# --- the command line, on a SoftHSM token ----------------------------------------------

AT = ["--at", "2030-01-01T00:00:00Z"]


@pytest.mark.softhsm
def test_cli_list_tokens_with_a_bank(bank_env: Bank, capsys: pytest.CaptureFixture[str]) -> None:
    module = str(bank_env.store.module_path)
    code = main(
        ["list-tokens", "--module", module, "--serial", bank_env.serial, "--bank", "工行", *AT]
    )
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    assert (
        "    bank: ICBC (Industrial and Commercial Bank of China), "
        "as given “工行” (high confidence)"
    ) in out
    # "expired" expired 30 days ago: still renewable online, and the most urgent.
    assert (
        "    advice: Most urgent: “expired”: "
        "It expired on 2029-12-02, but the U盾 self-service update can still be done"
    ) in out
    assert "      renewal: not a bank certificate" in out  # the CA certificate

    code = main(["list-tokens", "--module", module, "--serial", bank_env.serial, "--json", *AT])
    doc = json.loads(capsys.readouterr().out)
    report_schema().validate(doc)
    tokens = [s["token"] for s in doc["modules"][0]["slots"] if s["token"]]
    token = next(tk for tk in tokens if tk["serial"] == bank_env.serial)
    by_label = {c["label"]: c["advice"] for c in token["certificates"]}
    # No --bank: the demo issuers name no bank, so the general advice.
    assert by_label["sign"]["bank"]["rule"] == "fallback"
    assert by_label["sign"]["bank"]["policy"] == "generic"
    assert by_label["expired"]["phase"] == "branch_only"
    assert by_label["expired"]["action"] == "contact_bank"


@pytest.mark.softhsm
def test_cli_renewal_policies_option(
    bank_env: Bank, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    module = str(bank_env.store.module_path)
    extra = write(tmp_path / "mine.json", USER_FILE)
    code = main(
        [
            "list-tokens",
            "--module",
            module,
            "--serial",
            bank_env.serial,
            "--bank",
            "spdb",
            "--renewal-policies",
            str(extra),
            "--json",
            *AT,
        ]
    )
    assert code == ExitCode.OK
    doc = json.loads(capsys.readouterr().out)
    tokens = [s["token"] for s in doc["modules"][0]["slots"] if s["token"]]
    token = next(tk for tk in tokens if tk["serial"] == bank_env.serial)
    assert {c["advice"]["bank"]["policy"] for c in token["certificates"]} == {"spdb-ukey"}

    bad = write(tmp_path / "bad.json", {"version": 1, "policies": [_policy(chanels=[])]})
    code = main(["list-tokens", "--module", module, "--renewal-policies", str(bad), *AT])
    out, err = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert out == ""
    assert err == (
        f"ukeytool: error: renewal policies {bad}: policies[0] (id 'spdb-ukey'): unknown key "
        "'chanels' (known: aliases, bank, bank_name, bank_name_zh, branch, channels, confidence, "
        "id, key_name, match, notes, sources, stops_working, term, term_zh, validity_years; "
        'keys starting with "$" are comments)\n'
    )
    code = main(["list-tokens", "--module", "/nonexistent.so", "--bank", "nowhere", *AT])
    out, err = capsys.readouterr()
    assert code == ExitCode.USAGE  # the bank is checked before any module is loaded
    assert err.startswith("ukeytool: error: unknown bank 'nowhere'; known banks: ABC, BOC, BOCD,")
    assert err.count("\n") == 1


@pytest.mark.softhsm
def test_cli_user_file_from_xdg_config_home(
    bank_env: Bank, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path / "config" / "ukeytool" / "renewal.json", USER_FILE)
    module = str(bank_env.store.module_path)
    code = main(
        ["list-tokens", "--module", module, "--serial", bank_env.serial, "--bank", "ICBC", *AT]
    )
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert "ICBC (ICBC (mine)), as given “ICBC” (high confidence)" in out


@pytest.mark.softhsm
def test_cli_check_with_a_bank(bank_env: Bank, capsys: pytest.CaptureFixture[str]) -> None:
    module = str(bank_env.store.module_path)
    code = main(["check", "--module", module, "--serial", bank_env.serial, "--bank", "ICBC", *AT])
    out = capsys.readouterr().out
    assert code == 2  # an expired certificate: CRITICAL, as without advice
    assert out.splitlines()[-1].startswith("advice: token 工行U盾 serial ")
    assert "Most urgent: “expired”" in out.splitlines()[-1]


def test_the_quick_replace_is_dataclasses_replace() -> None:
    # model._value.replace copies a model dataclass by its __dict__: the copy must be
    # what dataclasses.replace makes, and a class it cannot copy so goes the usual way.
    from ukeytool.model._value import replace

    original = at_now("ICBC Sub CA", 20, "expiring", 3)
    advice = advise_certificate(original, FIXED_NOW, policies=POLICIES, catalogue=CATALOGUE)
    quick = replace(original, advice=advice, role=None)
    assert quick == dataclasses.replace(original, advice=advice, role=None)
    assert quick.__dict__ == dataclasses.replace(original, advice=advice).__dict__
    assert original.advice is None  # the original is untouched
    assert hash(quick) == hash(dataclasses.replace(original, advice=advice))

    @dataclasses.dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError, match="negative"):
        replace(Checked(1), value=-1)
    with pytest.raises(TypeError):
        replace(original, no_such_field=1)
