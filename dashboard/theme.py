"""One colour theme for every chart: the Okabe-Ito palette, readable with every common colour-vision deficiency."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

pio.templates["mio"] = go.layout.Template(
    layout=go.Layout(
        colorway=OKABE_ITO,
        font=dict(family="sans-serif", size=13),
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white",
        xaxis=dict(gridcolor="#e5e5e5"),
        yaxis=dict(gridcolor="#e5e5e5"),
    )
)
pio.templates.default = "plotly_white+mio"

