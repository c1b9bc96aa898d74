"""Who is signed in, and what they may see. Accounts live in the users file (`mio users add`)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from etl.accounts import DEFAULT_USERS, User, UserStore


def store() -> UserStore:
    return UserStore(Path(os.environ.get("MIO_USERS", str(DEFAULT_USERS))))


def oidc_configured() -> bool:
    """True when the app's secrets configure an OpenID Connect provider for st.login."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def current_user() -> User | None:
    """The signed-in account, as the users file has it now: an account removed (or given another role or
    employer) since it signed in is signed out at its next interaction."""
    user = st.session_state.get("user")
    if isinstance(user, User):
        if store().get(user.username) != user:
            st.session_state.clear()
            return None
        return user
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        # The provider proves who it is; the users file says what they may see.
        known = store().get(str(st.user.get("email", "")))
        if known is not None:
            st.session_state["user"] = known
            return known
    return None


def sign_out() -> None:
    st.session_state.clear()
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


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
    from dashboard.ui import plain

    st.sidebar.caption(f"Signed in as **{plain(user.username)}** ({plain(label)})")
    st.sidebar.button("Sign out", on_click=sign_out, key="sign_out", icon=":material/logout:")
