"""`mio watch DROP` (issue 32): deliveries that arrive by themselves are loaded as `mio load` loads them, moved to
loaded/ or rejected/ (nothing deleted), never loaded twice, and never read while still being written."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from dashboard import registry
from etl.cli import main
from etl.watch import complete
from tests.conftest import HAND, grid_frame, run_app, write_source


def _aged(path: Path, seconds_ago: float) -> Path:
    """Give a delivery (and its files) an older time: the watcher takes the oldest first."""
    when = time.time() - seconds_ago
    for item in [path, *path.rglob("*")]:
        os.utime(item, (when, when))
    return path


def _loads(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("select load_id, status, source from load_history order by load_id").fetchall()
    finally:
        con.close()


def _watch(drop: Path, db: Path) -> object:
    return CliRunner().invoke(main, ["watch", str(drop), "--db", str(db), "--once", "--settle", "0"])


def test_a_watched_drop_loads_rejects_and_never_loads_twice(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    db = tmp_path / "w.duckdb"
    _aged(write_source(drop / "first-export", HAND), 30)
    (drop / "first-export" / ".DS_Store").write_bytes(b"\0\0")  # a desktop's hidden file: neither blocks nor loads
    _aged(drop / "first-export", 30)
    (drop / ".students.csv.Xa3f9Q").write_text("rsync's temporary name")  # not a delivery
    bad = [*HAND["applications"][:1], *(f"A{n},S1,P1,not a date,platform,selected," for n in range(90, 99))]
    _aged(write_source(drop / "broken-export", {"applications": bad}), 20)
    (drop / "offers.csv.filepart").write_text("an upload under way")  # an SFTP client's temporary name

    done = _watch(drop, db)
    assert done.exit_code == 1, done.output  # one delivery was rejected
    assert [(n, s) for n, s, _ in _loads(db)] == [(1, "loaded")]
    assert _loads(db)[0][2] == str(drop / "first-export")
    loaded = list((drop / "loaded").iterdir())
    rejected = list((drop / "rejected").iterdir())
    assert [p.name.split("-", 1)[1] for p in loaded] == ["first-export"]
    assert [p.name.split("-", 1)[1] for p in rejected] == ["broken-export"]
    assert sorted(p.name for p in loaded[0].iterdir()) == sorted([".DS_Store", *(f"{name}.csv" for name in HAND)])
    said = (rejected[0] / "REJECTED.txt").read_text()
    assert "rejected: too many bad rows" in said and "applications.csv" in said and "applied_at" in said
    assert (rejected[0] / "applications.csv").read_text().count("not a date") == 9  # kept as delivered
    assert (drop / "offers.csv.filepart").exists()  # not taken, not moved

    # The same export delivered again (a restarted watcher, a client that sends twice): not loaded a second time.
    _aged(write_source(drop / "first-export-again", HAND), 10)
    (drop / "first-export-again" / ".DS_Store").write_bytes(b"\1")  # not a file a load reads
    again = _watch(drop, db)
    assert again.exit_code == 0, again.output
    assert len(_loads(db)) == 1
    repeated = next(p for p in (drop / "loaded").iterdir() if p.name.endswith("first-export-again"))
    assert "loaded before (load 1)" in (repeated / "ALREADY-LOADED.txt").read_text()

    # One entity's file alone is a delivery too: new offers on top of what is there.
    (drop / "offers.csv.filepart").rename(drop / "offers.csv")
    (drop / "offers.csv").write_text("\n".join([HAND["offers"][0], *HAND["offers"][1:2]]) + "\n")
    single = _watch(drop, db)
    assert single.exit_code == 0, single.output
    assert [(n, s) for n, s, _ in _loads(db)] == [(1, "loaded"), (2, "loaded")]
    assert not (drop / "offers.csv").exists()
    assert any((p / "offers.csv").is_file() for p in (drop / "loaded").iterdir())
    assert sorted(p.name for p in drop.iterdir()) == [".students.csv.Xa3f9Q", "loaded", "rejected"]


def test_a_file_still_being_written_is_not_taken(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    growing = drop / "applications.csv"
    growing.write_text(HAND["applications"][0] + "\n")
    stop = threading.Event()

    def write_on() -> None:
        with growing.open("a") as handle:
            for line in HAND["applications"][1:] * 20:
                if stop.is_set():
                    return
                handle.write(line + "\n")
                handle.flush()
                time.sleep(0.02)

    writer = threading.Thread(target=write_on)
    writer.start()
    try:
        assert complete(drop, settle=0.3) == []  # it grew while watched
    finally:
        stop.set()
        writer.join()
    assert complete(drop, settle=0.3) == [growing]  # still since: complete


def test_a_rejected_or_quarantining_delivery_is_told_by_mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--alert mailto:…: through a real SMTP server with STARTTLS and a login (tests/test_schedule.py's), one message
    for a delivery loaded with a quarantined row and one for a rejected one, each with what mio load prints; none for
    a clean delivery."""
    from tests.test_schedule import Mailbox, smtp_env

    drop = tmp_path / "drop"
    drop.mkdir()
    db = tmp_path / "w.duckdb"
    _aged(write_source(drop / "clean", HAND), 30)
    one_bad = [*HAND["applications"], "A98,S1,P1,2025-01-10T10:00:00Z,platform,maybe,"]  # a status of its own
    _aged(write_source(drop / "one-bad-row", {"applications": one_bad}), 20)
    bad = [*HAND["applications"][:1], *(f"A{n},S1,P1,not a date,platform,selected," for n in range(90, 99))]
    _aged(write_source(drop / "broken", {"applications": bad}), 10)
    (tmp_path / "smtp").mkdir()
    with Mailbox(tmp_path / "smtp") as box:
        smtp_env(monkeypatch, box)
        done = CliRunner().invoke(main, ["watch", str(drop), "--db", str(db), "--once", "--settle", "0",
                                         "--max-bad-rows", "0.2", "--alert", "mailto:office@example.edu"])
    assert done.exit_code == 1, done.output
    subjects = [m["Subject"] for m in box.messages]
    assert subjects == ["mio watch: one-bad-row loaded, 1 row quarantined", "mio watch: broken rejected"]
    assert all(m["To"] == "office@example.edu" for m in box.messages)
    quarantined, rejected = (m.get_content() for m in box.messages)
    assert "status" in quarantined and "Quarantined: 1 row" in quarantined
    assert "rejected: too many bad rows" in rejected and "REJECTED.txt" in rejected

    # The warehouse keeps what was done with each delivery, and the Data quality page lists it.
    con = duckdb.connect(str(db), read_only=True)
    kept = con.sql("select delivery, status, load_id, rows_quarantined, reason, alert from watched_deliveries "
                   "order by delivery_id").fetchall()
    con.close()
    assert [row[:4] for row in kept] == [("clean", "loaded", 1, 0), ("one-bad-row", "loaded", 2, 1),
                                         ("broken", "rejected", None, 9)]
    assert kept[2][4].startswith("too many bad rows") and kept[0][5] is None
    assert kept[1][5] == kept[2][5] == "sent to office@example.edu"
    at = run_app(db, monkeypatch)
    at.switch_page(registry.page("data_quality").file).run()
    assert not at.exception, at.exception
    assert "Deliveries from the watched drop" in [h.value for h in at.subheader]
    shown = grid_frame(at.dataframe[1])
    assert shown["delivery"].to_list() == ["broken", "one-bad-row", "clean"]  # newest first
    assert shown["status"].to_list() == ["rejected", "loaded", "loaded"]
    assert shown["rows_quarantined"].to_list() == [9, 1, 0]


def test_a_delivery_that_cannot_be_loaded_now_waits_in_the_drop(tmp_path: Path) -> None:
    """The warehouse cannot be written (here: its path is a folder): the watcher says so, leaves the delivery where
    it is, and loads it at a later look once the warehouse can be written."""
    drop = tmp_path / "drop"
    drop.mkdir()
    write_source(drop / "export", HAND)
    blocked = tmp_path / "blocked.duckdb"
    blocked.mkdir()
    first = _watch(drop, blocked)
    assert first.exit_code == 0, first.output
    assert "stays in the drop" in first.output and (drop / "export").is_dir()
    assert not (drop / "loaded").exists() and not (drop / "rejected").exists()
    later = _watch(drop, tmp_path / "w.duckdb")
    assert later.exit_code == 0, later.output
    assert [(n, s) for n, s, _ in _loads(tmp_path / "w.duckdb")] == [(1, "loaded")]


def test_an_alert_that_cannot_be_sent_is_recorded_and_stops_nothing(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay refuses the login: every attempt fails, the watcher says so, loads on and records the alert unsent."""
    from tests.test_schedule import Mailbox, smtp_env

    drop = tmp_path / "drop"
    drop.mkdir()
    db = tmp_path / "w.duckdb"
    _aged(write_source(drop / "clean", HAND), 20)
    bad = [*HAND["applications"][:1], *(f"A{n},S1,P1,not a date,platform,selected," for n in range(90, 99))]
    _aged(write_source(drop / "broken", {"applications": bad}), 10)
    (tmp_path / "smtp").mkdir()
    with Mailbox(tmp_path / "smtp") as box:
        smtp_env(monkeypatch, box, password="not the password")
        done = CliRunner().invoke(main, ["watch", str(drop), "--db", str(db), "--once", "--settle", "0",
                                         "--alert", "mailto:office@example.edu"])
    assert done.exit_code == 1, done.output
    assert not box.messages and set(box.logins) == {"reports@example.edu:refused"}
    assert len(box.logins) % 3 == 0  # MIO_DELIVERY_ATTEMPTS (3) tries, each refused (smtplib tries two mechanisms)
    assert "could not be sent" in done.output
    con = duckdb.connect(str(db), read_only=True)
    kept = con.sql("select delivery, status, alert from watched_deliveries order by delivery_id").fetchall()
    con.close()
    assert [row[:2] for row in kept] == [("clean", "loaded"), ("broken", "rejected")]
    assert kept[1][2].startswith("not sent to office@example.edu: ")
