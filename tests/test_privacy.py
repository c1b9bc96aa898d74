"""Privacy and service that hold: no small cell recoverable by addition, data never markup, sign-in that resists
guessing, removed accounts that stop working, and a server that stops when told."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dashboard import registry, ui
from dashboard.serve import flags
from etl.accounts import FAILED_SIGN_IN_DELAY, LOCKOUT_FAILURES, LockedOut, Throttle, User, UserStore
from etl.metrics import audience, insights
from etl.pipeline import load
from tests.conftest import HAND, run_app, write_source

K = 10


def con_of(db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)


# --- small cells do not come back by addition ---------------------------------------------------------------------


def test_student_channel_cells_rest_on_ten_students_and_hide_with_their_industry(sample: tuple[Path, Path]) -> None:
    con = con_of(sample[1])
    industries = tuple(sorted(r[0] for r in con.sql("select distinct industry from fact_applications").fetchall()))
    # A K between the industries' sizes, so that some industries are hidden and others shown.
    sizes = sorted(r[0] for r in con.sql("select count_if(placement_status = 'completed') from fact_applications "
                                         "group by industry").fetchall())
    k = sizes[len(sizes) // 2]
    compared = audience.compare_groups(con, "industry", industries, min_cell=k)
    hidden = set(compared.filter(pl.col("suppressed"))["group"])
    assert hidden and len(hidden) < len(industries)
    channels = audience.selection_channels(con, "industry", industries, min_cell=k)
    students = {(g, c): (n, s) for g, c, n, s in con.sql(
        "select industry, channel, count(distinct student_id), count(distinct case when status = 'selected' "
        "then student_id end) from fact_applications group by 1, 2").fetchall()}
    for row in channels.iter_rows(named=True):
        applicants, selected = students[(row["group"], row["channel"])]
        if row["group"] in hidden:
            assert row["suppressed"] and row["applications"] is None and row["selected"] is None
        if row["applications"] is not None:
            assert applicants >= k
        if row["selected"] is not None:
            assert selected >= k and row["selection_rate"] is not None
    assert channels["selected"].drop_nulls().len() > 0


def test_the_applicant_pool_does_not_add_up_to_hidden_selections(sample: tuple[Path, Path]) -> None:
    con = con_of(sample[1])
    employer = con.sql("select employer_id from micro_internships group by 1 order by count(*) desc limit 1"
                       ).fetchall()[0][0]
    pool = audience.applicant_pool(con, employer, "institution")
    assert "selected" not in pool.columns


def test_an_employer_whose_summary_is_hidden_sees_none_of_its_own_in_the_comparison(sample: tuple[Path, Path]) -> None:
    con = con_of(sample[1])
    small = con.sql("""select employer_id from fact_applications group by 1
                       having count_if(placement_status = 'completed') between 1 and 9 and count(*) >= 20
                       order by 1 limit 1""").fetchall()[0][0]
    assert audience.employer_summary(con, small)["suppressed"][0]
    table = audience.industry_comparison(con, small)
    assert table["yours"].null_count() == table.height


def test_blanked_projects_hide_their_days(sample: tuple[Path, Path]) -> None:
    con = con_of(sample[1])
    employer = con.sql("select employer_id from micro_internships group by 1 order by count(*) desc limit 1"
                       ).fetchall()[0][0]
    projects = audience.employer_projects(con, employer)
    hidden = projects.filter(pl.col("suppressed"))
    assert hidden.height and hidden["days_to_first_selection"].null_count() == hidden.height


def test_equity_rates_rest_on_their_own_denominator(sample: tuple[Path, Path]) -> None:
    con = con_of(sample[1])
    open_ = insights.equity_table(con, "race_ethnicity", min_cell=0)
    # A K above the largest group's completed projects but below its students: the group is shown, its offer rate
    # (resting on completed projects) is not.
    largest = open_.sort("students", descending=True).row(0, named=True)
    k = largest["completed"] + 1
    assert largest["students"] >= k
    table = insights.equity_table(con, "race_ethnicity", min_cell=k)
    row = table.filter(pl.col("group") == largest["group"]).row(0, named=True)
    assert not row["suppressed"] and row["students"] == largest["students"]
    assert row["offer_rate"] is None and row["offer_gap"] is None and row["offers"] is None
    assert row["participation_rate"] is not None  # resting on its students, it stays
    shown = table.filter(pl.col("offer_rate").is_not_null())
    assert (shown["completed"] >= k).all()


# --- data is never markup ----------------------------------------------------------------------------------------

NAME = "**x** [a](http://host.example/p) ![p](http://host.example/p.png) <img src=http://host.example/i.png>"


def test_names_are_text_on_the_employer_and_student_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    employers = ["employer_id,name,industry,size_band,state", f'E1,"{NAME}",Technology,50-249,NY',
                 f'E2,Beta Bank,"{NAME}",5000+,IL']
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", {**HAND, "employers": employers}), db).ok
    at = run_app(db, monkeypatch, User("acme", "employer", "E1"))
    assert at.title[0].value == ui.plain(NAME)
    assert ui.plain(NAME).startswith(r"\*\*x\*\* \[a\]\(http\:")
    student = run_app(db, monkeypatch, User("sam", "student"))
    rendered = " ".join(m.value for m in student.markdown)
    assert NAME not in rendered  # never passed to Markdown as written
    assert "<img" not in rendered.replace("\\<img", "") and "\\<img" in rendered


def test_chart_labels_are_text() -> None:
    import plotly.graph_objects as go

    figure = ui.text_labels(go.Figure(go.Bar(x=[NAME], y=[1], name="<b>series</b>")))
    assert "<img" not in figure.data[0].x[0] and "&lt;img" in figure.data[0].x[0]
    assert figure.data[0].name == "&lt;b&gt;series&lt;/b&gt;"


def test_the_grids_own_export_is_off() -> None:
    settings = flags(8501)
    assert settings[settings.index("--client.disableDataExport") + 1] == "true"


# --- sign-in -----------------------------------------------------------------------------------------------------


def test_wrong_passwords_lock_the_account(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json")
    store.add("dana", "director", "the right password")
    throttle = Throttle(base_delay=0.01)
    for _ in range(LOCKOUT_FAILURES):
        assert store.authenticate("dana", "wrong guess", throttle) is None
    with pytest.raises(LockedOut):
        store.authenticate("dana", "the right password", throttle)  # even the right one, until the time passes
    other = Throttle()
    assert store.authenticate("dana", "the right password", other) == User("dana", "director")


@pytest.mark.parametrize("guesses", [LOCKOUT_FAILURES, 50])
def test_guesses_from_one_address_never_lock_the_director_out_elsewhere(tmp_path: Path, guesses: int) -> None:
    """Issue 34: wrong passwords for `director` from one address lock that address's tries at the account, not the
    account: its owner signs in from another address at once, while the guessing address waits or is refused."""
    store = UserStore(tmp_path / "users.json")
    store.add("director", "director", "the right password")
    throttle = Throttle(base_delay=0.01)
    refused = 0
    for _ in range(guesses):
        try:
            assert store.authenticate("director", "wrong guess", throttle, address="203.0.113.5") is None
        except LockedOut:
            refused += 1
    assert refused == guesses - LOCKOUT_FAILURES  # every guess after the fifth refused unheard
    started = time.perf_counter()
    assert store.authenticate("director", "the right password", throttle, address="198.51.100.7") == \
        User("director", "director")
    assert time.perf_counter() - started < 0.5  # at once: one password hash, no delay, no lock
    with pytest.raises(LockedOut) as locked:
        store.authenticate("director", "the right password", throttle, address="203.0.113.5")
    assert 14 <= locked.value.minutes <= 15
    assert "director" not in str(locked.value)


def test_guesses_from_many_addresses_are_slowed_never_refused(tmp_path: Path) -> None:
    """One wrong password from each of many addresses: none is locked, each failure's answer waits longer (the
    account's failures from everywhere), and the right password from a new address is still accepted."""
    store = UserStore(tmp_path / "users.json")
    store.add("director", "director", "the right password")
    throttle = Throttle(base_delay=0.01)
    for n in range(8):
        assert store.authenticate("director", "wrong guess", throttle, address=f"10.0.0.{n}") is None
    assert throttle.delay("director") == 0.01 * 2 ** 7  # doubled with each, from any address
    assert throttle.delay("someone-else") == 0.01
    assert store.authenticate("director", "the right password", throttle, address="10.0.0.99") == \
        User("director", "director")
    assert throttle.delay("director") == 0.01 * 2 ** 7  # the owner's success does not reset the guessers' slowing


def test_a_missing_username_is_answered_in_the_time_of_an_existing_one(tmp_path: Path) -> None:
    """Wrong passwords for an account that exists and for a name that does not: the same work (a password hash
    each) and the same delay, so the time of the answer does not tell which. Medians of 15 tries each, interleaved."""
    store = UserStore(tmp_path / "users.json")
    store.add("director", "director", "the right password")
    times: dict[str, list[float]] = {"director": [], "nobody-here": []}
    for n in range(15):
        for name in times:
            throttle = Throttle(base_delay=0.02)  # a fresh one: each try the first failure, the same delay
            started = time.perf_counter()
            assert store.authenticate(name, "wrong guess", throttle, address=f"10.1.{n}.1") is None
            times[name].append(time.perf_counter() - started)
    existing, missing = (sorted(t)[len(t) // 2] for t in times.values())
    hashing = min(times["director"]) - 0.02
    assert hashing > 0.005  # the answer's time is mostly the password hash, which a missing name must pay too
    assert abs(existing - missing) < 0.25 * existing, (existing, missing)


def test_the_client_address_comes_from_a_trusted_proxy_only() -> None:
    from etl.accounts import client_of

    assert client_of("203.0.113.5", "10.0.0.1", None) == "203.0.113.5"  # no trusted proxy: the header is ignored
    assert client_of("203.0.113.5", "10.0.0.1", "127.0.0.1") == "203.0.113.5"  # the peer is no trusted proxy
    assert client_of("127.0.0.1", "198.51.100.7", "127.0.0.1") == "198.51.100.7"
    assert client_of("127.0.0.1", "6.6.6.6, 198.51.100.7", "127.0.0.1") == "198.51.100.7"  # the nearest hop
    assert client_of("10.2.0.4", "6.6.6.6, 198.51.100.7, 10.2.0.9", "10.2.0.0/16") == "198.51.100.7"
    assert client_of("127.0.0.1", None, "127.0.0.1") == "127.0.0.1"
    assert client_of("127.0.0.1", "not an address", "127.0.0.1") == "127.0.0.1"


def test_one_address_guessing_many_names_is_locked(tmp_path: Path) -> None:
    from etl.accounts import ADDRESS_FAILURES

    store = UserStore(tmp_path / "users.json")
    store.add("dana", "director", "the right password")
    throttle = Throttle()
    for n in range(ADDRESS_FAILURES):
        throttle.failed(f"guess-{n}", "10.9.8.7")  # as the failures of ADDRESS_FAILURES different names
    with pytest.raises(LockedOut):
        store.authenticate("dana", "the right password", throttle, address="10.9.8.7")
    assert store.authenticate("dana", "the right password", throttle, address="127.0.0.1") == User("dana", "director")


def test_the_delay_grows_with_failures() -> None:
    throttle = Throttle()
    delays = []
    for _ in range(5):
        throttle.failed("dana")
        delays.append(throttle.delay("dana"))
    assert delays == sorted(delays) and delays[0] == FAILED_SIGN_IN_DELAY and delays[-1] > 4 * FAILED_SIGN_IN_DELAY


def test_parallel_guesses_wait_for_each_other(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json")
    store.add("dana", "director", "the right password")
    throttle = Throttle(base_delay=0.2)
    started = time.perf_counter()
    threads = [threading.Thread(target=lambda: _guess(store, throttle)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.perf_counter() - started >= (0.2 + 0.4 + 0.8 + 1.6) * 0.95  # one after the other, each longer


def _guess(store: UserStore, throttle: Throttle) -> None:
    try:
        store.authenticate("dana", "wrong guess", throttle)
    except LockedOut:
        pass


def test_a_removed_account_stops_working_in_its_open_tab(hand_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = User("dana", "director")
    at = run_app(hand_db, monkeypatch, user)
    assert at.metric  # signed in: the overview
    UserStore(Path(os.environ["MIO_USERS"])).remove("dana")
    at.run()
    assert not at.metric and [t.label for t in at.text_input] == ["Username", "Password"]


def test_a_director_page_refuses_after_the_role_changes(hand_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(hand_db, monkeypatch, User("dana", "director"))
    UserStore(Path(os.environ["MIO_USERS"])).add("dana", "student", "another password")
    at.switch_page(registry.page("glossary").file).run()
    assert "user" not in at.session_state


# --- the server stops when told -----------------------------------------------------------------------------------


@pytest.mark.slow  # mio serve in a process of its own
def test_sigterm_to_mio_serve_stops_the_dashboard(hand_db: Path, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MIO_USERS": str(tmp_path / "users.json")}
    proc = subprocess.Popen([sys.executable, "-m", "etl.cli", "serve", "--db", str(hand_db), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/_stcore/health"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None, "the dashboard did not start"
            time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


# --- an independent check: nothing an employer sees adds up to what it hides -------------------------------------


def test_no_employer_view_lets_a_hidden_figure_be_recovered(sample: tuple[Path, Path]) -> None:
    """For every employer of the sample, from the warehouse directly: when its summary is hidden, no project row and
    no applicant-pool group is shown (their sums are the summary's applications and applicants); when it is shown,
    never exactly one project row is hidden (the summary minus the shown rows would be that row), and every shown
    row rests on at least K students."""
    con = con_of(sample[1])
    employers = [r[0] for r in con.sql("select distinct employer_id from fact_applications order by 1").fetchall()]
    checked_hidden = checked_shown = 0
    for employer in employers:
        summary = audience.employer_summary(con, employer)
        projects = audience.employer_projects(con, employer, summary=summary)  # the page's summary, judged once
        pool = audience.applicant_pool(con, employer, "institution", summary=summary)
        if summary["suppressed"][0]:
            assert projects["suppressed"].all() and pool["suppressed"].all(), employer
            checked_hidden += 1
            continue
        checked_shown += 1
        assert projects["suppressed"].sum() != 1, employer
        assert pool["suppressed"].sum() != 1, employer
        truth = dict(con.sql("select project_id, count(distinct student_id) from fact_applications "
                             "where employer_id = ? group by 1", params=[employer]).fetchall())
        for row in projects.filter(~pl.col("suppressed")).iter_rows(named=True):
            assert truth[row["project_id"]] >= K, (employer, row["project_id"])
    assert checked_hidden and checked_shown


# --- sessions that survive a reload, and end when they should ---------------------------------------------------


def test_a_session_token_ends_with_the_account_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import sessions

    monkeypatch.delenv("MIO_SESSION_SECRET", raising=False)
    store = UserStore(tmp_path / "users.json")
    dana = store.add("dana", "director", "a-long-password")
    store.add("lee", "director", "a-long-password")
    token = sessions.issue(store, dana)
    assert sessions.verify(store, token) == dana
    assert oct((tmp_path / "session.key").stat().st_mode & 0o777) == "0o600"
    assert sessions.verify(store, token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None  # altered
    assert sessions.verify(store, None) is None and sessions.verify(store, "not a token") is None
    other = UserStore(tmp_path / "elsewhere" / "users.json")  # another server's key does not sign for this one
    other.add("dana", "director", "a-long-password")
    assert sessions.verify(other, token) is None
    now = time.time()
    with monkeypatch.context() as later:  # nine hours on, past the default eight
        later.setattr(time, "time", lambda: now + 9 * 3600)
        assert sessions.verify(store, token) is None
        later.setenv("MIO_SESSION_HOURS", "10")  # a longer setting keeps it
        assert sessions.verify(store, token) == dana
    store.add("dana", "director", "a-new-password")  # a password change ends every session of the account
    assert sessions.verify(store, token) is None
    token = sessions.issue(store, store.get("dana"))
    store.add("dana", "director", "a-new-password", institution="Bayview University")  # so does a new binding
    assert sessions.verify(store, token) is None
    token = sessions.issue(store, store.get("dana"))
    sessions.revoke(store, token)  # sign-out
    assert sessions.verify(store, token) is None
    lee = sessions.issue(store, store.get("lee"))
    assert sessions.verify(store, lee) == store.get("lee")  # another account's session goes on
    store.remove("lee")
    assert sessions.verify(store, lee) is None


def test_a_ticket_gives_its_cookie_once() -> None:
    from dashboard import sessions

    ticket = sessions.ticket_for("token")
    assert sessions.pending(ticket)
    assert sessions.redeem(ticket) == "token"
    assert sessions.redeem(ticket) is None and not sessions.pending(ticket)
    assert sessions.redeem("made-up") is None and sessions.redeem(None) is None
