"""`python -m bench.targets`: the scale targets of one machine, measured and printed against each
target. At each size, a source generated once under WORK (`mio generate --students N/10 --seed 1`, reused) is
loaded by `mio load` and by DuckDB's bare bulk load of the same CSV files, in alternating pairs (medians; peak
resident memory, the largest of the runs); then `mio report --by industry --format json` on the loaded warehouse
runs against the analyst's pandas script over the raw files (bench/peer_pandas.py), which must give the same offer
rates. The warehouses are removed afterwards; the sources are kept for the next run.

The targets: `mio load` within 4x of DuckDB's bulk load at a million applications and within 3x at ten million,
with a peak of at most 2 GB from ten million up (thirty million loads on this machine with that same peak);
`mio report` at least 10x faster than the pandas script, from a million up. Each figure is printed with its
target and whether it was met; a size without a target is measured and shown all the same."""

from __future__ import annotations

import json
import shutil
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.harness import bench_duckdb_bulk, bench_generate, bench_load, bench_peer

PEAK_TARGET_MB = 2048.0
REPORT_TARGET = 10.0


def load_target(applications: int) -> float | None:
    """The largest ratio of `mio load` to DuckDB's bulk load allowed at this many applications (None: no target
    at this size). The issue names one and ten million; a source within a fifth of either is held to it."""
    for size, ratio in ((1_000_000, 4.0), (10_000_000, 3.0)):
        if 0.8 * size <= applications <= 1.2 * size:
            return ratio
    return None


def peak_target(applications: int) -> float | None:
    """The peak memory allowed (MB): 2 GB from ten million applications up, where memory used to grow past it."""
    return PEAK_TARGET_MB if applications >= 0.8 * 10_000_000 else None


def report_target(applications: int) -> float | None:
    """How many times faster than the pandas script `mio report` must be: from a million applications up, where
    the issue measured it (on a small source the script's reading costs little and both are startup)."""
    return REPORT_TARGET if applications >= 0.8 * 1_000_000 else None


@dataclass
class Measured:
    size: int  # applications asked for (about ten per generated student)
    applications: int  # applications in the generated source
    pairs: int
    load_s: float
    load_peak_mb: float
    bulk_s: float
    bulk_peak_mb: float
    report_s: float
    pandas_s: float
    same_offer_rates: bool
    floor_s: float  # starting Python and importing click and DuckDB, before any work

    @property
    def load_ratio(self) -> float:
        return self.load_s / self.bulk_s

    @property
    def report_speedup(self) -> float:
        return self.pandas_s / self.report_s

    def verdicts(self) -> list[tuple[str, str, str, str]]:
        """(what, measured, target, verdict) for each target that applies at this size."""
        rows = []
        ratio_target, peak = load_target(self.applications), peak_target(self.applications)
        rows.append(("mio load / DuckDB bulk load", f"{self.load_ratio:.1f}×",
                     f"≤ {ratio_target:g}×" if ratio_target else "none at this size",
                     _verdict(self.load_ratio <= ratio_target) if ratio_target else "—"))
        rows.append(("mio load peak memory", f"{self.load_peak_mb:,.0f} MB",
                     f"≤ {peak:,.0f} MB" if peak else "none at this size",
                     _verdict(self.load_peak_mb <= peak) if peak else "—"))
        speedup = report_target(self.applications)
        rows.append(("mio report --by industry, faster than pandas", f"{self.report_speedup:.1f}×",
                     f"≥ {speedup:g}× (same offer rates)" if speedup else "none at this size",
                     _verdict(self.report_speedup >= speedup and self.same_offer_rates) if speedup else "—"))
        return rows

    def as_dict(self) -> dict:
        return {**asdict(self), "load_ratio": round(self.load_ratio, 2),
                "report_speedup": round(self.report_speedup, 2),
                "targets": [dict(zip(("what", "measured", "target", "verdict"), row, strict=True))
                            for row in self.verdicts()]}


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def compiled() -> None:
    """mio's own modules compiled to bytecode, as an installed package has them. From a checkout where
    PYTHONDONTWRITEBYTECODE is set (this machine sets it), every `mio` start would compile them again: about 8 ms
    of a 0.16 s `mio report`, more for a load."""
    import compileall

    import etl

    compileall.compile_dir(Path(etl.__file__).parent, quiet=1)


def measure(size: int, work: Path, pairs: int = 3, progress: Callable[[str], None] = lambda _: None) -> Measured:
    """Measure the targets at `size` applications, with sources and warehouses under WORK/<size>."""
    folder = work / str(size)
    folder.mkdir(parents=True, exist_ok=True)
    compiled()
    progress(f"{size:,}: the source (generated once, then reused)")
    source, _ = bench_generate(size, folder)
    loads, bulks = [], []
    scratch = folder / "targets"
    scratch.mkdir(exist_ok=True)
    try:
        for number in range(pairs):
            progress(f"{size:,}: load pair {number + 1} of {pairs}")
            bulks.append(bench_duckdb_bulk(source, scratch / "bulk.duckdb"))
            loads.append(bench_load(source, scratch / "mio.duckdb"))
        progress(f"{size:,}: mio report against the pandas script")
        peer = bench_peer(source, scratch / "mio.duckdb", max(pairs, 3))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    applications = sum(1 for _ in open(source / "applications.csv", "rb")) - 1
    return Measured(size=size, applications=applications, pairs=pairs,
                    load_s=statistics.median(r["wall_s"] for r in loads),
                    load_peak_mb=max(r["peak_mb"] for r in loads),
                    bulk_s=statistics.median(r["wall_s"] for r in bulks),
                    bulk_peak_mb=max(r["peak_mb"] for r in bulks),
                    report_s=peer["mio_s"], pandas_s=peer["peer_s"], same_offer_rates=peer["same"],
                    floor_s=peer["floor_s"])


def markdown(results: list[Measured]) -> str:
    """One table: each size's figures, each target and whether it was met."""
    lines = ["| applications | what | measured | target | verdict |", "|---:|---|---:|---|---|"]
    for result in results:
        for what, measured, target, verdict in result.verdicts():
            lines.append(f"| {result.applications:,} | {what} | {measured} | {target} | {verdict} |")
    details = ["", "| applications | pairs | `mio load` | its peak | DuckDB bulk load | its peak | `mio report` "
               "| pandas script | floor |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        details.append(f"| {r.applications:,} | {r.pairs} | {r.load_s:.2f} s | {r.load_peak_mb:,.0f} MB "
                       f"| {r.bulk_s:.2f} s | {r.bulk_peak_mb:,.0f} MB | {r.report_s:.3f} s | {r.pandas_s:.3f} s "
                       f"| {r.floor_s:.3f} s |")
    return "\n".join(lines + details) + "\n"


@click.command(context_settings={"max_content_width": 100, "help_option_names": ["-h", "--help"]})
@click.option("--sizes", default="1000000", show_default=True,
              help="Comma-separated numbers of applications (about ten per generated student).")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=Path("data/bench"),
              show_default=True, help="Where the generated sources are kept (and reused) and the loads written.")
@click.option("--pairs", type=click.IntRange(1, 20), default=3, show_default=True,
              help="Alternating runs of `mio load` and DuckDB's bulk load (medians).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True)
def main(sizes: str, work: Path, pairs: int, fmt: str) -> None:
    """Measure the scale targets: load time against DuckDB's bulk load, peak memory, report against pandas.

    \b
    From a source checkout (the harness is not shipped with the package). `make bench` (python -m bench) measures
    pages and the browser too, and writes docs/benchmarks.md.
    Exit codes: 0 measured (whether or not each target is met); 2 wrong options.
    """
    try:
        numbers = [int(part.replace("_", "")) for part in sizes.split(",") if part.strip()]
    except ValueError:
        raise click.UsageError("--sizes takes numbers such as 1000000,10000000") from None
    if not numbers or min(numbers) < 100:
        raise click.UsageError("--sizes takes numbers of applications, 100 or more")
    err = Console(stderr=True)
    results = [measure(size, work.resolve(), pairs, progress=lambda m: err.print(escape(m))) for size in numbers]
    if fmt == "json":
        click.echo(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(markdown(results), nl=False)
    else:
        table = Table("applications", "what", "measured", "target", "verdict", title="scale targets")
        for result in results:
            for row in result.verdicts():
                table.add_row(f"{result.applications:,}", *row)
        err.print(table)


if __name__ == "__main__":
    main()
