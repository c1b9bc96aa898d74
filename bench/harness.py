"""The benchmark harness (`make bench`, or `python -m bench`): measured speed and memory of loading, reports
and dashboard pages at several sizes.

For each size (applications) it generates a source (cached under the work folder), then measures:
- load: `mio load` into a new warehouse (wall time, rows per second, peak memory of the process) next to DuckDB's
  own bulk load of the same CSV files into plain tables (`create table ... as select * from read_csv(...)`);
- report: `mio report --by D` per dimension (the command, and the query alone), and `mio report --by industry`
  against its peer, an analyst's pandas script over the raw files (bench/peer_pandas.py), in alternating pairs,
  with the two checked to give the same offer rates;
- pages: every dashboard page run by Streamlit's AppTest, with the time spent in warehouse queries, cold (first
  run on a new connection) and warm (later runs with varied filters and cleared result caches), p50 and p95,
  next to hand-written DuckDB SQL of each page's aggregates straight from the core tables (etl/sql/bench/);
- browser (optional): time to a rendered overview and a heavy page in headless Chromium, and the resident memory
  of the dashboard server after visiting every page.

Peak memory of a child process comes from `os.wait4` (the kernel's ru_maxrss), so nothing else is needed.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dashboard.registry import DIRECTOR_DATA_PAGES

ROOT = Path(__file__).resolve().parents[1]
DIMENSIONS_TIMED = ("overall", "industry", "employer", "channel", "term", "pay_band")
PAGES = DIRECTOR_DATA_PAGES  # every director page that queries the warehouse, from the dashboard's registry


@dataclass
class Result:
    size: int
    applications: int = 0
    generate_s: float = 0.0
    load: dict = field(default_factory=dict)
    duckdb_bulk: dict = field(default_factory=dict)
    reports: dict = field(default_factory=dict)
    pages: dict = field(default_factory=dict)
    hand_sql: dict = field(default_factory=dict)
    browser: dict = field(default_factory=dict)
    directors: dict = field(default_factory=dict)
    peer: dict = field(default_factory=dict)
    command: str = ""  # the `python -m bench` command that measured this size


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """Run a command; return (wall seconds, peak resident memory in MB, exit code). Its stderr is shown on failure."""
    import tempfile

    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errors, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            sys.stderr.write(errors.read().decode(errors="replace")[-2000:])
    return wall, usage.ru_maxrss / 1024, proc.returncode


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    index = q * (len(ordered) - 1)
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def bench_generate(size: int, folder: Path) -> tuple[Path, float]:
    source = folder / "source"
    if (source / "applications.csv").exists():
        return source, 0.0
    students = max(10, size // 10)
    wall, _, code = run_measured([sys.executable, "-m", "etl.cli", "generate", "--out", str(source), "--students",
                                  str(students), "--seed", "1"])
    if code != 0:
        raise RuntimeError(f"mio generate failed for {size}")
    return source, wall


def bench_load(source: Path, db: Path) -> dict:
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    wall, peak, code = run_measured([sys.executable, "-m", "etl.cli", "load", "--source", str(source), "--db",
                                     str(db)])
    if code != 0:
        raise RuntimeError(f"mio load failed on {source}")
    rows = sum(sum(1 for _ in open(p, "rb")) - 1 for p in source.glob("*.csv"))
    return {"wall_s": wall, "peak_mb": peak, "rows": rows, "rows_per_s": rows / wall}


BULK_SCRIPT = """
import sys, time, duckdb, pathlib
source, db = pathlib.Path(sys.argv[1]), sys.argv[2]
con = duckdb.connect(db)
for path in sorted(source.glob('*.csv')):
    con.execute(f"create table {path.stem} as select * from read_csv('{path}', header = true)")
con.execute('checkpoint')
con.close()
"""


def bench_duckdb_bulk(source: Path, db: Path) -> dict:
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    wall, peak, code = run_measured([sys.executable, "-c", BULK_SCRIPT, str(source), str(db)])
    if code != 0:
        raise RuntimeError("DuckDB's bulk load failed")
    return {"wall_s": wall, "peak_mb": peak}


def bench_reports(db: Path) -> dict:
    import duckdb

    from etl.metrics.outcomes import outcome_table

    results = {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        for dimension in DIMENSIONS_TIMED:
            command, _, _ = run_measured([sys.executable, "-m", "etl.cli", "report", "--by", dimension, "--db",
                                          str(db), "--format", "json"])
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                outcome_table(con, dimension)
                timings.append(time.perf_counter() - started)
            results[dimension] = {"command_s": command, "query_p50_s": statistics.median(timings)}
    finally:
        con.close()
    return results


def bench_peer(source: Path, db: Path, pairs: int = 5) -> dict:
    """`mio report --by industry --format json` (as installed: the `mio` script beside this Python) against
    bench/peer_pandas.py over the source files, in `pairs` alternating runs; medians, and whether both give the
    same completed projects, offers and offer rate for every industry."""
    mio = Path(sys.executable).with_name("mio")
    report = [str(mio), "report", "--by", "industry", "--format", "json", "--min-cell", "0", "--db", str(db)]
    peer = [sys.executable, "-m", "bench.peer_pandas", str(source)]
    times: dict[str, list[float]] = {"mio": [], "peer": []}
    for _ in range(pairs):
        for name, cmd in (("mio", report), ("peer", peer)):
            times[name].append(run_measured(cmd)[0])
    outputs = [json.loads(subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT).stdout) for cmd in (report,
                                                                                                           peer)]
    keys = ("completed", "offers", "offer_rate")
    same = [{r["group"]: tuple(r[k] for k in keys) for r in rows} for rows in outputs]
    return {"mio_s": statistics.median(times["mio"]), "peer_s": statistics.median(times["peer"]),
            "mio_runs": times["mio"], "peer_runs": times["peer"], "same": same[0] == same[1],
            "floor_s": statistics.median(run_measured([sys.executable, "-c", "import click, duckdb"])[0]
                                         for _ in range(pairs))}


@contextmanager
def timed_queries() -> Iterator[list[float]]:
    """Record the seconds of every warehouse query (etl.warehouse.query) run while inside the block."""
    from etl.warehouse import observe_queries

    spent: list[float] = []
    with observe_queries(lambda _sql, seconds: spent.append(seconds)):
        yield spent


def _population(db: Path, rng: random.Random) -> dict[str, str]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        institutions = [r[0] for r in con.sql("select distinct institution from fact_applications").fetchall()]
        terms = [r[0] for r in con.sql("select term from fact_applications group by term order by min(term_start)"
                                       ).fetchall()]
    finally:
        con.close()
    choice = rng.choice(["all", "institution", "terms", "both"])
    query: dict[str, str] = {}
    if choice in ("institution", "both"):
        query["institution"] = rng.choice(institutions)
    if choice in ("terms", "both") and len(terms) > 3:
        start = rng.randrange(0, len(terms) - 2)
        query["term_from"], query["term_to"] = terms[start], terms[min(len(terms) - 1, start + 3)]
    return query


def bench_pages(db: Path, runs: int = 5, seed: int = 7) -> dict:
    """Query seconds and whole-script seconds per page: cold, then warm runs with varied filters."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard import data, registry
    from etl.warehouse import forget_results

    os.environ["MIO_DB"] = str(db)
    import tempfile

    from etl.accounts import UserStore

    users = Path(tempfile.mkdtemp(prefix="mio-bench-users-")) / "users.json"
    bench_user = UserStore(users).add("bench", "director", "bench-password")
    os.environ["MIO_USERS"] = str(users)
    rng = random.Random(seed)
    results = {}
    for page in PAGES:
        cold_query = cold_script = 0.0
        warm_query: list[float] = []
        warm_script: list[float] = []
        for run in range(runs + 1):
            at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
            at.session_state["user"] = bench_user
            for key, value in (_population(db, rng) if run else {}).items():
                at.query_params[key] = value
            at.run()
            st.cache_data.clear()
            forget_results()  # what the signed-in overview asked is not kept for the page measured
            if run == 0:  # cold: a new connection (a new DuckDB instance, empty buffers) and empty caches
                with data._lock:
                    for _, con, _ready in data._open.values():
                        con.close()
                    data._open.clear()
            with timed_queries() as spent:
                started = time.perf_counter()
                at.switch_page(registry.page(page).file).run()
                script = time.perf_counter() - started
            if at.exception:
                raise RuntimeError(f"page {page} failed: {at.exception[0].message}")
            if run == 0:
                cold_query, cold_script = sum(spent), script
            else:
                warm_query.append(sum(spent))
                warm_script.append(script)
        results[page] = {
            "cold_query_s": cold_query, "cold_script_s": cold_script,
            "warm_query_p50_s": percentile(warm_query, 0.5), "warm_query_p95_s": percentile(warm_query, 0.95),
            "warm_script_p50_s": percentile(warm_script, 0.5), "warm_script_p95_s": percentile(warm_script, 0.95),
        }
    return results


HAND_SQL = Path(__file__).parent / "sql"


def _without_comments(name: str) -> str:
    return "\n".join(line for line in (HAND_SQL / name).read_text().splitlines() if not line.lstrip().startswith("--"))


def hand_statements(page: str) -> list[str]:
    """The statements of a page's hand-written SQL (bench/sql/PAGE.sql, with {base} and {measures} filled in
    from _base.sql and _measures.sql), comments dropped."""
    text = (_without_comments(f"{page}.sql").replace("{base}", _without_comments("_base.sql").strip())
            .replace("{measures}", _without_comments("_measures.sql").rstrip()))
    return [statement for statement in text.split(";") if statement.strip()]


def bench_hand_sql(db: Path, runs: int = 5) -> dict:
    """Each page's aggregates written by hand against the core tables: seconds for all its statements, p50."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    results = {}
    try:
        for page in PAGES:
            statements = hand_statements(page)
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                for statement in statements:
                    con.sql(statement).fetchall()
                timings.append(time.perf_counter() - started)
            results[page] = {"p50_s": statistics.median(timings)}
    finally:
        con.close()
    return results


@contextmanager
def _dashboard(db: Path, users: Path) -> Iterator[tuple[str, int]]:
    """A fresh dashboard server on `db` (the shipped server command) on a free port: its address and process id."""
    import socket
    import urllib.request

    from dashboard.serve import command

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MIO_DB": str(db), "MIO_USERS": str(users)}
    server = subprocess.Popen(command(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def _memory_mb(pid: int, field_name: str) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(field_name))) / 1024


def _director(password: str, accounts: int = 1) -> Path:
    """A users file with director accounts `bench` (and `bench2` … `bench{accounts}`), all with `password`."""
    import tempfile

    from etl.accounts import UserStore

    users = Path(tempfile.mkdtemp()) / "users.json"
    for number in range(1, accounts + 1):
        UserStore(users).add("bench" if number == 1 else f"bench{number}", "director", password)
    return users


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def bench_browser(db: Path) -> dict:
    """Seconds to a rendered overview and 'What leads to offers' in Chromium, and the server's memory after every
    page (signed in as a director)."""
    from playwright.sync_api import sync_playwright

    results: dict = {}
    with _dashboard(db, _director("bench-password")) as (url, pid), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.get_by_role("textbox", name="Username").fill("bench")
        page.get_by_role("textbox", name="Password").fill("bench-password")
        started = time.perf_counter()
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=120_000)
        results["overview_s"] = time.perf_counter() - started
        page.wait_for_timeout(1000)
        titles = ["What leads to offers", "Trends", "Channels", "Equity", "First destinations", "Skills",
                  "Career test-drive", "Employers", "Data quality"]
        for title in titles:
            started = time.perf_counter()
            page.get_by_role("link", name=title, exact=True).click()
            page.get_by_role("heading", name=title if title != "Channels" else "Channels and platforms")
            page.wait_for_timeout(300)
            page.wait_for_load_state()
            if title == "What leads to offers":
                page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2",
                                       timeout=120_000)
                results["offers_s"] = time.perf_counter() - started
            page.wait_for_timeout(1500)
        browser.close()
        results["server_rss_mb"] = _memory_mb(pid, "VmRSS")
    return results


# The director pages the simultaneous sessions click through, each with the heading that shows it has drawn.
DIRECTOR_TOUR = (("What leads to offers", "What leads to offers"), ("Trends", "Trends by term"),
                 ("Channels", "Channels and platforms"), ("Equity", "Equity"),
                 ("First destinations", "First destinations"), ("Skills", "Skills"),
                 ("Employers", "Employers"))
# Set in each page before a click: the milliseconds until the page shows HEADING (the server has answered) and until
# it also shows CHARTS drawn charts and nothing stale (the browser has drawn them too); a MutationObserver, so that
# ten sessions measured from one thread each get their own times.
_WATCH = """([heading, charts]) => {
  window.__shown = null;
  window.__drawn = null;
  const t0 = performance.now();
  const titled = () => [...document.querySelectorAll('h1')].some(h => h.textContent.trim() === heading);
  const observer = new MutationObserver(() => {
    if (window.__shown === null && titled()) { window.__shown = performance.now() - t0; }
    if (window.__shown !== null && document.querySelectorAll('.js-plotly-plot').length >= charts
        && !document.querySelector('[data-stale="true"]')) {
      window.__drawn = performance.now() - t0;
      observer.disconnect();
    }
  });
  observer.observe(document.body, {childList: true, subtree: true, attributes: true});
}"""


def _process_tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(current := todo.pop())
        todo += children.get(current, [])
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time (user and system, with reaped children's) of the processes `pids`."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def _browser_processes(server: int) -> list[int]:
    """This benchmark's Chromium processes: below this process, but not the server's nor Playwright's driver."""
    serving = set(_process_tree(server))
    return [pid for pid in _process_tree(os.getpid())
            if pid not in serving and pid != os.getpid() and "chromium" in _command_name(pid)]


def _command_name(pid: int) -> str:
    """The process's name, or "" when it has ended since it was listed."""
    try:
        return Path(f"/proc/{pid}/comm").read_text(errors="replace").lower()
    except OSError:
        return ""


def bench_directors(db: Path, sessions: int = 10) -> dict:
    """`sessions` directors (each with an account of their own) at once on a fresh server, one headless Chromium with
    a context each: seconds from clicking "Sign in" to the overview, and from clicking a page's link to the page, for
    every session and page of DIRECTOR_TOUR (clicked by all sessions together), both to the page's heading (the
    server has answered) and to its charts drawn (the browser, on the same cores, has drawn them); the server's memory
    at the end and at its peak; the CPU time the server and the browser spent per page view; any page showing an
    exception. Each session clicks "Sign in" once its sign-in page has loaded the chart library, as it does while a
    person types (dashboard/sign_in.py)."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"sign_in_shown": [], "sign_in": [], "page_shown": [], "page": []}
    cpu: dict[str, float] = {"server": 0.0, "browser": 0.0}
    exceptions = 0
    with _dashboard(db, _director("bench-password", sessions)) as (url, pid), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        contexts = [browser.new_context(viewport={"width": 1440, "height": 900}) for _ in range(sessions)]
        pages = [context.new_page() for context in contexts]
        for number, page in enumerate(pages, start=1):
            page.goto(url)
            page.get_by_role("textbox", name="Username").fill("bench" if number == 1 else f"bench{number}")
            page.get_by_role("textbox", name="Password").fill("bench-password")
        for page in pages:
            page.wait_for_function("window.mioChartsLoaded === true", timeout=120_000)
        steps = [("Sign in", "Which micro-internships lead to job offers?", 3, "sign_in")]
        steps += [(link, heading, 1, "page") for link, heading in DIRECTOR_TOUR]
        for link, heading, charts, kind in steps:
            browser_processes = _browser_processes(pid)
            server_before, browser_before = _cpu_seconds(_process_tree(pid)), _cpu_seconds(browser_processes)
            for page in pages:  # one click right after the other: the server serves them together
                page.evaluate(_WATCH, [heading, charts])
                if link == "Sign in":
                    page.get_by_role("button", name="Sign in").click()
                else:
                    page.get_by_role("link", name=link, exact=True).click()
            for page in pages:
                page.wait_for_function("window.__drawn !== null", timeout=120_000)
                times[f"{kind}_shown"].append(page.evaluate("window.__shown") / 1000)
                times[kind].append(page.evaluate("window.__drawn") / 1000)
                exceptions += page.locator("[data-testid='stException']").count()
            if kind == "page":
                cpu["server"] += _cpu_seconds(_process_tree(pid)) - server_before
                cpu["browser"] += _cpu_seconds(browser_processes) - browser_before
        browser.close()
        memory = {"server_rss_mb": _memory_mb(pid, "VmRSS"), "server_peak_mb": _memory_mb(pid, "VmHWM")}
    figures = {f"{kind}_{name}_s": percentile(values, q) for kind, values in times.items()
               for name, q in (("p50", 0.5), ("p95", 0.95))}
    views = len(times["page"])
    return {"sessions": sessions, **figures, "page_views": views, "exceptions": exceptions, **memory,
            "server_cpu_per_view_s": cpu["server"] / views, "browser_cpu_per_view_s": cpu["browser"] / views}


async def _protocol_session(url: str, username: str, password: str, start: object, times: dict[str, list[float]],
                            exceptions: list[str], until: object = None) -> None:
    """One director through Streamlit's own WebSocket protocol, as its browser speaks it (no browser): open the app,
    fill in and submit the sign-in form, then open every page of DIRECTOR_TOUR one after the other (and again, until
    the event `until` is set, when one is given); the seconds from each request to the end of the script run that
    answers it."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                  origin=url, max_size=None) as ws:
        pages: dict[str, str] = {}
        widgets: dict[str, str] = {}

        async def run(page: str = "", states: tuple = ()) -> float:
            message = BackMsg()
            message.rerun_script.page_script_hash = page
            for state in states:
                message.rerun_script.widget_states.widgets.append(state)
            started = time.perf_counter()
            await ws.send(message.SerializeToString())
            while True:
                reply = ForwardMsg()
                reply.ParseFromString(await ws.recv())
                kind = reply.WhichOneof("type")
                if kind == "navigation":
                    pages.update({p.page_name: p.page_script_hash for p in reply.navigation.app_pages})
                elif kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                    element = reply.delta.new_element
                    if element.WhichOneof("type") in ("text_input", "button"):
                        widget = getattr(element, element.WhichOneof("type"))
                        widgets[widget.label] = widget.id
                    elif element.WhichOneof("type") == "exception":
                        exceptions.append(element.exception.message)
                elif kind == "script_finished" and reply.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    return time.perf_counter() - started

        from streamlit.proto.WidgetStates_pb2 import WidgetState

        await run()  # the sign-in page
        await start.wait()
        form = (WidgetState(id=widgets["Username"], string_value=username),
                WidgetState(id=widgets["Password"], string_value=password),
                WidgetState(id=widgets["Sign in"], trigger_value=True))
        elapsed = await run(states=form)
        if "What leads to offers" not in pages:  # the second run (st.rerun) draws the signed-in app
            elapsed += await run()
        times["sign_in"].append(elapsed)
        while True:
            for link, _heading in DIRECTOR_TOUR:
                times["page"].append(await run(pages[link]))
            if until is None or until.is_set():
                return


def bench_directors_server(db: Path, sessions: int = 10) -> dict:
    """The server's part alone: `sessions` directors at once on a fresh server, each through Streamlit's protocol
    without a browser (as a load tester would), signing in and opening every page of DIRECTOR_TOUR as fast as the
    server answers: seconds from each request to the end of the script run that answers it; the server's CPU time per
    page view; any exception shown."""
    import asyncio
    import concurrent.futures

    times: dict[str, list[float]] = {"sign_in": [], "page": []}
    exceptions: list[str] = []
    with _dashboard(db, _director("bench-password", sessions)) as (url, pid):
        async def together() -> None:
            start = asyncio.Event()
            tasks = [asyncio.create_task(_protocol_session(url, "bench" if n == 1 else f"bench{n}", "bench-password",
                                                           start, times, exceptions))
                     for n in range(1, sessions + 1)]
            await asyncio.sleep(1)
            before = _cpu_seconds(_process_tree(pid))
            start.set()
            await asyncio.gather(*tasks)
            times["cpu"] = [_cpu_seconds(_process_tree(pid)) - before]

        # In a thread of its own: the caller's thread may already run an event loop (Playwright's, in the tests).
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, together()).result()
    views = len(times["page"]) + len(times["sign_in"])
    return {"sessions": sessions, "page_views": views, "exceptions": len(exceptions),
            "cpu_per_view_s": times.pop("cpu")[0] / views,
            **{f"{kind}_{name}_s": percentile(values, q) for kind, values in times.items()
               for name, q in (("p50", 0.5), ("p95", 0.95))}}


def bench_director_among(db: Path, sessions: int = 10, rounds: int = 5) -> dict:
    """What one director sees while `sessions - 1` others use the server: each round starts a fresh server, signs
    everyone in at once and has them click through DIRECTOR_TOUR; the others speak Streamlit's protocol without a
    browser (as their own machines' browsers would) and keep clicking until the one in headless Chromium has seen
    every page. Seconds from clicking "Sign in" to the overview drawn, and from clicking a page's link to it drawn,
    in that browser; `rounds` rounds give the percentiles. A director's browser runs on their own machine: here it
    shares the server's two cores with nothing but the server."""
    import concurrent.futures

    # In a thread of its own: Playwright's sync API refuses a thread that already runs an event loop (the tests'
    # browser fixtures run one in the main thread).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(_director_among, db, sessions, rounds).result()


def _director_among(db: Path, sessions: int, rounds: int) -> dict:
    import asyncio
    import threading

    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"sign_in_shown": [], "sign_in": [], "page_shown": [], "page": []}
    others: dict[str, list[float]] = {"sign_in": [], "page": []}
    exceptions: list[str] = []
    memory: list[float] = []
    for _ in range(rounds):
        with _dashboard(db, _director("bench-password", sessions)) as (url, pid), sync_playwright() as p:
            loop = asyncio.new_event_loop()
            start, stop = asyncio.Event(), asyncio.Event()

            async def crowd(url: str = url, start: asyncio.Event = start, stop: asyncio.Event = stop) -> None:
                await asyncio.gather(*[_protocol_session(url, f"bench{n}", "bench-password", start, others,
                                                         exceptions, until=stop) for n in range(2, sessions + 1)])

            task = loop.create_task(crowd())
            thread = threading.Thread(target=loop.run_until_complete, args=(task,), daemon=True)
            thread.start()
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            page.goto(url)
            page.get_by_role("textbox", name="Username").fill("bench")
            page.get_by_role("textbox", name="Password").fill("bench-password")
            page.wait_for_function("window.mioChartsLoaded === true", timeout=120_000)
            time.sleep(1)  # the others have opened their sign-in pages
            steps = [("Sign in", "Which micro-internships lead to job offers?", 3, "sign_in")]
            steps += [(link, heading, 1, "page") for link, heading in DIRECTOR_TOUR]
            for link, heading, charts, kind in steps:
                page.evaluate(_WATCH, [heading, charts])
                if link == "Sign in":
                    loop.call_soon_threadsafe(start.set)
                    page.get_by_role("button", name="Sign in").click()
                else:
                    page.get_by_role("link", name=link, exact=True).click()
                page.wait_for_function("window.__drawn !== null", timeout=120_000)
                times[f"{kind}_shown"].append(page.evaluate("window.__shown") / 1000)
                times[kind].append(page.evaluate("window.__drawn") / 1000)
                if page.locator("[data-testid='stException']").count():
                    exceptions.append(f"{link}: an exception shown")
            loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=120)
            browser.close()
            memory.append(_memory_mb(pid, "VmHWM"))
    figures = {f"{kind}_{name}_s": percentile(values, q) for kind, values in times.items()
               for name, q in (("p50", 0.5), ("p95", 0.95))}
    return {"sessions": sessions, "rounds": rounds, **figures, "page_views": len(times["page"]),
            "others_page_views": len(others["page"]), "others_page_p95_s": percentile(others["page"], 0.95),
            "exceptions": len(exceptions), "server_peak_mb": max(memory)}


def machine() -> dict:
    import duckdb
    import great_expectations
    import polars
    import streamlit

    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    return {
        "cores": os.cpu_count(), "memory_gb": round(int(memory) / 1024 / 1024, 1), "python": platform.python_version(),
        "duckdb": duckdb.__version__, "polars": polars.__version__, "streamlit": streamlit.__version__,
        "great_expectations": great_expectations.__version__, "platform": platform.platform(),
    }


def run(sizes: list[int], work: Path, runs: int = 5, browser: bool = False, directors: int = 0,
        progress: Callable[[str], None] = print, command: str = "") -> list[Result]:
    """Measure each size; results of other sizes measured earlier in the same work folder are kept beside them."""
    saved = work / "results.json"
    earlier = json.loads(saved.read_text()) if saved.exists() else []
    results = [Result(**r) for r in earlier if r["size"] not in sizes]
    for size in sizes:
        folder = work / str(size)
        folder.mkdir(parents=True, exist_ok=True)
        result = Result(size, command=command)
        progress(f"{size:,}: generating")
        source, result.generate_s = bench_generate(size, folder)
        result.applications = sum(1 for _ in open(source / "applications.csv", "rb")) - 1
        progress(f"{size:,}: DuckDB bulk load")
        result.duckdb_bulk = bench_duckdb_bulk(source, folder / "bulk.duckdb")
        progress(f"{size:,}: mio load")
        db = folder / "warehouse.duckdb"
        result.load = bench_load(source, db)
        progress(f"{size:,}: reports")
        result.reports = bench_reports(db)
        result.peer = bench_peer(source, db)
        progress(f"{size:,}: pages")
        result.pages = bench_pages(db, runs=runs)
        result.hand_sql = bench_hand_sql(db)
        if browser:
            progress(f"{size:,}: browser")
            result.browser = bench_browser(db)
        if directors:
            progress(f"{size:,}: {directors} directors at once")
            result.directors = bench_directors(db, directors)
            progress(f"{size:,}: {directors} directors at once, the server alone")
            result.directors["alone"] = bench_directors_server(db, directors)
        results.append(result)
        results.sort(key=lambda r: r.size)
        saved.write_text(json.dumps([r.__dict__ for r in results], indent=2))
    return results


def _per_view(directors: dict, side: str) -> str:
    value = directors.get(f"{side}_cpu_per_view_s")  # measured since 2026-11-28
    return "not measured" if value is None else f"{value:.2f} s"


def markdown(results: list[Result]) -> str:
    info = machine()
    lines = [
        "# Benchmarks", "",
        f"Tables written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {info['cores']} cores and {info['memory_gb']} GB "
        f"({info['platform']}); Python {info['python']}, DuckDB {info['duckdb']}, Polars {info['polars']}, "
        f"Streamlit {info['streamlit']}, Great Expectations {info['great_expectations']}.", "",
        "Measured by: " + "; ".join(f"`{c}` ({', '.join(f'{r.applications:,}' for r in results if r.command == c)})"
                                    for c in dict.fromkeys(r.command for r in results)) + ".", "",
        "## Load", "",
        "| applications | `mio generate` | rows (all files) | `mio load` | rows/s | peak memory | DuckDB bulk load "
        "| its peak memory | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = r.load["wall_s"] / r.duckdb_bulk["wall_s"]
        generated = f"{r.generate_s:.1f} s" if r.generate_s else "(reused)"
        lines.append(f"| {r.applications:,} | {generated} | {r.load['rows']:,} | {r.load['wall_s']:.1f} s | "
                     f"{r.load['rows_per_s']:,.0f} | {r.load['peak_mb']:,.0f} MB | {r.duckdb_bulk['wall_s']:.1f} s | "
                     f"{r.duckdb_bulk['peak_mb']:,.0f} MB | {ratio:.1f}× |")
    lines += ["", "`mio load` includes starting Python and importing Great Expectations (about 9 s on this machine), "
              "reading every file as text with line numbers, validating each row, checking references, writing "
              "an atomic copy and building the derived tables; DuckDB's bulk load only parses and stores.", "",
              "## Report", "",
              "| applications | dimension | `mio report --by …` (command) | the query alone (p50) |",
              "|---:|---|---:|---:|"]
    for r in results:
        for dimension, t in r.reports.items():
            query_ms = t["query_p50_s"] * 1000
            lines.append(f"| {r.applications:,} | {dimension} | {t['command_s']:.2f} s | {query_ms:.0f} ms |")
    lines += ["", "`mio report --by industry` against an analyst's pandas script over the raw files "
              "(bench/peer_pandas.py: the same offer rates with the contract's attribution), alternating runs, "
              "medians. The floor is what starting Python and importing click and DuckDB take here, before any "
              "work.", "",
              "| applications | `mio report` | pandas script | faster | same offer rates | floor |",
              "|---:|---:|---:|---:|---|---:|"]
    for r in results:
        if r.peer:
            p = r.peer
            lines.append(f"| {r.applications:,} | {p['mio_s']:.2f} s | {p['peer_s']:.2f} s | "
                         f"{p['peer_s'] / p['mio_s']:.1f}× | {'yes' if p['same'] else 'NO'} | {p['floor_s']:.2f} s |")
    lines += ["", "## Pages", "",
              "Time in warehouse queries per page (cold: first run on a new connection; warm: later runs with "
              "varied filters and cleared result caches), and the whole page script under AppTest.", "",
              "| applications | page | queries cold | queries warm p50 | warm p95 | hand-written SQL p50 "
              "| script cold | script warm p50 | warm p95 |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for page, t in r.pages.items():
            hand = f"{r.hand_sql[page]['p50_s'] * 1000:.0f} ms" if page in r.hand_sql else "–"
            lines.append(
                f"| {r.applications:,} | {page} | {t['cold_query_s'] * 1000:.0f} ms | "
                f"{t['warm_query_p50_s'] * 1000:.0f} ms | {t['warm_query_p95_s'] * 1000:.0f} ms | "
                f"{hand} | "
                f"{t['cold_script_s'] * 1000:.0f} ms | {t['warm_script_p50_s'] * 1000:.0f} ms | "
                f"{t['warm_script_p95_s'] * 1000:.0f} ms |")
    lines += ["", "The hand-written SQL ([bench/sql/](../bench/sql/)) computes each page's aggregates for the "
              "whole population straight from the core tables, joins at query time and plain `count(distinct …)`, "
              "the way a DuckDB user would; the page's own queries run on the fact tables and the outcome tables "
              "stored at load time (docs/performance.md)."]
    browsed = [r for r in results if r.browser]
    if browsed:
        lines += ["", "## In the browser", "", "| applications | sign-in to rendered overview | to rendered "
                  "'What leads to offers' | server memory after every page |", "|---:|---:|---:|---:|"]
        for r in browsed:
            lines.append(f"| {r.applications:,} | {r.browser['overview_s']:.1f} s | {r.browser['offers_s']:.1f} s | "
                         f"{r.browser['server_rss_mb']:,.0f} MB |")
    crowded = [r for r in results if r.directors]
    if crowded:
        tour = ", ".join(link for link, _ in DIRECTOR_TOUR)
        lines += ["", "## Directors at once", "",
                  "Directors signing in together to a freshly started server, one headless Chromium with a context "
                  f"each, then clicking through {tour} together. Each time runs from the click to the page drawn "
                  "(shown: its heading is there, the server has answered; drawn: its charts too, with nothing stale), "
                  "measured in the page. Each session clicks \"Sign in\" once its sign-in page has loaded the chart "
                  "library, as it does while a person types. The browser's ten sessions run on the same two cores "
                  "as the server. "
                  "Targets: sign-in to a drawn overview p95 ≤ 3 s, page p95 ≤ 1.5 s.", "",
                  "| applications | sessions | sign-in to overview shown p50 / p95 | to overview drawn p50 / p95 "
                  "| page shown p50 / p95 | page drawn p50 / p95 | page views | exceptions | server memory at the "
                  "end | its peak | CPU per page view: server / browser |", "|" + "---:|" * 11]
        for r in crowded:
            d = r.directors
            lines.append(f"| {r.applications:,} | {d['sessions']} | {d['sign_in_shown_p50_s']:.1f} / "
                         f"{d['sign_in_shown_p95_s']:.1f} s | {d['sign_in_p50_s']:.1f} / {d['sign_in_p95_s']:.1f} s "
                         f"| {d['page_shown_p50_s']:.2f} / {d['page_shown_p95_s']:.2f} s | {d['page_p50_s']:.2f} / "
                         f"{d['page_p95_s']:.2f} s | {d['page_views']} | {d['exceptions']} | "
                         f"{d['server_rss_mb']:,.0f} MB | {d['server_peak_mb']:,.0f} MB | "
                         f"{_per_view(d, 'server')} / {_per_view(d, 'browser')} |")
        alone = [r for r in crowded if "alone" in r.directors]
        if alone:
            lines += ["", "The server's part alone: the same directors at once on a fresh server, each through "
                      "Streamlit's own WebSocket protocol without a browser (as a load tester would), signing in "
                      "through the form and opening the same pages one after the other as fast as the server "
                      "answers; each time runs from the request to the end of the script run that answers it.", "",
                      "| applications | sessions | sign-in to overview p50 / p95 | page p50 / p95 | page views "
                      "| exceptions | server CPU per page view |", "|" + "---:|" * 7]
            for r in alone:
                a = r.directors["alone"]
                lines.append(f"| {r.applications:,} | {a['sessions']} | {a['sign_in_p50_s']:.2f} / "
                             f"{a['sign_in_p95_s']:.2f} s | {a['page_p50_s']:.2f} / {a['page_p95_s']:.2f} s | "
                             f"{a['page_views']} | {a['exceptions']} | {a['cpu_per_view_s']:.3f} s |")
    return "\n".join(lines) + "\n"
