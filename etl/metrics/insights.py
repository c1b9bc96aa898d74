"""The director's analyses beyond the contract's tables: intervals, rankings, equity gaps, skills and test-drives.
Like `etl.metrics.outcomes`, each figure is SQL over the warehouse returning a small frame; the pages only draw
them.
"""

from __future__ import annotations

import dataclasses
import math
from typing import cast

import polars as pl

from etl.ingest.schema import NACE
from etl.metrics.columns import EQUITY_DIMENSIONS, STUDENT_DIMENSIONS  # noqa: F401 - the equity page reads them here
from etl.metrics.disclosure import disclose, public_k
from etl.metrics.outcomes import (
    DEFAULT_MIN_CELL,
    Filters,
    blank_suppressed,
    dimension_column,
    distinct_count,
    fact_sizes,
    hidden_at,
    metric_sql,
    outcome_counts,
    suppress,
    suppressed_counts,
)
from etl.warehouse import Connection, query

Z95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval of a proportion (95% by default); (None, None) without trials."""
    if not trials:
        return None, None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def with_wilson(frame: pl.DataFrame, successes: str, trials: str, prefix: str) -> pl.DataFrame:
    """Add `{prefix}_low` and `{prefix}_high` columns: the 95% Wilson interval of successes / trials."""
    bounds = [wilson(int(s or 0), int(n or 0)) for s, n in zip(frame[successes], frame[trials], strict=True)]
    return frame.with_columns(
        pl.Series(f"{prefix}_low", [b[0] for b in bounds], dtype=pl.Float64),
        pl.Series(f"{prefix}_high", [b[1] for b in bounds], dtype=pl.Float64),
    )


def ranked_offer_rates(con: Connection, dimension: str, filters: Filters = Filters(),
                       min_n: int = 10, rate: str = "offer_rate") -> pl.DataFrame:
    """Groups ranked by offer (or conversion) rate with 95% Wilson intervals.

    Only groups with at least `min_n` completed placements get a rank (`rank` is null for the others), so a
    project that went 2 for 2 never tops the list; ties are broken by the lower bound, then by size.
    """
    counts = outcome_counts(con, dimension, filters)
    successes = "offers" if rate == "offer_rate" else "converted"
    frame = with_wilson(counts, successes, "completed", "ci")
    eligible = frame.filter(pl.col("completed") >= min_n).sort(
        [rate, "ci_low", "completed"], descending=True, nulls_last=True
    ).with_row_index("rank", offset=1)
    small = frame.filter(pl.col("completed") < min_n).with_columns(pl.lit(None, dtype=pl.UInt32).alias("rank"))
    return pl.concat([eligible, small.select(eligible.columns)])


def participation(con: Connection, dimension: str, filters: Filters = Filters()) -> pl.DataFrame:
    """Students per group of a student attribute, how many applied, were selected and completed a project."""
    if dimension not in STUDENT_DIMENSIONS:
        raise ValueError(f"unknown student dimension {dimension!r}")
    where, params = filters.where()
    student_where, student_params = filters.where("student_destinations")
    sizes = fact_sizes(con)
    students, groups = sizes["students"], sizes[dimension]
    sql = metric_sql("participation.sql").format(
        dimension=dimension, where=where, student_where=student_where,
        applicants=distinct_count("student_key", students, groups),
        selected=distinct_count("student_key", students, groups, "status = 'selected'"),
        participants=distinct_count("student_key", students, groups, "placement_status = 'completed'"))
    frame = query(con, sql, student_params + params * 2).with_columns(
        pl.col("group").cast(pl.String),
        pl.col("students", "applicants", "selected_students", "participants").cast(pl.Int64),
    )
    return frame.with_columns(
        (pl.col("applicants") / pl.col("students")).round(4).alias("application_rate"),
        (pl.col("participants") / pl.col("students")).round(4).alias("participation_rate"),
    ).sort("group")


def equity_table(con: Connection, dimension: str, filters: Filters = Filters(),
                 min_cell: int = DEFAULT_MIN_CELL) -> pl.DataFrame:
    """Participation, selection, completion and offer rates per group, with each one's gap to the overall rate.

    The gap's interval is the group's 95% Wilson interval less the overall rate (the overall rate rests on the
    whole population and is taken as fixed). Groups below `min_cell` (with complementary suppression) are blanked.
    """
    people = participation(con, dimension, filters)
    outcomes = outcome_counts(con, dimension, filters)
    frame = people.join(outcomes.select("group", "selected", "not_withdrawn", "completed", "closed", "offers",
                                        "offer_holders"),
                        on="group", how="left").with_columns(pl.exclude("group").fill_null(0))
    totals = frame.select(pl.exclude("group").sum()).row(0, named=True)
    pieces = {
        "participation": ("participants", "students"),
        "selection": ("selected", "not_withdrawn"),
        "completion": ("completed", "closed"),
        "offer": ("offers", "completed"),
    }
    for name, (num, den) in pieces.items():
        overall = totals[num] / totals[den] if totals[den] else None
        frame = with_wilson(frame, num, den, f"{name}_ci").with_columns(
            pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).alias(f"{name}_rate"))
        frame = frame.with_columns(
            (pl.col(f"{name}_rate") - overall).alias(f"{name}_gap") if overall is not None
            else pl.lit(None, dtype=pl.Float64).alias(f"{name}_gap"),
            (pl.col(f"{name}_ci_low") - (overall or 0)).alias(f"{name}_gap_low"),
            (pl.col(f"{name}_ci_high") - (overall or 0)).alias(f"{name}_gap_high"),
            pl.lit(overall, dtype=pl.Float64).alias(f"{name}_overall"),
        )
    overall_columns = tuple(c for c in frame.columns if c.endswith("_overall"))
    flags = suppress(frame, "students", "group", min_cell)
    frame = blank_suppressed(frame, flags, ("group", *overall_columns))
    # A stage's rate rests on its own denominator, not on the group's students: an offer rate over 2 completed
    # projects is blanked even in a group of 500 students (shared reports included).
    return frame.with_columns(
        pl.when(~hidden_at(pl.col(den), min_cell)).then(pl.col(column)).alias(column)
        for name, (num, den) in pieces.items()
        for column in (num, f"{name}_rate", f"{name}_gap", f"{name}_gap_low", f"{name}_gap_high", f"{name}_ci_low",
                       f"{name}_ci_high")
    ).sort("group")


def employer_engagement(con: Connection, filters: Filters = Filters()) -> dict[str, int]:
    """How many employers the population holds, how many have a completed project, and how many posted two or
    more projects (counts of employers, not of students)."""
    counts = outcome_counts(con, "employer", filters)
    return {"employers": counts.height, "with_completed": counts.filter(pl.col("completed") > 0).height,
            "repeat": counts.filter(pl.col("projects") >= 2).height}


RANKED_BY = ("projects", "applicants", "completed", "conversion_rate")


def ranked_employers(con: Connection, filters: Filters = Filters(), order: str = "projects",
                     min_n: int = 10, min_cell: int = DEFAULT_MIN_CELL) -> pl.DataFrame:
    """Employers ranked by engagement or conversion, with 95% Wilson intervals of the conversion rate; ranked by
    conversion only among employers with at least `min_n` completed projects; suppressed below `min_cell`."""
    if order not in RANKED_BY:
        raise ValueError(f"rank by one of {', '.join(RANKED_BY)}")
    counts = with_wilson(outcome_counts(con, "employer", filters), "converted", "completed", "ci")
    if order == "conversion_rate":
        counts = counts.filter(pl.col("completed") >= min_n)
    flags = suppress(counts, "denominator", "group", min_cell)
    return blank_suppressed(counts, flags, ("group",)).sort([order, "completed"], descending=True, nulls_last=True)


def skill_gains(con: Connection, dimension: str = "overall", filters: Filters = Filters()
                ) -> pl.DataFrame:
    """Average self-rated gain (post − pre) per skill and group, and whether the skill is a NACE competency."""
    where, params = filters.where()
    sql = metric_sql("skill_gains.sql").format(dimension=dimension_column(dimension), where=where)
    frame = query(con, sql, params)
    if frame.is_empty():
        return frame
    return frame.with_columns(
        pl.col("group").cast(pl.String),
        pl.col("pairs", "improved").cast(pl.Int64),
        pl.col("skill").is_in(list(NACE)).alias("nace_competency"),
        (pl.col("improved") / pl.col("pairs")).alias("improved_share"),
    ).sort("skill", "group")


def skill_summary(gains: pl.DataFrame) -> dict[str, float | int | None]:
    """Across all skills of a `skill_gains` frame: assessed pairs, average gain per pair, share that improved."""
    pairs = int(gains["pairs"].sum()) if not gains.is_empty() else 0
    if not pairs:
        return {"pairs": 0, "gain": None, "improved_share": None}
    return {"pairs": pairs, "gain": float((gains["gain"] * gains["pairs"]).sum() / pairs),
            "improved_share": float(gains["improved"].sum() / pairs)}


def test_drive_summary(con: Connection, filters: Filters = Filters(), min_cell: int = DEFAULT_MIN_CELL
                       ) -> dict[str, float | int | None]:
    """Students with completed projects, those who tried two or more industries, and the share whose first
    destination lies in an industry they tried (among those whose destination names one); a figure resting on
    fewer than `min_cell` students is None."""
    table = test_drive(con, filters, min_cell=0)
    if table.is_empty():
        return {"students": None, "several_industries": None, "destination_in_tried_share": None}
    known = int(table["with_destination_industry"].sum())
    students = int(table["students"].sum())
    several = int(table.filter(pl.col("industries_tried") != "1")["students"].sum())
    return {
        "students": None if hidden_at(students, min_cell) else students,
        "several_industries": None if hidden_at(several, min_cell) else several,
        "destination_in_tried_share": None if hidden_at(known, min_cell)
        else float(table["destination_in_tried"].sum()) / known,
    }


def skills_that_lead_to_offers(con: Connection, filters: Filters = Filters(), min_n: int = 10
                               ) -> pl.DataFrame:
    """Skills listed on projects, ranked by the offer rate of those projects' completed placements."""
    where, params = filters.where()
    sql = metric_sql("skill_offers.sql").format(where=where)
    frame = query(con, sql, params)
    if frame.is_empty():
        return frame
    frame = frame.with_columns(pl.col("completed", "offers", "converted").cast(pl.Int64)).with_columns(
        (pl.col("offers") / pl.col("completed")).alias("offer_rate"),
        pl.col("skill").is_in(list(NACE)).alias("nace_competency"),
    )
    frame = with_wilson(frame, "offers", "completed", "ci")
    eligible = frame.filter(pl.col("completed") >= min_n).sort(["offer_rate", "ci_low"], descending=True)
    return eligible.with_row_index("rank", offset=1)


def _with_paths(name: str, filters: Filters) -> tuple[str, list[object]]:
    """A query over offer_paths.sql (one row per student with completed projects: the first-offer rule, once)."""
    where, params = filters.where()
    return metric_sql(name).format(paths=metric_sql("offer_paths.sql").format(where=where)), params


def test_drive(con: Connection, filters: Filters = Filters(),
        min_cell: int = DEFAULT_MIN_CELL) -> pl.DataFrame:
    """Students with completed projects, by the number of industries they tried; a row resting on fewer than
    `min_cell` students is suppressed (with complementary suppression)."""
    frame = query(con, *_with_paths("test_drive.sql", filters))
    if frame.is_empty():
        return frame
    counts = ["students", "projects", "with_offer", "destination_in_tried", "with_destination_industry"]
    frame = frame.with_columns(pl.col(counts).cast(pl.Int64)).with_columns(
        (pl.col("with_offer") / pl.col("students")).alias("offer_share"),
        pl.when(pl.col("with_destination_industry") > 0)
        .then(pl.col("destination_in_tried") / pl.col("with_destination_industry")).alias("destination_in_tried_share"),
    ).sort("industries_tried")
    flags = suppress(frame, "students", "industries_tried", min_cell)
    return blank_suppressed(frame, flags, ("industries_tried",))


def projects_to_offer(con: Connection, filters: Filters = Filters()) -> pl.DataFrame:
    frame = query(con, *_with_paths("projects_to_offer.sql", filters))
    return frame.with_columns(pl.col("projects_to_offer", "students").cast(pl.Int64)).sort("projects_to_offer")


def outcome_mix(con: Connection, filters: Filters = Filters(),
        min_cell: int = DEFAULT_MIN_CELL) -> pl.DataFrame:
    """Each cohort and participation group's first destinations: students and share per outcome ('no record' for
    students without a first-destination row). A group smaller than `min_cell` is suppressed whole, with
    complementary suppression within its cohort, as in the destinations table."""
    where, params = filters.where("student_destinations")
    frame = query(con, metric_sql("outcome_mix.sql").format(where=where), params)
    frame = frame.with_columns(pl.col("students").cast(pl.Int64))
    sizes = frame.group_by("cohort", "participated").agg(pl.col("students").sum().alias("group_size"))
    flags = suppress(sizes.sort("cohort", "participated"), "group_size", "participated", min_cell, within=["cohort"])
    sizes = sizes.sort("cohort", "participated").with_columns(flags)
    frame = frame.join(sizes, on=["cohort", "participated"]).with_columns(
        (pl.col("students") / pl.col("group_size")).alias("share"))
    return blank_suppressed(frame, frame["suppressed"], ("cohort", "participated", "outcome")).sort(
        "cohort", "participated", "outcome")


BEHIND_COLUMNS = ("applications", "completed", "offers", "offer_rate", "converted", "conversion_rate")


def projects_behind(con: Connection, dimension: str, group: str, filters: Filters = Filters(),
                    min_cell: int = DEFAULT_MIN_CELL, also: tuple[str, str] | None = None) -> pl.DataFrame:
    """Drill-down: the projects behind one group of a breakdown (`dimension` = `group`, within the population), or
    one cell of a two-way table (and `also`, a second (dimension, group)), each with the outcome table's figures and
    its employer, most completed first, suppressed like every table of the director's pages."""
    within = dataclasses.replace(filters, within=((dimension, group), *([also] if also else [])))
    projects = outcome_counts(con, "project_id", within).rename({"group": "project_id"})
    info = query(con, """select m.project_id, m.title, e.name as employer from micro_internships m
                         join employers e on e.employer_id = m.employer_id""")
    return _behind(projects.join(info, on="project_id", how="left"), ("project_id", "title", "employer"), min_cell)


def employers_behind(con: Connection, dimension: str, group: str, filters: Filters = Filters(),
                     min_cell: int = DEFAULT_MIN_CELL, also: tuple[str, str] | None = None) -> pl.DataFrame:
    """Drill-down: the employers behind one group of a breakdown or one cell of a two-way table, as
    projects_behind."""
    within = dataclasses.replace(filters, within=((dimension, group), *([also] if also else [])))
    return _behind(outcome_counts(con, "employer", within).rename({"group": "employer"}), ("employer",), min_cell)


def _behind(frame: pl.DataFrame, keys: tuple[str, ...], min_cell: int) -> pl.DataFrame:
    flags = suppress(frame, "denominator", keys[0], min_cell)
    shown = blank_suppressed(frame.select(*keys, *BEHIND_COLUMNS, "denominator"), flags, keys)
    return shown.drop("denominator").sort(["completed", "applications", keys[0]], descending=[True, True, False],
                                          nulls_last=True)


# --- each institution beside the others ---------------------------------------------------------------------------

PEER_RATES = ("selection_rate", "completion_rate", "offer_rate", "conversion_rate")
MIN_PEER_INSTITUTIONS = 5  # a director bound to one institution sees the others only as a median over this many
PEER_SCHEMA = {"institution": pl.String, "rate": pl.String, "value": pl.Float64, "others_median": pl.Float64,
               "median_gap": pl.Float64, "others": pl.Int64}


def institution_peers(con: Connection, filters: Filters = Filters(), min_cell: int = DEFAULT_MIN_CELL,
                      bound: bool = False) -> pl.DataFrame:
    """Each institution in view (those of `filters`, or all) beside the median of the other institutions, for each
    rate of PEER_RATES, over the same population otherwise (every filter but the institution's).

    One row per institution and rate: `institution`, `rate`, `value` (the institution's, null where its row is
    suppressed), `others_median`, `median_gap` (value minus the median) and `others` (how many institutions it is the
    median of: those other than this one whose figure counts). A consortium director (not `bound`) sees every
    institution's figures anyway, so any number of others makes a median. A director bound to one institution sees
    the others only through it: an institution counts when its rate rests on at least K students (the disclosure
    rule of the shared views, K = public_k), and the median only when at least MIN_PEER_INSTITUTIONS count;
    otherwise `others_median` is null.
    """
    everyone = dataclasses.replace(filters, institutions=())
    counts = outcome_counts(con, "institution", everyone)
    if counts.is_empty():
        return pl.DataFrame(schema=PEER_SCHEMA)
    shown = suppressed_counts(con, "institution", everyone, min_cell)
    if bound:
        peers = disclose(counts, public_k(min_cell), ("group", "group2"), denominator="denominator")
        needed = MIN_PEER_INSTITUTIONS
    else:
        peers, needed = shown, 1
    in_view = list(filters.institutions) or shown["group"].to_list()
    rows = []
    for institution in in_view:
        own = shown.filter(pl.col("group") == institution)
        others = peers.filter(pl.col("group") != institution)
        for rate_name in PEER_RATES:
            values = others[rate_name].drop_nulls()
            rows.append({"institution": institution, "rate": rate_name,
                         "value": own[rate_name][0] if own.height else None,
                         "others_median": float(cast(float, values.median())) if values.len() >= needed else None,
                         "median_gap": None, "others": values.len()})
    return pl.DataFrame(rows, schema=PEER_SCHEMA).with_columns(
        ((pl.col("value") - pl.col("others_median")).round(4) + 0.0).alias("median_gap")  # + 0.0: no "-0.0 pts"
    ).select(PEER_SCHEMA.keys())
