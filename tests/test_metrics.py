"""Every metric of contract sections 4-7 on the hand-built source, with the expected figures worked out here."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.metrics import outcomes as metrics
from etl.metrics.outcomes import OUTCOME_COLUMNS, Filters, destinations_table, outcome_counts, outcome_table, suppress


def con_for(db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)


def test_offer_attribution_rules(hand_db: Path) -> None:
    con = con_for(hand_db)
    got = dict(con.sql("select offer_id, placement_id from offer_attribution").fetchall())
    assert got == {
        "O1": "PL1",  # (a) names a completed placement of the same student
        "O2": "PL2",  # (b) S1 has PL1 and PL2 at E1 in window; PL2 ended latest
        "O3": None,  # (b) PL3 and PL6 ended 2025-02-15; 2025-09-01 is past ended_on + 180 days
        "O4": None,  # no employer_id and no placement_id: not attributed
        "O5": None,  # (a) names PL4, which was cancelled; S3 has no completed placement at E2
        "O6": "PL5",  # (b) in window, 14 days after the end
        "O7": "PL6",  # (b) PL3 and PL6 tie on ended_on: the greatest placement_id wins
        "O8": None,  # (b) offered before any placement at E1 started
    }


def test_overall_outcome_table(hand_db: Path) -> None:
    table = outcome_table(con_for(hand_db), "overall", min_cell=0)
    assert table.columns == OUTCOME_COLUMNS
    assert table.to_dicts() == [{
        "group": "all",
        "applications": 9,
        "applicants": 4,
        "selection_rate": 0.75,  # 6 selected / 8 not withdrawn
        "placements": 6,
        "completed": 5,
        "completion_rate": 0.8333,  # 5 / (5 completed + 1 cancelled)
        "offers": 4,  # PL1, PL2, PL5, PL6
        "offer_rate": 0.8,
        "conversion_rate": 0.4,  # PL1 (O1) and PL5 (O6) accepted
        "acceptance_rate": 0.6667,  # accepted O1, O6; declined O2; O7 pending is left out
        "median_days_to_offer": 14.0,  # PL1 10, PL2 15, PL5 14, PL6 14
        "suppressed": False,
    }]


def test_outcome_table_by_channel(hand_db: Path) -> None:
    table = outcome_table(con_for(hand_db), "channel", min_cell=0)
    rows = {r["group"]: r for r in table.to_dicts()}
    assert set(rows) == {"platform", "referral", "networking", "career_services", "direct"}
    platform = rows["platform"]  # A1, A2, A6 (withdrawn), A8 (submitted)
    assert (platform["applications"], platform["applicants"], platform["selection_rate"]) == (4, 3, 0.6667)
    assert (platform["placements"], platform["completed"], platform["offers"]) == (2, 2, 2)
    assert (platform["conversion_rate"], platform["acceptance_rate"], platform["median_days_to_offer"]) == (
        0.5, 0.5, 12.5)
    referral = rows["referral"]  # A3 -> PL3 (no offer), A9 -> PL6 (O7 pending)
    assert (referral["completed"], referral["offers"], referral["offer_rate"], referral["conversion_rate"]) == (
        2, 1, 0.5, 0.0)
    assert referral["acceptance_rate"] is None  # no decided attributed offer: zero denominator
    assert rows["networking"]["completion_rate"] is None  # no placement
    assert rows["career_services"]["completion_rate"] == 0.0  # one cancelled placement


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        ("industry", {"Technology": 6, "Finance": 2, "Nonprofit": 1}),  # P4 overrides its employer's industry
        ("employer", {"Acme Analytics": 6, "Beta Bank": 3}),
        # P1 25/h (A1 A3 A6), P5 22/h (A9), P2 20/h (A2 A8), P3 12.5/h (A4 A5), P4 unpaid (A7)
        ("pay_band", {"25+": 3, "20-25": 3, "<15": 2, "unpaid": 1}),
        # P1 10 h and P5 15 h (A1 A3 A6 A9), P2 20 h (A2 A8), P3 8 h (A4 A5), P4 40 h (A7)
        ("hours_band", {"10-19": 4, "20-39": 2, "<10": 2, "40+": 1}),
        ("first_generation", {"yes": 2, "no": 5, "unknown": 2}),
        ("pell_eligible", {"no": 5, "yes": 4}),
        ("remote", {"yes": 6, "no": 3}),
        ("term", {"2025-spring": 8, "2025-summer": 1}),
        ("class_level", {"junior": 2, "senior": 5, "alumni": 2}),
        ("institution", {"U1": 5, "U2": 4}),
        ("platform", {"Parker Dewey": 5, "Handshake": 2, "Direct": 1, "Riipen": 1}),
        ("function", {"Software": 4, "Data & Analytics": 2, "Finance": 2, "Research": 1}),
    ],
)
def test_groups_and_their_application_counts(hand_db: Path, dimension: str, expected: dict[str, int]) -> None:
    table = outcome_table(con_for(hand_db), dimension, min_cell=0)
    counts = {r["group"]: r["applications"] for r in table.to_dicts()}
    assert counts == expected


def test_stored_outcome_tables_equal_the_live_query(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables the loader stores for the unfiltered views are the ones the fact tables give when asked."""
    con = con_for(sample[1])
    stored = con.sql("select distinct dimension, second from outcome_cells order by all").fetchall()
    assert stored == sorted(metrics.PRECOMPUTED_OUTCOMES)
    pairs = list(metrics.PRECOMPUTED_OUTCOMES)
    from_cells = {pair: outcome_counts(con, pair[0], second=pair[1]) for pair in pairs}
    monkeypatch.setattr(metrics, "PRECOMPUTED_OUTCOMES", [])
    averages = ["employer_rating", "student_rating", "new_contacts", "completed_pay_per_hour",
                "completed_hours"]  # float sums' order
    for pair in pairs:
        live = outcome_counts(con, pair[0], second=pair[1])
        assert live.height > 1 or pair == ("overall", "overall")
        assert from_cells[pair].drop(averages).equals(live.drop(averages)), pair
        for column in averages:
            assert (from_cells[pair][column] - live[column]).abs().max() < 1e-9, (pair, column)


def test_the_one_pass_outcome_cells_equal_the_stored_ones(sample: tuple[Path, Path]) -> None:
    """outcome_cells_sql (the Spark engine's: every grouping in one aggregation, hash-set distinct counts) gives the
    rows the loader stored one grouping at a time with bitmaps, run here on DuckDB."""
    con = con_for(sample[1])
    stored = con.sql("select * from outcome_cells").pl()
    one_pass = con.sql(metrics.outcome_cells_sql()).pl()
    assert one_pass.columns == stored.columns
    assert one_pass.height == stored.height > 200
    averages = ["employer_rating", "student_rating", "new_contacts", "completed_pay_per_hour", "completed_hours"]
    keys = ["dimension", "second", "group", "group2"]
    joined = stored.join(one_pass, on=keys, how="full", nulls_equal=True, suffix="_one")
    assert joined.height == stored.height
    for column in stored.columns:
        if column in keys:
            continue
        a, b = joined[column], joined[f"{column}_one"]
        if column in averages or column == "median_days_to_offer":
            assert ((a - b).abs() < 1e-9).fill_null(True).all() and (a.is_null() == b.is_null()).all(), column
        else:
            assert (a == b).fill_null(a.is_null() & b.is_null()).all(), column


def test_filters_are_bound_parameters(hand_db: Path) -> None:
    con = con_for(hand_db)
    table = outcome_table(con, "overall", Filters(institutions=("U1",)), min_cell=0)
    assert table["applications"].to_list() == [5]
    hostile = outcome_table(con, "overall", Filters(institutions=("U1' or '1'='1",)), min_cell=0)
    assert hostile.is_empty()
    by_term = outcome_table(con, "overall", Filters(term_from="2025-summer"), min_cell=0)
    assert by_term["applications"].to_list() == [1]


def test_unknown_dimension_is_refused(hand_db: Path) -> None:
    with pytest.raises(ValueError, match="unknown dimension"):
        outcome_table(con_for(hand_db), "status; drop table students")


def test_suppression_and_complementary_suppression(hand_db: Path) -> None:
    # U1: 4 completed; U2: 1 completed (PL5). With K=2 only U2 is small, so U1 is suppressed too.
    table = outcome_table(con_for(hand_db), "institution", min_cell=2)
    assert table["suppressed"].to_list() == [True, True]
    assert table.select(pl.exclude("group", "suppressed")).null_count().row(0) == (2,) * 11
    # K=1: nothing is small.
    assert outcome_table(con_for(hand_db), "institution", min_cell=1)["suppressed"].to_list() == [False, False]


def test_suppression_uses_applications_when_nothing_completed(hand_db: Path) -> None:
    # networking: 1 application, 0 completed -> denominator 1; career_services: 1 application, 0 completed.
    table = outcome_table(con_for(hand_db), "channel", min_cell=2)
    rows = {r["group"]: r["suppressed"] for r in table.to_dicts()}
    assert rows == {"career_services": True, "direct": True, "networking": True, "platform": False,
                    "referral": False}


def test_complementary_suppression_picks_smallest_then_smallest_group_value() -> None:
    frame = pl.DataFrame({"group": ["a", "b", "c", "d"], "denominator": [3, 20, 12, 12]})
    assert suppress(frame, "denominator", "group", 10).to_list() == [True, False, True, False]
    two_small = pl.DataFrame({"group": ["a", "b", "c"], "denominator": [3, 4, 12]})
    assert suppress(two_small, "denominator", "group", 10).to_list() == [True, True, False]
    none_small = pl.DataFrame({"group": ["a", "b"], "denominator": [10, 11]})
    assert suppress(none_small, "denominator", "group", 10).to_list() == [False, False]
    alone = pl.DataFrame({"group": ["all"], "denominator": [3]})
    assert suppress(alone, "denominator", "group", 10).to_list() == [True]


def test_destinations_nace_rates(hand_db: Path) -> None:
    table = destinations_table(con_for(hand_db), min_cell=0)
    rows = {(r["cohort"], r["participated"]): r for r in table.to_dicts()}
    assert set(rows) == {("2025", "no"), ("2025", "yes"), ("2026", "yes")}
    # Cohort 2025 non-participants: S4 (PL5 ended after graduation), S5, S6, S7 (no row).
    assert rows[("2025", "no")] == {
        "cohort": "2025", "participated": "no", "cohort_size": 4,
        "knowledge_rate": 0.75,  # S4, S5, S6 known
        "career_outcomes_rate": 0.5,  # S4 positive / (3 known - S6 not seeking)
        "median_salary_usd": 60000.0, "suppressed": False,
    }
    assert rows[("2025", "yes")]["knowledge_rate"] == 1.0  # S2, graduated 2025-06-30
    assert rows[("2025", "yes")]["career_outcomes_rate"] == 1.0
    assert rows[("2025", "yes")]["median_salary_usd"] == 70000.0
    assert rows[("2026", "yes")]["knowledge_rate"] == 0.0  # S1, no destination yet
    assert rows[("2026", "yes")]["career_outcomes_rate"] is None


def test_destinations_suppression_within_a_cohort(hand_db: Path) -> None:
    table = destinations_table(con_for(hand_db), min_cell=2)
    flags = {(r["cohort"], r["participated"]): r["suppressed"] for r in table.to_dicts()}
    # 2025: "yes" (1) is small, so "no" (4) is suppressed with it; 2026 has one row, small.
    assert flags == {("2025", "no"): True, ("2025", "yes"): True, ("2026", "yes"): True}
    assert table.filter(pl.col("suppressed"))["cohort_size"].null_count() == 3


def test_attribution_window_boundaries(tmp_path: Path) -> None:
    from etl.pipeline import load
    from tests.conftest import HAND, write_source

    offers = HAND["offers"] + [
        "O9,S1,E1,,internship,2025-09-06,accepted,,",  # PL2 ended 2025-03-10: + 180 days, inside
        "O10,S1,E1,,internship,2025-09-07,accepted,,",  # + 181 days, outside
        "O11,S1,E1,,internship,2025-02-10,accepted,,",  # PL1 ends and PL2 starts that day: PL2 ends later
        "O12,S1,E1,,internship,2025-01-19,accepted,,",  # the day before PL1 started: none
        "O13,S2,E1,,internship,2025-05-01,accepted,,PL1",  # names S1's placement: not the same student
    ]
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", {**HAND, "offers": offers}), db).ok
    got = dict(con_for(db).sql("select offer_id, placement_id from offer_attribution "
                               "where offer_id in ('O9', 'O10', 'O11', 'O12', 'O13')").fetchall())
    assert got == {"O9": "PL2", "O10": None, "O11": "PL2", "O12": None, "O13": "PL6"}


def test_every_declared_dimension_is_counted_in_fact_sizes(hand_db: Path) -> None:
    """Each dimension of the catalogue (etl/metrics/columns.py) has its distinct values counted in fact_sizes, which
    the outcome query sizes its distinct counts by; a dimension left out is refused by name, never guessed."""
    from etl.metrics.columns import CATALOGUE

    sizes = metrics.fact_sizes(con_for(hand_db))
    assert {d.name for d in CATALOGUE} - {"overall"} <= set(sizes)
    with pytest.raises(KeyError, match="06_fact_sizes.sql"):
        metrics._outcome_sql({k: v for k, v in sizes.items() if k != "major"}, "major", "overall", "1 = 1")
