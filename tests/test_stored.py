"""The quick `mio report --by`: the outcome table read from rows a load stored with their suppression thresholds
(etl/metrics/stored.py), equal to the metrics layer's own table for every dimension and minimum cell size, and a
command that starts without Polars."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from etl.cli import main
from etl.metrics.columns import DIMENSIONS
from etl.metrics.outcomes import outcome_table, suppress
from etl.metrics.stored import stored_outcome_table

ROOT = Path(__file__).resolve().parents[1]


def by_the_rule(denominators: list[int], groups: list[str], k: int) -> list[bool]:
    """docs/data-contract.md §5 as written, one K at a time (the oracle for the thresholds)."""
    small = [d < k for d in denominators]
    flags = list(small)
    if sum(small) == 1 and len(denominators) > 1:
        candidates = sorted((d, g, i) for i, (d, g) in enumerate(zip(denominators, groups, strict=True)) if d >= k)
        flags[candidates[0][2]] = True
    return flags


@pytest.mark.parametrize("seed", range(30))
def test_the_thresholds_suppress_as_the_rule_says_at_every_k(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 8)
    denominators = [rng.choice([0, 1, 3, 3, 5, 9, 10, 12, 12, 40]) for _ in range(n)]
    groups = rng.sample(["a", "b", "c", "d", "e", "f", "g", "h"], n)
    frame = pl.DataFrame({"group": groups, "group2": ["all"] * n, "denominator": denominators})
    for k in range(0, 45):
        assert suppress(frame, "denominator", ["group", "group2"], k).to_list() == by_the_rule(
            denominators, groups, k), (denominators, groups, k)


def test_the_stored_table_is_the_metrics_layers_table(sample: tuple[Path, Path]) -> None:
    con = duckdb.connect(str(sample[1]), read_only=True)
    try:
        for dimension in DIMENSIONS:
            for k in (0, 1, 5, 10, 11, 25, 100, 1000, 10**6):
                expected = outcome_table(con, dimension, min_cell=k).to_dicts()
                assert stored_outcome_table(con, dimension, k) == expected, (dimension, k)
                assert json.dumps(stored_outcome_table(con, dimension, k)) == json.dumps(expected)
    finally:
        con.close()


def test_mio_report_prints_the_same_with_or_without_the_quick_path(sample: tuple[Path, Path]) -> None:
    db = str(sample[1])
    for dimension in ("industry", "employer", "term"):
        quick = CliRunner().invoke(main, ["report", "--by", dimension, "--format", "json", "--db", db])
        assert quick.exit_code == 0, quick.output
        con = duckdb.connect(db, read_only=True)
        expected = outcome_table(con, dimension, min_cell=10).to_dicts()
        con.close()
        assert json.loads(quick.stdout) == json.loads(json.dumps(expected))
        readable = CliRunner().invoke(main, ["report", "--by", dimension, "--db", db])
        assert readable.exit_code == 0 and "Counts by" in readable.output


def test_the_quick_commands_start_without_polars(sample: tuple[Path, Path]) -> None:
    """`mio report --by … --format json`, `mio users list` and `--help` import neither Polars nor (for the last
    two) DuckDB."""
    script = ("import sys\nfrom etl.cli import main\ntry:\n    main(sys.argv[1:], standalone_mode=False)\n"
              "finally:\n    print('LOADED', 'polars' in sys.modules, 'duckdb' in sys.modules, 'rich' in sys.modules,"
              " file=sys.stderr)\n")
    cases = [(["report", "--by", "industry", "--format", "json", "--db", str(sample[1])], "True", "False"),
             (["users", "list", "--format", "json", "--users", str(sample[0] / "no-users.json")], "False", "False"),
             (["--help"], "False", "False")]
    for args, duckdb_loaded, rich_loaded in cases:
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT)
        loaded = next(line for line in done.stderr.splitlines() if line.startswith("LOADED")).split()
        assert loaded[1:] == ["False", duckdb_loaded, rich_loaded], (args, done.stderr[-2000:])
