"""Sign in with a username and password from the users file, or with the organisation's provider (OIDC)."""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from dashboard import auth
from etl.accounts import LockedOut

GENERIC_REFUSAL = ("Wrong username or password. After several wrong tries from one place, sign-in waits a few "
                   "minutes before it accepts that username from there again.")


def locked_out(minutes: int) -> str:
    """What a visitor whose address is locked reads: what happened and when to try again. It says the same for a
    username that exists and one that does not (wrong passwords for either count alike)."""
    return (f"Too many wrong passwords from your connection. Sign-in from here is paused: try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}. Signing in from another device or network is not affected.")


def sign_in() -> None:
    """The form a visitor sees at every address of the app, in a column of reading width (the app is wide)."""
    _, middle, _ = st.columns([1, 1.4, 1])
    with middle:
        _form()
    _load_charts_early()


@functools.cache
def chart_module() -> str | None:
    """The file name of Streamlit's Plotly chunk (4.7 MB of script, loaded when a page first draws a chart), or
    None if this Streamlit does not ship exactly one."""
    import streamlit

    found = sorted((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    return found[0].name if len(found) == 1 else None


def _load_charts_early() -> None:
    """Load the chart library while the visitor types (the first page after sign-in would otherwise load it then:
    two of the two and a half seconds the browser spends on it). The script is the app's own, with no data in it;
    it asks for the file the app itself would ask for, from this server, and sets `window.mioChartsLoaded` when it
    has it (the benchmark and the tests wait for it)."""
    if (name := chart_module()) is None:
        return
    st.html(f"""<script>
(() => {{
  const entry = document.querySelector('script[type="module"][src*="/static/js/"]');
  const folder = entry ? new URL(".", entry.src) : new URL("static/js/", document.baseURI);
  import(new URL("{name}", folder).href).then(() => {{ window.mioChartsLoaded = true; }}, () => {{}});
}})();
</script>""", unsafe_allow_javascript=True)


def _form() -> None:
    st.title("Micro-internship outcomes")
    st.caption("Sign in to see your figures.")
    if not auth.store().list():
        st.info("No accounts yet. Create one on the server: `mio users add --username you --role director`.")
    with st.form("sign_in"):
        username = st.text_input("Username", key="sign_in_username")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        # One answer for a wrong name and a wrong password, so that neither tells a guesser more.
        try:
            user = auth.store().authenticate(username.strip(), password, address=auth.client_address())
        except LockedOut as locked:
            user = None
            st.error(locked_out(locked.minutes))
        else:
            if user is None:
                st.error(GENERIC_REFUSAL)
        if user is not None:
            # The view the shared link asked for: Streamlit drops query parameters when the page changes.
            asked = {key: st.query_params.get_all(key) for key in st.query_params}
            st.session_state.clear()
            auth.start_session(user)
            st.session_state["asked_query"] = asked
            st.rerun()
    if auth.oidc_configured():
        st.divider()
        st.button("Sign in with your organisation", on_click=st.login, key="oidc_login")
        if getattr(st.user, "is_logged_in", False) and auth.current_user() is None:
            st.warning("Your organisation signed you in, but there is no account for you here. Ask the career "
                       "services office to add one (`mio users add`).")
