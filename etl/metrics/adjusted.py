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
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from etl.metrics.outcomes import Filters, dimension_column
from etl.warehouse import query

STUDENT_MIX = ("class_level", "major", "institution", "first_generation", "pell_eligible")
PROJECT_ATTRIBUTES = ("industry", "function", "pay_band", "hours_band", "remote", "platform", "channel")
MIN_COMPLETED = 30  # completed projects a group needs for an adjusted figure
RARE_LEVEL = 20  # a student attribute's level with fewer completed projects joins the level "other"
Z95 = 1.959963984540054
ADJUSTED_SCHEMA = {"group": pl.String, "completed": pl.Int64, "raw_offer_rate": pl.Float64,
                   "adjusted_offer_rate": pl.Float64, "adjusted_ci_low": pl.Float64, "adjusted_ci_high": pl.Float64,
                   "reference": pl.Boolean, "adjusted_difference": pl.Float64, "difference_ci_low": pl.Float64,
                   "difference_ci_high": pl.Float64}


def completed_projects(con: duckdb.DuckDBPyConnection, dimension: str, filters: Filters = Filters()) -> pl.DataFrame:
    """One row per completed project of the population: its group, whether it led to an attributed offer, its
    employer and its student's attributes."""
    if dimension not in PROJECT_ATTRIBUTES:
        raise ValueError(f"adjusted rates are for a project attribute: one of {', '.join(PROJECT_ATTRIBUTES)}")
    where, params = filters.where()
    return query(con, f"""select {dimension_column(dimension)}::varchar as "group", has_offer::int as offer,
                                 employer_id, {', '.join(f'{c}::varchar as {c}' for c in STUDENT_MIX)}
                          from fact_placements where placement_status = 'completed' and {where}""", params)


def adjusted_offer_rates(con: duckdb.DuckDBPyConnection, dimension: str, filters: Filters = Filters(),
                         min_completed: int = MIN_COMPLETED) -> pl.DataFrame:
    """Each group of `dimension` (a project attribute): its completed projects, its raw offer rate and its adjusted
    one with a 95% interval, and the adjusted difference to the reference group with its interval (fractions,
    4 places; null where the group is too small or not estimable)."""
    return standardized_rates(completed_projects(con, dimension, filters), min_completed)


def _design(frame: pl.DataFrame, columns: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Indicator columns for every level of each column but its most common one (the baseline), rare levels
    pooled as "other"."""
    parts, names = [], []
    for column in columns:
        counts = frame.group_by(column).len().sort(["len", column], descending=[True, False])
        common = counts.filter(pl.col("len") >= RARE_LEVEL)[column].to_list()
        values = frame[column].fill_null("unknown").to_list()
        pooled = [v if v in common else "other" for v in values]
        levels = sorted(set(pooled) - {common[0] if common else pooled[0]})
        for level in levels:
            parts.append(np.array([v == level for v in pooled], dtype=float))
            names.append(f"{column}={level}")
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
    result = {g: {} for g in sizes["group"].to_list()}
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
