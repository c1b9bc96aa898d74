"""`python -m bench` (or `make bench`): measure load, report and page speed and memory; write docs/benchmarks.md.

The harness is a developer's tool, not part of the shipped `mio` package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from bench import harness

err = Console(stderr=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sizes", default="100000,1000000", show_default=True,
              help="Comma-separated numbers of applications (about ten per generated student).")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=Path("data/bench"),
              show_default=True, help="Where generated sources and warehouses are kept (and reused).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/benchmarks.md"),
              show_default=True)
@click.option("--runs", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Warm runs per page, each with different filters.")
@click.option("--browser", is_flag=True, help="Also time pages in headless Chromium (/usr/bin/chromium).")
@click.option("--directors", type=click.IntRange(0, 50), default=0, show_default=True,
              help="Also time this many directors at once in headless Chromium (0: not measured).")
@click.option("--from-results", is_flag=True, help="Measure nothing: rewrite the tables from WORK/results.json.")
@click.option("--replace", is_flag=True,
              help="Overwrite --out when it exists. Without it the tables go to WORK/benchmarks.md: docs/benchmarks.md "
                   "also holds measurements written by hand (bench.targets, the load and report pairs, the profiles) "
                   "that a rewrite would lose.")
def main(sizes: str, work: Path, out: Path, runs: int, browser: bool, directors: int, from_results: bool,
         replace: bool) -> None:
    """Measure load, report and page speed and memory; write a table to docs/benchmarks.md."""
    try:
        numbers = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise click.UsageError("--sizes takes numbers such as 100000,1000000") from None
    if from_results:
        saved = work / "results.json"
        if not saved.exists():
            raise click.UsageError(f"no {saved} to rewrite from")
        results = [harness.Result(**r) for r in json.loads(saved.read_text())]
    else:
        command = ("python -m bench " + " ".join(sys.argv[1:])).strip()
        results = harness.run(numbers, work.resolve(), runs=runs, browser=browser, directors=directors,
                              progress=lambda m: err.print(m),
                              command=command)
    if out.exists() and not replace:
        err.print(f"{out} exists and holds measurements written by hand; the tables go to {work / 'benchmarks.md'} "
                  "(--replace overwrites it)")
        out = work / "benchmarks.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(harness.markdown(results))
    err.print(f"wrote {out}")


if __name__ == "__main__":
    main()
