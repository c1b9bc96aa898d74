"""Adjusted comparisons (etl/metrics/adjusted.py) against a known truth.

First on completed projects drawn here with a planted effect of a project attribute on the offer, and a student
attribute (class level) that raises both the chance of the attribute and the chance of an offer, so the raw
difference is confounded. Then end to end: sources made by `mio generate`'s planted knobs (a remote project's effect
on the offer, taking part's effect on a positive first destination, both confounded by student attributes), loaded
into a warehouse, and read back through the same functions as the dashboard and `mio report`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from etl.cli import main
from etl.generate import Knobs, generate
from etl.metrics.adjusted import (
    MAX_SMD,
    Z95,
    adjusted_offer_rates,
    effect_on_participants,
    participation_balance,
    participation_effects,
    standardized_rates,
)
from etl.pipeline import load


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


def report_rows(db: Path, *args: str) -> list[dict]:
    """`mio report ARGS --format json` on `db`, read back."""
    result = CliRunner().invoke(main, ["report", *args, "--format", "json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def participation_draw(seed: int, n: int, k: int, strength: float) -> tuple[np.ndarray, ...]:
    """Graduates with k binary attributes that drive taking part (more strongly with `strength`, which pushes some
    propensities past 0.01 and 0.99) and the outcome."""
    rng = np.random.default_rng(seed)
    x = (rng.random((n, k)) < 0.4).astype(float)
    took = rng.random(n) < expit(-0.5 + x @ rng.normal(0, strength / 2, k))
    outcome = (rng.random(n) < expit(-0.3 + 0.4 * took + x @ rng.normal(0, 0.5, k))).astype(float)
    return np.column_stack([np.ones(n), x]), took, outcome


@pytest.mark.parametrize(("seed", "n", "k", "strength", "clips"),
                         [(1, 4000, 4, 1.0, False), (2, 20000, 12, 2.5, True), (3, 3000, 6, 4.0, True)])
def test_the_weighted_difference_is_statsmodels_ipw_on_the_participants(seed: int, n: int, k: int,
                                                                       strength: float, clips: bool) -> None:
    """effect_on_participants against statsmodels' TreatmentEffect.ipw(effect_group=1), which it replaces (its GMM
    searches by Nelder-Mead over every parameter, minutes on a large cohort). Without clipped propensities the
    figures are the same; with them, ours is the exact root of statsmodels' own moment conditions (its search stops
    near it, within 1e-3) and statsmodels' covariance at that root is ours."""
    import statsmodels.api as sm
    from statsmodels.treatment.treatment_effects import TreatmentEffect

    exog, took, outcome = participation_draw(seed, n, k, strength)
    fit = sm.Logit(took.astype(float), exog).fit(disp=0)
    propensity = np.asarray(fit.predict(exog))
    reference = TreatmentEffect(sm.OLS(outcome, np.ones((n, 1))), took.astype(int), results_select=fit).ipw(
        effect_group=1)
    estimate, se = effect_on_participants(outcome, took, exog, propensity)
    low, high = np.asarray(reference.conf_int())[0]
    assert bool(((propensity < 0.01) | (propensity > 0.99)).any()) == clips
    gmm = reference.results_gmm.model
    root = np.concatenate([[estimate, outcome[took].mean() - estimate], fit.params])
    identity = np.eye(len(root))
    assert gmm.gmmobjective(root, identity) < 1e-25
    theirs = reference.results_gmm.calc_cov_params(gmm.momcond(root), gmm.gradient_momcond(root), weights=identity)
    assert se == pytest.approx(float(np.sqrt(theirs[0, 0])), rel=1e-7)
    if not clips:
        assert estimate == pytest.approx(float(np.asarray(reference.effect)[0]), abs=1e-12)
        assert (estimate - Z95 * se, estimate + Z95 * se) == pytest.approx((low, high), abs=1e-9)
    else:
        assert estimate == pytest.approx(float(np.asarray(reference.effect)[0]), abs=1e-3)


def test_mio_report_adjusted(sample: tuple[Path, Path]) -> None:
    import duckdb

    db = sample[1]
    rows = report_rows(db, "--by", "pay_band", "--adjusted")
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
    for wrong in (["--by", "institution", "--adjusted"], ["--by", "first_generation", "--adjusted"]):
        assert CliRunner().invoke(main, ["report", *wrong, "--db", str(db)]).exit_code == 2


REMOTE_EFFECT, PARTICIPATION_EFFECT = 0.08, 0.10  # differences of probabilities that the generator plants


def planted(tmp_path_factory: pytest.TempPathFactory, seed: int, remote: float, participation: float) -> Path:
    """A warehouse loaded from a generated source with planted effects and strong confounding (50,000 students)."""
    folder = tmp_path_factory.mktemp(f"planted{seed}")
    generate(folder / "source", students=50_000, seed=seed,
             knobs=Knobs(planted_remote_offer=remote, planted_participation=participation, planted_confounding=2.0))
    result = load(folder / "source", folder / "warehouse.duckdb")
    assert result.ok, result.reason
    return folder / "warehouse.duckdb"


def remote_gap(con: object) -> dict:
    """Remote less on-site, from the adjusted rates by `remote` (either group may be the reference)."""
    rows = {r["group"]: r for r in adjusted_offer_rates(con, "remote").iter_rows(named=True)}
    remote, onsite = rows["yes"], rows["no"]
    if onsite["reference"]:
        low, high = remote["difference_ci_low"], remote["difference_ci_high"]
    else:
        low, high = -onsite["difference_ci_high"], -onsite["difference_ci_low"]
    return {"low": low, "high": high, "raw": remote["raw_offer_rate"] - onsite["raw_offer_rate"],
            "adjusted": remote["adjusted_offer_rate"] - onsite["adjusted_offer_rate"]}


def largest_cohort(con: object) -> dict:
    """The participation row of the cohort with the most participants (the others are checked for shape only)."""
    effects = participation_effects(con)
    assert effects.filter(pl.col("adjusted_difference").is_not_null()).height >= 2, effects
    return effects.sort("participants", descending=True).row(0, named=True)


def seeds(*numbers: int) -> list:
    """Each a 50,000-student source generated and loaded (9 s): `make test-fast` (the inner loop) checks the first,
    `make test` every one."""
    return [pytest.param(n, marks=[pytest.mark.slow] * (i > 0)) for i, n in enumerate(numbers)]


@pytest.mark.parametrize("seed", seeds(1, 2, 3))
def test_generated_data_planted_effects_are_found_and_the_raw_gaps_miss_them(
        tmp_path_factory: pytest.TempPathFactory, seed: int) -> None:
    import duckdb

    con = duckdb.connect(str(planted(tmp_path_factory, seed, REMOTE_EFFECT, PARTICIPATION_EFFECT)), read_only=True)
    gap = remote_gap(con)
    assert gap["low"] <= REMOTE_EFFECT <= gap["high"], gap
    assert gap["raw"] > gap["high"], gap  # older students land remote projects and offers: the raw gap overstates
    row = largest_cohort(con)
    assert row["ci_low"] <= PARTICIPATION_EFFECT <= row["ci_high"], row
    assert row["raw_difference"] > row["ci_high"], row  # first-generation and Pell students take part less
    assert row["max_abs_smd_after"] < MAX_SMD, row
    balance, propensities = participation_balance(con, participation_effects(con).sort(
        "participants", descending=True)["cohort"][0])
    con.close()
    before = balance.filter(pl.col("attribute") == "first_generation").sort("value")
    assert before["smd_before"].abs().max() > 0.3  # the confounder is visibly unbalanced before weighting
    assert balance["smd_after"].abs().max() == pytest.approx(row["max_abs_smd_after"], abs=1e-4)
    assert not balance["flagged"].any()
    assert propensities["took_part"].sum() == row["participants"]
    assert propensities.height == row["participants"] + row["non_participants"]
    assert propensities["propensity"].is_between(0, 1, closed="none").all()


@pytest.mark.parametrize("seed", seeds(4, 5))
def test_generated_data_without_planted_effects_the_adjusted_intervals_cover_zero(
        tmp_path_factory: pytest.TempPathFactory, seed: int) -> None:
    import duckdb

    con = duckdb.connect(str(planted(tmp_path_factory, seed, 0.0, 0.0)), read_only=True)
    gap = remote_gap(con)
    assert gap["low"] <= 0.0 <= gap["high"], gap
    assert gap["raw"] > gap["high"], gap  # confounding alone makes a raw gap
    row = largest_cohort(con)
    con.close()
    assert row["ci_low"] <= 0.0 <= row["ci_high"], row
    assert row["raw_difference"] > row["ci_high"], row


def test_mio_report_destinations_adjusted(sample: tuple[Path, Path]) -> None:
    import duckdb

    db = sample[1]
    rows = report_rows(db, "--metric", "destinations", "--adjusted")
    keys = ["cohort", "participants", "non_participants", "raw_difference", "adjusted_difference", "ci_low",
            "ci_high", "max_abs_smd_after"]
    assert rows and all(list(row) == keys for row in rows)
    con = duckdb.connect(str(db), read_only=True)
    expected = participation_effects(con, min_cell=10)
    from etl.metrics.outcomes import destinations_table

    table = destinations_table(con, min_cell=10)
    con.close()
    assert rows == expected.to_dicts()
    estimated = [row for row in rows if row["adjusted_difference"] is not None]
    assert estimated, rows
    for row in estimated:
        assert row["ci_low"] <= row["adjusted_difference"] <= row["ci_high"]
        rates = {r["participated"]: r["career_outcomes_rate"]
                 for r in table.filter(pl.col("cohort") == row["cohort"]).iter_rows(named=True)}
        assert row["raw_difference"] == pytest.approx(rates["yes"] - rates["no"], abs=2e-4)
    for row in rows:  # a cohort the destinations table suppresses, or too small, shows nothing
        hidden = table.filter((pl.col("cohort") == row["cohort"]) & pl.col("suppressed")).height > 0
        if hidden or row["participants"] is None:
            assert all(row[key] is None for key in keys[1:]), row
    tight = CliRunner().invoke(main, ["report", "--metric", "destinations", "--adjusted", "--format", "json",
                                      "--min-cell", "100000", "--db", str(db)])
    assert all(all(row[key] is None for key in keys[1:]) for row in json.loads(tight.stdout))
    readable = CliRunner().invoke(main, ["report", "--metric", "destinations", "--adjusted", "--db", str(db)])
    assert readable.exit_code == 0 and "adjusted" in readable.output and "took" in readable.output


def test_balance_shows_standardised_differences_to_two_places_never_minus_zero() -> None:
    """A level whose shares differ by a hair (here 0.5000 against 0.5001) has a standardised difference of 0.00,
    not "-0.00" (the page's table shows two places); the flag reads the same figure."""
    from etl.metrics.adjusted import _balance

    took = np.array([True] * 10_000 + [False] * 10_000)
    level = np.array([1.0] * 5_000 + [0.0] * 5_000 + [1.0] * 5_001 + [0.0] * 4_999)
    wide = np.array([1.0] * 3_000 + [0.0] * 7_000 + [1.0] * 5_000 + [0.0] * 5_000)
    balance = _balance(np.column_stack([level, wide]), [("gender", "Woman"), ("major", "History")], took,
                       np.ones(len(took)))
    assert balance["smd_before"].to_list() == [0.0, -0.42]  # -0.0002 and -0.417
    assert not np.signbit(balance["smd_after"].to_numpy()[0])
    assert balance["flagged"].to_list() == [False, True]
