"""Dashboard accounts: a role per user (director, employer bound to one employer_id, student), passwords kept only
as salted scrypt hashes, in a JSON users file beside the warehouse (`data/users.json`, or `MIO_USERS`).

The file holds no plain password. Writes are atomic (a temporary file renamed over the old one).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROLES = ("director", "employer", "student")
DEFAULT_USERS = Path(os.environ.get("MIO_USERS", "data/users.json"))
# scrypt with N=2^14, r=8, p=1: about 16 MB and tens of milliseconds per check, as OWASP recommends at least.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
FAILED_SIGN_IN_DELAY = 0.8  # seconds added to every failed sign-in


@dataclass(frozen=True)
class User:
    username: str
    role: str
    employer_id: str | None = None


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


# Checked against when the username is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY = hash_password("not a real password", salt=b"0" * 16)


class UserStore:
    def __init__(self, path: Path = DEFAULT_USERS) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text(encoding="utf-8"))

    def _write(self, users: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(users, indent=2, sort_keys=True), encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def add(self, username: str, role: str, password: str, employer_id: str | None = None) -> User:
        username = username.strip()
        if not username:
            raise ValueError("a username is required")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if (role == "employer") != bool(employer_id):
            raise ValueError("an employer account needs --employer-id, and only an employer account takes one")
        if len(password) < 8:
            raise ValueError("the password must have at least 8 characters")
        users = self._read()
        users[username] = {"role": role, "employer_id": employer_id, "password": hash_password(password)}
        self._write(users)
        return User(username, role, employer_id)

    def remove(self, username: str) -> bool:
        users = self._read()
        if username not in users:
            return False
        del users[username]
        self._write(users)
        return True

    def list(self) -> list[User]:
        return [User(name, u["role"], u.get("employer_id")) for name, u in sorted(self._read().items())]

    def get(self, username: str) -> User | None:
        record = self._read().get(username)
        return User(username, record["role"], record.get("employer_id")) if record else None

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password is right; None (after a short delay) for any wrong name or password."""
        record = self._read().get(username)
        ok = _verify(password, record["password"] if record else _DUMMY) and record is not None
        if not ok:
            time.sleep(FAILED_SIGN_IN_DELAY)
            return None
        return User(username, record["role"], record.get("employer_id"))

    def as_dicts(self) -> list[dict]:
        return [asdict(u) for u in self.list()]
