"""A small run of the benchmark harness, so that it cannot rot: every section measured, the table written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.__main__ import main
from dashboard.registry import DIRECTOR_DATA_PAGES


@pytest.mark.slow
def test_bench_smoke_run(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    result = CliRunner().invoke(main, ["--sizes", "100000", "--work", str(tmp_path / "work"), "--out",
                                       str(out), "--runs", "2"])
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    assert "| applications | `mio generate` | rows (all files) | `mio load` |" in text
    load_row = next(line for line in text.splitlines() if line.startswith("| 10") and "× |" in line)
    cells = [c.strip() for c in load_row.strip("|").split("|")]
    assert 90_000 <= int(cells[0].replace(",", "")) <= 115_000  # about 100k applications were generated
    assert float(cells[3].rstrip(" s")) > 0 and float(cells[6].rstrip(" s")) > 0  # mio load, DuckDB bulk load
    for page in DIRECTOR_DATA_PAGES:
        row = next(line for line in text.splitlines() if f"| {page} |" in line)
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(c.endswith(" ms") for c in cells[2:]), row  # page queries, hand-written SQL, page script
    for dimension in ("overall", "industry", "employer"):
        assert f"| {dimension} |" in text
    assert (tmp_path / "work" / "results.json").exists()
