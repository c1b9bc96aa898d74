"""A one-file outcomes report (HTML) for a population: the headline figures, the main breakdowns and charts.

The report is made to be shared, so every figure in it goes through the disclosure rule (etl/metrics/disclosure.py)
with K of at least 10: the breakdowns add up to the headline row, their total. Every text cell is HTML-escaped (names
are data, never markup). The charts carry Plotly's script inline, so the file opens offline.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

import plotly.graph_objects as go
import polars as pl

from etl.ingest.schema import CODES
from etl.metrics.disclosure import RESTS_ON, disclose, public_k, public_rule, totals_of
from etl.metrics.insights import equity_table, with_wilson
from etl.metrics.outcomes import (
    DEFAULT_MIN_CELL,
    DEFINITIONS,
    DESTINATION_COLUMNS,
    Filters,
    destinations_counts,
    outcome_counts,
)
from etl.office import office
from etl.warehouse import Connection

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
.logo { max-height: 56px; max-width: 240px; } .office { font-weight: 600; margin: 0.3rem 0 0; color: #444; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 0.8rem; }
.figure { border: 1px solid #ddd; border-radius: 6px; padding: 0.6rem; }
.figure b { display: block; font-size: 1.5rem; } .note { color: #666; font-size: 0.85rem; }
"""
RATES = {"selection_rate", "completion_rate", "offer_rate", "conversion_rate", "acceptance_rate", "knowledge_rate",
         "career_outcomes_rate", "ci_low", "ci_high", "participation_rate", "participation_gap", "offer_gap"}


def text_of(column: str, value: object) -> str:
    """A cell as the report reads it, as plain text (empty when blank)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value in CODES:
        return value.replace("_", " ")
    if column.endswith("_gap") and isinstance(value, float):
        return f"{round(value * 100, 1) + 0.0:+.1f} pts"  # + 0.0: a gap that rounds to zero reads +0.0, not -0.0
    if column.endswith("_usd") and isinstance(value, float):
        return f"${value:,.0f}"
    if column in RATES and isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _cell(column: str, value: object) -> str:
    return html.escape(text_of(column, value))


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(c, v)}</td>" for c, v in zip(frame.columns, row, strict=True)) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def describe_population(filters: Filters) -> str:
    """The population in words, as plain text."""
    parts = [
        ("institutions", filters.institutions), ("colleges", filters.colleges), ("majors", filters.majors),
        ("class levels", filters.class_levels),
        ("industries", filters.industries), ("platforms", filters.platforms),
    ]
    text = [f"{name}: {', '.join(values)}" for name, values in parts if values]
    if filters.term_from or filters.term_to:
        text.append(f"terms {filters.term_from or 'first'} to {filters.term_to or 'latest'}")
    return "; ".join(text) or "everyone in the warehouse"


BREAKDOWNS = (("channel", "By channel"), ("pay_band", "By pay ($ per hour)"), ("hours_band", "By estimated hours"))
EQUITY = (("first_generation", "First-generation students"), ("pell_eligible", "Pell-eligible"))
BREAKDOWN_COLUMNS = ("group", "applications", "selection_rate", "completed", "completion_rate", "offer_rate",
                     "conversion_rate", "suppressed")
INDUSTRY_COLUMNS = ("rank", "group", "completed", "offers", "offer_rate", "ci_low", "ci_high", "conversion_rate")
EQUITY_COLUMNS = ("group", "students", "participation_rate", "participation_gap", "offer_rate", "offer_gap",
                  "suppressed")


def report_tables(con: Connection, filters: Filters = Filters(), min_cell: int = DEFAULT_MIN_CELL
                  ) -> dict[str, pl.DataFrame]:
    """Every table of the report, through the disclosure rule: `overall` (the headline row), `industry` (ranked by
    offer rate among the shown ones), each of BREAKDOWNS and EQUITY by its dimension, and `destinations`."""
    k = public_k(min_cell)
    overall = outcome_counts(con, "overall", filters)
    if overall.is_empty():
        return {"overall": overall}
    overall = disclose(overall, k, ("group", "group2"), denominator="denominator")
    total = totals_of(overall)
    industries = with_wilson(outcome_counts(con, "industry", filters), "offers", "completed", "ci")
    industries = disclose(industries, k, ("group", "group2"), denominator="denominator", totals=total,
                          rests_on={**RESTS_ON, "ci_low": "offer_holders", "ci_high": "offer_holders"},
                          depends_on={"ci_low": ("offer_rate",), "ci_high": ("offer_rate",)})
    ranked = industries.filter(pl.col("offer_rate").is_not_null()).sort(
        ["offer_rate", "ci_low", "completed"], descending=True).with_row_index("rank", offset=1)
    rest = industries.filter(pl.col("offer_rate").is_null()).sort("group").with_columns(
        pl.lit(None, dtype=pl.UInt32).alias("rank"))
    tables = {"overall": overall, "industry": pl.concat([ranked, rest.select(ranked.columns)]).select(INDUSTRY_COLUMNS)}
    for dimension, _ in BREAKDOWNS:
        counts = outcome_counts(con, dimension, filters)
        tables[dimension] = disclose(counts, k, ("group", "group2"), denominator="denominator", totals=total
                                     ).select(BREAKDOWN_COLUMNS)
    for dimension, _ in EQUITY:
        equity = equity_table(con, dimension, filters, min_cell=k)
        rests_on = {"students": "students", "participation_rate": "participants", "participation_gap": "participants",
                    "offer_rate": "offer_holders", "offer_gap": "offer_holders"}
        tables[dimension] = disclose(equity.select(*EQUITY_COLUMNS[:-1], "participants", "offer_holders"), k,
                                     ("group",), rests_on=rests_on).with_columns(equity["suppressed"]
                                                                                 ).select(EQUITY_COLUMNS)
    destinations = destinations_counts(con, filters)
    destinations = disclose(destinations.select(*DESTINATION_COLUMNS[:-1], "known", "positive"), k,
                            ("cohort", "participated"), denominator="cohort_size", within=("cohort",),
                            rests_on={"cohort_size": "cohort_size", "knowledge_rate": "known",
                                      "career_outcomes_rate": "positive", "median_salary_usd": "positive"})
    tables["destinations"] = destinations.filter(pl.col("known").fill_null(1) > 0).select(DESTINATION_COLUMNS)
    return tables


def outcomes_report(con: Connection, filters: Filters = Filters(),
        min_cell: int = DEFAULT_MIN_CELL) -> str:
    """The report as one HTML document."""
    tables = report_tables(con, filters, min_cell)
    mine = office()
    heading = "".join([
        f"<img class='logo' src='{mine.logo_data_uri()}' alt=''>" if mine.logo else "",
        f"<p class='office'>{html.escape(mine.name)}</p>" if mine.name else ""])
    population = html.escape(describe_population(filters))
    parts = [f"{heading}<h1>Micro-internship outcomes</h1><p class='meta'>Population: {population}. Generated "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. {public_rule(min_cell)}</p>"]
    overall = tables["overall"]
    if overall.is_empty():
        return "".join(parts) + "<p>No applications match this population.</p>"
    row = overall.row(0, named=True)
    boxes = [("Students engaged", row["applicants"]), ("Applications", row["applications"]),
             ("Completed projects", row["completed"]), ("Offer rate", row["offer_rate"]),
             ("Conversion rate", row["conversion_rate"]), ("Acceptance rate", row["acceptance_rate"]),
             ("Completion rate", row["completion_rate"]), ("Median days to offer", row["median_days_to_offer"])]
    key = {"Offer rate": "offer_rate", "Conversion rate": "conversion_rate", "Acceptance rate": "acceptance_rate",
           "Completion rate": "completion_rate"}
    parts.append("<div class='figures'>" + "".join(
        f"<div class='figure'>{label}<b>{_cell(key.get(label, ''), value)}</b></div>" for label, value in boxes
    ) + "</div>")

    industries = tables["industry"]
    ranked = industries.filter(pl.col("rank").is_not_null())
    parts.append("<h2>Offer rate by industry</h2>")
    if ranked.height:
        fig = go.Figure(go.Bar(
            y=ranked["group"].to_list()[::-1], x=ranked["offer_rate"].to_list()[::-1], orientation="h",
            error_x=dict(type="data", symmetric=False, array=(ranked["ci_high"] - ranked["offer_rate"]).to_list()[::-1],
                         arrayminus=(ranked["offer_rate"] - ranked["ci_low"]).to_list()[::-1])))
        fig.update_layout(template="plotly_white", height=max(300, 30 * ranked.height + 80),
                          xaxis=dict(tickformat=".0%"), margin=dict(l=10, r=10, t=10, b=10))
        parts.append(fig.to_html(full_html=False, include_plotlyjs="inline"))
        parts.append("<p class='note'>Whiskers: 95% Wilson intervals.</p>")
    parts.append(_table(industries.rename({"group": "industry"})))
    for dimension, title in BREAKDOWNS:
        parts.append(f"<h2>{title}</h2>" + _table(tables[dimension].rename({"group": dimension})))
    for dimension, title in EQUITY:
        parts.append(f"<h2>Equity: {title}</h2>" + _table(tables[dimension].rename({"group": dimension})))
    parts.append("<h2>First destinations (NACE)</h2>" + _table(tables["destinations"]))
    parts.append("<p class='note'>Participation is not random: a gap between participants and others is an "
                 "association, not an effect.</p>")
    parts.append("<h2>Definitions</h2><dl>" + "".join(
        f"<dt><b>{html.escape(k.replace('_', ' '))}</b></dt><dd>{html.escape(v)}</dd>" for k, v in DEFINITIONS.items()
    ) + "</dl>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Micro-internship outcomes</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
