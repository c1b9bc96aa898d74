"""Equity: who takes part and who gets through, by first-generation status, Pell eligibility, gender and race."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, ui
from etl.metrics.insights import EQUITY_DIMENSIONS, equity_table

st.title("Equity")
ui.require_data()
filters = ui.filters()
dimension = st.radio("Students by", EQUITY_DIMENSIONS, horizontal=True, format_func=ui.DIMENSION_LABELS.get,
                     key="equity_dim")
table = data.figure(equity_table, dimension, filters, min_cell=ui.min_cell())
ui.require_rows(table, "students")
stages = {"participation": "Took part (completed a project) ÷ students",
          "selection": "Selected ÷ applications not withdrawn",
          "completion": "Completed ÷ placements closed",
          "offer": "Offered ÷ completed"}
cols = st.columns(4)
for col, (stage, meaning) in zip(cols, stages.items(), strict=True):
    col.metric(f"Overall {stage} rate", ui.percent(table[f"{stage}_overall"][0]), help=meaning)

stage = st.radio("Gap in", list(stages), horizontal=True, format_func=str.capitalize, key="equity_stage")
shown = table.filter(~pl.col("suppressed") & pl.col(f"{stage}_gap").is_not_null())
points = shown.select(pl.col("group"), *(pl.col(f"{stage}_{part}") * 100 for part in ("gap", "gap_low", "gap_high")))
fig = go.Figure(go.Scatter(
    x=points[f"{stage}_gap"].to_list(), y=points["group"].to_list(), mode="markers", marker=dict(size=12),
    error_x=dict(type="data", symmetric=False,
                 array=(points[f"{stage}_gap_high"] - points[f"{stage}_gap"]).to_list(),
                 arrayminus=(points[f"{stage}_gap"] - points[f"{stage}_gap_low"]).to_list()),
    hovertemplate="%{y}: %{x:+.1f} percentage points<extra></extra>",
))
fig.add_vline(x=0, line_dash="dash", line_color="#555")
fig.update_layout(height=max(260, 45 * shown.height + 80),
                  xaxis=dict(tickformat="+.1f", ticksuffix=" pts",
                             title="gap to the overall rate (percentage points)"),
                  yaxis=dict(title=ui.DIMENSION_LABELS.get(dimension, dimension).lower()),
                  title=f"{stage.capitalize()} rate: gap to the overall rate, with 95% interval")
clicked = [point.get("y") for point in ui.chart(fig, f"{stage} gap by {dimension}", select=True)]
st.caption("A point left of the dashed line is a group below the overall rate. The whisker is the group's 95% "
           "Wilson interval less the overall rate; a whisker that crosses zero is not a clear gap. Click a point "
           "for the projects and employers behind the group.")
columns = ["group", "students", "applicants", "participants", "participation_rate", "participation_gap",
           "selection_rate", "selection_gap", "completion_rate", "completion_gap", "offer_rate", "offer_gap",
           "suppressed"]
picked = ui.table(table.select(columns).rename({"group": dimension}), f"equity by {dimension}",
                  ui.rate_columns("participation_rate", "selection_rate", "completion_rate", "offer_rate"), pick=True)
ui.suppression_note(table)
if picked is not None:  # a row picked in the table opens what lies behind it, as a click on its point does
    clicked = [picked[dimension]]
ui.behind_a_group(dimension, table.filter(~pl.col("suppressed"))["group"].to_list(), filters, clicked)
