"""Employers: who engages most, who converts, and the ratings given and received."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, ui
from etl.metrics.insights import with_wilson
from etl.metrics.outcomes import suppressed_counts

st.title("Employers")
ui.require_data()
filters = ui.filters()
table = data.figure(suppressed_counts, "employer", filters, min_cell=0)
ui.require_rows(table)
order = st.radio("Rank by", ["projects", "applicants", "completed", "conversion_rate"], horizontal=True,
                 key="employers_order", format_func=lambda c: c.replace("_", " "))
min_n = st.number_input("Rank conversion only for employers with at least this many completed projects", 1, 500,
                        10, key="employers_min_n")
ranked = with_wilson(table, "converted", "completed", "ci")
if order == "conversion_rate":
    ranked = ranked.filter(pl.col("completed") >= min_n)
ranked = ranked.sort([order, "completed"], descending=True, nulls_last=True)
cols = st.columns(3)
cols[0].metric("Employers", f"{table.height:,}")
cols[1].metric("Employers with a completed project", f"{table.filter(pl.col('completed') > 0).height:,}")
repeat = table.filter(pl.col("projects") >= 2).height
cols[2].metric("Posted two or more projects", f"{repeat:,}")
top = ranked.head(20).reverse()
fig = go.Figure(go.Bar(y=top["group"].to_list(), x=top[order].to_list(), orientation="h"))
fig.update_layout(height=max(320, 26 * top.height + 80),
                  xaxis=dict(tickformat=".0%" if order.endswith("rate") else ",d"),
                  title=f"Top employers by {order.replace('_', ' ')}")
ui.chart(fig, f"employers by {order}")
columns = ["group", "projects", "applications", "applicants", "selection_rate", "completed", "completion_rate",
           "offers", "offer_rate", "conversion_rate", "ci_low", "ci_high", "employer_rating", "student_rating"]
ui.table(ranked.select(columns).rename({"group": "employer"}), "employers",
         {**ui.rate_columns("selection_rate", "completion_rate", "offer_rate", "conversion_rate", "ci_low",
                            "ci_high"),
          "employer_rating": st.column_config.NumberColumn("rating given", format="%.2f",
                                                           help="Average rating the employer gave its interns."),
          "student_rating": st.column_config.NumberColumn("rating received", format="%.2f",
                                                          help="Average rating interns gave the employer.")})
