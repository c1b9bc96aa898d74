"""Adjusted offer rates: the offer rate each group of a project attribute would have with the same mix of students.

Raw offer rates mix the project with the student: seniors, referred students and well-paid projects cluster together.
Here a logistic model of the offer (over completed projects) on the project attribute and on the students' class
level, major, institution, first-generation status and Pell eligibility is fitted with statsmodels, with standard
errors clustered by employer (projects of one employer are not independent). Each group's adjusted rate is the mean
predicted offer probability when every completed project of the population is given that group (marginal
standardisation), so every group is compared on the same mix of students; its 95% interval comes from the model's
clustered covariance by the delta method. The adjusted difference to the reference group (the one with the most
completed projects) is computed the same way.

What this can and cannot do: it removes the differences in the measured student attributes, not in what is not
measured (motivation, a recruiter's network). A group needs MIN_COMPLETED completed projects, and at least one
project with an offer and one without, to get an adjusted figure.

Participants against comparable non-participants (first destinations): within each cohort, over the graduates in
the career outcomes rate's denominator, a logistic model gives each graduate's propensity to take part from the same
student attributes; non-participants are weighted by the odds of that propensity, p / (1 - p), so that together
they have the participants' mix of attributes. The adjusted difference is the participants' career outcomes rate
less the weighted non-participants' (the effect on those who took part), with a 95% interval that counts the
propensity model's own uncertainty: statsmodels' TreatmentEffect.ipw estimate, solved directly
(effect_on_participants). The balance table shows each attribute's
standardised difference before and after weighting (above MAX_SMD it is flagged); the overlap shows the two
groups' propensities. Each group needs MIN_GROUP graduates, and the figure follows the destinations table's
suppression.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from etl.ingest.schema import POSITIVE_OUTCOMES
from etl.metrics.columns import PROJECT_ATTRIBUTES
from etl.metrics.outcomes import Filters, dimension_column, hidden_at
from etl.warehouse import Connection, query

STUDENT_MIX = ("class_level", "major", "institution", "first_generation", "pell_eligible")
MIN_COMPLETED = 30  # completed projects a group needs for an adjusted figure
MIN_GROUP = 30  # graduates each of participants and non-participants needs for an adjusted difference
MAX_SMD = 0.1  # a standardised difference above this after weighting is flagged: the groups are not comparable
RARE_LEVEL = 20  # a student attribute's level with fewer completed projects joins the level "other"
RARE_SIDE = 5  # ... and, in the propensity model, one with fewer participants or non-participants than this
Z95 = 1.959963984540054
ADJUSTED_SCHEMA = {"group": pl.String, "completed": pl.Int64, "raw_offer_rate": pl.Float64,
                   "adjusted_offer_rate": pl.Float64, "adjusted_ci_low": pl.Float64, "adjusted_ci_high": pl.Float64,
                   "reference": pl.Boolean, "adjusted_difference": pl.Float64, "difference_ci_low": pl.Float64,
                   "difference_ci_high": pl.Float64}
EFFECT_SCHEMA = {"cohort": pl.String, "participants": pl.Int64, "non_participants": pl.Int64,
                 "raw_difference": pl.Float64, "adjusted_difference": pl.Float64, "ci_low": pl.Float64,
                 "ci_high": pl.Float64, "max_abs_smd_after": pl.Float64}
BALANCE_SCHEMA = {"attribute": pl.String, "value": pl.String, "participants": pl.Float64,
                  "non_participants": pl.Float64, "weighted_non_participants": pl.Float64, "smd_before": pl.Float64,
                  "smd_after": pl.Float64, "flagged": pl.Boolean}


def completed_projects(con: Connection, dimension: str, filters: Filters = Filters()) -> pl.DataFrame:
    """One row per completed project of the population: its group, whether it led to an attributed offer, its
    employer and its student's attributes."""
    if dimension not in PROJECT_ATTRIBUTES:
        raise ValueError(f"adjusted rates are for a project attribute: one of {', '.join(PROJECT_ATTRIBUTES)}")
    where, params = filters.where()
    return query(con, f"""select {dimension_column(dimension)}::varchar as "group", has_offer::int as offer,
                                 employer_id, {', '.join(f'{c}::varchar as {c}' for c in STUDENT_MIX)}
                          from fact_placements where placement_status = 'completed' and {where}""", params)


def adjusted_offer_rates(con: Connection, dimension: str, filters: Filters = Filters(),
                         min_completed: int = MIN_COMPLETED) -> pl.DataFrame:
    """Each group of `dimension` (a project attribute): its completed projects, its raw offer rate and its adjusted
    one with a 95% interval, and the adjusted difference to the reference group with its interval (fractions,
    4 places; null where the group is too small or not estimable)."""
    return standardized_rates(completed_projects(con, dimension, filters), min_completed)


def _design(frame: pl.DataFrame, columns: tuple[str, ...], baseline: bool = False, split: str | None = None
            ) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Indicator columns for every level of each column but its most common one (the baseline, kept when
    `baseline`), rare levels pooled as "other" (with `split`, a boolean column, also the levels with fewer than
    RARE_SIDE rows on either side of it: a level nobody of one side has would decide the side by itself); with
    each column's (attribute, level)."""
    parts, names = [], []
    for column in columns:
        enough = pl.len() >= RARE_LEVEL
        if split is not None:
            enough = enough & (pl.col(split).sum() >= RARE_SIDE) & ((~pl.col(split)).sum() >= RARE_SIDE)
        counts = frame.group_by(column).agg(pl.len(), enough.alias("enough")).sort(["len", column],
                                                                                  descending=[True, False])
        common = counts.filter(pl.col("enough"))[column].to_list()
        values = frame[column].fill_null("unknown")
        keep = values.is_in([c for c in common if c is not None])
        pooled = pl.select(pl.when(keep).then(values).otherwise(pl.lit("other")).alias("pooled")).to_series()
        levels = sorted(set(pooled.unique().to_list())
                        - (set() if baseline else {common[0] if common else pooled[0]}))
        for level in levels:
            parts.append((pooled == level).to_numpy().astype(float))
            names.append((column, level))
    return (np.column_stack(parts) if parts else np.empty((frame.height, 0))), names


def standardized_rates(frame: pl.DataFrame, min_completed: int = MIN_COMPLETED,
                       mix: tuple[str, ...] = STUDENT_MIX) -> pl.DataFrame:
    """The estimate itself, on completed projects (`group`, `offer` 0/1, `employer_id` and the `mix` columns)."""
    import statsmodels.api as sm

    sizes = frame.group_by("group").agg(pl.len().alias("completed"), pl.col("offer").mean().alias("raw"),
                                        pl.col("offer").sum().alias("offers"))
    sizes = sizes.sort(["completed", "group"], descending=[True, False])
    estimable = sizes.filter((pl.col("completed") >= min_completed) & (pl.col("offers") > 0)
                             & (pl.col("offers") < pl.col("completed")))["group"].to_list()
    result: dict[object, dict[str, object]] = {g: {} for g in sizes["group"].to_list()}
    if len(estimable) >= 2:
        data = frame.filter(pl.col("group").is_in(estimable))
        reference = estimable[0]
        others = estimable[1:]
        groups = data["group"].to_list()
        attribute = np.column_stack([np.array([g == level for g in groups], dtype=float) for level in others])
        students, _ = _design(data, mix)
        base = np.column_stack([np.ones(data.height), attribute, students])
        clusters = data["employer_id"].cast(pl.Categorical).to_physical().to_numpy()
        fit = sm.GLM(data["offer"].to_numpy().astype(float), base, family=sm.families.Binomial()).fit(
            cov_type="cluster", cov_kwds={"groups": clusters})
        beta, covariance = np.asarray(fit.params), np.asarray(fit.cov_params())
        rates, gradients = {}, {}
        for level in estimable:
            design = base.copy()
            design[:, 1:1 + len(others)] = 0.0
            if level != reference:
                design[:, 1 + others.index(level)] = 1.0
            p = 1.0 / (1.0 + np.exp(-(design @ beta)))
            rates[level] = float(p.mean())
            gradients[level] = (p * (1.0 - p)) @ design / data.height
        for level in estimable:
            se = float(np.sqrt(gradients[level] @ covariance @ gradients[level]))
            gap = gradients[level] - gradients[reference]
            gap_se = float(np.sqrt(max(gap @ covariance @ gap, 0.0)))
            difference = rates[level] - rates[reference]
            result[level] = {
                "adjusted_offer_rate": rates[level], "adjusted_ci_low": max(0.0, rates[level] - Z95 * se),
                "adjusted_ci_high": min(1.0, rates[level] + Z95 * se), "reference": level == reference,
                "adjusted_difference": difference, "difference_ci_low": difference - Z95 * gap_se,
                "difference_ci_high": difference + Z95 * gap_se}
    rows = [{"group": row["group"], "completed": row["completed"], "raw_offer_rate": row["raw"],
             "reference": False, **result[row["group"]]} for row in sizes.iter_rows(named=True)]
    out = pl.DataFrame(rows, schema=ADJUSTED_SCHEMA)
    return out.with_columns(pl.col(pl.Float64).round(4)).sort("group")


def career_population(con: Connection, filters: Filters = Filters()) -> pl.DataFrame:
    """The graduates in the career outcomes rate's denominator (a known outcome other than not seeking): their
    cohort, whether they took part, whether the outcome is positive (0/1) and their attributes."""
    where, params = filters.where("student_destinations")
    positive = ", ".join(f"'{o}'" for o in POSITIVE_OUTCOMES)
    return query(con, f"""select cohort::varchar as cohort, participated = 'yes' as took_part,
                                 (outcome in ({positive}))::int as positive,
                                 {', '.join(f'{c}::varchar as {c}' for c in STUDENT_MIX)}
                          from (select d.*, g.first_generation, g.pell_eligible
                                from student_destinations d join student_groups g using (student_id))
                          where outcome is not null and outcome not in ('no_information', 'not_seeking')
                            and {where}
                          order by cohort, student_id""", params)


def _balance(covariates: np.ndarray, names: list[tuple[str, str]], took: np.ndarray,
             weights: np.ndarray) -> pl.DataFrame:
    """Each attribute level's share among participants and non-participants, before and after weighting, and the
    standardised differences to two places (the pooled standard deviation before weighting as the scale, both times;
    none for a level that everyone or no one has)."""
    treated, control = covariates[took], covariates[~took]
    w = weights[~took]
    m1, m0 = treated.mean(axis=0), control.mean(axis=0)
    m0w = (w[:, None] * control).sum(axis=0) / w.sum()
    scale = np.sqrt((treated.var(axis=0) + control.var(axis=0)) / 2)
    scale = np.where(scale > 0, scale, np.nan)
    # Two places, as standardised differences are read and shown (a tiny negative one is 0.00, not "-0.00"); the
    # flag and the largest difference left read the same figures.
    before, after = np.round((m1 - m0) / scale, 2) + 0.0, np.round((m1 - m0w) / scale, 2) + 0.0
    return pl.DataFrame({
        "attribute": [a for a, _ in names], "value": [v for _, v in names], "participants": m1,
        "non_participants": m0, "weighted_non_participants": m0w, "smd_before": before, "smd_after": after,
        "flagged": np.abs(np.nan_to_num(after)) > MAX_SMD}, schema=BALANCE_SCHEMA).fill_nan(None)  # one level: none


def effect_on_participants(outcome: np.ndarray, took: np.ndarray, exog: np.ndarray, propensity: np.ndarray
                           ) -> tuple[float, float]:
    """The weighted difference for those who took part and its standard error, as statsmodels'
    `TreatmentEffect.ipw(effect_group=1)` defines them, computed directly.

    The estimate solves the exactly identified moment conditions that statsmodels stacks: the weighted outcome
    regression on (took part, 1), with weight 1 for a participant and the odds p / (1 - p) of the propensity
    (clipped to [0.01, 0.99]) for a non-participant, and the propensity logit's score. Its covariance is the
    sandwich G⁻¹ Ω G⁻ᵀ / n, with G the moments' Jacobian (here analytic) and Ω their second moments: what
    statsmodels' GMM gives, without its Nelder-Mead search from the solution over every parameter of the logit
    (minutes at a cohort of a hundred thousand graduates; tests/test_adjusted.py checks the two agree)."""
    n = len(outcome)
    t = took.astype(float)
    clipped = np.clip(propensity, 0.01, 0.99)
    odds = clipped / (1.0 - clipped)
    weight = np.where(took, 1.0, odds)
    control = ~took
    untreated_mean = float((odds[control] * outcome[control]).sum() / odds[control].sum())
    estimate = float(outcome[took].mean()) - untreated_mean
    residual = outcome - estimate * t - untreated_mean
    a, b, score = weight * residual * t, weight * residual, t - propensity  # moments: a, b and score · x
    k = exog.shape[1]
    jacobian = np.zeros((k + 2, k + 2))
    jacobian[0, 0] = jacobian[0, 1] = jacobian[1, 0] = -t.sum() / n
    jacobian[1, 1] = -weight.sum() / n
    inside = (propensity > 0.01) & (propensity < 0.99)  # a clipped propensity does not move with the logit
    jacobian[1, 2:] = (residual * odds * (1.0 - t) * inside) @ exog / n
    jacobian[2:, 2:] = -(exog * (propensity * (1.0 - propensity))[:, None]).T @ exog / n
    omega = np.empty((k + 2, k + 2))
    omega[0, 0], omega[0, 1], omega[1, 1] = a @ a / n, a @ b / n, b @ b / n
    omega[1, 0] = omega[0, 1]
    omega[0, 2:] = omega[2:, 0] = (a * score) @ exog / n
    omega[1, 2:] = omega[2:, 1] = (b * score) @ exog / n
    omega[2:, 2:] = (exog * (score * score)[:, None]).T @ exog / n
    inverse = np.linalg.inv(jacobian)
    variance = (inverse @ omega @ inverse.T)[0, 0] / n
    return estimate, float(np.sqrt(max(variance, 0.0)))


def weighted_comparison(frame: pl.DataFrame, min_group: int = MIN_GROUP, mix: tuple[str, ...] = STUDENT_MIX
                        ) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """One cohort's graduates (`took_part`, `positive` and the `mix` columns): the row of participation_effects,
    the balance table and each graduate's propensity (`took_part`, `propensity`). Figures stay null when a group
    is under `min_group` or the model cannot be fitted (a group all positive or all not, or an attribute that
    decides who took part)."""
    import statsmodels.api as sm

    took = frame["took_part"].to_numpy().astype(bool)
    positive = frame["positive"].to_numpy().astype(float)
    participants, non_participants = int(took.sum()), int((~took).sum())
    row: dict[str, float | None] = {"participants": participants, "non_participants": non_participants,
                                    "raw_difference": None,
           "adjusted_difference": None, "ci_low": None, "ci_high": None, "max_abs_smd_after": None}
    empty = (pl.DataFrame(schema=BALANCE_SCHEMA), pl.DataFrame(schema={"took_part": pl.Boolean,
                                                                       "propensity": pl.Float64}))
    if min(participants, non_participants) < max(min_group, 1):
        return row, *empty
    row["raw_difference"] = float(positive[took].mean() - positive[~took].mean())
    design, _ = _design(frame, mix, split="took_part")
    exog = np.column_stack([np.ones(frame.height), design])
    exog = exog[:, np.concatenate([[True], exog[:, 1:].std(axis=0) > 0])]
    try:
        with warnings.catch_warnings():  # a model that does not converge is caught below, not printed
            warnings.simplefilter("ignore")
            propensity_fit = sm.Logit(took.astype(float), exog).fit(disp=0, maxiter=200)
    except (np.linalg.LinAlgError, ValueError, sm.tools.sm_exceptions.PerfectSeparationError):
        return row, *empty
    if not propensity_fit.mle_retvals.get("converged", False):  # an attribute all but decides who took part
        return row, *empty
    propensity = np.asarray(propensity_fit.predict(exog))
    if not np.all(np.isfinite(propensity)) or propensity.max() >= 1.0 - 1e-9:
        return row, *empty
    try:
        estimate, se = effect_on_participants(positive, took, exog, propensity)
    except np.linalg.LinAlgError:
        return row, *empty
    low, high = estimate - Z95 * se, estimate + Z95 * se
    covariates, names = _design(frame, mix, baseline=True, split="took_part")
    balance = _balance(covariates, names, took, np.where(took, 1.0, propensity / (1.0 - propensity)))
    row.update(adjusted_difference=estimate, ci_low=low, ci_high=high,
               max_abs_smd_after=float(np.nanmax(np.abs(balance["smd_after"].to_numpy()))) if balance.height else 0.0)
    return row, balance, pl.DataFrame({"took_part": took, "propensity": propensity})


def participation_effects(con: Connection, filters: Filters = Filters(),
                          min_cell: int = 0, min_group: int = MIN_GROUP) -> pl.DataFrame:
    """One row per cohort: participants and non-participants in the career outcomes rate's denominator, the raw
    difference in that rate, the difference after weighting non-participants by their propensity to take part
    with its 95% interval, and the largest standardised difference left (fractions, 4 places). A cohort whose
    destinations rows are suppressed at `min_cell` (docs/data-contract.md §7), or with fewer than `min_cell`
    participants or non-participants here, shows no figure at all."""
    from etl.metrics.outcomes import destinations_table

    hidden = set(destinations_table(con, filters, min_cell=min_cell).filter(pl.col("suppressed"))["cohort"])
    rows = []
    for (cohort,), part in career_population(con, filters).partition_by("cohort", as_dict=True,
                                                                        maintain_order=True).items():
        row, _, _ = weighted_comparison(part, min_group)
        if cohort in hidden or hidden_at(min(row["participants"], row["non_participants"]), min_cell):
            row = {key: None for key in row}
        rows.append({"cohort": cohort, **row})
    frame = pl.DataFrame(rows, schema=EFFECT_SCHEMA)
    return frame.with_columns(pl.col(pl.Float64).round(4)).sort("cohort")


OVERLAP_BINS = 20  # the overlap chart's bars: propensities in twentieths


def overlap_bins(propensity: pl.Series, bins: int = OVERLAP_BINS) -> list[int]:
    """How many graduates' propensities fall in each of `bins` equal intervals of [0, 1] (the last one closed): the
    overlap chart's bars, counted here so that the chart carries a bar per interval, not a point per graduate."""
    index = (propensity * bins).floor().cast(pl.Int64).clip(0, bins - 1).alias("bin")
    counts = index.value_counts()
    found = dict(zip(counts["bin"].to_list(), counts["count"].to_list(), strict=True))
    return [int(found.get(b, 0)) for b in range(bins)]


def participation_balance(con: Connection, cohort: str, filters: Filters = Filters(),
                          min_group: int = MIN_GROUP) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One cohort's balance table and propensities (empty when no adjusted figure can be given)."""
    population = career_population(con, filters).filter(pl.col("cohort") == cohort)
    _, balance, propensities = weighted_comparison(population, min_group)
    return balance, propensities


def with_adjusted_rates(con: Connection, frame: pl.DataFrame, dimension: str) -> pl.DataFrame:
    """An outcome table by a project attribute (outcomes.outcome_table) with each group's adjusted offer rate and
    interval beside it, null where the row is suppressed or the group too small to estimate (`mio report
    --adjusted`)."""
    columns = ["adjusted_offer_rate", "adjusted_ci_low", "adjusted_ci_high"]
    found = adjusted_offer_rates(con, dimension).select("group", *columns)
    joined = frame.join(found, on="group", how="left")
    return joined.with_columns([pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
                                for c in columns]).select(*frame.columns, *columns)
