"""`make screenshots`: the demo's main pages in headless Chromium, saved under docs/screenshots/ for the README.

Run after `mio demo --no-serve` (the Makefile target does both): it starts the dashboard on the demo warehouse with
accounts of its own, signs in as a director, an employer and a student, waits until each page is drawn, and saves
a 1440×900 view of it. Anyone can bring the README's pictures up to date with it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import duckdb

from bench.harness import _WATCH, CHROMIUM_ARGS, _dashboard
from etl.accounts import UserStore
from etl.warehouse import DEFAULT_DB

OUT = Path("docs/screenshots")
PASSWORD = "screenshots-password"
# (account, link to click or None for the landing page, the page's heading, charts to wait for, file name)
SHOTS = (
    ("director", None, "Which micro-internships lead to job offers?", 3, "overview"),
    ("director", "What leads to offers", "What leads to offers", 2, "offers"),
    ("director", "Trends", "Trends by term", 1, "trends"),
    ("director", "Channels", "Channels and platforms", 1, "channels"),
    ("director", "Equity", "Equity", 1, "equity"),
    ("director", "First destinations", "First destinations", 2, "destinations"),
    ("student", None, "Compare industries and functions", 1, "student"),
)


def main(db: Path = DEFAULT_DB) -> None:
    from playwright.sync_api import sync_playwright

    if not db.exists():
        sys.exit(f"no warehouse at {db}: run `mio demo --no-serve` first")
    con = duckdb.connect(str(db), read_only=True)
    busiest = con.sql("select employer_id from micro_internships group by 1 order by count(*) desc, 1 limit 1"
                      ).fetchall()[0][0]
    con.close()
    users = Path(tempfile.mkdtemp()) / "users.json"
    store = UserStore(users)
    store.add("director", "director", PASSWORD)
    store.add("employer", "employer", PASSWORD, busiest)
    store.add("student", "student", PASSWORD)
    OUT.mkdir(parents=True, exist_ok=True)
    shots = [*SHOTS, ("employer", None, None, 1, "employer")]
    with _dashboard(db, users) as (url, _pid), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for account in dict.fromkeys(shot[0] for shot in shots):
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            page.goto(url)
            page.get_by_role("textbox", name="Username").fill(account)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            for who, link, heading, charts, name in shots:
                if who != account:
                    continue
                page.evaluate(_WATCH, [heading or "", charts])  # the employer's page is titled with its name
                if link is None:
                    page.get_by_role("button", name="Sign in").click()
                else:
                    page.get_by_role("link", name=link, exact=True).click()
                if heading:
                    page.wait_for_function("window.__drawn !== null", timeout=120_000)
                else:
                    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
                page.wait_for_timeout(1500)  # fonts and the last chart's transition
                page.screenshot(path=str(OUT / f"{name}.png"))
                print(f"wrote {OUT / name}.png")
            page.context.close()
        browser.close()


if __name__ == "__main__":
    main()
