"""A warehouse shared by several institutions: a director bound to one sees only its students, whatever the URL,
the sidebar or the page; a consortium director (no binding) sees all."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from dashboard import registry
from etl.accounts import User, UserStore
from etl.cli import main
from etl.metrics.insights import ranked_offer_rates
from etl.metrics.outcomes import Filters, filter_choices, outcome_counts
from tests.conftest import grid_frame, run_app

INSTITUTION = "Lakeshore College"
BOUND = User("lee", "director", institution=INSTITUTION)


def figures(at) -> dict[str, str]:  # noqa: ANN001 - AppTest
    return {m.label: m.value for m in at.metric}


def expected(db: Path, filters: Filters) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    row = outcome_counts(con, "overall", filters).row(0, named=True)
    con.close()
    return {"Applications": f"{row['applications']:,}", "Offer rate": f"{row['offer_rate']:.1%}"}


def test_a_bound_director_sees_only_the_institution(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    db = sample[1]
    own = expected(db, Filters(institutions=(INSTITUTION,)))
    everyone = expected(db, Filters())
    assert own["Applications"] != everyone["Applications"]
    at = run_app(db, monkeypatch, BOUND)
    shown = figures(at)
    assert {k: shown[k] for k in own} == own
    # A forged URL asks for another institution, or for all: the figures stay the institution's.
    for forged in ({"institution": "Bayview University"}, {"institution": ["Bayview University", INSTITUTION]}):
        at = run_app(db, monkeypatch, BOUND, **forged)
        assert {k: figures(at)[k] for k in own} == own
        assert at.multiselect(key="f_institution").value == [INSTITUTION]
        assert at.multiselect(key="f_institution").disabled
    # Another page, another figure: the ranking by industry is the institution's.
    at.switch_page(registry.page("offers").file).run()
    assert not at.exception, at.exception
    con = duckdb.connect(str(db), read_only=True)
    ranked = ranked_offer_rates(con, "industry", Filters(institutions=(INSTITUTION,)), min_n=10)
    con.close()
    shown = grid_frame(at.dataframe[0])
    assert shown["completed"].to_list() == ranked["completed"].to_list()


def test_a_consortium_director_sees_all(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db = sample[1]
    at = run_app(db, monkeypatch, User("ada", "director"))
    everyone = expected(db, Filters())
    assert {k: figures(at)[k] for k in everyone} == everyone


@pytest.mark.parametrize("key", ["data_quality", "import"])
def test_pages_about_every_institution_are_not_for_a_bound_director(sample: tuple[Path, Path],
                                                                    monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    at = run_app(sample[1], monkeypatch, BOUND)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(registry.page(key).file)
    from streamlit.testing.v1 import AppTest

    direct = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard" / registry.page(key).file),
                               default_timeout=60)
    direct.session_state["user"] = BOUND
    direct.run()
    assert [e.value for e in direct.error] == ["This page is not available to your account."]
    assert not direct.dataframe and not direct.file_uploader


def test_users_add_binds_a_director_to_an_institution(sample: tuple[Path, Path], tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    add = ["users", "add", "--users", str(users), "--db", str(sample[1]), "--username", "lee", "--role", "director"]
    result = CliRunner().invoke(main, [*add, "--institution", INSTITUTION], input="a long password\n")
    assert result.exit_code == 0, result.stderr
    assert UserStore(users).get("lee") == BOUND
    unknown = CliRunner().invoke(main, [*add, "--institution", "Nowhere U"], input="a long password\n")
    assert unknown.exit_code == 1 and "no students of the institution" in unknown.stderr
    student = ["users", "add", "--users", str(users), "--username", "sam", "--role", "student", "--institution",
               INSTITUTION]
    assert CliRunner().invoke(main, student, input="a long password\n").exit_code == 1


def test_a_bound_directors_filters_offer_only_the_institutions_values(hand_db: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The sidebar's lists would otherwise tell a bound director which industries, platforms, class levels and terms
    other institutions' students have (in the hand-built source only U2's students applied through Direct)."""
    con = duckdb.connect(str(hand_db), read_only=True)
    own = {column: set(r[0] for r in con.sql(f"select distinct {column} from fact_applications "
                                               "where institution = 'U1'").fetchall())
           for column in ("class_level", "industry", "platform", "term")}
    everyone = {column: set(filter_choices(con, column)) for column in own}
    con.close()
    assert all(own[c] < everyone[c] for c in own)  # each list loses something
    at = run_app(hand_db, monkeypatch, User("uma", "director", institution="U1"), k="0")
    for column in ("class_level", "industry", "platform"):
        assert set(at.multiselect(key=f"f_{column}").options) == own[column], column
    assert at.multiselect(key="f_institution").options == ["U1"]
    at = run_app(hand_db, monkeypatch, User("dana", "director"), k="0")
    for column in ("class_level", "industry", "platform"):
        assert set(at.multiselect(key=f"f_{column}").options) == everyone[column], column


SEVEN = ("Northfield State University", "Lakeshore College", "Riverside Institute of Technology", "Bayview University",
         "Summit Community College", "Eastgate University", "Westbrook College")


@pytest.fixture(scope="module")
def seven(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated source whose students spread over seven institutions (the generator has five), loaded."""
    from etl.generate import generate
    from etl.pipeline import load

    folder = tmp_path_factory.mktemp("seven")
    generate(folder / "source", students=3000, seed=23)
    students = pl.read_csv(folder / "source" / "students.csv", infer_schema=False)
    students.with_columns(pl.col("student_id").map_elements(lambda s: SEVEN[sum(map(ord, s)) % 7],
                                                            return_dtype=pl.String).alias("institution")
                          ).write_csv(folder / "source" / "students.csv")
    assert load(folder / "source", folder / "w.duckdb").ok
    return folder / "w.duckdb"


def test_each_institution_beside_the_median_of_the_others(seven: Path) -> None:
    from etl.metrics.disclosure import RESTS_ON
    from etl.metrics.insights import PEER_RATES, institution_peers
    from etl.metrics.outcomes import RATE_PARTS

    con = duckdb.connect(str(seven), read_only=True)
    table = outcome_counts(con, "institution", Filters(class_levels=("senior",)))
    peers = institution_peers(con, Filters(class_levels=("senior",)), min_cell=10)
    assert sorted(set(peers["institution"])) == sorted(SEVEN) and peers.height == 7 * len(PEER_RATES)
    for row in peers.iter_rows(named=True):
        others = table.filter(pl.col("group") != row["institution"])[row["rate"]]
        assert row["value"] == table.filter(pl.col("group") == row["institution"])[row["rate"]][0]
        assert row["others"] == 6 and row["others_median"] == pytest.approx(float(others.median()))
        assert row["median_gap"] == pytest.approx(row["value"] - row["others_median"], abs=0.6e-4)
    # A bound director: its own institution only, and the median of six others (at least five are needed).
    bound = institution_peers(con, Filters(institutions=("Eastgate University",)), min_cell=10, bound=True)
    assert set(bound["institution"]) == {"Eastgate University"}
    everyone = outcome_counts(con, "institution").filter(pl.col("group") != "Eastgate University")
    for row in bound.iter_rows(named=True):
        # An institution counts when its rate and the counts it divides each rest on 10 students or more.
        students = [RESTS_ON[c] for c in (row["rate"], *RATE_PARTS[row["rate"]]) if c in RESTS_ON]
        counted = everyone.filter(pl.col("denominator") >= 10, *[pl.col(c) >= 10 for c in students])
        assert row["others"] == counted.height
        expected = float(counted[row["rate"]].median()) if counted.height >= 5 else None
        assert row["others_median"] == (pytest.approx(expected) if expected is not None else None), row
    assert bound["others_median"].is_null().any() and bound["others_median"].is_not_null().any()
    # With fewer than five others whose figure rests on K students, no median at all.
    few = institution_peers(con, Filters(institutions=("Eastgate University",), majors=("Finance",)), min_cell=10,
                            bound=True)
    assert few["others"].max() < 5 and few["others_median"].is_null().all()
    con.close()


def test_the_overview_shows_each_institution_beside_the_others(seven: Path, sample: tuple[Path, Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.metrics.insights import PEER_RATES, institution_peers

    con = duckdb.connect(str(seven), read_only=True)
    peers = institution_peers(con, Filters(), min_cell=10)
    own = institution_peers(con, Filters(institutions=(INSTITUTION,)), min_cell=10, bound=True)
    con.close()
    at = run_app(seven, monkeypatch)
    assert at.radio(key="peers_rate").value == "offer_rate"
    for rate in PEER_RATES:  # every figure a director can pick draws its chart from the same numbers
        at.radio(key="peers_rate").set_value(rate).run()
        assert not at.exception, at.exception
        chart = next(c for c in at.get("plotly_chart") if "beside the median" in c.proto.spec)
        import json

        spec = json.loads(chart.proto.spec)
        chosen = peers.filter(pl.col("rate") == rate).sort("value", nulls_last=True)
        assert spec["data"][0]["x"] == chosen["value"].to_list()
        assert spec["data"][1]["x"] == chosen["others_median"].to_list()
    shown = grid_frame(at.dataframe[-1])
    assert shown["others_median"].to_list() == pytest.approx(peers["others_median"].to_list())
    # Bound: its own rows, the others only as their median.
    at = run_app(seven, monkeypatch, BOUND)
    shown = grid_frame(at.dataframe[-1])
    assert set(shown["institution"]) == {INSTITUTION}
    assert shown["others_median"].to_list() == pytest.approx(own["others_median"].to_list())
    # Five institutions: four others, too few for a bound director's median.
    at = run_app(sample[1], monkeypatch, BOUND)
    assert any("at least 5" in i.value for i in at.info)
    assert not [c for c in at.get("plotly_chart") if "beside the median" in c.proto.spec]
