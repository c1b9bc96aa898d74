"""Sign-in that survives a reload: a signed, expiring session token in an HttpOnly cookie, checked on the server.

The token is made and checked by itsdangerous (a signed, timestamped payload; no hand-made cryptography). It carries
the username, a fingerprint of the account's record (so it ends at a password change, a new role or binding, or the
account's removal) and a random id that sign-out revokes. The secret is `MIO_SESSION_SECRET`, or a random key kept
beside the users file (`session.key`, readable by its owner only). A session lasts `MIO_SESSION_HOURS` (8 by
default).

Streamlit cannot set a cookie from a script, so the signed-in page shows a one-pixel image from `/mio/session` with a
one-time ticket (valid for a minute); that route (dashboard/server.py) answers with the cookie. A reload or a new tab
sends the cookie with Streamlit's WebSocket handshake, where `st.context.cookies` reads it.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from etl.accounts import User, UserStore

COOKIE = "mio_session"
TICKET_SECONDS = 60
_SALT = "mio-session"
_LOCK = threading.Lock()
_TICKETS: dict[str, tuple[str, float]] = {}  # one-time ticket -> (token, valid until)
_OWNERS: dict[str, str] = {}  # Streamlit session id -> username signed in there
_SECRETS: dict[Path, str] = {}  # session.key path -> its key
_REVOKED: dict[Path, tuple[tuple[int, int, int], dict[str, float]]] = {}  # revoked file -> (stamp, its ids)


def lifetime_seconds() -> int:
    return int(float(os.environ.get("MIO_SESSION_HOURS", "8")) * 3600)


def _secret(store: UserStore) -> str:
    given = os.environ.get("MIO_SESSION_SECRET")
    if given:
        return given
    key = store.path.with_name("session.key")
    with _LOCK:
        if key in _SECRETS and key.exists():  # checked at every rerun: read once, not each time
            return _SECRETS[key]
        if not key.exists():
            key.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        _SECRETS[key] = key.read_text().strip()
        return _SECRETS[key]


def _serializer(store: UserStore) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(store), salt=_SALT)


def _revoked_path(store: UserStore) -> Path:
    return store.path.with_name(f"{store.path.name}.revoked")


def _revoked(store: UserStore) -> dict[str, float]:
    """Signed-out token ids and until when; the file is parsed again only when it changes (read at every rerun)."""
    path = _revoked_path(store)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _REVOKED.get(path)
    if cached is None or cached[0] != stamp:
        try:
            cached = (stamp, json.loads(path.read_text()))
        except (FileNotFoundError, ValueError):
            return {}
        _REVOKED[path] = cached
    revoked = cached[1]
    now = time.time()
    return {jti: until for jti, until in revoked.items() if until > now}


def issue(store: UserStore, user: User) -> str:
    """A session token for `user`, who has just signed in."""
    payload = {"u": user.username, "f": store.fingerprint(user.username), "j": secrets.token_urlsafe(12)}
    return _serializer(store).dumps(payload)


def verify(store: UserStore, token: str | None) -> User | None:
    """The account a token stands for, when it is genuine, unexpired, not signed out, and the account unchanged."""
    if not token:
        return None
    try:
        payload = _serializer(store).loads(token, max_age=lifetime_seconds())
    except BadSignature:  # a forged, altered or expired token
        return None
    if not isinstance(payload, dict) or payload.get("j") in _revoked(store):
        return None
    user = store.get(str(payload.get("u")))
    if user is None or store.fingerprint(user.username) != payload.get("f"):
        return None
    return user


def revoke(store: UserStore, token: str | None) -> None:
    """Sign-out: the token stops working everywhere, even where the cookie is still held."""
    if not token:
        return
    try:
        payload = _serializer(store).loads(token)
    except BadSignature:
        return
    with _LOCK:
        revoked = _revoked(store)
        revoked[payload["j"]] = time.time() + lifetime_seconds()
        path = _revoked_path(store)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(revoked))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)


def ticket_for(token: str) -> str:
    """A one-time ticket that /mio/session exchanges for the cookie holding `token`."""
    ticket = secrets.token_urlsafe(24)
    now = time.time()
    with _LOCK:
        for old in [t for t, (_, until) in _TICKETS.items() if until < now]:
            del _TICKETS[old]
        _TICKETS[ticket] = (token, now + TICKET_SECONDS)
    return ticket


def redeem(ticket: str | None) -> str | None:
    """The token of a ticket, once, within TICKET_SECONDS of its making."""
    with _LOCK:
        found = _TICKETS.pop(ticket or "", None)
    return found[0] if found and found[1] >= time.time() else None


def pending(ticket: str) -> bool:
    with _LOCK:
        return ticket in _TICKETS


def bind(session_id: str, username: str | None) -> None:
    """Record which account is signed in to a Streamlit session (None: nobody): downloads check it."""
    with _LOCK:
        if username is None:
            _OWNERS.pop(session_id, None)
        else:
            _OWNERS[session_id] = username


def owner(session_id: str) -> str | None:
    with _LOCK:
        return _OWNERS.get(session_id)
