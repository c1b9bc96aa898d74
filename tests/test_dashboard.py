"""The dashboard in Streamlit's AppTest: every figure on a page equals the metrics layer's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import registry, ui
from etl.metrics.insights import projects_behind
from etl.metrics.outcomes import Filters, outcome_counts
from tests.conftest import DIRECTOR, grid_frame, run_app


def expected_metrics(db: Path, filters: Filters) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    row = outcome_counts(con, "overall", filters).row(0, named=True)
    con.close()
    return {
        "Students engaged": f"{row['applicants']:,}",
        "Applications": f"{row['applications']:,}",
        "Selection rate": f"{row['selection_rate']:.1%}",
        "Completion rate": f"{row['completion_rate']:.1%}",
        "Offer rate": f"{row['offer_rate']:.1%}",
        "Conversion rate": f"{row['conversion_rate']:.1%}",
        "Acceptance rate": f"{row['acceptance_rate']:.1%}",
        "Median days to offer": f"{row['median_days_to_offer']:g}",
    }


def shown(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_shows_the_metrics_layer_figures(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, db = sample
    at = run_app(db, monkeypatch)
    assert shown(at) == expected_metrics(db, Filters())
    # The funnel, the rates by term, and each institution beside the others (the sample has five).
    assert len(at.get("plotly_chart")) == 3


def test_overview_follows_filters_from_the_url(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, db = sample
    at = run_app(db, monkeypatch, institution="Lakeshore College", platform=["Handshake", "Riipen"])
    assert at.multiselect(key="f_institution").value == ["Lakeshore College"]
    expected = expected_metrics(db, Filters(institutions=("Lakeshore College",), platforms=("Handshake", "Riipen")))
    assert shown(at) == expected
    assert shown(at)["Applications"] != expected_metrics(db, Filters())["Applications"]
    # Changing a filter writes it back into the URL, so the link reproduces the view.
    at.multiselect(key="f_class_level").select("senior").run()
    assert at.query_params["class_level"] in ("senior", ["senior"])
    assert shown(at) == expected_metrics(db, Filters(institutions=("Lakeshore College",),
                                                     platforms=("Handshake", "Riipen"), class_levels=("senior",)))


def test_the_filters_are_greyed_where_they_change_nothing_and_kept_for_the_next_page(
        sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Data quality, Import and the Glossary show no population's figures: their sidebar filters and cell size are
    greyed and say so (a director picking an institution there saw nothing change), and the choices made on the
    overview are still in force when the director comes back to it."""
    from dashboard.filters import NOT_HERE

    _, db = sample
    at = run_app(db, monkeypatch, institution="Lakeshore College", k="12")
    filtered = expected_metrics(db, Filters(institutions=("Lakeshore College",)))
    assert shown(at) == filtered
    widgets = ("f_institution", "f_college", "f_major", "f_class_level", "f_industry", "f_platform")
    for spec in registry.pages_for(registry.DIRECTOR):
        at.switch_page(spec.file).run()
        assert not at.exception, (spec.key, at.exception)
        greyed = [at.multiselect(key=key).disabled for key in widgets]
        greyed += [at.select_slider(key="f_terms").disabled, at.number_input(key="f_min_cell").disabled]
        assert greyed == [not spec.population] * len(greyed), spec.key
        assert (NOT_HERE in [c.value for c in at.sidebar.caption]) == (not spec.population), spec.key
        assert at.multiselect(key="f_institution").value == ["Lakeshore College"], spec.key
        assert at.number_input(key="f_min_cell").value == 12, spec.key
    assert [p.key for p in registry.pages_for(registry.DIRECTOR) if not p.population] == [
        "data_quality", "import", "glossary"]
    at.switch_page(registry.page("overview").file).run()
    assert shown(at) == filtered


def test_college_and_major_filter_every_figure(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The filters a director expects beside institution: college and major, from the URL and the sidebar, applied
    to the application figures and to the student-based ones (participation, first destinations) alike."""
    from etl.metrics.insights import participation
    from etl.metrics.outcomes import destinations_counts, filter_choices

    _, db = sample
    con = connect(db)
    colleges, majors = filter_choices(con, "college"), filter_choices(con, "major")
    assert len(colleges) > 1 and len(majors) > 1
    college = colleges[0]
    in_college = {r[0] for r in con.sql("select distinct major from students where college = ?",
                                         params=[college]).fetchall()}
    major = sorted(in_college)[0]
    at = run_app(db, monkeypatch, college=college)
    assert at.multiselect(key="f_college").value == [college]
    assert shown(at) == expected_metrics(db, Filters(colleges=(college,)))
    assert shown(at)["Applications"] != expected_metrics(db, Filters())["Applications"]
    at.multiselect(key="f_major").select(major).run()
    assert at.query_params["major"] in (major, [major])
    both = Filters(colleges=(college,), majors=(major,))
    assert shown(at) == expected_metrics(db, both)
    students = con.sql("select count(*) from students where college = ? and major = ?",
                       params=[college, major]).fetchall()[0][0]
    assert participation(con, "first_generation", both)["students"].sum() == students
    graduated = con.sql("select count(*) from students where college = ? and major = ? and graduation_date is not "
                        "null", params=[college, major]).fetchall()[0][0]
    assert destinations_counts(con, both)["cohort_size"].sum() == graduated


def test_overview_ignores_unknown_url_values(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, db = sample
    at = run_app(db, monkeypatch, institution="'; drop table students; --")
    assert shown(at) == expected_metrics(db, Filters())


def test_empty_warehouse_says_what_to_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(tmp_path / "missing.duckdb", monkeypatch)
    assert not at.metric
    assert "mio load --source DIR" in at.info[0].value


def test_a_warehouse_from_an_older_version_asks_for_a_new_load(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute("create table fact_applications (application_id varchar)")  # no stored outcome tables yet
    con.close()
    at = run_app(old, monkeypatch)
    assert not at.exception and not at.metric
    assert "older version" in at.info[0].value and "mio load --source DIR" in at.info[0].value


def test_a_warehouse_of_another_format_asks_for_a_new_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from etl.cli import main
    from etl.pipeline import load
    from tests.conftest import HAND, write_source

    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", HAND), db).ok
    con = duckdb.connect(str(db))
    con.execute("update warehouse_format set version = '7'")  # as a load of the last version numbered by hand wrote it
    con.close()
    at = run_app(db, monkeypatch)
    assert not at.exception and not at.metric and "older version" in at.info[0].value
    result = CliRunner().invoke(main, ["report", "--by", "industry", "--db", str(db)])
    assert result.exit_code == 1 and "older version" in " ".join(result.stderr.split())
    assert load(write_source(tmp_path / "s", HAND), db).ok  # a new load brings it up to date
    assert run_app(db, monkeypatch).metric


# --- every page, each checked against the metrics layer ---------------------------------------------------------

PAGES = [spec.key for spec in registry.pages_for(registry.DIRECTOR)]


def open_page(db: Path, monkeypatch: pytest.MonkeyPatch, page: str, **query: str | list[str]) -> AppTest:
    at = run_app(db, monkeypatch, **query)
    at.switch_page(registry.page(page).file).run()
    assert not at.exception, at.exception
    return at


def connect(db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)


def chart_json(at: AppTest, title: str) -> dict:
    """The page's Plotly chart whose title starts with `title`, as the browser receives it."""
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [c for c in charts if c["layout"].get("title", {}).get("text", "").startswith(title)]
    assert len(found) == 1, [c["layout"].get("title", {}).get("text") for c in charts]
    return found[0]


def frame_of(at: AppTest, index: int = 0) -> pl.DataFrame:
    return grid_frame(at.dataframe[index])


def same(shown: pl.DataFrame, expected: pl.DataFrame) -> None:
    """The table on screen holds the expected figures (its `suppressed` flag is in the CSV; blanks show it)."""
    expected = expected.drop("suppressed", strict=False)
    assert shown.columns == expected.columns
    assert shown.height == expected.height
    for column in expected.columns:
        left, right = shown[column].to_list(), expected[column].to_list()
        if expected[column].dtype.is_float():
            assert left == pytest.approx(right, nan_ok=True), column
        else:
            assert [None if v != v else v for v in left] == right, column  # pandas shows nulls as NaN


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_empty_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    at = open_page(tmp_path / "none.duckdb", monkeypatch, page)
    if page != "glossary":
        assert "mio load --source DIR" in at.info[0].value


def test_pages_on_a_partial_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.pipeline import load
    from tests.conftest import HAND, write_source

    db = tmp_path / "core.duckdb"
    only = ("students", "employers", "micro_internships")
    assert load(write_source(tmp_path / "core", HAND, only=only), db).ok
    for page in PAGES:
        at = open_page(db, monkeypatch, page)
        if page in ("overview", "offers", "trends", "channels", "employers", "career_test_drive"):
            assert at.warning or at.info, page  # says there is nothing to show, never errors


def test_offers_page_ranks_with_intervals(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.insights import ranked_offer_rates

    _, db = sample
    at = open_page(db, monkeypatch, "offers")
    expected = ranked_offer_rates(connect(db), "industry", Filters(), min_n=10)
    columns = ["rank", "group", "completed", "offers", "offer_rate", "converted", "conversion_rate", "ci_low",
               "ci_high", "acceptance_rate", "median_days_to_offer", "completed_pay_per_hour",
               "completed_hours"]
    shown = frame_of(at).with_columns(pl.col("rank").cast(pl.UInt32))
    same(shown, expected.select(columns).rename({"group": "industry"}))
    assert len(at.get("plotly_chart")) == 3  # ranking, adjusted rates and heatmap
    at.selectbox(key="offers_dim").select("pay_band").run()
    expected = ranked_offer_rates(connect(db), "pay_band", Filters(), min_n=10)
    assert frame_of(at)["pay_band"].to_list() == expected["group"].to_list()


def test_trends_page(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.outcomes import suppressed_counts

    _, db = sample
    at = open_page(db, monkeypatch, "trends")
    expected = suppressed_counts(connect(db), "term", Filters(), min_cell=10, second="institution")
    shown = frame_of(at)
    assert shown.height == expected.height
    key = ["term", "institution"]
    merged = shown.join(expected.rename({"group": "term", "group2": "institution"}), on=key, suffix="_m")
    assert merged.height == expected.height
    assert merged["applications"].fill_nan(None).to_list() == merged["applications_m"].cast(pl.Float64).to_list()
    assert merged["offer_rate"].fill_nan(None).to_list() == merged["offer_rate_m"].to_list()


def test_channels_page(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.outcomes import suppressed_counts

    _, db = sample
    at = open_page(db, monkeypatch, "channels")
    expected = suppressed_counts(connect(db), "channel", Filters(), min_cell=10)
    columns = ["group", "applications", "applicants", "selection_rate", "completed", "completion_rate", "offers",
               "offer_rate", "conversion_rate", "new_contacts", "suppressed"]
    same(frame_of(at), expected.select(columns).rename({"group": "channel"}))


def test_equity_page(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.insights import equity_table

    _, db = sample
    at = open_page(db, monkeypatch, "equity")
    expected = equity_table(connect(db), "first_generation", Filters(), min_cell=10)
    assert shown(at)["Overall participation rate"] == f"{expected['participation_overall'][0]:.1%}"
    assert shown(at)["Overall offer rate"] == f"{expected['offer_overall'][0]:.1%}"
    table = frame_of(at)
    assert table["first_generation"].to_list() == expected["group"].to_list()
    assert table["participation_rate"].to_list() == pytest.approx(expected["participation_rate"].to_list())
    # First-generation students take part less in the sample, and the page shows it as a negative gap.
    gap = dict(zip(table["first_generation"], table["participation_gap"], strict=True))
    assert gap["yes"] < 0 < gap["no"]


def test_destinations_page(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.outcomes import destinations_table

    _, db = sample
    at = open_page(db, monkeypatch, "destinations")
    expected = destinations_table(connect(db), Filters(), min_cell=10).filter(
        pl.col("knowledge_rate").fill_null(1.0) > 0)
    same(frame_of(at), expected)
    assert "not random" in at.warning[0].value
    # Participants against comparable non-participants: the cohorts shown above, the metrics layer's figures.
    from etl.metrics.adjusted import participation_balance, participation_effects

    effects = participation_effects(connect(db), Filters(), min_cell=10).filter(
        pl.col("cohort").is_in(expected["cohort"].unique().to_list()))
    same(frame_of(at, 1), effects.rename({"ci_low": "difference_ci_low", "ci_high": "difference_ci_high"}))
    estimated = effects.filter(pl.col("adjusted_difference").is_not_null())["cohort"].to_list()
    assert len(estimated) >= 2, effects  # the sample has cohorts to compare
    figure = chart_json(at, "Career outcomes rate, took part less did not")
    adjusted = next(t for t in figure["data"] if t["name"] == "adjusted")
    assert adjusted["x"] == estimated
    assert adjusted["y"] == pytest.approx([v * 100 for v in effects["adjusted_difference"].drop_nulls()])
    picker = at.selectbox(key="dest_balance")
    assert picker.options == estimated and picker.value == estimated[-1]
    for cohort in estimated:  # every cohort a director can pick shows its own balance and overlap
        picker.set_value(cohort).run()
        assert not at.exception, at.exception
        balance, propensities = participation_balance(connect(db), cohort, Filters())
        table = frame_of(at, 2)
        assert table["smd_after"].to_list() == pytest.approx(balance["smd_after"].to_list(), nan_ok=True)
        assert table["value"].to_list() == balance["value"].to_list()
        assert "First-generation" in table["attribute"].to_list()
        overlap = chart_json(at, "Overlap: propensity to take part")
        assert [t["name"] for t in overlap["data"]] == ["took part", "did not take part"]
        took = propensities.filter(pl.col("took_part"))["propensity"].to_numpy()
        counts = np.histogram(took, bins=20, range=(0, 1))[0]  # the bars, each a twentieth of [0, 1]
        assert overlap["data"][0]["customdata"] == counts.tolist()
        assert overlap["data"][0]["y"] == pytest.approx((100 * counts / len(took)).tolist())
        assert sum(overlap["data"][0]["customdata"]) == propensities["took_part"].sum()
        assert max(abs(v) for v in table["smd_after"].to_list() if v is not None and v == v) == pytest.approx(
            effects.filter(pl.col("cohort") == cohort)["max_abs_smd_after"][0], abs=1e-4)


def test_skills_page(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.insights import skill_gains, skills_that_lead_to_offers

    _, db = sample
    at = open_page(db, monkeypatch, "skills")
    gains = skill_gains(connect(db), "overall", Filters())
    assert shown(at)["Assessed skill pairs"] == f"{gains['pairs'].sum():,}"
    average = (gains["gain"] * gains["pairs"]).sum() / gains["pairs"].sum()
    assert shown(at)["Average gain (levels)"] == f"{average:+.2f}"
    ranked = skills_that_lead_to_offers(connect(db), Filters(), min_n=20)
    assert frame_of(at, 1)["skill"].to_list() == ranked["skill"].to_list()


def test_test_drive_page(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.insights import test_drive

    _, db = sample
    at = open_page(db, monkeypatch, "career_test_drive")
    expected = test_drive(connect(db), Filters())
    assert shown(at)["Students with completed projects"] == f"{expected['students'].sum():,}"
    several = expected.filter(pl.col("industries_tried") != "1")["students"].sum()
    assert shown(at)["Tried two or more industries"] == f"{several:,}"
    same(frame_of(at), expected)


def test_employers_page(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, db = sample
    at = open_page(db, monkeypatch, "employers")
    con = connect(db)
    employers = con.sql("select count(distinct employer) from fact_applications").fetchall()[0][0]
    assert shown(at)["Employers"] == f"{employers:,}"
    table = frame_of(at)
    top = con.sql("select employer, count(distinct project_id) n from fact_applications group by 1 "
                  "order by n desc limit 1").fetchall()[0]
    assert table["projects"][0] == top[1]


def test_data_quality_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.pipeline import load
    from tests.conftest import HAND, write_source

    employers = HAND["employers"] + ["E3,=cmd|' /C calc'!A0,Retail,1-49,CA", "E4,,Retail,1-49,CA"]
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", {**HAND, "employers": employers}), db, max_bad_rows=1).ok
    at = open_page(db, monkeypatch, "data_quality")
    assert shown(at) == {"Rows read": "50", "Rows loaded": "49", "Rows quarantined": "1"}
    reasons = frame_of(at, 2)
    assert reasons.select("file", "column", "rule", "rows").to_dicts() == [
        {"file": "employers.csv", "column": "name", "rule": "not null", "rows": 1}]
    downloads = [b for b in at.get("download_button")]
    assert len(downloads) >= 4


def test_glossary_lists_every_definition(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from etl.metrics.outcomes import DEFINITIONS

    at = open_page(tmp_path / "none.duckdb", monkeypatch, "glossary")
    text = "\n".join(m.value for m in at.markdown)
    for meaning in DEFINITIONS.values():
        assert meaning in text


def test_filters_persist_across_pages(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.outcomes import suppressed_counts

    _, db = sample
    at = run_app(db, monkeypatch, institution="Bayview University")
    at.switch_page(registry.page("channels").file).run()
    assert at.multiselect(key="f_institution").value == ["Bayview University"]
    expected = suppressed_counts(connect(db), "channel", Filters(institutions=("Bayview University",)), min_cell=10)
    assert frame_of(at)["applications"].fill_nan(None).to_list() == expected["applications"].to_list()


def test_a_new_load_shows_without_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.pipeline import load
    from tests.conftest import HAND, write_source

    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", HAND), db).ok
    assert shown(run_app(db, monkeypatch))["Applications"] == "9"
    more = [HAND["applications"][0], "A10,S5,P2,2025-02-05T10:00:00Z,networking,submitted,"]
    assert load(write_source(tmp_path / "later", {"applications": more}), db).ok
    assert shown(run_app(db, monkeypatch))["Applications"] == "10"


def test_outcomes_report(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.outcomes import outcome_table
    from etl.metrics.report import outcomes_report

    _, db = sample
    filters = Filters(institutions=("Northfield State University",))
    report = outcomes_report(connect(db), filters, min_cell=10)
    row = outcome_table(connect(db), "overall", filters).row(0, named=True)
    assert f"Applications<b>{row['applications']:,}</b>" in report
    assert f"Offer rate<b>{row['offer_rate']:.1%}</b>" in report
    assert "institutions: Northfield State University" in report
    assert report.count("<table>") == 7 and "plotly" in report
    at = run_app(db, monkeypatch, institution="Northfield State University")
    assert [b for b in at.get("download_button") if "report" in b.proto.id]


def test_outcomes_report_escapes_names(tmp_path: Path) -> None:
    from etl.metrics.report import outcomes_report
    from etl.pipeline import load
    from tests.conftest import HAND, write_source

    employers = ["employer_id,name,industry,size_band,state", "E1,Acme,<script>alert(1)</script>,1-49,NY",
                 "E2,Beta,Finance,1-49,IL"]
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", {**HAND, "employers": employers}), db).ok
    report = outcomes_report(connect(db), Filters(industries=("<script>alert(1)</script>",)), min_cell=0)
    assert "<script>alert(1)</script>" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report


def test_page_downloads_neutralize_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import csv
    import io

    import streamlit as st

    from etl.pipeline import load
    from tests.conftest import HAND, write_source

    employers = ["employer_id,name,industry,size_band,state", "E1,=HYPERLINK(1),Technology,1-49,NY",
                 "E2,@SUM(1),Finance,1-49,IL"]
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", {**HAND, "employers": employers}), db).ok
    captured: list[str] = []
    original = st.download_button

    def recording(label: str, data: str, *args: object, **kwargs: object) -> bool:
        if isinstance(data, str):  # the outcomes report is built on click (a callable)
            captured.append(data)
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", recording)
    open_page(db, monkeypatch, "employers")
    open_page(db, monkeypatch, "offers", **{"k": "0"})
    assert captured
    cells = [cell for text in captured for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'=HYPERLINK(1)" in cells and "'@SUM(1)" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not c[1:2].isdigit())]


def test_the_offices_name_and_logo_on_the_sidebar_and_the_report(sample: tuple[Path, Path], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from etl.metrics.report import outcomes_report

    logo = tmp_path / "logo.png"
    logo.write_bytes((Path(__file__).resolve().parents[1] / "dashboard" / "favicon.png").read_bytes())
    name = "Career Center <b>& Co</b> **Ltd**"
    monkeypatch.setenv("MIO_OFFICE_NAME", name)
    monkeypatch.setenv("MIO_OFFICE_LOGO", str(logo))
    at = run_app(sample[1], monkeypatch)
    captions = [c.value for c in at.sidebar.caption]
    from dashboard.ui import plain

    assert plain(name) in captions and plain(name) != name  # shown as written, never as Markdown or HTML
    report = outcomes_report(connect(sample[1]))
    assert "Career Center &lt;b&gt;&amp; Co&lt;/b&gt; **Ltd**" in report
    assert f"data:image/png;base64,{base64.b64encode(logo.read_bytes()).decode()}" in report
    monkeypatch.setenv("MIO_OFFICE_LOGO", str(tmp_path / "missing.png"))  # a wrong path leaves the logo out
    assert "class='logo'" not in outcomes_report(connect(sample[1]))


def _reference_lines(at: AppTest) -> list[tuple[float, str]]:
    """(value, label) of every dotted reference line in the page's charts."""
    import json

    found = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        labels = [a.get("text", "") for a in layout.get("annotations", [])]
        for shape in layout.get("shapes", []):
            if shape.get("line", {}).get("dash") == "dot":
                value = shape["y0"] if shape.get("yref") == "y" else shape["x0"]
                found.append((value, next((t for t in labels if f"{value:.0%}" in t), "")))
    return found


def test_national_figures_are_drawn_with_their_source(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    from etl.metrics.benchmarks import NATIONAL

    at = open_page(sample[1], monkeypatch, "destinations")
    lines = _reference_lines(at)
    assert (0.86, "NACE, class of 2022: 86%") in lines
    assert (0.65, "NACE minimum for reporting: 65%") in lines
    captions = " ".join(c.value for c in at.caption)
    assert "NACE First-Destination Survey, class of 2022" in captions and "NACE First-Destination Standards" in captions
    at = open_page(sample[1], monkeypatch, "offers")
    offer = next(b for b in NATIONAL if b.figure == "offer_rate")
    assert [value for value, _ in _reference_lines(at)] == [offer.value]
    assert "Full internships, not micro-internships" in " ".join(c.value for c in at.caption)
    at.radio(key="offers_rate").set_value("conversion_rate").run()
    conversion = next(b for b in NATIONAL if b.figure == "conversion_rate")
    assert [value for value, _ in _reference_lines(at)] == [conversion.value]


def _display_values(element) -> list[dict] | None:  # noqa: ANN001 - AppTest's Dataframe
    """The cells as the page shows them (pandas Styler's display values), or None for a table shown raw."""
    import pyarrow as pa

    data = element.proto.arrow_data.styler.display_values
    return pa.ipc.open_stream(data).read_all().to_pylist() if data else None


UNREADABLE = re.compile(r"^(None|nan|NaN|null|inf|-inf)$|^-?\d+\.\d{3,}$")


def _shown_as_none(element) -> list[str]:  # noqa: ANN001 - AppTest's Dataframe
    """Columns of a formatted table with a missing value: the grid writes "None" in such a cell, whatever its
    display value (ui.table sends a stand-in instead)."""
    if _display_values(element) is None:
        return []
    data = element.value
    return [str(column) for column in data.columns if data[column].isna().any()]


@pytest.mark.parametrize("key", [spec.key for spec in registry.pages_for(registry.DIRECTOR)
                                 if spec.key not in ("import", "glossary")])
def test_every_table_reads_as_a_person_reads_it(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                key: str) -> None:
    """Headers in words, no None or nan, no float with its raw decimals: in every table of every director page."""
    import json

    at = open_page(sample[1], monkeypatch, key, k="0")
    checked = 0
    blanked = open_page(sample[1], monkeypatch, key, k="10")  # with the blanks of suppression
    for element in blanked.dataframe:
        assert not _shown_as_none(element), (key, _shown_as_none(element))
    for element in at.dataframe:
        assert not _shown_as_none(element), (key, _shown_as_none(element))
        labels = {name: (config or {}).get("label") or name
                  for name, config in json.loads(element.proto.columns or "{}").items()}
        cells = _display_values(element)
        if cells is None:  # a raw data table (quarantined rows as they were read)
            continue
        checked += 1
        for column in cells[0] if cells else []:
            if column.startswith("__"):
                continue
            assert "_" not in labels.get(column, column), (key, column)
        for row in cells:
            for column, value in row.items():
                assert not (isinstance(value, str) and UNREADABLE.search(value)), (key, column, value)
    assert checked or key in ("data_quality",), key
    for chart in at.get("plotly_chart"):  # percentage ticks never repeat (".0%" wrote 1%, 1%, 2% on half points)
        assert '"tickformat":".0%"' not in chart.proto.spec.replace(" ", ""), key


CARTESIAN = {"bar", "scatter", "heatmap", "box", "histogram"}


@pytest.mark.parametrize(("role", "key"), [(role, spec.key) for role in (registry.DIRECTOR, registry.EMPLOYER,
                                                                          registry.STUDENT)
                                           for spec in registry.pages_for(role)])
def test_every_chart_has_a_title_and_titled_axes(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                 role: str, key: str) -> None:
    """Every chart of every page and role is titled, each axis of a chart with axes too, and a count axis whose
    values are small steps by whole numbers (Plotly would step by a half and write 0, 1, 1, 2)."""
    import json

    from etl.accounts import User

    busiest = connect(sample[1]).sql("select employer_id from micro_internships group by 1 order by count(*) desc "
                                     "limit 1").fetchall()[0][0]
    user = {registry.DIRECTOR: DIRECTOR, registry.EMPLOYER: User("acme", "employer", busiest),
            registry.STUDENT: User("sam", "student")}[role]
    at = run_app(sample[1], monkeypatch, user)
    at.switch_page(registry.page(key).file).run()
    assert not at.exception, at.exception
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        layout = figure["layout"]
        assert (layout.get("title") or {}).get("text"), (key, "untitled chart")
        if not {trace.get("type", "scatter") for trace in figure["data"]} & CARTESIAN:
            continue
        axes = [name for name in layout if name.startswith(("xaxis", "yaxis"))]
        assert {"xaxis", "yaxis"} <= set(axes), (key, layout["title"]["text"], axes)
        for axis in axes:
            assert (layout[axis].get("title") or {}).get("text"), (key, layout["title"]["text"], axis)
        for trace in figure["data"]:
            for dimension in ("x", "y"):
                axis = dimension + "axis" + (trace.get(dimension + "axis") or dimension)[1:]
                values = [v for v in trace.get(dimension) or [] if isinstance(v, (int, float))]
                if values and layout.get(axis, {}).get("tickformat") == ",d" and max(values) <= 10:
                    assert layout[axis].get("dtick") == 1, (key, axis)


def _labels_shown(figure: dict) -> list[str]:
    """The category labels a chart writes: its axes' tick texts where it sets them, its text categories otherwise."""
    layout, shown = figure["layout"], []
    for trace in figure["data"]:
        for dimension in ("x", "y", "labels"):
            values = [v for v in trace.get(dimension) or [] if isinstance(v, str)]
            axis = layout.get(dimension + "axis" + (trace.get(dimension + "axis") or dimension)[1:], {})
            shown += axis.get("ticktext") or values
    return shown


@pytest.mark.parametrize("key", [spec.key for spec in registry.pages_for(registry.DIRECTOR)
                                 if spec.key not in ("import", "glossary", "data_quality")])
def test_every_choice_on_a_page_shows_codes_in_words(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                     key: str) -> None:
    """Each option of each radio of a director page (class levels, channels, outcomes are codes such as first_year
    or career_services in the data): no exception, and the charts and tables write the codes in words."""
    import json

    from dashboard.theme import CODES

    at = open_page(sample[1], monkeypatch, key, k="0")
    # What the pages offer to pick: dimensions, rates, rankings, stages; a label maps back to its value.
    from etl.metrics.insights import PEER_RATES, RANKED_BY
    from etl.metrics.outcomes import RATE_PARTS

    values = {*ui.DIMENSION_LABELS, *RATE_PARTS, *RANKED_BY, *PEER_RATES, "participation", "selection", "completion",
              "offer"}

    def in_words(*where: object) -> None:
        for chart in at.get("plotly_chart"):
            assert not CODES & set(_labels_shown(json.loads(chart.proto.spec))), (key, *where)
        for element in at.dataframe:
            for row in _display_values(element) or []:
                assert not CODES & set(row.values()), (key, *where, row)

    in_words("as it opens")
    tried = 0
    choices = [("radio", r.key) for r in at.radio] + [("selectbox", b.key) for b in at.selectbox
                                                     if b.key and not b.key.startswith("drill_")]
    for kind, widget_key in choices:
        widget = getattr(at, kind)(key=widget_key)
        for option in widget.options:
            value = next((v for v in values if widget.format_func(v) == option),
                         option if widget.format_func(option) == option else None)  # a value shown as it is
            assert value is not None, (key, widget_key, option)
            getattr(at, kind)(key=widget_key).set_value(value).run()
            assert not at.exception, (key, widget_key, option, at.exception)
            tried += 1
            in_words(widget_key, option)
    assert tried == sum(len(getattr(at, kind)(key=k).options) for kind, k in choices)


def test_the_employer_and_student_tables_read_as_a_person_reads_them(sample: tuple[Path, Path],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from etl.accounts import User

    busiest = connect(sample[1]).sql("select employer_id from micro_internships group by 1 order by count(*) desc "
                                     "limit 1").fetchall()[0][0]
    for user in (User("acme", "employer", busiest), User("sam", "student")):
        at = run_app(sample[1], monkeypatch, user)
        assert not at.exception and at.dataframe, user.role
        for element in at.dataframe:
            labels = [(c or {}).get("label") or n for n, c in json.loads(element.proto.columns or "{}").items()
                      if not n.startswith("_")]  # Streamlit's own index column
            assert not [label for label in labels if "_" in label], (user.role, labels)
            assert not _shown_as_none(element), (user.role, _shown_as_none(element))
            for row in _display_values(element) or []:
                for column, value in row.items():
                    assert not (isinstance(value, str) and UNREADABLE.search(value)), (user.role, column, value)


def test_drill_down_from_a_group_to_its_employers_and_projects(sample: tuple[Path, Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Pick a group (or click its bar): the employers and projects behind it, each with its figures, adding up to
    the group's own row; a button then filters every page by the group."""
    db = sample[1]
    at = open_page(db, monkeypatch, "offers", k="0")
    ranked = frame_of(at)
    row = ranked.filter(pl.col("industry") == "Technology").row(0, named=True)
    at.selectbox(key="drill_industry").set_value("Technology").run()
    assert not at.exception, at.exception
    employers, projects = frame_of(at, 1), frame_of(at, 2)
    assert "employer" in employers.columns and "project_id" in projects.columns
    for frame in (employers, projects):
        assert frame["applications"].sum() == connect(db).sql(
            "select count(*) from fact_applications where industry = 'Technology'").fetchall()[0][0]
        assert frame["completed"].sum() == row["completed"] and frame["offers"].sum() == row["offers"]
    truth = dict(connect(db).sql("""select project_id, count_if(placement_status = 'completed' and has_offer)
                                    from fact_applications where industry = 'Technology' group by 1""").fetchall())
    assert {r["project_id"]: r["offers"] for r in projects.iter_rows(named=True)} == truth
    at.button(key="drill_filter_industry").click().run()
    assert at.query_params["industry"] in ("Technology", ["Technology"])
    assert at.multiselect(key="f_industry").value == ["Technology"]
    at.switch_page(registry.page("overview").file).run()
    assert shown(at) == expected_metrics(db, Filters(industries=("Technology",)))


def test_drill_down_from_a_channel(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The same drill-down on the Channels page; a channel is not a sidebar filter, so no filter button."""
    db = sample[1]
    at = open_page(db, monkeypatch, "channels", k="0")
    at.selectbox(key="drill_channel").set_value("referral").run()
    assert not at.exception, at.exception
    frames = [frame_of(at, i) for i in range(len(at.dataframe))]
    employers = next(f for f in frames if f.columns[0] == "employer")
    projects = next(f for f in frames if f.columns[0] == "project_id")
    truth = connect(db).sql("""select count(*), count_if(placement_status = 'completed') from fact_applications
                               where channel = 'referral'""").fetchall()[0]
    assert (employers["applications"].sum(), employers["completed"].sum()) == truth
    # More than SHOWN_ROWS projects: the page shows the first ones, most completed first; all add up to the group.
    every = projects_behind(connect(db), "channel", "referral", Filters(), min_cell=0)
    assert every.height > ui.SHOWN_ROWS == projects.height
    assert (every["applications"].sum(), every["completed"].sum()) == truth
    assert projects["project_id"].to_list() == every["project_id"].head(ui.SHOWN_ROWS).to_list()
    assert f"of {every.height:,} rows" in " ".join(c.value for c in at.caption)
    at.text_input(key="find-projects-behind-channel-referral").set_value(every["project_id"][-1]).run()
    found = next(f for f in (frame_of(at, i) for i in range(len(at.dataframe))) if f.columns[0] == "project_id")
    assert every["project_id"][-1] in found["project_id"].to_list()  # the box finds a row not shown
    assert not [b for b in at.button if b.key and b.key.startswith("drill_filter")]


@pytest.mark.parametrize(("key", "drill", "dimensions"), [
    ("overview", "drill_term", ("term",)),
    ("overview", "drill_institution", ("institution",)),
    ("equity", "drill_first_generation", ("first_generation",)),
    ("trends", "drill_term_institution", ("term", "institution")),
    ("offers", "drill_industry_pay_band", ("industry", "pay_band")),
    ("channels", "drill_platform", ("platform",)),
    ("channels", "drill_platform_channel", ("platform", "channel")),
    ("employers", "drill_employer", ("employer",)),
])
def test_drill_down_from_every_breakdown(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, key: str,
                                         drill: str, dimensions: tuple[str, ...]) -> None:
    """A group of each page's breakdowns (a point, a cell, a bar or a table row picks it in the browser): the
    employers and projects behind it add up to the group's applications and completed projects in the warehouse."""
    db = sample[1]
    at = open_page(sample[1], monkeypatch, key, k="0")
    con = connect(db)
    where = " and ".join(f"{d} = ?" for d in dimensions)
    candidates = con.sql(f"select {', '.join(dimensions)}, count(*) as n from fact_applications group by all "
                         "order by n desc, 1").fetchall()
    options = at.selectbox(key=drill).options
    group = next(tuple(str(v) for v in row[:-1]) for row in candidates
                 if ui._cell_label(tuple(str(v) for v in row[:-1]) if len(dimensions) > 1 else str(row[0]))
                 in options)
    at.selectbox(key=drill).set_value(group if len(dimensions) > 1 else group[0]).run()
    assert not at.exception, at.exception
    truth = con.sql(f"select count(*), count_if(placement_status = 'completed') from fact_applications "
                    f"where {where}", params=list(group)).fetchall()[0]
    frames = [frame_of(at, i) for i in range(len(at.dataframe))]
    employers = next(f for f in frames if f.columns[:2] == ["employer", "applications"])
    projects = next(f for f in frames if f.columns[0] == "project_id")
    assert (employers["applications"].sum(), employers["completed"].sum()) == truth
    assert projects.height == min(ui.SHOWN_ROWS, con.sql(
        f"select count(distinct project_id) from fact_applications where {where}", params=list(group)).fetchall()[0][0])
    captions = " ".join(c.value for c in at.caption)
    assert f"{employers.height:,} employers" in captions


def test_offers_page_shows_adjusted_rates_for_every_project_attribute(sample: tuple[Path, Path],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """For each project attribute a director can pick, the adjusted offer rates and their intervals on the page
    are the metrics layer's; for a student attribute the section is not shown."""
    import json

    from etl.metrics.adjusted import MIN_COMPLETED, PROJECT_ATTRIBUTES, adjusted_offer_rates

    at = open_page(sample[1], monkeypatch, "offers")
    for dimension in [*PROJECT_ATTRIBUTES, "class_level"]:
        at.selectbox(key="offers_dim").set_value(dimension).run()
        assert not at.exception, (dimension, at.exception)
        charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        adjusted_charts = [c for c in charts if "adjusted for the mix" in c["layout"]["title"]["text"]]
        if dimension not in PROJECT_ATTRIBUTES:
            assert not adjusted_charts and not [s for s in at.subheader if "adjusted" in s.value]
            continue
        expected = adjusted_offer_rates(connect(sample[1]), dimension, Filters(), min_completed=MIN_COMPLETED)
        table = next(frame_of(at, i) for i in range(len(at.dataframe))
                     if "adjusted_offer_rate" in frame_of(at, i).columns)
        assert table["adjusted_offer_rate"].to_list() == expected["adjusted_offer_rate"].to_list(), dimension
        assert table["adjusted_ci_low"].to_list() == expected["adjusted_ci_low"].to_list(), dimension
        estimated = expected.filter(pl.col("adjusted_offer_rate").is_not_null()).sort("adjusted_offer_rate")
        if estimated.height >= 2:
            chart = adjusted_charts[0]
            assert chart["data"][0]["x"] == estimated["adjusted_offer_rate"].to_list(), dimension
            assert chart["data"][1]["x"] == estimated["raw_offer_rate"].to_list(), dimension
        else:
            assert not adjusted_charts and any("nothing to compare" in i.value for i in at.info), dimension
