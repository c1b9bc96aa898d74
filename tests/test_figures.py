"""Figures one step away from the contract tables, each defect seen by trying the product: every test here failed
before its fix."""

from __future__ import annotations

import inspect
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dashboard import registry
from etl.accounts import User
from etl.metrics import audience, insights, outcomes, quality
from etl.metrics.outcomes import Filters
from etl.pipeline import load
from tests.conftest import HAND, grid_frame, run_app, write_source


def con_of(db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)


def open_page(db: Path, monkeypatch: pytest.MonkeyPatch, key: str, user: User | None = None,
              **query: str | list[str]):  # noqa: ANN201 - AppTest
    at = run_app(db, monkeypatch, **({"user": user} if user else {}), **query)
    if user is None:
        at.switch_page(registry.page(key).file).run()
    assert not at.exception, at.exception
    return at


# --- 1. students can compare functions ----------------------------------------------------------------------------


def test_students_compare_functions(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db = sample[1]
    at = open_page(db, monkeypatch, "student", User("sam", "student"))
    at.radio(key="student_dim").set_value("function").run()
    assert not at.exception, at.exception
    picker = at.multiselect(key="student_pick_function")
    con = con_of(db)
    functions = sorted(r[0] for r in con.sql("select distinct function from micro_internships").fetchall())
    assert picker.options == functions
    picked = tuple(sorted(picker.value))
    assert len(picked) >= 2
    expected = audience.compare_groups(con, "function", picked)
    shown = grid_frame(at.dataframe[0])
    assert shown["function"].to_list() == expected["group"].to_list()
    assert shown["offer_rate"].fill_nan(None).to_list() == expected["offer_rate"].to_list()


# --- 2. no whole-number rates: no scale-0 decimal leaves a query ---------------------------------------------------


def figure_functions() -> list[tuple[str, object]]:
    """Every public function of the metrics layer that takes the connection first."""
    found = []
    for module in (outcomes, insights, audience, quality):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith(("_", "build_")):
                parameters = list(inspect.signature(function).parameters)
                if parameters and parameters[0] == "con":
                    found.append((f"{module.__name__}.{name}", function))
    return found


ARGUMENTS = {  # what each figure function needs beyond the connection, on the sample
    "dimension": "industry", "load_id": 1, "groups": ("Technology", "Finance"), "employer_id": None,
    "column": "industry", "group": "Technology",
}


def test_no_figure_frame_carries_a_decimal(sample: tuple[Path, Path]) -> None:
    con = con_of(sample[1])
    busiest = con.sql("select employer_id from micro_internships group by 1 order by count(*) desc limit 1"
                      ).fetchall()[0][0]
    checked = 0
    for name, function in figure_functions():
        parameters = inspect.signature(function).parameters
        kwargs = {}
        for parameter in list(parameters)[1:]:
            if parameters[parameter].default is not inspect.Parameter.empty:
                continue
            kwargs[parameter] = busiest if parameter == "employer_id" else ARGUMENTS[parameter]
        if name.endswith("applicant_pool"):
            kwargs["dimension"] = "major"
        if name.endswith(("participation", "equity_table")):
            kwargs["dimension"] = "first_generation"
        result = function(con, **kwargs)
        if not isinstance(result, pl.DataFrame):
            continue
        decimals = [c for c, t in result.schema.items() if isinstance(t, pl.Decimal)]
        assert not decimals, f"{name} returns decimals {decimals}"
        checked += 1
    assert checked >= 15, checked


def test_the_query_function_turns_integer_sums_into_integers() -> None:
    from etl.warehouse import query

    con = duckdb.connect()
    frame = query(con, "select sum(case when x > 1 then 1 else 0 end) as a, count(*) as n, sum(x * 0.5) as h "
                       "from range(5) t(x)")
    assert frame.schema["a"] == pl.Int64 and frame.schema["h"] == pl.Float64
    assert frame.select(pl.col("a") / pl.col("n")).item() == 0.6  # 3 / 5, not 1


def test_skill_improved_share_is_a_fraction(sample: tuple[Path, Path]) -> None:
    con = con_of(sample[1])
    gains = insights.skill_gains(con)
    expected = dict(con.sql("select skill, avg(case when post_level > pre_level then 1.0 else 0.0 end) "
                            "from skill_pairs p join fact_placements f using (placement_id) group by 1").fetchall())
    for skill, share in zip(gains["skill"], gains["improved_share"], strict=True):
        assert share == pytest.approx(expected[skill])
    assert gains.filter((pl.col("improved_share") > 0) & (pl.col("improved_share") < 1)).height > 0


def test_employer_ratings_in_the_comparison_are_means(sample: tuple[Path, Path]) -> None:
    con = con_of(sample[1])
    busiest = con.sql("select employer_id from micro_internships group by 1 order by count(*) desc limit 1"
                      ).fetchall()[0][0]
    mean = con.sql("select avg(student_rating), avg(employer_rating) from fact_placements "
                   "where employer_id = ? and placement_status = 'completed'", params=[busiest]).fetchall()[0]
    table = audience.industry_comparison(con, busiest)
    yours = dict(zip(table["figure"], table["yours"], strict=True))
    assert yours["student_rating"] == pytest.approx(mean[0])
    assert yours["employer_rating"] == pytest.approx(mean[1])
    summary = audience.employer_summary(con, busiest).row(0, named=True)
    assert summary["student_rating"] == pytest.approx(yours["student_rating"])


# --- 3. a second placement of an application across loads --------------------------------------------------------


def test_a_second_placement_of_an_application_is_quarantined(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", HAND), db).ok
    later = [HAND["placements"][0], "PL9,A1,2025-01-22,2025-02-12,completed,9,4,4,1"]  # A1 is PL1's already
    result = load(write_source(tmp_path / "later", {"placements": later}), db, max_bad_rows=1)
    assert result.ok
    bad = result.quarantine.row(0, named=True)
    assert (bad["line"], bad["column"], bad["rule"], bad["value"]) == (2, "application_id", "unique across loads",
                                                                      "A1")
    con = con_of(db)
    assert con.sql("select count(*) from placements where application_id = 'A1'").fetchall()[0][0] == 1
    assert con.sql("select count(*) from fact_applications").fetchall()[0][0] == len(HAND["applications"]) - 1
    con.close()
    # The same placement again (same key) is an update, not a second row.
    again = [HAND["placements"][0], "PL1,A1,2025-01-20,2025-02-11,completed,12,5,4,3"]
    assert load(write_source(tmp_path / "again", {"placements": again}), db).quarantine.height == 0


# --- 4. one name, one meaning ---------------------------------------------------------------------------------


def test_pay_per_hour_has_two_names_for_two_meanings(sample: tuple[Path, Path]) -> None:
    con = con_of(sample[1])
    groups = ("Content", "Marketing")
    table = audience.compare_groups(con, "function", groups)
    assert "pay_per_hour" not in table.columns
    posted = dict(con.sql("select function, avg(pay_usd / estimated_hours) from micro_internships where pay_usd > 0 "
                          "group by 1").fetchall())
    for group, value in zip(table["group"], table["posted_pay_per_hour"], strict=True):
        assert value == pytest.approx(posted[group])
    applications = dict(con.sql("select function, count(*) from fact_applications group by 1").fetchall())
    slots = dict(con.sql("select function, sum(coalesce(slots, 1)) from micro_internships group by 1").fetchall())
    for group, value in zip(table["group"], table["applications_per_slot"], strict=True):
        assert value == pytest.approx(applications[group] / slots[group])
    counts = outcomes.outcome_counts(con, "function")
    completed = dict(con.sql("select function, avg(pay_usd / estimated_hours) from fact_placements "
                             "where placement_status = 'completed' group by 1").fetchall())
    for group, value in zip(counts["group"], counts["completed_pay_per_hour"], strict=True):
        assert value == pytest.approx(completed[group])


# --- 5. the employer page agrees with itself ---------------------------------------------------------------------


def test_the_employer_page_agrees_with_itself(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db = sample[1]
    con = con_of(db)
    busiest = con.sql("select employer_id from micro_internships group by 1 order by count(*) desc limit 1"
                      ).fetchall()[0][0]
    at = open_page(db, monkeypatch, "employer", User("acme", "employer", busiest))
    metrics = {m.label: m.value for m in at.metric}
    assert "Completed projects" not in metrics
    placements = con.sql("select count(*) from fact_placements where employer_id = ? and placement_status = "
                         "'completed'", params=[busiest]).fetchall()[0][0]
    projects = con.sql("select count(*) from micro_internships where employer_id = ?", params=[busiest]
                       ).fetchall()[0][0]
    assert metrics["Completed placements"] == f"{placements:,}" and metrics["Projects"] == f"{projects:,}"
    comparison = grid_frame(at.dataframe[0])
    received = comparison.filter(pl.col("figure") == "Rating you received")["yours"][0]
    assert received == metrics["Rating received"]
    page_text = " ".join(str(getattr(e, "value", "")) for e in at.main)
    assert "sidebar" not in page_text


# --- 6. overview: the term under way -----------------------------------------------------------------------------


def test_overview_marks_the_term_under_way_and_only_that_one(sample: tuple[Path, Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db = sample[1]
    con = con_of(db)
    terms = [r[0] for r in con.sql("select value from filter_values where column_name = 'term' order by position"
                                   ).fetchall()]
    at = open_page(db, monkeypatch, "overview")
    captions = " ".join(c.value for c in at.caption)
    assert f"{terms[-1]}) is left out" in captions
    narrowed = open_page(db, monkeypatch, "overview", term_from=terms[0], term_to=terms[-3])
    captions = " ".join(c.value for c in narrowed.caption)
    assert "still coming in" not in captions and "is left out" not in captions
    assert f"Changes compare {terms[-3]} with {terms[-4]}" in captions
    trend = narrowed.get("plotly_chart")[1].proto.spec
    assert "in progress" not in trend
    full = at.get("plotly_chart")[1].proto.spec
    assert "in progress" in full  # the unfinished term is drawn apart, not as a collapse of the line


def test_term_changes_are_computed_from_counts(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db = sample[1]
    con = con_of(db)
    by_term = outcomes.outcome_counts(con, "term")
    at = open_page(db, monkeypatch, "overview")
    shown = {m.label: m.delta for m in at.metric}
    terms = outcomes.closed_terms(con, Filters())
    now = by_term.filter(pl.col("group") == terms[-1]).row(0, named=True)
    before = by_term.filter(pl.col("group") == terms[-2]).row(0, named=True)
    exact = (now["offers"] / now["completed"] - before["offers"] / before["completed"]) * 100
    assert shown["Offer rate"] == f"{exact:+.1f} pts vs {terms[-2]}"


# --- 7. first destinations ---------------------------------------------------------------------------------------


def test_outcome_mix_has_a_colour_per_outcome_and_no_future_cohorts(sample: tuple[Path, Path],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    db = sample[1]
    at = open_page(db, monkeypatch, "destinations")
    spec = json.loads(at.get("plotly_chart")[2].proto.spec)
    colours = {trace["name"]: trace["marker"]["color"] for trace in spec["data"]}
    assert len(set(colours.values())) == len(colours)
    bars = {y for trace in spec["data"] for y in trace["y"]}
    reported = outcomes.destinations_table(con_of(db), min_cell=0)
    known = set(reported.filter(pl.col("knowledge_rate") > 0)["cohort"])
    assert {b.split(" · ")[0] for b in bars} <= known
    assert not [t for t in spec["data"] if t["name"] == "no record" and max(t["x"]) >= 0.99]


# --- 8. heatmap in order ------------------------------------------------------------------------------------------


def _heatmap(at) -> dict:  # noqa: ANN001 - AppTest
    """The heatmap trace of the page's two-attribute chart (other charts come before it)."""
    import json

    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return next(spec["data"][0] for spec in specs if spec["data"][0].get("type") == "heatmap")


def test_the_heatmap_keeps_ordered_axes_in_order(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:

    at = open_page(sample[1], monkeypatch, "offers")
    heat = _heatmap(at)
    bands = [b.replace("<", "&lt;") for b in ["unpaid", "<15", "15-20", "20-25", "25+"]]  # labels are text
    assert heat["x"] == [b for b in bands if b in heat["x"]] and len(heat["x"]) >= 4
    assert not any("n=0" in cell for row in heat["text"] for cell in row)
    assert all(any(v is not None for v in row) for row in heat["z"])


# --- 9. gaps are percentage points --------------------------------------------------------------------------------


def test_equity_gaps_are_in_points(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    at = open_page(sample[1], monkeypatch, "equity")
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert layout["xaxis"]["ticksuffix"] == " pts" and "%" not in layout["xaxis"].get("tickformat", "")
    assert "percentage points" in layout["xaxis"]["title"]["text"]


# --- 10. small ones -----------------------------------------------------------------------------------------------


def test_new_contacts_say_how_many_reported(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db = sample[1]
    con = con_of(db)
    counts = outcomes.outcome_counts(con, "channel")
    reported = dict(con.sql("select channel, count(new_contacts) from fact_placements where placement_status = "
                            "'completed' group by 1").fetchall())
    for group, value in zip(counts["group"], counts["contacts_reported"], strict=True):
        assert value == reported[group]
    at = open_page(db, monkeypatch, "channels")
    captions = " ".join(c.value for c in at.caption)
    total = sum(reported.values())
    assert f"{total:,} of {int(counts['completed'].sum()):,} completed projects" in captions


@pytest.mark.parametrize("key", ["employers", "career_test_drive"])
def test_pages_follow_the_minimum_cell_size(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                            key: str) -> None:
    db = sample[1]
    open_ = open_page(db, monkeypatch, key, k="0")
    closed = open_page(db, monkeypatch, key, k="1000")
    shown_open = grid_frame(open_.dataframe[0])
    shown_closed = grid_frame(closed.dataframe[0])
    figures = shown_closed.columns[1:]  # the first names the group
    assert all(shown_closed[c].null_count() == shown_closed.height for c in figures)  # every row blank
    assert shown_open[figures[0]].null_count() == 0


@pytest.mark.parametrize("order", insights.RANKED_BY)
def test_every_ranking_of_the_employers_page(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                             order: str) -> None:
    db = sample[1]
    at = open_page(db, monkeypatch, "employers", k="0")
    at.radio(key="employers_order").set_value(order).run()
    assert not at.exception, at.exception
    shown = grid_frame(at.dataframe[0])
    expected = insights.ranked_employers(con_of(db), Filters(), order=order, min_n=10, min_cell=0)
    assert shown["employer"].to_list() == expected["group"].to_list()
    values = shown[order].drop_nulls().to_list()
    assert values == sorted(values, reverse=True) and values
    if order == "conversion_rate":
        assert (shown["completed"] >= 10).all()  # ranked only with at least the chosen number of completed projects


@pytest.mark.parametrize("stage", ["participation", "selection", "completion", "offer"])
def test_every_gap_of_the_equity_page(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    import json

    db = sample[1]
    at = open_page(db, monkeypatch, "equity")
    at.radio(key="equity_stage").set_value(stage).run()
    assert not at.exception, at.exception
    points = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["x"]
    table = insights.equity_table(con_of(db), "first_generation", min_cell=10)
    shown = table.filter(~pl.col("suppressed") & pl.col(f"{stage}_gap").is_not_null())
    assert points == pytest.approx([g * 100 for g in shown[f"{stage}_gap"].to_list()])


@pytest.mark.parametrize(("rows", "cols"), [("industry", "pay_band"), ("term", "hours_band"),
                                            ("class_level", "remote"), ("channel", "term")])
@pytest.mark.parametrize("rate", ["offer_rate", "conversion_rate"])
def test_every_rate_and_ordered_axis_of_the_heatmap(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                    rows: str, cols: str, rate: str) -> None:

    db = sample[1]
    at = open_page(db, monkeypatch, "offers")
    at.radio(key="offers_rate").set_value(rate)
    at.selectbox(key="heat_rows").set_value(rows)
    at.selectbox(key="heat_cols").set_value(cols).run()
    assert not at.exception, at.exception
    heat = _heatmap(at)
    con = con_of(db)
    for axis, dimension in (("x", cols), ("y", rows)):
        order = [g.replace("<", "&lt;") for g in (outcomes.group_order(con, dimension) or sorted(heat[axis]))]
        assert heat[axis] == [g for g in order if g in heat[axis]], (axis, dimension)
    grid = outcomes.suppressed_counts(con, rows, Filters(), min_cell=10, second=cols)
    cell = grid.filter(pl.col(rate).is_not_null()).row(0, named=True)
    y, x = heat["y"].index(cell["group"].replace("<", "&lt;")), heat["x"].index(cell["group2"].replace("<", "&lt;"))
    assert heat["z"][y][x] == pytest.approx(cell[rate])


def test_destinations_with_every_cohort(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db = sample[1]
    at = open_page(db, monkeypatch, "destinations")
    reported = grid_frame(at.dataframe[0])["cohort"].unique().to_list()
    at.toggle(key="dest_past").set_value(False).run()
    assert not at.exception, at.exception
    every = grid_frame(at.dataframe[0])
    expected = outcomes.destinations_table(con_of(db), min_cell=10)
    assert sorted(every["cohort"].unique().to_list()) == sorted(expected["cohort"].unique().to_list())
    assert set(reported) < set(every["cohort"].to_list())  # the cohorts without destinations come back
