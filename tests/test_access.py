"""Sign-in, roles and privacy: accounts, the sign-in form, what each role can reach, and that an employer never
sees another employer's data or a student's record."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from dashboard import registry
from dashboard.sign_in import GENERIC_REFUSAL
from etl.accounts import FAILED_SIGN_IN_DELAY, User, UserStore
from etl.cli import main
from etl.metrics import disclosure
from etl.metrics.audience import applicant_pool, compare_groups, employer_projects, employer_summary
from tests.conftest import APP, grid_frame, run_app

DASHBOARD = Path(APP).parent
SECRET = "correct horse battery staple"


@pytest.fixture
def users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "users.json"
    monkeypatch.setenv("MIO_USERS", str(path))
    return path


# --- accounts -----------------------------------------------------------------------------------------------------


def test_users_cli_add_list_remove(users_file: Path, hand_db: Path) -> None:
    runner = CliRunner()
    add = ["users", "add", "--users", str(users_file), "--db", str(hand_db)]
    assert runner.invoke(main, [*add, "--username", "dana", "--role", "director"], input=SECRET + "\n").exit_code == 0
    result = runner.invoke(main, [*add, "--username", "acme", "--role", "employer", "--employer-id", "E1"],
                           input=SECRET + "\n")
    assert result.exit_code == 0, result.stderr
    assert runner.invoke(main, [*add, "--username", "x", "--role", "employer", "--employer-id", "E9"],
                         input=SECRET + "\n").exit_code == 1  # unknown employer
    assert runner.invoke(main, [*add, "--username", "y", "--role", "student"], input="short\n").exit_code == 1
    assert runner.invoke(main, [*add, "--username", "z", "--role", "janitor"], input=SECRET).exit_code == 2
    listed = runner.invoke(main, ["users", "list", "--users", str(users_file), "--format", "json"])
    assert json.loads(listed.stdout) == [
        {"username": "acme", "role": "employer", "employer_id": "E1", "institution": None},
        {"username": "dana", "role": "director", "employer_id": None, "institution": None}]
    assert SECRET not in listed.stdout + listed.stderr
    assert runner.invoke(main, ["users", "remove", "--users", str(users_file), "--username", "dana"]).exit_code == 0
    assert runner.invoke(main, ["users", "remove", "--users", str(users_file), "--username", "dana"]).exit_code == 1
    assert [u.username for u in UserStore(users_file).list()] == ["acme"]


def test_passwords_are_stored_only_as_salted_hashes(users_file: Path) -> None:
    store = UserStore(users_file)
    store.add("a", "student", SECRET)
    store.add("b", "student", SECRET)
    text = users_file.read_text()
    assert SECRET not in text
    hashes = [u["password"] for u in json.loads(text).values()]
    assert all(h.startswith("scrypt$16384$8$1$") for h in hashes)
    assert hashes[0] != hashes[1]  # salted: the same password hashes differently
    assert users_file.stat().st_mode & 0o777 == 0o600


def test_wrong_credentials_never_sign_in(users_file: Path) -> None:
    store = UserStore(users_file)
    store.add("dana", "director", SECRET)
    assert store.authenticate("dana", SECRET) == User("dana", "director", None)
    for name, password in [("dana", SECRET.upper()), ("dana", ""), ("dana ", SECRET), ("nobody", SECRET),
                           ("", "")]:
        started = time.perf_counter()
        assert store.authenticate(name, password) is None
        assert time.perf_counter() - started >= FAILED_SIGN_IN_DELAY


# --- the sign-in form and what each role reaches -------------------------------------------------------------------


def app(db: Path, monkeypatch: pytest.MonkeyPatch, user: User | None = None, **query: str) -> AppTest:
    return run_app(db, monkeypatch, user, **query)


def test_sign_in_form(users_file: Path, hand_db: Path, monkeypatch: pytest.MonkeyPatch,
                      caplog: pytest.LogCaptureFixture) -> None:
    UserStore(users_file).add("dana", "director", SECRET)
    caplog.set_level(logging.DEBUG)
    at = app(hand_db, monkeypatch)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.metric  # nothing before signing in
    at.text_input(key="sign_in_username").input("dana")
    at.text_input(key="sign_in_password").input("wrong password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == [GENERIC_REFUSAL]
    assert "user" not in at.session_state
    at.text_input(key="sign_in_password").input(SECRET)
    at.button[0].click().run()
    assert at.session_state["user"] == User("dana", "director", None)
    assert {m.label for m in at.metric} >= {"Applications", "Offer rate"}
    at.button(key="sign_out").click().run()
    assert "user" not in at.session_state and not at.metric
    assert SECRET not in caplog.text
    assert SECRET.encode() not in hand_db.read_bytes()


def test_each_role_sees_only_its_pages(hand_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    employer = app(hand_db, monkeypatch, User("acme", "employer", "E1"))
    assert employer.title[0].value == "Acme Analytics"
    student = app(hand_db, monkeypatch, User("sam", "student"))
    assert student.title[0].value == "Compare industries and functions"
    director = app(hand_db, monkeypatch, User("dana", "director"))
    assert director.title[0].value == "Which micro-internships lead to job offers?"


@pytest.mark.parametrize("role", ["employer", "student"])
def test_director_pages_are_not_in_other_roles_navigation(hand_db: Path, monkeypatch: pytest.MonkeyPatch,
                                                          role: str) -> None:
    """Through the router: no page only a director may open is in this role's navigation at all."""
    at = app(hand_db, monkeypatch, User("u", role, "E1" if role == "employer" else None))
    assert not at.exception
    for page in registry.DIRECTOR_ONLY_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(registry.page(page).file)


@pytest.mark.parametrize("page", registry.DIRECTOR_ONLY_PAGES)
@pytest.mark.parametrize("role", ["employer", "student"])
def test_director_pages_give_other_roles_no_data(hand_db: Path, monkeypatch: pytest.MonkeyPatch, page: str,
                                                 role: str) -> None:
    """Run directly (not through the router): the page itself refuses before any query."""
    monkeypatch.setenv("MIO_DB", str(hand_db))
    direct = AppTest.from_file(str(DASHBOARD / registry.page(page).file), default_timeout=60)
    direct.session_state["user"] = User("u", role, "E1" if role == "employer" else None)
    direct.run()
    assert [e.value for e in direct.error] == ["This page is not available to your account."]
    assert not direct.metric and not direct.dataframe and not direct.get("plotly_chart")


def test_visitors_see_only_the_sign_in_page(hand_db: Path, monkeypatch: pytest.MonkeyPatch,
                                            users_file: Path) -> None:
    at = app(hand_db, monkeypatch)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(registry.page("employer").file)
    assert not at.metric and not at.dataframe
    assert [t.label for t in at.text_input] == ["Username", "Password"]


# --- employers see only themselves --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_employers(sample: tuple[Path, Path]) -> tuple[Path, str, str, list[str]]:
    """The sample warehouse, its busiest employer A, another employer B of the same industry, and B's words."""
    db = sample[1]
    con = duckdb.connect(str(db), read_only=True)
    a, industry = con.sql("select m.employer_id, e.industry from micro_internships m join employers e using "
                          "(employer_id) group by 1, 2 order by count(*) desc, 1 limit 1").fetchall()[0]
    b = con.sql("select employer_id from employers where industry = ? and employer_id <> ? order by employer_id "
                "limit 1", params=[industry, a]).fetchall()[0][0]
    b_name = con.sql("select name from employers where employer_id = ?", params=[b]).fetchall()[0][0]
    b_projects = [r[0] for r in con.sql("select project_id from micro_internships where employer_id = ?",
                                        params=[b]).fetchall()]
    con.close()
    return db, a, b, [b, b_name, *b_projects]


def page_text(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("title", "caption", "markdown", "metric", "info", "warning", "error")
             for e in getattr(at, kind)]
    parts += [grid_frame(d).write_csv() for d in at.dataframe]
    return "\n".join(parts)


def test_employer_sees_nothing_of_another_employer(two_employers: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st

    db, a, b, b_words = two_employers
    captured: list[str] = []
    original = st.download_button

    def recording(label: str, data: object, *args: object, **kwargs: object) -> bool:
        captured.append(str(data))
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", recording)
    at = app(db, monkeypatch, User("a", "employer", a))
    for dimension in ("major", "class_level", "institution"):
        at.radio(key="pool_dim").set_value(dimension).run()
    text = page_text(at) + "\n".join(captured)
    for word in b_words:
        assert word not in text, word
    # A's own figures are right.
    con = duckdb.connect(str(db), read_only=True)
    summary = employer_summary(con, a).row(0, named=True)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Applications"] == f"{summary['applications']:,}"
    assert shown["Selection rate"] == f"{summary['selection_rate']:.1%}"
    projects = employer_projects(con, a)
    assert grid_frame(at.dataframe[2])["project_id"].to_list() == projects["project_id"].to_list()
    assert set(projects["project_id"]) == {r[0] for r in con.sql(
        "select project_id from micro_internships where employer_id = ?", params=[a]).fetchall()}


def test_forged_parameters_do_not_change_the_scope(two_employers: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    db, a, b, b_words = two_employers
    at = app(db, monkeypatch, User("a", "employer", a), employer_id=b, employer=b, institution="x", k="0")
    text = page_text(at)
    assert not [w for w in b_words if w in text]
    con = duckdb.connect(str(db), read_only=True)
    assert {m.label: m.value for m in at.metric}["Applications"] == \
        f"{employer_summary(con, a).row(0, named=True)['applications']:,}"


def test_employer_project_rates_follow_the_contract(hand_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per project, the selection rate is selected ÷ not withdrawn (section 4), as in the employer's summary row."""
    monkeypatch.setattr(disclosure, "PUBLIC_MIN_CELL", 0)  # the hand-built source is far below K = 10
    con = duckdb.connect(str(hand_db), read_only=True)
    projects = {r["project_id"]: r for r in employer_projects(con, "E1", min_cell=0).to_dicts()}
    want = dict(con.sql("""
        select a.project_id, count_if(a.status = 'selected') / count_if(a.status <> 'withdrawn')
        from applications a join micro_internships m on m.project_id = a.project_id
        where m.employer_id = 'E1' group by 1""").fetchall())
    assert set(projects) == set(want)
    for project, expected in want.items():  # P1 holds a withdrawn application, which does not count
        assert projects[project]["selection_rate"] == pytest.approx(round(expected, 4)), project


def test_employer_pool_is_suppressed_below_ten(two_employers: tuple) -> None:
    db, a, _, _ = two_employers
    pool = applicant_pool(duckdb.connect(str(db), read_only=True), a, "institution", min_cell=0)  # 0 is raised to 10
    visible = pool.filter(~pl.col("suppressed"))
    assert (visible["applicants"] >= 10).all()
    assert pool.filter(pl.col("suppressed"))["applicants"].null_count() == pool["suppressed"].sum()
    if pool["suppressed"].sum() == 1:
        pytest.fail("a single suppressed group must bring complementary suppression")


def test_student_view_figures(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db = sample[1]
    at = app(db, monkeypatch, User("sam", "student"))
    picked = at.multiselect(key="student_pick_industry").value
    assert 2 <= len(picked) <= 4
    expected = compare_groups(duckdb.connect(str(db), read_only=True), "industry", tuple(sorted(picked)))
    shown = grid_frame(at.dataframe[0])
    assert shown["industry"].to_list() == expected["group"].to_list()
    assert shown["offer_rate"].fill_nan(None).to_list() == expected["offer_rate"].to_list()
    assert len(at.markdown) >= 3  # skills per industry and the plain-language findings
    assert any("led to an offer" in m.value for m in at.markdown)


def test_openid_connect_sign_in_takes_the_role_from_the_users_file(users_file: Path, hand_db: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    UserStore(users_file).add("dana@uni.example", "director", SECRET)
    monkeypatch.setenv("MIO_DB", str(hand_db))

    def run(email: str, logged_in: bool) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                              "client_id": "mio", "client_secret": "s",
                              "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
        at.user = {"is_logged_in": logged_in, "email": email}
        at.run()
        assert not at.exception, at.exception
        return at

    known = run("dana@uni.example", True)
    assert known.session_state["user"] == User("dana@uni.example", "director", None)
    assert {m.label for m in known.metric} >= {"Applications"}
    stranger = run("eve@elsewhere.example", True)
    assert "user" not in stranger.session_state and not stranger.metric
    assert "no account for you here" in stranger.warning[0].value
    visitor = run("dana@uni.example", False)
    assert not visitor.metric
    assert any(b.label == "Sign in with your organisation" for b in visitor.button)
