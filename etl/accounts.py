"""Dashboard accounts: a role per user (director, employer bound to one employer_id, student), passwords kept only
as salted scrypt hashes, in a JSON users file beside the warehouse (`data/users.json`, or `MIO_USERS`).

The file holds no plain password. Writes are atomic (a temporary file renamed over the old one).
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROLES = ("director", "employer", "student")
DEFAULT_USERS = Path(os.environ.get("MIO_USERS", "data/users.json"))
# scrypt with N=2^14, r=8, p=1: about 16 MB and tens of milliseconds per check, as OWASP recommends at least.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
FAILED_SIGN_IN_DELAY = 0.8  # seconds added to every failed sign-in
LOCKOUT_FAILURES = 5  # wrong passwords for one username within LOCKOUT_SECONDS lock it for LOCKOUT_SECONDS
ADDRESS_FAILURES = 20  # wrong passwords from one address (any usernames) within LOCKOUT_SECONDS lock the address
LOCKOUT_SECONDS = 15 * 60
MAX_DELAY = 8.0  # the delay after a failure doubles with each recent failure of the username, up to this


@dataclass(frozen=True)
class User:
    username: str
    role: str
    employer_id: str | None = None
    institution: str | None = None  # a director bound to one institution of a shared warehouse sees only it


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def _verify(password: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                               dklen=32)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


class Throttle:
    """Failed sign-ins per username, in this process (the dashboard server): one check at a time per username, so
    guesses sent in parallel wait for each other, and a lockout after LOCKOUT_FAILURES wrong passwords."""

    def __init__(self, base_delay: float = FAILED_SIGN_IN_DELAY) -> None:
        self.base_delay = base_delay
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, list[float]] = {}

    def lock_for(self, username: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(username, threading.Lock())

    def recent(self, key: str, now: float | None = None) -> list[float]:
        now = time.monotonic() if now is None else now
        with self._guard:
            kept = [t for t in self._failures.get(key, []) if now - t < LOCKOUT_SECONDS]
            self._failures[key] = kept
            return kept

    def locked_for(self, username: str, address: str | None = None, now: float | None = None) -> float:
        """Seconds until the username (from this address) may try again (0 when it may)."""
        now = time.monotonic() if now is None else now
        waits = [0.0]
        for key, limit in ((username, LOCKOUT_FAILURES), (f"address:{address}", ADDRESS_FAILURES)):
            if key == "address:None":
                continue
            recent = self.recent(key, now)
            if len(recent) >= limit:
                waits.append(LOCKOUT_SECONDS - (now - recent[-limit]))
        return max(waits)

    def delay(self, username: str) -> float:
        """How long a failure waits before it is answered: longer with each recent failure of the username."""
        return min(MAX_DELAY, self.base_delay * 2 ** max(0, len(self.recent(username)) - 1))

    def failed(self, username: str, address: str | None = None) -> None:
        with self._guard:
            for key in (username, *([f"address:{address}"] if address else [])):
                self._failures.setdefault(key, []).append(time.monotonic())

    def succeeded(self, username: str) -> None:
        with self._guard:
            self._failures.pop(username, None)


THROTTLE = Throttle()


class LockedOut(Exception):
    """Too many wrong passwords for this username lately."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"too many wrong passwords; try again in {max(1, round(seconds / 60))} minutes")


# Checked against when the username is unknown, so that a wrong name costs as long as a wrong password (one scrypt
# of the candidate; no password has this all-zero digest). Written out, not hashed at import: `mio users` starts
# without spending a scrypt.
_DUMMY = (f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${base64.b64encode(b'0' * 16).decode()}$"
          f"{base64.b64encode(bytes(32)).decode()}")


def _user(username: str, record: dict) -> User:
    return User(username, record["role"], record.get("employer_id"), record.get("institution"))


# path -> ((mtime, size, inode), accounts): a write renames a new file over the old one, so the key changes.
_READS: dict[Path, tuple[tuple[int, int, int], dict[str, dict]]] = {}
_READ_GUARD = threading.Lock()


class UserStore:
    def __init__(self, path: Path = DEFAULT_USERS) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, dict]:
        """The accounts; parsed again only when the file changed (the dashboard asks at every rerun)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with _READ_GUARD:
            cached = _READS.get(self.path)
            if cached is None or cached[0] != key:
                cached = (key, json.loads(self.path.read_text(encoding="utf-8")))
                _READS[self.path] = cached
        return {name: dict(record) for name, record in cached[1].items()}

    def _write(self, users: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(users, indent=2, sort_keys=True), encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def add(self, username: str, role: str, password: str, employer_id: str | None = None,
            institution: str | None = None) -> User:
        username = username.strip()
        if not username:
            raise ValueError("a username is required")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if institution is not None and (role != "director" or not institution.strip()):
            raise ValueError("only a director account is bound to an institution (--institution NAME)")
        if (role == "employer") != bool(employer_id):
            raise ValueError("an employer account needs --employer-id, and only an employer account takes one")
        if len(password) < 8:
            raise ValueError("the password must have at least 8 characters")
        users = self._read()
        users[username] = {"role": role, "employer_id": employer_id, "institution": institution,
                           "password": hash_password(password)}
        self._write(users)
        return User(username, role, employer_id, institution)

    def remove(self, username: str) -> bool:
        users = self._read()
        if username not in users:
            return False
        del users[username]
        self._write(users)
        return True

    def list(self) -> list[User]:
        return [_user(name, u) for name, u in sorted(self._read().items())]

    def get(self, username: str) -> User | None:
        record = self._read().get(username)
        return _user(username, record) if record else None

    def authenticate(self, username: str, password: str, throttle: Throttle = THROTTLE,
                     address: str | None = None) -> User | None:
        """The user when the password is right; None, after a delay that grows with recent failures, for any wrong
        name or password.

        Raises LockedOut after LOCKOUT_FAILURES wrong passwords for the username (or ADDRESS_FAILURES from the
        address) within LOCKOUT_SECONDS, even when the password is right, until that time has passed. Checks of one
        username run one at a time, so guesses sent together wait for each other."""
        with throttle.lock_for(username):
            waiting = throttle.locked_for(username, address)
            if waiting:
                time.sleep(throttle.base_delay)
                raise LockedOut(waiting)
            record = self._read().get(username)
            ok = _verify(password, record["password"] if record else _DUMMY) and record is not None
            if not ok:
                throttle.failed(username, address)
                time.sleep(throttle.delay(username))
                return None
            throttle.succeeded(username)
            assert record is not None  # ok above
            return _user(username, record)

    def fingerprint(self, username: str) -> str | None:
        """A digest of the account's record (role, binding, password hash): it changes whenever the account does, so a
        session token that carries it ends at a password change, a new role or binding, or the account's removal."""
        record = self._read().get(username)
        if record is None:
            return None
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:32]

    def as_dicts(self) -> builtins.list[dict]:
        return [asdict(u) for u in self.list()]
