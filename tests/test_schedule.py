"""Reports that go out on their own (etl/schedule.py, `mio report --out`, `mio schedule`): the PDF and HTML report
read back, the calendar, deliveries to a folder and through a real SMTP server with STARTTLS and a login (aiosmtpd,
started here), retries and failures recorded in the warehouse, never dropped."""

from __future__ import annotations

import datetime as dt
import email
import io
import ipaddress
import json
import socket
import ssl
from collections.abc import Iterator
from datetime import datetime
from email import policy
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from etl.cli import main
from etl.metrics.outcomes import Filters
from etl.metrics.report import report_tables
from etl.schedule import Schedule, history
from tests.conftest import HAND, write_source

SMTP_USER, SMTP_PASSWORD = "reports@example.edu", "smtp-test-password"


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_images(data: bytes) -> int:
    from pypdf import PdfReader

    return sum(len(page.images) for page in PdfReader(io.BytesIO(data)).pages)


def headline(db: Path, filters: Filters = Filters()) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return report_tables(con, filters).get("overall").row(0, named=True)
    finally:
        con.close()


@pytest.mark.parametrize(("when", "now", "slot"), [
    (dict(every="daily", at="07:00"), "2026-12-02T06:59", "2026-12-01T07:00"),
    (dict(every="daily", at="07:00"), "2026-12-02T07:00", "2026-12-02T07:00"),
    (dict(every="weekly", weekday="monday", at="08:30"), "2026-12-09T12:00", "2026-12-07T08:30"),
    (dict(every="weekly", weekday="wednesday", at="08:30"), "2026-12-09T08:00", "2026-12-02T08:30"),
    (dict(every="monthly", day=1, at="06:00"), "2026-12-01T05:00", "2026-11-01T06:00"),
    (dict(every="monthly", day=15, at="06:00"), "2027-01-10T00:00", "2026-12-15T06:00"),
])
def test_the_latest_due_time(when: dict, now: str, slot: str) -> None:
    zone = dt.timezone(dt.timedelta(hours=-5))
    schedule = Schedule(name="r", to="/tmp/x", **when)
    assert schedule.last_slot(datetime.fromisoformat(now).replace(tzinfo=zone)) == \
        datetime.fromisoformat(slot).replace(tzinfo=zone)


@pytest.mark.parametrize("wrong", [
    dict(every="hourly"), dict(every="weekly"), dict(every="monthly", day=31), dict(at="25:00"),
    dict(to=""), dict(to="mailto:nobody"), dict(formats=("docx",)), dict(name="a/b"),
    dict(population={"employer_id": "E1"}),
])
def test_a_schedule_that_cannot_run_is_refused(wrong: dict) -> None:
    with pytest.raises(ValueError, match="a schedule needs"):
        Schedule(**{"name": "r", "every": "daily", "to": "/tmp/x", **wrong})


def test_mio_report_out_writes_a_readable_pdf_and_html(sample: tuple[Path, Path], tmp_path: Path) -> None:
    db = sample[1]
    con = duckdb.connect(str(db), read_only=True)
    institution = con.sql("select institution from students group by 1 order by count(*) desc limit 1"
                          ).fetchall()[0][0]
    con.close()
    for args, filters in (([], Filters()), (["--institution", institution], Filters(institutions=(institution,)))):
        pdf, page = tmp_path / "report.pdf", tmp_path / "report.html"
        for out in (pdf, page):
            result = CliRunner().invoke(main, ["report", "--db", str(db), "--out", str(out), *args])
            assert result.exit_code == 0, result.output
        row = headline(db, filters)
        text = pdf_text(pdf.read_bytes())
        assert "Micro-internship outcomes" in text
        assert f"{row['applications']:,}" in text and f"{row['offer_rate']:.1%}" in text
        assert "Offer rate by industry" in text and "First destinations (NACE)" in text
        assert (f"institutions: {institution}" in text) == bool(args)
        html = page.read_text(encoding="utf-8")
        assert f"{row['applications']:,}" in html and f"{row['offer_rate']:.1%}" in html
    assert CliRunner().invoke(main, ["report", "--db", str(db), "--out", str(tmp_path / "r.docx")]).exit_code == 2
    assert CliRunner().invoke(main, ["report", "--db", str(db), "--by", "industry", "--out", str(pdf)]).exit_code == 2
    assert CliRunner().invoke(main, ["report", "--db", str(db), "--by", "industry",
                                     "--institution", institution]).exit_code == 2


def test_the_pdf_keeps_hostile_names_as_text(tmp_path: Path) -> None:
    """Names made of markup (reportlab reads <img> and <a> in a paragraph) and 5,000 characters: shown as text,
    cut to fit a cell, and nothing fetched or embedded."""
    from etl.pipeline import load

    hostile = ('<img src="http://host.example/i.png"/> <a href="http://host.example">x</a> <b>bold</b> '
               '=HYPERLINK("http://host.example") ' + "w" * 5000)
    quoted = hostile.replace('"', '""')
    employers = ["employer_id,name,industry,size_band,state", f'E1,"{quoted}","{quoted}",50-249,NY',
                 "E2,Beta Bank,Finance,5000+,IL"]
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", {**HAND, "employers": employers}), db).ok
    out = tmp_path / "r.pdf"
    result = CliRunner().invoke(main, ["report", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes()).replace("\n", "")  # a cell wraps the name inside its words
    assert '<img src="http://host.example/i.png"/> <a href="http://host.example">x</a> <b>b…' in text
    assert "w" * 100 not in text
    assert pdf_images(out.read_bytes()) == 0
    assert b"host.example/i.png" not in out.read_bytes().split(b"stream")[0]  # no link or image object names it


# --- delivery ---------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made here (the client trusts it through MIO_SMTP_CAFILE)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Mailbox:
    """An SMTP server on 127.0.0.1 that offers STARTTLS, requires it and a login, and keeps what it receives."""

    def __init__(self, folder: Path) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[email.message.EmailMessage] = []
        self.logins: list[str] = []
        cert, key = self_signed(folder)
        self.cafile = cert
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN202, N802 - aiosmtpd's hook
                box.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
            good = (auth_data.login.decode(), auth_data.password.decode()) == (SMTP_USER, SMTP_PASSWORD)
            box.logins.append(f"{auth_data.login.decode()}:{'ok' if good else 'refused'}")
            return AuthResult(success=good, handled=False)  # not handled: the server answers 535 itself

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, authenticator=authenticate, auth_required=True,
                                     auth_require_tls=True)

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    with Mailbox(tmp_path) as box:
        yield box


def smtp_env(monkeypatch: pytest.MonkeyPatch, box: Mailbox, password: str = SMTP_PASSWORD,
             port: int | None = None) -> None:
    for key, value in {"MIO_SMTP_HOST": "127.0.0.1", "MIO_SMTP_PORT": str(port or box.port),
                       "MIO_SMTP_USER": SMTP_USER, "MIO_SMTP_PASSWORD": password,
                       "MIO_SMTP_FROM": SMTP_USER, "MIO_SMTP_CAFILE": str(box.cafile),
                       "MIO_DELIVERY_ATTEMPTS": "3", "MIO_DELIVERY_RETRY_SECONDS": "0"}.items():
        monkeypatch.setenv(key, value)


def copy_of(db: Path, folder: Path) -> Path:
    """A warehouse of the test's own (deliveries are written into it)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "warehouse.duckdb"
    target.write_bytes(db.read_bytes())
    return target


def run(args: list[str]) -> object:
    return CliRunner().invoke(main, args, catch_exceptions=False)


def deliveries(db: Path) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return history(con)
    finally:
        con.close()


def test_a_scheduled_report_lands_in_a_folder_once_per_due_time(sample: tuple[Path, Path], tmp_path: Path) -> None:
    db = copy_of(sample[1], tmp_path / "w")
    schedules, folder = tmp_path / "schedules.json", tmp_path / "out"
    added = run(["schedule", "add", "weekly-board", "--every", "weekly", "--weekday", "monday", "--at", "07:00",
                 "--to", str(folder), "--schedules", str(schedules)])
    assert added.exit_code == 0, added.output
    assert json.loads(run(["schedule", "list", "--format", "json", "--schedules", str(schedules)]).stdout)[0][
        "formats"] == ["pdf", "html"]
    base = ["schedule", "run", "--db", str(db), "--schedules", str(schedules)]
    first = run([*base, "--now", "2027-01-05T09:00"])  # a Tuesday: Monday 07:00 is due
    assert first.exit_code == 0, first.output
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["weekly-board-2027-01-04-0700.html", "weekly-board-2027-01-04-0700.pdf"]
    assert f"{headline(db)['applications']:,}" in pdf_text((folder / files[1]).read_bytes())
    again = run([*base, "--now", "2027-01-06T09:00"])
    assert again.exit_code == 0 and "nothing due" in again.output
    later = run([*base, "--now", "2027-01-11T07:01"])
    assert later.exit_code == 0 and len(list(folder.iterdir())) == 4
    recorded = deliveries(db)
    assert [(r["schedule"], r["status"], r["attempt"]) for r in recorded] == [("weekly-board", "sent", 1)] * 2
    assert recorded[1]["slot"] == datetime.fromisoformat("2027-01-04T07:00").astimezone().astimezone(
        dt.UTC).replace(tzinfo=None)
    assert run(["schedule", "remove", "weekly-board", "--schedules", str(schedules)]).exit_code == 0
    assert run(["schedule", "remove", "weekly-board", "--schedules", str(schedules)]).exit_code == 1


def test_two_runs_at_once_deliver_a_report_once(sample: tuple[Path, Path], tmp_path: Path) -> None:
    """A timer that fires while a run is still sending: the runs take turns, and the second finds the slot sent."""
    import threading

    from etl.schedule import ScheduleStore, run_due

    db = copy_of(sample[1], tmp_path / "w")
    store = ScheduleStore(tmp_path / "schedules.json")
    store.add(Schedule(name="twice", every="daily", to=str(tmp_path / "out"), formats=("html",),
                       created_at="2026-01-01T00:00:00+00:00"))
    now = datetime.fromisoformat("2027-03-02T08:00").astimezone()
    results: list = []
    runs = [threading.Thread(target=lambda: results.append(run_due(db, store, now))) for _ in range(2)]
    for run_ in runs:
        run_.start()
    for run_ in runs:
        run_.join()
    assert sorted(len(r) for r in results) == [0, 1]
    assert [(r["schedule"], r["status"]) for r in deliveries(db)] == [("twice", "sent")]


def test_a_scheduled_report_arrives_by_mail_as_a_readable_pdf_and_html(
        sample: tuple[Path, Path], tmp_path: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    db = copy_of(sample[1], tmp_path / "w")
    con = duckdb.connect(str(db), read_only=True)
    institution = con.sql("select institution from students group by 1 order by count(*) desc limit 1"
                          ).fetchall()[0][0]
    con.close()
    schedules = tmp_path / "schedules.json"
    smtp_env(monkeypatch, mailbox)
    assert run(["schedule", "add", "provost", "--every", "monthly", "--day", "1", "--at", "06:00", "--to",
                "mailto:provost@example.edu,dean@example.edu", "--institution", institution,
                "--schedules", str(schedules)]).exit_code == 0
    result = run(["schedule", "run", "--db", str(db), "--schedules", str(schedules), "--now", "2027-02-01T06:30"])
    assert result.exit_code == 0, result.output
    assert mailbox.logins == [f"{SMTP_USER}:ok"]
    [message] = mailbox.messages
    assert message["Subject"] == "Micro-internship outcomes: provost (2027-02-01)"
    assert message["To"] == "provost@example.edu, dean@example.edu"
    parts = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert sorted(parts) == ["provost-2027-02-01-0600.html", "provost-2027-02-01-0600.pdf"]
    row = headline(db, Filters(institutions=(institution,)))
    text = pdf_text(parts["provost-2027-02-01-0600.pdf"])
    assert f"institutions: {institution}" in text and f"{row['applications']:,}" in text
    assert f"{row['offer_rate']:.1%}" in parts["provost-2027-02-01-0600.html"]
    assert deliveries(db)[0]["status"] == "sent" and deliveries(db)[0]["destination"].startswith("mailto:")


def test_a_failed_delivery_is_retried_recorded_and_reported_then_sent_later(
        sample: tuple[Path, Path], tmp_path: Path, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    db = copy_of(sample[1], tmp_path / "w")
    schedules = tmp_path / "schedules.json"
    assert run(["schedule", "add", "daily", "--every", "daily", "--at", "07:00", "--format", "pdf", "--to",
                "mailto:dean@example.edu", "--schedules", str(schedules)]).exit_code == 0
    base = ["schedule", "run", "--db", str(db), "--schedules", str(schedules), "--now", "2027-03-02T08:00"]
    smtp_env(monkeypatch, mailbox, port=free_port())  # nobody listens there
    refused = run(base)
    assert refused.exit_code == 1 and "0 delivered, 1 failed" in refused.output
    recorded = deliveries(db)
    assert [(r["attempt"], r["status"]) for r in recorded] == [(3, "failed"), (2, "failed"), (1, "failed")]
    assert all("ConnectionRefusedError" in r["error"] for r in recorded)
    smtp_env(monkeypatch, mailbox, password="wrong")
    wrong = run(base)
    assert wrong.exit_code == 1 and "SMTPAuthenticationError" in deliveries(db)[0]["error"]
    assert not mailbox.messages
    smtp_env(monkeypatch, mailbox)
    sent = run(base)  # the same slot, still due
    assert sent.exit_code == 0, sent.output
    assert len(mailbox.messages) == 1 and deliveries(db)[0]["status"] == "sent"
    assert "nothing due" in run(base).output
    listed = run(["schedule", "history", "--db", str(db), "--format", "json"])
    assert [r["status"] for r in json.loads(listed.stdout)].count("failed") == 6


def test_no_mail_leaves_without_tls(sample: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    """A server that offers no STARTTLS gets nothing, not even the login."""
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN202, N802
            received.append(envelope)
            return "250 OK"

    port = free_port()
    plain = Controller(Handler(), hostname="127.0.0.1", port=port)
    plain.start()
    try:
        db = copy_of(sample[1], tmp_path / "w")
        schedules = tmp_path / "schedules.json"
        for key, value in {"MIO_SMTP_HOST": "127.0.0.1", "MIO_SMTP_PORT": str(port), "MIO_SMTP_USER": SMTP_USER,
                           "MIO_SMTP_PASSWORD": SMTP_PASSWORD, "MIO_DELIVERY_ATTEMPTS": "1"}.items():
            monkeypatch.setenv(key, value)
        assert run(["schedule", "add", "d", "--every", "daily", "--to", "mailto:dean@example.edu",
                    "--schedules", str(schedules)]).exit_code == 0
        result = run(["schedule", "run", "--db", str(db), "--schedules", str(schedules), "--now",
                      "2027-03-02T08:00"])
        assert result.exit_code == 1
        assert "STARTTLS" in deliveries(db)[0]["error"]
        assert not received
    finally:
        plain.stop()
