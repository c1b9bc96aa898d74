"""One colour theme for every chart: the Okabe-Ito palette, readable with every common colour-vision deficiency."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from etl.ingest.schema import CODES

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

# First-destination outcomes, one colour each (Okabe-Ito and its tints): positive outcomes in blues and greens,
# seeking in oranges, the rest in greys, so that the eleven outcomes and "no record" never share a colour.
OUTCOME_COLOURS = {
    "employed_full_time": "#0072B2", "employed_part_time": "#56B4E9", "self_employed": "#009E73",
    "postgrad_internship": "#7FCDB7", "service": "#CC79A7", "military": "#882255", "continuing_education": "#332288",
    "seeking_employment": "#D55E00", "seeking_education": "#E69F00", "not_seeking": "#F0E442",
    "no_information": "#999999", "no record": "#DDDDDD",
}


def words(value: object) -> object:
    """A contract code in words ("career_services" -> "career services"); any other value as it is."""
    return value.replace("_", " ") if isinstance(value, str) and value in CODES else value


_MIO = go.layout.Template(
    layout=go.Layout(
        colorway=OKABE_ITO,
        font=dict(family="sans-serif", size=13),
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white",
        xaxis=dict(gridcolor="#e5e5e5"),
        yaxis=dict(gridcolor="#e5e5e5"),
    )
)
# Merged once here: a default named "plotly_white+mio" is merged again at every figure a page draws (a tenth of the
# server's time with ten directors at once).
pio.templates["mio"] = pio.templates.merge_templates("plotly_white", _MIO)
pio.templates.default = "mio"

