"""Messages about configuration files and module discovery in Chinese and English: broken
renewal policy files and module catalogues, an unknown --bank, the notes and problems of
list-modules, no module found. They are made in English (library code) and shown in the
chosen language; English stays exactly as it was."""

from __future__ import annotations

import ast
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ukeytool
from ukeytool.cli import ExitCode, main
from ukeytool.config.discovery import (
    CatalogueError,
    load_catalogue,
    no_module_message,
)
from ukeytool.i18n import N_, _, retranslate, using
from ukeytool.judging.renewal import RenewalPolicyError, load_policies

from .conftest import Bank
from .test_discovery import fake_module, write_module_file
from .test_i18n import catalogue
from .test_renewal import USER_FILE, _policy, write

SOURCE = Path(ukeytool.__file__).parent
MY_FILES = ("config/jsonfile.py", "judging/renewal.py", "config/discovery.py")
AT = ["--at", "2030-01-01T00:00:00Z"]

# The templates the messages are made of (as in the code, which the coverage test below
# checks against the catalogue).
POLICY_FILE = N_("renewal policies {path}: {detail}")
POLICY_ID_AT = N_("policies[{index}] (id {id}): {detail}")
CHANNEL_AT = N_("channels[{index}]: {detail}")
CATALOGUE_FILE = N_("catalogue {path}: {detail}")
MODULE_ID_AT = N_("modules[{index}] (id {id}): {detail}")


@pytest.fixture(autouse=True)
def english_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An English locale, no user configuration, no module in the environment."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "PKCS11_MODULE", "UKEYTOOL_CATALOGUE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def zh(template: str, **values: Any) -> str:
    """``template`` in Chinese, filled with ``values``."""
    with using("zh"):
        return _(template).format(**values)


def one_error_line(err: str) -> str:
    assert err.count("\n") == 1, err
    return err.rstrip("\n")


# --- renewal policy files ---------------------------------------------------------------

BROKEN_POLICIES = [
    pytest.param(
        "{not json",
        zh(
            "not valid JSON: {error} at line {line} column {column}",
            error="Expecting property name enclosed in double quotes",  # the decoder's words
            line=1,
            column=2,
        ),
        "不是有效的 JSON：Expecting property name enclosed in double quotes（第 1 行第 2 列）",
        id="not-json",
    ),
    pytest.param(
        b'{"version": 1, "$comment": "\xb9\xa4\xd0\xd0"}',  # GBK, as a Chinese editor saves it
        zh("not UTF-8 (byte {offset}); save it as UTF-8", offset=28),
        "不是 UTF-8 编码（字节偏移 28）；请以 UTF-8 编码保存",
        id="not-utf8",
    ),
    pytest.param(
        {"version": 1, "policies": [_policy(chanels=[])]},
        zh(
            POLICY_ID_AT,
            index=0,
            id="'spdb-ukey'",
            detail=zh(
                'unknown key {key} (known: {known}; keys starting with "$" are comments)',
                key="'chanels'",
                known="aliases, bank, bank_name, bank_name_zh, branch, channels, confidence, "
                "id, key_name, match, notes, sources, validity_years",
            ),
        ),
        "policies[0]（id 'spdb-ukey'）：未知的键 'chanels'（已知的键：aliases, bank,",
        id="unknown-key",
    ),
    pytest.param(
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
        zh(
            POLICY_ID_AT,
            index=0,
            id="'spdb-ukey'",
            detail=zh(
                CHANNEL_AT,
                index=0,
                detail=zh(
                    '"{key}" must be {days} (0 to 36500), {months} (0 to 1200) or null, '
                    "not {value}",
                    key="opens_before",
                    days='{"days": N}',
                    months='{"months": N}',
                    value='{"days": -1}',
                ),
            ),
        ),
        '：channels[0]："opens_before" 必须是 {"days": N}（0 到 36500）、{"months": N}（0 到 1200）'
        '或 null，而不是 {"days": -1}',
        id="window-days",
    ),
    pytest.param(
        {
            "version": 1,
            "policies": [_policy(channels=[{"channel": "online", "opens_before": None}])],
        },
        zh(
            POLICY_ID_AT,
            index=0,
            id="'spdb-ukey'",
            detail=zh(
                CHANNEL_AT,
                index=0,
                detail=zh(
                    '"{key}" is required: {days}, {months} or null (open-ended)',
                    key="closes_after",
                    days='{"days": N}',
                    months='{"months": N}',
                ),
            ),
        ),
        '缺少 "closes_after"：应为 {"days": N}、{"months": N} 或 null（不设限）',
        id="window-missing",
    ),
    pytest.param(
        {"version": 2},
        zh(
            '"version" must be {version} (the format this ukeytool reads), found {found}',
            version=1,
            found=2,
        ),
        '"version" 必须为 1（本版 ukeytool 读取的格式），实际为 2',
        id="version",
    ),
    pytest.param(
        {"version": 1, "policies": [_policy(branch={"bring": ["passport"]})]},
        zh(
            POLICY_ID_AT,
            index=0,
            id="'spdb-ukey'",
            detail=zh(
                "branch: {detail}",
                detail=zh(
                    '"bring" lists {item}; known: {known}',
                    item="'passport'",
                    known="id_card, bank_card, key",
                ),
            ),
        ),
        "：branch：\"bring\" 列出的 'passport' 未知；已知的有：id_card, bank_card, key",
        id="bring",
    ),
    pytest.param(
        {"version": 1, "policies": [_policy(channels=["online"])]},
        zh(
            "policies[{index}] (id {id}): channels[{channel}] must be an object",
            index=0,
            id="'spdb-ukey'",
            channel=0,
        ),
        "policies[0]（id 'spdb-ukey'）：channels[0] 必须是 JSON 对象",
        id="channel-not-object",
    ),
]


@pytest.mark.parametrize(("content", "chinese", "fragment"), BROKEN_POLICIES)
def test_broken_renewal_policies_in_chinese_and_english(
    content: Any,
    chinese: str,
    fragment: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "renewal.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write(path, content)
    # The library's English message, as it always was (tests/test_renewal.py).
    with pytest.raises(RenewalPolicyError) as caught:
        load_policies(extra=path)
    english = str(caught.value)
    assert english.startswith(f"renewal policies {path}: ")
    # Checked before any module is loaded: a module that is not there does not matter.
    command = [
        "list-tokens",
        "--module",
        str(tmp_path / "none.so"),
        "--renewal-policies",
        str(path),
    ]
    assert main(command) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == f"ukeytool: error: {english}"
    assert main([*command, "--lang", "zh"]) == ExitCode.USAGE
    expected = zh(POLICY_FILE, path=path, detail=chinese)
    shown = one_error_line(capsys.readouterr().err)
    assert shown == f"ukeytool：错误：{expected}"
    assert shown.startswith(f"ukeytool：错误：续期策略文件 {path}：")
    assert fragment in shown
    # The check: UNKNOWN (3), the same sentence on its status line.
    assert main(["check", *command[1:], "--lang", "zh"]) == 3
    assert capsys.readouterr().out == f"UKEYTOOL UNKNOWN - {expected}\n"


def test_unreadable_and_generic_less_policy_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    none = ["list-tokens", "--module", str(tmp_path / "none.so")]
    assert main([*none, "--renewal-policies", str(missing), "--lang", "zh"]) == ExitCode.USAGE
    # strerror is the operating system's words: kept as they are.
    assert one_error_line(capsys.readouterr().err) == (
        f"ukeytool：错误：续期策略文件 {missing}：无法读取：No such file or directory"
    )
    # The library, in Chinese: the message is English until it is shown.
    only = write(tmp_path / "only.json", USER_FILE)
    with pytest.raises(RenewalPolicyError) as caught:
        load_policies([only])
    message = str(caught.value)
    assert message.startswith(f"renewal policies {only}: no policy with id 'generic'")
    with using("zh"):
        assert retranslate(message) == (
            f"续期策略文件 {only}：没有 id 为 'generic' 的策略（用于未知银行的通用策略）；"
            "请保留随附的策略文件，或自行添加一个"
        )


def test_unknown_bank_in_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    command = ["list-tokens", "--module", str(tmp_path / "none.so"), "--bank", "nowhere"]
    assert main(command) == ExitCode.USAGE
    english = one_error_line(capsys.readouterr().err)
    assert english.startswith("ukeytool: error: unknown bank 'nowhere'; known banks: ABC, BOC,")
    assert english.endswith(
        "(add your bank to ~/.config/ukeytool/renewal.json, see docs/renewal.md)"
    )
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")  # the locale, this time
    assert main(command) == ExitCode.USAGE
    chinese = one_error_line(capsys.readouterr().err)
    banks = english.split("known banks: ")[1].split("; policies: ")[0]
    policies = english.split("; policies: ")[1].split(" (add your bank")[0]
    template = N_(
        "unknown bank {bank}; known banks: {banks}; policies: {policies} "
        "(add your bank to ~/.config/ukeytool/renewal.json, see docs/renewal.md)"
    )
    expected = zh(template, bank="'nowhere'", banks=banks, policies=policies)
    assert chinese == f"ukeytool：错误：{expected}"
    assert chinese.startswith("ukeytool：错误：未知的银行 'nowhere'；已知的银行：ABC, BOC,")
    assert "参见 docs/renewal.md）" in chinese
    assert main(["check", *command[1:]]) == 3
    assert capsys.readouterr().out == f"UKEYTOOL UNKNOWN - {expected}\n"


# --- module catalogues ------------------------------------------------------------------


def broken_catalogue(tmp_path: Path) -> tuple[Path, str, str]:
    """A catalogue with a bad path pattern, its English message and its Chinese one."""
    path = tmp_path / "mine.json"
    entry = {"id": "my-key", "vendor": "V", "paths": ["/opt/{arch}/libmy.so"]}
    path.write_text(json.dumps({"version": 1, "modules": [entry]}), "utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue([path])
    english = str(caught.value)
    reason = N_('the only placeholder is "{libdir}", once, at the start')
    with using("zh"):
        detail = _("path {pattern}: {detail}").format(
            pattern="'/opt/{arch}/libmy.so'", detail=_(reason)
        )
    chinese = zh(
        CATALOGUE_FILE, path=path, detail=zh(MODULE_ID_AT, index=0, id="'my-key'", detail=detail)
    )
    return path, english, chinese


def test_broken_catalogue_in_list_modules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, english, chinese = broken_catalogue(tmp_path)
    assert english == (
        f"catalogue {path}: modules[0] (id 'my-key'): path '/opt/{{arch}}/libmy.so': "
        'the only placeholder is "{libdir}", once, at the start'
    )
    assert main(["list-modules", "--catalogue", str(path)]) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == f"ukeytool: error: {english}"
    assert main(["list-modules", "--catalogue", str(path), "--lang", "zh"]) == ExitCode.USAGE
    shown = one_error_line(capsys.readouterr().err)
    assert shown == f"ukeytool：错误：{chinese}"
    assert shown == (
        f"ukeytool：错误：模块清单 {path}：modules[0]（id 'my-key'）："
        "路径 '/opt/{arch}/libmy.so'："
        '唯一可用的占位符是 "{libdir}"，只能出现一次，且必须位于开头'
    )
    # Not JSON: the decoder's own words stay in English inside the Chinese sentence.
    path.write_text("[1,", "utf-8")
    assert main(["list-modules", "--catalogue", str(path), "--lang", "zh"]) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == (
        f"ukeytool：错误：模块清单 {path}：不是有效的 JSON：Expecting value（第 1 行第 4 列）"
    )


@pytest.mark.softhsm
def test_broken_catalogue_warning_in_list_tokens(
    bank: Bank,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, english, chinese = broken_catalogue(tmp_path)
    monkeypatch.setenv("UKEYTOOL_CATALOGUE", str(path))
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    command = ["list-tokens", "--module", str(bank.store.module_path), "--serial", bank.serial, *AT]
    assert main(command) == ExitCode.OK
    out, err = capsys.readouterr()
    assert "expired" in out  # the listing goes on, without the module-name hints
    assert err == (
        f"ukeytool: warning: {english}; module file names are not used to tell the bank\n"
    )
    assert main([*command, "--lang", "zh"]) == ExitCode.OK
    out, err = capsys.readouterr()
    assert "已过期" in out
    assert err == f"ukeytool：警告：{chinese}；不根据模块文件名识别银行\n"


# --- list-modules -----------------------------------------------------------------------


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A user p11-kit registry that disables one module, a catalogue that finds the same
    file twice more, and a module path that does not exist."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    lib = fake_module(tmp_path / "libs" / "libbank_p11.so")
    registry = home / ".config" / "pkcs11" / "modules"
    module_file = write_module_file(
        registry, "bank.module", f"module: {lib}\ndisable-in: p11-kit-proxy ukeytool\n"
    )
    # p11-kit refuses this one too: a warning, on standard error.
    write_module_file(registry, "broken.module", f"module: {lib}\n[section]\n")
    entries = [
        {"id": "bank-a", "vendor": "Vendor A", "vendor_zh": "甲厂", "paths": [str(lib)]},
        {"id": "bank-b", "vendor": "Vendor B", "paths": [str(lib)]},
    ]
    catalogue_file = tmp_path / "catalogue.json"
    catalogue_file.write_text(json.dumps({"version": 1, "modules": entries}), "utf-8")
    return {
        "lib": lib,
        "module_file": module_file,
        "catalogue": catalogue_file,
        "missing": tmp_path / "libmissing.so",
    }


def list_modules(machine: dict[str, Path], *extra: str) -> list[str]:
    return [
        "list-modules",
        "--module",
        str(machine["missing"]),
        "--catalogue",
        str(machine["catalogue"]),
        *extra,
    ]


def mine(lines: list[str], machine: dict[str, Path]) -> list[str]:
    """The lines of the missing and the disabled module (this machine's own modules are
    listed too, in registry priority order)."""
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{machine['lib']}  "))
    return [*lines[:2], *lines[at : at + 2]]


def test_list_modules_notes_and_problems(
    machine: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    lib, module_file, missing = machine["lib"], machine["module_file"], machine["missing"]
    assert main(list_modules(machine)) == ExitCode.OK
    english = capsys.readouterr().out.splitlines()
    assert mine(english, machine) == [
        f"{missing}  [not used: problem]  from option",
        f"    module not found: {missing} does not exist; check the path of the vendor's "
        "PKCS#11 library (a .so file)",
        f"{lib}  [not used: disabled]  from p11-kit:{module_file}  (bank, Vendor A (甲厂))",
        f"    disabled for ukeytool: disable-in: p11-kit-proxy ukeytool ({module_file}); "
        "also found via catalogue:Vendor A; also found via catalogue:Vendor B",
    ]
    assert main(list_modules(machine, "--lang", "zh")) == ExitCode.OK
    chinese = capsys.readouterr().out.splitlines()
    assert mine(chinese, machine) == [
        f"{missing}  [不使用：有问题]  来自 option",
        f"    找不到模块：{missing} 不存在；请检查厂商 PKCS#11 库（.so 文件）的路径",
        f"{lib}  [不使用：已停用]  来自 p11-kit:{module_file}  （bank, Vendor A (甲厂)）",
        f"    已对 ukeytool 停用：disable-in: p11-kit-proxy ukeytool（{module_file}）；"
        "也来自 catalogue:Vendor A；也来自 catalogue:Vendor B",
    ]
    disabled = N_("disabled for {program}: disable-in: {value} ({file})")
    also = N_("{detail}; also found via {detail_source}")
    first = zh(disabled, program="ukeytool", value="p11-kit-proxy ukeytool", file=module_file)
    # The later sources are a {detail} of their own: each "also found via" is translated.
    later = zh(also, detail="catalogue:Vendor A", detail_source="catalogue:Vendor B")
    assert mine(chinese, machine)[3] == "    " + zh(also, detail=first, detail_source=later)
    # Every other line is the same in both languages but for the words.
    assert len(chinese) == len(english)


def test_list_modules_json_follows_the_language(
    machine: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(list_modules(machine, "--json")) == ExitCode.OK
    english = json.loads(capsys.readouterr().out)
    assert main(list_modules(machine, "--json", "--lang", "zh")) == ExitCode.OK
    chinese = json.loads(capsys.readouterr().out)
    assert (english["language"], chinese["language"]) == ("en", "zh")
    assert len(english["modules"]) == len(chinese["modules"])
    for en, cn in zip(english["modules"], chinese["modules"], strict=True):
        # Keys, paths, sources, names, vendors and flags are the same data in both.
        assert list(en) == list(cn) == [
            "path", "source", "name", "vendor", "enabled", "note", "problem", "usable"
        ]  # fmt: skip
        assert {k: v for k, v in en.items() if k not in ("note", "problem")} == {
            k: v for k, v in cn.items() if k not in ("note", "problem")
        }
        # The sentences follow the language, as the listing JSON's messages do.
        with using("zh"):
            assert cn["note"] == (None if en["note"] is None else retranslate(en["note"]))
    pairs = zip(english["modules"], chinese["modules"], strict=True)
    by_path = {cn["path"]: (en, cn) for en, cn in pairs}
    en, cn = by_path[str(machine["missing"])]
    assert (en["problem"], cn["problem"]) == (
        f"module not found: {machine['missing']} does not exist; check the path of the "
        "vendor's PKCS#11 library (a .so file)",
        f"找不到模块：{machine['missing']} 不存在；请检查厂商 PKCS#11 库（.so 文件）的路径",
    )
    en, cn = by_path[str(machine["lib"])]
    assert en["note"].startswith("disabled for ukeytool: disable-in: p11-kit-proxy ukeytool (")
    assert cn["note"].startswith("已对 ukeytool 停用：disable-in: p11-kit-proxy ukeytool（")


def test_list_modules_in_a_chinese_locale(machine: dict[str, Path], tmp_path: Path) -> None:
    """The real program in a child process, Chinese from LANG alone."""
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env["LANG"] = "zh_CN.UTF-8"
    done = subprocess.run(
        [sys.executable, "-m", "ukeytool", *list_modules(machine)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"    已对 ukeytool 停用：disable-in: p11-kit-proxy ukeytool（{machine['module_file']}）"
        in (done.stdout)
    )
    assert "[不使用：有问题]" in done.stdout
    broken = machine["module_file"].parent / "broken.module"
    assert (
        f"已忽略 p11-kit 文件 {broken}（p11-kit 同样拒绝该文件）：第 2 行：出现了不应有的节标题"
        in done.stderr.splitlines()
    )


def test_registry_warnings_in_chinese(
    machine: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = machine["module_file"].parent / "broken.module"
    with caplog.at_level(logging.WARNING, logger="ukeytool.discovery"):
        assert main(list_modules(machine)) == ExitCode.OK
        assert main(list_modules(machine, "--lang", "zh")) == ExitCode.OK
    capsys.readouterr()
    assert [r.getMessage() for r in caplog.records] == [
        f"p11-kit file {broken} ignored (p11-kit refuses it too): "
        "line 2: unexpected section header",
        f"已忽略 p11-kit 文件 {broken}（p11-kit 同样拒绝该文件）：第 2 行：出现了不应有的节标题",
    ]


def test_other_discovery_notes_in_chinese(tmp_path: Path) -> None:
    """The notes that need a real trust module or an SKF library, from the library."""
    from ukeytool.config.discovery import discover

    share = tmp_path / "share"
    lib = fake_module(tmp_path / "libtrust.so")
    skf = fake_module(tmp_path / "libskf.so")
    write_module_file(share, "trust.module", f"module: {lib}\ntrust-policy: yes\n")
    write_module_file(share, "only.module", f"module: {skf}\nenable-in: seahorse\n")
    entry = {"id": "skf", "vendor": "V", "paths": [str(skf)], "interface": "skf"}
    catalogue_file = tmp_path / "c.json"
    catalogue_file.write_text(json.dumps({"version": 1, "modules": [entry]}), "utf-8")
    found = discover(
        env={}, p11kit_dirs=[share], catalogue_paths=[catalogue_file], p11kit_module_path=[]
    )
    notes = {m.name: m.note for m in found}
    assert notes["trust"] == (
        "a trust-policy module (the system's CA certificates, not a key); "
        "give it with --module to list it"
    )
    assert notes["only"] == (
        f"not enabled for ukeytool: enable-in: seahorse ({share / 'only.module'}); "
        "also found via catalogue:V"
    )
    with using("zh"):
        assert retranslate(str(notes["trust"])) == (
            "这是信任策略模块（提供系统的 CA 证书，不是 USB Key）；"
            "如需列出其证书，请用 --module 指定"
        )
        assert retranslate(str(notes["only"])) == (
            f"未对 ukeytool 启用：enable-in: seahorse（{share / 'only.module'}）；"
            "也来自 catalogue:V"
        )
    [skf_only] = discover(env={}, p11kit_dirs=[], catalogue_paths=[catalogue_file])
    with using("zh"):
        assert retranslate(str(skf_only.note)) == (
            "这是 SKF（GM/T 0016）库，不是 PKCS#11 模块：ukeytool 无法通过它读取 USB Key"
        )


# --- no module found --------------------------------------------------------------------


def test_no_module_found_in_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ukeytool.config import discovery as _discovery

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(_discovery, "discover", lambda **_kw: [])
    english = no_module_message()
    assert main(["list-tokens"]) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == f"ukeytool: error: {english}"
    user = tmp_path / "config" / "ukeytool" / "modules.json"
    chinese = zh(
        "no PKCS#11 module found: pass --module PATH or set PKCS11_MODULE to the key's "
        "PKCS#11 library (a .so file from the vendor's driver package, usually under /opt "
        "or /usr/lib, e.g. libshuttle_p11v220.so, libwdpkcs_*.so, libgm3000_pkcs11.so) "
        "or add it to {path}; some keys come with no PKCS#11 module at all, only an SKF "
        "(GM/T 0016) library or a Windows CSP, and ukeytool cannot read those",
        path=user,
    )
    assert f"，或将其加入 {user}；" in chinese
    assert no_module_message(lang="zh") == chinese
    with using("zh"):
        assert no_module_message() == chinese
        assert retranslate(english) == chinese  # the English sentence, translated later
    assert main(["list-tokens", "--lang", "zh"]) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == f"ukeytool：错误：{chinese}"
    assert main(["check", "--lang", "zh"]) == 3
    assert capsys.readouterr().out == f"UKEYTOOL UNKNOWN - {chinese}\n"
    assert main(["list-modules", "--lang", "zh"]) == ExitCode.OK
    assert capsys.readouterr().out == chinese + "\n"
    # Without a home directory there is no user catalogue to suggest.
    without = no_module_message({}, lang="zh")
    assert without.startswith("未找到 PKCS#11 模块：请用 --module PATH")
    assert "或将其加入" not in without
    with using("zh"):
        assert retranslate(no_module_message({})) == without


# --- every template is translated, and found again by retranslate -------------------------


def marked_in(filename: str) -> list[str]:
    tree = ast.parse((SOURCE / filename).read_text("utf-8"))
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "N_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


# Messages with braces that are meant literally: looked up whole, never filled in.
LITERAL_BRACES = {
    'the only placeholder is "{libdir}", once, at the start',
    'must be absolute, or start with "~/" or "{libdir}/"',
}
NESTED = N_("contains a NUL byte")


@pytest.mark.parametrize("filename", MY_FILES)
def test_every_template_is_translated_and_found_by_retranslate(filename: str) -> None:
    import string

    templates = marked_in(filename)
    assert templates
    translated = catalogue()
    for template in templates:
        assert template in translated, template
        with using("zh"):
            # Whole: as a msgid.
            assert retranslate(template) == _(template) != template, template
            if template in LITERAL_BRACES:
                continue
            names = [f for _t, f, _s, _c in string.Formatter().parse(template) if f]
            if not names:
                continue
            values = {
                name: NESTED if name.startswith("detail") else f"<{name}-7>" for name in names
            }
            english = template.format(**values)
            expected = _(template).format(
                **{k: _(v) if k.startswith("detail") else v for k, v in values.items()}
            )
            assert retranslate(english) == expected, template
        assert retranslate(english) == english  # English: as it is


def test_nested_messages_are_translated_all_the_way_down(tmp_path: Path) -> None:
    """No English sentence is left inside the Chinese one, however deep the entry."""
    english_words = (" must ", "unknown", "known:", "required", "valid JSON", "save it", "found ")
    for param in BROKEN_POLICIES:
        content = param.values[0]
        path = tmp_path / "renewal.json"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            write(path, content)
        with pytest.raises(RenewalPolicyError) as caught:
            load_policies(extra=path)
        english = str(caught.value)
        assert any(word in english for word in english_words), english
        with using("zh"):
            shown = retranslate(english)
        assert not [word for word in english_words if word in shown], shown
