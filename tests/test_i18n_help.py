"""--help and usage errors in Simplified Chinese: the command line's own texts, argparse's
words (through our catalogue while main() runs), the type checks of option values and
the CLI-made usage errors follow --lang and the locale; English help is laid out for
the terminal's width the same way (descriptions, headings and exit-code lines wrapped)."""

from __future__ import annotations

import argparse
import ast
import gettext
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from ukeytool import cli as cli_module
from ukeytool.cli import ARGPARSE_MESSAGES, ARGPARSE_PLURALS, ExitCode, list_modules, main
from ukeytool.cli.argparse_i18n import argparse_speaks
from ukeytool.cli.layout import wrap_wide
from ukeytool.i18n import _, translations, using

from .conftest import Cli

SRC = Path(cli_module.__file__).resolve().parents[2]
COMMANDS = ["list-tokens", "check", "list-modules", "inspect-file", "watch"]


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An English locale and an 80-column terminal unless a test says otherwise."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "PKCS11_MODULE", "UKEYTOOL_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def help_of(cli: Cli, *argv: str) -> str:
    code, out, err = cli(*argv)
    assert code == 0
    assert err == ""
    return out


def zh(template: str) -> str:
    with using("zh"):
        return _(template)


# --- --help ---------------------------------------------------------------------------


def short_and_long(short: str, long: str, metavar: str) -> str:
    """An option with both names as argparse lists it: the metavar once from 3.13 on."""
    if sys.version_info >= (3, 13):
        return f"-{short}, --{long} {metavar}"
    return f"-{short} {metavar}, --{long} {metavar}"


#: One translated option help per command, and the epilog's first line.
SAMPLES = {
    "": (
        "--lang {en,zh}  输出语言：en（英语）或 zh（简体中文）",
        "退出码（list-tokens、list-modules）：",
    ),
    "list-tokens": (
        "--json                等同于 --format json",
        "退出码（list-tokens、list-modules）：",
    ),
    "check": (
        f"{short_and_long('c', 'crit-days', 'N'):<22}证书在 N 天内到期即为 CRITICAL（默认：7）",
        "退出码（作为 Nagios/Icinga 插件）：",
    ),
    "list-modules": (
        "--no-catalogue    不查找模块目录中的模块",
        "退出码（list-tokens、list-modules）：",
    ),
    "inspect-file": ("PATH                  证书文件", "退出码："),
    "watch": (
        "--json                每个事件输出一行 JSON 对象（JSON Lines）",
        "退出码（watch）：一直运行直到被停止；Ctrl-C 结束时为 130，SIGTERM 为 143；",
    ),
}


@pytest.mark.parametrize("command", list(SAMPLES))
@pytest.mark.parametrize("where", ["before", "after"])
def test_help_in_chinese(command: str, where: str, cli: Cli) -> None:
    words = [command] if command else []
    argv = ["--lang", "zh", *words] if where == "before" else [*words, "--lang", "zh"]
    text = help_of(cli, *argv, "--help")
    lines = text.splitlines()
    prog = " ".join(["ukeytool", *words])
    assert lines[0].startswith(f"用法：{prog} [-h]")
    assert "选项：" in lines
    assert "  -h, --help" in text
    assert "显示此帮助信息并退出" in text
    option, epilog = SAMPLES[command]
    assert any(line.startswith(f"  {option}") for line in lines), option
    assert epilog in lines
    for english in ("usage:", "options:", "show this help message", "exit codes"):
        assert english not in text
    # Laid out for an 80-column terminal, wide characters taking two columns.
    assert max(width(line) for line in lines) <= 78
    for line in lines:
        assert line.strip()[:1] not in set("，。；：、）"), line


def test_help_texts_come_from_the_catalogue(cli: Cli) -> None:
    text = help_of(cli, "list-tokens", "--help", "--lang", "zh")
    joined = "".join(text.split())  # as wrapped: compare without the line breaks
    expected = [
        zh(
            "List every slot of the PKCS#11 modules, their tokens, and each certificate "
            "with its validity: valid, expiring, expired, not yet valid or unreadable. "
            "Without --login, certificates marked private are not visible."
        ),
        zh("the token's serial number"),
        zh(
            "stop a module that has not answered within SECONDS (default: {default}; "
            "0: no limit); it is reported, the other modules are still listed"
        ).format(default=60),
        zh("certificates expiring within N days are 'expiring' (default: {days})").format(days=30),
        zh(
            "isolation (each module is inspected in a child process of its own, so a module "
            "that hangs or crashes cannot take ukeytool down)"
        )
        + "：",
        zh("renewal advice (each bank's rules: docs/renewal.md in the source distribution)") + "：",
    ]
    for sentence in expected:
        assert "".join(sentence.split()) in joined
    assert "  5  有内容无法读取（多个模块中的某一个、插槽、令牌或对象）；" in text.splitlines()
    assert "130  已中断（Ctrl-C）" in text.splitlines()
    assert "143  已终止（SIGTERM）" in text.splitlines()
    # metavars and option names stay as they are
    assert "[--timeout SECONDS]" in text
    assert "--renewal-policies FILE" in text


def test_chinese_usage_lines_up_under_the_wide_prefix(cli: Cli) -> None:
    lines = help_of(cli, "--lang", "zh", "check", "--help").splitlines()
    first, *rest = lines[: lines.index("")]
    assert len(rest) >= 2  # the usage is long enough to wrap
    column = width("用法：ukeytool check ")
    assert first.startswith("用法：ukeytool check [-h]")
    for line in rest:
        assert width(line) - width(line.lstrip()) == column, line
        assert width(line) <= 78


def test_english_help(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    top = help_of(cli, "--help").splitlines()
    assert top[0] == "usage: ukeytool [-h] [--version] [--lang {en,zh}] COMMAND ..."
    assert "options:" in top
    assert "  -h, --help      show this help message and exit" in top
    assert "  --version       show program's version number and exit" in top
    assert "exit codes (list-tokens, list-modules):" in top
    assert "  0  everything was read" in top
    assert "130  interrupted (Ctrl-C)" in top
    assert "143  terminated (SIGTERM)" in top
    listing = help_of(cli, "list-tokens", "--help").splitlines()
    assert (
        listing[0] == "usage: ukeytool list-tokens [-h] [--module PATH] [--warn-days N] [--at WHEN]"
    )
    assert listing[1] == "                            [--uri URI] [--token-label LABEL]"
    assert "  --warn-days N         certificates expiring within N days are 'expiring'" in listing
    assert "                        (default: 30)" in listing
    assert "  --timeout SECONDS     stop a module that has not answered within SECONDS" in listing
    # Descriptions and headings wrapped to the terminal, as the Chinese ones are.
    assert listing[listing.index("") + 1 :][:4] == [
        "List every slot of the PKCS#11 modules, their tokens, and each certificate",
        "with its validity: valid, expiring, expired, not yet valid or unreadable.",
        "Without --login, certificates marked private are not visible.",
        "",
    ]
    assert "selecting tokens (a URI matches the raw bytes; a label or serial the text as" in (
        listing
    )
    assert "  shown):" in listing
    check = help_of(cli, "check", "--help").splitlines()
    crit, warn = short_and_long("c", "crit-days", "N"), short_and_long("w", "warn-days", "N")
    assert f"  {crit:<22}CRITICAL when a certificate expires within N days" in check
    assert f"  {warn:<22}certificates expiring within N days are 'expiring'" in check
    assert f"  {short_and_long('t', 'timeout', 'SECONDS')}" in check
    assert "                        (default: 50; 0: no limit); it is reported, the other" in check
    assert "exit codes, as a Nagios/Icinga plugin:" in check
    # An exit code's text too long for the line goes on under the text, not the code.
    assert "  1  WARNING   a certificate expires within --warn-days days, or a PIN is on" in check
    assert "               its final try" in check
    # A policy id is never broken at its hyphens.
    assert any(line.endswith("or a policy id such as") for line in check)
    assert any(line.strip().startswith("ccb-wangyindun-gd.") for line in check)
    files = help_of(cli, "inspect-file", "--help").splitlines()
    assert "positional arguments:" in files
    assert "  PATH                  a certificate file" in files
    for columns in ("80", "60", "100"):
        monkeypatch.setenv("COLUMNS", columns)
        for command in ["", *COMMANDS]:
            text = help_of(cli, *([command] if command else []), "--help")
            after_usage = text.split("\n\n", 1)[1]  # argparse keeps a usage group whole
            assert max(width(line) for line in after_usage.splitlines()) <= int(columns) - 2
    monkeypatch.setenv("COLUMNS", "80")
    # --lang en under a Chinese locale gives the same English, byte for byte
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert help_of(cli, "list-tokens", "--help", "--lang", "en").splitlines() == listing


def test_the_last_lang_wins(cli: Cli) -> None:
    english = help_of(cli, "--lang", "zh", "list-tokens", "--lang", "en", "--help")
    assert english.startswith("usage: ukeytool list-tokens")
    chinese = help_of(cli, "--lang=en", "list-tokens", "--lang=zh", "--help")
    assert chinese.startswith("用法：ukeytool list-tokens")


def run_cli(env_lang: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m ukeytool ARGV`` with ``LANG=env_lang``; the child reports the heavy
    libraries it imported on its last line of standard error."""
    code = (
        "import sys\n"
        "from ukeytool.cli import main\n"
        f"code = main({list(argv)!r})\n"
        "heavy = [m for m in ('pkcs11', 'cryptography', 'asn1crypto') if m in sys.modules]\n"
        "print('heavy:', heavy, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANGUAGE"))}
    env.update(LANG=env_lang, COLUMNS="80", PYTHONPATH=str(SRC))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )


def test_help_follows_the_locale_and_stays_light() -> None:
    done = run_cli("zh_CN.UTF-8", "inspect-file", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("用法：ukeytool inspect-file [-h]")
    assert "PKCS#12 密码从不取自命令行" in done.stdout
    assert done.stderr == "heavy: []\n"
    done = run_cli("zh_CN.UTF-8", "--help")
    assert "位置参数：" in done.stdout.splitlines()
    assert "    list-tokens   列出插槽、令牌和证书及其有效期" in done.stdout.splitlines()
    assert done.stderr == "heavy: []\n"
    done = run_cli("en_US.UTF-8", "--help")
    assert done.stdout.startswith("usage: ukeytool [-h]")
    # a usage error under a Chinese locale: Chinese, one line, exit 3 for check
    done = run_cli("zh_CN.UTF-8", "check", "--at", "tomorrow")
    assert done.returncode == 3
    error, heavy = done.stderr.splitlines()
    assert error.startswith("ukeytool check：错误：参数 --at：'tomorrow' 不是 ISO 8601 日期")
    assert heavy == "heavy: []"


# --- usage errors -----------------------------------------------------------------


def error_of(cli: Cli, code: int, *argv: str) -> str:
    got, out, err = cli(*argv)
    assert got == code
    # check, a monitoring plugin, also says it on its status line (standard output).
    assert out == (f"UKEYTOOL UNKNOWN - {err}" if code == 3 else "")
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        (
            ["list-tokens", "--bogus", "--lang", "zh"],
            2,
            "ukeytool：错误：无法识别的参数：--bogus（参见 --help）\n",
        ),
        (
            ["--lang", "zh", "check", "--bogus"],
            3,
            "ukeytool：错误：无法识别的参数：--bogus（参见 --help）\n",
        ),
        (
            ["--lang", "zh", "list-tokens", "--module"],
            2,
            "ukeytool list-tokens：错误：参数 --module：需要一个参数值（参见 --help）\n",
        ),
        (
            ["--lang", "zh", "inspect-file"],
            2,
            "ukeytool inspect-file：错误：缺少以下必需参数：PATH（参见 --help）\n",
        ),
        (
            ["--lang", "zh", "list-tokens", "--json=yes"],
            2,
            "ukeytool list-tokens：错误：参数 --json：该选项不接受取值：'yes'（参见 --help）\n",
        ),
        (
            ["--lang", "zh", "list-tokens", "--s", "1"],
            2,
            "ukeytool list-tokens：错误：选项不明确：--s 可以匹配 --serial, "
            "--show-personal-data（参见 --help）\n",
        ),
        (
            ["list-tokens", "--warn-days", "-3", "--lang=zh"],
            2,
            "ukeytool list-tokens：错误：参数 --warn-days：'-3' 不是大于等于 0 的整数天数"
            "（参见 --help）\n",
        ),
        (
            ["list-tokens", "--timeout", "soon", "--lang", "zh"],
            2,
            "ukeytool list-tokens：错误：参数 --timeout：'soon' 不是大于等于 0 的秒数"
            "（参见 --help）\n",
        ),
    ],
)
def test_usage_errors_in_chinese(argv: list[str], code: int, expected: str, cli: Cli) -> None:
    assert error_of(cli, code, *argv) == expected


@pytest.mark.parametrize(("command", "code"), [("list-tokens", 2), ("check", 3)])
def test_bad_at_in_chinese(command: str, code: int, cli: Cli) -> None:
    err = error_of(cli, code, command, "--at", "yesterday", "--lang", "zh")
    with using("zh"):
        reason = _(
            "{value} is not an ISO 8601 date or moment, e.g. 2027-06-30 or "
            "2027-06-30T12:00:00+08:00"
        ).format(value="'yesterday'")
    assert err == f"ukeytool {command}：错误：参数 --at：{reason}（参见 --help）\n"
    assert "不是 ISO 8601 日期或时刻，例如 2027-06-30" in err


def test_bad_lang_is_reported_in_the_locale_language(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    english = error_of(cli, 2, "list-tokens", "--lang", "fr")
    assert english.startswith("ukeytool list-tokens: error: argument --lang: invalid choice: 'fr'")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    chinese = error_of(cli, 2, "list-tokens", "--lang", "fr")
    assert chinese.startswith("ukeytool list-tokens：错误：参数 --lang：无效的选择：'fr'（可选：")
    assert chinese.endswith("）（参见 --help）\n")
    # A valid --lang before the bad one does not count: the last one decides.
    assert error_of(cli, 3, "--lang", "en", "check", "--lang=fr").startswith(
        "ukeytool check：错误：参数 --lang：无效的选择：'fr'"
    )
    assert error_of(cli, 2, "--lang", "en", "nosuch").startswith(
        "ukeytool: error: argument COMMAND: invalid choice: 'nosuch'"
    )


def test_english_usage_errors_are_unchanged(cli: Cli) -> None:
    assert error_of(cli, 2, "list-tokens", "--bogus") == (
        "ukeytool: error: unrecognized arguments: --bogus (see --help)\n"
    )
    assert error_of(cli, 3, "check", "--at", "soon") == (
        "ukeytool check: error: argument --at: 'soon' is not an ISO 8601 date or moment, "
        "e.g. 2027-06-30 or 2027-06-30T12:00:00+08:00 (see --help)\n"
    )
    assert error_of(cli, 2, "inspect-file") == (
        "ukeytool inspect-file: error: the following arguments are required: PATH (see --help)\n"
    )


# --- errors the CLI makes ---------------------------------------------------------


def test_cli_usage_errors_in_chinese(
    capsys: pytest.CaptureFixture[str], cli: Cli, tmp_path: Path
) -> None:
    missing = str(tmp_path / "libnothere.so")
    argv = ["list-tokens", "--module", missing, "--no-isolation", "--timeout", "5"]
    assert error_of(cli, 2, *argv, "--lang", "zh") == (
        "ukeytool：错误：--timeout 需要隔离运行：ukeytool 自身进程内的模块无法被终止；"
        "请去掉 --no-isolation 或 --timeout\n"
    )
    assert error_of(cli, 2, *argv).startswith("ukeytool: error: --timeout needs isolation: ")

    assert main(["check", "--module", missing, "--crit-days", "40", "--lang", "zh"]) == 3
    assert (
        capsys.readouterr().out
        == "UKEYTOOL UNKNOWN - --crit-days（40）不得大于 --warn-days（30）\n"
    )
    assert main(["check", "--module", missing, "--crit-days", "40"]) == 3
    assert capsys.readouterr().out == (
        "UKEYTOOL UNKNOWN - --crit-days (40) must not be greater than --warn-days (30)\n"
    )

    target = tmp_path / "no-such-dir" / "ukeytool.prom"
    argv = ["check", "--module", missing, "--no-isolation", "--output", str(target)]
    assert main([*argv, "--lang", "zh"]) == 3
    reason = os.strerror(2)  # ENOENT: the operating system's words stay as they are
    assert capsys.readouterr().out == f"UKEYTOOL UNKNOWN - 无法写入 {target}：{reason}\n"
    assert main(argv) == 3
    assert capsys.readouterr().out == f"UKEYTOOL UNKNOWN - cannot write {target}: {reason}\n"


def test_internal_error_in_chinese(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # A bug cannot be produced on purpose: stand one in for the command.
    def broken(_args: argparse.Namespace) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(list_modules, "run", broken)
    assert error_of(cli, ExitCode.INTERNAL, "list-modules", "--lang", "zh") == (
        "ukeytool：错误：内部错误：RuntimeError：boom（这是 ukeytool 的缺陷；"
        "请设置 UKEYTOOL_DEBUG=1 重新运行，并报告回溯信息）\n"
    )
    assert error_of(cli, ExitCode.INTERNAL, "list-modules") == (
        "ukeytool: error: internal error: RuntimeError: boom (this is a bug in ukeytool; "
        "run again with UKEYTOOL_DEBUG=1 and report the traceback)\n"
    )


# --- argparse's own words ---------------------------------------------------------

#: Words the running argparse has that ukeytool never shows: programming errors, the
#: default error line (cli.parser.UsageParser.error replaces it), and features ukeytool does not
#: use (deprecation, ArgumentDefaultsHelpFormatter, FileType with "-").
NOT_SHOWN = frozenset(
    {
        "'required' is an invalid argument for positionals",
        "%r is not callable",
        ".__call__() not defined",
        'argument "-" with mode %r',
        "cannot have multiple subparser arguments",
        "cannot merge actions - two groups are named %r",
        "conflicting subparser alias: %s",
        "conflicting subparser: %s",
        "dest= is required for options like %r",
        "invalid conflict_resolution value: %r",
        "invalid option string %(option)r: must start with a character %(prefix_chars)r",
        "mutually exclusive arguments must be optional",
        "%(prog)s: error: %(message)s\n",
        "%(prog)s: warning: %(message)s\n",
        " (default: %(default)s)",
        "argument '%(argument_name)s' is deprecated",
        "command '%(parser_name)s' is deprecated",
        "option '%(option)s' is deprecated",
        ("conflicting option string: %s", "conflicting option strings: %s"),
    }
)


def running_argparse_words() -> set[str | tuple[str, str]]:
    """The literal arguments of _() and ngettext() in this Python's argparse."""
    tree = ast.parse(Path(argparse.__file__).read_text("utf-8"))
    found: set[str | tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if node.func.id == "_" and args and isinstance(args[0], str):
                found.add(args[0])
            elif node.func.id == "ngettext" and len(args) >= 2:
                found.add((str(args[0]), str(args[1])))
    return found


def test_every_argparse_word_we_list_is_translated() -> None:
    catalogue = translations("zh")
    for message in ARGPARSE_MESSAGES:
        assert catalogue.gettext(message) != message, message
    for singular, plural in ARGPARSE_PLURALS:
        assert catalogue.ngettext(singular, plural, 2) not in (singular, plural)
    running = running_argparse_words()
    assert "usage: " in running  # the reading found argparse's words
    listed = {*ARGPARSE_MESSAGES, *ARGPARSE_PLURALS}
    missing = sorted(str(word) for word in running - NOT_SHOWN - listed)
    assert missing == [], f"argparse of Python {sys.version_info[:2]} has words to translate"


def test_argparse_words_are_ours_only_while_main_runs(capsys: pytest.CaptureFixture[str]) -> None:
    before = (vars(argparse)["_"], vars(argparse)["ngettext"])
    assert before == (gettext.gettext, gettext.ngettext)
    with argparse_speaks(), argparse_speaks():  # nested: one patch
        lookup, plural = vars(argparse)["_"], vars(argparse)["ngettext"]
        assert lookup("usage: ") == "usage: "  # English outside using("zh")
        with using("zh"):
            assert lookup("usage: ") == "用法："
            assert lookup("positional arguments") == "位置参数"
            assert plural("expected %s argument", "expected %s arguments", 3) == "需要 %s 个参数值"
            # words we do not know (a later Python's) stay English, never fail
            assert lookup("a word of argparse 3.99: %s") == "a word of argparse 3.99: %s"
            assert plural("%s thing", "%s things", 2) == "%s things"
        assert vars(argparse)["_"] is lookup
    assert (vars(argparse)["_"], vars(argparse)["ngettext"]) == before
    assert main(["--lang", "zh", "list-tokens", "--bogus"]) == 2
    capsys.readouterr()
    assert (vars(argparse)["_"], vars(argparse)["ngettext"]) == before
    # A parser made outside main() speaks argparse's English, in any language.
    with using("zh"):
        assert argparse.ArgumentParser(prog="x").format_usage() == "usage: x [-h]\n"


def test_chinese_wrapping_keeps_punctuation_with_its_words() -> None:
    text = "以只读方式检查 PKCS#11 令牌（银行 U 盾、智能卡、HSM），报告哪些证书仍然可用。"
    for size in range(8, 40):
        lines = wrap_wide(text, size)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        for line in lines:
            assert width(line) <= size, (size, line)
            assert line[:1] not in "，。、）", (size, line)
            assert line[-1:] != "（", (size, line)
        assert all("PKCS#11" in line for line in lines if "PKCS" in line)
