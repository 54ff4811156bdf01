"""Messages about configuration files and module discovery in Chinese and English: broken
renewal policy files and module catalogues, an unknown --bank, the notes and problems of
list-modules, no module found. They are messages (a template and its parameters) until
they are shown: paths and the words of other software come out as they are, the rest in
the chosen language, and English exactly as it was. Nothing here reads the machine's own
p11-kit registry or the shipped catalogue's modules."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ukeytool.cli import ExitCode, main
from ukeytool.config import catalogue as _catalogue
from ukeytool.config import p11kit as _p11kit
from ukeytool.config.discovery import (
    CatalogueError,
    discover,
    load_catalogue,
    no_module,
    no_module_message,
)
from ukeytool.errors import UsageError
from ukeytool.judging.renewal import RenewalPolicyError, check_bank, load_policies

from .conftest import Bank
from .test_discovery import fake_module, write_module_file
from .test_renewal import USER_FILE, _policy, write

AT = ["--at", "2030-01-01T00:00:00Z"]


@pytest.fixture(autouse=True)
def english_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An English locale, no user configuration, no module in the environment, and no
    p11-kit registry or shipped catalogue of this machine's."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "PKCS11_MODULE", "UKEYTOOL_CATALOGUE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    machine = tmp_path / "machine"
    monkeypatch.setattr(_p11kit, "P11KIT_ADMIN_DIR", machine / "etc/pkcs11/modules")
    monkeypatch.setattr(_p11kit, "P11KIT_PACKAGE_DIR", machine / "usr/share/p11-kit/modules")
    monkeypatch.setattr(_p11kit, "P11KIT_SYSTEM_CONF", machine / "etc/pkcs11/pkcs11.conf")
    empty = machine / "modules.json"
    empty.parent.mkdir(parents=True, exist_ok=True)
    empty.write_text('{"version": 1, "modules": []}', "utf-8")
    monkeypatch.setattr(_catalogue, "SHIPPED_CATALOGUE", empty)


def one_error_line(err: str) -> str:
    assert err.count("\n") == 1, err
    return err.rstrip("\n")


# --- renewal policy files ---------------------------------------------------------------

BROKEN_POLICIES = [
    pytest.param(
        "{not json",
        # The decoder's own words stay in English inside the Chinese sentence.
        "不是有效的 JSON：Expecting property name enclosed in double quotes（第 1 行第 2 列）",
        ["policy.file", "jsonfile.not_json"],
        id="not-json",
    ),
    pytest.param(
        b'{"version": 1, "$comment": "\xb9\xa4\xd0\xd0"}',  # GBK, as a Chinese editor saves it
        "不是 UTF-8 编码（字节偏移 28）；请以 UTF-8 编码保存",
        ["policy.file", "jsonfile.not_utf8"],
        id="not-utf8",
    ),
    pytest.param(
        {"version": 1, "policies": [_policy(chanels=[])]},
        "policies[0]（id 'spdb-ukey'）：未知的键 'chanels'（已知的键：aliases, bank, bank_name, "
        "bank_name_zh, branch, channels, confidence, id, key_name, match, notes, sources, "
        'stops_working, term, term_zh, validity_years；以 "$" 开头的键是注释）',
        ["policy.file", "policy.at_policy_id", "config.unknown_key"],
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
        "policies[0]（id 'spdb-ukey'）：channels[0]："
        '"opens_before" 必须是 {"days": N}（0 到 36500）、{"months": N}（0 到 1200）'
        '或 null，而不是 {"days": -1}',
        ["policy.file", "policy.at_policy_id", "policy.at_channel", "policy.bad_edge"],
        id="window-days",
    ),
    pytest.param(
        {
            "version": 1,
            "policies": [_policy(channels=[{"channel": "online", "opens_before": None}])],
        },
        "policies[0]（id 'spdb-ukey'）：channels[0]："
        '缺少 "closes_after"：应为 {"days": N}、{"months": N} 或 null（不设限）',
        ["policy.file", "policy.at_policy_id", "policy.at_channel", "policy.edge_required"],
        id="window-missing",
    ),
    pytest.param(
        {"version": 2},
        '"version" 必须为 1（本版 ukeytool 读取的格式），实际为 2',
        ["policy.file", "policy.bad_version"],
        id="version",
    ),
    pytest.param(
        {"version": 1, "policies": [_policy(branch={"bring": ["passport"]})]},
        "policies[0]（id 'spdb-ukey'）：branch："
        "\"bring\" 列出的 'passport' 未知；已知的有：id_card, bank_card, key",
        ["policy.file", "policy.at_policy_id", "policy.at_branch", "policy.unknown_bring"],
        id="bring",
    ),
    pytest.param(
        {"version": 1, "policies": [_policy(channels=["online"])]},
        "policies[0]（id 'spdb-ukey'）：channels[0] 必须是 JSON 对象",
        ["policy.file", "policy.channel_not_object"],
        id="channel-not-object",
    ),
]


def write_content(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
        return path
    return write(path, content)


@pytest.mark.parametrize(("content", "chinese", "codes"), BROKEN_POLICIES)
def test_broken_renewal_policies_in_chinese_and_english(
    content: Any,
    chinese: str,
    codes: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_content(tmp_path / "renewal.json", content)
    with pytest.raises(RenewalPolicyError) as caught:
        load_policies(extra=path)
    # The library's message: English by str(), the codes of every part of it.
    english = str(caught.value)
    assert english.startswith(f"renewal policies {path}: ")
    assert [m.code for m in caught.value.message.walk()] == codes  # type: ignore[union-attr]
    assert caught.value.message.render("zh") == f"续期策略文件 {path}：{chinese}"  # type: ignore[union-attr]
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
    expected = f"续期策略文件 {path}：{chinese}"
    assert one_error_line(capsys.readouterr().err) == f"ukeytool：错误：{expected}"
    # The check: UNKNOWN (3), the same sentence on its status line.
    assert main(["check", *command[1:], "--lang", "zh"]) == 3
    assert capsys.readouterr().out == f"UKEYTOOL UNKNOWN - {expected}\n"


def test_a_path_with_a_colon_stays_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: a broken policy file in a directory named ``bank: 2024``. The
    path is a parameter: byte-identical in Chinese (no full-width colon in it), and the
    reason around it translated."""
    path = write_content(tmp_path / "bank: 2024" / "renewal (v2), final.json", "{not json")
    command = ["list-tokens", "--module", str(tmp_path / "none.so")]
    command += ["--renewal-policies", str(path)]
    assert main(command) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == (
        f"ukeytool: error: renewal policies {path}: not valid JSON: "
        "Expecting property name enclosed in double quotes at line 1 column 2"
    )
    assert main(["--lang", "zh", *command]) == ExitCode.USAGE
    shown = one_error_line(capsys.readouterr().err)
    assert shown == (
        f"ukeytool：错误：续期策略文件 {path}：不是有效的 JSON："
        "Expecting property name enclosed in double quotes（第 1 行第 2 列）"
    )
    assert f" {tmp_path}/bank: 2024/renewal (v2), final.json：" in shown
    # The same in the library, and the same for a file that cannot be read at all.
    with pytest.raises(RenewalPolicyError) as caught:
        load_policies(extra=path)
    assert caught.value.path == str(path)
    assert caught.value.message.render("zh") == shown.removeprefix("ukeytool：错误：")  # type: ignore[union-attr]
    missing = tmp_path / "bank: 2024" / "missing.json"
    assert main([*command[:-1], str(missing), "--lang", "zh"]) == ExitCode.USAGE
    # strerror is the operating system's words: kept as they are.
    assert one_error_line(capsys.readouterr().err) == (
        f"ukeytool：错误：续期策略文件 {missing}：无法读取：No such file or directory"
    )


def test_policy_files_without_generic(tmp_path: Path) -> None:
    only = write(tmp_path / "only.json", USER_FILE)
    other = write(tmp_path / "bank: 2024" / "other.json", USER_FILE)
    with pytest.raises(RenewalPolicyError) as caught:
        load_policies([only, other])
    message = caught.value.message
    assert str(message) == (
        f"renewal policies {only}, {other}: no policy with id 'generic', the fallback for "
        "unknown banks; keep the shipped file in the list or add one"
    )
    assert [m.code for m in message.walk()] == ["policy.file", "policy.no_generic"]  # type: ignore[union-attr]
    # The files are a list: joined as Chinese joins a list, each path as it is.
    assert message.render("zh") == (  # type: ignore[union-attr]
        f"续期策略文件 {only}、{other}：没有 id 为 'generic' 的策略（用于未知银行的通用策略）；"
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
    banks = english.split("known banks: ")[1].split("; policies: ")[0]
    policies = english.split("; policies: ")[1].split(" (add your bank")[0]
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")  # the locale, this time
    assert main(command) == ExitCode.USAGE
    chinese = one_error_line(capsys.readouterr().err)
    expected = (
        f"未知的银行 'nowhere'；已知的银行：{banks}；续期策略：{policies}"
        "（可将您的银行加入 ~/.config/ukeytool/renewal.json，参见 docs/renewal.md）"
    )
    assert chinese == f"ukeytool：错误：{expected}"
    assert main(["check", *command[1:]]) == 3
    assert capsys.readouterr().out == f"UKEYTOOL UNKNOWN - {expected}\n"
    with pytest.raises(UsageError) as caught:
        check_bank("nowhere", policies=load_policies())
    assert caught.value.message.code == "renewal.unknown_bank"  # type: ignore[union-attr]


# --- module catalogues ------------------------------------------------------------------


def broken_catalogue(tmp_path: Path) -> tuple[Path, str, str]:
    """A catalogue with a bad path pattern, its English message and its Chinese one."""
    path = tmp_path / "mine.json"
    entry = {"id": "my-key", "vendor": "V", "paths": ["/opt/{arch}/libmy.so"]}
    path.write_text(json.dumps({"version": 1, "modules": [entry]}), "utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue([path])
    assert [m.code for m in caught.value.message.walk()] == [  # type: ignore[union-attr]
        "catalogue.file",
        "catalogue.at_module_id",
        "catalogue.bad_path",
        "catalogue.path_placeholder",
    ]
    english = (
        f"catalogue {path}: modules[0] (id 'my-key'): path '/opt/{{arch}}/libmy.so': "
        'the only placeholder is "{libdir}", once, at the start'
    )
    assert str(caught.value) == english
    chinese = (
        f"模块清单 {path}：modules[0]（id 'my-key'）：路径 '/opt/{{arch}}/libmy.so'："
        '唯一可用的占位符是 "{libdir}"，只能出现一次，且必须位于开头'
    )
    return path, english, chinese


def test_broken_catalogue_in_list_modules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, english, chinese = broken_catalogue(tmp_path)
    assert main(["list-modules", "--catalogue", str(path)]) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == f"ukeytool: error: {english}"
    assert main(["list-modules", "--catalogue", str(path), "--lang", "zh"]) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == f"ukeytool：错误：{chinese}"
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
def machine(tmp_path: Path) -> dict[str, Path]:
    """A user p11-kit registry that disables one module, a catalogue that finds the same
    file twice more, and a module path that does not exist."""
    home = tmp_path / "home"
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


def test_list_modules_notes_and_problems(
    machine: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    lib, module_file, missing = machine["lib"], machine["module_file"], machine["missing"]
    assert main(list_modules(machine)) == ExitCode.OK
    assert capsys.readouterr().out.splitlines() == [
        f"{missing}  [not used: problem]  from option",
        f"    module not found: {missing} does not exist; check the path of the vendor's "
        "PKCS#11 library (a .so file)",
        f"{lib}  [not used: disabled]  from p11-kit:{module_file}  (bank, Vendor A (甲厂))",
        f"    disabled for ukeytool: disable-in: p11-kit-proxy ukeytool ({module_file}); "
        "also found via catalogue:Vendor A; also found via catalogue:Vendor B",
    ]
    assert main(list_modules(machine, "--lang", "zh")) == ExitCode.OK
    # Each "also found via" is translated; sources, paths and p11-kit's lines are not.
    assert capsys.readouterr().out.splitlines() == [
        f"{missing}  [不使用：有问题]  来自 option",
        f"    找不到模块：{missing} 不存在；请检查厂商 PKCS#11 库（.so 文件）的路径",
        f"{lib}  [不使用：已停用]  来自 p11-kit:{module_file}  （bank, Vendor A (甲厂)）",
        f"    已对 ukeytool 停用：disable-in: p11-kit-proxy ukeytool（{module_file}）；"
        "也来自 catalogue:Vendor A；也来自 catalogue:Vendor B",
    ]
    # The library's note: nested messages, by code.
    found = {
        m.path: m for m in discover(explicit=[str(missing)], catalogue_paths=[machine["catalogue"]])
    }
    note = found[str(lib)].note
    assert note is not None
    assert [m.code for m in note.walk()] == [
        "discovery.and_also_found",
        "discovery.and_also_found",
        "discovery.disabled",
    ]


def test_list_modules_json_follows_the_language(
    machine: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(list_modules(machine, "--json")) == ExitCode.OK
    english = json.loads(capsys.readouterr().out)
    assert main(list_modules(machine, "--json", "--lang", "zh")) == ExitCode.OK
    chinese = json.loads(capsys.readouterr().out)
    assert (english["language"], chinese["language"]) == ("en", "zh")
    assert len(english["modules"]) == len(chinese["modules"]) == 2
    for en, cn in zip(english["modules"], chinese["modules"], strict=True):
        # Keys, paths, sources, names, vendors and flags are the same data in both.
        assert list(en) == list(cn) == [
            "path", "source", "name", "vendor", "enabled", "note", "problem", "usable"
        ]  # fmt: skip
        assert {k: v for k, v in en.items() if k not in ("note", "problem")} == {
            k: v for k, v in cn.items() if k not in ("note", "problem")
        }
    pairs = zip(english["modules"], chinese["modules"], strict=True)
    by_path = {cn["path"]: (en, cn) for en, cn in pairs}
    en, cn = by_path[str(machine["missing"])]
    assert (en["note"], cn["note"]) == (None, None)
    assert (en["problem"], cn["problem"]) == (
        f"module not found: {machine['missing']} does not exist; check the path of the "
        "vendor's PKCS#11 library (a .so file)",
        f"找不到模块：{machine['missing']} 不存在；请检查厂商 PKCS#11 库（.so 文件）的路径",
    )
    en, cn = by_path[str(machine["lib"])]
    module_file = machine["module_file"]
    assert (en["note"], cn["note"]) == (
        f"disabled for ukeytool: disable-in: p11-kit-proxy ukeytool ({module_file}); "
        "also found via catalogue:Vendor A; also found via catalogue:Vendor B",
        f"已对 ukeytool 停用：disable-in: p11-kit-proxy ukeytool（{module_file}）；"
        "也来自 catalogue:Vendor A；也来自 catalogue:Vendor B",
    )


def test_list_modules_in_a_chinese_locale(machine: dict[str, Path], tmp_path: Path) -> None:
    """The real program in a child process, Chinese from LANG alone (the machine's
    registry and catalogue replaced there too)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env["LANG"] = "zh_CN.UTF-8"
    prelude = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ukeytool.config import catalogue, p11kit\n"
        "machine = Path(sys.argv.pop(1))\n"
        "p11kit.P11KIT_ADMIN_DIR = machine / 'etc/pkcs11/modules'\n"
        "p11kit.P11KIT_PACKAGE_DIR = machine / 'usr/share/p11-kit/modules'\n"
        "p11kit.P11KIT_SYSTEM_CONF = machine / 'etc/pkcs11/pkcs11.conf'\n"
        "catalogue.SHIPPED_CATALOGUE = machine / 'modules.json'\n"
        "from ukeytool.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", prelude, str(tmp_path / "machine"), *list_modules(machine)],
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
    """The notes that need a trust module or an SKF library, from the library."""
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
    trust, only = notes["trust"], notes["only"]
    assert trust is not None
    assert only is not None
    assert trust.code == "discovery.trust_policy"
    assert str(trust) == (
        "a trust-policy module (the system's CA certificates, not a key); "
        "give it with --module to list it"
    )
    assert trust.render("zh") == (
        "这是信任策略模块（提供系统的 CA 证书，不是 USB Key）；如需列出其证书，请用 --module 指定"
    )
    assert str(only) == (
        f"not enabled for ukeytool: enable-in: seahorse ({share / 'only.module'}); "
        "also found via catalogue:V"
    )
    assert only.render("zh") == (
        f"未对 ukeytool 启用：enable-in: seahorse（{share / 'only.module'}）；也来自 catalogue:V"
    )
    [skf_only] = discover(env={}, p11kit_dirs=[], catalogue_paths=[catalogue_file])
    assert skf_only.note is not None
    assert skf_only.note.code == "discovery.skf_library"
    assert skf_only.note.render("zh") == (
        "这是 SKF（GM/T 0016）库，不是 PKCS#11 模块：ukeytool 无法通过它读取 USB Key"
    )


# --- no module found --------------------------------------------------------------------


def test_no_module_found_in_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ukeytool.config import discovery as _discovery

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(_discovery, "discover", lambda **_kw: [])
    user = tmp_path / "config" / "ukeytool" / "modules.json"
    english = no_module_message()
    assert no_module().code == "discovery.no_module_user_catalogue"
    assert f") or add it to {user}; some keys" in english
    assert main(["list-tokens"]) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == f"ukeytool: error: {english}"
    chinese = no_module_message(lang="zh")
    assert chinese.startswith("未找到 PKCS#11 模块：请用 --module PATH")
    assert f"，或将其加入 {user}；" in chinese
    assert no_module().render("zh") == chinese
    assert main(["list-tokens", "--lang", "zh"]) == ExitCode.USAGE
    assert one_error_line(capsys.readouterr().err) == f"ukeytool：错误：{chinese}"
    assert main(["check", "--lang", "zh"]) == 3
    assert capsys.readouterr().out == f"UKEYTOOL UNKNOWN - {chinese}\n"
    assert main(["list-modules", "--lang", "zh"]) == ExitCode.OK
    assert capsys.readouterr().out == chinese + "\n"
    # Without a home directory there is no user catalogue to suggest.
    assert no_module({}).code == "discovery.no_module"
    without = no_module_message({}, lang="zh")
    assert without.startswith("未找到 PKCS#11 模块：请用 --module PATH")
    assert "或将其加入" not in without


def test_every_nested_part_of_a_deep_error_is_translated(tmp_path: Path) -> None:
    """No English sentence is left inside the Chinese one, however deep the entry."""
    english_words = (" must ", "unknown", "known:", "required", "valid JSON", "save it", "found ")
    for param in BROKEN_POLICIES:
        path = write_content(tmp_path / "renewal.json", param.values[0])
        with pytest.raises(RenewalPolicyError) as caught:
            load_policies(extra=path)
        english = str(caught.value)
        assert any(word in english for word in english_words), english
        shown = caught.value.message.render("zh")  # type: ignore[union-attr]
        assert not [word for word in english_words if word in shown], shown
