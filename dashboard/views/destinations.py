"""First destinations (NACE): knowledge and career outcomes rates by cohort, participants against the rest."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, theme, ui
from etl.metrics.adjusted import (
    MAX_SMD,
    MIN_GROUP,
    OVERLAP_BINS,
    overlap_bins,
    participation_balance,
    participation_effects,
)
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
    for key, part in shown.partition_by("participated", as_dict=True, maintain_order=True).items():
        label = "took part" if key[0] == "yes" else "did not take part"
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

st.subheader("Participants against comparable non-participants")
effects = data.figure(participation_effects, filters, min_cell=ui.min_cell())
effects = effects.filter(pl.col("cohort").is_in(shown["cohort"].unique().to_list()))
estimated = effects.filter(pl.col("adjusted_difference").is_not_null())
if estimated.height == 0:
    st.info(f"No cohort shown has {max(MIN_GROUP, ui.min_cell())} graduates who took part and as many who did not, "
            "with a known outcome: nothing to compare.")
else:
    cohorts = estimated["cohort"].to_list()
    points = estimated.select("cohort", *[pl.col(c) * 100 for c in ("adjusted_difference", "ci_low", "ci_high",
                                                                     "raw_difference")])
    fig = go.Figure(go.Scatter(
        x=cohorts, y=points["adjusted_difference"].to_list(), mode="markers", name="adjusted",
        marker=dict(size=11), error_y=dict(
            type="data", symmetric=False, array=(points["ci_high"] - points["adjusted_difference"]).to_list(),
            arrayminus=(points["adjusted_difference"] - points["ci_low"]).to_list())))
    fig.add_scatter(x=cohorts, y=points["raw_difference"].to_list(), mode="markers", name="raw",
                    marker=dict(size=11, symbol="circle-open"))
    fig.add_hline(y=0, line=dict(color="grey", width=1))
    fig.update_layout(height=380, xaxis=dict(title="graduating cohort", type="category"),
                      yaxis=dict(title="took part less did not (points)", tickformat="+.0f", ticksuffix=" pts"),
                      legend=dict(orientation="h", y=-0.25))
    ui.chart(fig, "Career outcomes rate, took part less did not: raw, and against comparable non-participants "
                  "(95% intervals)")
st.caption("Comparable non-participants: within each cohort, a logistic model gives every graduate's propensity to "
           "take part from their class level, major, institution, first-generation status and Pell eligibility, and "
           "the graduates who did not take part are weighted by the odds of that propensity, so that together they "
           "have the participants' mix of these attributes. The adjusted difference is the participants' career "
           "outcomes rate less theirs: what taking part went with for those who took part. It removes differences in "
           "these recorded attributes only; students who seek out micro-internships may differ in motivation or "
           "connections that no record holds, so even the adjusted difference is not proof of an effect. Each group "
           f"needs {max(MIN_GROUP, ui.min_cell())} graduates with a known outcome.")
ui.table(effects.rename({"ci_low": "difference_ci_low", "ci_high": "difference_ci_high"}),
         "participants against comparable non-participants",
         {"participants": st.column_config.NumberColumn("took part", help="Graduates who took part, with a known "
                                                        "outcome other than not seeking"),
          "non_participants": st.column_config.NumberColumn("did not", help="Graduates who did not take part, with a "
                                                            "known outcome other than not seeking"),
          "adjusted_difference": st.column_config.NumberColumn("adjusted difference"),
          "difference_ci_low": st.column_config.NumberColumn("95% low"),
          "difference_ci_high": st.column_config.NumberColumn("95% high"),
          "max_abs_smd_after": st.column_config.NumberColumn(
              "largest SMD after weighting", format="%.2f",
              help=f"The largest standardised difference left between the groups; above {MAX_SMD} they are not "
                   "comparable on that attribute")})

if estimated.height:
    cohort = st.selectbox("Balance and overlap of cohort", cohorts, index=len(cohorts) - 1, key="dest_balance")
    balance, propensities = data.figure(participation_balance, cohort, filters)
    if balance["flagged"].any():
        st.warning(f"After weighting, {balance['flagged'].sum()} attribute level(s) still differ by more than "
                   f"{MAX_SMD} standard deviations: the groups are not comparable on them, and the adjusted "
                   "difference should be read with care.", icon="⚠️")
    left, right = st.columns(2)
    with left:
        fig = go.Figure()
        for took, label in ((True, "took part"), (False, "did not take part")):
            # Binned here: the chart carries 20 bars a group, not one point per graduate.
            counts = overlap_bins(propensities.filter(pl.col("took_part") == took)["propensity"])
            total = sum(counts) or 1
            fig.add_bar(x=[(b + 0.5) / OVERLAP_BINS for b in range(OVERLAP_BINS)],
                        y=[100 * c / total for c in counts], width=1 / OVERLAP_BINS, name=label, opacity=0.6,
                        customdata=counts,
                        hovertemplate="%{y:.1f}% (%{customdata} graduates)<extra>" + label + "</extra>")
        fig.update_layout(barmode="overlay", height=360, xaxis=dict(title="propensity to take part", range=[0, 1]),
                          yaxis=dict(title="share of the group's graduates (%)"),
                          legend=dict(orientation="h", y=-0.3))
        ui.chart(fig, "Overlap: propensity to take part, by group")
        st.caption("Weighting compares like with like only where the two groups overlap: a propensity that only "
                   "participants reach has no comparable non-participant.")
    with right:
        smd = balance.sort("smd_before", descending=True, nulls_last=True)
        labels = [f"{ui.DIMENSION_LABELS.get(a, a)}: {theme.words(v)}" for a, v in
                  zip(smd["attribute"].to_list(), smd["value"].to_list(), strict=True)]
        fig = go.Figure(go.Scatter(x=smd["smd_before"].abs().to_list(), y=labels, mode="markers", name="before",
                                   marker=dict(symbol="circle-open", size=9)))
        fig.add_scatter(x=smd["smd_after"].abs().to_list(), y=labels, mode="markers", name="after weighting",
                        marker=dict(size=9))
        fig.add_vline(x=MAX_SMD, line=dict(color="grey", dash="dot"))
        fig.update_layout(height=max(360, 22 * len(labels) + 140),
                          xaxis=dict(title="absolute standardised difference", rangemode="tozero"),
                          yaxis=dict(title="attribute", autorange="reversed"), legend=dict(orientation="h", y=-0.2))
        ui.chart(fig, "Balance: standardised differences before and after weighting")
    ui.table(balance.with_columns(pl.col("attribute").replace_strict(ui.DIMENSION_LABELS, default=pl.col("attribute"))),
             "balance of the weighted groups",
             {"participants": st.column_config.NumberColumn("took part", format="percent"),
              "non_participants": st.column_config.NumberColumn("did not", format="percent"),
              "weighted_non_participants": st.column_config.NumberColumn("did not, weighted", format="percent"),
              "smd_before": st.column_config.NumberColumn("SMD before", format="%.2f"),
              "smd_after": st.column_config.NumberColumn("SMD after", format="%.2f"),
              "flagged": st.column_config.CheckboxColumn(f"above {MAX_SMD}")})
