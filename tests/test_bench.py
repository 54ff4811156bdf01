"""`make bench` keeps working: its quick run, once, on its own tokens (issue 12, item 4).

Nothing here asserts a time (the benchmark measures, the tests prove by counting); this
only keeps the script from rotting: it builds its tokens, runs every case, counts the
calls through pkcs11-spy and prints its table.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .test_call_budget import SPY_CANDIDATES

pytestmark = [pytest.mark.softhsm]

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def test_the_quick_benchmark_runs_and_prints_its_table(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "UKEYTOOL_BENCH_REPEAT"}
    command = [sys.executable, str(BENCH), "--quick", "--repeat", "1", "--no-warmup"]
    command += ["--markdown", "--delay-us", "100", "--build-dir", str(tmp_path)]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    cases = [row.split(" | ")[0].removeprefix("| ") for row in rows]
    assert cases[:3] == ["case", "python3 -I -c pass", "ukeytool --version"]
    for n in ("10", "300"):
        listed = {row.split(" | ")[0].removeprefix("| ") for row in rows if f" | {n} | " in row}
        assert "ukeytool list-tokens --no-isolation --json" in listed, rows
        assert "pkcs11-tool -O --type cert" in listed, rows
    # the spy's count: one C_GetAttributeValue per certificate, as the budget test says
    if any(os.path.isfile(path) for path in SPY_CANDIDATES):
        spied = [row for row in rows if row.startswith("| ukeytool list-tokens | 300 |")]
        assert len(spied) == 1, rows
        assert "| 1.00 (+ " in spied[0], spied
    # the --json / text ratios: of the medians, and the median of each round's
    assert re.search(r"over the text listing .*: 10 \d+\.\d\d \(\d+\.\d\d\)", done.stdout)
    # a second run finds its tokens built
    assert (tmp_path / "store-300" / "bench-recipe").is_file()
