"""Messages about modules, slots, tokens and objects in English and Chinese.

They are made in English where they happen (the backend, perhaps in the isolation child,
which does not know the reader's language) as ``N_`` templates, and translated when
shown: the error line, the text listing, JSON and the check. Every template of
``_backend.py``, ``_isolate.py`` and ``_inspect.py`` is built with sample values and
must come back translated; then each kind of module failure and of slot or object
problem is shown end to end from the command line, in Chinese and unchanged in English.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import ukeytool
from ukeytool.cli import ExitCode, _failure_text, main
from ukeytool.i18n import _, retranslate, using
from ukeytool.i18n import _legacy as _retr
from ukeytool.model import ModuleFailure
from ukeytool.pkcs11.backend import _python_elf

from .conftest import Bank, Cli
from .shim_module import AT, run_ukeytool, shim_env
from .test_module_loading import _elf_header, build_so, needs_cc

SOURCE = Path(ukeytool.__file__).parent
FILES = ("pkcs11/backend.py", "pkcs11/isolate.py", "pkcs11/inspect.py")
ERROR = "ukeytool: error: "
ERROR_ZH = "ukeytool：错误："


def templates() -> list[str]:
    """The literal arguments of N_() in this slice's files."""
    found: list[str] = []
    for name in FILES:
        tree = ast.parse((SOURCE / name).read_text("utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "N_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append(node.args[0].value)
    return sorted(set(found))


#: Sample values by placeholder name; every other name gets "v-<name>".
SAMPLES = {
    "path": "/opt/vendor/lib/libp11.so",
    "code_name": "CKR_GENERAL_ERROR",
    "function": "C_GetTokenInfo",
    "slot_id": "906534487",
    "n": "3",
    "reason": "Permission denied",
    "timeout": "1.5",
    "attribute": "CKA_VALUE",
}
#: A nested sentence for {detail}: itself a template of the slice.
DETAIL = "{code_name} (the token was removed)"


def test_the_slice_has_its_templates() -> None:
    found = templates()
    assert len(found) >= 50
    assert DETAIL in found
    # a template is matched back by named groups: a name used twice would break it
    for template in found:
        names = re.findall(r"\{(\w+)\}", template)
        assert len(names) == len(set(names)), template


@pytest.mark.parametrize("template", templates())
def test_every_template_is_translated_and_matched_back(template: str) -> None:
    names = re.findall(r"\{(\w+)\}", template)
    values = {n: SAMPLES.get(n, f"v-{n}") for n in names}
    detail_en = DETAIL.format(code_name="CKR_DEVICE_REMOVED")
    if "detail" in values:
        values["detail"] = detail_en
    english = template.format(**values)
    assert retranslate(english) == english  # English: as it was made
    with using("zh"):
        translated = _(template)
        assert translated != template, "not translated"
        expected = dict(values)
        if "detail" in expected:
            expected["detail"] = _(DETAIL).format(code_name="CKR_DEVICE_REMOVED")
            assert expected["detail"] == "CKR_DEVICE_REMOVED（令牌已被拔出）"
        # matched against the whole catalogue, this sentence finds its own template
        assert retranslate(english) == translated.format(**expected)
        for name in names:
            if name != "detail":
                assert values[name] in retranslate(english)  # values are kept


def test_every_catalogue_template_can_be_matched() -> None:
    for template in _retr._catalogue_templates("zh"):
        _retr._template_pattern(template)  # no repeated names, no bad pattern


def test_a_sentence_no_template_knows_gets_a_lead_in() -> None:
    with using("zh"):
        assert _failure_text("NotASharedLibrary", "/x.so", "something else") == (
            "无法使用该模块：something else"
        )
        assert _failure_text("ModuleCallFailed", "/x.so", "something else") == (
            "模块出错：something else"
        )
    assert _failure_text("NotASharedLibrary", "/x.so", "something else") == "something else"


# --- module files: the error line -------------------------------------------------------


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("PKCS11_MODULE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "UKEYTOOL_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def error_lines(run: Cli, module: Path | str, *extra: str) -> tuple[int, str, str]:
    """(exit code, English error line, Chinese error line) of list-tokens on ``module``."""
    english = run("list-tokens", "--module", str(module), *extra)
    assert english.out == ""
    chinese = run("list-tokens", "--module", str(module), "--lang", "zh", *extra)
    assert chinese.out == ""
    code, code_zh = english.code, chinese.code
    assert code_zh == code
    assert english.err.count("\n") == chinese.err.count("\n") == 1
    return code, english.err, chinese.err


def zh(template: str, **values: Any) -> str:
    with using("zh"):
        return _(template).format(**values)


@pytest.mark.usefixtures("quiet_env")
def test_module_file_mistakes_in_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "libnothere.so"
    code, en, cn = error_lines(cli, missing)
    assert code == ExitCode.MODULE_UNUSABLE
    assert en == (
        f"{ERROR}module not found: {missing} does not exist; check the path of the "
        "vendor's PKCS#11 library (a .so file)\n"
    )
    assert (
        cn == f"{ERROR_ZH}找不到模块：{missing} 不存在；请检查厂商 PKCS#11 库（.so 文件）的路径\n"
    )

    text = tmp_path / "module.so"
    text.write_text("#!/bin/sh\necho hello\n")
    code, en, cn = error_lines(cli, text)
    assert code == ExitCode.MODULE_UNUSABLE
    assert en == (
        f"{ERROR}{text} is not a shared library (no ELF header); give the path of the "
        "vendor's PKCS#11 .so file\n"
    )
    assert cn == (
        f"{ERROR_ZH}{text} 不是共享库（没有 ELF 文件头）；请给出厂商 PKCS#11 .so 文件的路径\n"
    )

    code, en, cn = error_lines(cli, tmp_path)
    assert code == ExitCode.MODULE_UNUSABLE
    assert en == f"{ERROR}{tmp_path} is a directory; give the path of the module file inside it\n"
    assert cn == f"{ERROR_ZH}{tmp_path} 是一个目录；请给出其中模块文件的路径\n"

    program = tmp_path / "prog"
    program.write_bytes(_elf_header(64, 0x3E, e_type=2))
    code, en, cn = error_lines(cli, program)
    assert code == ExitCode.MODULE_UNUSABLE
    assert en == f"{ERROR}{program} is an ELF executable, not a shared library\n"
    assert cn == f"{ERROR_ZH}{program} 是 ELF 可执行文件，不是共享库\n"

    # The locale chooses Chinese as --lang does.
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(["list-tokens", "--module", str(program)]) == ExitCode.MODULE_UNUSABLE
    assert capsys.readouterr().err == cn


@pytest.mark.usefixtures("quiet_env")
def test_wrong_architecture_in_chinese(tmp_path: Path, cli: Cli) -> None:
    mine = _python_elf()
    if mine is None:
        pytest.skip("this Python's ELF header cannot be read")
    foreign = (32, 0x28) if (mine.bits, mine.machine) != (32, 0x28) else (64, 0x3E)
    module = tmp_path / "libforeign.so"
    module.write_bytes(_elf_header(*foreign))
    described = "32-bit ARM" if foreign == (32, 0x28) else "64-bit x86-64"
    code, en, cn = error_lines(cli, module)
    assert code == ExitCode.MODULE_UNUSABLE
    assert en == (
        f"{ERROR}module {module} is {described} and Python is {mine.describe()}; "
        f"use a {mine.describe()} build of the module\n"
    )
    assert cn == (
        f"{ERROR_ZH}模块 {module} 是 {described} 版本，而 Python 是 {mine.describe()} 版本；"
        f"请改用该模块的 {mine.describe()} 版本\n"
    )


@pytest.mark.usefixtures("quiet_env")
def test_loader_words_are_kept_in_chinese(tmp_path: Path, cli: Cli) -> None:
    """A file that passes the checks but that the dynamic loader refuses: its message
    (dlerror) is another program's words, kept as they are inside the Chinese sentence."""
    mine = _python_elf()
    if mine is None:
        pytest.skip("this Python's ELF header cannot be read")
    module = tmp_path / "libcut.so"
    module.write_bytes(_elf_header(mine.bits, mine.machine))  # a header and nothing else
    code, en, cn = error_lines(cli, module, "--no-isolation")
    assert code == ExitCode.MODULE_UNUSABLE
    prefix = f"{ERROR}module {module} cannot be loaded: "
    assert en.startswith(prefix)
    loader = en[len(prefix) : -1]
    assert loader  # e.g. "...libcut.so: file too short"
    assert cn == f"{ERROR_ZH}无法加载模块 {module}：{loader}\n"


@needs_cc
@pytest.mark.usefixtures("quiet_env")
def test_libraries_that_are_no_modules_in_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cli: Cli
) -> None:
    plain = build_so(tmp_path, "plain", "int answer(void) { return 42; }\n")
    # in this process, and (the default) in a child process whose error crosses over
    code, en, cn = error_lines(cli, plain, "--no-isolation")
    assert code == ExitCode.MODULE_UNUSABLE
    assert en == (
        f"{ERROR}{plain} is a shared library but not a PKCS#11 module (it has no "
        "C_GetFunctionList); check that this is the vendor's PKCS#11 library\n"
    )
    assert cn == (
        f"{ERROR_ZH}{plain} 是共享库，但不是 PKCS#11 模块（没有 C_GetFunctionList）；"
        "请确认这是厂商的 PKCS#11 库\n"
    )
    assert main(["list-tokens", "--module", str(plain), "--lang", "zh"]) == code
    assert capsys.readouterr().err == cn

    dep = build_so(tmp_path, "vendordep", "int helper(void) { return 1; }\n")
    module = build_so(
        tmp_path,
        "vendorp11",
        "int helper(void);\nint C_GetFunctionList(void **p) { return helper(); }\n",
        f"-L{tmp_path}",
        "-lvendordep",
    )
    dep.unlink()
    code, en, cn = error_lines(cli, module, "--no-isolation")
    assert code == ExitCode.MODULE_UNUSABLE
    real = os.path.realpath(module)
    assert en == (
        f"{ERROR}module {module} needs libvendordep.so, which is not installed; install "
        f"the package that provides it (see `ldd {real}`)\n"
    )
    assert (
        cn
        == ERROR_ZH
        + zh(
            "module {path} needs {dependency}, which is not installed; install the package "
            "that provides it (see `ldd {real}`)",
            path=module,
            dependency="libvendordep.so",
            real=real,
        )
        + "\n"
    )
    assert "libvendordep.so，但系统中未安装；请安装提供它的软件包" in cn


# --- the misbehaving module: C_Initialize, hangs and crashes -----------------------------


@pytest.mark.softhsm
def test_initialise_failure_in_chinese(shim: Path, bank: Bank) -> None:
    english = run_ukeytool(shim, bank.store, ["init_args_bad"])
    chinese = run_ukeytool(shim, bank.store, ["init_args_bad"], args=["--lang", "zh"])
    assert english.returncode == chinese.returncode == ExitCode.MODULE_FAILED
    assert english.stdout == chinese.stdout == ""
    assert english.stderr == (
        f"{ERROR}module {shim} failed to initialise: C_Initialize returned "
        "CKR_ARGUMENTS_BAD; the module or its device may be misconfigured\n"
    )
    assert chinese.stderr == (
        f"{ERROR_ZH}模块 {shim} 初始化失败：C_Initialize 返回 CKR_ARGUMENTS_BAD；"
        "模块或其设备可能配置有误\n"
    )


def cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ukeytool ARGS`` (modules isolated, as by default)."""
    return subprocess.run(
        [sys.executable, "-m", "ukeytool", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def env_for(bank: Bank, mode: str, **extra: str) -> dict[str, str]:
    env = shim_env(bank.store, [mode])
    for name in ("PKCS11_MODULE", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        env.pop(name, None)
    env["LANG"] = "C.UTF-8"
    env.update(extra)
    return env


def timed_out(path: Path | str, seconds: str) -> str:
    return zh(
        "module {path} did not answer within {timeout} s and was stopped: the device or "
        "its driver may be stuck; unplug and replug the token, or allow more time",
        path=path,
        timeout=seconds,
    )


def crashed(path: Path | str) -> str:
    return zh(
        "module {path} crashed (signal {number}, {name}) while it was inspected; the module "
        "or its device is faulty: ask its vendor, or run with --trace to see the last call "
        "it answered",
        path=path,
        number=11,
        name="SIGSEGV",
    )


@pytest.mark.softhsm
def test_hang_alone_gives_chinese_error_lines(shim: Path, bank: Bank, tmp_path: Path) -> None:
    missing = tmp_path / "libmissing.so"
    args = ["list-tokens", "--module", str(missing), "--module", str(shim), "--timeout", "1"]
    done = cli(env_for(bank, "init_hang"), *args, "--lang", "zh")
    assert done.returncode == ExitCode.MODULE_TIMED_OUT
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{ERROR_ZH}找不到模块：{missing} 不存在；请检查厂商 PKCS#11 库（.so 文件）的路径",
        f"{ERROR_ZH}{timed_out(shim, '1')}",
    ]
    assert f"模块 {shim} 在 1 秒内没有响应，已被停止：" in done.stderr


@pytest.mark.softhsm
def test_crash_in_chinese_text_json_and_check(shim: Path, bank: Bank) -> None:
    good = str(bank.store.module_path)
    modules = ["--module", str(shim), "--module", good, "--at", AT]
    env = env_for(bank, "init_crash")

    text = cli(env, "list-tokens", *modules, "--lang", "zh")
    assert text.returncode == ExitCode.INCOMPLETE, text.stderr
    lines = text.stdout.splitlines()
    assert lines[lines.index(f"模块 {shim}") + 1] == f"  ! {crashed(shim)}"
    assert "在检查过程中崩溃（信号 11，SIGSEGV）" in text.stdout

    document = cli(env, "list-tokens", *modules, "--json", "--lang", "zh")
    assert document.returncode == ExitCode.INCOMPLETE, document.stderr
    doc = json.loads(document.stdout)
    assert doc["failed_modules"] == [
        {"path": str(shim), "kind": "ModuleCrashed", "message": crashed(shim), "code": None,
         "code_name": None}
    ]  # fmt: skip

    check = cli(env, "check", *modules, "--token-label", "second", "--lang", "zh")
    assert check.returncode == 3, check.stderr
    assert any(
        line.startswith(f"[UNKNOWN] {shim}：ModuleCrashed：{crashed(shim)}")
        for line in check.stdout.splitlines()
    ), check.stdout

    # Alone: one Chinese error line, the language from the locale.
    alone = cli({**env, "LANG": "zh_CN.UTF-8"}, "list-tokens", "--module", str(shim))
    assert alone.returncode == ExitCode.MODULE_CRASHED
    assert alone.stdout == ""
    assert alone.stderr == f"{ERROR_ZH}{crashed(shim)}\n"


def test_timed_out_and_crashed_failures_in_text_json_and_check() -> None:
    """The two failures of the isolation, as the renderers show them beside a report
    (the real ones above; here without waiting for a time limit beside a good module)."""
    from ukeytool.rendering.check import check_reports
    from ukeytool.rendering.json import render_json
    from ukeytool.rendering.text import render_text

    from .conftest import FIXED_NOW
    from .factories import make_module_info

    report = ukeytool.Report(make_module_info(), (), FIXED_NOW, 30)
    hung = (
        "module /opt/a.so did not answer within 2.5 s and was stopped: the device or its "
        "driver may be stuck; unplug and replug the token, or allow more time"
    )
    died = (
        "module /opt/b.so ended the process it was inspected in (exit status 3) without an "
        "answer; the module or its device is faulty: ask its vendor, or run with --trace to "
        "see the last call it answered"
    )
    failures = [
        ModuleFailure("/opt/a.so", "ModuleTimedOut", hung),
        ModuleFailure("/opt/b.so", "ModuleCrashed", died),
    ]
    with using("zh"):
        doc = json.loads(render_json([report], generated_at=FIXED_NOW, failures=failures))
        check = check_reports([report], failures=failures)
        text = render_text([report], color=False, failures=failures).splitlines()
    english = render_text([report], color=False, failures=failures).splitlines()
    assert english[english.index("Module /opt/a.so") + 1] == f"  ! {hung}"
    assert english[english.index("Module /opt/b.so") + 1] == f"  ! {died}"
    assert [f["message"] for f in doc["failed_modules"]] == [
        timed_out("/opt/a.so", "2.5"),
        "模块 /opt/b.so 未给出结果就结束了检查它的进程（退出状态 3）；模块或其设备有故障："
        "请咨询厂商，或加 --trace 运行以查看它最后响应的调用",
    ]
    assert [f["kind"] for f in doc["failed_modules"]] == ["ModuleTimedOut", "ModuleCrashed"]
    assert [p.message for p in check.problems] == [f["message"] for f in doc["failed_modules"]]
    assert [p.where for p in check.problems] == ["ModuleTimedOut", "ModuleCrashed"]
    for failure in doc["failed_modules"]:
        assert text[text.index(f"模块 {failure['path']}") + 1] == f"  ! {failure['message']}"
    assert (
        "模块 /opt/a.so 在 2.5 秒内没有响应，已被停止：" in text[text.index("模块 /opt/a.so") + 1]
    )


# --- slot and object problems from the misbehaving module ---------------------------------


def bank_slot(document: dict[str, Any] | None, serial: str) -> dict[str, Any]:
    assert document is not None
    (module,) = document["modules"]
    slot: dict[str, Any] = next(
        s for s in module["slots"] if s["token"] and s["token"]["serial"] == serial
    )
    return slot


SEARCH_AND_ATTRIBUTE = ["find_device_removed", "attr_sensitive"]
STOPPED = (
    "the search stopped after 3 certificate objects: CKR_DEVICE_REMOVED (the token was removed)"
)
STOPPED_ZH = "查找到 3 个证书对象后中断：CKR_DEVICE_REMOVED（令牌已被拔出）"
SENSITIVE = "the module refuses to reveal CKA_VALUE (CKR_ATTRIBUTE_SENSITIVE)"
SENSITIVE_ZH = "模块拒绝提供 CKA_VALUE（CKR_ATTRIBUTE_SENSITIVE）"


@pytest.mark.softhsm
def test_search_and_attribute_problems_in_chinese_json(shim: Path, bank: Bank) -> None:
    runs = {
        lang: run_ukeytool(shim, bank.store, SEARCH_AND_ATTRIBUTE, after=3, args=["--lang", lang])
        for lang in ("en", "zh")
    }
    slots = {lang: bank_slot(run.document, bank.serial) for lang, run in runs.items()}
    for lang, message in (("en", STOPPED), ("zh", STOPPED_ZH)):
        assert runs[lang].returncode == ExitCode.INCOMPLETE, runs[lang].stderr
        assert slots[lang]["problems"] == [
            {
                "where": "C_FindObjects",
                "message": message,
                "code": 0x32,
                "code_name": "CKR_DEVICE_REMOVED",
            }
        ]
    with using("zh"):
        assert retranslate(STOPPED) == STOPPED_ZH
    for lang, message in (("en", SENSITIVE), ("zh", SENSITIVE_ZH)):
        certificates = slots[lang]["token"]["certificates"]
        assert len(certificates) == 3
        for certificate in certificates:
            assert certificate["status"] == "unreadable"
            assert certificate["problems"] == [
                {
                    "where": "CKA_VALUE",
                    "message": message,
                    "code": 0x11,
                    "code_name": "CKR_ATTRIBUTE_SENSITIVE",
                }
            ]


@pytest.mark.softhsm
def test_token_problem_in_chinese_json(shim: Path, bank: Bank) -> None:
    run = run_ukeytool(shim, bank.store, ["tokeninfo_device_error"], args=["--lang", "zh"])
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.document is not None
    (module,) = run.document["modules"]
    problems = [p for slot in module["slots"] for p in slot["problems"]]
    assert problems
    assert all(
        p
        == {
            "where": "C_GetTokenInfo",
            "message": "无法读取令牌：CKR_DEVICE_ERROR",
            "code": 0x30,
            "code_name": "CKR_DEVICE_ERROR",
        }
        for p in problems
    ), problems


@pytest.mark.softhsm
def test_problems_in_the_chinese_listing_and_check(shim: Path, bank: Bank) -> None:
    env = shim_env(bank.store, SEARCH_AND_ATTRIBUTE, after=3)
    env["LANG"] = "C.UTF-8"
    text = cli(env, "list-tokens", "--module", str(shim), "--at", AT, "--lang", "zh")
    assert text.returncode == ExitCode.INCOMPLETE, text.stderr
    lines = [line.strip() for line in text.stdout.splitlines()]
    assert f"! C_FindObjects：{STOPPED_ZH}（0x32）" in lines
    assert f"! CKA_VALUE：{SENSITIVE_ZH}（0x11）" in lines
    # the status column says why the certificate is unreadable, in Chinese too
    assert f"无法读取：{SENSITIVE_ZH}" in text.stdout
    assert "the search stopped" not in text.stdout
    assert "refuses to reveal" not in text.stdout

    check = cli(env, "check", "--module", str(shim), "--at", AT, "--lang", "zh")
    assert check.returncode == 3, check.stderr  # unreadable certificates: UNKNOWN
    assert STOPPED_ZH in check.stdout
    assert SENSITIVE_ZH in check.stdout
    assert "refuses to reveal" not in check.stdout


@pytest.mark.softhsm
def test_object_read_failure_in_the_chinese_listing(shim: Path, bank: Bank) -> None:
    env = shim_env(bank.store, ["attr_device_removed"], obj=0)
    env["LANG"] = "zh_CN.UTF-8"
    done = cli(env, "list-tokens", "--module", str(shim), "--at", AT)
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    removal = "! C_GetAttributeValue：无法读取该对象：CKR_DEVICE_REMOVED（令牌已被拔出）（0x32）"
    assert removal in [line.strip() for line in done.stdout.splitlines()]
