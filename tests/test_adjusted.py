"""Adjusted offer rates (etl/metrics/adjusted.py) against a known truth: completed projects drawn with a planted
effect of a project attribute on the offer, and a student attribute (class level) that raises both the chance of
the attribute and the chance of an offer, so the raw difference is confounded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from etl.cli import main
from etl.metrics.adjusted import adjusted_offer_rates, standardized_rates


def expit(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


def confounded(seed: int, effect: float, n: int = 6000) -> tuple[pl.DataFrame, float]:
    """Completed projects where seniors take paid projects more often (70% against 30%) and get offers more often
    (+1.2 on the log-odds); a paid project adds `effect` to the log-odds. Returns the projects and the true
    difference in offer rate, paid less unpaid, over this mix of students."""
    rng = np.random.default_rng(seed)
    senior = rng.random(n) < 0.5
    paid = rng.random(n) < np.where(senior, 0.7, 0.3)
    offer = rng.random(n) < expit(-1.6 + 1.2 * senior + effect * paid)
    truth = float(np.mean(expit(-1.6 + 1.2 * senior + effect) - expit(-1.6 + 1.2 * senior)))
    frame = pl.DataFrame({"group": np.where(paid, "paid", "unpaid"), "offer": offer.astype(int),
                          "employer_id": [f"E{e}" for e in rng.integers(0, 300, n)],
                          "class_level": np.where(senior, "senior", "junior")})
    return frame, truth


def difference(frame: pl.DataFrame) -> dict:
    """Paid less unpaid: the adjusted difference with its interval (whichever group is the reference: the larger),
    and the raw difference."""
    estimate = {r["group"]: r for r in standardized_rates(frame, mix=("class_level",)).iter_rows(named=True)}
    paid, unpaid = estimate["paid"], estimate["unpaid"]
    if unpaid["reference"]:
        low, high = paid["difference_ci_low"], paid["difference_ci_high"]
    else:  # paid is the reference: unpaid less paid, turned round
        low, high = -unpaid["difference_ci_high"], -unpaid["difference_ci_low"]
    return {"low": low, "high": high, "raw": paid["raw_offer_rate"] - unpaid["raw_offer_rate"],
            "adjusted": paid["adjusted_offer_rate"] - unpaid["adjusted_offer_rate"]}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_adjusted_difference_finds_a_planted_effect_the_raw_one_overstates(seed: int) -> None:
    frame, truth = confounded(seed, effect=0.4)
    found = difference(frame)
    assert found["low"] <= truth <= found["high"], (truth, found)
    assert not found["low"] <= found["raw"] <= found["high"], found  # the raw difference is off
    assert found["raw"] > truth
    assert found["adjusted"] == pytest.approx(truth, abs=0.03)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_with_no_planted_effect_the_adjusted_interval_covers_zero(seed: int) -> None:
    frame, truth = confounded(seed, effect=0.0)
    assert truth == 0.0
    found = difference(frame)
    assert found["low"] <= 0.0 <= found["high"], found
    assert found["raw"] > 0.05  # confounding alone makes a raw gap


def test_small_or_one_sided_groups_get_no_adjusted_figure() -> None:
    frame, _ = confounded(7, effect=0.4, n=2000)
    small = pl.DataFrame({"group": ["tiny"] * 12, "offer": [0, 1] * 6, "employer_id": ["E1"] * 12,
                          "class_level": ["senior"] * 12})
    none = pl.DataFrame({"group": ["never"] * 40, "offer": [0] * 40, "employer_id": ["E2"] * 40,
                         "class_level": ["junior"] * 40})
    estimate = standardized_rates(pl.concat([frame, small, none]), mix=("class_level",))
    for group in ("tiny", "never"):
        row = estimate.filter(pl.col("group") == group).row(0, named=True)
        assert row["adjusted_offer_rate"] is None and row["raw_offer_rate"] is not None, row
    assert estimate.filter(pl.col("group") == "paid")["adjusted_offer_rate"][0] is not None


def test_mio_report_adjusted(sample: tuple[Path, Path]) -> None:
    import duckdb

    db = sample[1]
    result = CliRunner().invoke(main, ["report", "--by", "pay_band", "--adjusted", "--format", "json",
                                       "--db", str(db)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    con = duckdb.connect(str(db), read_only=True)
    expected = {r["group"]: r for r in adjusted_offer_rates(con, "pay_band").iter_rows(named=True)}
    con.close()
    assert rows and all({"adjusted_offer_rate", "adjusted_ci_low", "adjusted_ci_high"} <= set(r) for r in rows)
    shown = 0
    for row in rows:
        if row["suppressed"]:
            assert row["adjusted_offer_rate"] is None
            continue
        want = expected[row["group"]]
        assert row["adjusted_offer_rate"] == want["adjusted_offer_rate"]
        assert (row["adjusted_ci_low"], row["adjusted_ci_high"]) == (want["adjusted_ci_low"], want["adjusted_ci_high"])
        if row["adjusted_offer_rate"] is not None:
            shown += 1
            assert row["adjusted_ci_low"] <= row["adjusted_offer_rate"] <= row["adjusted_ci_high"]
    assert shown >= 2
    for wrong in (["--by", "institution", "--adjusted"], ["--metric", "destinations", "--adjusted"]):
        assert CliRunner().invoke(main, ["report", *wrong, "--db", str(db)]).exit_code == 2
