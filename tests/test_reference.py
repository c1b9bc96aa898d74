"""`mio report` against a second, independent implementation of the contract (Polars only, from the source files).

The generated sample was not written for these metrics: thousands of placements, offers inside and outside the
180-day window, named and unnamed placements, ties. If the SQL and this reference disagree, one of them is wrong.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.metrics import outcomes as metrics
from etl.metrics.outcomes import DIMENSIONS, destinations_table, outcome_table


def read(source: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(source / f"{name}.csv", try_parse_dates=False, infer_schema_length=0)


def reference_tables(source: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per application: its group values and its placement's outcome. Per student: cohort and participation."""
    students = read(source, "students")
    employers = read(source, "employers")
    projects = read(source, "micro_internships")
    apps = read(source, "applications").with_columns(
        pl.col("applied_at").str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%SZ"))
    placements = read(source, "placements").with_columns(pl.col("started_on", "ended_on").str.to_date())
    offers = read(source, "offers").with_columns(pl.col("offered_on").str.to_date())

    completed = (placements.filter(pl.col("status") == "completed")
                 .join(apps.select("application_id", "student_id", "project_id"), on="application_id")
                 .join(projects.select("project_id", "employer_id"), on="project_id"))
    named = offers.join(completed.select("placement_id", "student_id"), on=["placement_id", "student_id"])
    named = named.select("offer_id", pl.col("placement_id").alias("attributed"))
    rest = offers.join(named, on="offer_id", how="anti").filter(pl.col("employer_id").is_not_null())
    window = rest.drop("placement_id").join(
        completed.select("placement_id", "student_id", "employer_id", "started_on", "ended_on"),
        on=["student_id", "employer_id"],
    ).filter((pl.col("offered_on") >= pl.col("started_on"))
             & (pl.col("offered_on") <= pl.col("ended_on") + timedelta(days=180)))
    window = (window.sort(["offer_id", "ended_on", "placement_id"], descending=[False, True, True])
              .group_by("offer_id", maintain_order=True).first()
              .select("offer_id", pl.col("placement_id").alias("attributed")))
    attributed = pl.concat([named, window]).join(offers.select("offer_id", "offered_on", "decision"), on="offer_id")
    per_placement = attributed.group_by("attributed").agg(
        pl.len().alias("n_offers"),
        (pl.col("decision") == "accepted").sum().alias("n_accepted"),
        (pl.col("decision") == "declined").sum().alias("n_declined"),
        pl.col("offered_on").min().alias("first_offer"),
    ).rename({"attributed": "placement_id"})

    month = pl.col("applied_at").dt.month()
    yes_no = {"true": "yes", "false": "no"}
    pay_per_hour = pl.col("pay_usd").cast(pl.Float64) / pl.col("estimated_hours").cast(pl.Float64)
    hours = pl.col("estimated_hours").cast(pl.Int64)
    facts = (
        apps.join(students, on="student_id")
        .join(projects.rename({"industry": "project_industry"}), on="project_id")
        .join(employers.rename({"name": "employer", "industry": "employer_industry"}), on="employer_id")
        .join(placements.rename({"status": "placement_status"}), on="application_id", how="left")
        .join(per_placement, on="placement_id", how="left")
        .with_columns(
            pl.lit("all").alias("overall"),
            pl.coalesce("project_industry", "employer_industry").alias("industry"),
            pl.col("first_generation", "pell_eligible", "remote").replace_strict(yes_no, default="unknown"),
            pl.when(pl.col("pay_usd").cast(pl.Float64) == 0).then(pl.lit("unpaid"))
            .when(pay_per_hour < 15).then(pl.lit("<15")).when(pay_per_hour < 20).then(pl.lit("15-20"))
            .when(pay_per_hour < 25).then(pl.lit("20-25")).otherwise(pl.lit("25+")).alias("pay_band"),
            pl.when(hours < 10).then(pl.lit("<10")).when(hours < 20).then(pl.lit("10-19"))
            .when(hours < 40).then(pl.lit("20-39")).otherwise(pl.lit("40+")).alias("hours_band"),
            (pl.col("applied_at").dt.year().cast(pl.String) + "-"
             + pl.when(month <= 5).then(pl.lit("spring")).when(month <= 8).then(pl.lit("summer"))
             .otherwise(pl.lit("fall"))).alias("term"),
            (pl.col("placement_status") == "completed").fill_null(False).alias("is_completed"),
            pl.col("n_offers").fill_null(0),
            pl.col("n_accepted").fill_null(0),
            pl.col("n_declined").fill_null(0),
            (pl.col("first_offer") - pl.col("ended_on")).dt.total_days().alias("days"),
        )
    )
    grad = students.with_columns(pl.col("graduation_date").str.to_date()).filter(
        pl.col("graduation_date").is_not_null())
    took_part = (completed.join(grad.select("student_id", "graduation_date"), on="student_id")
                 .filter(pl.col("ended_on") <= pl.col("graduation_date")).select("student_id").unique())
    people = grad.with_columns(
        (pl.col("graduation_date").dt.year() + (pl.col("graduation_date").dt.month() >= 7).cast(pl.Int32))
        .cast(pl.String).alias("cohort"),
        pl.col("student_id").is_in(took_part["student_id"].implode()).replace_strict(
            {True: "yes", False: "no"}).alias("participated"),
    ).join(read(source, "first_destinations").select("student_id", "outcome", "salary_usd"), on="student_id",
           how="left")
    return facts, people


def expected_outcomes(facts: pl.DataFrame, dimension: str) -> list[dict]:
    rows = []
    for (group,), part in facts.with_columns(pl.col(dimension).fill_null("unknown")).group_by(dimension):
        done = part.filter(pl.col("is_completed"))
        closed = part.filter(pl.col("placement_status").is_in(["completed", "cancelled", "no_show"]))
        not_withdrawn = part.filter(pl.col("status") != "withdrawn").height
        decided = int(done["n_accepted"].sum() + done["n_declined"].sum())
        with_offer = done.filter(pl.col("n_offers") > 0)

        def rate(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        rows.append({
            "group": group,
            "applications": part.height,
            "applicants": part["student_id"].n_unique(),
            "selection_rate": rate(part.filter(pl.col("status") == "selected").height, not_withdrawn),
            "placements": part["placement_id"].drop_nulls().len(),
            "completed": done.height,
            "completion_rate": rate(done.height, closed.height),
            "offers": with_offer.height,
            "offer_rate": rate(with_offer.height, done.height),
            "conversion_rate": rate(done.filter(pl.col("n_accepted") > 0).height, done.height),
            "acceptance_rate": rate(int(done["n_accepted"].sum()), decided),
            "median_days_to_offer": with_offer["days"].median() if with_offer.height else None,
            "suppressed": False,
        })
    return sorted(rows, key=lambda r: r["group"])


@pytest.fixture(scope="module")
def reference(sample: tuple[Path, Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    return reference_tables(sample[0])


@pytest.mark.parametrize("source", ["stored at load", "bitmaps", "hash sets"])
@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_outcome_table_matches_reference(sample: tuple[Path, Path], reference: tuple, dimension: str, source: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if source != "stored at load":  # computed from the fact tables, as a filtered figure is
        monkeypatch.setattr(metrics, "PRECOMPUTED_OUTCOMES", [])
    if source == "hash sets":  # what a dimension with too many groups for bitmaps gets
        monkeypatch.setattr(metrics, "BITMAP_BUDGET_BYTES", 0)
    con = duckdb.connect(str(sample[1]), read_only=True)
    got = outcome_table(con, dimension, min_cell=0).to_dicts()
    con.close()
    want = expected_outcomes(reference[0], dimension)
    assert [r["group"] for r in got] == [r["group"] for r in want]
    for g, w in zip(got, want, strict=True):
        for key, value in w.items():
            if isinstance(value, float) and g[key] is not None:
                assert g[key] == pytest.approx(value, abs=1e-9), (dimension, g["group"], key)
            else:
                assert g[key] == value, (dimension, g["group"], key)


def test_destinations_match_reference(sample: tuple[Path, Path], reference: tuple) -> None:
    people = reference[1]
    positive = ["employed_full_time", "employed_part_time", "self_employed", "postgrad_internship", "service",
                "military", "continuing_education"]
    want = {}
    for (cohort, took), part in people.group_by("cohort", "participated"):
        known = part.filter(pl.col("outcome").is_not_null() & (pl.col("outcome") != "no_information"))
        denominator = known.filter(pl.col("outcome") != "not_seeking").height
        good = part.filter(pl.col("outcome").is_in(positive))
        salaries = good["salary_usd"].drop_nulls().cast(pl.Float64)
        want[(cohort, took)] = {
            "cohort_size": part.height,
            "knowledge_rate": round(known.height / part.height, 4),
            "career_outcomes_rate": round(good.height / denominator, 4) if denominator else None,
            "median_salary_usd": salaries.median() if salaries.len() else None,
        }
    con = duckdb.connect(str(sample[1]), read_only=True)
    got = {(r["cohort"], r["participated"]): {k: r[k] for k in ("cohort_size", "knowledge_rate",
                                                                  "career_outcomes_rate", "median_salary_usd")}
           for r in destinations_table(con, min_cell=0).to_dicts()}
    con.close()
    assert got == want
