"""Channels: how students found their micro-internships, and which channels and platforms lead further."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from plotly.subplots import make_subplots

from dashboard import data, ui
from dashboard.theme import OKABE_ITO
from etl.metrics.outcomes import suppressed_counts

st.title("Channels and platforms")
ui.require_data()
filters = ui.filters()
st.caption("Channel: how the student found the project (the platform itself, career services, networking such as "
           "LinkedIn or alumni, a referral, or a direct approach). Platform: where the project was posted.")
rates = ["selection_rate", "completion_rate", "offer_rate", "conversion_rate"]
channels = data.figure(suppressed_counts, "channel", filters, min_cell=ui.min_cell())
ui.require_rows(channels)

# One panel per rate: selection rates are a few percent, completion rates near 90%.
fig = make_subplots(rows=1, cols=4, horizontal_spacing=0.07)
for i, rate in enumerate(rates, start=1):
    fig.add_bar(x=channels["group"].to_list(), y=channels[rate].to_list(), name=rate.replace("_", " "),
                marker_color=OKABE_ITO[i - 1], showlegend=False, row=1, col=i)
    small = channels.select(pl.col(rate).max().fill_null(0)).item() < 0.1
    fig.update_yaxes(tickformat=".1%" if small else ".0%", rangemode="tozero", title=rate.replace("_", " "),
                     row=1, col=i)
    fig.update_xaxes(title="channel", row=1, col=i)
fig.update_layout(height=380)
clicked = [point.get("x") for point in ui.chart(fig, "Selection, completion, offer and conversion rate by channel",
                                                select=True)]
columns = ["group", "applications", "applicants", "selection_rate", "completed", "completion_rate", "offers",
           "offer_rate", "conversion_rate", "new_contacts", "suppressed"]
picked = ui.table(channels.select(columns).rename({"group": "channel"}), "rates by channel", ui.rate_columns(*rates),
                  pick=True)
ui.suppression_note(channels)
if picked is not None:  # a row picked in the table opens what lies behind it, as a click on its bar does
    clicked = [picked["channel"]]
ui.behind_a_group("channel", channels.filter(~pl.col("suppressed"))["group"].to_list(), filters, clicked)

shown = channels.filter(~pl.col("suppressed"))
left, right = st.columns(2)
with left:
    st.subheader("Where applications come from")
    pie = go.Figure(go.Pie(labels=shown["group"].to_list(), values=shown["applications"].to_list(), hole=0.45,
                           sort=False))
    pie.update_layout(height=340)
    ui.chart(pie, "Applications by channel")
with right:
    st.subheader("New professional contacts")
    contacts = go.Figure(go.Bar(x=channels["group"].to_list(), y=channels["new_contacts"].to_list()))
    contacts.update_layout(height=340, yaxis_title="contacts per completed project", xaxis_title="channel")
    ui.chart(contacts, "New contacts per completed project, by channel")
    reporting = channels.filter(~pl.col("suppressed"))
    st.caption("Average professional contacts a student reported per completed project: the 'wider network' "
               f"claim, measured. Over the {int(reporting['contacts_reported'].sum()):,} of "
               f"{int(reporting['completed'].sum()):,} completed projects that reported a number.")

st.subheader("Platforms compared")
platforms = data.figure(suppressed_counts, "platform", filters, min_cell=ui.min_cell())
columns = ["group", "projects", "applications", "selection_rate", "completed", "completion_rate", "offer_rate",
           "conversion_rate", "completed_pay_per_hour", "completed_hours", "student_rating", "suppressed"]
picked = ui.table(platforms.select(columns).rename({"group": "platform"}).sort("applications", descending=True,
                                                                              nulls_last=True),
                  "platforms compared", ui.rate_columns(*rates), pick=True)
mix = data.figure(suppressed_counts, "platform", filters, min_cell=max(ui.min_cell(), 1), second="channel")
heat = mix.pivot(on="group2", index="group", values="offer_rate", sort_columns=True).sort("group")
x = [c for c in heat.columns if c != "group"]
fig = go.Figure(go.Heatmap(z=heat.select(x).to_numpy(), x=x, y=heat["group"].to_list(), colorscale="Cividis",
                           zmin=0, texttemplate="%{z:.0%}", colorbar=dict(tickformat=".0%")))
fig.update_layout(height=360, title="Offer rate by platform and channel", xaxis_title="channel",
                  yaxis_title="platform")
shown = mix.filter(pl.col("offer_rate").is_not_null())
ui.cell_targets(fig, shown["group2"].to_list(), shown["group"].to_list(),
                [f"{ui.words(r['group'])} · {ui.words(r['group2'])}: {r['offer_rate']:.1%} of {r['completed']:,} "
                 "completed"
                 for r in shown.iter_rows(named=True)])
points = ui.chart(fig, "offer rate by platform and channel", select=True)
ui.suppression_note(platforms)
ui.behind_a_group("platform", platforms.filter(~pl.col("suppressed"))["group"].to_list(), filters,
                  [picked["platform"]] if picked is not None else [])
ui.behind_a_group(("platform", "channel"), list(zip(shown["group"], shown["group2"], strict=True)), filters,
                  [(p["y"], p["x"]) for p in points if p.get("curve_number") == 1])
