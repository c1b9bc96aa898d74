"""Overview: the headline figures for the filtered population, the funnel, and the offer rate by term."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, ui
from etl.metrics.outcomes import DEFINITIONS, Filters, outcome_counts
from etl.metrics.report import outcomes_report

st.title("Which micro-internships lead to job offers?")
ui.require_data()
filters: Filters = ui.filters()
overall = data.figure(outcome_counts, "overall", filters)
ui.require_rows(overall)
row = overall.row(0, named=True)
by_term = data.figure(outcome_counts, "term", filters)
by_term = by_term.with_columns(
    pl.col("group").str.split("-").list.get(0).alias("_year"),
    pl.col("group").str.split("-").list.get(1).replace_strict({"spring": 1, "summer": 2, "fall": 3}).alias("_s"),
).sort("_year", "_s")


# The latest term is usually still under way (offers follow completion by weeks), so changes compare the two
# latest terms before it.
closed_terms = by_term.head(by_term.height - 1) if by_term.height >= 3 else by_term.head(0)


def delta(column: str) -> str | None:
    """Change of a rate between the two latest closed terms of the population, in percentage points."""
    if closed_terms.height < 2:
        return None
    now, before = closed_terms[column][-1], closed_terms[column][-2]
    if now is None or before is None:
        return None
    return f"{(now - before) * 100:+.1f} pts vs {closed_terms['group'][-2]}"


cols = st.columns(4)
cols[0].metric("Students engaged", f"{row['applicants']:,}", help=DEFINITIONS["applicants"])
cols[1].metric("Applications", f"{row['applications']:,}", help=DEFINITIONS["applications"])
cols[2].metric("Selection rate", ui.percent(row["selection_rate"]), delta("selection_rate"),
               help=DEFINITIONS["selection_rate"])
cols[3].metric("Completion rate", ui.percent(row["completion_rate"]), delta("completion_rate"),
               help=DEFINITIONS["completion_rate"])
cols = st.columns(4)
cols[0].metric("Offer rate", ui.percent(row["offer_rate"]), delta("offer_rate"), help=DEFINITIONS["offer_rate"])
cols[1].metric("Conversion rate", ui.percent(row["conversion_rate"]), delta("conversion_rate"),
               help=DEFINITIONS["conversion_rate"])
cols[2].metric("Acceptance rate", ui.percent(row["acceptance_rate"]), delta("acceptance_rate"),
               help=DEFINITIONS["acceptance_rate"])
median = row["median_days_to_offer"]
cols[3].metric("Median days to offer", "—" if median is None else f"{median:g}",
               help=DEFINITIONS["median_days_to_offer"])
if closed_terms.height >= 2:
    st.caption(f"Changes compare {closed_terms['group'][-1]} with {closed_terms['group'][-2]}; the latest term "
               f"in view ({by_term['group'][-1]}) is left out because its projects and offers are still coming in.")

left, right = st.columns(2)
with left:
    st.subheader("Funnel")
    # Applications outnumber selections fifty to one, so the funnel starts at selection and states the
    # applications in words; otherwise every later stage would be a sliver.
    stages = ["Selected", "Completed", "Offered", "Accepted"]
    values = [row["selected"], row["completed"], row["offers"], row["converted"]]
    funnel = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent previous"))
    funnel.update_layout(height=360)
    st.plotly_chart(funnel, width="stretch", key="funnel")
    st.caption(f"From {row['applications']:,} applications. Offered and accepted count completed projects with an "
               "attributed offer (see the Glossary); percentages are of the stage before.")
with right:
    st.subheader("Offer and conversion rate by term")
    trend = go.Figure()
    trend.add_bar(x=by_term["group"].to_list(), y=by_term["completed"].to_list(), name="Completed projects",
                  yaxis="y2", opacity=0.35)
    trend.add_scatter(x=by_term["group"].to_list(), y=by_term["offer_rate"].to_list(), name="Offer rate",
                      mode="lines+markers")
    trend.add_scatter(x=by_term["group"].to_list(), y=by_term["conversion_rate"].to_list(),
                      name="Conversion rate", mode="lines+markers")
    trend.update_layout(height=360, yaxis=dict(tickformat=".0%", title="rate", rangemode="tozero"),
                        yaxis2=dict(overlaying="y", side="right", title="completed", showgrid=False),
                        legend=dict(orientation="h", y=-0.2))
    st.plotly_chart(trend, width="stretch", key="trend")

with st.expander("Figures by term"):
    st.dataframe(
        by_term.select("group", "applications", "applicants", "selection_rate", "completed", "completion_rate",
                       "offers", "offer_rate", "conversion_rate").rename({"group": "term"}),
        hide_index=True,
    )

st.subheader("Outcomes report")
st.caption("One HTML file with the headline figures, offer rates by industry with intervals, channels, pay and "
           "hours, equity and first destinations for the population in the sidebar, suppressed with the minimum "
           "cell size set there. It opens offline and prints well.")
min_cell = ui.min_cell()
# Built only when clicked (a callable), so the overview stays fast.
st.download_button("Download the outcomes report (HTML)", lambda: outcomes_report(data.connection(), filters,
                                                                                   min_cell=min_cell),
                   file_name="outcomes-report.html", mime="text/html", key="download-report", on_click="ignore",
                   icon=":material/download:")
