"""Shared pieces of every page: the population, empty states, tables with safe CSV downloads, charts with PNG
export, and the definitions shown next to figures."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit.elements.arrow import DataframeState
from streamlit.elements.plotly_chart import PlotlyState

from dashboard import auth, data
from dashboard.markdown import plain  # noqa: F401 - the pages write names through ui.plain
from dashboard.theme import CODES, words
from etl.metrics.columns import DIMENSION_LABELS, FIGURES  # noqa: F401 - the pages' labels, declared once
from etl.metrics.export import to_csv
from etl.metrics.outcomes import DEFAULT_MIN_CELL, DEFINITIONS, Filters, small_cells


def filters() -> Filters:
    """The population the sidebar selects; a director bound to an institution gets that institution, whatever the
    sidebar, the URL or the session say."""
    chosen = st.session_state.get("filters", Filters())
    user = auth.current_user()
    if user is not None and user.institution is not None:
        return dataclasses.replace(chosen, institutions=(user.institution,))
    return chosen


def min_cell() -> int:
    return int(st.session_state.get("min_cell", DEFAULT_MIN_CELL))


def require_data() -> None:
    """Director pages start here: only a director passes, and only with a loaded warehouse."""
    auth.require_role("director")
    if data.connection() is None:
        st.info("The warehouse is empty, or was built by an older version of mio. Load a source: "
                "`mio load --source DIR` (or `mio demo` for a synthetic sample).")
        st.stop()


def require_rows(frame: pl.DataFrame, what: str = "applications") -> None:
    if frame.is_empty():
        st.warning(f"No {what} match these filters. Widen the population in the sidebar.")
        st.stop()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Column headers in words, with their units, where the name alone does not say it (declared in columns.FIGURES).
HEADERS = {f.name: f.header for f in FIGURES if f.header}
HIDDEN = "—"  # a blank: suppressed, or no figure (the page's note says which)
# The data grid writes "None" in a cell whose value is missing, whatever the display value pandas' Styler gives it.
# So a missing number goes to the grid as this stand-in (sorted to one end), and its display value is HIDDEN.
BLANK = float("-inf")
# A longer table shows its first rows in the page's order and a box that finds any row by its first text column; its
# CSV has every row. Formatting each cell for display (pandas' Styler) costs the server about 5 µs a cell: the 4,000
# rows of the Employers table at a million applications took a quarter of a second at every rerun of every session.
SHOWN_ROWS = 500


def header(column: str) -> str:
    return HEADERS.get(column, column.replace("_", " "))


def _formatter(column: str, dtype: pl.DataType, given: str | None) -> Callable[[Any], Any] | None:
    """How a column's values read: rates as percentages, money in dollars, counts with separators; text as it is."""
    if dtype == pl.Boolean:
        return lambda v: "yes" if v else "no"
    if dtype == pl.String:
        return words
    if not dtype.is_numeric():
        return None
    if column.endswith(("_gap", "_gap_low", "_gap_high", "_difference", "difference_ci_low", "difference_ci_high")) \
            or column == "change_pts":
        scale = 1 if column == "change_pts" else 100
        return lambda v: f"{round(v * scale, 1) + 0.0:+.1f} pts"  # + 0.0: a gap that rounds to zero reads +0.0
    if given == "percent" or column.endswith(("_rate", "share", "ci_low", "ci_high")):
        return lambda v: f"{v:.1%}"
    if given == "dollar" or column.endswith(("pay_per_hour", "_usd")):
        return (lambda v: f"${v:,.0f}") if column.endswith("_usd") else (lambda v: f"${v:,.2f}")
    if given and given.startswith("%"):
        return lambda v: given % v
    if "rating" in column:
        return lambda v: f"{v:.2f}"
    if dtype.is_integer():
        return lambda v: f"{int(v):,}"
    return lambda v: f"{v:,.1f}"


def table(frame: pl.DataFrame, name: str, column_config: dict | None = None, pick: bool = False) -> dict | None:
    """Show a table as a person reads it (headers in words, rates as percentages, money in dollars, counts with
    separators, blanks as a dash; the `suppressed` flag stays in the CSV, the blanks and the page's note say it on
    screen) and offer it as CSV (text cells that a spreadsheet would run as formulas are neutralized). With `pick`,
    a click on a row's checkbox reruns the page and the row comes back (for a drill-down)."""
    given = column_config or {}
    shown = frame.drop("suppressed", strict=False)
    if shown.height > SHOWN_ROWS:
        shown = _first_rows(shown, name)
    config = {}
    formats = {}
    for column in shown.columns:
        settings = dict(given.get(column) or {})
        kind = (settings.get("type_config") or {}).get("format")
        if (settings.get("type_config") or {}).get("type") == "checkbox":
            kind = None
        config[column] = st.column_config.Column(settings.get("label") or header(column),
                                                 help=settings.get("help") or DEFINITIONS.get(column))
        if (format_value := _formatter(column, shown.schema[column], kind)) is not None:
            formats[column] = _blank_aware(format_value) if shown.schema[column].is_numeric() else format_value
    grid = shown.with_columns(
        *[pl.col(c).cast(pl.Float64).fill_nan(None).fill_null(BLANK) for c, dtype in shown.schema.items()
          if dtype.is_numeric() and c in formats
          and (shown[c].null_count() or (dtype.is_float() and shown[c].is_nan().any()))],
        *[pl.col(c).fill_null(HIDDEN) for c, dtype in shown.schema.items()
          if dtype == pl.String and shown[c].null_count()],
        # Dates read as dates (the grid would add a midnight), times to the minute; ISO text sorts in time order.
        *[pl.col(c).dt.strftime("%Y-%m-%d" if dtype == pl.Date else "%Y-%m-%d %H:%M").fill_null(HIDDEN)
          for c, dtype in shown.schema.items() if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime)])
    event = st.dataframe(grid.to_pandas().style.format(formats, na_rep=HIDDEN), hide_index=True,
                         column_config=config, width="stretch", key=f"table-{slug(name)}" if pick else None,
                         on_select="rerun" if pick else "ignore", selection_mode="single-row")
    st.download_button("Download CSV", to_csv(frame), file_name=f"{slug(name)}.csv", mime="text/csv",
                       key=f"download-{slug(name)}")
    rows = event.selection.rows if pick and isinstance(event, DataframeState) else []
    return shown.row(rows[0], named=True) if rows and rows[0] < shown.height else None


def _blank_aware(format_value: Callable[[object], str]) -> Callable[[object], str]:
    return lambda v: HIDDEN if v == BLANK else format_value(v)


def cell_targets(figure: go.Figure, x: list, y: list, hover: list[str]) -> go.Figure:
    """Make a heatmap's cells clickable: Plotly reports no click on a heatmap, so an invisible marker sits on each
    cell (x[i], y[i]) and carries its hover text (data values escaped); a click comes back as that marker's point."""
    figure.add_scatter(x=x, y=y, mode="markers", marker=dict(symbol="square", size=34, opacity=0), showlegend=False,
                       hovertemplate="%{text}<extra></extra>", text=[_text_only(h) for h in hover], name="cell")
    figure.update_traces(hoverinfo="skip", selector=dict(type="heatmap"))
    return figure


def _first_rows(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """The rows of a long table that the page shows: those whose first text column holds what the visitor typed
    (any case), the first SHOWN_ROWS of them in the table's order."""
    text = next((c for c in frame.columns if frame.schema[c] == pl.String), None)
    found = frame
    if text is not None:
        typed = st.text_input(f"Find a row by {header(text)}", key=f"find-{slug(name)}",
                              placeholder=f"{frame.height:,} rows: type part of a name").strip()
        if typed:
            found = frame.filter(pl.col(text).str.to_lowercase().str.contains(typed.lower(), literal=True))
    if found.height > SHOWN_ROWS:
        st.caption(f"Showing the first {SHOWN_ROWS:,} of {found.height:,} rows, in this order. The CSV below has all "
                   f"{frame.height:,}.")
    return found.head(SHOWN_ROWS)


def _text_only(values: object) -> object:
    """Plotly reads <b>, <a href> and the like in labels; a data value is written with its brackets escaped."""
    if isinstance(values, str):
        return values.replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(values, (list, tuple)):
        return [_text_only(v) for v in values]
    return values


def coded_axes(figure: go.Figure) -> go.Figure:
    """Category axes and pie labels that hold the contract's codes show them in words (the points keep the codes,
    so a click still names its group)."""
    categories: dict[str, list[str]] = {}
    for trace in figure.data:
        if trace.type == "pie":
            if trace.labels is not None and CODES & set(trace.labels):
                trace.labels = [words(v) for v in trace.labels]
            continue
        for dimension in ("x", "y"):
            values = getattr(trace, dimension, None)
            if values is None or not any(isinstance(v, str) and v in CODES for v in values):
                continue
            axis = f"{dimension}axis{(getattr(trace, f'{dimension}axis', None) or dimension)[1:]}"
            categories.setdefault(axis, [])
            categories[axis] += [v for v in values if v not in categories[axis]]
    for axis, values in categories.items():
        figure.layout[axis].update(tickvals=values, ticktext=[words(v) for v in values])
    return figure


def text_labels(figure: go.Figure) -> go.Figure:
    """Every category label and series name of the figure as text (Plotly would read tags in them)."""
    for trace in figure.data:
        for attribute in ("x", "y", "labels", "name"):
            value = getattr(trace, attribute, None)
            if isinstance(value, (str, tuple, list)):
                trace[attribute] = _text_only(list(value) if isinstance(value, tuple) else value)
    return figure


def readable_ticks(figure: go.Figure) -> go.Figure:
    """Percentage axes with as many decimals as their ticks need (".1~%": 1%, 1.5%, 2%), never the same label twice
    (".0%" wrote 1%, 1%, 2%, 2% on an axis stepping by half a point); count axes (",d") in whole steps when their
    values are small (Plotly would step by a half and write 0, 1, 1, 2, 2)."""
    layout = figure.layout.to_plotly_json()
    for axis, settings in layout.items():  # every axis, subplots' included
        if axis.startswith(("xaxis", "yaxis")) and settings.get("tickformat") == ".0%":
            figure.layout[axis].tickformat = ".1~%"
    for trace in figure.data:  # a heatmap's colour bar
        colorbar = getattr(trace, "colorbar", None)
        if colorbar is not None and colorbar.tickformat == ".0%":
            colorbar.tickformat = ".1~%"
    largest: dict[str, float] = {}
    for trace in figure.data:
        for dimension in ("x", "y"):
            reference = getattr(trace, f"{dimension}axis", None) or dimension
            axis = f"{dimension}axis{reference[1:]}"
            values = [v for v in (getattr(trace, dimension, None) or ()) if isinstance(v, (int, float))]
            if values and layout.get(axis, {}).get("tickformat") == ",d":
                largest[axis] = max(largest.get(axis, 0), *values)
    for axis, top in largest.items():
        if top <= 10 and "dtick" not in layout.get(axis, {}):
            figure.layout[axis].dtick = 1
    return figure


def chart(figure: go.Figure, title: str, select: bool = False) -> list[dict]:
    """Draw a Plotly chart under `title` (unless the figure has its own), every category label and series name as
    text; its toolbar's camera button saves it as a PNG named after the title. With `select`, a click on a bar or
    point reruns the page and the chosen points come back (Streamlit's selection events)."""
    coded_axes(figure)
    text_labels(figure)
    readable_ticks(figure)
    if not figure.layout.title.text:
        figure.update_layout(title=dict(text=_text_only(title[:1].upper() + title[1:]), x=0, xanchor="left"))
    event = st.plotly_chart(figure, width="stretch", key=f"chart-{slug(title)}",
                            on_select="rerun" if select else "ignore", selection_mode=("points",),
                            config={"toImageButtonOptions": {"format": "png", "filename": slug(title), "scale": 2},
                                    "displaylogo": False})
    if not select or not isinstance(event, PlotlyState):
        return []
    points = list(event.get("selection", {}).get("points", []))
    return [{k: _as_data(v) for k, v in point.items()} for point in points]


def _as_data(value: object) -> object:
    """A clicked label as the data has it (text_labels escaped its brackets)."""
    return value.replace("&lt;", "<").replace("&gt;", ">") if isinstance(value, str) else value


def benchmark_lines(figure: go.Figure, rate: str, axis: str = "y") -> list[str]:
    """Draw the national figures published for `rate` as labelled reference lines (dotted, grey) on the rate's
    axis; return their captions (source and year) for the page to show under the chart."""
    from etl.metrics.benchmarks import national

    found = national(rate)
    for benchmark in found:
        label = f"{benchmark.short}: {benchmark.value:.0%}"
        line = dict(line_dash="dot", line_color="#666", annotation_text=label, annotation_font_color="#444",
                    annotation_font_size=11)
        if axis == "y":
            figure.add_hline(y=benchmark.value, annotation_position="top left", **line)
        else:
            figure.add_vline(x=benchmark.value, annotation_position="top left", **line)
    return [b.caption() for b in found]


def rate_columns(*names: str) -> dict:
    return {n: st.column_config.NumberColumn(header(n), format="percent", help=DEFINITIONS.get(n)) for n in names}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def suppression_note(frame: pl.DataFrame, k: int | None = None) -> None:
    """Say why rows are blank; only a director, who has the sidebar, is told how to see them."""
    if "suppressed" in frame.columns and frame["suppressed"].any():
        user = auth.current_user()
        director = user is not None and user.role == "director"
        st.caption(f"Blank rows are suppressed: {small_cells(k or min_cell())}, so no one can be singled out."
                   + (" Lower the minimum cell size in the sidebar to see them." if director else ""))


def count(value: float | None) -> str:
    """A count with separators (a whole number, as a count is, whatever its type); a dash for none."""
    return "—" if value is None else f"{value:,.0f}"


NOBODY = "— none —"


def _filter_by(pairs: tuple[tuple[str, str], ...]) -> None:
    """Make each group the sidebar's only choice for its dimension, and the link's (a callback: it runs before the
    sidebar is drawn; setting the widget's state, not removing it, so the browser's old choice does not come back)."""
    for dimension, group in pairs:
        st.query_params[dimension] = [group]
        st.session_state[f"f_{dimension}"] = [group]


def _cell_label(cell: object) -> str:
    if cell == NOBODY:
        return NOBODY
    return " · ".join(str(words(v)) for v in cell) if isinstance(cell, tuple) else str(words(cell))


def dimension_choice(where: Any, label: str, options: list[str], key: str,  # noqa: ANN401 - st, or a column
                     default: str | None = None) -> str:
    """A choice among dimensions, named in words; always one of `options` (`default`, else the first, until another
    is chosen)."""
    chosen = where.selectbox(label, options, index=options.index(default) if default else 0, key=key,
                             format_func=lambda d: DIMENSION_LABELS.get(d, d))
    return options[0] if chosen is None else str(chosen)


def behind_a_group(dimension: str | tuple[str, str], groups: list, population: Filters, clicked: list
                   ) -> None:
    """Drill-down, for a director's page: the employers and projects behind one group of `dimension` (the one whose
    bar or table row was `clicked`, or the one picked here), with their figures, and a button that filters every
    page by it. With two dimensions, the same for one cell of a two-way table: `groups` and `clicked` hold
    (group, group) pairs."""
    from dashboard.filters import MULTI
    from etl.metrics.insights import employers_behind, projects_behind

    dimensions = (dimension,) if isinstance(dimension, str) else tuple(dimension)
    key = "drill_" + "_".join(dimensions)
    # A click on a bar, a point, a cell or a row opens what lies behind it; the chart keeps its selection over
    # reruns, so a click counts once, and a pick in the box below stays until the next click.
    click = clicked[0] if clicked and clicked[0] in groups else None
    if click != st.session_state.get(f"{key}_click"):
        st.session_state[f"{key}_click"] = click
        if click is not None:
            st.session_state[key] = click
    label = " and ".join(DIMENSION_LABELS.get(d, d).lower() for d in dimensions)
    one = len(dimensions) == 1
    st.subheader("Behind a group" if one else "Behind a cell")
    cell = st.selectbox(f"The projects and employers behind one {label} (or click its {'bar' if one else 'cell'} "
                        "above)", [NOBODY, *groups], key=key, format_func=_cell_label)
    if cell == NOBODY:
        return
    pairs = tuple(zip(dimensions, cell if isinstance(cell, tuple) else (cell,), strict=True))
    also = pairs[1] if len(pairs) > 1 else None
    employers = data.figure(employers_behind, *pairs[0], population, min_cell=min_cell(), also=also)
    projects = data.figure(projects_behind, *pairs[0], population, min_cell=min_cell(), also=also)
    st.caption(f"{plain(_cell_label(cell))}: {employers.height:,} employers and {projects.height:,} projects, most "
               "completed projects first, within the population in the sidebar. Pick the first line above to close "
               "it.")
    if all(d in MULTI for d in dimensions):
        st.button(f"Filter every page by this {label}", key="drill_filter_" + "_".join(dimensions),
                  on_click=_filter_by, args=(pairs,),
                  help="Sets the sidebar's filters (and the link) to this group alone.")
    named = " ".join(f"{d} {g}" for d, g in pairs)
    table(employers, f"employers behind {named}", rate_columns("offer_rate", "conversion_rate"))
    table(projects, f"projects behind {named}", rate_columns("offer_rate", "conversion_rate"))
    suppression_note(pl.concat([employers.select("suppressed"), projects.select("suppressed")]))
