"""What each director page costs the person looking at it (issue 30): one director alone in headless Chromium on a
fresh server, every page of the director's navigation opened in turn, each measured from its link's click until the
page has drawn and been quiet for a second.

Per page view: the browser's CPU time (every Chromium process of this run, from /proc) and the renderer's own
accounts from the DevTools protocol (Performance.getMetrics: script, layout and style time, all of its main thread's
tasks); the server's CPU time; the bytes of the messages the page's socket received; what those messages asked the
browser to draw (Plotly figures and the points in them, tables and their cells, from Streamlit's own protocol
messages); and the page's wall time to drawn.

    python -m bench.page_costs [--db PATH] [--rounds N]

prints a Markdown table (the median of N rounds of every page) for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench.harness import CHROMIUM_ARGS, _browser_processes, _cpu_seconds, _dashboard, _director, _process_tree
from dashboard import registry

# The renderer's own time accounts (seconds, cumulative) among Performance.getMetrics' figures.
RENDERER = {"TaskDuration": "tasks_s", "ScriptDuration": "script_s", "LayoutDuration": "layout_s",
            "RecalcStyleDuration": "style_s"}
QUIET_MS = 1000


def _drawn(message: Any, found: dict[str, int]) -> None:
    """Count what one ForwardMsg asks the browser to draw."""
    if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
        return
    element = message.delta.new_element
    kind = element.WhichOneof("type")
    if kind == "plotly_chart":
        found["figures"] += 1
        spec = json.loads(element.plotly_chart.spec or "{}")
        for trace in spec.get("data", []):
            found["points"] += max((len(trace[axis]) for axis in ("x", "y", "z", "values") if
                                    isinstance(trace.get(axis), list)), default=0)
    elif kind == "dataframe":
        import pyarrow as pa

        data = element.dataframe.arrow_data.data
        table = pa.ipc.open_stream(data).read_all() if data else None
        found["tables"] += 1
        if table is not None:
            found["cells"] += table.num_rows * table.num_columns
        found["styled"] += int(element.dataframe.arrow_data.HasField("styler"))


class Socket:
    """The bytes and the drawing of every message the page's Streamlit socket receives."""

    def __init__(self, page: Any) -> None:
        self.found = {"bytes": 0, "figures": 0, "points": 0, "tables": 0, "cells": 0, "styled": 0}
        page.on("websocket", lambda socket: socket.on("framereceived", self._received))

    def _received(self, payload: bytes | str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.found["bytes"] += len(payload)
        if isinstance(payload, bytes):
            message = ForwardMsg()
            message.ParseFromString(payload)
            _drawn(message, self.found)

    def take(self) -> dict[str, int]:
        found, self.found = self.found, dict.fromkeys(self.found, 0)
        return found


def _renderer(cdp: Any) -> dict[str, float]:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {key: metrics.get(name, 0.0) for name, key in RENDERER.items()}


def _wait_drawn(page: Any, heading: str) -> None:
    """Until the page shows `heading`, nothing is stale or running, and the document has not changed for QUIET_MS.
    Asked by one small script every 250 ms (Playwright's own locators walk the whole page at every poll: on a quiet
    page that was a fifth of the browser's CPU being measured)."""
    page.wait_for_function("""([heading, quietMs]) => {
        const app = document.querySelector("[data-testid='stApp']");
        if (!window.__quiet) {
            window.__quiet = performance.now();
            new MutationObserver(() => { window.__quiet = performance.now(); })
                .observe(document.body, {childList: true, subtree: true, attributes: true});
        }
        const titled = [...document.querySelectorAll("h1")].some(h => h.textContent.trim() === heading);
        return titled && app && app.getAttribute("data-test-script-state") === "notRunning"
            && !document.querySelector('[data-stale="true"]') && performance.now() - window.__quiet > quietMs;
    }""", arg=[heading, QUIET_MS], timeout=120_000, polling=250)


HEADINGS = {"overview": "Which micro-internships lead to job offers?", "channels": "Channels and platforms",
            "trends": "Trends by term"}


def measure(db: Path, rounds: int = 3) -> dict[str, list[dict[str, float]]]:
    from playwright.sync_api import sync_playwright

    pages = [spec for spec in registry.pages_for(registry.DIRECTOR) if spec.key != "import"]
    views: dict[str, list[dict[str, float]]] = {spec.title: [] for spec in pages}
    with _dashboard(db, _director("bench-password")) as (url, pid), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        socket = Socket(page)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(url)
        page.get_by_role("textbox", name="Username").fill("bench")
        page.get_by_role("textbox", name="Password").fill("bench-password")
        page.wait_for_function("window.mioChartsLoaded === true", timeout=120_000)
        page.get_by_role("button", name="Sign in").click()
        _wait_drawn(page, HEADINGS["overview"])
        for _ in range(rounds):
            for spec in pages:
                heading = HEADINGS.get(spec.key, spec.title)
                socket.take()
                page.evaluate("window.__quiet = null")  # a new observer for the new page
                browser_pids = _browser_processes(pid)
                before = (_cpu_seconds(browser_pids), _cpu_seconds(_process_tree(pid)), _renderer(cdp))
                started = time.perf_counter()
                page.get_by_role("link", name=spec.title, exact=True).click()
                _wait_drawn(page, heading)
                wall = time.perf_counter() - started - QUIET_MS / 1000
                after = (_cpu_seconds(browser_pids), _cpu_seconds(_process_tree(pid)), _renderer(cdp))
                view = {"wall_s": wall, "browser_cpu_s": after[0] - before[0], "server_cpu_s": after[1] - before[1]}
                view |= {key: after[2][key] - before[2][key] for key in RENDERER.values()}
                view |= socket.take()
                views[spec.title].append(view)
        browser.close()
    return views


COLUMNS = (("browser_cpu_s", "browser CPU s", "{:.2f}"), ("tasks_s", "renderer tasks s", "{:.2f}"),
           ("script_s", "script s", "{:.2f}"), ("layout_s", "layout + style s", "{:.2f}"),
           ("server_cpu_s", "server CPU s", "{:.2f}"), ("wall_s", "drawn in s", "{:.2f}"),
           ("bytes", "bytes received", "{:,.0f}"), ("figures", "figures", "{:.0f}"), ("points", "points", "{:,.0f}"),
           ("tables", "tables", "{:.0f}"), ("cells", "table cells", "{:,.0f}"), ("styled", "styled tables", "{:.0f}"))


def markdown(views: dict[str, list[dict[str, float]]]) -> str:
    lines = ["| page | " + " | ".join(label for _, label, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for title, measured in views.items():
        def median(key: str, runs: list[dict[str, float]] = measured) -> float:
            if key == "layout_s":
                return statistics.median(run["layout_s"] + run["style_s"] for run in runs)
            return statistics.median(run[key] for run in runs)

        lines.append(f"| {title} | " + " | ".join(form.format(median(key)) for key, _, form in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("data/warehouse.duckdb"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(markdown(measure(args.db, args.rounds)))


if __name__ == "__main__":
    main()
