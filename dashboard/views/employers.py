"""Employers: who engages most, who converts, and the ratings given and received."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, ui
from etl.metrics.insights import RANKED_BY, employer_engagement, ranked_employers

st.title("Employers")
ui.require_data()
filters = ui.filters()
engagement = data.figure(employer_engagement, filters)
if not engagement["employers"]:
    st.warning("No applications match these filters. Widen the population in the sidebar.")
    st.stop()
order = st.radio("Rank by", list(RANKED_BY), horizontal=True, key="employers_order",
                 format_func=lambda c: c.replace("_", " "))
min_n = st.number_input("Rank conversion only for employers with at least this many completed projects", 1, 500,
                        10, key="employers_min_n")
ranked = data.figure(ranked_employers, filters, order=order, min_n=int(min_n), min_cell=ui.min_cell())
cols = st.columns(3)
cols[0].metric("Employers", f"{engagement['employers']:,}")
cols[1].metric("Employers with a completed project", f"{engagement['with_completed']:,}")
cols[2].metric("Posted two or more projects", f"{engagement['repeat']:,}")
top = ranked.filter(~pl.col("suppressed")).head(20).reverse()
fig = go.Figure(go.Bar(y=top["group"].to_list(), x=top[order].to_list(), orientation="h"))
fig.update_layout(height=max(320, 26 * top.height + 80),
                  xaxis=dict(tickformat=".0%" if order.endswith("rate") else ",d", title=order.replace("_", " ")),
                  yaxis=dict(title="employer"),
                  title=f"Top employers by {order.replace('_', ' ')}")
clicked = [point.get("y") for point in ui.chart(fig, f"employers by {order}", select=True)]
columns = ["group", "projects", "applications", "applicants", "selection_rate", "completed", "completion_rate",
           "offers", "offer_rate", "conversion_rate", "ci_low", "ci_high", "employer_rating", "student_rating",
           "suppressed"]
picked = ui.table(ranked.select(columns).rename({"group": "employer"}), "employers", pick=True, column_config=
    {**ui.rate_columns("selection_rate", "completion_rate", "offer_rate", "conversion_rate", "ci_low", "ci_high"),
     "employer_rating": st.column_config.NumberColumn("rating given", format="%.2f",
                                                      help="Average rating the employer gave its interns."),
     "student_rating": st.column_config.NumberColumn("rating received", format="%.2f",
                                                     help="Average rating interns gave the employer.")})
ui.suppression_note(ranked)
if picked is not None:  # a row picked in the table opens its projects, as a click on its bar does
    clicked = [picked["employer"]]
# The box lists the chart's employers (and one picked in the table): the table finds any of the others.
ui.behind_a_group("employer", list(dict.fromkeys([*reversed(top["group"].to_list()), *clicked])), filters, clicked)
