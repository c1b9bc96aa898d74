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
    page.goto(f"{server}/overview?institution=Bayview+University")
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
