"""Messages about modules, slots, tokens and objects in English and Chinese.

They are made as messages (a template with a code, and its parameters) where they
happen: the loader, the backend, perhaps in the isolation child, which does not know the
reader's language and sends them to the parent as values. They are rendered where they
are shown: the error line, the text listing, JSON and the check, and by a library caller
with ``message.render("zh")``. Each kind of module failure and of slot or object problem
is shown here end to end, in Chinese and unchanged in English, with its code.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import ukeytool
from ukeytool.cli import ExitCode, main
from ukeytool.i18n import Message, using
from ukeytool.model import ModuleFailure, PinState
from ukeytool.pkcs11 import cryptoki as ck
from ukeytool.pkcs11.backend import SEARCH_STOPPED
from ukeytool.pkcs11.ckr import explain
from ukeytool.pkcs11.isolate import EXITED, KILLED, TIMED_OUT
from ukeytool.pkcs11.loading import MISSING_DEPENDENCY, _python_elf, check_module_file
from ukeytool.pkcs11.login import Login, Pin, refusal, state_refusal

from .conftest import Bank, Cli
from .factories import make_token_info
from .shim_module import AT, run_ukeytool, shim_env
from .test_module_loading import _elf_header, build_so, needs_cc

ERROR = "ukeytool: error: "
ERROR_ZH = "ukeytool：错误："


# --- the library: errors and outcomes carry messages with codes --------------------------


def code(value: Message | str) -> str:
    """The code of a message (a value that is plain text fails the test)."""
    assert isinstance(value, Message), value
    return value.code


def test_module_file_errors_are_messages_with_codes(tmp_path: Path) -> None:
    missing = tmp_path / "bank: 2024" / "libp11 (v2), final.so"
    with pytest.raises(ukeytool.ModuleNotFound) as caught:
        check_module_file(str(missing))
    message = caught.value.message
    assert isinstance(message, Message)
    assert message.code == "module.not_found"
    assert (
        str(caught.value)
        == str(message)
        == (
            f"module not found: {missing} does not exist; check the path of the vendor's "
            "PKCS#11 library (a .so file)"
        )
    )
    # The path is a value: the same bytes in Chinese, colon and brackets included.
    assert message.render("zh") == (
        f"找不到模块：{missing} 不存在；请检查厂商 PKCS#11 库（.so 文件）的路径"
    )
    # An error crosses a pipe with its message as data (the isolation child sends it).
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is ukeytool.ModuleNotFound
    assert again.message == message
    assert again.path == str(missing)

    with pytest.raises(ukeytool.NotASharedLibrary) as directory:
        check_module_file(str(tmp_path))
    assert code(directory.value.message) == "module.directory"
    with pytest.raises(ukeytool.UsageError) as empty:
        check_module_file("")
    assert code(empty.value.message) == "module.path_empty"


def test_failures_of_several_modules_render_in_chinese(tmp_path: Path) -> None:
    missing = str(tmp_path / "libnothere.so")
    reports, failures = ukeytool.inspect_modules([missing])
    assert reports == []
    (failure,) = failures
    assert isinstance(failure.message, Message)
    assert failure.message.code == "module.not_found"
    assert failure.message.render("zh").startswith(f"找不到模块：{missing} 不存在")
    with using("zh"):
        assert failure.message.render() == failure.message.render("zh")


def test_login_refusals_are_messages_and_never_hold_the_pin() -> None:
    secret = "8642097531"
    outcome = state_refusal(make_token_info(pin_state=PinState.LOCKED))
    assert outcome is not None
    assert isinstance(outcome.message, Message)
    assert outcome.message.code == "login.pin_locked"
    assert outcome.message.render("zh") == (
        "用户 PIN 码已锁定；未尝试登录。须由颁发者解锁（银行 U 盾：请到银行网点柜台办理）"
    )

    short = make_token_info(min_pin_len=12, max_pin_len=16)
    refused = refusal(short, Login(Pin(secret)))
    assert refused is not None
    assert isinstance(refused.message, Message)
    assert refused.message.code == "login.pin_too_short"
    assert str(refused.message) == (
        "the PIN is shorter than the token allows (at least 12 characters); "
        "no login was tried, so no PIN try was spent"
    )
    for shown in (str(refused.message), refused.message.render("zh"), repr(refused)):
        assert secret not in shown
    assert secret not in repr(pickle.loads(pickle.dumps(refused)))


def test_uri_refusals_are_messages_in_both_languages() -> None:
    with pytest.raises(ukeytool.UsageError) as caught:
        ukeytool.parse_uri("pkcs11:token=a;token=b")
    message = caught.value.message
    assert isinstance(message, Message)
    assert message.code == "uri.path_attribute_twice"
    assert str(message) == (
        "PKCS#11 URI path attribute 'token' appears twice "
        "(RFC 7512 allows each path attribute once)"
    )
    assert "'token'" in message.render("zh")
    assert "appears twice" not in message.render("zh")


def test_search_problems_nest_the_code_hint() -> None:
    stopped = SEARCH_STOPPED[ck.CKO_CERTIFICATE](n=3, detail=explain(0x32))
    assert stopped.code == "search.stopped.certificates"
    assert [m.code for m in stopped.walk()] == ["search.stopped.certificates", "ckr.device_removed"]
    assert str(stopped) == STOPPED
    assert stopped.render("zh") == STOPPED_ZH
    # A code without a hint is its name: text that no language changes.
    assert explain(0x5) == "CKR_GENERAL_ERROR"


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
    needs = MISSING_DEPENDENCY(path=str(module), dependency="libvendordep.so", real=real)
    assert cn == ERROR_ZH + needs.render("zh") + "\n"
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
    return TIMED_OUT(path=str(path), timeout=seconds).render("zh")


def crashed(path: Path | str) -> str:
    return KILLED(path=str(path), number=11, name="SIGSEGV").render("zh")


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
        {"path": str(shim), "path_hex": bytes(shim).hex(),
         "kind": "ModuleCrashed", "message": crashed(shim),
         "message_code": "isolation.crashed", "code": None, "code_name": None}
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
        ModuleFailure("/opt/a.so", "ModuleTimedOut", TIMED_OUT(path="/opt/a.so", timeout="2.5")),
        ModuleFailure("/opt/b.so", "ModuleCrashed", EXITED(path="/opt/b.so", status="3")),
    ]
    assert [str(f.message) for f in failures] == [hung, died]
    assert [code(f.message) for f in failures] == [
        "isolation.timed_out",
        "isolation.exited",
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
                "message_code": "search.stopped.certificates",
                "code": 0x32,
                "code_name": "CKR_DEVICE_REMOVED",
            }
        ]
    for lang, message in (("en", SENSITIVE), ("zh", SENSITIVE_ZH)):
        certificates = slots[lang]["token"]["certificates"]
        assert len(certificates) == 3
        for certificate in certificates:
            assert certificate["status"] == "unreadable"
            assert certificate["problems"] == [
                {
                    "where": "CKA_VALUE",
                    "message": message,
                    "message_code": "attribute.sensitive",
                    "code": 0x11,
                    "code_name": "CKR_ATTRIBUTE_SENSITIVE",
                }
            ]


@pytest.mark.softhsm
def test_problems_cross_from_the_isolation_child_as_messages(
    shim: Path, bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library caller gets the child's problems as data, with codes, in any language."""
    from .conftest import FIXED_NOW

    for name in [n for n in os.environ if n.startswith("MISBEHAVE")]:
        monkeypatch.delenv(name)
    for name, value in shim_env(bank.store, SEARCH_AND_ATTRIBUTE, after=3).items():
        monkeypatch.setenv(name, value)
    reports, failures = ukeytool.inspect_modules([str(shim)], at=FIXED_NOW, isolate=True)
    assert failures == []
    (report,) = reports
    (slot,) = [s for s in report.slots if s.token and s.token.serial.value == bank.serial]
    (problem,) = slot.problems
    assert isinstance(problem.message, Message)
    assert [m.code for m in problem.message.walk()] == [
        "search.stopped.certificates",
        "ckr.device_removed",
    ]
    assert (str(problem.message), problem.message.render("zh")) == (STOPPED, STOPPED_ZH)
    assert len(slot.certificates) == 3
    for entry in slot.certificates:
        (sensitive,) = entry.problems
        assert isinstance(sensitive.message, Message)
        assert sensitive.message.code == "attribute.sensitive"
        assert sensitive.message.render("zh") == SENSITIVE_ZH


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
            "message_code": "token.cannot_read",
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
