"""Messages in English and Chinese: the catalogue covers every marked string with the same
placeholders, our .po reader agrees with GNU msgfmt, the language follows --lang and the
locale, and Chinese output lines up in a terminal."""

from __future__ import annotations

import ast
import gettext
import io
import json
import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

import ukeytool
from ukeytool.cli import ExitCode, main
from ukeytool.errors import UsageError
from ukeytool.i18n import (
    LOCALE_DIR,
    PoError,
    _,
    compile_mo,
    get_language,
    language_from_env,
    ngettext,
    normalize_language,
    parse_po,
    set_language,
    using,
)
from ukeytool.i18n import catalogue as _cat
from ukeytool.model import Report, SlotReport
from ukeytool.rendering.text import render_text

from .conftest import FIXED_NOW, Bank
from .factories import make_module_info, make_slot_info, make_token_info
from .test_renewal import POLICIES, at_now, report_of

SOURCE = Path(ukeytool.__file__).parent
CATALOGUE = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "ukeytool.po"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
#: argparse's %-placeholders (%s, %r, %(prog)s...), in the argparse words cli.py marks.
PERCENT = re.compile(r"%(?:\((\w+)\))?[sdr]")


def marked_strings() -> set[str | tuple[str, str]]:
    """Every string the code marks for translation, found the way xgettext finds them:
    literal arguments of _(), N_(), ngettext() and pgettext()."""
    found: set[str | tuple[str, str]] = set()
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            name = node.func.id
            if name in ("_", "N_") and args and isinstance(args[0], str):
                found.add(args[0])
            elif name == "template" and len(args) == 2 and isinstance(args[1], str):
                found.add(args[1])
            elif (
                name == "plural_template"
                and len(args) == 3
                and all(isinstance(a, str) for a in args[1:])
            ):
                found.add((str(args[1]), str(args[2])))
            elif (
                name == "context_template"
                and len(args) == 3
                and all(isinstance(a, str) for a in args[1:])
            ):
                found.add(f"{args[1]}\x04{args[2]}")
            elif (
                name == "ngettext" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2])
            ):
                found.add((str(args[0]), str(args[1])))
            elif (
                name == "pgettext" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2])
            ):
                found.add(f"{args[0]}\x04{args[1]}")
            elif name in (
                "N_",
                "ngettext",
                "pgettext",
                "template",
                "plural_template",
                "context_template",
            ):
                pytest.fail(
                    f"{path.name}:{node.lineno}: {name}() of a non-literal: xgettext misses it"
                )
            # _(variable) is fine: it translates a string marked with N_() elsewhere.
    return found


def catalogue() -> dict[str | tuple[str, str], str | list[str]]:
    return parse_po(CATALOGUE.read_text("utf-8"))


def test_every_marked_string_has_a_translation_with_the_same_placeholders() -> None:
    marked = marked_strings()
    assert len(marked) > 150
    translated = catalogue()
    missing = sorted(str(m) for m in marked if m not in translated)
    assert missing == [], "not translated in ukeytool.po (run scripts/update-messages.sh)"
    for key in marked:
        value = translated[key]
        sources = list(key) if isinstance(key, tuple) else [key.split("\x04")[-1]]
        targets = value if isinstance(value, list) else [value]
        for target in targets:
            assert target.strip() or target == "", key
            for source in sources:
                assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), (
                    key,
                    target,
                )
                assert sorted(PERCENT.findall(source)) == sorted(PERCENT.findall(target)), (
                    key,
                    target,
                )
            str(target).format(**{p[1:-1]: "x" for p in PLACEHOLDER.findall(target)})
            names = PERCENT.findall(target)
            if names:  # argparse fills them with %: by name, or in order
                values = dict.fromkeys(names, "x") if all(names) else tuple("x" for _n in names)
                str(target) % values


def test_catalogue_has_no_stale_entries() -> None:
    stale = set(catalogue()) - marked_strings() - {""}
    assert stale == set(), "strings no longer in the code (run scripts/update-messages.sh)"


def test_header_declares_utf8_and_one_plural_form() -> None:
    header = catalogue()[""]
    assert isinstance(header, str)
    assert "charset=UTF-8" in header
    assert "Plural-Forms: nplurals=1; plural=0;" in header


def msgfmt() -> str:
    path = shutil.which("msgfmt")
    if path is None:
        message = "msgfmt not found (apt-get install gettext)"
        if os.environ.get("CI"):
            pytest.fail(f"required under CI: {message}")
        pytest.skip(message)
    return path


def test_msgfmt_accepts_the_catalogue_and_agrees_with_our_reader(tmp_path: Path) -> None:
    mo = tmp_path / "ukeytool.mo"
    done = subprocess.run(
        [msgfmt(), "--check", "--statistics", "-o", str(mo), str(CATALOGUE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "untranslated" not in done.stderr
    assert "fuzzy" not in done.stderr
    theirs = gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    ours = gettext.GNUTranslations(io.BytesIO(compile_mo(catalogue())))
    # msgfmt drops POT-Creation-Date from the header; everything else must be the same.
    mine = dict(ours._catalog)  # type: ignore[attr-defined]
    made = dict(theirs._catalog)  # type: ignore[attr-defined]
    assert re.sub(r"POT-Creation-Date: .*\n", "", mine.pop("")) == made.pop("")
    assert mine == made


def test_po_reader_details() -> None:
    text = r"""# a comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

#. an extracted comment
#: file.py
msgid "two "
"lines\t\"quoted\"\\"
msgstr "zwei "
"Zeilen"

#, fuzzy
msgid "fuzzy"
msgstr "skipped"

msgid "untranslated"
msgstr ""

msgctxt "list"
msgid ", "
msgstr "; "

msgid "{n} file"
msgid_plural "{n} files"
msgstr[0] "{n} Datei"

msgstr[1] "{n} Dateien"

#~ msgid "obsolete"
#~ msgstr "alt"
msgid "octal \101\n"
msgstr "B"
"""
    entries = parse_po(text)
    assert entries['two lines\t"quoted"\\'] == "zwei Zeilen"
    assert not {"fuzzy", "untranslated", "obsolete"} & set(entries)
    assert entries["list\x04, "] == "; "
    assert entries[("{n} file", "{n} files")] == ["{n} Datei", "{n} Dateien"]
    assert entries["octal A\n"] == "B"
    translations = gettext.GNUTranslations(io.BytesIO(compile_mo(entries)))
    assert translations.ngettext("{n} file", "{n} files", 1) == "{n} Datei"
    assert translations.ngettext("{n} file", "{n} files", 3) == "{n} Dateien"
    assert translations.pgettext("list", ", ") == "; "
    assert translations.gettext("fuzzy") == "fuzzy"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('msgid "a"\nmsgstr "b\n', 2),
        ('msgid "a"\nmsgstr "b" x\n', 2),
        ('msgid "a"\nmsgid "b"\nmsgstr ""\n', 2),
        ('"stray"\n', 1),
        ('msgid "a"\nmsgstr "\\q"\n', 2),
        ('msgid "a"\nmsgstr[0] "b"\n', 1),
        ('msgid "a"\nmsgid_plural "as"\nmsgstr[1] "b"\n', 1),
        ('msgid "a"\nmsgstr "b"\nnonsense "c"\n', 3),
    ],
)
def test_po_reader_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(PoError, match=rf"^line {line}: "):
        parse_po(text)


def test_a_broken_catalogue_falls_back_to_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "zh_CN" / "LC_MESSAGES"
    broken.mkdir(parents=True)
    (broken / "ukeytool.po").write_text('msgid "valid"\nmsgstr "有效\n', "utf-8")
    forget_catalogues()
    try:
        with monkeypatch.context() as patch:
            patch.setattr(_cat, "LOCALE_DIR", tmp_path)
            with using("zh"):
                assert _("valid") == "valid"
    finally:
        forget_catalogues()
    with using("zh"):
        assert _("valid") == "有效"


def forget_catalogues() -> None:
    for cached in (_cat._catalogue, _cat.translations):
        cached.cache_clear()


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LANGUAGE": "zh_CN:en"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "LANGUAGE": "fr:en"}, "en"),
        ({"LANG": "zh_CN.UTF-8", "LANGUAGE": "fr"}, "zh"),
        ({"LANG": "C", "LANGUAGE": "zh_CN"}, "en"),  # GNU gettext ignores LANGUAGE in C
        ({"LANGUAGE": "zh_CN"}, "en"),
    ],
)
def test_language_from_the_locale(env: dict[str, str], lang: str) -> None:
    assert language_from_env(env) == lang


def test_normalize_and_set_language() -> None:
    assert normalize_language("zh-Hans") == "zh"
    assert normalize_language("zh_CN.GB18030") == "zh"
    assert normalize_language("POSIX") == "en"
    assert normalize_language("fr_FR") is None
    assert get_language() == "en"
    with using("zh_CN.UTF-8"):
        assert get_language() == "zh"
        assert ngettext("{n} certificate", "{n} certificates", 2) == "共 {n} 个证书"
        with using(None):
            assert get_language() == "zh"
    assert get_language() == "en"
    with pytest.raises(UsageError, match="unknown language 'fr'; ukeytool speaks en, zh"):
        set_language("fr")


# --- Chinese output lines up ----------------------------------------------------------


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def column_starts(line: str, cells: list[str]) -> list[int]:
    """The display column where each cell starts, found left to right."""
    starts, position = [], 0
    for cell in cells:
        index = line.index(cell, position)
        starts.append(width(line[:index]))
        position = index + len(cell)
    return starts


def test_chinese_listing_lines_up() -> None:
    entries = [
        at_now("ICBC Sub CA", 20, "签名证书", 1),
        at_now("CFCA OCA1", 400, "sign", 2),
        at_now("中国金融认证中心", -30, "加密", 3),
    ]
    from ukeytool.config.discovery import SHIPPED_CATALOGUE, load_catalogue
    from ukeytool.judging.renewal import advise

    report = advise(
        report_of(entries), policies=POLICIES, catalogue=load_catalogue([SHIPPED_CATALOGUE])
    )
    text = render_text([report], color=False, lang="zh")
    lines = text.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("标签"))
    headers = ["标签", "ID", "主体名称", "颁发者", "密钥", "到期日", "剩余天数", "状态"]
    expected = column_starts(header, headers)
    rows = {
        "签名证书": [
            "签名证书",
            "01",
            "051@张三",
            "ICBC Sub CA",
            "-",
            "2030-01-21",
            "20",
            "即将到期",
        ],
        "sign": ["sign", "02", "051@张三", "CFCA OCA1", "-", "2031-02-05", "400", "有效"],
        "加密": [
            "加密",
            "03",
            "051@张三",
            "中国金融认证中心",
            "-",
            "2029-12-02",
            "-30",
            "已过期",
        ],
    }
    for first, cells in rows.items():
        line = next(line for line in lines if line.startswith(f"    {first} "))
        starts = column_starts(line, cells)
        # The days column is right-aligned: its cell ends where the header ends.
        days = 6
        assert starts[:days] == expected[:days], line
        assert starts[days] + width(cells[days]) == expected[days] + width(headers[days])
        assert starts[days + 1] == expected[days + 1], line
    assert lines[-1] == "共 3 个证书：1 个有效，1 个即将到期，1 个已过期"


def test_status_and_pin_words_in_chinese() -> None:
    from ukeytool.model import PinState

    token = make_token_info(pin_state=PinState.LOCKED)
    report = Report(make_module_info(), (SlotReport(make_slot_info(), token, ()),), FIXED_NOW, 30)
    text = render_text([report], color=False, lang="zh")
    assert "  PIN：已锁定（只有令牌的发行方能够解锁）" in text
    assert text.splitlines()[0] == "有效性判断时间 2030-01-01 00:00:00 UTC；“即将到期”= 30 天内到期"
    assert _("valid") == "valid"  # English again outside


# --- the command line -----------------------------------------------------------------

AT = ["--at", "2030-01-01T00:00:00Z"]


@pytest.fixture
def bank_env(bank: Bank, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Bank:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("PKCS11_MODULE", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    return bank


def lines_of(text: str) -> list[str]:
    """The lines of a listing in an order of their own: SoftHSM's object order may differ
    from one listing to the next, and so may the labels after a bank line."""
    return sorted(line.split(" [")[0] for line in text.splitlines())


@pytest.mark.softhsm
def test_cli_language_from_option_and_locale(
    bank_env: Bank, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = str(bank_env.store.module_path)
    listing = ["list-tokens", "--module", module, "--serial", bank_env.serial, *AT]
    assert main(listing) == ExitCode.OK
    english = capsys.readouterr().out
    assert {"LABEL", "expired"} <= set(english.split())
    assert main([*listing, "--lang", "zh"]) == ExitCode.OK
    chinese = capsys.readouterr().out
    assert {"标签", "已过期"} <= set(chinese.split())
    assert "LABEL" not in chinese
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(listing) == ExitCode.OK
    assert lines_of(capsys.readouterr().out) == lines_of(chinese)
    assert main(["--lang", "en", *listing]) == ExitCode.OK
    assert lines_of(capsys.readouterr().out) == lines_of(english)
    assert get_language() == "en"  # main() leaves the caller's language alone


@pytest.mark.softhsm
def test_cli_json_keeps_english_codes(bank_env: Bank, capsys: pytest.CaptureFixture[str]) -> None:
    module = str(bank_env.store.module_path)
    args = ["list-tokens", "--module", module, "--serial", bank_env.serial, "--json", *AT]
    assert main([*args, "--bank", "ICBC", "--lang", "zh"]) == ExitCode.OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["language"] == "zh"
    token = next(
        s["token"]
        for s in doc["modules"][0]["slots"]
        if s["token"] and s["token"]["serial"] == bank_env.serial
    )
    expired = next(c for c in token["certificates"] if c["label"] == "expired")
    assert expired["status"] == "expired"
    assert (expired["advice"]["phase"], expired["advice"]["action"]) == (
        "online_open",
        "renew_online",
    )
    assert expired["advice"]["message"].startswith(
        "该证书已于 2029-12-02 过期，但仍可办理U盾自助更新"
    )
    assert token["advice"]["message"].startswith("最紧急：“expired”：")


@pytest.mark.softhsm
def test_cli_check_in_chinese(bank_env: Bank, capsys: pytest.CaptureFixture[str]) -> None:
    module = str(bank_env.store.module_path)
    code = main(["check", "--module", module, "--serial", bank_env.serial, "--lang", "zh", *AT])
    out = capsys.readouterr().out
    assert code == 2
    status = out.splitlines()[0]
    assert status.startswith("UKEYTOOL CRITICAL - 1 个已过期")
    assert "[CRITICAL] 证书 expired@工行U盾（CN old）：已于 2029-12-02 00:00 UTC 过期" in out


def test_cli_errors_in_chinese(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    missing = tmp_path / "libnothere.so"
    assert (
        main(["list-tokens", "--module", str(missing), "--lang", "zh"]) == ExitCode.MODULE_UNUSABLE
    )
    err = capsys.readouterr().err
    assert err == (
        f"ukeytool：错误：找不到模块：{missing} 不存在；请检查厂商 PKCS#11 库（.so 文件）的路径\n"
    )
    assert main(["list-tokens", "--module", str(missing)]) == ExitCode.MODULE_UNUSABLE
    assert capsys.readouterr().err.startswith(f"ukeytool: error: module not found: {missing}")
    not_a_library = tmp_path / "plain.so"
    not_a_library.write_text("text")
    assert main(["list-tokens", "--module", str(not_a_library), "--lang", "zh"]) == 3
    assert capsys.readouterr().err.startswith(f"ukeytool：错误：{not_a_library} 不是共享库")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main([]) == ExitCode.USAGE
    assert capsys.readouterr().err.endswith(
        "ukeytool：错误：未给出命令；请尝试“ukeytool list-tokens --help”\n"
    )


def test_cli_no_module_in_chinese(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ukeytool.config import discovery as _discovery

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    monkeypatch.setattr(_discovery, "discover", lambda **_kw: [])
    assert main(["list-tokens", "--lang", "zh"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("ukeytool：错误：未找到 PKCS#11 模块：请用 --module PATH")
    assert f"，或将其加入 {tmp_path}/config/ukeytool/modules.json；" in err
    assert err.count("\n") == 1


@pytest.mark.softhsm
def test_cli_no_token_matches_in_chinese(
    bank_env: Bank, capsys: pytest.CaptureFixture[str]
) -> None:
    module = str(bank_env.store.module_path)
    code = main(["list-tokens", "--module", module, "--token-label", "nope", "--lang", "zh", *AT])
    assert code == ExitCode.USAGE
    assert capsys.readouterr().err == (
        "ukeytool：错误：没有与 标签 'nope' 匹配的令牌；运行“ukeytool list-tokens”查看全部令牌\n"
    )


@pytest.mark.softhsm
def test_cli_relations_and_refused_login_in_chinese(
    bank_env: Bank, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relation lines, findings and a refused login follow --lang, though the login
    outcome and the findings are made in English (in the isolation child)."""
    module = str(bank_env.store.module_path)
    monkeypatch.setenv("UKEYTOOL_PIN", "")  # refused before C_Login: no PIN try spent
    listing = ["list-tokens", "--module", module, "--serial", bank_env.serial, *AT, "--login"]
    assert main([*listing, "--lang", "zh"]) == ExitCode.LOGIN_REFUSED
    out, err = capsys.readouterr()
    assert "  拒绝登录: PIN 码为空；未尝试登录" in out.splitlines()
    assert err == "ukeytool: 拒绝登录: PIN 码为空；未尝试登录\n"
    assert '终端实体证书，颁发者 "Demo Root CA"（按密钥标识符）；密钥：未知（未登录）' in out
    assert "SM2 签名证书，与" in out
    assert "[警告] weak-rsa-key: RSA 密钥为 1024 位（低于 2048），可被破解" in out
    assert "issued by" not in out
    assert "login refused" not in out
    monkeypatch.setenv("UKEYTOOL_PIN", "")
    assert main([*listing, "--format", "json", "--lang", "zh"]) == ExitCode.LOGIN_REFUSED
    data = json.loads(capsys.readouterr().out)
    slot = data["modules"][0]["slots"][0]
    assert slot["login"]["state"] == "refused"
    assert slot["login"]["message"] == "PIN 码为空；未尝试登录"
    monkeypatch.setenv("UKEYTOOL_PIN", "")
    assert main(listing) == ExitCode.LOGIN_REFUSED
    out, err = capsys.readouterr()
    assert "  login refused: the PIN is empty; no login was tried" in out.splitlines()
    assert 'end entity, issued by "Demo Root CA" (key identifier); key: unknown' in out
