"""The student view: compare two to four industries or functions side by side, from aggregates only."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import auth, data, ui
from etl.metrics.audience import compare_groups, selection_channels, top_skills, what_leads_to_offers
from etl.metrics.disclosure import PUBLIC_MIN_CELL, public_rule

auth.require_role("student")
st.title("Compare industries and functions")
if data.connection() is None:
    st.info("No figures yet: the warehouse is empty, or needs a new load by the career services office.")
    st.stop()
st.caption(f"Figures from all students' micro-internships, never one student's. {public_rule(PUBLIC_MIN_CELL)}")
dimension = st.radio("Compare", ["industry", "function"], horizontal=True, format_func=ui.DIMENSION_LABELS.get,
                     key="student_dim")
options = [o for o in data.choices(dimension, data.version()) if o != "unknown"]
default = options[:3]
picked = st.multiselect(f"Pick two to four {'industries' if dimension == 'industry' else 'functions'}", options,
                        default=default, max_selections=4, key=f"student_pick_{dimension}")
if len(picked) < 2:
    st.info("Pick at least two to compare.")
    st.stop()
groups = tuple(sorted(picked))
table = data.figure(compare_groups, dimension, groups)
shown = table.filter(pl.col("offer_rate").is_not_null())
if not shown.is_empty():
    fig = go.Figure(go.Bar(
        x=shown["group"].to_list(), y=shown["offer_rate"].to_list(),
        error_y=dict(type="data", symmetric=False, array=(shown["offer_ci_high"] - shown["offer_rate"]).to_list(),
                     arrayminus=(shown["offer_rate"] - shown["offer_ci_low"]).to_list()),
        text=[f"{r:.0%}" for r in shown["offer_rate"]], textposition="outside", cliponaxis=False))
    fig.update_layout(height=340, yaxis=dict(tickformat=".0%", rangemode="tozero", title="offer rate"),
                      xaxis=dict(title=ui.DIMENSION_LABELS.get(dimension, dimension).lower()),
                      title="Offer rate after a completed project (95% interval)")
    ui.chart(fig, f"offer rate by {dimension}")
ui.table(table.rename({"group": dimension}), f"compare {dimension}",
         {**ui.rate_columns("completion_rate", "offer_rate", "offer_ci_low", "offer_ci_high"),
          "posted_pay_per_hour": st.column_config.NumberColumn(
              "posted pay per hour", format="dollar", help="Average pay per hour of the paid projects posted."),
          "typical_hours": st.column_config.NumberColumn("typical hours", format="%.0f"),
          "applications_per_slot": st.column_config.NumberColumn(
              "applications per slot", format="%.0f", help="Applications ÷ places offered: the competition.")})
ui.suppression_note(table)

left, right = st.columns(2)
with left:
    st.subheader("Skills most asked for")
    skills = data.figure(top_skills, dimension, groups)
    for group, part in skills.partition_by("group", as_dict=True, maintain_order=True).items():
        st.markdown(f"**{ui.plain(group[0])}**: " + ui.plain(", ".join(part["skill"].to_list())))
with right:
    st.subheader("How selected students found them")
    channels = data.figure(selection_channels, dimension, groups)
    ui.table(channels, f"selection by channel for {dimension}", ui.rate_columns("selection_rate"))

st.subheader("What tends to lead to offers")
for sentence in data.figure(what_leads_to_offers):
    st.markdown(f"- {ui.plain(sentence)}")
st.caption("These compare groups of projects across all students; they describe what happened, and other things "
           "(industry, timing, the student) differ between the groups too.")
