"""The dashboard's analyses on hand-worked cases: Wilson intervals, minimum-n ranking, equity gaps, skills."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.metrics import outcomes as metrics
from etl.metrics.insights import equity_table, participation, ranked_offer_rates, skill_gains, wilson
from etl.metrics.insights import test_drive as drive_table
from etl.metrics.outcomes import Filters


def con_for(db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)


def test_wilson_interval_hand_worked() -> None:
    # 5 of 10: centre 0.5, half-width 1.96 * sqrt(0.025 + 0.009604) / 1.38416 = 0.26341
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    # 2 of 2: centre 1.9604 / 2.9208 = 0.67119, half-width 0.9604 / 2.9208 = 0.32881
    low, high = wilson(2, 2)
    assert (round(low, 4), high) == (0.3424, 1.0)
    assert wilson(0, 20)[0] == 0.0 and round(wilson(0, 20)[1], 4) == 0.1611
    assert wilson(0, 0) == (None, None)


def test_ranking_keeps_small_groups_out_of_the_top(hand_db: Path) -> None:
    # platform: 2 completed, both with offers (PL1, PL2); referral: 2 completed, 1 offer (PL6);
    # direct: 1 completed with an offer (PL5) -- a 1-for-1 that must not rank first.
    ranked = ranked_offer_rates(con_for(hand_db), "channel", min_n=2)
    rows = {r["group"]: r for r in ranked.to_dicts()}
    assert rows["platform"]["rank"] == 1 and rows["referral"]["rank"] == 2
    assert rows["direct"]["rank"] is None and rows["direct"]["offer_rate"] == 1.0
    assert ranked["group"].to_list()[:2] == ["platform", "referral"]
    assert round(rows["referral"]["ci_low"], 4) == round(wilson(1, 2)[0], 4)
    by_conversion = ranked_offer_rates(con_for(hand_db), "channel", min_n=2, rate="conversion_rate")
    assert by_conversion.filter(pl.col("rank") == 1)["group"].item() == "platform"  # PL1 accepted; referral none


@pytest.mark.parametrize("counting", ["bitmaps", "hash sets"])
def test_participation_and_equity_gaps(hand_db: Path, counting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if counting == "hash sets":  # what a student attribute with too many groups for bitmaps gets
        monkeypatch.setattr(metrics, "BITMAP_BUDGET_BYTES", 0)
    people = {r["group"]: r for r in participation(con_for(hand_db), "first_generation").to_dicts()}
    # yes: S1 (completed), S6, S7; no: S2 (completed), S4 (completed after graduating: still completed), S5;
    # unknown: S3 (cancelled only).
    assert (people["yes"]["students"], people["yes"]["applicants"], people["yes"]["participants"]) == (3, 1, 1)
    assert (people["no"]["students"], people["no"]["applicants"], people["no"]["participants"]) == (3, 2, 2)
    assert (people["unknown"]["students"], people["unknown"]["participants"]) == (1, 0)
    table = {r["group"]: r for r in equity_table(con_for(hand_db), "first_generation", min_cell=0).to_dicts()}
    overall = 3 / 7
    assert table["no"]["participation_overall"] == pytest.approx(overall)
    assert table["no"]["participation_gap"] == pytest.approx(2 / 3 - overall)
    low, high = wilson(2, 3)
    assert table["no"]["participation_gap_low"] == pytest.approx(low - overall)
    assert table["no"]["participation_gap_high"] == pytest.approx(high - overall)
    suppressed = equity_table(con_for(hand_db), "first_generation", min_cell=2)
    assert suppressed.filter(pl.col("suppressed"))["group"].to_list() == ["no", "unknown"]  # 1 small + next


def test_skill_gains_pairs_pre_and_post(hand_db: Path) -> None:
    gains = skill_gains(con_for(hand_db), "industry")
    # Only S1's Python on PL1 has both phases: 2 -> 4. S2's Communication has no placement and no post.
    assert gains.select("skill", "group", "pairs", "gain", "improved").to_dicts() == [
        {"skill": "Python", "group": "Technology", "pairs": 1, "gain": 2.0, "improved": 1}]
    assert gains["nace_competency"].to_list() == [False]


def test_test_drive_counts(hand_db: Path) -> None:
    table = drive_table(con_for(hand_db), Filters(), min_cell=0)
    # Completed placements: S1 PL1, PL2 (Technology); S2 PL3, PL6 (Technology); S4 PL5 (Nonprofit).
    assert table.select("industries_tried", "students", "projects", "with_offer").to_dicts() == [
        {"industries_tried": "1", "students": 3, "projects": 5, "with_offer": 3}]
    # S2's destination (Technology) is an industry S2 tried; S4's (Finance) is not; S1 has none.
    assert table.select("destination_in_tried", "with_destination_industry").row(0) == (1, 2)


def test_summaries_by_hand(hand_db: Path) -> None:
    from etl.metrics.insights import skill_summary, test_drive_summary

    assert skill_summary(skill_gains(con_for(hand_db), "overall")) == {"pairs": 1, "gain": 2.0, "improved_share": 1.0}
    assert skill_summary(pl.DataFrame()) == {"pairs": 0, "gain": None, "improved_share": None}
    summary = test_drive_summary(con_for(hand_db), Filters(), min_cell=0)
    assert summary == {"students": 3, "several_industries": 0, "destination_in_tried_share": 0.5}
    # Below the minimum cell size each figure is withheld: 3 students, 0 with several industries, 2 known.
    assert test_drive_summary(con_for(hand_db), Filters(), min_cell=3) == {
        "students": 3, "several_industries": None, "destination_in_tried_share": None}
