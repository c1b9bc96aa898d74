"""Key flows in a real browser: Debian's Chromium driven by Playwright against `streamlit run` on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from etl.metrics import Filters, outcome_counts

CHROMIUM = Path("/usr/bin/chromium")
APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (see .ci/run)")
    pytestmark = [pytest.mark.browser, pytest.mark.skip(reason="needs /usr/bin/chromium (apt-get install chromium)")]


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    return {"executable_path": str(CHROMIUM), "args": ["--no-sandbox", "--disable-gpu",
                                                      "--disable-background-networking", "--disable-component-update",
                                                      "--disable-sync", "--no-first-run"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(sample: tuple[Path, Path]) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MIO_DB": str(sample[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
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
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_overview_in_chromium(server: str, sample: tuple[Path, Path], page) -> None:  # noqa: ANN001 - playwright
    page.goto(f"{server}/?institution=Bayview+University")  # the default page lives at /
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
    assert page.locator(".js-plotly-plot").count() == 2


PAGES = {  # url path -> how many charts the page draws on the sample
    "": 2, "offers": 2, "trends": 2, "channels": 4, "equity": 1, "destinations": 3, "skills": 3,
    "test-drive": 2, "employers": 1, "data-quality": 0, "glossary": 0,
}


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_in_chromium(server: str, page, path: str) -> None:  # noqa: ANN001 - playwright page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/{path}")
    page.wait_for_selector("h1", timeout=60_000)
    if PAGES[path]:
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {PAGES[path]}",
                               timeout=60_000)
    else:
        page.wait_for_selector("[data-testid='stMarkdown'], [data-testid='stDataFrame']", timeout=60_000)
    page.wait_for_timeout(500)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Page not found").count() == 0
    assert not errors, errors


def test_filters_survive_navigation_in_chromium(server: str, page) -> None:  # noqa: ANN001
    page.goto(f"{server}/?institution=Lakeshore+College")
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.wait_for_timeout(2_000)  # the sidebar is inert while the first run is still drawing
    page.get_by_role("link", name="Channels").click()
    page.wait_for_url("**/channels**", timeout=30_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    assert "institution=Lakeshore+College" in page.url or "institution=Lakeshore%20College" in page.url
    assert page.locator("[data-testid='stMultiSelect']", has_text="Lakeshore College").count() == 1


def test_outcomes_report_downloads_in_one_click(server: str, sample: tuple[Path, Path], page) -> None:  # noqa: ANN001
    page.goto(f"{server}/?institution=Riverside+Institute+of+Technology")
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.wait_for_timeout(1_500)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download the outcomes report (HTML)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    con = duckdb.connect(str(sample[1]), read_only=True)
    row = outcome_counts(con, "overall", Filters(institutions=("Riverside Institute of Technology",))).row(
        0, named=True)
    con.close()
    assert f"Applications<b>{row['applications']:,}</b>" in text
    assert "Riverside Institute of Technology" in text
