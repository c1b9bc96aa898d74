"""Key flows in a real browser: Debian's Chromium driven by Playwright against `streamlit run` on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from dashboard import registry
from dashboard.serve import command
from dashboard.theme import words
from etl.metrics.outcomes import Filters, outcome_counts
from tests.conftest import CHROMIUM, REAL

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (see .ci/run)")
    pytestmark = [pytest.mark.browser, pytest.mark.skip(reason="needs /usr/bin/chromium (apt-get install chromium)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def accounts(sample: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A users file with one account per role; the employer is the sample's busiest."""
    from etl.accounts import UserStore

    con = duckdb.connect(str(sample[1]), read_only=True)
    busiest = con.sql("select employer_id from micro_internships group by 1 order by count(*) desc, 1 limit 1"
                      ).fetchall()[0][0]
    con.close()
    path = tmp_path_factory.mktemp("users") / "users.json"
    store = UserStore(path)
    store.add("director", "director", PASSWORD)
    store.add("employer", "employer", PASSWORD, busiest)
    store.add("student", "student", PASSWORD)
    return path, busiest


@pytest.fixture(scope="module")
def server(sample: tuple[Path, Path], accounts: tuple[Path, str]) -> Iterator[str]:
    with serving(sample[1], accounts[0]) as url:
        yield url


@contextlib.contextmanager
def serving(db: Path, users: Path, start: Callable[[int], list[str]] = command, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run` the dashboard on `db` with the accounts in `users`, on a free port of 127.0.0.1: the command
    `start(port)` gives (the checkout's server by default), in `cwd`, with `env` (this process's by default)."""
    port = free_port()
    env = {**(os.environ if env is None else env), "MIO_DB": str(db), "MIO_USERS": str(users)}
    proc = subprocess.Popen(start(port), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("streamlit did not start") from None
            time.sleep(0.3)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


class Runs:
    """The script runs Streamlit reports to one browser page, read from the protocol messages its sockets receive:
    a run begins with a `new_session` message and ends with `script_finished`. (The attribute Streamlit's root
    carries, `data-test-script-state`, can skip "running" when a short run's messages are drawn in one React
    render.)"""

    def __init__(self, page) -> None:  # noqa: ANN001 - playwright page
        self.page = page
        self.events: list[str] = []
        page.on("websocket", lambda socket: socket.on("framereceived", self._received))

    def _received(self, payload: bytes | str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, str):
            return
        message = ForwardMsg()
        message.ParseFromString(payload)
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.events.append("begun")
        elif kind == "script_finished" and message.script_finished in (
                ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
            self.events.append("ended")

    def wait_for_run(self, since: int, timeout: float = 60) -> None:
        """Wait until a run begun after event `since` has ended (events arrive while Playwright waits)."""
        deadline = time.monotonic() + timeout
        while True:
            later = self.events[since:]
            if "begun" in later and "ended" in later[later.index("begun"):]:
                return
            assert time.monotonic() < deadline, f"no script run ended within {timeout} s: {later}"
            self.page.wait_for_timeout(25)


def sign_in(page, server: str, username: str, query: str = "") -> Runs:  # noqa: ANN001 - playwright page
    """Open the app (with `query`), sign in, and wait for the signed-in frame's run to end and be drawn; the page's
    runs are watched from then on (see `open_page`)."""
    runs = page.mio_runs = getattr(page, "mio_runs", None) or Runs(page)
    page.goto(f"{server}/{query}")
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    since = len(runs.events)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=60_000)
    runs.wait_for_run(since)
    settle(page)
    return runs


# True once the browser has drawn the end of the last run (at `target`'s path when given), and neither the run state
# Streamlit marks its root with nor the address has changed for 300 ms. The socket's messages reach Playwright
# before the page's script has handled them (a busy page lags by seconds), and the address changes a moment before
# the state "running" is drawn: either alone would let a click land on a page still being drawn.
SETTLED = """(target) => {
    const app = document.querySelector("[data-testid='stApp']");
    const now = performance.now();
    if (!window.mioWatch) {
        window.mioWatch = {changed: now, path: location.pathname};
        new MutationObserver(() => { window.mioWatch.changed = performance.now(); })
            .observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
    }
    const watch = window.mioWatch;
    if (location.pathname !== watch.path) { watch.path = location.pathname; watch.changed = now; }
    return (target === null || location.pathname.replace(/\\/$/, "") === target)
        && app.getAttribute("data-test-script-state") === "notRunning" && now - watch.changed > 300;
}"""


def settle(page, target: str | None = None) -> None:  # noqa: ANN001 - playwright page
    page.wait_for_function(SETTLED, arg=target, timeout=60_000, polling=50)


def open_page(page, title: str) -> None:  # noqa: ANN001 - playwright page
    """Click the navigation's link to `title` and wait until the script run it starts has ended and the browser has
    drawn it. The page must have been signed in by `sign_in`, which watches its runs."""
    def path(url: str | None) -> str:
        return urllib.parse.urlparse(url or "").path.rstrip("/")

    link = page.get_by_role("link", name=title, exact=True)
    target = path(link.get_attribute("href"))
    shown = path(page.url) or path(page.locator("[data-testid='stSidebarNav'] a").first.get_attribute("href"))
    since = len(page.mio_runs.events)
    link.click()
    if target != shown:  # the link to the page already shown starts no run
        page.mio_runs.wait_for_run(since)
    settle(page, target)


def test_overview_in_chromium(server: str, sample: tuple[Path, Path], page) -> None:  # noqa: ANN001 - playwright
    sign_in(page, server, "director", "?institution=Bayview+University")  # the default page lives at /
    page.wait_for_selector("[data-testid='stMetric']", timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    con = duckdb.connect(str(sample[1]), read_only=True)
    row = outcome_counts(con, "overall", Filters(institutions=("Bayview University",))).row(0, named=True)
    con.close()
    applications = page.locator("[data-testid='stMetric']", has_text="Applications")
    applications.locator("[data-testid='stMetricValue']").wait_for()
    assert applications.locator("[data-testid='stMetricValue']").inner_text() == f"{row['applications']:,}"
    offer = page.locator("[data-testid='stMetric']", has_text="Offer rate").locator("[data-testid='stMetricValue']")
    assert offer.inner_text() == f"{row['offer_rate']:.1%}"
    assert page.locator(".js-plotly-plot").count() == 3  # the funnel, the rates by term, the institutions


def test_the_sign_in_page_loads_the_chart_library_while_the_visitor_types(server: str, page) -> None:  # noqa: ANN001
    from dashboard.sign_in import chart_module

    name = chart_module()
    assert name is not None, "this Streamlit ships no single Plotly chunk"
    page.goto(server)
    page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
    page.wait_for_function("window.mioChartsLoaded === true", timeout=60_000)
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert [url for url in loaded if url.endswith(f"/static/js/{name}")], loaded
    page.get_by_role("textbox", name="Username").fill("director")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert len([url for url in loaded if name in url]) == 1  # the overview's charts used the module loaded early


CHARTS = {  # director page -> how many charts it draws on the sample
    "overview": 3, "offers": 3, "trends": 2, "channels": 4, "equity": 1, "destinations": 3, "skills": 3,
    "career_test_drive": 2, "employers": 1, "data_quality": 0, "import": 0, "glossary": 0,
}


# The text a person reads on a page: everything in the main area but the data grids (drawn on a canvas; their cells'
# display values are checked in tests/test_dashboard.py), code written as code, and icons (written as ligatures).
VISIBLE_TEXT = """() => {
  const main = document.querySelector('[data-testid=stMain]').cloneNode(true);
  main.querySelectorAll('[data-testid=stDataFrame], code, pre, [data-testid=stIconMaterial]').forEach(e => e.remove());
  main.style.position = 'absolute'; main.style.left = '-99999px';
  document.body.appendChild(main);
  const text = main.innerText;
  main.remove();
  return text;
}"""
GRID_HEADERS = ("() => [...document.querySelectorAll('[data-testid=stDataFrame] [role=columnheader]')]"
                ".map(e => e.innerText)")
AXIS_TICKS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(plot =>
  [...plot.querySelectorAll('g.xaxislayer-above, g.yaxislayer-above')].map(axis =>
    [...axis.querySelectorAll('text')].map(t => t.textContent)))"""
UNREADABLE_TEXT = re.compile(r"\b(None|nan|NaN)\b|\b[a-z]+(?:_[a-z0-9]+)+\b|\b\d+\.\d{3,}\b")


@pytest.mark.parametrize("role", [registry.DIRECTOR, registry.EMPLOYER, registry.STUDENT])
def test_every_page_reads_as_a_person_reads_it_in_chromium(server: str, page, role: str) -> None:  # noqa: ANN001
    """On every page of every role, as drawn: no None or nan, no snake_case word, no float with its raw decimals in
    the text, the grids' headers or the charts' labels, and no axis writing the same tick label twice in a row."""
    sign_in(page, server, role)
    for spec in registry.pages_for(role):
        open_page(page, spec.title)
        if CHARTS.get(spec.key):
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {CHARTS[spec.key]}",
                                   timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0, spec.key
        text = page.evaluate(VISIBLE_TEXT)
        assert len(text) > 200, (spec.key, text)
        assert not UNREADABLE_TEXT.findall(text), (spec.key, sorted({m.group(0) for m in
                                                                    UNREADABLE_TEXT.finditer(text)}))
        headers = page.evaluate(GRID_HEADERS)
        assert not [h for h in headers if UNREADABLE_TEXT.search(h)], (spec.key, headers)
        for ticks in page.evaluate(AXIS_TICKS):
            assert not [a for a, b in zip(ticks, ticks[1:], strict=False) if a == b], (spec.key, ticks)


def test_every_director_page_is_tried_in_chromium() -> None:
    assert set(CHARTS) == {spec.key for spec in registry.pages_for(registry.DIRECTOR)}


@pytest.mark.parametrize("spec", registry.pages_for(registry.DIRECTOR), ids=lambda spec: spec.key)
def test_every_page_in_chromium(server: str, page, spec: registry.PageSpec) -> None:  # noqa: ANN001 - playwright
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server, "director")
    open_page(page, spec.title)
    page.wait_for_selector("h1", timeout=60_000)
    if CHARTS[spec.key]:
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {CHARTS[spec.key]}",
                               timeout=60_000)
    else:
        page.wait_for_selector("[data-testid='stMarkdown'], [data-testid='stDataFrame']", timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Page not found").count() == 0
    assert not errors, errors


def test_filters_survive_navigation_in_chromium(server: str, page) -> None:  # noqa: ANN001
    sign_in(page, server, "director", "?institution=Lakeshore+College")
    page.wait_for_url("**institution=Lakeshore*", timeout=30_000)  # the filter the link asked for, kept in the URL
    open_page(page, "Channels")
    page.wait_for_url("**/channels**", timeout=30_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    assert "institution=Lakeshore+College" in page.url or "institution=Lakeshore%20College" in page.url
    assert page.locator("[data-testid='stMultiSelect']", has_text="Lakeshore College").count() == 1


def test_outcomes_report_downloads_in_one_click(server: str, sample: tuple[Path, Path], page) -> None:  # noqa: ANN001
    sign_in(page, server, "director", "?institution=Riverside+Institute+of+Technology")
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download the outcomes report (HTML)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    con = duckdb.connect(str(sample[1]), read_only=True)
    row = outcome_counts(con, "overall", Filters(institutions=("Riverside Institute of Technology",))).row(
        0, named=True)
    con.close()
    assert f"Applications<b>{row['applications']:,}</b>" in text
    assert "Riverside Institute of Technology" in text
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download the outcomes report (PDF)").click()
    from pypdf import PdfReader

    assert download.value.suggested_filename == "outcomes-report.pdf"
    printed = "\n".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert f"{row['applications']:,}" in printed and "institutions: Riverside Institute of Technology" in printed



@pytest.mark.parametrize(("username", "links"), [
    ("director", {"Overview", "Equity", "Data quality", "Glossary"}),
    ("employer", {"Your micro-internships", "Glossary"}),
    ("student", {"Compare industries", "Glossary"}),
])
def test_each_role_signs_in_sees_its_pages_and_signs_out(server: str, sample: tuple[Path, Path],  # noqa: PLR0913
                                                         accounts: tuple[Path, str], page,  # noqa: ANN001
                                                         username: str, links: set[str]) -> None:
    con = duckdb.connect(str(sample[1]), read_only=True)
    employer_name = con.sql("select name from employers where employer_id = ?", params=[accounts[1]]).fetchall()[0][0]
    con.close()
    heading = {"director": "Which micro-internships lead to job offers?", "employer": employer_name,
               "student": "Compare industries and functions"}[username]
    page.goto(server)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong username or password.", exact=False).wait_for(timeout=30_000)
    sign_in(page, server, username)
    page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
    # Each link reads "icon-name\n\nTitle": the icon is a ligature of the Material Symbols font.
    texts = page.locator("[data-testid='stSidebarNavLink']").all_inner_texts()
    shown = {text.strip().splitlines()[-1].strip() for text in texts}
    assert links <= shown
    if username != "director":
        assert shown == links
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    assert page.locator("[data-testid='stMetric']").count() == 0


def test_a_director_url_gives_a_student_no_data(server: str, page) -> None:  # noqa: ANN001 - playwright page
    page.goto(f"{server}/offers")  # a visitor: only the sign-in form
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert page.locator("[data-testid='stMetric'], [data-testid='stDataFrame'], .js-plotly-plot").count() == 0
    page.get_by_role("textbox", name="Username").fill("student")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Compare industries and functions").wait_for(timeout=60_000)
    assert page.get_by_role("heading", name="What leads to offers").count() == 0
    assert page.get_by_role("link", name="What leads to offers").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_shared_link_opens_its_page_after_sign_in(server: str, page) -> None:  # noqa: ANN001 - playwright
    page.goto(f"{server}/equity?institution=Bayview+University")
    page.get_by_role("textbox", name="Username").fill("director")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Equity").wait_for(timeout=60_000)
    page.locator("[data-testid='stMultiSelect']", has_text="Bayview University").wait_for(timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0




@pytest.mark.skipif(not REAL.exists(), reason="the real exports in ../shared/real are not here")
def test_a_director_imports_a_real_export_in_chromium(tmp_path: Path, page) -> None:  # noqa: ANN001 - playwright
    """Upload the campus-placement file, write the mapping, dry-run, load, and see First destinations change."""
    from etl.accounts import UserStore
    from etl.pipeline import load
    from tests.conftest import HAND, write_source
    from tests.test_mapping import PLACEMENT_MAPPING

    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "hand", HAND), db).ok
    users = tmp_path / "users.json"
    UserStore(users).add("director", "director", PASSWORD)
    before = set(Path(tempfile.gettempdir()).glob("mio-import-*"))
    with serving(db, users) as url:
        sign_in(page, url, "director")
        page.get_by_role("link", name="Import", exact=True).click()
        page.get_by_role("heading", name="Import your exports").wait_for(timeout=60_000)
        page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
            str(REAL / "Placement_Data_Full_Class.csv"))
        mapping = page.locator("[data-testid='stTextArea'] textarea")
        mapping.wait_for(timeout=60_000)
        assert "{value: TODO}" in mapping.input_value()
        page.get_by_text("the value is still TODO").wait_for(timeout=30_000)
        mapping.fill(PLACEMENT_MAPPING)
        mapping.press("Control+Enter")
        page.get_by_role("button", name="Check everything (dry run: nothing is written)").wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "import-mapping.png"), full_page=True)
        page.get_by_role("button", name="Check everything (dry run: nothing is written)").click()
        page.get_by_role("heading", name="3. Load").wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "import-checked.png"), full_page=True)
        page.get_by_role("button", name="Load into the warehouse").click()
        page.get_by_text("Loaded as load 2").wait_for(timeout=120_000)
        page.get_by_role("link", name="See the First destinations page").click()
        page.get_by_role("heading", name="First destinations").wait_for(timeout=60_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=60_000)
        page.wait_for_timeout(1_000)
        ticks = page.locator(".js-plotly-plot .xtick text").all_text_contents()
        assert "2020" in ticks, ticks  # the imported cohort
        assert page.locator("[data-testid='stException']").count() == 0
        page.screenshot(path=str(tmp_path / "import-destinations.png"), full_page=True)
        if os.environ.get("MIO_SCREENSHOTS"):
            for shot in tmp_path.glob("import-*.png"):
                shutil.copyfile(shot, Path(os.environ["MIO_SCREENSHOTS"]) / shot.name)
    assert set(Path(tempfile.gettempdir()).glob("mio-import-*")) <= before, "the uploads are removed after the load"


SESSIONS = 10
CONCURRENT_PAGES = ("What leads to offers", "Channels", "First destinations", "Employers")


def test_ten_directors_at_once_on_a_fresh_server(sample: tuple[Path, Path], accounts: tuple[Path, str],
                                                 browser) -> None:  # noqa: ANN001 - playwright browser
    """Ten sessions sign in together to a server that has answered no one yet, then click through pages together:
    no page may show an exception (the first imports used to race in Streamlit's script threads)."""
    with serving(sample[1], accounts[0]) as url:
        contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(SESSIONS)]
        pages = [context.new_page() for context in contexts]
        errors: list[str] = []
        for page in pages:
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
        for page in pages:
            page.get_by_role("textbox", name="Username").fill("director")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
        for page in pages:  # submitted one right after the other: the server runs them together
            page.get_by_role("button", name="Sign in").click()
        for page in pages:
            page.get_by_role("heading", name="Which micro-internships lead to job offers?").wait_for(timeout=180_000)
        for title in CONCURRENT_PAGES:
            for page in pages:
                page.get_by_role("link", name=title, exact=True).click()
            for page in pages:
                page.get_by_role("heading", name=title if title != "Channels" else "Channels and platforms",
                                 exact=True).wait_for(timeout=180_000)
                page.wait_for_selector(".js-plotly-plot", timeout=180_000)
        shown = [page.locator("[data-testid='stException']").all_inner_texts() for page in pages]
        for context in contexts:
            context.close()
    assert not [text for texts in shown for text in texts], shown
    assert not errors, errors


HOSTILE = ('**x** [a](http://host.example/a) ![p](http://host.example/p.png) '
           '<img src=http://host.example/i.png> =HYPERLINK("http://host.example")')


# Elements the hostile names would make if they were read as Markdown or HTML.
MADE_FROM_DATA = "img[src*='host.example'], a[href*='host.example'], [data-testid='stMain'] strong:text-is('x')"


def test_hostile_names_stay_text_on_every_page(tmp_path: Path, page) -> None:  # noqa: ANN001 - playwright page
    """Names made of Markdown, HTML and formulas, on every page a director, an employer and a student open: no
    element is made from them and no request goes to the host they name."""
    from etl.accounts import UserStore
    from etl.pipeline import load
    from tests.conftest import HAND, write_source

    quoted = HOSTILE.replace('"', '""')
    employers = ["employer_id,name,industry,size_band,state", f'E1,"{quoted}","{quoted}",50-249,NY',
                 "E2,Beta Bank,Finance,5000+,IL"]
    students = [HAND["students"][0]] + [line.replace(",U2,", f',"{quoted}",') for line in HAND["students"][1:]]
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", {**HAND, "employers": employers, "students": students}), db).ok
    users = tmp_path / "users.json"
    store = UserStore(users)
    store.add("director", "director", PASSWORD)
    store.add("employer", "employer", PASSWORD, "E1")
    store.add("student", "student", PASSWORD)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    with serving(db, users) as url:
        for username, titles in (("director", [s.title for s in registry.pages_for(registry.DIRECTOR)]),
                                 ("employer", ["Your micro-internships"]), ("student", ["Compare industries"])):
            sign_in(page, url, username)
            for title in titles:
                open_page(page, title)
                assert page.locator("[data-testid='stException']").count() == 0, (username, title)
                made = page.locator(MADE_FROM_DATA)
                assert made.count() == 0, (username, title, made.evaluate_all("els => els.map(e => e.outerHTML)"))
            page.get_by_role("button", name="Sign out").click()
            page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    assert not [r for r in requests if "host.example" in r]
    # Nothing leaves the machine: fonts, icons and scripts are all served by the dashboard itself.
    outside = {urllib.parse.urlparse(r).hostname for r in requests if r.startswith(("http:", "https:"))}
    assert outside <= {"127.0.0.1"}, [r for r in requests if "127.0.0.1" not in r]


def test_sign_in_survives_a_reload_and_a_new_tab_and_ends_at_sign_out(server: str, page) -> None:  # noqa: ANN001
    """Item 6 of the privacy issue: one sign-in per browser for a set time, through an HttpOnly cookie."""
    sign_in(page, server, "director")
    deadline = time.monotonic() + 20
    while not (session := [c for c in page.context.cookies() if c["name"] == "mio_session"]):
        assert time.monotonic() < deadline, "no session cookie"
        time.sleep(0.2)
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Strict"
    assert "mio_session" not in page.evaluate("document.cookie")  # scripts cannot read it
    page.reload()
    page.get_by_text("Signed in as").wait_for(timeout=60_000)
    other = page.context.new_page()
    other.goto(f"{server}/offers")
    other.get_by_text("Signed in as").wait_for(timeout=60_000)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    page.reload()
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    other.reload()  # the same cookie, now signed out on the server
    other.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert other.get_by_text("Signed in as").count() == 0


def test_downloads_need_a_signed_in_session_and_metrics_are_not_served(server: str, page) -> None:  # noqa: ANN001
    sign_in(page, server, "director")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download the outcomes report (HTML)").click()
    url = download.value.url
    assert "/media/" in url
    assert page.context.request.get(url).status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:  # the same address, without the session's cookie
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{server}/_stcore/metrics", timeout=10)
    assert missing.value.code == 404
    urllib.request.urlopen(f"{server}/_stcore/health", timeout=10)  # the health check stays


def test_clicking_a_bar_opens_what_lies_behind_it(server: str, page) -> None:  # noqa: ANN001 - playwright page
    sign_in(page, server, "director", "?k=0")
    page.get_by_role("link", name="What leads to offers", exact=True).click()
    page.get_by_role("heading", name="Offer rate by industry").wait_for(timeout=60_000)
    bar = page.locator(".js-plotly-plot").first.locator(".bars .point path").last  # the top bar: the best rate
    bar.wait_for(timeout=60_000)
    box = bar.bounding_box()  # Plotly's drag layer takes the pointer: click where the bar is drawn
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    caption = page.get_by_text("employers and", exact=False).first
    caption.wait_for(timeout=60_000)
    top = page.locator(".js-plotly-plot").first.locator(".yaxislayer-above .ytick text").last.text_content()
    assert caption.inner_text().startswith(f"{top}:")
    assert page.locator("[data-testid='stException']").count() == 0
    # The clicked group filters every page: the link names it, and the overview's figures are the group's.
    page.get_by_role("button", name="Filter every page by this industry").click()
    page.wait_for_function(f"decodeURIComponent(location.search.replaceAll('+', ' ')).includes('industry={top}')",
                           timeout=60_000)
    settle(page)  # the filter's run drawn: a link clicked before it would leave the filter behind
    open_page(page, "Overview")
    page.get_by_role("heading", name="Which micro-internships lead to job offers?").wait_for(timeout=60_000)
    page.wait_for_function(f"decodeURIComponent(location.search.replaceAll('+', ' ')).includes('industry={top}')",
                           timeout=60_000)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text(top, exact=True).wait_for(timeout=60_000)  # the industry filter holds the group alone


def test_clicking_a_cell_or_a_table_row_opens_what_lies_behind_it(server: str, page) -> None:  # noqa: ANN001
    """A heatmap's cell (Plotly reports no click on a heatmap: the page puts a clickable marker on each cell) and a
    table's row (its checkbox) open the projects and employers behind them."""
    sign_in(page, server, "director", "?k=0")
    open_page(page, "Channels")
    page.get_by_role("heading", name="Channels and platforms").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=60_000)
    heat = page.locator(".js-plotly-plot").last
    heat.scroll_into_view_if_needed()
    opened = page.locator("[data-testid='stCaptionContainer']", has_text="employers and")
    for _ in range(3):  # the page may still be settling after the scroll: click again if the first one was lost
        page.wait_for_timeout(1_000)
        cell = heat.locator(".scatterlayer .point").first  # the first cell: the first platform, the first channel
        box = cell.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        try:
            opened.first.wait_for(timeout=15_000)
            break
        except Exception:  # noqa: BLE001 - Playwright's timeout: try the click once more
            continue
    opened.first.wait_for(timeout=30_000)
    platform = heat.locator(".yaxislayer-above .ytick text").first.text_content()  # the bottom row
    channel = heat.locator(".xaxislayer-above .xtick text").first.text_content()
    assert opened.first.inner_text().startswith(f"{platform} · {channel}:"), opened.first.inner_text()
    # The table of channels: a click on its first row's checkbox opens that channel.
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the checkbox column, the first row under the header
    expect = page.locator("[data-testid='stCaptionContainer']", has_text="employers and").filter(has_not_text=" · ")
    expect.first.wait_for(timeout=60_000)
    cells = page.evaluate("[...[...document.querySelectorAll('[data-testid=stDataFrame]')][0]"
                          ".querySelector('tbody tr').querySelectorAll('td')].map(td => td.innerText)")
    assert expect.first.inner_text().split(":")[0] in [words(cell) for cell in cells], (expect.first.inner_text(),
                                                                                         cells)
    assert page.locator("[data-testid='stException']").count() == 0


def test_guesses_from_one_address_do_not_keep_the_director_out_in_chromium(sample: tuple[Path, Path],
                                                                          accounts: tuple[Path, str],
                                                                          browser) -> None:  # noqa: ANN001
    """Issue 34, through the running server's form: behind a trusted proxy (MIO_TRUSTED_PROXY, this machine), two
    browsers whose proxy names different clients. Five wrong passwords for `director` from the first; the right one
    from there is then refused with what happened and when to try again, and the right one from the second signs in
    at once."""
    from dashboard.sign_in import GENERIC_REFUSAL
    from etl.accounts import LOCKOUT_FAILURES

    def form(page, password: str) -> None:  # noqa: ANN001 - playwright page
        """Submit the form and wait until the server's answer is drawn."""
        runs = page.mio_runs = getattr(page, "mio_runs", None) or Runs(page)
        page.get_by_role("textbox", name="Username").fill("director")
        page.get_by_role("textbox", name="Password").fill(password)
        since = len(runs.events)
        page.get_by_role("button", name="Sign in").click()
        runs.wait_for_run(since)
        settle(page)

    with serving(sample[1], accounts[0], env={**os.environ, "MIO_TRUSTED_PROXY": "127.0.0.1"}) as url:
        guessing = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.5"})
        owning = browser.new_context(extra_http_headers={"X-Forwarded-For": "198.51.100.7"})
        try:
            guesser = guessing.new_page()
            guesser.mio_runs = Runs(guesser)  # watching its socket from the start
            guesser.goto(url)
            for n in range(LOCKOUT_FAILURES):
                form(guesser, f"wrong guess {n}")
                assert guesser.get_by_text(GENERIC_REFUSAL).count() == 1
            form(guesser, PASSWORD)
            locked = guesser.get_by_text("Too many wrong passwords from your connection")
            locked.wait_for(timeout=60_000)
            said = locked.inner_text()
            assert "try again in 15 minutes" in said and "director" not in said

            owner = owning.new_page()
            owner.mio_runs = Runs(owner)
            owner.goto(url)
            owner.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
            started = time.monotonic()
            form(owner, PASSWORD)
            owner.get_by_text("Signed in as").wait_for(timeout=60_000)
            assert time.monotonic() - started < 5  # at once: no delay, no lock for the owner's own address
        finally:
            guessing.close()
            owning.close()
