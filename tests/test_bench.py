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


@pytest.mark.slow  # a server of its own, three clients: make test, not make test-fast
def test_directors_through_the_protocol_sign_in_and_open_every_page(sample: tuple[Path, Path]) -> None:
    """The benchmark's server-alone run, small: three directors at once through Streamlit's protocol sign in through
    the form (a wrong form would leave them on the sign-in page, without the director's pages to open) and open every
    page of the tour, with no exception."""
    from bench.harness import DIRECTOR_TOUR, bench_directors_server

    result = bench_directors_server(sample[1], 3)
    assert result["exceptions"] == 0
    assert result["page_views"] == 3 * (1 + len(DIRECTOR_TOUR))
    assert 0 < result["page_p50_s"] <= result["page_p95_s"]
    assert result["sign_in_p95_s"] > 0 and result["cpu_per_view_s"] > 0


@pytest.mark.browser
def test_one_director_in_chromium_among_others_through_the_protocol(sample: tuple[Path, Path]) -> None:
    """The benchmark's run of one real browser among directors who keep the server busy, small: two others keep
    clicking until the one in Chromium has drawn every page, with no exception."""
    from bench.harness import DIRECTOR_TOUR, bench_director_among

    result = bench_director_among(sample[1], sessions=3, rounds=1)
    assert result["exceptions"] == 0
    assert result["page_views"] == len(DIRECTOR_TOUR)
    assert result["others_page_views"] >= 2 * len(DIRECTOR_TOUR)  # both others went round the tour at least once
    assert 0 < result["page_shown_p50_s"] <= result["page_p50_s"] <= result["page_p95_s"]
    assert result["sign_in_p95_s"] > 0 and result["server_peak_mb"] > 0


@pytest.mark.slow  # mio load and the bulk load in processes of their own
def test_the_scale_targets_are_measured_each_and_says_whether_it_is_met(tmp_path: Path) -> None:
    """`python -m bench.targets` at a small size, then the verdicts on figures of the sizes the targets name."""
    import json

    from bench.targets import Measured
    from bench.targets import main as targets

    result = CliRunner().invoke(targets, ["--sizes", "2000", "--pairs", "1", "--work", str(tmp_path),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    [found] = json.loads(result.stdout)
    assert 500 <= found["applications"] <= 1500 and found["same_offer_rates"] is True
    assert all(found[k] > 0 for k in ("load_s", "bulk_s", "report_s", "pandas_s", "load_peak_mb", "bulk_peak_mb"))
    assert found["load_ratio"] == round(found["load_s"] / found["bulk_s"], 2)
    assert [t["verdict"] for t in found["targets"]] == ["—", "—", "—"]  # no target at two thousand applications
    assert not (tmp_path / "2000" / "targets").exists()  # the loads are removed; the source is kept for next time
    assert (tmp_path / "2000" / "source" / "applications.csv").exists()

    def measured(applications: int, load_s: float, peak: float, report_s: float, same: bool = True) -> list[str]:
        figures = Measured(size=applications, applications=applications, pairs=3, load_s=load_s, load_peak_mb=peak,
                           bulk_s=1.0, bulk_peak_mb=300.0, report_s=report_s, pandas_s=1.5, same_offer_rates=same,
                           floor_s=0.12)
        return [row[3] for row in figures.verdicts()]

    assert measured(1_052_136, 4.8, 703, 0.171) == ["missed", "—", "missed"]  # last session's figures
    assert measured(1_052_136, 4.0, 703, 0.15) == ["met", "—", "met"]
    assert measured(1_052_136, 4.0, 703, 0.10, same=False) == ["met", "—", "missed"]  # other rates: no speed counts
    assert measured(10_717_037, 3.0, 2048, 0.15) == ["met", "met", "met"]
    assert measured(10_717_037, 7.2, 1526, 0.15) == ["missed", "met", "met"]
    assert measured(32_289_161, 9.0, 2100, 0.15) == ["—", "missed", "met"]


def test_the_page_cost_harness_counts_what_a_message_asks_the_browser_to_draw() -> None:
    """bench/page_costs.py reads Streamlit's protocol messages: a chart's figures and points, a table's cells and
    whether it came with a Styler."""
    import json

    import pyarrow as pa
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from bench.page_costs import _drawn

    found = dict.fromkeys(("bytes", "figures", "points", "tables", "cells", "styled"), 0)
    chart = ForwardMsg()
    chart.delta.new_element.plotly_chart.spec = json.dumps(
        {"data": [{"x": [1, 2, 3], "y": [4, 5, 6]}, {"x": ["a"], "y": [1]}, {"values": [1, 2, 3, 4]}]})
    _drawn(chart, found)
    sink = pa.BufferOutputStream()
    table = pa.table({"group": ["a", "b"], "rate": [0.1, 0.2], "count": [1, 2]})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    grid = ForwardMsg()
    grid.delta.new_element.dataframe.arrow_data.data = sink.getvalue().to_pybytes()
    grid.delta.new_element.dataframe.arrow_data.styler.uuid = "x"
    _drawn(grid, found)
    _drawn(ForwardMsg(), found)  # not a drawing message
    assert found == {"bytes": 0, "figures": 1, "points": 8, "tables": 1, "cells": 6, "styled": 1}
