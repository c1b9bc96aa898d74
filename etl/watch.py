"""A watched drop folder (`mio watch DROP`): deliveries that arrive by themselves, each loaded with the same
validation, quarantine and all-or-nothing rule as `mio load`, then moved aside so that nothing is read twice and
nothing is deleted.

    DROP/<delivery>                      a file (one entity's export) or a folder of files (a source, with its
                                         mapping.yaml when it has one)
    DROP/loaded/<when>-<delivery>        after it loaded
    DROP/rejected/<when>-<delivery>      after it was rejected, with REJECTED.txt: what `mio load` would print

A delivery is taken only when complete: its files' sizes and times did not change over `settle` seconds, and none
of them has the temporary name an upload is written under (`.filepart`, `.part`, `.tmp`, …). Hidden entries at the
top of the drop (a dot or `~` first: rsync's temporary files) are not deliveries; hidden files inside a delivery
(`.DS_Store`) count only in the check that it stopped changing. A delivery whose every file the warehouse's load
history already holds (by SHA-256) is not loaded again: it moves to `loaded/` with ALREADY-LOADED.txt naming the
loads, so that restarting the watcher never loads twice.
A rejected delivery, or one that quarantined rows, is told by e-mail when the watcher is given addresses (`alert`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOADED, REJECTED = "loaded", "rejected"
# What SFTP clients, browsers and copy tools name a file while they are still writing it.
TEMPORARY_SUFFIXES = (".filepart", ".part", ".partial", ".tmp", ".crdownload", ".uploading", ".swp")


def _temporary(path: Path) -> bool:
    """A name an upload is written under until it completes."""
    return path.name.lower().endswith(TEMPORARY_SUFFIXES)


def _hidden(path: Path) -> bool:
    """A hidden entry (a dot or `~` first): at the top of the drop, not a delivery (rsync writes `.name.XXXXXX`
    before renaming it); inside a delivery, a file like `.DS_Store` that neither blocks it nor is loaded."""
    return path.name.startswith((".", "~"))


def _files(delivery: Path) -> list[Path]:
    if delivery.is_file():
        return [delivery]
    return sorted(p for p in delivery.rglob("*") if p.is_file())


def _look(delivery: Path) -> tuple | None:
    """What a delivery is now (each file's name, size and time), or None while it cannot be taken: empty, or with a
    file still under an upload's temporary name."""
    files = _files(delivery)
    if not files or any(_temporary(p) for p in files):
        return None
    try:
        return tuple((str(p.relative_to(delivery.parent)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    except FileNotFoundError:  # renamed while looked at: an upload finishing
        return None


def candidates(drop: Path) -> list[Path]:
    """The entries of DROP that may be deliveries, oldest first."""
    entries = [p for p in drop.iterdir() if p.name not in (LOADED, REJECTED) and not _temporary(p) and not _hidden(p)]
    return sorted(entries, key=lambda p: (p.stat().st_mtime_ns, p.name))


def complete(drop: Path, settle: float) -> list[Path]:
    """The deliveries in DROP that did not change over `settle` seconds (a file still being written grows)."""
    before = {p: _look(p) for p in candidates(drop)}
    time.sleep(settle)
    return [p for p, seen in before.items() if seen is not None and p.exists() and _look(p) == seen]


def loaded_before(db: Path, delivery: Path) -> list[int]:
    """The loads that already hold every file of the delivery (by SHA-256; none when any file is new)."""
    if not db.exists():
        return []
    import duckdb

    from etl.ingest.load import sha256
    from etl.ingest.read import data_files

    # The files a load reads (not a hidden file, a mapping, a subfolder): what the load history holds.
    digests = [sha256(p) for p in (data_files(delivery) if delivery.is_dir() else [delivery])]
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = con.sql("select sha256, min(load_id) from load_files where sha256 in (select unnest(?)) group by 1",
                        params=[digests]).fetchall()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()
    loads = dict(found)
    return sorted({loads[d] for d in digests}) if digests and all(d in loads for d in digests) else []


@contextmanager
def as_source(delivery: Path) -> Iterator[Path]:
    """The delivery as a source folder: itself, or a folder holding the one file."""
    if delivery.is_dir():
        yield delivery
        return
    with tempfile.TemporaryDirectory(prefix="mio-delivery-") as folder:
        shutil.copy2(delivery, Path(folder) / delivery.name)
        yield Path(folder)


@dataclass
class Moved:
    delivery: str
    status: str  # "loaded", "rejected" or "already loaded"
    to: Path


def move(drop: Path, delivery: Path, outcome: str, note: str | None = None, note_name: str = "REJECTED.txt"
         ) -> Path:
    """Move the delivery to DROP/loaded or DROP/rejected under `<when>-<name>` (a folder; a file goes inside one),
    with `note` written beside it."""
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = drop / outcome / f"{when}-{delivery.name}"
    number = 1
    while target.exists():
        number += 1
        target = drop / outcome / f"{when}-{number}-{delivery.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if delivery.is_dir():
        delivery.rename(target)
    else:
        target.mkdir()
        delivery.rename(target / delivery.name)
    if note is not None:
        (target / note_name).write_text(note, encoding="utf-8")
    return target


def record(db: Path, delivery: str, status: str, moved_to: Path, load_id: int | None = None,
           rows_quarantined: int = 0, reason: str | None = None, alert: str | None = None) -> bool:
    """Keep what was done with a delivery in the warehouse (watched_deliveries, for the Data quality page); False
    when there is no warehouse to keep it in yet (a first delivery rejected)."""
    from etl.ingest.load import amend

    if not db.exists():
        return False
    with amend(db) as con:
        number = int(con.execute("select coalesce(max(delivery_id), 0) + 1 from watched_deliveries").fetchall()[0][0])
        con.execute("insert into watched_deliveries values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [number, delivery, datetime.now(UTC).replace(tzinfo=None), status, load_id, rows_quarantined,
                     str(moved_to), reason, alert])
    return True


def alert(to: str, subject: str, text: str, sleep: Callable[[float], None] = time.sleep) -> str | None:
    """Tell the office's addresses (`to`: mailto:a@x,b@y) what happened to a delivery, through the SMTP settings and
    the retry rule of scheduled reports (etl/schedule.py). None when sent; else the last attempt's error (the watcher
    says it and goes on: an alert that cannot be sent stops no load)."""
    from email.message import EmailMessage

    from etl.schedule import retry_settings, send_mail

    attempts, wait = retry_settings()
    error = None
    for tried in range(1, attempts + 1):
        message = EmailMessage()
        message["Subject"] = subject
        message.set_content(f"{text}\n-- mio watch")
        try:
            send_mail(to, message)
            return None
        except Exception as exc:  # noqa: BLE001 - an SMTP or network error: tried again, then reported
            error = f"{type(exc).__name__}: {exc}"
        if tried < attempts:
            sleep(wait)
    return error
