"""The dashboard's entry point: it only routes (per role) and draws the shared frame (account, sidebar filters)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on the path, not the project root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import auth, data, registry, theme, ui  # noqa: E402,F401 - theme registers the chart template
from dashboard.filters import sidebar_filters, sidebar_min_cell  # noqa: E402
from dashboard.sign_in import sign_in  # noqa: E402
from etl.office import office  # noqa: E402

# A local icon: a :material/…: icon would be fetched from a font server, and the app works offline.
st.set_page_config(page_title="Micro-internship outcomes", page_icon=str(Path(__file__).parent / "favicon.png"),
                   layout="wide")


def navigation(role: str, bound: bool = False) -> dict[str, list[st.Page]] | list[st.Page]:
    """The role's pages from the registry: the director's under section headings, the others as one list."""
    pages = registry.pages_for(role, bound)

    def make(spec: registry.PageSpec) -> st.Page:
        return st.Page(spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path or None,
                       default=spec.default_for(role))

    if role != registry.DIRECTOR:
        return [make(spec) for spec in pages]
    sections: dict[str, list[st.Page]] = {}
    for spec in pages:
        sections.setdefault(spec.section, []).append(make(spec))
    return sections


user = auth.current_user()
auth.cookie_image()
if user is None:
    # A visitor gets only the sign-in form, under every page's address: a shared link shows the form, and after
    # signing in the same address opens the page it names (when the account's role has it).
    paths = dict.fromkeys(spec.url_path for spec in registry.PAGES)
    forms = [st.Page(sign_in, title="Sign in", icon=":material/login:", url_path=path or "sign-in",
                     default=not path) for path in paths]
    st.navigation(forms, position="hidden").run()
    st.stop()

page = st.navigation(navigation(user.role, bound=user.institution is not None))
for key, values in st.session_state.pop("asked_query", {}).items():
    st.query_params[key] = values
mine = office()
if mine.logo is not None:
    st.logo(str(mine.logo), size="large")
if mine.name:
    st.sidebar.caption(ui.plain(mine.name))
auth.sidebar_account(user)
try:
    if user.role == registry.DIRECTOR:
        applies = registry.titled(page.title).population
        st.session_state["filters"] = sidebar_filters(user.institution, applies)
        st.session_state["min_cell"] = sidebar_min_cell(applies)
    page.run()
except data.StoreUnavailable as exc:
    st.error(ui.plain(f"The figures could not be read from the lake's object store. {exc}. The pages come back "
                      "when it answers again."), icon=":material/cloud_off:")
