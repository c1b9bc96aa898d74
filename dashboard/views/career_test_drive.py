"""Career test-drive: did students who tried several industries land in one of them, and how many projects came
before an offer?"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboard import data, ui
from etl.metrics.insights import projects_to_offer, test_drive, test_drive_summary

st.title("Career test-drive")
ui.require_data()
filters = ui.filters()
st.caption("Micro-internships are said to let students test-drive careers. Here: students with completed projects, "
           "by how many industries those projects spanned.")
table = data.figure(test_drive, filters, min_cell=ui.min_cell())
ui.require_rows(table, "completed projects")
summary = data.figure(test_drive_summary, filters, min_cell=ui.min_cell())
cols = st.columns(3)
cols[0].metric("Students with completed projects", ui.count(summary["students"]))
cols[1].metric("Tried two or more industries", ui.count(summary["several_industries"]),
               help="Completed micro-internships in at least two industries.")
cols[2].metric("First destination in an industry they tried", ui.percent(summary["destination_in_tried_share"]),
               help="Among students whose first destination names an industry.")
left, right = st.columns(2)
with left:
    fig = go.Figure()
    fig.add_bar(x=table["industries_tried"].to_list(), y=table["destination_in_tried_share"].to_list(),
                name="destination in a tried industry")
    fig.add_bar(x=table["industries_tried"].to_list(), y=table["offer_share"].to_list(),
                name="received an attributed offer")
    fig.update_layout(barmode="group", height=360, xaxis=dict(title="industries tried", dtick=1),
                      yaxis=dict(tickformat=".0%", title="share of the students"),
                      legend=dict(orientation="h", y=-0.3))
    ui.chart(fig, "Outcomes by the number of industries tried")
with right:
    steps = data.figure(projects_to_offer, filters)
    fig = go.Figure(go.Bar(x=steps["projects_to_offer"].to_list(), y=steps["students"].to_list()))
    fig.update_layout(height=360, xaxis=dict(title="completed projects up to the first offer", dtick=1),
                      yaxis=dict(title="students", tickformat=",d"))
    ui.chart(fig, "Completed projects before the first offer")
ui.table(table, "career test-drive",
         ui.rate_columns("offer_share", "destination_in_tried_share"))
ui.suppression_note(table)
st.caption("Students who try more industries also complete more projects, so more of them reach an offer and a "
           "destination in one of those industries: compare like with like before drawing conclusions.")
