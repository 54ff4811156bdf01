"""What the command line imports at start: only what the command it runs uses.

Speed is not timed here (the machine may be busy); what is proved is the work that
start-up does, by the modules a fresh interpreter has imported after one run of
``ukeytool.cli.main``: ``--version`` and ``--help`` import the top-level parser alone (no
command module, no model, no dataclasses or typing unless argparse itself needs them),
``list-tokens --help`` its own parser, ``list-modules`` no PKCS#11 binding and no
certificate parser, ``list-tokens`` in English no JSON renderer, monitoring output or
Chinese catalogue; the ``.po`` catalogue is read only when Chinese is asked for. Then the
lazy public API (:pep:`562`) against ``__all__``, and what the lean start must not change:
help, ``--version`` and errors the same as when every command's parser is built.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import ukeytool
import ukeytool.model
from ukeytool.cli import main
from ukeytool.cli.parser import COMMANDS, build_parser
from ukeytool.i18n import using
from ukeytool.i18n.message import Message, Template

from .conftest import Bank, Cli, _new_store

SRC = Path(__file__).resolve().parents[1] / "src"

#: What no start-up path imports unless it uses it.
PARSERS = ("pkcs11", "cryptography", "asn1crypto")
CATALOGUE = ("ukeytool.i18n.catalogue", "ukeytool.i18n.po")
OTHER_OUTPUT = (
    "ukeytool.rendering.json",
    "ukeytool.rendering.prometheus",
    "ukeytool.rendering.check",
    "jsonschema",
    "prometheus_client",
)
#: The standard library's heavier modules that ukeytool's start does not need.
STDLIB = ("dataclasses", "typing", "logging", "inspect", "threading", "json", "pathlib")

#: Every ukeytool module ``--version`` and ``--help`` import.
TOP_LEVEL = {
    "ukeytool",
    "ukeytool._version",
    "ukeytool.cli",
    "ukeytool.cli.argparse_i18n",
    "ukeytool.cli.exits",
    "ukeytool.cli.layout",
    "ukeytool.cli.parser",
    "ukeytool.cli.words",
    "ukeytool.errors",
    "ukeytool.i18n",
    "ukeytool.i18n.columns",
    "ukeytool.i18n.language",
    "ukeytool.i18n.message",
}


def _english(env: Mapping[str, str] | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    clean["LANG"] = "C.UTF-8"
    clean.update(env or {})
    if SRC.is_dir():  # a checkout or an unpacked sdist: the code under test, not an install
        clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), clean.get("PYTHONPATH")]))
    return clean


def _python(code: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` in a fresh interpreter, in English, its output captured."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_english(env),
        check=False,
        timeout=60,
    )


def _modules_after(
    code: str, tmp_path: Path, env: Mapping[str, str] | None = None
) -> tuple[set[str], Mapping[str, object]]:
    """The modules a fresh interpreter holds after running ``code`` (which may set
    ``RESULT``), and what the code put in ``RESULT``; ``json`` is imported after."""
    out = tmp_path / "modules.json"
    program = (
        f"RESULT = {{}}\n{code}\n"
        "import json, sys\n"
        f"with open({str(out)!r}, 'w') as f:\n"
        "    json.dump({'modules': sorted(sys.modules), 'result': RESULT}, f)\n"
    )
    done = _python(program, env)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text("utf-8"))
    return set(data["modules"]), data["result"]


def _run_cli(
    argv: Sequence[str], tmp_path: Path, env: Mapping[str, str] | None = None
) -> tuple[set[str], int]:
    """The modules imported by one ``ukeytool ARGV`` (as the console script runs it:
    ``ukeytool.cli.main``), and its exit code; output goes to /dev/null."""
    code = (
        "import os\n"
        "from ukeytool.cli import main\n"
        "try:\n"
        f"    RESULT['code'] = main({list(argv)!r})\n"
        "finally:\n"
        "    null = os.open(os.devnull, os.O_WRONLY)\n"
        "    os.dup2(null, 1)\n"
    )
    modules, result = _modules_after(code, tmp_path, env)
    exit_code = result["code"]
    assert isinstance(exit_code, int)
    return modules, exit_code


@pytest.fixture(scope="module")
def argparse_baseline(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What ``import argparse`` alone imports on this Python: allowed at every start."""
    modules, _ = _modules_after("import argparse", tmp_path_factory.mktemp("argparse"))
    return modules


def _loaded(modules: set[str], names: Sequence[str]) -> list[str]:
    """Which of ``names`` (modules or packages) are among ``modules``."""
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


def _ukeytool(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "ukeytool" or m.startswith("ukeytool.")}


# --- the command line in a fresh interpreter


@pytest.mark.parametrize("argv", [["--version"], ["--help"]], ids=" ".join)
def test_version_and_help_import_the_top_level_parser_alone(
    argv: list[str], tmp_path: Path, argparse_baseline: set[str]
) -> None:
    modules, code = _run_cli(argv, tmp_path)
    assert code == 0
    assert _ukeytool(modules) <= TOP_LEVEL, sorted(_ukeytool(modules) - TOP_LEVEL)
    assert _loaded(modules, STDLIB) == _loaded(argparse_baseline, STDLIB)
    # argparse makes a formatter for every option: its width is found without shutil
    assert "shutil" not in modules


def test_a_command_help_imports_that_command_alone(
    tmp_path: Path, argparse_baseline: set[str]
) -> None:
    modules, code = _run_cli(["list-tokens", "--help"], tmp_path)
    assert code == 0
    assert "ukeytool.cli.list_tokens" in modules
    others = ("ukeytool.cli.check", "ukeytool.cli.list_modules", "ukeytool.cli.inspect_file")
    heavy = ("ukeytool.cli.inspection", "ukeytool.model.report", "ukeytool.judging")
    rest = ("ukeytool.rendering", "ukeytool.config", "ukeytool.pkcs11", "ukeytool.certificates")
    assert _loaded(modules, [*others, *heavy, *rest, *PARSERS, *CATALOGUE]) == []
    assert _loaded(modules, ["logging"]) == _loaded(argparse_baseline, ["logging"])


def test_list_modules_loads_no_module_and_no_parser(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"XDG_CONFIG_HOME": str(empty), "UKEYTOOL_CATALOGUE": "", "PKCS11_MODULE": ""}
    modules, code = _run_cli(["list-modules"], tmp_path, env)
    assert code == 0
    assert _loaded(modules, [*PARSERS, *CATALOGUE, *OTHER_OUTPUT]) == []
    # a module file is checked (ukeytool.pkcs11.loading), never opened: no backend
    assert _loaded(modules, ["ukeytool.pkcs11.backend", "ukeytool.pkcs11.inspect"]) == []
    assert _loaded(modules, ["ukeytool.judging", "ukeytool.model.report"]) == []
    # nor the options list-modules does not have, nor the other commands
    assert _loaded(modules, ["ukeytool.cli.values", "ukeytool.cli.options"]) == []
    assert _loaded(modules, ["ukeytool.cli.list_tokens", "ukeytool.cli.check"]) == []


def _bank_listing(
    bank: Bank, softhsm_module: str, tmp_path: Path
) -> tuple[dict[str, str], list[str]]:
    """The environment (the bank's store, no user configuration) and the words of a
    ``list-tokens`` of the bank's token at a fixed moment."""
    env = {**bank.store.env, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return env, ["list-tokens", "--module", softhsm_module, "--at", "2030-01-01"]


@pytest.mark.softhsm
def test_list_tokens_in_english_imports_no_other_output_and_no_catalogue(
    bank: Bank, softhsm_module: str, tmp_path: Path
) -> None:
    env, argv = _bank_listing(bank, softhsm_module, tmp_path)
    modules, code = _run_cli(argv, tmp_path, env)
    assert code in (0, 5)  # the bank token holds unreadable certificates on purpose
    assert "ukeytool.rendering.text" in modules
    assert _loaded(modules, [*CATALOGUE, *OTHER_OUTPUT]) == []
    others = ("ukeytool.cli.check", "ukeytool.cli.list_modules", "ukeytool.cli.inspect_file")
    assert _loaded(modules, others) == []
    # --module given: the catalogue (bank hints) is read, discovery is not needed
    assert "ukeytool.config.catalogue" in modules
    assert _loaded(modules, ["ukeytool.config.discovery", "ukeytool.config.p11kit"]) == []


#: Records, in ``RESULT['importers']``, which module first imported each of ``WATCHED``.
_IMPORTERS = """
import sys
WATCHED = ("dataclasses", "inspect")
RESULT["importers"] = {}
class Watch:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name in WATCHED and name not in RESULT["importers"]:
            frame = sys._getframe(1)
            while frame.f_globals.get("__name__", "").startswith(("importlib", "_frozen")):
                frame = frame.f_back
            RESULT["importers"][name] = frame.f_globals.get("__name__")
        return None
sys.meta_path.insert(0, Watch)
"""


@pytest.mark.softhsm
def test_list_tokens_makes_its_values_without_dataclasses(
    bank: Bank, softhsm_module: str, tmp_path: Path
) -> None:
    # The value classes' methods are compiled source (ukeytool.model._value): making the
    # classes costs nothing, and no ukeytool module imports dataclasses (nor its inspect,
    # ast, dis, tokenize...). The certificate parsers may: cryptography.x509 imports
    # dataclasses, asn1crypto inspect.
    env, argv = _bank_listing(bank, softhsm_module, tmp_path)
    code = _IMPORTERS + f"from ukeytool.cli import main\nRESULT['code'] = main({argv!r})\n"
    _, result = _modules_after(code, tmp_path, env)
    assert result["code"] in (0, 5)
    importers = result["importers"]
    assert isinstance(importers, dict)
    assert [m for m in importers.values() if m and m.startswith("ukeytool")] == []


@pytest.fixture(scope="module")
def plain_stores(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Two stores of a token each: one of clean certificates (which the plain reader
    takes), one that also holds a certificate with a negative serial (which it leaves to
    the parsers)."""
    from ukeytool.testing.der import with_negative_serial
    from ukeytool.testing.softhsm import CertObject, TokenSpec

    certs = bank.certs
    clean = [
        CertObject(certs[name].der, label=name, id=bytes([i]))
        for i, name in enumerate(("ca", "valid", "expired", "sm2_sign", "sm2_enc"), 1)
    ]
    odd = CertObject(with_negative_serial(certs["valid"].der), label="negative", id=b"\x09")
    envs = {}
    for label, objects in (("clean", clean), ("declined", [*clean, odd])):
        store = _new_store(tmp_path_factory.mktemp(label))
        store.add_tokens([TokenSpec(label=label, objects=objects)])
        envs[label] = store.env
    return envs


@pytest.mark.softhsm
@pytest.mark.parametrize("token", ["clean", "declined"])
def test_a_listing_of_clean_certificates_imports_neither_parser(
    plain_stores: dict[str, dict[str, str]], token: str, softhsm_module: str, tmp_path: Path
) -> None:
    env = {**plain_stores[token], "XDG_CONFIG_HOME": str(tmp_path / "config")}
    argv = ["list-tokens", "--module", softhsm_module, "--at", "2030-01-01"]
    modules, code = _run_cli(argv, tmp_path, env)
    assert code in (0, 1, 2)
    parsers = ["asn1crypto", "cryptography"]
    assert _loaded(modules, parsers) == ([] if token == "clean" else parsers)


@pytest.mark.softhsm
@pytest.mark.parametrize("token", ["clean", "declined"])
@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_the_plain_reader_changes_no_output(
    plain_stores: dict[str, dict[str, str]],
    token: str,
    json_output: bool,
    softhsm_module: str,
    cli: Cli,
) -> None:
    env: dict[str, str | None] = {**plain_stores[token]}
    argv = ["list-tokens", "--module", softhsm_module, "--at", "2030-01-01", "--details"]
    argv += ["--json"] if json_output else []
    fast = cli(*argv, env=env)
    cli.monkeypatch.setattr("ukeytool.certificates.x509.read_plain", lambda *args: None)
    parsers = cli(*argv, env=env)
    moment = re.compile(r'"generated_at": "[^"]*"')  # when it ran, not what it read
    assert moment.sub("", fast.out) == moment.sub("", parsers.out)
    assert (fast.code, fast.err) == (parsers.code, parsers.err)
    assert "SM2" in fast.out


@pytest.mark.softhsm
def test_the_catalogue_is_read_only_for_chinese(
    bank: Bank, softhsm_module: str, tmp_path: Path
) -> None:
    env, argv = _bank_listing(bank, softhsm_module, tmp_path)
    argv += ["--lang", "zh"]
    modules, _code = _run_cli(argv, tmp_path, env)
    assert _loaded(modules, CATALOGUE) == list(CATALOGUE)
    modules, _code = _run_cli(["--help"], tmp_path, {"LANG": "zh_CN.UTF-8"})
    assert _loaded(modules, CATALOGUE) == list(CATALOGUE)
    modules, _code = _run_cli(["--help"], tmp_path, {"LANG": "en_US.UTF-8"})
    assert _loaded(modules, CATALOGUE) == []


def test_import_ukeytool_imports_the_version_alone(tmp_path: Path) -> None:
    modules, _ = _modules_after("import ukeytool", tmp_path)
    assert _ukeytool(modules) == {"ukeytool", "ukeytool._version"}
    modules, result = _modules_after(
        "import ukeytool\nRESULT['judge'] = ukeytool.judge.__module__", tmp_path
    )
    assert result == {"judge": "ukeytool.judging.validity"}
    assert _loaded(modules, [*PARSERS, *CATALOGUE, "ukeytool.pkcs11", "ukeytool.rendering"]) == []


# --- the lazy public API


def _type_checking_imports(path: Path) -> dict[str, str]:
    """The names the ``if TYPE_CHECKING:`` block of ``path`` imports, by module."""
    tree = ast.parse(path.read_text("utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )
    return {
        alias.name: node.module or ""
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    }


@pytest.mark.parametrize("package", [ukeytool, ukeytool.model], ids=lambda p: p.__name__)
def test_every_public_name_is_found_where_the_type_checker_finds_it(package: object) -> None:
    lazy: dict[str, str] = vars(package)["_LAZY"]
    names = set(vars(package)["__all__"]) - {"__version__"}
    assert set(lazy) == names
    file = vars(package)["__file__"]
    assert _type_checking_imports(Path(file)) == lazy
    for name, module in lazy.items():
        value = getattr(package, name)
        assert value is vars(sys.modules[f"{vars(package)['__name__']}.{module}"])[name]
    assert set(vars(package)["__all__"]) <= set(dir(package))


def test_unknown_names_and_subpackages() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = ukeytool.nothing  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        from ukeytool import nothing  # type: ignore[attr-defined]  # noqa: F401
    # As when `import ukeytool` imported every subpackage: reachable as attributes.
    assert ukeytool.model.Report is ukeytool.Report


def test_messages_and_templates_stay_frozen_values() -> None:
    tpl = Template("test.startup", "{n} thing", plural="{n} things")
    again = Template("test.startup", "{n} thing", plural="{n} things")
    assert tpl == again
    assert hash(tpl) == hash(again)
    assert tpl is not again
    with pytest.raises(ValueError, match="used for two templates"):
        Template("test.startup", "another sentence")
    message = tpl(n=2, what=Message(tpl, (("n", 1),)))
    assert message == tpl(n=2, what=Message(tpl, (("n", 1),)))
    assert message != tpl(n=3, what=Message(tpl, (("n", 1),)))
    assert repr(message) == (
        "Message(template=Template(code='test.startup', msgid='{n} thing', "
        "plural='{n} things', context=None), params=(('n', 2), ('what', Message(template="
        "Template(code='test.startup', msgid='{n} thing', plural='{n} things', "
        "context=None), params=(('n', 1),)))))"
    )
    for value in (tpl, message):
        with pytest.raises(AttributeError):
            value.code = "x"  # type: ignore[misc]
        with pytest.raises(AttributeError):
            del value.params  # type: ignore[attr-defined]
        with pytest.raises(AttributeError):
            value.extra = 1  # type: ignore[attr-defined]
    copied = pickle.loads(pickle.dumps(message))
    assert copied == message
    assert str(copied) == "2 things"
    assert b"ukeytool\nMessage" in pickle.dumps(message, protocol=0)
    assert Message.__module__ == Template.__module__ == "ukeytool"


# --- the lean start changes no output


def _help(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        contextlib.suppress(SystemExit),
    ):
        parser.parse_args(argv)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], ["bogus"], ["--bogus"], ["list-tokens", "--help"]],
    ids=" ".join,
)
def test_the_top_level_parser_alone_says_what_the_whole_one_says(
    lang: str, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    from ukeytool.cli.argparse_i18n import argparse_speaks

    with using(lang), argparse_speaks():
        whole = _help(build_parser(), argv)
        lean = _help(build_parser(argv), argv)
    assert lean == whole
    assert any(whole)


def test_commands_lists_each_command_with_its_own_help() -> None:
    parser = build_parser()
    assert parser.commands is not None
    shown = {action.dest: action.help for action in parser.commands._choices_actions}
    assert shown == {name: help_text for name, _module, help_text in COMMANDS}
    assert list(parser.commands.choices) == [name for name, _module, _help_text in COMMANDS]


def test_version_is_what_argparse_writes(capsys: pytest.CaptureFixture[str]) -> None:
    plain = argparse.ArgumentParser(prog="ukeytool")
    plain.add_argument("--version", action="version", version=f"ukeytool {ukeytool.__version__}")
    with pytest.raises(SystemExit):
        plain.parse_args(["--version"])
    expected = capsys.readouterr()
    assert main(["--version"]) == 0
    assert capsys.readouterr() == expected


def test_the_layout_measures_as_the_renderers_do() -> None:
    from ukeytool.i18n.columns import display_width
    from ukeytool.rendering.text import display_width as rendering_width

    for text in ("", "abc", "工行U盾", "e\u0301", "a\u200bb", "ｆｕｌｌ", "\x1b[31m", "한국"):
        assert display_width(text) == rendering_width(text), text


def test_max_days_is_what_judge_accepts() -> None:
    from ukeytool.cli import values
    from ukeytool.judging.validity import MAX_WARN_DAYS

    assert values.MAX_DAYS == MAX_WARN_DAYS
    with pytest.raises(AttributeError):
        _ = values.NOTHING  # type: ignore[attr-defined]


def test_the_values_of_slots_and_tokens_come_without_those_of_certificates(
    tmp_path: Path,
) -> None:
    # What the isolation child needs to send a slot and its token (ukeytool.model.report),
    # without what a certificate says, its relations and renewal advice.
    modules, _ = _modules_after("import ukeytool.model.report", tmp_path)
    assert _ukeytool(modules) == {
        "ukeytool",
        "ukeytool._version",
        "ukeytool.i18n",
        "ukeytool.i18n.language",
        "ukeytool.i18n.message",
        "ukeytool.model",
        "ukeytool.model._value",
        "ukeytool.model.problem",
        "ukeytool.model.report",
        "ukeytool.model.text",
    }


# --- the isolation child: started first, importing the binding alone

#: What ``list-tokens`` and ``check`` may not have imported when they start the isolation
#: child: the child starts as soon as the words name such a command (ukeytool.cli's
#: _early_child), before the command's parser is built, and everything else is imported
#: while it starts.
NOT_BEFORE_THE_CHILD = (
    *PARSERS,
    "ukeytool.cli.list_tokens",
    "ukeytool.cli.check",
    "ukeytool.cli.options",
    "ukeytool.cli.reporting",
    "ukeytool.model",
    "dataclasses",
    "typing",
    "inspect",
    "ukeytool.certificates",
    "ukeytool.judging",
    "ukeytool.rendering",
    "ukeytool.config",
    "ukeytool.pkcs11.isolate",
    "ukeytool.pkcs11.isolate_child",
    "ukeytool.pkcs11.isolate_pipe",
    "ukeytool.pkcs11.backend",
    "ukeytool.pkcs11.inspect",
    "ukeytool.cli.inspection",
    "ukeytool.cli.login",
    "ukeytool.cli.output",
    "ctypes",
    "logging",
    "json",
)


def _modules_at_the_spawn(argv: Sequence[str], tmp_path: Path) -> set[str] | None:
    """The modules this process held when ``ukeytool ARGV`` started its isolation child
    (seen by an audit hook on ``subprocess.Popen``; the run stops there), or None when
    the run ended without starting one."""
    code = (
        "import json, os, sys\n"
        "def hook(event, args):\n"
        "    if event == 'subprocess.Popen' and '-c' in list(args[1]):\n"
        "        held = sorted(sys.modules)\n"
        f"        with open({str(tmp_path / 'spawn.json')!r}, 'w') as f:\n"
        "            json.dump(held, f)\n"
        "        os._exit(0)\n"
        "sys.addaudithook(hook)\n"
        "from ukeytool.cli import main\n"
        f"main({list(argv)!r})\n"
        "os._exit(3)\n"
    )
    done = _python(code, {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    if done.returncode == 3:
        return None
    assert done.returncode == 0, done.stderr
    held = json.loads((tmp_path / "spawn.json").read_text("utf-8"))
    # json is imported by the hook itself, after the spawn was seen
    return set(held) - {"json", "json.decoder", "json.scanner", "json.encoder", "_json"}


@pytest.mark.parametrize(
    "argv",
    [["list-tokens", "--module", "/nonexistent/module.so"], ["check", "--module", "/no.so"]],
    ids=lambda argv: argv[0],
)
def test_the_child_is_started_before_the_command_imports_what_it_needs(
    argv: list[str], tmp_path: Path
) -> None:
    modules = _modules_at_the_spawn(argv, tmp_path)
    assert modules is not None, "no child was started"
    assert "ukeytool.pkcs11.isolate_spawn" in modules
    assert _loaded(modules, NOT_BEFORE_THE_CHILD) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["list-tokens", "--no-isolation", "--module", "/nonexistent/module.so"],
        ["check", "--no-iso", "--module", "/nonexistent/module.so"],  # abbreviated
        ["list-tokens", "--help"],
        ["check", "-h"],
        ["list-modules"],
    ],
    ids=" ".join,
)
def test_no_child_is_started_when_none_is_used(argv: list[str], tmp_path: Path) -> None:
    assert _modules_at_the_spawn(argv, tmp_path) is None


def test_a_child_started_for_a_usage_error_is_stopped(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from ukeytool.cli import main\n"
        "from ukeytool.pkcs11 import isolate_spawn\n"
        "children = []\n"
        "spawn = isolate_spawn.spawn\n"
        "def counted(*args):\n"
        "    child = spawn(*args)\n"
        "    children.append(child)\n"
        "    return child\n"
        "isolate_spawn.spawn = counted\n"
        "RESULT['code'] = main(['list-tokens', '--bogus'])\n"
        "RESULT['started'] = len(children)\n"
        "RESULT['ended'] = [c.returncode is not None for c in children]\n"
        "RESULT['spares'] = len(isolate_spawn.SPARES)\n"
    )
    _, result = _modules_after(code, tmp_path)
    assert result["code"] == 2
    assert result["started"] == 1
    assert result["ended"] == [True]
    assert result["spares"] == 0


def test_the_commands_that_start_a_child_early_are_those_that_use_one() -> None:
    from ukeytool.cli import EARLY_CHILD_COMMANDS

    wanting = set()
    for name, _module, _help in COMMANDS:
        command = build_parser([name]).commands.choices[name]
        if command.get_default("early_child"):
            wanting.add(name)
    assert wanting == set(EARLY_CHILD_COMMANDS)


def _child_modules() -> set[str]:
    """The modules the isolation child holds when it is ready for its request: its
    bootstrap (``-S``), then the binding it imports before the request."""
    from ukeytool.pkcs11.isolate_spawn import BOOTSTRAP

    program = BOOTSTRAP.replace(
        "child_main()\n",
        "import ukeytool.pkcs11.backend, ukeytool.pkcs11.inspect\n"
        "print('\\n'.join(sorted(sys.modules)))\n",
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", program],
        input=pickle.dumps([str(SRC), *sys.path]),
        capture_output=True,
        env=_english(),
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.decode().split())


def test_the_child_starts_without_site_and_imports_the_binding_alone(tmp_path: Path) -> None:
    """The child's own start (``-S``: no ``site``, no ``.pth`` files) and what it
    imports before it is given its request: the binding, nothing of the parsers, the
    judging, the rendering, the configuration or the catalogue."""
    modules = _child_modules()
    assert "ukeytool.pkcs11.isolate_child" in modules
    assert "site" not in modules
    forbidden = (
        *PARSERS,
        *CATALOGUE,
        "gettext",
        "ukeytool.certificates",
        "ukeytool.judging",
        "ukeytool.rendering",
        "ukeytool.config",
        "ukeytool.cli",
        "ukeytool.model.certificate",
        "ukeytool.model.relations",
        "json",
        "subprocess",
        "argparse",
        "dataclasses",
        "inspect",
    )
    assert _loaded(modules, forbidden) == []


@pytest.mark.parametrize("argv", [["list-tokens"], ["list-tokens", "--no-isolation"]], ids=" ".join)
def test_the_console_script_pauses_the_collector_until_the_inspection_starts(
    argv: list[str], tmp_path: Path
) -> None:
    """The console script (``cli.run``) runs the start-up without the cyclic garbage
    collector, and turns it on (what exists frozen) before the work that grows with the
    certificates: seen from the inspection itself."""
    code = (
        "import gc, json, os, sys\n"
        "import ukeytool.cli as cli\n"
        "import ukeytool.cli.parser as cli_parser\n"
        "import ukeytool.pkcs11.inspect as inspect\n"
        "state = {}\n"
        "build_parser = cli_parser.build_parser\n"
        "def parsing(words):\n"
        "    state['at_parse'] = gc.isenabled()\n"
        "    return build_parser(words)\n"
        "def seen(*args, **kwargs):\n"
        "    state.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count())\n"
        f"    with open({str(tmp_path / 'gc.json')!r}, 'w') as f:\n"
        "        json.dump(state, f)\n"
        "    os._exit(0)\n"
        "cli_parser.build_parser = parsing\n"
        "inspect.inspect_modules = seen\n"
        "from ukeytool.cli import run\n"
        f"sys.argv[1:] = {[*argv, '--module', '/nonexistent/module.so']!r}\n"
        "run()\n"
    )
    done = _python(code, {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert done.returncode == 0, done.stderr
    state = json.loads((tmp_path / "gc.json").read_text("utf-8"))
    assert state["at_parse"] is False
    assert state["enabled"] is True
    assert state["frozen"] > 1000  # the start-up's objects, never scanned again


@pytest.mark.softhsm
@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_the_console_script_freezes_the_report_before_writing_it(
    bank: Bank, softhsm_module: str, json_output: bool, tmp_path: Path
) -> None:
    """Once the report is complete, the console script freezes what exists (the report
    among it): the collections the output's own objects set off do not walk it."""
    renderer = "json:iter_json_utf8" if json_output else "text:render_text"
    module, name = renderer.split(":")
    argv = ["list-tokens", "--module", softhsm_module, *(["--json"] if json_output else [])]
    code = (
        "import gc, json, os, sys\n"
        f"import ukeytool.rendering.{module} as rendering\n"
        "import ukeytool.pkcs11.inspect as inspect\n"
        "state = {}\n"
        "inspect_modules = inspect.inspect_modules\n"
        "def inspecting(*args, **kwargs):\n"
        "    state['before'] = gc.get_freeze_count()\n"
        "    return inspect_modules(*args, **kwargs)\n"
        f"real = rendering.{name}\n"
        "def rendering_(*args, **kwargs):\n"
        "    state['rendering'] = gc.get_freeze_count()\n"
        f"    with open({str(tmp_path / 'gc.json')!r}, 'w') as f:\n"
        "        json.dump(state, f)\n"
        "    return real(*args, **kwargs)\n"
        "inspect.inspect_modules = inspecting\n"
        f"rendering.{name} = rendering_\n"
        "from ukeytool.cli import run\n"
        f"sys.argv[1:] = {argv!r}\n"
        "run()\n"
    )
    done = _python(code, {**bank.store.env, "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert done.returncode in (0, 1, 2, 5), done.stderr
    state = json.loads((tmp_path / "gc.json").read_text("utf-8"))
    assert state["rendering"] > state["before"] > 1000


def test_main_leaves_the_collector_alone(tmp_path: Path) -> None:
    code = (
        "import gc\n"
        "from ukeytool.cli import main\n"
        "main(['list-modules'])\n"
        "RESULT['enabled'] = gc.isenabled()\n"
        "RESULT['frozen'] = gc.get_freeze_count()\n"
    )
    _, result = _modules_after(code, tmp_path)
    assert result == {"enabled": True, "frozen": 0}


# --- issue 12: what the listing's fixed cost leaves out


#: What an isolated ``list-tokens`` imports only when the certificate reader or the text
#: renderer import it themselves: the configuration files are read without pathlib (and
#: its urllib.parse and ipaddress), the parent loads no module (no ctypes, no binding),
#: ukeytool's own modules need no typing at run time, textwrap is for help, and logging
#: waits for a record (ukeytool.pkcs11.logs).
NOT_FOR_A_LISTING = (
    "pathlib",
    "urllib",
    "ipaddress",
    "typing",
    "ctypes",
    "textwrap",
    "logging",
    "traceback",
    "ukeytool.pkcs11.cryptoki",
    "ukeytool.pkcs11.backend",
    "ukeytool.pkcs11.backend_protocol",
    "ukeytool.pkcs11.integrity",
    "ukeytool.pkcs11.login",
)


@pytest.mark.softhsm
def test_an_isolated_listing_imports_no_pathlib_ctypes_or_typing_of_its_own(
    bank: Bank, softhsm_module: str, tmp_path: Path
) -> None:
    baseline, _ = _modules_after(
        "import ukeytool.certificates.x509, ukeytool.rendering.text", tmp_path
    )
    env, argv = _bank_listing(bank, softhsm_module, tmp_path)
    modules, code = _run_cli(argv, tmp_path, env)
    assert code in (0, 5)
    assert "ukeytool.pkcs11.isolate" in modules
    assert _loaded(modules, NOT_FOR_A_LISTING) == _loaded(baseline, NOT_FOR_A_LISTING)


def test_the_child_is_started_before_argparse_is_imported(tmp_path: Path) -> None:
    """``main()`` reads the command from the words (``cli.words``) and starts the
    isolation child before it imports argparse, the parser or the language's lookups."""
    modules = _modules_at_the_spawn(["list-tokens", "--module", "/nonexistent.so"], tmp_path)
    assert modules is not None
    early = ("argparse", "gettext", "ukeytool.cli.parser", "ukeytool.cli.argparse_i18n")
    assert _loaded(modules, [*early, "ukeytool.i18n"]) == []
    assert _ukeytool(modules) == {
        "ukeytool",
        "ukeytool._version",
        "ukeytool.cli",
        "ukeytool.cli.words",
        "ukeytool.pkcs11",
        "ukeytool.pkcs11.isolate_spawn",
    }


def test_the_child_imports_no_typing(tmp_path: Path) -> None:
    """The binding the isolation child imports (the backend, the walk, the channel)
    needs no typing at run time; the Backend protocol is made on first use, the login's
    module when a login is asked for."""
    modules = _child_modules()
    assert _loaded(modules, ["typing", "pathlib", "ukeytool.pkcs11.backend_protocol"]) == []
    assert _loaded(modules, ["logging", "traceback"]) == []
    # nor the login's values and words before a login is asked for
    assert _loaded(modules, ["ukeytool.pkcs11.login", "ukeytool.pkcs11.integrity"]) == []
    modules, result = _modules_after(
        "import ukeytool.pkcs11.interface as i\nRESULT['name'] = i.Backend.__qualname__", tmp_path
    )
    assert result == {"name": "Backend"}
    assert "ukeytool.pkcs11.backend_protocol" in modules


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "/",
        "//",
        "///",
        "////a",
        "//a//b/",
        "a/./b",
        "./a",
        "/x/../y",
        "a//b///c/",
        "/a/b/.",
        "~/x",
        "a b/ü",
        "..",
        "../a/",
        "/tmp/x/ukeytool/modules.json",
    ],
)
def test_a_configuration_path_is_spelt_as_pathlib_spells_it(text: str) -> None:
    """The catalogue and the renewal policies are read without pathlib: their files are
    named in messages (and ``Catalogue.files``) as ``str(Path(...))`` names them."""
    from ukeytool.config.paths import join_path, path_text

    assert path_text(text) == str(Path(text))
    assert path_text(Path(text)) == str(Path(text))
    if text:
        assert join_path(text, "ukeytool", "modules.json") == str(
            Path(text) / "ukeytool" / "modules.json"
        )


def test_the_shipped_files_are_paths_made_on_first_use(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from ukeytool.config import catalogue\n"
        "from ukeytool.judging import renewal\n"
        "RESULT['before'] = 'pathlib' in sys.modules\n"
        "RESULT['files'] = list(catalogue.load_catalogue().files)\n"
        "RESULT['policies'] = list(renewal.load_policies().files)\n"
        "RESULT['still'] = 'pathlib' in sys.modules\n"
        "RESULT['shipped'] = [str(catalogue.SHIPPED_CATALOGUE), str(renewal.SHIPPED_POLICIES)]\n"
        "RESULT['paths'] = [str(p) for p in catalogue.default_catalogue_paths()]\n"
    )
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "UKEYTOOL_CATALOGUE": ""}
    _, result = _modules_after(code, tmp_path, env)
    shipped = result["shipped"]
    assert isinstance(shipped, list)
    assert result["before"] is False
    assert result["still"] is False
    assert result["files"] == result["paths"] == [shipped[0]]
    assert result["policies"] == [shipped[1]]
    assert shipped == [
        str(SRC / "ukeytool" / "data" / "modules.json"),
        str(SRC / "ukeytool" / "data" / "renewal.json"),
    ]


def test_a_warning_made_after_the_start_is_shown_by_the_command_lines_handler(
    tmp_path: Path,
) -> None:
    """A run that logs nothing never imports logging; the first warning imports it, and
    the command line's handler is in place before that record is handled: escaped, and
    shown once. Nothing of the hook is left after the run."""
    code = (
        "import io, sys\n"
        "from ukeytool.cli import main\n"
        "from ukeytool.pkcs11 import isolate\n"
        "def noisy(path, **kwargs):\n"
        "    RESULT['logging_before'] = 'logging' in sys.modules\n"
        "    from ukeytool.pkcs11.logs import logger\n"
        "    logger('ukeytool.pkcs11').warning('odd \\x1b[31m %s', 'thing')\n"
        "    logger('ukeytool').warning('odd \\x1b[31m %s', 'thing')\n"
        "    logger('ukeytool').info('not shown')\n"
        "    raise KeyboardInterrupt\n"
        "isolate.inspect_in_child = noisy\n"
        "err, sys.stderr = sys.stderr, io.StringIO()\n"
        "RESULT['code'] = main(['list-tokens', '--module', '/usr/lib/no-such-module.so'])\n"
        "RESULT['stderr'], sys.stderr = sys.stderr.getvalue(), err\n"
        "RESULT['hooks'] = [type(f).__name__ for f in sys.meta_path\n"
        "                   if 'AfterImport' in type(f).__name__]\n"
        "import logging\n"
        "RESULT['handlers'] = len(logging.getLogger('ukeytool').handlers)\n"
    )
    _, result = _modules_after(code, tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert result["logging_before"] is False
    assert result["code"] == 130
    stderr = result["stderr"]
    assert isinstance(stderr, str)
    lines = [line for line in stderr.splitlines() if "odd" in line]
    assert lines == ["odd \\x1b[31m thing"]
    assert "not shown" not in stderr
    assert result["hooks"] == []
    assert result["handlers"] == 0


def test_the_child_forwards_a_warning_made_before_logging_was_imported(tmp_path: Path) -> None:
    """In the isolation child, connect() at the default levels imports no logging; the
    first warning imports it, and its record reaches the parent over the channel."""
    code = (
        "import os, pickle, sys\n"
        "from ukeytool.pkcs11.isolate_child import HEADER, connect\n"
        "read, write = os.pipe()\n"
        "levels = {'ukeytool': 30, 'ukeytool.pkcs11': 30}\n"
        "channel = connect(os.fdopen(write, 'wb'), os.getppid(), levels)\n"
        "RESULT['logging_after_connect'] = 'logging' in sys.modules\n"
        "from ukeytool.pkcs11.logs import logger\n"
        "logger('ukeytool.pkcs11').warning('slot %d odd', 3)\n"
        "data = os.read(read, 1 << 16)\n"
        "messages = []\n"
        "while data:\n"
        "    size = int.from_bytes(data[:HEADER], 'big')\n"
        "    messages.append(pickle.loads(data[HEADER:HEADER + size]))\n"
        "    data = data[HEADER + size:]\n"
        "RESULT['messages'] = [[m[0], m[1]['msg'] if m[0] == 'log' else None] for m in messages]\n"
    )
    _, result = _modules_after(code, tmp_path)
    assert result["logging_after_connect"] is False
    assert result["messages"] == [["ready", None], ["log", "slot 3 odd"]]


# --- issue 12: the request sooner (the child started without subprocess or pickle)


def test_the_child_is_started_before_pickle_and_subprocess_are_imported(tmp_path: Path) -> None:
    """The early child is started with os.posix_spawn and its path pickled by hand:
    neither subprocess (with selectors, signal, locale) nor pickle is imported before
    it starts."""
    modules = _modules_at_the_spawn(["list-tokens", "--module", "/nonexistent.so"], tmp_path)
    assert modules is not None
    assert _loaded(modules, ["subprocess", "pickle", "selectors", "signal", "locale"]) == []


@pytest.mark.parametrize(
    "path", [[], [""], ["/usr/lib/python3", "ü/中文", "/bad\udcffbyte"], ["x" * 70000], sys.path]
)
def test_the_path_pickled_by_hand_is_what_pickle_reads(path: list[str]) -> None:
    from ukeytool.pkcs11.isolate_spawn import pickled_path

    assert pickle.loads(pickled_path(path)) == path


def test_the_child_gets_three_pipes_a_session_and_default_signals(tmp_path: Path) -> None:
    """What Popen(start_new_session=True, close_fds=True) gave the child: no descriptor
    of the parent but its three pipes (not even one the parent holds without
    close-on-exec), a session of its own, no secret, and the path it was given."""
    code = (
        "import os, sys\n"
        "from ukeytool.pkcs11.isolate_spawn import bootstrap, child_environment, spawn\n"
        "from ukeytool.pkcs11.isolate import reap\n"
        "leak = os.open(os.devnull, os.O_RDONLY)\n"
        "os.set_inheritable(leak, True)\n"
        "os.environ['UKEYTOOL_PIN'] = 'secret'\n"
        "program = bootstrap('ukeytool.testing', '__name__').replace('__name__()', '0')\n"
        "program += (\n"
        "    'import os, sys\\n'\n"
        "    'fds = sorted(int(f) for f in os.listdir(\"/proc/self/fd\"))\\n'\n"
        "    'print(fds, os.getsid(0) == os.getpid(), '\n"
        "    '\"UKEYTOOL_PIN\" in os.environ, sys.path[0])\\n'\n"
        ")\n"
        "child = spawn(sys.executable, child_environment(), ['/first', *sys.path], program)\n"
        "child.stdin.close()\n"
        "out = child.stdout.read().decode()\n"
        "RESULT['err'] = child.stderr.read().decode()\n"
        "RESULT['status'] = reap(child)\n"
        "RESULT['out'] = out\n"
        "RESULT['returncode'] = child.returncode\n"
    )
    _, result = _modules_after(code, tmp_path)
    assert result["status"] == 0, result["err"]
    assert result["returncode"] == 0
    # 0, 1, 2 and the listing's own descriptor
    fds, rest = str(result["out"]).split("]", 1)
    listed = [int(f) for f in fds.strip("[").split(",")]
    assert listed[:3] == [0, 1, 2]
    assert len(listed) == 4
    assert rest.split() == ["True", "False", "/first"]


def test_a_child_that_cannot_be_started_is_an_os_error() -> None:
    from ukeytool.pkcs11.isolate_spawn import spawn

    with pytest.raises(FileNotFoundError):
        spawn("/nonexistent/python", {}, [])


def test_the_child_handle_waits_as_popen_does(tmp_path: Path) -> None:
    """Child.wait with a timeout raises subprocess.TimeoutExpired, poll() says None
    while it runs, kill() ends it and its status is the signal, negative."""
    from ukeytool.pkcs11.isolate_spawn import spawn

    child = spawn(sys.executable, dict(os.environ), [], "import time\ntime.sleep(30)\n")
    try:
        assert child.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(0.05)
        assert child.wait_at_most(0.01) is None
    finally:
        child.kill()
    assert child.wait(10) == -9
    assert child.poll() == -9
    child.kill()  # reaped: nothing happens
    for stream in (child.stdin, child.stdout, child.stderr):
        stream.close()


@pytest.mark.parametrize(
    ("module_name", "lazy"),
    [
        ("ukeytool", "inspect"),
        ("ukeytool.model", "Report"),
        ("ukeytool.i18n", "render"),
        ("ukeytool.cli", "ExitCode"),
        ("ukeytool.pkcs11.interface", "Backend"),
        ("ukeytool.judging.renewal", "SHIPPED_POLICIES"),
    ],
)
def test_a_lazy_module_gives_its_names_and_names_itself_for_others(
    module_name: str, lazy: str
) -> None:
    """Each module that loads names on first use (ukeytool._lazy_getattr) gives them,
    and an unknown name's AttributeError names that module, not its package."""
    import importlib

    module = importlib.import_module(module_name)
    assert getattr(module, lazy) is not None
    with pytest.raises(AttributeError, match=rf"^module '{re.escape(module_name)}' has no"):
        module.no_such_name  # noqa: B018
