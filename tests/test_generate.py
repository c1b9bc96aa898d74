"""The synthetic source: deterministic for a seed, referentially whole, and calibrated (shared/calibration.md)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.generate import generate
from etl.ingest.schema import ENTITIES
from etl.metrics.outcomes import destinations_table, outcome_table


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", students=300, seed=11)
    generate(tmp_path / "b", students=300, seed=11)
    generate(tmp_path / "c", students=300, seed=12)
    for name in ENTITIES:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes()
    assert (tmp_path / "a" / "applications.csv").read_bytes() != (tmp_path / "c" / "applications.csv").read_bytes()


def test_every_row_loads(sample: tuple[Path, Path]) -> None:
    """Referential integrity: the loader finds nothing to quarantine in a generated source."""
    _, db = sample
    con = duckdb.connect(str(db), read_only=True)
    assert con.sql("select count(*) from quarantine").fetchall() == [(0,)]
    rows = dict(con.sql("select entity, rows_read from load_files").fetchall())
    assert set(rows) == set(ENTITIES)
    assert all(n > 0 for n in rows.values())


@pytest.fixture(scope="module")
def con(sample: tuple[Path, Path]) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(sample[1]), read_only=True)


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    return con.sql(sql).fetchall()[0][0]


def test_volume_and_postings(con: duckdb.DuckDBPyConnection) -> None:
    per_student = scalar(con, "select count(*) / 6000 from applications")
    assert 8.5 <= per_student <= 11.5  # about ten applications per student
    per_posting = scalar(con, "select count(*) / count(distinct project_id) from applications")
    assert 55 <= per_posting <= 115  # Handshake index: ~62 -> ~109 per posting
    tech = scalar(con, "select count(*) / count(distinct project_id) from fact_applications "
                       "where industry = 'Technology'")
    assert tech >= 1.7 * per_posting  # technology draws about twice the average (or more)


def test_projects_pay_and_length(con: duckdb.DuckDBPyConnection) -> None:
    assert 300 <= scalar(con, "select avg(pay_usd) from micro_internships where pay_usd > 0") <= 430
    assert scalar(con, "select min(pay_usd / estimated_hours) from micro_internships "
                       "where platform = 'Parker Dewey'") >= 20
    assert 0.8 <= scalar(con, "select avg(case when estimated_hours between 5 and 40 then 1 else 0 end) "
                              "from micro_internships") <= 1.0
    assert scalar(con, "select avg(case when pay_usd = 0 then 1.0 else 0 end) from micro_internships") < 0.05
    assert scalar(con, "select avg(case when remote then 1.0 else 0 end) from micro_internships") > 0.7


def test_offer_rates(con: duckdb.DuckDBPyConnection) -> None:
    overall = outcome_table(con, "overall").row(0, named=True)
    assert 0.10 <= overall["offer_rate"] <= 0.35  # host-employer offers on completed micro-internships
    assert 0.72 <= overall["acceptance_rate"] <= 0.90  # NACE: 76-85%
    assert 0.80 <= overall["completion_rate"] <= 0.95
    by_pay = {r["group"]: r["offer_rate"] for r in outcome_table(con, "pay_band", min_cell=0).to_dicts()}
    assert by_pay["25+"] > by_pay["15-20"] > by_pay["unpaid"]
    by_channel = {r["group"]: r["selection_rate"] for r in outcome_table(con, "channel").to_dicts()}
    assert by_channel["referral"] > by_channel["platform"]
    by_level = {r["group"]: r["offer_rate"] for r in outcome_table(con, "class_level", min_cell=0).to_dicts()}
    assert by_level["senior"] > by_level["first_year"]


def test_equity_patterns(con: duckdb.DuckDBPyConnection) -> None:
    share_fg = scalar(con, "select avg(case when first_generation then 1.0 else 0 end) from students "
                           "where first_generation is not null")
    assert 0.37 <= share_fg <= 0.45  # ~41% of bachelor's graduates
    participation = dict(con.sql(
        "select s.first_generation, avg(case when a.student_id is not null then 1.0 else 0 end) "
        "from students s left join (select distinct student_id from applications) a using (student_id) "
        "where s.first_generation is not null group by 1").fetchall())
    assert participation[True] < participation[False] - 0.05  # first-generation students take part less
    women = scalar(con, "select avg(case when gender = 'Woman' then 1.0 else 0 end) from students s "
                        "where student_id in (select student_id from applications)")
    assert women > 0.55


def test_skills_rise_after_completed_projects(con: duckdb.DuckDBPyConnection) -> None:
    gain = scalar(con, """
        select avg(post.level - pre.level) from skill_assessments pre
        join skill_assessments post using (student_id, placement_id, skill)
        where pre.phase = 'pre' and post.phase = 'post'""")
    assert 0.4 <= gain <= 1.2
    nace = scalar(con, "select count(distinct skill) from project_skills where skill in ('Communication', "
                       "'Teamwork', 'Critical Thinking', 'Professionalism', 'Leadership', 'Technology', "
                       "'Equity & Inclusion', 'Career & Self-Development')")
    assert nace == 8


def test_some_students_try_several_industries(con: duckdb.DuckDBPyConnection) -> None:
    several = scalar(con, "select count(*) from (select student_id from fact_applications "
                          "where placement_id is not null group by 1 having count(distinct industry) >= 2)")
    assert several >= 20


def test_employers_long_tail(con: duckdb.DuckDBPyConnection) -> None:
    counts = con.sql("select count(*) n from micro_internships group by employer_id").pl()["n"]
    assert counts.max() >= 10 * counts.median()
    assert (counts <= 2).mean() >= 0.3


def test_first_destinations(con: duckdb.DuckDBPyConnection) -> None:
    table = destinations_table(con, min_cell=0).filter(pl.col("cohort").is_in(["2024", "2025", "2026"]))
    assert table.height == 6
    sizes = table["cohort_size"].to_numpy()
    knowledge = (table["knowledge_rate"].to_numpy() * sizes).sum() / sizes.sum()
    assert 0.75 <= knowledge <= 0.92  # good offices reach 75-90%
    rates = {(r["cohort"], r["participated"]): r["career_outcomes_rate"] for r in table.to_dicts()}
    mean_rate = sum(rates.values()) / len(rates)
    assert 0.80 <= mean_rate <= 0.93  # NACE: 86% (class of 2022)
    full_time = scalar(con, "select avg(case when outcome = 'employed_full_time' then 1.0 else 0 end) "
                            "from first_destinations where outcome <> 'no_information'")
    assert 0.50 <= full_time <= 0.68  # NACE: 58-59% full time
    salary = scalar(con, "select avg(salary_usd) from first_destinations where outcome = 'employed_full_time'")
    assert 52000 <= salary <= 72000  # mean starting salary ~$61.9k
