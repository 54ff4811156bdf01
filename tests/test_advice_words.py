"""Renewal advice in the bank's words (issue 15): each shipped bank's term for a renewal
in English and Chinese, its menu path and steps per channel with sources, what stops
working when the certificate expires, a plain note where the sources disagree (ICBC: 30
or 1800 days after expiry) with what to do if the online path is refused, the SM2 pair's
earlier expiry for both halves, a not-yet-valid certificate, and user policy files that
carry the same fields (and errors for broken ones, naming file and entry, in English and
Chinese). In the advice's sentences, the listing, the JSON and the check."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ukeytool.cli import main
from ukeytool.i18n import using
from ukeytool.judging.relations import relate
from ukeytool.judging.renewal import (
    SHIPPED_POLICIES,
    RenewalPolicyError,
    advice_message,
    advice_summary,
    advise,
    advise_certificate,
    load_policies,
    token_advice_message,
)
from ukeytool.model import Advice, CertificateEntry, RenewalPhase
from ukeytool.rendering.check import check_reports, check_to_dict
from ukeytool.rendering.json import report_to_dict
from ukeytool.rendering.text import render_text

from .conftest import FIXED_NOW, Bank
from .test_renewal import (
    AT,
    CATALOGUE,
    EXPIRY_DAY,
    POLICIES,
    USER_FILE,
    _policy,
    advice_at,
    at_now,
    cert,
    day_start,
    entry,
    renewal_schema,
    report_of,
    report_schema,
    write,
)

# Each shipped bank's policy, its term in English and in the bank's words, and its key.
BANKS = [
    pytest.param("icbc-ushield", "U盾 self-service update", "U盾自助更新", "U盾", id="icbc"),
    pytest.param("abc-kbao", "certificate update", "证书更新", "K宝", id="abc"),
    pytest.param("ccb-wangyindun-gd", "certificate update", "证书更新", "网银盾", id="ccb-gd"),
    pytest.param("ccb-wangyindun", "certificate update", "证书更新", "网银盾", id="ccb"),
    pytest.param("boc-ebox", "certificate update", "证书更新", "中银e盾", id="boc"),
]
# 10 days before the expiry day: every shipped bank's online window is open.
BEFORE = day_start(EXPIRY_DAY - datetime.timedelta(days=10))
USES_EN = "logging in to online banking, mobile banking and signing transactions such as transfers"
USES_ZH = "登录网上银行、手机银行和签名交易（如转账）"


def expiring(policy_id: str) -> Advice:
    """The policy's advice 10 days before expiry, with a 30-day warning: expiring."""
    return advice_at(BEFORE, policy_id)


# --- the bank's term, in both languages -------------------------------------------------


@pytest.mark.parametrize(("policy_id", "term", "term_zh", "key"), BANKS)
def test_each_bank_says_its_own_term(policy_id: str, term: str, term_zh: str, key: str) -> None:
    advice = expiring(policy_id)
    assert (advice.phase, advice.term, advice.term_zh) == (RenewalPhase.ONLINE_OPEN, term, term_zh)
    english = advice_message(advice)
    chinese = advice_message(advice, lang="zh")
    assert english.startswith(f"The {term} can be done now: ")
    assert chinese.startswith(f"现在即可办理{term_zh}：")
    assert "续期" not in chinese
    assert "renew it online" not in english.lower()
    # Expiring: what stops working, in one sentence.
    assert f"When it expires on 2030-07-01, the {key} can no longer be used for {USES_EN}." in (
        english
    )
    assert f"2030-07-01 到期后，{key}将无法再用于{USES_ZH}。" in chinese


@pytest.mark.parametrize(("policy_id", "term", "term_zh", "key"), BANKS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_bank_in_text_json_and_check(
    policy_id: str, term: str, term_zh: str, key: str, lang: str
) -> None:
    report = report_of([at_now("CFCA OCA1", 10, "sign", 1)])
    advised = advise(report, bank=policy_id, policies=POLICIES, catalogue=CATALOGUE)
    word = term_zh if lang == "zh" else term
    text = render_text([advised], color=False, lang=lang)
    assert word in text
    doc = report_to_dict([advised], generated_at=FIXED_NOW, lang=lang)
    report_schema().validate(doc)
    sign = doc["modules"][0]["slots"][0]["token"]["certificates"][0]["advice"]
    assert (sign["term"], sign["term_zh"]) == (term, term_zh)
    assert sign["stops_working"] == ["online_banking_login", "mobile_banking", "signing"]
    assert word in sign["message"]
    assert (USES_ZH if lang == "zh" else USES_EN) in sign["message"]
    with using(lang):
        check = check_reports([advised])
        assert word in check.output()
        assert word in check_to_dict(check)["advice"][0]["message"]


def test_every_shipped_bank_policy_has_term_consequences_and_sources() -> None:
    for policy in POLICIES.policies:
        if policy.bank is None:
            assert (policy.term, policy.term_zh, policy.stops_working) == (None, None, ())
            continue
        assert policy.term, policy.id
        assert policy.term_zh, policy.id
        assert policy.stops_working, policy.id
        for channel in policy.channels:
            if channel.menu_zh or channel.steps or channel.steps_zh:
                assert channel.sources, (policy.id, channel.channel)


# --- menu paths and steps ---------------------------------------------------------------


def test_icbc_menu_path_and_steps() -> None:
    advice = expiring("icbc-ushield")
    online = advice.windows[0]
    assert online.menu_zh == ("客户服务", "U盾管理", "U盾自助更新")
    assert online.steps_zh == ("点击“开始下载”", "输入证书密码", "确认证书服务期限已顺延 5 年")
    assert any("客户服务 → U盾管理 → U盾自助更新" in s for s in online.sources)
    assert (
        "In online banking, go to 客户服务 → U盾管理 → U盾自助更新 (Customer service → U盾 "
        "management → U盾 self-service update). Then: click “开始下载” (start download), enter "
        "the certificate password, check that the service period has moved on by 5 years."
    ) in advice_message(advice)
    assert (
        "在网上银行中依次进入客户服务 → U盾管理 → U盾自助更新。"
        "然后：点击“开始下载”、输入证书密码、确认证书服务期限已顺延 5 年。"
    ) in advice_message(advice, lang="zh")


def test_abc_menu_path_and_ccb_steps() -> None:
    abc = expiring("abc-kbao")
    assert (
        "In online banking, go to 我的账户 → 证书管理 → 证书更新 (My account → Certificate "
        "management → Certificate update)."
    ) in advice_message(abc)
    assert "在网上银行中依次进入我的账户 → 证书管理 → 证书更新。" in advice_message(abc, lang="zh")
    ccb = expiring("ccb-wangyindun")
    assert (
        "In online banking: find “个人证书到期更新” (personal certificate update on expiry) and "
        "follow the prompts."
    ) in advice_message(ccb)
    assert "在网上银行中：找到“个人证书到期更新”，按提示操作。" in advice_message(ccb, lang="zh")


def test_menu_and_steps_in_the_json() -> None:
    report = report_of([at_now("ICBC Sub CA", 10, "sign", 1)])
    advised = advise(report, policies=POLICIES, catalogue=CATALOGUE)
    doc = report_to_dict([advised], generated_at=FIXED_NOW)
    sign = doc["modules"][0]["slots"][0]["token"]["certificates"][0]["advice"]
    online = sign["windows"][0]
    assert online["menu_zh"] == ["客户服务", "U盾管理", "U盾自助更新"]
    assert online["menu"] == ["Customer service", "U盾 management", "U盾 self-service update"]
    assert online["steps"][1] == "enter the certificate password"
    assert online["steps_zh"][1] == "输入证书密码"
    assert online["sources"]
    assert sign["branch_sources"]


# --- the sources disagree ---------------------------------------------------------------

DISAGREE_EN = (
    "Sources disagree on how long after expiry online banking accepts the U盾 self-service "
    "update: some say until 2035-06-05, others only until 2030-07-31. If online banking "
    "refuses it, go to a branch counter with your ID card, your bank card and the U盾."
)
DISAGREE_ZH = (
    "到期后还能通过网上银行办理U盾自助更新多久，各来源说法不一：有的说至 2035-06-05，"
    "有的说只到 2030-07-31。如果网上银行无法办理，请携带身份证、银行卡和U盾到网点柜台办理。"
)


@pytest.mark.parametrize(
    "day",
    [
        EXPIRY_DAY - datetime.timedelta(days=10),  # before expiry
        EXPIRY_DAY + datetime.timedelta(days=30),  # the older statements' last day
        EXPIRY_DAY + datetime.timedelta(days=200),  # only the newer statements say open
    ],
)
def test_icbc_says_the_sources_disagree_and_what_to_do_if_refused(day: datetime.date) -> None:
    advice = advice_at(day_start(day), "ICBC")
    assert advice.phase is RenewalPhase.ONLINE_OPEN
    assert advice.windows[0].other_closes == (datetime.date(2030, 7, 31),)
    assert DISAGREE_EN in advice_message(advice)
    assert DISAGREE_ZH in advice_message(advice, lang="zh")


def test_no_disagreement_note_once_every_window_has_closed_or_without_one() -> None:
    closed = advice_at(day_start(datetime.date(2035, 6, 6)), "ICBC")
    assert closed.phase is RenewalPhase.BRANCH_ONLY
    assert "disagree" not in advice_message(closed)
    assert "说法不一" not in advice_message(closed, lang="zh")
    assert "disagree" not in advice_message(expiring("abc-kbao"))


def test_the_disagreement_in_the_json() -> None:
    report = report_of([at_now("ICBC Sub CA", -100, "old", 1)])
    advised = advise(report, policies=POLICIES, catalogue=CATALOGUE)
    doc = report_to_dict([advised], generated_at=FIXED_NOW, lang="zh")
    report_schema().validate(doc)
    old = doc["modules"][0]["slots"][0]["token"]["certificates"][0]["advice"]
    assert old["sources_disagree"] is True
    (other,) = old["windows"][0]["other_closes"]
    assert other["closes"] == "2029-10-23"
    assert "30 days after expiry" in other["source"]
    assert "各来源说法不一" in old["message"]
    assert "如果网上银行无法办理" in doc["modules"][0]["slots"][0]["token"]["advice"]["message"]


# --- what stops working -----------------------------------------------------------------


def test_consequences_only_when_expiring_or_expired() -> None:
    expired = advice_at(day_start(EXPIRY_DAY + datetime.timedelta(days=5)), "ABC")
    assert expired.phase is RenewalPhase.BRANCH_ONLY
    assert f"Since it expired, the K宝 can no longer be used for {USES_EN}." in advice_message(
        expired
    )
    assert f"证书已过期，K宝已无法再用于{USES_ZH}。" in advice_message(expired, lang="zh")
    online = advice_at(day_start(EXPIRY_DAY + datetime.timedelta(days=5)), "ICBC")
    assert f"Since it expired, the U盾 can no longer be used for {USES_EN}." in (
        advice_message(online)
    )
    # Far from expiry (CCB is open any time before): nothing about what stops working.
    early = advice_at(day_start(datetime.date(2029, 1, 1)), "ccb-wangyindun")
    assert early.phase is RenewalPhase.ONLINE_OPEN
    assert not early.needs_action
    assert "no longer" not in advice_message(early)
    assert "无法再用于" not in advice_message(early, lang="zh")
    # The generic advice does not guess what the certificate is used for.
    generic = advice_at(BEFORE, None)
    assert generic.stops_working == ()
    assert "no longer" not in advice_message(generic)


# --- an SM2 signing + encryption pair ---------------------------------------------------


def sm2_pair(sign_days: float, enc_days: float) -> list[CertificateEntry]:
    """A signing and an encryption certificate of one SM2 pair, related as inspect does."""
    halves = []
    for handle, label, days, usage in (
        (1, "签名证书", sign_days, ("digitalSignature", "nonRepudiation")),
        (2, "加密证书", enc_days, ("keyEncipherment", "dataEncipherment")),
    ):
        made = at_now("ICBC SM2 CA", days, label, handle)
        assert made.certificate is not None
        certificate = dataclasses.replace(
            made.certificate, key_algorithm="SM2", key_usage=usage, is_ca=False
        )
        halves.append(dataclasses.replace(made, certificate=certificate))
    return list(relate(halves))


def test_both_halves_of_an_sm2_pair_get_the_pairs_advice() -> None:
    entries = sm2_pair(sign_days=400, enc_days=20)
    assert entries[0].pair is not None
    assert entries[0].pair.days_left == 20
    advised = advise(report_of(entries), policies=POLICIES, catalogue=CATALOGUE)
    sign, enc = (e.advice for e in advised.slots[0].certificates)
    assert sign is not None
    assert enc is not None
    # The signing half is valid for 400 days, but the pair must be renewed by the
    # encryption half's expiry: both get that advice.
    assert sign.expiry_date == enc.expiry_date == datetime.date(2030, 1, 21)
    assert (sign.phase, sign.needs_action) == (enc.phase, enc.needs_action)
    assert sign.needs_action is True
    assert (sign.pair_partner, sign.pair_partner_label) == (2, "加密证书")
    assert sign.own_expiry_date == datetime.date(2031, 2, 5)
    assert enc.pair_partner is None  # its own expiry is the pair's
    assert advice_message(sign).startswith(
        "It is renewed together with “加密证书”, the other half of its SM2 pair, which expires "
        "first (on 2030-01-21; this one on 2031-02-05). The U盾 self-service update can be "
        "done now"
    )
    assert advice_message(sign, lang="zh").startswith(
        "它与同一 SM2 证书对的另一半 “加密证书” 一起更新，后者先到期（2030-01-21 到期；"
        "本证书 2031-02-05 到期）。现在即可办理U盾自助更新"
    )
    doc = report_to_dict([advised], generated_at=FIXED_NOW)
    report_schema().validate(doc)
    json_sign = doc["modules"][0]["slots"][0]["token"]["certificates"][0]["advice"]
    assert (json_sign["pair_partner_handle"], json_sign["own_expiry_date"]) == (2, "2031-02-05")
    assert json_sign["expiry_date"] == "2030-01-21"


def test_an_sm2_pair_expiring_together_is_advised_as_before() -> None:
    entries = sm2_pair(sign_days=20, enc_days=20)
    advised = advise(report_of(entries), policies=POLICIES, catalogue=CATALOGUE)
    for certificate in advised.slots[0].certificates:
        assert certificate.advice is not None
        assert certificate.advice.pair_partner is None
        assert "SM2 pair" not in advice_message(certificate.advice)


# --- a certificate that is not valid yet ------------------------------------------------


@pytest.mark.parametrize("bank", [None, "ccb-wangyindun"])
def test_a_not_yet_valid_certificate_is_not_told_to_renew(bank: str | None) -> None:
    at = day_start(datetime.date(2020, 1, 1))  # before not_before (2025-06-30)
    advice = advise_certificate(
        entry(cert(), at), at, policies=POLICIES, bank=bank, catalogue=CATALOGUE
    )
    assert advice.not_yet_valid is True
    assert advice.valid_from == datetime.date(2025, 7, 1)
    assert advice_message(advice) == (
        "It is not valid yet (valid from 2025-07-01): nothing to renew now."
    )
    assert (
        advice_message(advice, lang="zh") == "该证书尚未生效（2025-07-01 起生效）：现在无需更新。"
    )


# --- user policy files with the new fields ----------------------------------------------

MINE: dict[str, Any] = {
    "version": 1,
    "policies": [
        {
            "id": "spdb-ukey",
            "bank": "SPDB",
            "key_name": "U-Key",
            "term": "digital certificate update",
            "term_zh": "数字证书更新",
            "stops_working": ["online_banking_login", "signing"],
            "channels": [
                {
                    "channel": "online_banking",
                    "opens_before": {"days": 60},
                    "closes_after": {"days": 10},
                    "menu_zh": ["安全中心", "证书更新"],
                    "menu": ["Security centre", "Certificate update"],
                    "steps": ["plug in the U-Key", "follow the prompts"],
                    "steps_zh": ["插入U-Key", "按提示操作"],
                    "sources": ["SPDB's help page"],
                    "other_closes": [{"closes_after": {"days": 0}, "source": "an older page"}],
                }
            ],
            "branch": {
                "bring": ["id_card", "key"],
                "steps": ["ask for a certificate update at the counter"],
                "steps_zh": ["在柜台申请证书更新"],
                "sources": ["SPDB's help page"],
            },
            "sources": ["SPDB's help page"],
        }
    ],
}


def test_a_user_file_with_the_new_fields(tmp_path: Path) -> None:
    jsonschema.Draft202012Validator(renewal_schema()).validate(MINE)
    path = write(tmp_path / "mine.json", MINE)
    policies = load_policies([path, SHIPPED_POLICIES])
    at = day_start(EXPIRY_DAY - datetime.timedelta(days=5))
    advice = advise_certificate(entry(cert(), at), at, policies=policies, bank="SPDB")
    assert advice.term_zh == "数字证书更新"
    assert advice_message(advice) == (
        "The digital certificate update can be done now: online banking (until 2030-07-11). "
        "When it expires on 2030-07-01, the U-Key can no longer be used for logging in to "
        "online banking and signing transactions such as transfers. In online banking, go to "
        "安全中心 → 证书更新 (Security centre → Certificate update). Then: plug in the U-Key, "
        "follow the prompts. Sources disagree on how long after expiry online banking accepts "
        "the digital certificate update: some say until 2030-07-11, others only until "
        "2030-07-01. If online banking refuses it, go to a branch counter with your ID card and "
        "the U-Key. After 2030-07-11, only at a branch counter, with your ID card and the U-Key."
    )
    assert advice_message(advice, lang="zh") == (
        "现在即可办理数字证书更新：网上银行（至 2030-07-11）。"
        "2030-07-01 到期后，U-Key将无法再用于登录网上银行和签名交易（如转账）。"
        "在网上银行中依次进入安全中心 → 证书更新。然后：插入U-Key、按提示操作。"
        "到期后还能通过网上银行办理数字证书更新多久，各来源说法不一："
        "有的说至 2030-07-11，有的说只到 2030-07-01。"
        "如果网上银行无法办理，请携带身份证和U-Key到网点柜台办理。"
        "2030-07-11 之后只能携带身份证和U-Key到网点柜台办理。"
    )
    late = day_start(EXPIRY_DAY + datetime.timedelta(days=11))
    branch = advise_certificate(entry(cert(), late), late, policies=policies, bank="SPDB")
    assert branch.phase is RenewalPhase.BRANCH_ONLY
    assert advice_message(branch).endswith(
        "Bring your ID card and the U-Key. At the branch: ask for a certificate update at the "
        "counter."
    )
    assert advice_message(branch, lang="zh").endswith("在网点：在柜台申请证书更新。")


def test_a_user_policy_without_a_term_says_certificate_update(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.json", USER_FILE)
    policies = load_policies([path, SHIPPED_POLICIES])
    at = day_start(EXPIRY_DAY - datetime.timedelta(days=5))
    advice = advise_certificate(entry(cert(), at), at, policies=policies, bank="SPDB")
    assert advice_message(advice).startswith("The certificate update can be done now: ")
    assert advice_message(advice, lang="zh").startswith("现在即可办理证书更新：")


def _channel(**changes: Any) -> dict[str, Any]:
    base = {"channel": "online_banking", "opens_before": {"days": 60}, "closes_after": None}
    base.update(changes)
    return base


BROKEN = [
    pytest.param(
        _policy(term=""),
        "policies[0] (id 'spdb-ukey')",
        '"term" must be',
        "policies[0]（id 'spdb-ukey'）：",
        id="empty-term",
    ),
    pytest.param(
        _policy(stops_working=["atm"]),
        "policies[0] (id 'spdb-ukey')",
        "\"stops_working\" lists 'atm'; known: online_banking_login, mobile_banking, signing",
        "\"stops_working\" 列出的 'atm' 未知；已知的有：online_banking_login, mobile_banking, "
        "signing",
        id="unknown-stop",
    ),
    pytest.param(
        _policy(stops_working=["signing", "signing"]),
        "policies[0] (id 'spdb-ukey')",
        '"stops_working" lists something twice',
        '"stops_working" 中有重复的项',
        id="stop-twice",
    ),
    pytest.param(
        _policy(channels=[_channel(menu_zh="客户服务")]),
        "policies[0] (id 'spdb-ukey'): channels[0]",
        '"menu_zh" must be',
        "channels[0]：",
        id="menu-not-a-list",
    ),
    pytest.param(
        _policy(channels=[_channel(steps=["ok", ""])]),
        "policies[0] (id 'spdb-ukey'): channels[0]",
        '"steps" must be',
        "channels[0]：",
        id="empty-step",
    ),
    pytest.param(
        _policy(channels=[_channel(other_closes={"days": 30})]),
        "policies[0] (id 'spdb-ukey'): channels[0]",
        '"other_closes" must be a list',
        "channels[0]：",
        id="other-closes-not-a-list",
    ),
    pytest.param(
        _policy(channels=[_channel(other_closes=["30 days"])]),
        "policies[0] (id 'spdb-ukey'): channels[0]",
        "other_closes[0] must be an object",
        "other_closes[0] 必须是 JSON 对象",
        id="other-close-not-an-object",
    ),
    pytest.param(
        _policy(channels=[_channel(other_closes=[{"closes_after": None, "source": "x"}])]),
        "policies[0] (id 'spdb-ukey'): channels[0]: other_closes[0]",
        '"closes_after" is required and cannot be null',
        'other_closes[0]：缺少 "closes_after" 或其为 null：应为 {"days": N} 或 {"months": N}',
        id="other-close-null",
    ),
    pytest.param(
        _policy(channels=[_channel(other_closes=[{"closes_after": {"weeks": 4}, "source": "x"}])]),
        "policies[0] (id 'spdb-ukey'): channels[0]: other_closes[0]",
        '"closes_after" must be {"days": N}',
        'other_closes[0]："closes_after" 必须是',
        id="other-close-bad-edge",
    ),
    pytest.param(
        _policy(channels=[_channel(other_closes=[{"closes_after": {"days": 30}}])]),
        "policies[0] (id 'spdb-ukey'): channels[0]: other_closes[0]",
        '"source" must be',
        "other_closes[0]：",
        id="other-close-no-source",
    ),
    pytest.param(
        _policy(channels=[_channel(other_closes=[{"closes_after": {"days": 3}, "src": "x"}])]),
        "policies[0] (id 'spdb-ukey'): channels[0]: other_closes[0]",
        "unknown key 'src'",
        "other_closes[0]：未知的键 'src'",
        id="other-close-unknown-key",
    ),
    pytest.param(
        _policy(branch={"bring": [], "steps": "go there"}),
        "policies[0] (id 'spdb-ukey'): branch",
        '"steps" must be',
        "branch：",
        id="branch-steps-not-a-list",
    ),
]


@pytest.mark.parametrize(("policy", "where", "reason", "chinese"), BROKEN)
def test_broken_new_fields_name_the_file_and_the_entry(
    tmp_path: Path, policy: dict[str, Any], where: str, reason: str, chinese: str
) -> None:
    data = {"version": 1, "policies": [policy]}
    path = write(tmp_path / "renewal.json", data)
    with pytest.raises(RenewalPolicyError) as caught:
        load_policies([path, SHIPPED_POLICIES])
    english = str(caught.value)
    assert english.startswith(f"renewal policies {path}: {where}: "), english
    assert reason in english
    assert caught.value.path == str(path)
    assert caught.value.entry == where
    zh = caught.value.message.render("zh")  # type: ignore[union-attr]
    assert zh.startswith(f"续期策略文件 {path}：policies[0]（id 'spdb-ukey'）："), zh
    assert chinese in zh
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(renewal_schema()).validate(data)


# --- the token's advice -----------------------------------------------------------------


def test_the_token_advice_carries_the_banks_words() -> None:
    report = report_of([at_now("ICBC Sub CA", -60, "old", 1)])
    token = advise(report, policies=POLICIES, catalogue=CATALOGUE).slots[0].advice
    assert token is not None
    assert token_advice_message(token, lang="zh").startswith(
        "最紧急：“old”：该证书已于 2029-11-02 过期，但仍可办理U盾自助更新："
    )
    assert DISAGREE_ZH.replace("2030-07-31", "2029-12-02").replace(
        "2035-06-05", "2034-10-07"
    ) in token_advice_message(token, lang="zh")


# --- as a user tries it: --bank icbc --lang zh on a bank-like token ---------------------


@pytest.mark.softhsm
@pytest.mark.parametrize("command", ["list-tokens", "check"])
def test_cli_bank_icbc_in_chinese(
    bank_env: Bank, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    module = str(bank_env.store.module_path)
    argv = [command, "--module", module, "--serial", bank_env.serial, "--bank", "icbc"]
    main([*argv, "--lang", "zh", *AT])
    out = capsys.readouterr().out
    assert "续期" not in out
    # "expired" expired 30 days ago: the most urgent, still renewable online.
    assert "最紧急：“expired”：该证书已于 2029-12-02 过期，但仍可办理U盾自助更新" in out
    assert "证书已过期，U盾已无法再用于登录网上银行、手机银行和签名交易（如转账）。" in out
    assert "在网上银行中依次进入客户服务 → U盾管理 → U盾自助更新。" in out
    assert "各来源说法不一：有的说至 2034-11-06，有的说只到 2030-01-01。" in out
    assert "如果网上银行无法办理，请携带身份证、银行卡和U盾到网点柜台办理。" in out
    main([*argv, "--json", *AT])
    if command == "list-tokens":
        doc = json.loads(capsys.readouterr().out)
        report_schema().validate(doc)
        token = next(
            s["token"]
            for s in doc["modules"][0]["slots"]
            if s["token"] and s["token"]["serial"] == bank_env.serial
        )
        expired = next(c for c in token["certificates"] if c["label"] == "expired")
        assert expired["advice"]["term_zh"] == "U盾自助更新"
        assert expired["advice"]["sources_disagree"] is True


def test_the_summary_names_the_earlier_end_some_sources_give() -> None:
    before = advice_at(BEFORE, "ICBC")
    assert advice_summary(before) == (
        "online renewal open until 2035-06-05 (some sources: only until 2030-07-31); "
        "expires 2030-07-01"
    )
    assert advice_summary(before, lang="zh") == (
        "可网上更新至 2035-06-05（有的来源说只到 2030-07-31）；2030-07-01 到期"
    )
    assert advice_summary(expiring("abc-kbao")) == (
        "online renewal open until it expires on 2030-07-01"
    )
