"""What leads to offers: offer and conversion rates by any attribute, ranked with 95% intervals, and a heatmap."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import data, ui
from etl.metrics import benchmarks
from etl.metrics.adjusted import MIN_COMPLETED, PROJECT_ATTRIBUTES, adjusted_offer_rates
from etl.metrics.insights import ranked_offer_rates
from etl.metrics.outcomes import DEFINITIONS, group_order, small_cells, suppressed_counts

st.title("What leads to offers")
ui.require_data()
filters = ui.filters()
options = ["industry", "function", "platform", "employer", "pay_band", "hours_band", "remote", "channel",
           "class_level", "institution", "first_generation", "pell_eligible", "term"]
left, middle, right = st.columns(3)
dimension = ui.dimension_choice(left, "Compare by", options, key="offers_dim")
rate = middle.radio("Rate", ["offer_rate", "conversion_rate"], horizontal=True, key="offers_rate",
                    format_func=lambda r: r.replace("_", " ").capitalize(), help=DEFINITIONS["offer_rate"])
min_n = right.number_input("Rank groups with at least this many completed projects", 1, 500, 10, key="offers_min_n",
                           help="A group that went 2 for 2 is not a finding: groups below this are listed apart.")

clicked: list[object] = []
ranked = data.figure(ranked_offer_rates, dimension, filters, min_n=int(min_n), rate=rate)
ui.require_rows(ranked)
eligible = ranked.filter(pl.col("rank").is_not_null())
st.subheader(f"{rate.replace('_', ' ').capitalize()} by {ui.DIMENSION_LABELS[dimension].lower()}")
if eligible.is_empty():
    st.info(f"No group has {min_n} completed projects yet; lower the minimum to rank smaller groups.")
else:
    shown = eligible.head(25).reverse()
    fig = go.Figure(go.Bar(
        y=shown["group"].to_list(), x=shown[rate].to_list(), orientation="h",
        error_x=dict(type="data", symmetric=False,
                     array=(shown["ci_high"] - shown[rate]).to_list(),
                     arrayminus=(shown[rate] - shown["ci_low"]).to_list()),
        text=[f"{r:.0%} of {n:,}" for r, n in zip(shown[rate], shown["completed"], strict=True)],
        textposition="inside", insidetextanchor="start", textfont=dict(color="white"),  # clear of the whiskers
    ))
    national = ui.benchmark_lines(fig, rate, axis="x")
    highs = [h for h in shown["ci_high"].to_list() if h is not None]
    top = max([*highs, *(b.value for b in benchmarks.national(rate))], default=1.0)
    fig.update_layout(height=max(320, 28 * shown.height + 80),
                      xaxis=dict(tickformat=".0%", title=rate.replace("_", " "), range=[0, min(1.0, top * 1.25)]),
                      yaxis=dict(title=ui.DIMENSION_LABELS[dimension].lower()))
    label = f"{rate.replace('_', ' ')} by {ui.DIMENSION_LABELS[dimension].lower()}"
    clicked = [point.get("y") for point in ui.chart(fig, f"{label}, with 95% intervals", select=True)]
    st.caption(" ".join(["Bars show the rate among completed projects; whiskers are 95% Wilson intervals. Ranked by "
                         f"rate, then by the interval's lower bound, among groups with at least {min_n} completed "
                         f"projects ({ranked.height - eligible.height} smaller groups are listed below, unranked).",
                         *(f"Dotted line: {text}" for text in national)]))
columns = ["rank", "group", "completed", "offers", "offer_rate", "converted", "conversion_rate", "ci_low", "ci_high",
           "acceptance_rate", "median_days_to_offer", "completed_pay_per_hour", "completed_hours"]
picked = ui.table(ranked.select(columns).rename({"group": dimension}), f"{rate} by {dimension}",
                  ui.rate_columns("offer_rate", "conversion_rate", "ci_low", "ci_high", "acceptance_rate"), pick=True)
if picked is not None:  # a row picked in the table opens what lies behind it, as a click on its bar does
    clicked = [picked[dimension]]

ui.behind_a_group(dimension, ranked["group"].to_list(), filters, clicked)

if dimension in PROJECT_ATTRIBUTES:
    label = ui.DIMENSION_LABELS[dimension].lower()
    st.subheader("Offer rate adjusted for the mix of students")
    smallest = max(MIN_COMPLETED, ui.min_cell())
    adjusted = data.figure(adjusted_offer_rates, dimension, filters, min_completed=smallest)
    estimated = adjusted.filter(pl.col("adjusted_offer_rate").is_not_null()).sort("adjusted_offer_rate")
    if estimated.height < 2:
        st.info(f"Fewer than two {label} groups have {smallest} completed projects with and without offers in "
                "this population: nothing to compare.")
    else:
        groups = estimated["group"].to_list()
        fig = go.Figure(go.Scatter(
            x=estimated["adjusted_offer_rate"].to_list(), y=groups, mode="markers", name="adjusted",
            marker=dict(size=11), error_x=dict(
                type="data", symmetric=False,
                array=(estimated["adjusted_ci_high"] - estimated["adjusted_offer_rate"]).to_list(),
                arrayminus=(estimated["adjusted_offer_rate"] - estimated["adjusted_ci_low"]).to_list())))
        fig.add_scatter(x=estimated["raw_offer_rate"].to_list(), y=groups, mode="markers", name="raw",
                        marker=dict(size=11, symbol="circle-open"))
        fig.update_layout(height=max(300, 34 * len(groups) + 120), xaxis=dict(title="offer rate", tickformat=".0%",
                                                                             rangemode="tozero"),
                          yaxis=dict(title=label), legend=dict(orientation="h", y=-0.25))
        ui.chart(fig, f"Offer rate by {label}: raw, and adjusted for the mix of students (95% intervals)")
    st.caption("Adjusted: the offer rate each group would have if its completed projects had been done by the same "
               "mix of students as all of them (class level, major, institution, first-generation status, Pell "
               "eligibility), from a logistic model with errors clustered by employer. It removes differences in "
               "these recorded attributes only, not in motivation or anything else unrecorded. A group needs "
               f"{smallest} completed projects, some with an offer and some without. The difference is to the "
               "group with the most completed projects.")
    ui.table(adjusted.rename({"group": dimension}), f"adjusted offer rate by {dimension}",
             ui.rate_columns("raw_offer_rate", "adjusted_offer_rate", "adjusted_ci_low", "adjusted_ci_high"))

st.subheader("Two attributes at once")
a, b = st.columns(2)
rows = ui.dimension_choice(a, "Rows", options, key="heat_rows", default="industry")
cols = ui.dimension_choice(b, "Columns", options, key="heat_cols", default="pay_band")
if rows == cols:
    st.info("Pick two different attributes.")
else:
    grid = data.figure(suppressed_counts, rows, filters, min_cell=max(ui.min_cell(), 1), second=cols)
    grid = grid.filter(pl.col(rate).is_not_null())  # suppressed cells and cells without a completed project
    x_order = data.figure(group_order, cols) or sorted(set(grid["group2"].to_list()))
    y_order = data.figure(group_order, rows) or sorted(set(grid["group"].to_list()))
    x = [v for v in x_order if v in set(grid["group2"].to_list())]
    y = [v for v in y_order if v in set(grid["group"].to_list())]
    cells = {(r["group"], r["group2"]): r for r in grid.iter_rows(named=True)}
    z = [[cells[(g, h)][rate] if (g, h) in cells else None for h in x] for g in y]
    text = [[f"{cells[(g, h)][rate]:.0%}<br>n={cells[(g, h)]['completed']:,}" if (g, h) in cells else ""
             for h in x] for g in y]
    heat = go.Figure(go.Heatmap(z=z, x=x, y=y, colorscale="Cividis", zmin=0,
                                text=text, texttemplate="%{text}", hoverongaps=False,
                                colorbar=dict(tickformat=".0%")))
    heat.update_layout(height=max(320, 40 * len(y) + 100),
                       xaxis=dict(title=ui.DIMENSION_LABELS[cols].lower()),
                       yaxis=dict(autorange="reversed", title=ui.DIMENSION_LABELS[rows].lower()))
    ui.cell_targets(heat, [h for _, h in cells], [g for g, _ in cells],
                    [f"{ui.words(g)} · {ui.words(h)}: {r[rate]:.1%} of {r['completed']:,} completed"
                     for (g, h), r in cells.items()])
    points = ui.chart(heat, f"{rate.replace('_', ' ')} by {ui.DIMENSION_LABELS[rows].lower()} and "
                            f"{ui.DIMENSION_LABELS[cols].lower()}", select=True)
    st.caption(f"Each cell: {rate.replace('_', ' ')} and completed projects (n). Empty cells have no completed "
               f"project, or are suppressed: {small_cells(max(ui.min_cell(), 1))}. Click a cell for the projects and "
               "employers behind it.")
    ui.behind_a_group((rows, cols), [(g, h) for g in y for h in x if (g, h) in cells], filters,
                      [(p["y"], p["x"]) for p in points if p.get("curve_number") == 1])
