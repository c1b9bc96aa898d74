"""First destinations (NACE): knowledge and career outcomes rates by cohort, participants against the rest."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, ui
from etl.metrics.insights import outcome_mix
from etl.metrics.outcomes import DEFINITIONS, destinations_table

st.title("First destinations")
ui.require_data()
filters = ui.filters()
st.warning("Participation is not random: students who complete micro-internships differ from those who do not "
           "(major, class level, time, networks). A gap between the two groups is an association, not the effect "
           "of the micro-internship.", icon="⚠️")
table = data.figure(destinations_table, filters, min_cell=ui.min_cell())
ui.require_rows(table, "graduates")
graduated = table.filter(pl.col("knowledge_rate").fill_null(1.0) > 0)
only_past = st.toggle("Only cohorts with reported destinations", value=True, key="dest_past",
                      help="Cohorts that have not graduated yet have no destinations and a knowledge rate of 0.")
shown = graduated if only_past and not graduated.is_empty() else table

left, right = st.columns(2)
for col, rate in ((left, "career_outcomes_rate"), (right, "knowledge_rate")):
    fig = go.Figure()
    for took, part in shown.partition_by("participated", as_dict=True, maintain_order=True).items():
        label = "took part" if took[0] == "yes" else "did not take part"
        fig.add_bar(x=part["cohort"].to_list(), y=part[rate].to_list(), name=label)
    fig.update_layout(barmode="group", height=340, yaxis=dict(tickformat=".0%", range=[0, 1]),
                      title=rate.replace("_", " ").capitalize(), legend=dict(orientation="h", y=-0.2))
    with col:
        ui.chart(fig, f"{rate} by cohort")
        st.caption(DEFINITIONS[rate])
ui.table(shown, "first destinations by cohort",
         {**ui.rate_columns("knowledge_rate", "career_outcomes_rate"),
          "median_salary_usd": st.column_config.NumberColumn("median salary", format="dollar")})
ui.suppression_note(shown)

st.subheader("Outcome mix")
mix = data.figure(outcome_mix, filters)
cohorts = shown["cohort"].unique().to_list()
mix = mix.filter(pl.col("cohort").is_in(cohorts))
sizes = mix.group_by("cohort", "participated").agg(pl.col("students").sum().alias("size"))
mix = mix.join(sizes, on=["cohort", "participated"]).filter(pl.col("size") >= max(ui.min_cell(), 1))
mix = mix.with_columns((pl.col("students") / pl.col("size")).alias("share"),
                       (pl.col("cohort") + " · " + pl.col("participated").replace({"yes": "took part",
                                                                                  "no": "did not"})).alias("bar"))
fig = go.Figure()
for outcome, part in mix.partition_by("outcome", as_dict=True, maintain_order=True).items():
    fig.add_bar(y=part["bar"].to_list(), x=part["share"].to_list(), name=outcome[0], orientation="h")
fig.update_layout(barmode="stack", height=max(300, 36 * mix["bar"].n_unique() + 120),
                  xaxis=dict(tickformat=".0%"), legend=dict(orientation="h", y=-0.2))
ui.chart(fig, "outcome mix by cohort")
