"""Shared fixtures: a hand-built source whose every figure is worked out by hand, and a generated sample."""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from etl.accounts import User
from etl.generate import generate
from etl.ingest.load import LoadResult
from etl.pipeline import load

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
# The real public exports, beside the project (never copied into it); tests that need them skip without them.
REAL = Path(__file__).resolve().parents[2] / "shared" / "real"
# Every load of the suite runs the data tests of the derived tables inside its transaction (etl/pipeline.py).
os.environ["MIO_CHECK_MODELS"] = "1"
DIRECTOR = User("test-director", "director")
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright cannot download a browser here


# Spark's shuffles in as many partitions as local mode has cores: the tests' sources are small, and each partition
# of each stage is a task (eight, the product's default, make a load of the hand-built source a third slower).
os.environ.setdefault("MIO_SPARK_PARTITIONS", "2")
# Spark interpreted, not compiled, for the tests' small sources (tests/spark-conf/spark-defaults.conf says why).
os.environ.setdefault("SPARK_CONF_DIR", str(Path(__file__).resolve().parent / "spark-conf"))


# The files that take longest, first. `make test` hands whole files to its two workers (--dist loadfile) in the order
# they are collected (--no-loadscope-reorder: pytest-xdist would otherwise order the files by their number of tests,
# most first, which put the Spark files, few tests each but the longest, last, to one worker at the end while the
# other had finished). Longest first evens the two out; the rest keep their order.
LONGEST_FIRST = ("test_spark_lake.py", "test_spark_store.py", "test_spark.py", "test_browser.py",
                 "test_spark_connect.py", "test_bench.py", "test_disclosure.py", "test_dashboard.py", "test_rules.py")


def _scan_installed_components_once() -> None:
    """AppTest scans every installed distribution's metadata for Streamlit components at every run (a served app does
    it once, when its runtime starts): 0.15-0.35 s of each run here, most of the dashboard tests' time. The installed
    distributions do not change during a test run, so the scan's answer is kept for the process."""
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    if not hasattr(scan, "cache_info"):
        manifest_scanner.scan_component_manifests = functools.cache(scan)


_scan_installed_components_once()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # noqa: ANN201, ARG001 - pytest's
    """With MIO_TEST_TIMELINE=FILE, each test's start and end (wall clock) and its worker are added to FILE: where
    each of `make test`'s processes spent the run (the durations table gives no order and no worker)."""
    timeline = os.environ.get("MIO_TEST_TIMELINE")
    started = time.time()
    try:
        return (yield)
    finally:
        if timeline:
            with open(timeline, "a", encoding="utf-8") as out:
                out.write(f"{started:.3f}\t{time.time():.3f}\t{os.environ.get('PYTEST_XDIST_WORKER', 'main')}\t"
                          f"{item.nodeid}\n")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: number for number, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))


@pytest.fixture(scope="session")
def spark():  # noqa: ANN201 - a SparkSession
    """One Spark session in local mode (one JVM) for every test of a process that needs it."""
    from etl.spark.session import spark_session

    session = spark_session()
    session.sparkContext.setLogLevel("ERROR")
    return session


@pytest.fixture(scope="module")
def s3_bucket(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - an s3fs file system
    """The bucket `mio-lakes` of an S3 server on 127.0.0.1 (moto's, in this process), and an s3fs file system on the
    server; remote lakes' catalogs and working copies are kept in a temporary folder."""
    pytest.importorskip("s3fs", reason="object stores are read through fsspec (the lake extra)")
    pytest.importorskip("moto.server", reason="the object store tests need moto's S3 server")
    from bench.object_store import s3_server

    with s3_server() as fs, pytest.MonkeyPatch.context() as patch:
        patch.setenv("MIO_LAKE_CACHE", str(tmp_path_factory.mktemp("lake-cache")))
        fs.makedirs("mio-lakes", exist_ok=True)  # moto keeps its buckets in the process: another module's is here
        yield fs


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """pytest-playwright's launch settings: Debian's Chromium, nothing fetched from the network."""
    return {"executable_path": str(CHROMIUM), "args": ["--no-sandbox", "--disable-gpu",
                                                      "--disable-background-networking", "--disable-component-update",
                                                      "--disable-sync", "--no-first-run"]}

# The hand-built source. Its figures are worked out in tests/test_metrics.py; change both together.
HAND = {
    "students": [
        "student_id,institution,college,major,class_level,graduation_date,first_generation,pell_eligible,gender,race_ethnicity",
        "S1,U1,Business,Marketing,junior,2026-05-15,yes,no,Woman,Asian",
        "S2,U1,Engineering,Computer Science,senior,2025-06-30,no,no,Man,White",
        "S3,U2,Arts,English,senior,,,Y,Woman,",
        "S4,U2,Business,Finance,alumni,2025-05-15,false,true,Man,Black or African American",
        "S5,U2,Business,Finance,alumni,2025-05-15,0,1,Woman,White",
        "S6,U2,Arts,History,alumni,2024-12-15,1,1,Woman,White",
        "S7,U2,Arts,History,alumni,2025-05-15,1,0,Man,White",
    ],
    "employers": [
        "employer_id,name,industry,size_band,state",
        "E1,Acme Analytics,Technology,50-249,NY",
        "E2,Beta Bank,Finance,5000+,IL",
    ],
    "micro_internships": [
        "project_id,employer_id,title,function,industry,platform,posted_date,estimated_hours,pay_usd,remote,slots",
        "P1,E1,Dashboard,Software,,Parker Dewey,2025-01-10,10,250,true,2",
        "P2,E1,Churn study,Data & Analytics,,Parker Dewey,2025-02-01,20,400,yes,",
        "P3,E2,Budget model,Finance,,Handshake,2025-03-01,8,100,false,1",
        "P4,E2,Survey,Research,Nonprofit,Direct,2025-06-01,40,0,no,1",
        "P5,E1,Test plan,Software,,Riipen,2025-01-10,15,330,TRUE,1",
    ],
    "project_skills": [
        "project_id,skill",
        "P1,Python",
        "P1,Communication",
        "P2,SQL",
        "P3,Excel",
    ],
    "applications": [
        "application_id,student_id,project_id,applied_at,channel,status,decided_at",
        "A1,S1,P1,2025-01-12T10:00:00Z,platform,selected,2025-01-15T10:00:00Z",
        "A2,S1,P2,2025-02-03 09:30,platform,selected,",
        "A3,S2,P1,2025-01-13T08:00:00+01:00,referral,selected,",
        "A4,S2,P3,2025-03-02T12:00,networking,rejected,2025-03-09T12:00",
        "A5,S3,P3,2025-03-03T12:00:00Z,career_services,selected,",
        "A6,S3,P1,2025-01-14T12:00:00Z,platform,withdrawn,",
        "A7,S4,P4,2025-06-02T12:00:00Z,direct,selected,",
        "A8,S4,P2,2025-02-04T12:00:00Z,platform,submitted,",
        "A9,S2,P5,2025-01-11T12:00:00Z,referral,selected,",
    ],
    "placements": [
        "placement_id,application_id,started_on,ended_on,status,hours_logged,employer_rating,student_rating,new_contacts",
        "PL1,A1,2025-01-20,2025-02-10,completed,11,5,4,3",
        "PL2,A2,2025-02-10,2025-03-10,completed,21.5,4,5,1",
        "PL3,A3,2025-01-20,2025-02-15,completed,10,,,",
        "PL4,A5,2025-03-10,2025-03-12,cancelled,2,,,0",
        "PL5,A7,2025-06-05,2025-07-01,completed,40,3,3,2",
        "PL6,A9,2025-01-21,2025-02-15,completed,15,4,4,1",
    ],
    "skill_assessments": [
        "student_id,placement_id,skill,phase,level,assessed_on",
        "S1,PL1,Python,pre,2,2025-01-20",
        "S1,PL1,Python,post,4,2025-02-10",
        "S2,,Communication,pre,3,2025-01-01",
    ],
    "offers": [
        "offer_id,student_id,employer_id,employer_name,offer_type,offered_on,decision,salary_usd,placement_id",
        "O1,S1,E1,,internship,2025-02-20,accepted,,PL1",
        "O2,S1,E1,,part_time,2025-03-25,declined,30000,",
        "O3,S2,E1,,full_time,2025-09-01,accepted,70000,",
        "O4,S2,,Other Co,full_time,2025-05-01,declined,65000,",
        "O5,S3,E2,,contract,2025-03-20,accepted,,PL4",
        "O6,S4,E2,,full_time,2025-07-15,accepted,60000,",
        "O7,S2,E1,,internship,2025-03-01,pending,,",
        "O8,S1,E1,,internship,2025-01-15,accepted,,",
    ],
    "first_destinations": [
        "student_id,outcome,employer_name,industry,salary_usd,source",
        "S2,employed_full_time,Acme Analytics,Technology,70000,survey",
        "S4,employed_full_time,Beta Bank,Finance,60000,employer",
        "S5,seeking_employment,,,,survey",
        "S6,not_seeking,,,,linkedin",
    ],
}


def write_source(folder: Path, tables: dict[str, list[str]], only: tuple[str, ...] | None = None) -> Path:
    """Write CSV files of `tables` (header line first) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in tables.items():
        if only is None or name in only:
            (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def hand_source(tmp_path: Path) -> Path:
    return write_source(tmp_path / "hand", HAND)


@pytest.fixture(scope="session")
def hand_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-built source, loaded once; tests only read it."""
    folder = tmp_path_factory.mktemp("hand")
    db = folder / "hand.duckdb"
    result: LoadResult = load(write_source(folder / "source", HAND), db)
    assert result.ok, result.reason
    return db


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated source of 6,000 students (about 55k applications) and its loaded warehouse."""
    folder = tmp_path_factory.mktemp("sample")
    source = folder / "source"
    generate(source, students=6000, seed=7)
    db = folder / "warehouse.duckdb"
    result = load(source, db)
    assert result.ok, result.reason
    return source, db


@functools.cache
def _process_users_file() -> Path:
    return Path(tempfile.mkdtemp(prefix="mio-users-")) / "users.json"


def register(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `user` an account of the users file the app reads (a session's user must still be one at every rerun):
    the file MIO_USERS names, or the process's own (an account is added, its password hashed, only when the file
    does not hold it as it is: hashing was a tenth of the dashboard tests' time)."""
    from etl.accounts import UserStore

    current = os.environ.get("MIO_USERS")
    path = Path(current) if current else _process_users_file()
    store = UserStore(path)
    if store.get(user.username) != user:
        store.add(user.username, user.role, "test-password-" + user.username, user.employer_id, user.institution)
    monkeypatch.setenv("MIO_USERS", str(path))


def run_app(db: Path, monkeypatch: pytest.MonkeyPatch, user: User | None = DIRECTOR,
            **query: str | list[str]) -> AppTest:
    """Run the dashboard on `db` in AppTest, signed in as `user` (a director by default; None: a visitor)."""
    monkeypatch.setenv("MIO_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    if user is not None:
        register(user, monkeypatch)
        at.session_state["user"] = user
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def grid_frame(element: object) -> pl.DataFrame:
    """A table of the page as its data: a blank cell (sent to the grid as a stand-in, ui.BLANK, that reads "—")
    comes back missing."""
    from dashboard.ui import BLANK, HIDDEN

    frame = pl.from_pandas(element.value)
    return frame.with_columns(
        *[pl.when(pl.col(c) == BLANK).then(None).otherwise(pl.col(c)).alias(c)
          for c, dtype in frame.schema.items() if dtype.is_float()],
        *[pl.when(pl.col(c) == HIDDEN).then(None).otherwise(pl.col(c)).alias(c)
          for c, dtype in frame.schema.items() if dtype == pl.String])
