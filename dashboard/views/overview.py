"""Overview: the headline figures for the filtered population, the funnel, and the offer rate by term."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import auth, data, theme, ui
from etl.metrics.insights import MIN_PEER_INSTITUTIONS, PEER_RATES, institution_peers
from etl.metrics.outcomes import DEFINITIONS, Filters, outcome_counts, term_changes, term_order, term_under_way
from etl.metrics.pdf import outcomes_pdf
from etl.metrics.report import outcomes_report

st.title("Which micro-internships lead to job offers?")
ui.require_data()
filters: Filters = ui.filters()
overall = data.figure(outcome_counts, "overall", filters)
ui.require_rows(overall)
row = overall.row(0, named=True)
by_term = data.figure(outcome_counts, "term", filters)
by_term = by_term.with_columns(pl.col("group").cast(pl.Enum(data.figure(term_order)))).sort("group").with_columns(
    pl.col("group").cast(pl.String))
current = data.figure(term_under_way)
changes = {r["rate"]: r for r in data.figure(term_changes, filters).iter_rows(named=True)}


def delta(column: str) -> str | None:
    """Change of a rate between the two latest closed terms of the population, in percentage points."""
    change = changes.get(column)
    if change is None or change["change_pts"] is None:
        return None
    return f"{change['change_pts']:+.1f} pts vs {change['previous_term']}"


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
if changes:
    compared = next(iter(changes.values()))
    in_view = current in by_term["group"].to_list()
    st.caption(f"Changes compare {compared['term']} with {compared['previous_term']}"
               + (f"; the latest term ({current}) is left out because its projects and offers are still coming in."
                  if in_view else "."))

left, right = st.columns(2)
with left:
    # Applications outnumber selections fifty to one, so the funnel starts at selection and states the
    # applications in words; otherwise every later stage would be a sliver.
    stages = ["Selected", "Completed", "Offered", "Accepted"]
    values = [row["selected"], row["completed"], row["offers"], row["converted"]]
    funnel = go.Figure(go.Funnel(y=stages, x=values, texttemplate="%{value:,}<br>%{percentPrevious:.0%}"))
    funnel.update_layout(height=400)
    ui.chart(funnel, "From selection to an accepted offer")
    st.caption(f"From {row['applications']:,} applications. Offered and accepted count completed projects with an "
               "attributed offer (see the Glossary); percentages are of the stage before.")
with right:
    trend = go.Figure()
    trend.add_bar(x=by_term["group"].to_list(), y=by_term["completed"].to_list(), name="Completed projects",
                  yaxis="y2", opacity=0.35)
    closed = by_term.filter(pl.col("group") != current)
    under_way = by_term.filter(pl.col("group") == current)
    for rate, colour in (("offer_rate", theme.OKABE_ITO[1]), ("conversion_rate", theme.OKABE_ITO[2])):
        label = rate.replace("_", " ").capitalize()
        trend.add_scatter(x=closed["group"].to_list(), y=closed[rate].to_list(), name=label, mode="lines+markers",
                          line=dict(color=colour))
        if under_way.height:  # still coming in: a hollow marker apart from the line, not a collapse of it
            trend.add_scatter(x=under_way["group"].to_list(), y=under_way[rate].to_list(),
                              name=f"{label} (in progress)", mode="markers",
                              marker=dict(color=colour, symbol="circle-open", size=10))
    trend.update_layout(height=440, yaxis=dict(tickformat=".0%", title="rate", rangemode="tozero"),
                        yaxis2=dict(overlaying="y", side="right", title="completed projects", showgrid=False,
                                    tickformat=",d", rangemode="tozero", tickmode="auto"),
                        xaxis=dict(tickangle=-45, automargin=True, title="term"),
                        legend=dict(orientation="h", y=-0.45))
    clicked = [p["x"] for p in ui.chart(trend, "Offer and conversion rate by term", select=True)]

with st.expander("Figures by term"):
    picked = ui.table(by_term.select("group", "applications", "applicants", "selection_rate", "completed",
                                     "completion_rate", "offers", "offer_rate", "conversion_rate"
                                     ).rename({"group": "term"}), "figures by term", pick=True)
if picked is not None:  # a row picked in the table opens what lies behind it, as a click on the chart does
    clicked = [picked["term"]]
ui.behind_a_group("term", by_term["group"].to_list(), filters, clicked)

user = auth.current_user()
bound = user is not None and user.institution is not None
peers = data.figure(institution_peers, filters, min_cell=ui.min_cell(), bound=bound)
if peers["others"].max() or 0:
    st.subheader("Beside the other institutions")
    rate = st.radio("Figure", PEER_RATES, index=PEER_RATES.index("offer_rate"), horizontal=True, key="peers_rate",
                    format_func=ui.header)
    chosen = peers.filter(pl.col("rate") == rate).sort("value", nulls_last=True)
    institution_clicks: list[object] = []
    if chosen["others_median"].is_null().all():
        st.info(f"The other institutions appear here only as a median over at least {MIN_PEER_INSTITUTIONS} of "
                "them with figures for this population; there are fewer.")
    else:
        name = ui.header(rate)
        beside = go.Figure(go.Bar(x=chosen["value"].to_list(), y=chosen["institution"].to_list(), orientation="h",
                                  name="this institution", marker_color=theme.OKABE_ITO[0]))
        beside.add_scatter(x=chosen["others_median"].to_list(), y=chosen["institution"].to_list(), mode="markers",
                           name="median of the other institutions",
                           marker=dict(symbol="line-ns-open", size=26, line=dict(width=3), color=theme.OKABE_ITO[5]))
        beside.update_layout(title=f"{name.capitalize()}: each institution beside the median of the others",
                             height=max(260, 60 * chosen.height + 120), xaxis=dict(title=name, tickformat=".0%",
                                                                                  rangemode="tozero"),
                             yaxis=dict(title="institution"), legend=dict(orientation="h", y=-0.25))
        notes = ui.benchmark_lines(beside, rate, axis="x")
        institution_clicks = [p["y"] for p in ui.chart(beside, f"{rate} beside the other institutions", select=True)]
        for note in notes:
            st.caption(note)
    st.caption("Each institution's figure for the population in the sidebar (every filter but the institution) "
               "beside the median of the other institutions' figures"
               + (f"; the others appear only as that median, over at least {MIN_PEER_INSTITUTIONS} institutions "
                  "whose figure rests on enough students." if bound else "."))
    picked = ui.table(peers.with_columns(pl.col("rate").map_elements(ui.header, return_dtype=pl.String)).rename(
        {"rate": "figure"}), "beside the other institutions",
        {"value": {"label": "this institution", "type_config": {"format": "percent"}},
         "others_median": {"label": "median of the others", "type_config": {"format": "percent"}},
         "others": {"label": "institutions in the median"}}, pick=True)
    if picked is not None:
        institution_clicks = [picked["institution"]]
    ui.behind_a_group("institution", peers["institution"].unique(maintain_order=True).to_list(), filters,
                      institution_clicks)

st.subheader("Outcomes report")
st.caption("One file, HTML or PDF, with the headline figures, offer rates by industry with intervals, channels, "
           "pay and hours, equity and first destinations for the population in the sidebar. Made to be shared, it "
           "follows the disclosure rule of the employer and student views (at least 10 students behind every "
           "figure, or the minimum cell size set there if higher). It opens offline and prints well; `mio schedule` "
           "sends it on a calendar.")
min_cell = ui.min_cell()
# Built only when clicked (a callable), so the overview stays fast.
html_button, pdf_button = st.columns(2)
html_button.download_button("Download the outcomes report (HTML)",
                            lambda: outcomes_report(data.loaded(), filters, min_cell=min_cell),
                            file_name="outcomes-report.html", mime="text/html", key="download-report",
                            on_click="ignore", icon=":material/download:")
pdf_button.download_button("Download the outcomes report (PDF)",
                           lambda: outcomes_pdf(data.loaded(), filters, min_cell=min_cell),
                           file_name="outcomes-report.pdf", mime="application/pdf", key="download-report-pdf",
                           on_click="ignore", icon=":material/picture_as_pdf:")
