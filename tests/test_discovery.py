"""Module discovery: the option, PKCS11_MODULE, the p11-kit registry and the catalogue.

Everything runs against temporary p11-kit directories and catalogues, except the tests
of the shipped catalogue and of this machine's own registry. Nothing is loaded: the
"modules" here are files with the ELF header of a shared library for this CPU.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from ukeytool import UsageError
from ukeytool.config.discovery import (
    P11KIT_ADMIN_DIR,
    P11KIT_PACKAGE_DIR,
    SHIPPED_CATALOGUE,
    CatalogueError,
    FoundModule,
    default_catalogue_paths,
    default_p11kit_dirs,
    discover,
    load_catalogue,
    no_module_message,
    user_catalogue_path,
)


def fake_module(path: Path) -> Path:
    """A file that passes the pre-load checks: this interpreter's ELF header, as a
    shared library (e_type 3), padded. Never loaded."""
    head = bytearray(Path(os.path.realpath(sys.executable)).read_bytes()[:64])
    head[16:18] = (3).to_bytes(2, "little" if head[5] == 1 else "big")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(head) + b"\0" * 64)
    return path


def write_catalogue(path: Path, modules: list[dict[str, Any]], **top: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "modules": modules, **top}), encoding="utf-8")
    return path


def write_module_file(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def by_path(found: list[FoundModule]) -> dict[str, FoundModule]:
    return {m.path: m for m in found}


def registry_only(
    dirs: list[Path], module_path: list[Path] | None = None, **kwargs: Any
) -> list[FoundModule]:
    return discover(
        env={},
        p11kit_dirs=dirs,
        include_catalogue=False,
        p11kit_module_path=module_path or [],
        **kwargs,
    )


# --- the shipped catalogue ------------------------------------------------------------


def test_shipped_catalogue_is_valid_and_sourced() -> None:
    catalogue = load_catalogue([SHIPPED_CATALOGUE])
    ids = [e.id for e in catalogue.entries]
    assert len(ids) == len(set(ids))
    for entry in catalogue.entries:
        assert entry.paths, entry.id
        assert entry.source, entry.id
        assert entry.confidence in ("high", "medium", "low"), entry.id
    vendors = {e.vendor for e in catalogue.entries}
    assert {"Feitian", "WatchData", "Longmai", "OpenSC", "SoftHSM"} <= vendors
    patterns = [p for e in catalogue.entries for p in e.paths]
    assert "/opt/SecurityData_Linux/redist/*/libshuttle_p11v220*.so*" in patterns
    assert "{libdir}/libcastle.so.1.0.0" in patterns
    assert "/usr/lib/WatchData/*/libwdpkcs*.so" in patterns
    assert "/opt/lm-gm3000*/lib/libgm3000_pkcs11.so" in patterns
    # p11-kit's trust module is a CA store, not a key: deliberately not catalogued.
    assert not any("p11-kit-trust" in p for p in patterns)
    # Facts from public code about Chinese vendors are never marked "high".
    for entry in catalogue.entries:
        if entry.vendor in ("Feitian", "WatchData", "Longmai"):
            assert entry.confidence != "high"
    assert {e.interface for e in catalogue.entries} == {"pkcs11", "skf"}


def test_shipped_bank_hints() -> None:
    catalogue = load_catalogue([SHIPPED_CATALOGUE])
    spdb = catalogue.bank_hint("/opt/SecurityData_Linux/redist/x86_64/libshuttle_p11v220_spdb.so")
    assert spdb is not None
    assert spdb.bank == "SPDB"
    assert catalogue.bank_hint("/usr/lib/libD4Token_SPDB.so.1") is spdb
    bocd = catalogue.bank_hint("/usr/lib/libePass_BOCD.so")
    assert bocd is not None
    assert bocd.bank == "BOCD"
    assert bocd.confidence == "low"
    assert catalogue.bank_hint("/usr/lib/libshuttle_p11v220.so") is None


def test_shipped_catalogue_finds_vendor_layouts(tmp_path: Path) -> None:
    """The shipped patterns, under a temporary root standing in for / and the lib dirs."""
    root = tmp_path / "root"
    lib = root / "usr/lib"
    catalogue = json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8"))
    for entry in catalogue["modules"]:
        entry["paths"] = [p if p.startswith("{libdir}/") else str(root) + p for p in entry["paths"]]
    rooted = tmp_path / "rooted.json"
    rooted.write_text(json.dumps(catalogue), encoding="utf-8")
    files = [
        root / "opt/SecurityData_Linux/redist/x86_64/libshuttle_p11v220.so.1.0.0",
        root / "usr/lib/WatchData/ProxKey/lib/libwdpkcs_SignatureP11.so",
        root / "opt/lm-gm3000user/lib/libgm3000_pkcs11.so",
        root / "opt/lm-gm3000user/lib/libgm3000.1.0.so",
        lib / "libcastle.so.1.0.0",
    ]
    for f in files:
        fake_module(f)
    found = by_path(
        discover(env={}, p11kit_dirs=[], catalogue_paths=[rooted], library_dirs=[str(lib)])
    )
    assert set(found) == {str(f) for f in files}
    shuttle = found[str(files[0])]
    assert shuttle.source == "catalogue:Feitian"
    assert shuttle.vendor == "Feitian (飞天诚信)"
    assert shuttle.name == "feitian-epass3003"
    assert shuttle.usable
    assert found[str(files[1])].vendor == "WatchData (握奇)"
    assert found[str(files[2])].usable
    skf = found[str(files[3])]
    assert not skf.enabled
    assert skf.note is not None
    assert "SKF" in str(skf.note)
    assert skf.note.code == "discovery.skf_library"
    assert found[str(lib / "libcastle.so.1.0.0")].name == "feitian-epass2003"


# --- a temporary catalogue ------------------------------------------------------------


def test_catalogue_present_and_absent_entries(tmp_path: Path) -> None:
    present = fake_module(tmp_path / "opt/acme/lib/libacme_p11.so")
    catalogue = write_catalogue(
        tmp_path / "modules.json",
        [
            {
                "id": "absent",
                "vendor": "Nobody",
                "paths": [str(tmp_path / "opt/nobody/libnobody.so"), "/nonexistent/*/x.so"],
            },
            {
                "id": "acme",
                "vendor": "Acme",
                "vendor_zh": "顶峰",
                "paths": [str(tmp_path / "opt/*/lib/libacme_p11.so")],
            },
            {"id": "empty", "vendor": "Suppressed", "paths": []},
        ],
    )
    found = discover(env={}, p11kit_dirs=[], catalogue_paths=[catalogue])
    assert found == [
        FoundModule(
            path=str(present),
            source="catalogue:Acme",
            name="acme",
            vendor="Acme (顶峰)",
        )
    ]


def test_catalogue_libdir_and_home(tmp_path: Path) -> None:
    libs = [tmp_path / "lib64", tmp_path / "lib"]
    in_lib = fake_module(libs[1] / "vendor" / "libv.so.2")
    home = tmp_path / "home"
    in_home = fake_module(home / ".local/lib/libh.so")
    catalogue = write_catalogue(
        tmp_path / "c.json",
        [
            {"id": "v", "vendor": "V", "paths": ["{libdir}/vendor/libv.so*"]},
            {"id": "h", "vendor": "H", "paths": ["~/.local/lib/libh.so"]},
        ],
    )
    found = discover(
        env={"HOME": str(home)},
        p11kit_dirs=[],
        catalogue_paths=[catalogue],
        library_dirs=[str(d) for d in libs],
    )
    assert [m.path for m in found] == [str(in_lib), str(in_home)]
    # Without a home directory, "~/" patterns find nothing (and are no error).
    found = discover(
        env={}, p11kit_dirs=[], catalogue_paths=[catalogue], library_dirs=[str(libs[1])]
    )
    assert [m.path for m in found] == [str(in_lib)]


def test_catalogue_file_that_is_not_a_module_is_reported_with_its_problem(
    tmp_path: Path,
) -> None:
    text = tmp_path / "libtext.so"
    text.write_text("not ELF")
    catalogue = write_catalogue(
        tmp_path / "c.json", [{"id": "t", "vendor": "T", "paths": [str(text)]}]
    )
    [found] = discover(env={}, p11kit_dirs=[], catalogue_paths=[catalogue])
    assert found.enabled
    assert not found.usable
    assert found.problem is not None
    assert "not a shared library" in str(found.problem)


def test_the_shipped_files_are_paths_a_test_may_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped catalogue and renewal policies are Paths made on first use; one that
    replaces them is the file read (the listing reads them as text, without pathlib)."""
    from ukeytool.config import catalogue
    from ukeytool.judging import policy_file, renewal

    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    assert isinstance(catalogue.SHIPPED_CATALOGUE, Path)
    assert catalogue.SHIPPED_CATALOGUE.name == "modules.json"
    assert catalogue.SHIPPED_CATALOGUE.is_file()
    assert isinstance(policy_file.SHIPPED_POLICIES, Path)
    assert policy_file.SHIPPED_POLICIES.is_file()
    assert renewal.SHIPPED_POLICIES == policy_file.SHIPPED_POLICIES
    mine = write_catalogue(tmp_path / "mine" / "modules.json", [])
    monkeypatch.setattr(catalogue, "SHIPPED_CATALOGUE", mine)
    assert default_catalogue_paths(env) == [mine]
    assert load_catalogue(env=env).files == (str(mine),)
    policies = tmp_path / "renewal.json"
    monkeypatch.setattr(policy_file, "SHIPPED_POLICIES", policies)
    assert policy_file.default_policy_paths(env=env) == [policies]


def test_user_catalogue_overrides_and_extends_the_shipped_one(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    env = {"XDG_CONFIG_HOME": str(xdg), "HOME": str(tmp_path / "home")}
    assert user_catalogue_path(env) == xdg / "ukeytool" / "modules.json"
    # The user catalogue only counts when it exists.
    assert default_catalogue_paths(env) == [SHIPPED_CATALOGUE]
    mine = fake_module(tmp_path / "mine/libbank_p11.so")
    user = write_catalogue(
        xdg / "ukeytool" / "modules.json",
        [
            {"id": "softhsm2", "vendor": "Nobody", "paths": []},
            {"id": "bank", "vendor": "Bank", "paths": [str(mine)], "confidence": "low"},
        ],
        bank_hints=[{"names": ["*_mybank.*"], "bank": "MINE"}],
    )
    extra = write_catalogue(tmp_path / "extra.json", [])
    env["UKEYTOOL_CATALOGUE"] = f"{extra}{os.pathsep}"
    assert default_catalogue_paths(env) == [extra, user, SHIPPED_CATALOGUE]
    catalogue = load_catalogue(env=env)
    assert catalogue.files == (str(extra), str(user), str(SHIPPED_CATALOGUE))
    ids = [e.id for e in catalogue.entries]
    assert ids[:2] == ["softhsm2", "bank"]
    assert ids.count("softhsm2") == 1
    assert catalogue.entries[0].paths == ()  # the user's empty entry replaced the shipped one
    assert catalogue.entries[0].origin == str(user)
    assert catalogue.bank_hint("/x/libfoo_mybank.so") is not None
    assert catalogue.bank_hints[-1].bank == "BOCD"  # shipped hints still follow

    found = discover(env=env, p11kit_dirs=[])
    assert found[0].path == str(mine)
    assert found[0].source == "catalogue:Bank"
    assert all(m.source != "catalogue:SoftHSM" for m in found)


def test_catalogue_named_by_the_environment_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo.json"
    env = {"UKEYTOOL_CATALOGUE": str(missing), "HOME": str(tmp_path)}
    with pytest.raises(CatalogueError) as caught:
        discover(env=env, p11kit_dirs=[])
    assert str(missing) in str(caught.value)
    assert isinstance(caught.value, UsageError)
    # ...but discovery without the catalogue does not read it.
    assert discover(env=env, p11kit_dirs=[], include_catalogue=False) == []


GOOD = {"id": "ok", "vendor": "V", "paths": ["/x.so"]}


@pytest.mark.parametrize(
    ("document", "index", "expected"),
    [
        ("{not json", None, "not valid JSON: Expecting property name"),
        ("[]", None, 'the top level must be an object with "version"'),
        ({"modules": []}, None, '"version" must be 1'),
        ({"version": 2, "modules": []}, None, '"version" must be 1 (the catalogue format'),
        ({"version": True, "modules": []}, None, '"version" must be 1'),
        ({"version": 1, "modules": {}}, None, '"modules" must be a list'),
        ({"version": 1, "moduls": []}, None, "the top level: unknown key 'moduls'"),
        ({"version": 1, "modules": [GOOD, "x"]}, 1, "modules[1] must be an object"),
        (
            {"version": 1, "modules": [GOOD, {"id": "b", "vendor": "V"}]},
            1,
            "modules[1] (id 'b'): \"paths\" must be a list of non-empty strings",
        ),
        (
            {"version": 1, "modules": [GOOD, {"id": "b", "vendor": "V", "paths": "/x.so"}]},
            1,
            "modules[1] (id 'b'): \"paths\" must be a list",
        ),
        (
            {"version": 1, "modules": [GOOD, {"vendor": "V", "paths": []}]},
            1,
            'modules[1]: "id" must be a non-empty string',
        ),
        (
            {"version": 1, "modules": [GOOD, {"id": "a b", "vendor": "V", "paths": []}]},
            1,
            "modules[1]: \"id\" 'a b' must be letters",
        ),
        (
            {"version": 1, "modules": [GOOD, {"id": "b", "paths": []}]},
            1,
            "modules[1] (id 'b'): \"vendor\" must be a non-empty string",
        ),
        (
            {"version": 1, "modules": [GOOD, {**GOOD, "id": "b", "confidence": "sure"}]},
            1,
            "modules[1] (id 'b'): \"confidence\" must be one of high, medium, low",
        ),
        (
            {"version": 1, "modules": [GOOD, {**GOOD, "id": "b", "interface": "csp"}]},
            1,
            "modules[1] (id 'b'): \"interface\" must be one of pkcs11, skf",
        ),
        (
            {"version": 1, "modules": [GOOD, {**GOOD, "id": "b", "path": ["/x"]}]},
            1,
            "modules[1] (id 'b'): unknown key 'path'",
        ),
        (
            {"version": 1, "modules": [GOOD, {**GOOD, "id": "b", "paths": ["lib/x.so"]}]},
            1,
            "modules[1] (id 'b'): path 'lib/x.so': must be absolute",
        ),
        (
            {"version": 1, "modules": [GOOD, {**GOOD, "id": "b", "paths": ["/{arch}/x.so"]}]},
            1,
            "path '/{arch}/x.so': the only placeholder is \"{libdir}\"",
        ),
        (
            {"version": 1, "modules": [GOOD, GOOD]},
            1,
            "modules[1]: id 'ok' is used by an earlier entry",
        ),
        (
            {"version": 1, "modules": [], "bank_hints": [{"bank": "B", "names": []}]},
            0,
            'bank_hints[0]: "names" must list at least one',
        ),
    ],
)
def test_malformed_catalogue_names_file_and_entry(
    tmp_path: Path, document: Any, index: int | None, expected: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(CatalogueError) as caught:
        discover(env={}, p11kit_dirs=[], catalogue_paths=[path])
    message = str(caught.value)
    assert message.startswith(f"catalogue {path}: ")
    assert expected in message
    assert caught.value.path == str(path)
    assert caught.value.index == index


def test_catalogue_comments_and_bom_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    text = json.dumps({"version": 1, "$comment": "mine", "modules": [{**GOOD, "$comment": "why"}]})
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert [e.id for e in load_catalogue([path]).entries] == ["ok"]


# --- the p11-kit registry -------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """Package, admin and user registry directories, and a module directory."""
    share, etc, user, moddir = (tmp_path / n for n in ("share", "etc", "user", "pkcs11"))
    for d in (share, etc, user, moddir):
        d.mkdir()
    return share, etc, user, moddir


def test_registry_merge_user_overrides_and_enable_rules(
    tmp_path: Path, registry: tuple[Path, Path, Path, Path]
) -> None:
    share, etc, user, moddir = registry
    libs = {n: fake_module(tmp_path / "libs" / f"lib{n}.so") for n in "abcdefgh"}
    write_module_file(share, "plain.module", f"# a comment\n\nmodule: {libs['a']}\n")
    # The user file sets only disable-in: module: still comes from the package file.
    write_module_file(share, "off.module", f"module: {libs['b']}\n")
    write_module_file(user, "off.module", "disable-in: p11-kit-proxy, ukeytool\n")
    # The admin file replaces the package's module path, key by key.
    write_module_file(share, "moved.module", f"module: {libs['c']}\npriority: 5\n")
    write_module_file(etc, "moved.module", f"module: {libs['d']}\n")
    write_module_file(share, "only-gnome.module", f"module: {libs['e']}\nenable-in: seahorse\n")
    write_module_file(etc, "for-us.module", f"module: {libs['f']}\nenable-in: firefox ukeytool\n")
    write_module_file(
        etc, "both.module", f"module: {libs['g']}\nenable-in: ukeytool\ndisable-in: ukeytool\n"
    )
    write_module_file(etc, "other.module", f"module: {libs['h']}\ndisable-in: xukeytool\n")

    found = registry_only([user, etc, share], [moddir])
    names = [m.name for m in found]
    # priority first (high first), then by name
    assert names == ["moved", "both", "for-us", "off", "only-gnome", "other", "plain"]
    mods = {m.name: m for m in found}
    assert mods["plain"] == FoundModule(
        path=str(libs["a"]), source=f"p11-kit:{share / 'plain.module'}", name="plain"
    )
    assert mods["moved"].path == str(libs["d"])
    assert mods["moved"].source == f"p11-kit:{etc / 'moved.module'}"
    off = mods["off"]
    assert off.path == str(libs["b"])
    assert off.source == f"p11-kit:{share / 'off.module'}"
    assert not off.enabled
    assert off.note is not None
    assert off.note.code == "discovery.disabled"
    assert "disable-in" in str(off.note)
    assert str(user / "off.module") in str(off.note)
    assert not mods["only-gnome"].enabled
    assert mods["only-gnome"].note is not None
    assert "enable-in: seahorse" in str(mods["only-gnome"].note)
    assert mods["only-gnome"].note.code == "discovery.not_enabled"
    assert mods["for-us"].usable
    assert mods["both"].usable  # enable-in wins, as in p11-kit
    assert mods["other"].usable  # list items are whole words


def test_registry_user_file_replaces_module_path(
    tmp_path: Path, registry: tuple[Path, Path, Path, Path]
) -> None:
    share, etc, user, moddir = registry
    system_lib = fake_module(tmp_path / "libsys.so")
    user_lib = fake_module(tmp_path / "libuser.so")
    write_module_file(share, "token.module", f"module: {system_lib}\ndisable-in: ukeytool\n")
    write_module_file(user, "token.module", f"module: {user_lib}\n")
    [found] = registry_only([user, etc, share], [moddir])
    assert found.path == str(user_lib)
    assert found.source == f"p11-kit:{user / 'token.module'}"
    assert not found.enabled  # disable-in still comes from the package file


def test_registry_relative_module_paths(
    tmp_path: Path, registry: tuple[Path, Path, Path, Path]
) -> None:
    share, _etc, _user, moddir = registry
    lib = fake_module(moddir / "librel.so")
    write_module_file(share, "rel.module", "module: librel.so\n")
    write_module_file(share, "gone.module", "module: libgone.so\n")
    write_module_file(share, "gone-abs.module", f"module: {tmp_path / 'nothing.so'}\n")
    found = registry_only([share], [tmp_path / "elsewhere", moddir])
    assert [(m.name, m.path) for m in found] == [("rel", str(lib))]


def test_registry_odd_files(
    tmp_path: Path, registry: tuple[Path, Path, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    share, _etc, _user, _moddir = registry
    lib = fake_module(tmp_path / "libok.so")
    write_module_file(share, "ok.module", f"module: {lib}\n")
    write_module_file(share, "backup.module~", f"module: {lib}\n")
    write_module_file(share, ".hidden.module", f"module: {lib}\n")
    write_module_file(share, "notes.txt", "whatever")
    write_module_file(share, "broken.module", f"module: {lib}\nthis line has no colon\n")
    write_module_file(share, "section.module", f"[section]\nmodule: {lib}\n")
    write_module_file(share, "remote.module", "remote: |ssh host p11-kit remote\n")
    write_module_file(share, "nomodule.module", "priority: 3\n")
    write_module_file(share, "trust.module", f"module: {lib}.trust\ntrust-policy: yes\n")
    fake_module(Path(f"{lib}.trust"))
    (share / "dir.module").mkdir()
    with caplog.at_level(logging.WARNING, logger="ukeytool.discovery"):
        found = registry_only([share])
    assert [(m.name, m.enabled) for m in found] == [("ok", True), ("trust", False)]
    trust = found[1]
    assert trust.note is not None
    assert "trust-policy" in str(trust.note)
    assert trust.note.code == "discovery.trust_policy"
    warned = caplog.text
    assert "broken.module" in warned
    assert "line 2: no colon" in warned
    assert "section.module" in warned
    assert "unexpected section header" in warned


def test_default_p11kit_dirs_and_user_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    user_dir = home / ".config/pkcs11/modules"
    env = {"HOME": str(home)}
    system_conf = tmp_path / "pkcs11.conf"
    assert default_p11kit_dirs(env, system_conf=system_conf) == [
        user_dir,
        P11KIT_ADMIN_DIR,
        P11KIT_PACKAGE_DIR,
    ]
    assert default_p11kit_dirs({}, system_conf=system_conf) == [
        P11KIT_ADMIN_DIR,
        P11KIT_PACKAGE_DIR,
    ]
    system_conf.write_text("# admins say\nuser-config: none\n")
    assert default_p11kit_dirs(env, system_conf=system_conf) == [
        P11KIT_ADMIN_DIR,
        P11KIT_PACKAGE_DIR,
    ]
    system_conf.write_text("user-config: merge\n")
    user_conf = home / ".config/pkcs11/pkcs11.conf"
    user_conf.parent.mkdir(parents=True)
    user_conf.write_text("user-config: override\n")
    assert default_p11kit_dirs(env, system_conf=system_conf) == [user_dir]
    user_conf.write_text("user-config: only\n")
    assert default_p11kit_dirs(env, system_conf=system_conf) == [user_dir]
    # With user-config: none in the system file, the user's own setting is not read.
    system_conf.write_text("user-config: none\n")
    assert default_p11kit_dirs(env, system_conf=system_conf) == [
        P11KIT_ADMIN_DIR,
        P11KIT_PACKAGE_DIR,
    ]


# --- order, de-duplication and the environment ----------------------------------------


def test_order_and_dedup_by_real_path(
    tmp_path: Path, registry: tuple[Path, Path, Path, Path]
) -> None:
    share, _etc, _user, moddir = registry
    real = fake_module(tmp_path / "real/libtoken.so.1.0.0")
    link = tmp_path / "links/libtoken.so"
    link.parent.mkdir()
    link.symlink_to(real)
    other = fake_module(tmp_path / "real/libother.so")
    write_module_file(share, "token.module", f"module: {link}\n")
    catalogue = write_catalogue(
        tmp_path / "c.json",
        [
            {
                "id": "tok",
                "vendor": "Tok",
                "vendor_zh": "令牌",
                "paths": [str(tmp_path / "real/libtoken.so*"), str(link)],
            },
            {"id": "other", "vendor": "Other", "paths": [str(other)]},
        ],
    )
    found = discover(
        explicit=[str(other)],
        env={"PKCS11_MODULE": str(real)},
        p11kit_dirs=[share],
        catalogue_paths=[catalogue],
        p11kit_module_path=[moddir],
    )
    assert [(m.path, m.source) for m in found] == [
        (str(other), "option"),
        (str(real), "env:PKCS11_MODULE"),
    ]
    first, second = found
    assert first.name == "other"  # filled in from the catalogue
    assert first.vendor == "Other"
    assert str(first.note) == "also found via catalogue:Other"
    assert second.name == "token"  # p11-kit's name comes before the catalogue's id
    assert second.vendor == "Tok (令牌)"
    assert str(second.note) == (
        f"also found via p11-kit:{share / 'token.module'}; also found via catalogue:Tok"
    )


def test_explicit_and_environment_paths_are_listed_even_when_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake_module(tmp_path / "librel.so")
    found = discover(
        explicit=["librel.so", "", str(tmp_path / "missing.so")],
        env={"PKCS11_MODULE": str(tmp_path / "env-missing.so")},
        p11kit_dirs=[],
        include_catalogue=False,
    )
    assert [(m.path, m.source, m.usable) for m in found] == [
        (str(tmp_path / "librel.so"), "option", True),
        (str(tmp_path / "missing.so"), "option", False),
        (str(tmp_path / "env-missing.so"), "env:PKCS11_MODULE", False),
    ]
    assert found[1].problem is not None
    assert "does not exist" in str(found[1].problem)
    # An empty PKCS11_MODULE is not a module.
    assert discover(env={"PKCS11_MODULE": ""}, p11kit_dirs=[], include_catalogue=False) == []


def test_explicit_path_wins_over_a_registry_that_disables_it(
    tmp_path: Path, registry: tuple[Path, Path, Path, Path]
) -> None:
    share, *_ = registry
    lib = fake_module(tmp_path / "libx.so")
    write_module_file(share, "x.module", f"module: {lib}\ndisable-in: ukeytool\n")
    [found] = registry_only([share], explicit=[str(lib)])
    assert found.source == "option"
    assert found.usable
    assert found.name == "x"


def test_nothing_found(tmp_path: Path) -> None:
    empty = write_catalogue(tmp_path / "c.json", [])
    assert discover(env={}, p11kit_dirs=[tmp_path / "none"], catalogue_paths=[empty]) == []
    message = no_module_message({"HOME": str(tmp_path)})
    assert "\n" not in message
    assert "--module PATH" in message
    assert "PKCS11_MODULE" in message
    assert "SKF" in message
    assert str(tmp_path / ".config/ukeytool/modules.json") in message


# --- a registry laid out as Debian's ----------------------------------------------------
# Hermetic: a temporary copy of the layout, never the machine's own registry (whose
# modules may not even initialise).


def test_registry_laid_out_as_debian(tmp_path: Path) -> None:
    share = tmp_path / "usr/share/p11-kit/modules"
    moddir = tmp_path / "usr/lib/pkcs11"
    softhsm = fake_module(tmp_path / "usr/lib/softhsm/libsofthsm2.so")
    opensc = fake_module(moddir / "opensc-pkcs11.so")
    trust = fake_module(tmp_path / "usr/lib/pkcs11/p11-kit-trust.so")
    write_module_file(share, "softhsm2.module", f"module: {softhsm}\n")
    # a relative module: path, found in p11-kit's module directory
    write_module_file(share, "opensc-pkcs11.module", "module: opensc-pkcs11.so\n")
    write_module_file(
        share, "p11-kit-trust.module", f"module: {trust}\ntrust-policy: yes\npriority: 1\n"
    )
    dirs = default_p11kit_dirs(
        {"HOME": str(tmp_path / "home")},
        system_conf=tmp_path / "etc/pkcs11/pkcs11.conf",
        admin_dir=tmp_path / "etc/pkcs11/modules",
        package_dir=share,
    )
    assert dirs[-1] == share
    found = discover(
        env={"HOME": str(tmp_path / "home")},
        p11kit_dirs=dirs,
        include_catalogue=False,
        p11kit_module_path=[moddir],
    )
    mods = {m.name: m for m in found}
    assert mods["softhsm2"].source == f"p11-kit:{share / 'softhsm2.module'}"
    assert mods["softhsm2"].usable
    assert mods["opensc-pkcs11"].path == str(opensc)
    assert mods["opensc-pkcs11"].usable
    assert not mods["p11-kit-trust"].enabled
    # With the shipped catalogue, found once, the catalogue named in its note.
    found = discover(
        env={"HOME": str(tmp_path / "home")},
        p11kit_dirs=dirs,
        catalogue_paths=[SHIPPED_CATALOGUE],
        p11kit_module_path=[moddir],
        library_dirs=[str(tmp_path / "usr/lib")],
    )
    [only] = [m for m in found if m.path.endswith("libsofthsm2.so")]
    assert only.source.startswith("p11-kit:")
    assert only.vendor == "SoftHSM"
    assert only.note is not None
    assert only.note.code == "discovery.also_found"
    assert str(only.note) == "also found via catalogue:SoftHSM"
