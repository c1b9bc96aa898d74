"""The dashboard's entry point: it only routes and draws the shared frame (title, sidebar filters)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on the path, not the project root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import theme  # noqa: E402,F401 - registers the chart theme
from dashboard.filters import sidebar_filters  # noqa: E402

st.set_page_config(page_title="Micro-internship outcomes", page_icon="📈", layout="wide")
pages = [
    st.Page("views/overview.py", title="Overview", icon="📈", url_path="overview", default=True),
]
page = st.navigation(pages)
st.session_state["filters"] = sidebar_filters()
page.run()
