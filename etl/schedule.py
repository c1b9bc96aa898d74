"""Reports that go out on their own: `mio schedule`.

A schedule names the outcomes report for a population (the same filters as the dashboard's sidebar), its formats
(PDF, HTML), when it is due (daily, weekly on a weekday, or monthly on a day, at a time of the machine's local
clock) and where it goes: a folder, or e-mail addresses over SMTP with STARTTLS. Schedules are kept in a JSON file
(MIO_SCHEDULES, else data/schedules.json), written whole at each change.

`mio schedule run` (for cron or a systemd timer) delivers every schedule whose latest due time has passed since it
was added and has not been delivered. A delivery is tried ATTEMPTS times, RETRY_SECONDS apart; each attempt is
recorded in the warehouse (`report_deliveries`), sent or failed with its error, and a slot that failed stays due,
so the next run tries it again. The run ends with status 1 when any delivery failed: cron mails that, a timer logs
it. Every report goes through the disclosure rule of the shared report (K of at least 10).
"""

from __future__ import annotations

import calendar
import contextlib
import fcntl
import json
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from etl.metrics.disclosure import public_rule
from etl.metrics.outcomes import DEFAULT_MIN_CELL, Filters
from etl.warehouse import Connection

DEFAULT_SCHEDULES = Path("data/schedules.json")
EVERY = ("daily", "weekly", "monthly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FORMATS = ("pdf", "html")
MEDIA = {"pdf": ("application", "pdf"), "html": ("text", "html")}
# The filters a schedule may hold: the Filters fields a director sets in the sidebar.
POPULATION = ("institutions", "colleges", "majors", "class_levels", "industries", "platforms", "term_from", "term_to")


def schedules_path() -> Path:
    return Path(os.environ.get("MIO_SCHEDULES", str(DEFAULT_SCHEDULES)))


@dataclass(frozen=True)
class Schedule:
    name: str
    every: str  # daily, weekly or monthly
    at: str = "07:00"  # HH:MM, the machine's local time
    weekday: str | None = None  # weekly: monday ... sunday
    day: int | None = None  # monthly: 1 ... 28
    to: str = ""  # a folder, or mailto:one@example.org,two@example.org
    formats: tuple[str, ...] = FORMATS
    population: dict = field(default_factory=dict)  # POPULATION fields with their values
    min_cell: int = DEFAULT_MIN_CELL
    created_at: str = ""  # ISO, UTC: no slot before it is due

    def __post_init__(self) -> None:
        problems = []
        if not self.name.strip() or len(self.name) > 80 or any(c in self.name for c in "/\\\0"):
            problems.append("a name of 1 to 80 characters without slashes")
        if self.every not in EVERY:
            problems.append(f"--every one of {', '.join(EVERY)}")
        try:
            hour, minute = (int(part) for part in self.at.split(":"))
            if not (0 <= hour < 24 and 0 <= minute < 60):
                raise ValueError
        except ValueError:
            problems.append("--at as HH:MM (24-hour clock)")
        if self.every == "weekly" and self.weekday not in WEEKDAYS:
            problems.append(f"--weekday one of {', '.join(WEEKDAYS)} for a weekly report")
        if self.every == "monthly" and not (isinstance(self.day, int) and 1 <= self.day <= 28):
            problems.append("--day from 1 to 28 for a monthly report")
        if not self.to:
            problems.append("--to a folder or mailto:ADDRESS[,ADDRESS]")
        if self.to.startswith("mailto:") and not all("@" in a for a in recipients(self.to)):
            problems.append("e-mail addresses after mailto:, separated by commas")
        if not self.formats or any(f not in FORMATS for f in self.formats):
            problems.append(f"--format one or both of {', '.join(FORMATS)}")
        if any(key not in POPULATION for key in self.population):
            problems.append(f"filters among {', '.join(POPULATION)}")
        if problems:
            raise ValueError("a schedule needs " + "; ".join(problems))

    def filters(self) -> Filters:
        values: dict[str, Any] = {k: (tuple(v) if isinstance(v, list | tuple) else v)
                                  for k, v in self.population.items()}
        return Filters(**values)

    def when(self) -> str:
        """When it is due, in words."""
        if self.every == "daily":
            return f"daily at {self.at}"
        if self.every == "weekly":
            return f"{self.weekday}s at {self.at}"
        return f"monthly on day {self.day} at {self.at}"

    def last_slot(self, now: datetime) -> datetime:
        """The latest time at or before `now` (aware) when this report was due, in now's time zone."""
        hour, minute = (int(part) for part in self.at.split(":"))
        today = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if self.every == "daily":
            return today if today <= now else today - timedelta(days=1)
        if self.every == "weekly":
            back = (today.weekday() - WEEKDAYS.index(self.weekday)) % 7
            slot = today - timedelta(days=back)
            return slot if slot <= now else slot - timedelta(days=7)
        assert self.day is not None  # a monthly schedule names its day (checked when it is made)
        slot = today.replace(day=self.day)
        if slot > now:
            year, month = (slot.year, slot.month - 1) if slot.month > 1 else (slot.year - 1, 12)
            slot = slot.replace(year=year, month=month, day=min(self.day, calendar.monthrange(year, month)[1]))
        return slot


def recipients(to: str) -> list[str]:
    return [a.strip() for a in to.removeprefix("mailto:").split(",") if a.strip()]


class ScheduleStore:
    """The schedules file: read at each use, written whole (a new file renamed over the old)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or schedules_path()

    def all(self) -> list[Schedule]:
        if not self.path.exists():
            return []
        rows = json.loads(self.path.read_text(encoding="utf-8"))
        return [Schedule(**{**row, "formats": tuple(row.get("formats", FORMATS))}) for row in rows]

    def _save(self, schedules: list[Schedule]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".new")
        tmp.write_text(json.dumps([asdict(s) for s in schedules], indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)

    def add(self, schedule: Schedule) -> Schedule:
        schedules = self.all()
        if any(s.name == schedule.name for s in schedules):
            raise ValueError(f"a schedule named {schedule.name!r} exists; remove it first")
        if not schedule.created_at:
            schedule = Schedule(**{**asdict(schedule), "created_at": datetime.now(UTC).isoformat()})
        self._save([*schedules, schedule])
        return schedule

    def remove(self, name: str) -> bool:
        schedules = self.all()
        kept = [s for s in schedules if s.name != name]
        self._save(kept)
        return len(kept) < len(schedules)


@dataclass(frozen=True)
class Delivery:
    schedule: str
    slot: datetime
    status: str  # sent or failed
    attempts: int
    destination: str
    error: str | None = None


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def delivered_slots(con: Connection) -> set[tuple[str, datetime]]:
    """(schedule, slot in naive UTC) of every sent delivery the warehouse records."""
    return {(row["schedule"], row["slot"]) for row in history(con) if row["status"] == "sent"}


def due(schedules: list[Schedule], sent: set[tuple[str, datetime]], now: datetime) -> list[tuple[Schedule, datetime]]:
    """Each schedule whose latest slot has passed since it was added and was not delivered, with that slot."""
    found = []
    for schedule in schedules:
        slot = schedule.last_slot(now)
        created = datetime.fromisoformat(schedule.created_at) if schedule.created_at else None
        if created is not None and slot < created:
            continue
        if (schedule.name, _naive_utc(slot)) not in sent:
            found.append((schedule, slot))
    return found


def render(con: Connection, schedule: Schedule) -> dict[str, bytes]:
    """The report in each of the schedule's formats."""
    from etl.metrics.pdf import outcomes_pdf
    from etl.metrics.report import outcomes_report

    made = {}
    for fmt in schedule.formats:
        if fmt == "pdf":
            made["pdf"] = outcomes_pdf(con, schedule.filters(), schedule.min_cell)
        else:
            made["html"] = outcomes_report(con, schedule.filters(), schedule.min_cell).encode("utf-8")
    return made


def file_names(schedule: Schedule, slot: datetime, files: dict[str, bytes]) -> dict[str, str]:
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in schedule.name)
    return {fmt: f"{stem}-{slot:%Y-%m-%d-%H%M}.{fmt}" for fmt in files}


def to_folder(schedule: Schedule, slot: datetime, files: dict[str, bytes]) -> str:
    folder = Path(schedule.to).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    for fmt, name in file_names(schedule, slot, files).items():
        tmp = folder / f".{name}.part"
        tmp.write_bytes(files[fmt])
        os.replace(tmp, folder / name)
    return str(folder)


def to_mail(schedule: Schedule, slot: datetime, files: dict[str, bytes]) -> str:
    """The report to the schedule's addresses (send_mail)."""
    message = EmailMessage()
    message["Subject"] = f"Micro-internship outcomes: {schedule.name} ({slot:%Y-%m-%d})"
    message.set_content(
        f"The outcomes report \"{schedule.name}\", due {slot:%Y-%m-%d %H:%M} ({schedule.when()}), is attached "
        f"({', '.join(f.upper() for f in files)}).\n\n{public_rule(schedule.min_cell)}\n\n-- mio schedule")
    for fmt, name in file_names(schedule, slot, files).items():
        kind, subtype = MEDIA[fmt]
        message.add_attachment(files[fmt], maintype=kind, subtype=subtype, filename=name)
    send_mail(schedule.to, message)
    return schedule.to


def send_mail(to: str, message: EmailMessage) -> None:
    """Send `message` to the addresses of `to` (mailto:a@x,b@y) over SMTP with STARTTLS (MIO_SMTP_HOST,
    MIO_SMTP_PORT, MIO_SMTP_USER, MIO_SMTP_PASSWORD, MIO_SMTP_FROM; MIO_SMTP_CAFILE adds a certificate authority to
    trust, for a relay with its own). Never sends without TLS."""
    host = os.environ.get("MIO_SMTP_HOST")
    if not host:
        raise RuntimeError("MIO_SMTP_HOST is not set: no server to send through")
    port = int(os.environ.get("MIO_SMTP_PORT", "587"))
    user, password = os.environ.get("MIO_SMTP_USER"), os.environ.get("MIO_SMTP_PASSWORD")
    message["From"] = os.environ.get("MIO_SMTP_FROM") or user or "mio@localhost"
    message["To"] = ", ".join(recipients(to))
    context = ssl.create_default_context(cafile=os.environ.get("MIO_SMTP_CAFILE") or None)
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.starttls(context=context)  # raises when the server offers no STARTTLS
        smtp.ehlo()
        if user:
            smtp.login(user, password or "")
        smtp.send_message(message)


def retry_settings() -> tuple[int, float]:
    """How many times a delivery is tried in one run, and how far apart (MIO_DELIVERY_ATTEMPTS,
    MIO_DELIVERY_RETRY_SECONDS): scheduled reports and the watcher's alerts alike."""
    return int(os.environ.get("MIO_DELIVERY_ATTEMPTS", "3")), float(os.environ.get("MIO_DELIVERY_RETRY_SECONDS", "30"))


def _deliver(schedule: Schedule, slot: datetime, files: dict[str, bytes]) -> str:
    return to_mail(schedule, slot, files) if schedule.to.startswith("mailto:") else to_folder(schedule, slot, files)


@contextlib.contextmanager
def _one_run_at_a_time(db: Path) -> Iterator[None]:
    """Runs for one warehouse take turns (a second waits), so a timer that fires while a slow run is still sending
    finds that run's deliveries recorded and sends nothing twice."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".schedule.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_due(db: Path, store: ScheduleStore, now: datetime | None = None, attempts: int | None = None,
            wait: float | None = None, sleep: Callable[[float], None] = time.sleep,
            say: Callable[[str], None] = lambda _: None) -> list[Delivery]:
    """Deliver every due report and record each attempt in the warehouse; the deliveries, sent or failed."""
    with _one_run_at_a_time(db):
        return _run_due(db, store, now, attempts, wait, sleep, say)


def _run_due(db: Path, store: ScheduleStore, now: datetime | None, attempts: int | None, wait: float | None,
             sleep: Callable[[float], None], say: Callable[[str], None]) -> list[Delivery]:
    from etl.ingest.load import amend
    from etl.warehouse import connect_read_only

    now = (now or datetime.now()).astimezone()
    configured = retry_settings()
    attempts = attempts if attempts is not None else configured[0]
    wait = wait if wait is not None else configured[1]
    con = connect_read_only(db)
    try:
        todo = due(store.all(), delivered_slots(con), now)
        made: list[tuple[Schedule, datetime, dict[str, bytes], str | None]] = []
        for schedule, slot in todo:
            try:
                made.append((schedule, slot, render(con, schedule), None))
            except Exception as exc:  # noqa: BLE001 - recorded and reported, never dropped
                made.append((schedule, slot, {}, f"the report could not be made: {exc}"))
    finally:
        con.close()
    records, results = [], []
    for schedule, slot, files, problem in made:
        error = problem
        tried = 0
        for tried in range(1, (attempts if problem is None else 1) + 1):
            started = datetime.now(UTC)
            try:
                if problem is not None:
                    raise RuntimeError(problem)
                destination = _deliver(schedule, slot, files)
                error = None
            except Exception as exc:  # noqa: BLE001 - an SMTP, network or disk error: recorded, then retried
                destination, error = schedule.to, f"{type(exc).__name__}: {exc}"
            records.append((schedule.name, _naive_utc(slot), tried, _naive_utc(started),
                            _naive_utc(datetime.now(UTC)), "failed" if error else "sent", destination,
                            ", ".join(file_names(schedule, slot, files).values()), sum(map(len, files.values())),
                            error))
            say(f"{schedule.name} ({slot:%Y-%m-%d %H:%M}): attempt {tried} "
                + (f"failed: {error}" if error else f"sent to {destination}"))
            if error is None:
                break
            if tried < attempts and problem is None:
                sleep(wait)
        results.append(Delivery(schedule.name, slot, "failed" if error else "sent", tried, schedule.to, error))
    if records:
        with amend(db) as writer:
            first = int(writer.execute("select coalesce(max(delivery_id), 0) + 1 from report_deliveries"
                                       ).fetchall()[0][0])
            writer.executemany("insert into report_deliveries values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               [[first + i, *record] for i, record in enumerate(records)])
    return results


def history(con: Connection) -> list[dict]:
    """Every recorded attempt, newest first."""
    from etl.warehouse import has_table

    if not has_table(con, "report_deliveries"):  # a warehouse no delivery has been recorded in yet
        return []
    cur = con.cursor()
    try:
        cursor = cur.execute("select * from report_deliveries order by delivery_id desc")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cur.close()
