"""The dashboard as an ASGI app: Streamlit's own server (st.App) with what a shared service needs on top.

- `/mio/session?ticket=…` exchanges a one-time ticket for the HttpOnly session cookie, and `/mio/signed-out` clears
  it (dashboard/sessions.py explains why an image sets the cookie).
- Downloads under `/media/` are served only to a request carrying a valid session of a current account, and, when
  Streamlit knows which sessions show the file, only to the account signed in to one of them.
- `/_stcore/metrics` is not served: Streamlit has no setting to turn it off.

`streamlit run dashboard/server.py` finds `app` and serves it with uvicorn; dashboard/serve.py does that.
"""

from __future__ import annotations

import base64
import sys
from http.cookies import SimpleCookie
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import auth, sessions  # noqa: E402

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _pixel() -> Response:
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


async def session_cookie(request: Request) -> Response:
    token = sessions.redeem(request.query_params.get("ticket"))
    if token is None:
        return Response(status_code=404)
    response = _pixel()
    response.set_cookie(sessions.COOKIE, token, max_age=sessions.lifetime_seconds(), path="/", httponly=True,
                        samesite="strict")
    return response


async def signed_out(_request: Request) -> Response:
    response = _pixel()
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            morsel = SimpleCookie(value.decode("latin-1")).get(sessions.COOKIE)
            if morsel is not None:
                return morsel.value
    return None


def may_download(scope: Scope, filename: str) -> bool:
    """Whether a request may fetch a media file: anything but a download is free (the page icon, images); a
    download needs a current account's session, and the account of a session that shows it, where known."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.media_file_storage import MediaFileKind

    manager = Runtime.instance().media_file_mgr
    found = manager.read_file(filename) if manager.can_read_files else None
    if found is None or found.kind != MediaFileKind.DOWNLOADABLE:
        return True
    user = sessions.verify(auth.store(), _cookie(scope))
    if user is None:
        return False
    file_id = filename.rsplit(".", 1)[0]
    showing = [session for session, files in dict(getattr(manager, "_files_by_session_and_coord", {})).items()
               if file_id in files.values()]
    return not showing or any(sessions.owner(session) == user.username for session in showing)


class Guard:
    """Pure ASGI middleware (WebSockets pass untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith("/_stcore/metrics"):
                await PlainTextResponse("Not found", status_code=404)(scope, receive, send)
                return
            if path.startswith("/media/") and not may_download(scope, path.removeprefix("/media/")):
                await PlainTextResponse("Sign in to download", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


app = st.App("app.py", routes=[Route("/mio/session", session_cookie), Route("/mio/signed-out", signed_out)],
             middleware=[Middleware(Guard)])
