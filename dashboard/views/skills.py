"""Skills: self-rated gains after completed projects, and the skills listed on projects that lead to offers."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, ui
from etl.metrics.insights import skill_gains, skill_summary, skills_that_lead_to_offers

st.title("Skills")
ui.require_data()
filters = ui.filters()
st.caption("Students rate each of a project's skills from 1 to 5 before they start and after they finish. The "
           "gain is the after minus the before, for the same student, project and skill.")
overall = data.figure(skill_gains, "overall", filters)
if overall.is_empty():
    st.info("No before-and-after skill assessments in this population. Load skill_assessments with `pre` and "
            "`post` phases to see gains.")
    st.stop()
nace = overall.filter(pl.col("nace_competency")).sort("gain")
technical = overall.filter(~pl.col("nace_competency") & (pl.col("pairs") >= max(ui.min_cell(), 1))).sort("gain")
summary = skill_summary(overall)
cols = st.columns(3)
cols[0].metric("Assessed skill pairs", f"{summary['pairs']:,}")
cols[1].metric("Average gain (levels)", f"{summary['gain']:+.2f}")
cols[2].metric("Share improved", ui.percent(summary["improved_share"]))

left, right = st.columns(2)
for col, frame, title in ((left, nace, "NACE career-readiness competencies"),
                          (right, technical.tail(15), "Technical skills (largest gains)")):
    fig = go.Figure(go.Bar(y=frame["skill"].to_list(), x=frame["gain"].to_list(), orientation="h",
                           text=[f"{g:+.2f} (n={n:,})" for g, n in zip(frame["gain"], frame["pairs"], strict=True)],
                           textposition="outside", cliponaxis=False))
    top = max(frame.select(pl.col("gain").max().fill_null(0)).item(), 0.1)
    fig.update_layout(height=max(300, 30 * frame.height + 80), title=title, xaxis_title="average gain (levels)",
                      xaxis=dict(range=[min(0, frame.select(pl.col("gain").min().fill_null(0)).item()), top * 1.4]),
                      yaxis_title="competency" if frame is nace else "skill")
    with col:
        ui.chart(fig, title)

dimension = st.radio("Gains by", ["industry", "function"], horizontal=True, format_func=ui.DIMENSION_LABELS.get,
                     key="skills_dim")
by_group = data.figure(skill_gains, dimension, filters).filter(pl.col("pairs") >= max(ui.min_cell(), 1))
grid = by_group.pivot(on="group", index="skill", values="gain", sort_columns=True).sort("skill")
x = [c for c in grid.columns if c != "skill"]
heat = go.Figure(go.Heatmap(z=grid.select(x).to_numpy(), x=x, y=grid["skill"].to_list(), colorscale="Cividis",
                            texttemplate="%{z:+.1f}", hoverongaps=False))
heat.update_layout(height=max(360, 22 * grid.height + 120), title=f"Average gain by skill and {dimension}",
                   xaxis_title=dimension, yaxis_title="skill")
ui.chart(heat, f"skill gains by {dimension}")
ui.table(by_group.select("skill", "group", "pairs", "pre_level", "post_level", "gain", "improved_share",
                         "nace_competency").rename({"group": dimension}), f"skill gains by {dimension}",
         ui.rate_columns("improved_share"))

st.subheader("Skills on projects whose completers most often received offers")
min_n = st.number_input("Only skills with at least this many completed projects", 1, 1000, 20, key="skills_min_n")
ranked = data.figure(skills_that_lead_to_offers, filters, min_n=int(min_n))
if ranked.is_empty():
    st.info("No skill has that many completed projects yet.")
else:
    ui.table(ranked.select("rank", "skill", "nace_competency", "completed", "offers", "offer_rate", "ci_low",
                           "ci_high"), "skills that lead to offers",
             ui.rate_columns("offer_rate", "ci_low", "ci_high"))
    st.caption("Offer rate of completed projects that list the skill, with its 95% Wilson interval. A skill on "
               "many projects in high-offer industries ranks high for that reason too.")
