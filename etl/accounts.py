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
LOCKOUT_FAILURES = 5  # wrong passwords for one username from one address within LOCKOUT_SECONDS lock that pair
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
    """Failed sign-ins, in this process (the dashboard server). Nothing locks an account by itself: anyone who knows a
    director's username could then keep the director out with a few wrong passwords (OWASP's authentication
    guidance). What locks is where the guesses come from:

    - an address and a username together: LOCKOUT_FAILURES wrong passwords lock that pair for LOCKOUT_SECONDS;
    - an address: ADDRESS_FAILURES wrong passwords, whatever the usernames, lock the address;
    - a username's failures from every address slow each further failure's answer (doubling, up to MAX_DELAY), the
      same for a username that exists and one that does not; the right password is never refused for them.

    One address's checks run one at a time, so its guesses sent in parallel wait for each other, delays included;
    checks of one username from different addresses wait only for each other's password hashing."""

    def __init__(self, base_delay: float = FAILED_SIGN_IN_DELAY) -> None:
        self.base_delay = base_delay
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, list[float]] = {}

    def lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def recent(self, key: str, now: float | None = None) -> list[float]:
        now = time.monotonic() if now is None else now
        with self._guard:
            kept = [t for t in self._failures.get(key, []) if now - t < LOCKOUT_SECONDS]
            self._failures[key] = kept
            return kept

    def locked_for(self, username: str, address: str | None = None, now: float | None = None) -> float:
        """Seconds until this address may try the username again (0 when it may). An unknown address (None) is one
        address for the pair's lock, and is never locked as an address."""
        now = time.monotonic() if now is None else now
        waits = [0.0]
        keys = [(_pair(username, address), LOCKOUT_FAILURES)]
        if address is not None:
            keys.append((f"address:{address}", ADDRESS_FAILURES))
        for key, limit in keys:
            recent = self.recent(key, now)
            if len(recent) >= limit:
                waits.append(LOCKOUT_SECONDS - (now - recent[-limit]))
        return max(waits)

    def delay(self, username: str) -> float:
        """How long a failure waits before it is answered: longer with each recent failure of the username, from
        any address."""
        return min(MAX_DELAY, self.base_delay * 2 ** max(0, len(self.recent(f"user:{username}")) - 1))

    def failed(self, username: str, address: str | None = None) -> None:
        with self._guard:
            for key in (f"user:{username}", _pair(username, address),
                        *([f"address:{address}"] if address is not None else [])):
                self._failures.setdefault(key, []).append(time.monotonic())

    def succeeded(self, username: str, address: str | None = None) -> None:
        """The right password from this address: its own failures at the username are forgotten (not those of other
        addresses, which keep slowing their guesses)."""
        with self._guard:
            self._failures.pop(_pair(username, address), None)


def _pair(username: str, address: str | None) -> str:
    return f"pair:{address}\n{username}"


def client_of(peer: str | None, forwarded_for: str | None, trusted: str | None) -> str | None:
    """The sign-in's client address: the connection's peer, unless the peer is one of the `trusted` proxies
    (MIO_TRUSTED_PROXY: addresses or networks, comma-separated), and then the address that proxy says it forwarded
    for (X-Forwarded-For, read from the right: the nearest address that is not itself a trusted proxy). Without a
    trusted proxy the header is ignored: anyone can write it."""
    import ipaddress

    def parsed(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        try:
            return ipaddress.ip_address(text.strip())
        except ValueError:
            return None

    networks = []
    for item in (trusted or "").split(","):
        if item.strip():
            networks.append(ipaddress.ip_network(item.strip(), strict=False))

    def is_trusted(text: str | None) -> bool:
        address = parsed(text) if text else None
        return address is not None and any(address in network for network in networks)

    if not is_trusted(peer) or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if parsed(hop) is None:
            return peer  # a hop that is not an address: the header was not written by a proxy
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else peer


THROTTLE = Throttle()


class LockedOut(Exception):
    """Too many wrong passwords lately from this address (for this username, or for any)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.minutes = max(1, -(-int(seconds) // 60))  # rounded up: never "try again in 0 minutes"
        super().__init__(f"too many wrong passwords from this address; try again in {self.minutes} minutes")


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

        Raises LockedOut after LOCKOUT_FAILURES wrong passwords for the username from this `address` (or
        ADDRESS_FAILURES from it for any usernames) within LOCKOUT_SECONDS, even when the password is right, until
        that time has passed; the same username from another address is not refused (Throttle). Checks from one
        address run one at a time, so guesses sent together wait for each other."""
        with throttle.lock_for(f"address:{address}"):
            waiting = throttle.locked_for(username, address)
            if waiting:
                time.sleep(throttle.base_delay)
                raise LockedOut(waiting)
            with throttle.lock_for(f"user:{username}"):
                record = self._read().get(username)
                ok = _verify(password, record["password"] if record else _DUMMY) and record is not None
            if not ok:
                throttle.failed(username, address)
                time.sleep(throttle.delay(username))
                return None
            throttle.succeeded(username, address)
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
