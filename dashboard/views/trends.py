"""Trends: the main rates by term, per institution, with the counts behind them."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, ui
from etl.metrics.outcomes import DEFINITIONS, suppressed_counts

st.title("Trends by term")
ui.require_data()
filters = ui.filters()
rates = ["selection_rate", "completion_rate", "offer_rate", "conversion_rate"]
rate = st.radio("Rate", rates, horizontal=True, format_func=lambda r: r.replace("_", " ").capitalize(),
                key="trend_rate", help=" ".join(DEFINITIONS[r] for r in rates))
by_term = data.figure(suppressed_counts, "term", filters, min_cell=ui.min_cell(), second="institution")
ui.require_rows(by_term)
order = data.choices("term", data.version())
by_term = by_term.with_columns(pl.col("group").cast(pl.Enum(order))).sort("group", "group2")

institutions = by_term["group2"].unique(maintain_order=True).to_list()  # one line (and bar) each, in this order
fig = go.Figure()
for institution, part in by_term.partition_by("group2", as_dict=True, maintain_order=True).items():
    fig.add_scatter(x=part["group"].cast(pl.String).to_list(), y=part[rate].to_list(), mode="lines+markers",
                    name=institution[0], customdata=part.select("applications", "completed").to_numpy(),
                    hovertemplate="%{x}: %{y:.1%}<br>applications %{customdata[0]:,}<br>completed "
                                  "%{customdata[1]:,}<extra>%{fullData.name}</extra>")
fig.update_layout(height=440, yaxis=dict(tickformat=".0%", rangemode="tozero", title=rate.replace("_", " ")),
                  xaxis=dict(categoryorder="array", categoryarray=order, title="term"),
                  legend=dict(orientation="h", y=-0.3))
points = ui.chart(fig, f"{rate.replace('_', ' ')} by term and institution", select=True)
st.caption("The latest term is still under way: its projects are still finishing and offers follow completion "
           "by weeks, so its completion, offer and conversion rates are incomplete.")

counts = go.Figure()
for institution, part in by_term.partition_by("group2", as_dict=True, maintain_order=True).items():
    counts.add_bar(x=part["group"].cast(pl.String).to_list(), y=part["completed"].to_list(), name=institution[0])
counts.update_layout(barmode="stack", height=340, title="Completed projects per term",
                     xaxis=dict(categoryorder="array", categoryarray=order, title="term"),
                     yaxis=dict(title="completed projects", tickformat=",d"), legend=dict(orientation="h", y=-0.35))
points += ui.chart(counts, "completed projects by term and institution", select=True)
clicked = [(p["x"], institutions[p["curve_number"]]) for p in points if p.get("curve_number", -1) < len(institutions)]

columns = ["group", "group2", "applications", "applicants", "selection_rate", "placements", "completed",
           "completion_rate", "offers", "offer_rate", "conversion_rate", "suppressed"]
picked = ui.table(by_term.select(columns).with_columns(pl.col("group").cast(pl.String))
                  .rename({"group": "term", "group2": "institution"}), "rates by term and institution",
                  ui.rate_columns("selection_rate", "completion_rate", "offer_rate", "conversion_rate"), pick=True)
ui.suppression_note(by_term)
if picked is not None:  # a row picked in the table opens what lies behind it, as a click on its point does
    clicked = [(picked["term"], picked["institution"])]
shown = by_term.filter(~pl.col("suppressed"))
ui.behind_a_group(("term", "institution"), list(zip(shown["group"].cast(pl.String), shown["group2"], strict=True)),
                  filters, clicked)
