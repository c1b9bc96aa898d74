"""The employer's own view: its projects, applicant pool, outcomes, and how it compares with its industry.

The employer_id comes from the signed-in account only; no widget, URL parameter or download can change it.
Every figure is suppressed below K = 10 (docs/data-contract.md §5).
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import auth, data, ui
from etl.metrics.audience import (
    POOL_DIMENSIONS,
    applicant_pool,
    employer_name,
    employer_projects,
    employer_summary,
    industry_comparison,
)
from etl.metrics.disclosure import PUBLIC_MIN_CELL, public_rule

user = auth.require_role("employer")
employer_id = user.employer_id
if data.connection() is None:
    st.info("No figures yet: the warehouse is empty, or needs a new load by the career services office.")
    st.stop()
found = data.figure(employer_name, employer_id)
if found is None:
    st.warning("Your account's employer has no data here yet.")
    st.stop()
name, industry = found
st.title(ui.plain(name))
st.caption(f"{ui.plain(industry)} · Figures cover your own micro-internships only. {public_rule(PUBLIC_MIN_CELL)} "
           "This protects students' privacy.")
summary = data.figure(employer_summary, employer_id)
if summary.is_empty():
    st.info("No applications to your projects yet.")
    st.stop()
row = summary.row(0, named=True)
if row["suppressed"]:
    st.warning("Fewer than 10 students are behind your figures so far, so they are hidden to protect privacy.")
cols = st.columns(4)
cols[0].metric("Projects", f"{row['projects']:,}")
cols[1].metric("Applications", ui.count(row["applications"]))
cols[2].metric("Selection rate", ui.percent(row["selection_rate"]))
cols[3].metric("Completion rate", ui.percent(row["completion_rate"]))
cols = st.columns(4)
cols[0].metric("Completed placements", ui.count(row["completed"]),
               help="Students who completed one of your projects (a project may have several).")
cols[1].metric("Offer rate", ui.percent(row["offer_rate"]),
               help="Completed projects after which you made an offer (attributed as in the glossary).")
cols[2].metric("Conversion rate", ui.percent(row["conversion_rate"]), help="Offers accepted ÷ completed projects.")
cols[3].metric("Rating received", "—" if row["student_rating"] is None else f"{row['student_rating']:.2f}",
               help="Average rating students gave your projects (1-5).")

st.subheader("Compared with your industry")
comparison = data.figure(industry_comparison, employer_id)
if comparison["industry_median"].is_null().all():
    st.info("Too few other employers in your industry have enough completed projects for a fair comparison "
            "(at least five are needed).")
labels = {"selection_rate": "Selection rate", "completion_rate": "Completion rate", "offer_rate": "Offer rate",
          "conversion_rate": "Conversion rate", "days_to_first_applicant": "Days from posting to first applicant",
          "days_to_first_selection": "Days from posting to first selection", "employer_rating": "Rating you gave",
          "student_rating": "Rating you received"}


def shown_value(figure: str, value: float | None) -> str:
    """Rates as percentages, days as whole days, ratings with two decimals; a missing figure as a dash."""
    if value is None:
        return "—"
    if figure.endswith("_rate"):
        return f"{value:.1%}"
    return f"{value:.0f} days" if figure.startswith("days_") else f"{value:.2f}"


readable = pl.DataFrame({
    "figure": [labels[f] for f in comparison["figure"]],
    "yours": [shown_value(f, v) for f, v in zip(comparison["figure"], comparison["yours"], strict=True)],
    "industry median": [shown_value(f, v) for f, v in zip(comparison["figure"], comparison["industry_median"],
                                                            strict=True)],
    "employers compared": ["—" if n is None else f"{n:,}" for n in comparison["employers_compared"]],
})
ui.table(readable, f"{name} compared with industry")
st.caption("The industry median is taken over other employers in your industry, each counted only when its own "
           "figure rests on at least 10 students; no other employer is named or shown.")

st.subheader("Your applicant pool")
dimension = st.radio("By", POOL_DIMENSIONS, horizontal=True, format_func=ui.DIMENSION_LABELS.get, key="pool_dim")
pool = data.figure(applicant_pool, employer_id, dimension)
shown = pool.filter(pl.col("applicants").is_not_null())
if not shown.is_empty():
    fig = go.Figure(go.Bar(x=shown["applicants"].to_list(), y=shown["group"].to_list(), orientation="h"))
    fig.update_layout(height=max(260, 26 * shown.height + 80), xaxis=dict(title="applicants", tickformat=",d"),
                      yaxis=dict(autorange="reversed", title=ui.DIMENSION_LABELS[dimension].lower()))
    ui.chart(fig, f"Your applicants by {ui.DIMENSION_LABELS[dimension].lower()}")
ui.table(pool.rename({"group": dimension}), f"applicant pool by {dimension}", ui.rate_columns("share"))
ui.suppression_note(pool)

st.subheader("Your projects")
projects = data.figure(employer_projects, employer_id)
ui.table(projects, f"{name} projects", ui.rate_columns("selection_rate", "completion_rate", "offer_rate"))
ui.suppression_note(projects)
