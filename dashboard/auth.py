"""Who is signed in, and what they may see. Accounts live in the users file (`mio users add`)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from dashboard import sessions
from dashboard.markdown import plain
from etl.accounts import DEFAULT_USERS, User, UserStore, client_of


def store() -> UserStore:
    return UserStore(Path(os.environ.get("MIO_USERS", str(DEFAULT_USERS))))


def client_address() -> str | None:
    """The address a sign-in's wrong passwords count against: the connection's (Streamlit gives none for this
    machine's own), or, behind the proxy MIO_TRUSTED_PROXY names, the client it forwarded for."""
    peer = st.context.ip_address or "127.0.0.1"  # Streamlit says None for a connection from this machine
    forwarded = st.context.headers.get("X-Forwarded-For") if st.context.headers else None
    return client_of(peer, forwarded, os.environ.get("MIO_TRUSTED_PROXY"))


def oidc_configured() -> bool:
    """True when the app's secrets configure an OpenID Connect provider for st.login."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def _signed_in(user: User, token: str | None) -> User:
    st.session_state["user"] = user
    if token:
        st.session_state["token"] = token
    if (session := _session_id()) is not None:
        sessions.bind(session, user.username)
    return user


def current_user() -> User | None:
    """The signed-in account, as the users file has it now: an account removed (or given another role, employer or
    password) since it signed in, or signed out in another tab, is signed out at its next interaction. A new tab or a
    reload finds the account again through the session cookie (dashboard/sessions.py)."""
    user = st.session_state.get("user")
    if isinstance(user, User):
        token = st.session_state.get("token")
        if store().get(user.username) != user or (token and sessions.verify(store(), token) != user):
            _forget()
            return None
        return _signed_in(user, None)
    token = st.context.cookies.get(sessions.COOKIE) if st.context.cookies else None
    if (known := sessions.verify(store(), token)) is not None:
        return _signed_in(known, token)
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        # The provider proves who it is; the users file says what they may see.
        known = store().get(str(st.user.get("email", "")))
        if known is not None:
            return _signed_in(known, None)
    return None


def start_session(user: User) -> None:
    """After a right password: a session token, and a one-time ticket that the next page exchanges for its cookie."""
    token = sessions.issue(store(), user)
    _signed_in(user, token)
    st.session_state["cookie_ticket"] = sessions.ticket_for(token)


def _forget() -> None:
    """End this tab's session; the next page clears the cookie."""
    st.session_state.clear()
    st.session_state["clear_cookie"] = True
    if (session := _session_id()) is not None:
        sessions.bind(session, None)


def sign_out() -> None:
    sessions.revoke(store(), st.session_state.get("token"))
    _forget()
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def cookie_image() -> None:
    """The one-pixel image that sets or clears the session cookie (see dashboard/sessions.py), while one is due."""
    ticket = st.session_state.get("cookie_ticket")
    if ticket and sessions.pending(ticket):
        st.html(f'<img src="/mio/session?ticket={ticket}" alt="" width="1" height="1" style="display:none">')
    elif st.session_state.pop("clear_cookie", False):
        st.html('<img src="/mio/signed-out" alt="" width="1" height="1" style="display:none">')


def require_role(*roles: str) -> User:
    """Stop the page unless the signed-in account has one of `roles`; pages call this before any query."""
    user = current_user()
    if user is None or user.role not in roles:
        st.error("This page is not available to your account.")
        st.stop()
    return user


def require_whole_warehouse() -> User:
    """Stop the page unless a director who sees every institution is signed in (loads and imports are about all)."""
    user = require_role("director")
    if user.institution is not None:
        st.error("This page is not available to your account.")
        st.stop()
    return user


def sidebar_account(user: User) -> None:
    label = (f"{user.role}, employer {user.employer_id}" if user.employer_id
             else f"{user.role}, {user.institution}" if user.institution else user.role)
    st.sidebar.caption(f"Signed in as **{plain(user.username)}** ({plain(label)})")
    st.sidebar.button("Sign out", on_click=sign_out, key="sign_out", icon=":material/logout:")
