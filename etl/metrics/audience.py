"""Figures for the employer and student views. Scoping lives here, not in the UI: every employer figure takes the
employer_id as an argument (the page passes the signed-in account's), and every figure goes through the one disclosure
rule (etl/metrics/disclosure.py) with K of at least 10.
"""

from __future__ import annotations

import polars as pl

from etl.metrics.disclosure import PUBLIC_MIN_CELL, RESTS_ON, disclose, public_k, totals_of
from etl.metrics.insights import with_wilson
from etl.metrics.outcomes import Filters, hidden_at, metric_sql, outcome_counts
from etl.warehouse import Connection, query

POOL_DIMENSIONS = ("major", "class_level", "institution")
MIN_PEERS = 5  # an industry comparison needs at least this many other employers
STUDENTS = ("applicants", "selectees", "completers", "offer_holders", "converters")  # what figures rest on


# --- the employer's own view -------------------------------------------------------------------------------------


def employer_name(con: Connection, employer_id: str) -> tuple[str, str] | None:
    frame = query(con, "select name, industry from employers where employer_id = ?", [employer_id])
    return (frame["name"][0], frame["industry"][0]) if frame.height else None


def employer_summary(con: Connection, employer_id: str, min_cell: int = PUBLIC_MIN_CELL
                     ) -> pl.DataFrame:
    """The employer's outcome row (all its projects), through the disclosure rule."""
    counts = outcome_counts(con, "overall", Filters(employer_id=employer_id))
    if counts.is_empty():
        return counts
    return disclose(counts, public_k(min_cell), ("group", "group2", "projects"), denominator="denominator")


def _summary(con: Connection, employer_id: str, min_cell: int, given: pl.DataFrame | None
             ) -> pl.DataFrame:
    """The employer's summary as its breakdowns are judged against: the caller's (a view computes it once for all
    its tables), or computed."""
    return employer_summary(con, employer_id, min_cell) if given is None else given


def _summary_hidden(summary: pl.DataFrame) -> bool:
    """Whether the employer's own summary is hidden whole: then every breakdown of it is too, or its parts would add
    up to what the summary hides."""
    return summary.is_empty() or bool(summary["suppressed"][0])


PROJECT_INFO = ("project_id", "title", "function", "platform", "posted_date")


def employer_projects(con: Connection, employer_id: str, min_cell: int = PUBLIC_MIN_CELL,
                      summary: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per project of the employer: the outcome table grouped by project, with days to first applicant and
    to first selection, through the disclosure rule; the projects add up to the employer's summary, their total
    (`summary`: employer_summary's row at the same min_cell, when the caller has it)."""
    days = _project_days(con, "m.employer_id", employer_id)
    if days.is_empty():
        return days
    counts = outcome_counts(con, "project_id", Filters(employer_id=employer_id)).rename({"group": "project_id"})
    frame = days.join(counts, on="project_id", how="left").with_columns(
        pl.col("applications", "selected", "completed", "offers", "converted", "denominator", *STUDENTS
               ).fill_null(0))
    figures = ["applications", "selected", "selection_rate", "completed", "completion_rate", "offers", "offer_rate",
               "converted", "days_to_first_applicant", "days_to_first_selection"]
    frame = frame.select(*PROJECT_INFO, *figures, "denominator", *STUDENTS)
    summary = _summary(con, employer_id, min_cell, summary)
    shown = disclose(frame, public_k(min_cell), PROJECT_INFO, denominator="denominator", totals=totals_of(summary),
                     hide_all=_summary_hidden(summary))  # else the projects would add up to the hidden summary
    return shown.select(*PROJECT_INFO, *figures, "suppressed").sort(["posted_date", "project_id"], descending=True)


def _project_days(con: Connection, scope: str, value: str | None) -> pl.DataFrame:
    """Per-project days to first applicant and selection, of one employer (scope m.employer_id) or of one
    industry's employers (scope e.industry)."""
    if scope not in ("m.employer_id", "e.industry"):
        raise ValueError("scope is an employer or an industry")
    return query(con, metric_sql("project_days.sql").format(scope=scope), [value])


def applicant_pool(con: Connection, employer_id: str, dimension: str,
                   min_cell: int = PUBLIC_MIN_CELL, summary: pl.DataFrame | None = None) -> pl.DataFrame:
    """Distinct applicants to the employer's projects by major, class level or institution (each student is in one
    group, so the groups add up to the summary's applicants), through the disclosure rule (`summary`: as in
    employer_projects)."""
    if dimension not in POOL_DIMENSIONS:
        raise ValueError(f"the applicant pool is shown by {', '.join(POOL_DIMENSIONS)}")
    # Applicants only: selections by group would add up to the employer's selected count, which its summary hides
    # when it rests on fewer than K students.
    frame = query(con, f"select {dimension} as \"group\", count(distinct student_id) as applicants "
                       "from fact_applications where employer_id = ? group by 1", [employer_id])
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, pl.Float64).alias("share"), pl.lit(False).alias("suppressed"))
    frame = frame.with_columns(pl.col("applicants").cast(pl.Int64)).with_columns(
        (pl.col("applicants") / pl.col("applicants").sum()).alias("share"))
    summary = _summary(con, employer_id, min_cell, summary)
    shown = disclose(frame, public_k(min_cell), ("group",), denominator="applicants", totals=totals_of(summary),
                     rests_on={"applicants": "applicants", "share": "applicants"}, hide_all=_summary_hidden(summary))
    # A share beside a hidden count would give it back (share × the total that the shares reveal).
    shown = shown.with_columns(pl.when(pl.col("applicants").is_null()).then(None).otherwise(pl.col("share"))
                               .alias("share"))
    return shown.sort("applicants", descending=True, nulls_last=True)


COMPARED = ("selection_rate", "completion_rate", "offer_rate", "conversion_rate", "days_to_first_applicant",
            "days_to_first_selection", "employer_rating", "student_rating")


def industry_comparison(con: Connection, employer_id: str, min_cell: int = PUBLIC_MIN_CELL,
                        summary: pl.DataFrame | None = None) -> pl.DataFrame:
    """The employer's figures beside the median of its industry's other employers (when at least five have one).

    Every employer's figures, its own included, come from the outcome table grouped by employer_id and go through the
    disclosure rule one by one: a figure counts only when the students it rests on reach K (for the days, the
    students selected or applying), so neither the median nor the employer's own column shows a figure its summary
    hides. Other employers are never named or shown one by one.
    """
    k = public_k(min_cell)
    industry = _industry_of(con, employer_id)
    counts = outcome_counts(con, "employer_id", Filters(employer_industries=(industry,) if industry else ()))
    days = _project_days(con, "e.industry", industry).group_by("employer_id").agg(
        pl.col("days_to_first_applicant", "days_to_first_selection").median())
    per_employer = counts.rename({"group": "employer_id"}).join(days, on="employer_id", how="left").select(
        "employer_id", *COMPARED, "denominator", *STUDENTS, "ratings_given", "ratings_received")
    per_employer = disclose(per_employer, k, ("employer_id",), denominator="denominator")
    mine = per_employer.filter(pl.col("employer_id") == employer_id)
    others = per_employer.filter(pl.col("employer_id") != employer_id)
    hidden = _summary_hidden(_summary(con, employer_id, min_cell, summary))  # then none of the employer's own is shown
    rows = []
    for figure in COMPARED:
        peers = others[figure].drop_nulls()
        enough = peers.len() >= MIN_PEERS
        rows.append({"figure": figure, "yours": mine[figure][0] if mine.height and not hidden else None,
                     "industry_median": peers.median() if enough else None,
                     "employers_compared": peers.len() if enough else None})
    return pl.DataFrame(rows, schema={"figure": pl.String, "yours": pl.Float64, "industry_median": pl.Float64,
                                      "employers_compared": pl.Int64})


def _industry_of(con: Connection, employer_id: str) -> str | None:
    found = employer_name(con, employer_id)
    return found[1] if found else None


# --- the student view -------------------------------------------------------------------------------------------

_GROUP_COLUMN = {"industry": "coalesce(m.industry, e.industry)", "function": "m.function"}


def compare_groups(con: Connection, dimension: str, groups: tuple[str, ...],
                   min_cell: int = PUBLIC_MIN_CELL) -> pl.DataFrame:
    """Two to four industries or functions side by side, aggregates only, through the disclosure rule."""
    if dimension not in ("industry", "function"):
        raise ValueError("students compare industries or functions")
    counts = outcome_counts(con, dimension, Filters())
    chosen = counts.filter(pl.col("group").is_in(list(groups)))
    postings = query(con, f"""
        select {_GROUP_COLUMN[dimension]} as "group", count(*) as projects, sum(coalesce(m.slots, 1)) as slots,
               avg(case when m.pay_usd > 0 then m.pay_usd / m.estimated_hours end) as posted_pay_per_hour,
               percentile_cont(0.5) within group (order by m.estimated_hours) as typical_hours
        from micro_internships m join employers e on e.employer_id = m.employer_id
        group by 1""")
    table = with_wilson(chosen, "offers", "completed", "offer_ci").join(postings, on="group", how="left")
    table = table.with_columns((pl.col("applications") / pl.col("slots").cast(pl.Float64))
                               .alias("applications_per_slot"))
    columns = ["group", "applications", "completed", "completion_rate", "offer_rate", "offer_ci_low",
               "offer_ci_high", "posted_pay_per_hour", "typical_hours", "applications_per_slot"]
    rests_on = {**RESTS_ON, "offer_ci_low": "offer_holders", "offer_ci_high": "offer_holders",
                "applications_per_slot": "applicants"}
    # An interval or a competition figure beside a hidden rate or count would give it back.
    depends_on = {"offer_ci_low": ("offer_rate",), "offer_ci_high": ("offer_rate",),
                  "applications_per_slot": ("applications",)}
    shown = disclose(table.select(*columns, "denominator", *STUDENTS), public_k(min_cell), ("group",),
                     denominator="denominator", rests_on=rests_on, depends_on=depends_on)
    return shown.select(*columns, "suppressed")


def top_skills(con: Connection, dimension: str, groups: tuple[str, ...], n: int = 5
               ) -> pl.DataFrame:
    """The skills most often listed on the groups' projects (counts of projects, not of students)."""
    column = _GROUP_COLUMN[dimension]
    placeholders = ", ".join("?" for _ in groups)
    frame = query(con, f"""
        select {column} as "group", ps.skill, count(*) as projects
        from project_skills ps
        join micro_internships m on m.project_id = ps.project_id
        join employers e on e.employer_id = m.employer_id
        where {column} in ({placeholders})
        group by 1, 2""", list(groups))
    return frame.sort(["group", "projects", "skill"], descending=[False, True, False]).group_by(
        "group", maintain_order=True).head(n)


def selection_channels(con: Connection, dimension: str, groups: tuple[str, ...],
                       min_cell: int = PUBLIC_MIN_CELL) -> pl.DataFrame:
    """Per group, the channels through which students were selected, with selection rates, through the disclosure
    rule: a channel rests on its applicants (complementary suppression within the group), its selected count and
    rate on its selected students, and the channels of a group add up to the group's applications in the comparison
    table beside them (every channel of a group that table hides is hidden too)."""
    k = public_k(min_cell)
    counts = outcome_counts(con, dimension, Filters(), second="channel").filter(pl.col("group").is_in(list(groups)))
    frame = counts.select("group", pl.col("group2").alias("channel"), "applications", "selected",
                          "selection_rate", "applicants", "selectees")
    compared = compare_groups(con, dimension, groups, min_cell)
    totals = {(row["group"],): row for row in compared.iter_rows(named=True)}
    hidden = set(compared.filter(pl.col("suppressed"))["group"].to_list())
    shown = disclose(frame.filter(~pl.col("group").is_in(list(hidden))), k, ("group", "channel"),
                     denominator="applicants", within=("group",), totals=totals)
    shown = pl.concat([shown, disclose(frame.filter(pl.col("group").is_in(list(hidden))), k, ("group", "channel"),
                                       hide_all=True)], how="vertical_relaxed")
    return shown.drop("applicants", "selectees").sort(["group", "selected"], descending=[False, True],
                                                      nulls_last=True)


PHRASES = {
    "pay_band": {"unpaid": "unpaid projects", "<15": "projects paying under $15 an hour",
                 "15-20": "projects paying $15-20 an hour", "20-25": "projects paying $20-25 an hour",
                 "25+": "projects paying $25 an hour or more"},
    "hours_band": {"<10": "projects under 10 hours", "10-19": "projects of 10-19 hours",
                   "20-39": "projects of 20-39 hours", "40+": "projects of 40 hours or more"},
    "channel": {"platform": "projects found on a platform", "career_services": "projects found through career "
                "services", "networking": "projects found through networking", "referral": "projects found "
                "through a referral", "direct": "projects found by approaching the employer directly"},
    "class_level": {"first_year": "projects done by first-year students", "sophomore": "projects done by "
                    "sophomores", "junior": "projects done by juniors", "senior": "projects done by seniors",
                    "graduate": "projects done by graduate students", "alumni": "projects done by alumni"},
}


def what_leads_to_offers(con: Connection, min_cell: int = PUBLIC_MIN_CELL) -> list[str]:
    """Plain sentences: for pay, length, channel and class level, the groups with the highest and lowest offer rate
    among groups with at least 3·K completed projects (so that a comparison rests on enough projects) whose offer
    rate passes the disclosure rule."""
    sentences = []
    k = public_k(min_cell)
    for dimension, phrases in PHRASES.items():
        counts = outcome_counts(con, dimension, Filters()).filter(
            (pl.col("completed") >= 3 * k) & ~hidden_at(pl.col(RESTS_ON["offer_rate"]), k)
            & pl.col("group").is_in(list(phrases)))
        if counts.height < 2:
            continue
        ranked = counts.sort("offer_rate", descending=True)
        best, worst = ranked.row(0, named=True), ranked.row(-1, named=True)
        if best["offer_rate"] - worst["offer_rate"] < 0.02:
            sentences.append(f"Offer rates hardly differ by {dimension.replace('_', ' ')}.")
            continue
        first = phrases[best["group"]]
        sentences.append(
            f"{first[0].upper()}{first[1:]} led to an offer {best['offer_rate']:.0%} of the time, against "
            f"{worst['offer_rate']:.0%} for {phrases[worst['group']]} ({best['completed']:,} and "
            f"{worst['completed']:,} completed projects)."
        )
    return sentences
