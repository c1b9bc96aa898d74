"""First destinations (NACE): knowledge and career outcomes rates by cohort, participants against the rest."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, theme, ui
from etl.metrics.insights import outcome_mix
from etl.metrics.outcomes import DEFINITIONS, destinations_table, reported_cohorts

st.title("First destinations")
ui.require_data()
filters = ui.filters()
st.warning("Participation is not random: students who complete micro-internships differ from those who do not "
           "(major, class level, time, networks). A gap between the two groups is an association, not the effect "
           "of the micro-internship.", icon="⚠️")
table = data.figure(destinations_table, filters, min_cell=ui.min_cell())
ui.require_rows(table, "graduates")
reported = data.figure(reported_cohorts, filters)
only_past = st.toggle("Only cohorts with reported destinations", value=True, key="dest_past",
                      help="Cohorts that have not graduated yet have no destinations and a knowledge rate of 0.")
shown = table.filter(pl.col("cohort").is_in(reported)) if only_past and reported else table

left, right = st.columns(2)
for col, rate in ((left, "career_outcomes_rate"), (right, "knowledge_rate")):
    fig = go.Figure()
    for took, part in shown.partition_by("participated", as_dict=True, maintain_order=True).items():
        label = "took part" if took[0] == "yes" else "did not take part"
        fig.add_bar(x=part["cohort"].to_list(), y=part[rate].to_list(), name=label)
    fig.update_layout(barmode="group", height=360, yaxis=dict(tickformat=".0%", range=[0, 1],
                                                              title=rate.replace("_", " ")),
                      xaxis=dict(title="graduating cohort"), title=rate.replace("_", " ").capitalize(),
                      legend=dict(orientation="h", y=-0.3))
    national = ui.benchmark_lines(fig, rate)
    with col:
        ui.chart(fig, f"{rate} by cohort")
        st.caption(" ".join([DEFINITIONS[rate], *(f"Dotted line: {text}" for text in national)]))
ui.table(shown, "first destinations by cohort",
         {**ui.rate_columns("knowledge_rate", "career_outcomes_rate"),
          "median_salary_usd": st.column_config.NumberColumn("median salary", format="dollar")})
ui.suppression_note(shown)

st.subheader("Outcome mix")
mix = data.figure(outcome_mix, filters, min_cell=ui.min_cell())
mix = mix.filter(pl.col("cohort").is_in(shown["cohort"].unique().to_list()) & ~pl.col("suppressed"))
mix = mix.with_columns((pl.col("cohort") + " · " + pl.col("participated").replace(
    {"yes": "took part", "no": "did not"})).alias("bar"))
fig = go.Figure()
for outcome, colour in theme.OUTCOME_COLOURS.items():
    part = mix.filter(pl.col("outcome") == outcome)
    if part.height:
        fig.add_bar(y=part["bar"].to_list(), x=part["share"].to_list(), name=outcome.replace("_", " "),
                    orientation="h", marker_color=colour)
fig.update_layout(barmode="stack", height=max(300, 36 * mix["bar"].n_unique() + 120),
                  xaxis=dict(tickformat=".0%", title="share of the group's students"),
                  yaxis=dict(title="cohort and participation"),
                  legend=dict(orientation="h", y=-0.2), title="First destinations of each cohort")
ui.chart(fig, "outcome mix by cohort")
ui.suppression_note(mix.with_columns(pl.lit(False).alias("suppressed")))
