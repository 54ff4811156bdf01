"""The benchmark of issue 12: ukeytool against pkcs11-tool and p11tool on SoftHSM tokens.

``make bench`` runs it; ``python benchmarks/bench.py --help`` lists the options. It

1. builds SoftHSM stores of 10, 300, 1000 and 5000 certificates under ``build/bench``
   (one token each, certificates minted once with one EC key pair per holder, signed by
   one CA, imported in bulk by :mod:`ukeytool.testing.softhsm`'s writer) and keeps them:
   a second run starts at once;
2. runs every case once per round, the cases interleaved, ``--repeat`` rounds (default
   5, or ``$UKEYTOOL_BENCH_REPEAT``), and takes the median wall time of each; the peak
   memory is the largest ``ru_maxrss`` of the process and the children it waited for,
   taken by ``benchmarks/measure.c`` (``wait4``; in C because Linux carries the peak
   across ``exec``, so a command forked from this Python would report this Python's), so
   an isolated ukeytool counts its inspection child too;
3. runs 300 certificates behind the project's misbehaving module
   (``tests/shim/misbehave.c``) with ``MISBEHAVE_DELAY_US`` (default 2000 µs) on every
   call, ukeytool and pkcs11-tool in the same rounds: the latency of a USB key;
4. counts the PKCS#11 calls of one run of each through OpenSC's pkcs11-spy;
5. prints one table (``--markdown``: the same table in Markdown, as
   ``docs/performance.md`` shows it).

It measures, it asserts nothing: a busy machine gives slower numbers, and says so only
through the load average printed under the table. ``--quick`` (10 and 300 certificates)
is the smoke run that ``tests/test_bench.py`` keeps from rotting.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

SIZES = (10, 300, 1000, 5000)
QUICK_SIZES = (10, 300)
P11TOOL_MAX = 300  # p11tool --list-all-certs is quadratic in the certificates
LATENCY_SIZE = 300
RECIPE = "2"  # bump when the tokens change: cached stores of another recipe are rebuilt
SPY_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/pkcs11-spy.so",
    "/usr/lib/pkcs11/pkcs11-spy.so",
)
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


# --- tokens ----------------------------------------------------------------------------


def _certificates(count: int) -> list[bytes]:
    """``count`` certificates: a CA and holders signed by it, from 20 days expired to 5
    years valid (so the listing has expired, expiring and valid rows), each holder with
    a key of its own."""
    from ukeytool.testing.bulk import mint_many

    return mint_many(
        count,
        at=NOW,
        organization="基准测试银行",
        ca_cn="Bench CA",
        expiry_days=lambda i: (i * 7) % 1825 - 20,
        holder_cn="持有人 {:05d}".format,
        ca_not_before_days=365,
        key_per_holder=True,
    )


def build_store(directory: Path, count: int) -> Path:
    """The SoftHSM store of ``count`` certificates in ``directory`` (made once, then
    reused); returns its softhsm2.conf."""
    from ukeytool.testing.softhsm import CertObject, SoftHSMStore, TokenSpec

    stamp = directory / "bench-recipe"
    conf = directory / "softhsm2.conf"
    if stamp.is_file() and stamp.read_text() == f"{RECIPE} {count}\n" and conf.is_file():
        return conf
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    started = time.monotonic()
    objects = [
        CertObject(der, label=f"cert-{i:05d}", id=i.to_bytes(4, "big"))
        for i, der in enumerate(_certificates(count))
    ]
    store = SoftHSMStore(directory)
    store.add_tokens([TokenSpec(label=f"bench {count}", objects=objects)], timeout=1800)
    stamp.write_text(f"{RECIPE} {count}\n")
    print(
        f"built {count} certificates in {directory} ({time.monotonic() - started:.1f} s)",
        file=sys.stderr,
    )
    return store.conf_path


# --- running ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    certificates: int | None
    argv: Sequence[str]
    env: Mapping[str, str]
    reference: str | None = None
    """The name of the case this one is compared with (same certificates)."""


@dataclasses.dataclass
class Result:
    seconds: list[float] = dataclasses.field(default_factory=list)
    max_rss_kib: int = 0
    failed: str | None = None


def run_once(case: Case, result: Result, measure: Path, out: Path) -> None:
    """Runs ``case`` once under ``measure``; adds its wall time and peak memory to
    ``result``."""
    done = subprocess.run(
        [str(measure), str(out), *case.argv],
        env=case.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    try:
        wall, max_rss, status = out.read_text().split()
    except (OSError, ValueError):
        result.failed = f"no measurement: {done.stderr.decode(errors='replace')[-300:]}"
        return
    # list-tokens exits 0 for a listing whatever the certificates' state
    if status != "0":
        result.failed = f"exit {status}: {done.stderr.decode(errors='replace')[-300:]}"
    result.seconds.append(float(wall))
    result.max_rss_kib = max(result.max_rss_kib, int(max_rss))


def build_measure(build: Path) -> Path:
    """``benchmarks/measure.c``, compiled once into ``build``."""
    source = Path(__file__).with_name("measure.c")
    target = build / "measure"
    if not target.is_file() or target.stat().st_mtime < source.stat().st_mtime:
        build.mkdir(parents=True, exist_ok=True)
        cc = shutil.which("cc") or shutil.which("gcc") or "cc"
        command = [cc, "-O1", "-Wall", "-Werror", "-o", str(target), str(source)]
        subprocess.run(command, check=True, timeout=120)
    return target


CALL = re.compile(r"^\d+: (C_\w+)$")
"""A call's first line in pkcs11-spy's log: ``12: C_GetAttributeValue``."""


def count_calls(
    argv: Sequence[str], env: Mapping[str, str], real_module: str
) -> collections.Counter[str]:
    """The PKCS#11 calls of one run of ``argv`` (whose module is the spy), by name."""
    with tempfile.TemporaryDirectory() as temporary:
        log = Path(temporary) / "spy.log"
        spied = {**env, "PKCS11SPY": real_module, "PKCS11SPY_OUTPUT": str(log)}
        subprocess.run(argv, env=spied, capture_output=True, timeout=900, check=False)
        calls: collections.Counter[str] = collections.Counter()
        with open(log, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                match = CALL.match(line)
                if match:
                    calls[match.group(1)] += 1
        return calls


def find_spy() -> str | None:
    return next((path for path in SPY_CANDIDATES if os.path.isfile(path)), None)


def ukeytool_argv() -> list[str]:
    script = Path(sys.executable).with_name("ukeytool")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "ukeytool"]


# --- the table -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    case: str
    certificates: str
    median_ms: str
    peak_mib: str
    ratio: str
    calls: str


HEADERS = (
    "case",
    "certificates",
    "wall time (median)",
    "peak memory",
    "vs pkcs11-tool",
    "C_GetAttributeValue per certificate (+ other calls)",
)


def table(rows: Sequence[Row], markdown: bool) -> str:
    cells = [HEADERS] + [
        (r.case, r.certificates, r.median_ms, r.peak_mib, r.ratio, r.calls) for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in cells]
        lines.insert(1, "|" + "|".join("---" for _ in HEADERS) + "|")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]
    lines = []
    for row in cells:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 and 300 certificates only")
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("UKEYTOOL_BENCH_REPEAT", "5")),
        help="rounds of interleaved runs; the table shows medians (default 5, or "
        "$UKEYTOOL_BENCH_REPEAT)",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table in Markdown")
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=ROOT / "build" / "bench",
        help="where the tokens and the shim are kept between runs (default build/bench)",
    )
    parser.add_argument(
        "--delay-us",
        type=int,
        default=2000,
        help="the latency row's delay on every PKCS#11 call, in µs (default 2000)",
    )
    parser.add_argument("--no-spy", action="store_true", help="do not count the calls")
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="measure from the first round (by default one round runs first, unmeasured: "
        "it writes the bytecode caches and fills the page cache)",
    )
    options = parser.parse_args(argv)

    from ukeytool.testing.softhsm import find_softhsm_module

    softhsm = str(find_softhsm_module())
    sizes = QUICK_SIZES if options.quick else SIZES
    build: Path = options.build_dir
    confs = {n: build_store(build / f"store-{n}", n) for n in sizes}
    ukeytool = ukeytool_argv()
    pkcs11_tool = shutil.which("pkcs11-tool")
    p11tool = shutil.which("p11tool")
    # Bytecode caches as an installed ukeytool has them (the warm-up round writes them).
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PKCS11SPY", "MISB")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    base_env.setdefault("LC_ALL", "C.UTF-8")

    cases: list[Case] = [
        Case("python3 -I -c pass", None, [sys.executable, "-I", "-c", "pass"], base_env),
        Case("ukeytool --version", None, [*ukeytool, "--version"], base_env),
    ]
    for n in sizes:
        env = {**base_env, "SOFTHSM2_CONF": str(confs[n])}
        listing = [*ukeytool, "list-tokens", "--module", softhsm]
        ref = f"pkcs11-tool -O --type cert@{n}" if pkcs11_tool else None
        for name, extra in (
            ("ukeytool list-tokens", []),
            ("ukeytool list-tokens --json", ["--json"]),
            ("ukeytool list-tokens --no-isolation", ["--no-isolation"]),
            ("ukeytool list-tokens --no-isolation --json", ["--no-isolation", "--json"]),
        ):
            cases.append(Case(f"{name}@{n}", n, [*listing, *extra], env, ref))
        if pkcs11_tool:
            cases.append(
                Case(
                    f"pkcs11-tool -O --type cert@{n}",
                    n,
                    [pkcs11_tool, "--module", softhsm, "-O", "--type", "cert"],
                    env,
                )
            )
        if p11tool and n <= P11TOOL_MAX:
            cases.append(
                Case(
                    f"p11tool --list-all-certs@{n}",
                    n,
                    [p11tool, f"--provider={softhsm}", "--list-all-certs"],
                    env,
                    ref,
                )
            )

    shim = _shim(build)
    latency_cases: list[Case] = []
    if shim is not None and LATENCY_SIZE in confs and pkcs11_tool:
        n = LATENCY_SIZE
        env = {
            **base_env,
            "SOFTHSM2_CONF": str(confs[n]),
            "MISBEHAVE_REAL": softhsm,
            "MISBEHAVE_DELAY_US": str(options.delay_us),
        }
        delayed = f"{options.delay_us / 1000:g} ms per call"
        ref = f"pkcs11-tool -O --type cert, {delayed}@{n}"
        latency_cases = [
            Case(
                f"ukeytool list-tokens --json, {delayed}@{n}",
                n,
                [*ukeytool, "list-tokens", "--json", "--module", str(shim)],
                env,
                ref,
            ),
            Case(ref, n, [pkcs11_tool, "--module", str(shim), "-O", "--type", "cert"], env),
        ]
    cases += latency_cases

    measure = build_measure(build)
    results = {case.name: Result() for case in cases}
    with tempfile.TemporaryDirectory() as temporary:
        out = Path(temporary) / "measured"
        if not options.no_warmup:
            print("warm-up round", file=sys.stderr)
            for case in cases:
                run_once(case, Result(), measure, out)
        for round_number in range(options.repeat):
            print(f"round {round_number + 1} of {options.repeat}", file=sys.stderr)
            for case in cases:
                run_once(case, results[case.name], measure, out)

    spy = None if options.no_spy else find_spy()
    calls: dict[str, str] = {}
    if spy is not None:
        for case in cases:
            if case.certificates is None or case in latency_cases or "p11tool" in case.name:
                continue
            if "--no-isolation" in case.argv or "--json" in case.argv:
                continue  # the same calls as the plain listing
            spied = [spy if arg == softhsm else arg for arg in case.argv]
            counted = count_calls(spied, case.env, softhsm)
            per = counted["C_GetAttributeValue"] / case.certificates
            other = sum(counted.values()) - counted["C_GetAttributeValue"]
            calls[case.name] = f"{per:.2f} (+ {other})"

    rows = []
    for case in cases:
        result = results[case.name]
        median = statistics.median(result.seconds) if result.seconds else float("nan")
        ratio = ""
        if case.reference is not None and case.reference in results:
            reference = statistics.median(results[case.reference].seconds)
            ratio = f"{median / reference:.1f}×"
            if median < reference:
                ratio = f"{reference / median:.1f}× faster"
        rows.append(
            Row(
                case=case.name.split("@")[0] + (" (FAILED)" if result.failed else ""),
                certificates="" if case.certificates is None else str(case.certificates),
                median_ms=f"{median * 1000:.0f} ms",
                peak_mib=f"{result.max_rss_kib / 1024:.0f} MiB",
                ratio=ratio,
                calls=calls.get(case.name, ""),
            )
        )
        if result.failed:
            print(f"{case.name}: {result.failed}", file=sys.stderr)
    print(table(rows, options.markdown))
    ratios = []
    for n in sizes:
        for isolation in ("", " --no-isolation"):
            text = results.get(f"ukeytool list-tokens{isolation}@{n}")
            json = results.get(f"ukeytool list-tokens{isolation} --json@{n}")
            if text and json and text.seconds and json.seconds:
                of_medians = statistics.median(json.seconds) / statistics.median(text.seconds)
                # Each round's two runs are seconds apart: a machine slower for a while
                # slows both, and the median of the rounds' ratios leaves that out.
                paired = statistics.median(
                    j / t for j, t in zip(json.seconds, text.seconds, strict=False)
                )
                ratios.append(f"{n}{isolation or ''} {of_medians:.2f} ({paired:.2f})")
    largest = [n for n in sizes if f"ukeytool list-tokens --json@{n}" in results]
    growth = ""
    if 1000 in largest and 5000 in largest:
        times = {
            n: statistics.median(results[f"ukeytool list-tokens --json@{n}"].seconds)
            for n in (1000, 5000)
        }
        growth = f"; --json at 5000 certificates over 1000: {times[5000] / times[1000]:.2f}×"
    print(
        "\n--json over the text listing (the medians' ratio, and in brackets the median of "
        f"each round's ratio): {', '.join(ratios)}{growth}"
    )
    load = os.getloadavg()
    print(
        f"\n{options.repeat} interleaved rounds, medians; {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after the runs; Python "
        f"{sys.version.split()[0]}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    return 1 if any(r.failed for r in results.values()) else 0


def _shim(build: Path) -> Path | None:
    """The misbehaving module, compiled once into ``build`` (None without a compiler)."""
    from tests.shim_module import SOURCE, ShimUnavailable, build_shim

    target = build / "shim"
    library = target / "libmisbehave.so"
    if library.is_file() and library.stat().st_mtime >= SOURCE.stat().st_mtime:
        return library
    target.mkdir(parents=True, exist_ok=True)
    try:
        return build_shim(target)
    except ShimUnavailable as exc:
        print(f"no latency row: {exc}", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
