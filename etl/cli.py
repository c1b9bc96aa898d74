"""`mio`: generate, load, report, serve and demo (docs/data-contract.md §3).

Human output goes to stderr; machine output (`--format json|csv`) to stdout. Exit codes: 0 success, 1 input
rejected or a check failed, 2 usage error (click's own).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from etl.metrics.columns import DEFAULT_MIN_CELL, DIMENSIONS, PROJECT_ATTRIBUTES
from etl.stores import StoreError, is_remote
from etl.warehouse import DEFAULT_DB, OLD_FORMAT, Connection, connect_read_only, is_current

if TYPE_CHECKING:  # each command imports what it uses: `mio report`, `mio users` and --help start quickly
    from rich.table import Table as RichTable

class _Stderr:
    """The console for people (stderr), made on first use: `mio report --format json` never loads rich."""

    _console = None

    def real(self):  # noqa: ANN201 - rich's Console
        if _Stderr._console is None:
            from rich.console import Console

            _Stderr._console = Console(stderr=True)
        return _Stderr._console

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - rich's Console, whatever it offers
        return getattr(self.real(), name)


err = _Stderr()


def escape(text: str) -> str:
    """Text shown as it is in rich's markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def Table(*columns: str, **options: Any) -> RichTable:  # noqa: ANN401, N802 - rich's, imported when one is printed
    from rich.table import Table as RichTable

    return RichTable(*columns, **options)


DEMO_SOURCE = Path("data/sample")
DEMO_STUDENTS = 20000  # about 200,000 applications: most cells of every default view reach K = 10
DEMO_SEED = 42


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Micro-internship outcomes: which projects lead to offers, for whom, through which channel.

    \b
    Start with `mio demo`, or: mio generate → mio load → mio report / mio serve.
    Exit codes: 0 success; 1 input rejected or a check failed; 2 wrong options.
    """


@main.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the source files into.")
@click.option("--students", type=click.IntRange(min=10), default=DEMO_STUDENTS, show_default=True,
              help="Students; about ten applications each.")
@click.option("--seed", type=int, default=42, show_default=True, help="The same seed gives the same files.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
def generate(out: Path, students: int, seed: int, fmt: str) -> None:
    """Write a realistic synthetic source (every file of the contract)."""
    from etl.generate import generate as run

    with err.status(f"generating {students:,} students"):
        counts = run(out, students=students, seed=seed, fmt=fmt)
    table = Table("file", "rows", title=f"synthetic source in {out}")
    for name, rows in counts.items():
        table.add_row(f"{name}.{fmt}", f"{rows:,}")
    err.print(table)


def _load_with_progress(source: Path, db: Path, max_bad_rows: float = 0.05, mapping: Path | None = None,
                        dry_run: bool = False, validator: str = "sql", lake: str | None = None,
                        remote: str | None = None, origin: str | None = None):  # noqa: ANN202 - LoadResult
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from etl.ingest.mapping import MappingError
    from etl.pipeline import load as load_with_metrics

    columns = (TextColumn("{task.description:<40}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    try:
        with Progress(*columns, console=err.real(), transient=True) as bar:
            first = "starting (importing Great Expectations)" if validator == "gx" else "starting"
            task = bar.add_task(first, total=None)

            def advance(message: str, done: int, total: int) -> None:
                bar.update(task, description=escape(message), completed=done, total=total)

            if lake is not None:
                from etl.spark.load import load_lake

                return load_lake(source, lake, spark=_spark(remote), max_bad_rows=max_bad_rows,
                                 progress=advance, mapping=mapping, dry_run=dry_run, validator=validator,
                                 origin=origin)
            return load_with_metrics(source, db, max_bad_rows=max_bad_rows, progress=advance, mapping=mapping,
                                     dry_run=dry_run, validator=validator, origin=origin)
    except MappingError as exc:  # a usage error: exit 2, before anything was read or written
        raise click.UsageError(f"in the mapping {exc.path}: {exc}") from None


def _print_load(result, every_row: bool = False, console: Any = None) -> None:  # noqa: ANN001, ANN401 - LoadResult
    """What a load did, for a person: its files, warnings and the most frequent quarantine reasons (on stderr, or on
    `console`)."""
    out = console or err
    title = "dry run: nothing written" if result.dry_run else f"load {result.status}"
    table = Table("entity", "file", "read", "loaded", "quarantined", title=f"{title} in {result.seconds:.1f} s")
    for f in result.files:
        table.add_row(f.entity, escape(f.file), f"{f.rows_read:,}",
                      f"{f.rows_loaded:,}" if result.ok else "0", f"{f.rows_quarantined:,}")
    out.print(table)
    if result.mapping is not None:
        out.print(f"through the mapping {escape(str(result.mapping))}")
    for warning in [*result.warnings, *(w for f in result.files for w in f.warnings)]:
        out.print(f"[yellow]warning:[/] {escape(warning)}")
    if not result.quarantine.height:
        return
    if every_row:
        rows = Table("file", "line", "column", "source", "rule", "value", title="every quarantined row")
        for row in result.quarantine.select("file", "line", "column", "source", "rule", "value").iter_rows():
            rows.add_row(*["" if v is None else escape(str(v)) for v in row])
        out.print(rows)
        return
    top = result.quarantine.group_by("file", "column", "rule").len().sort("len", descending=True).head(10)
    reasons = Table("file", "column", "rule", "rows", title="quarantine reasons (most frequent)")
    for row in top.iter_rows():
        reasons.add_row(*[escape(str(v)) for v in row])
    out.print(reasons)


def spark_options(engine_help: str, lake_help: str):  # noqa: ANN201 - a click decorator
    """--engine, --lake and --spark-remote, as `mio load` and `mio report` take them."""
    def add(command):  # noqa: ANN001, ANN202
        command = click.option("--spark-remote", default=None,
                               help="With --engine spark: a Spark Connect address, sc://host:port (default: "
                                    "SPARK_REMOTE, else local mode on this machine).")(command)
        command = click.option("--lake", default=None, help=lake_help)(command)
        return click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
                            help=engine_help)(command)
    return add


def _lake_folder(lake: str) -> Path:
    from etl.spark.lake import lake_path

    return lake_path(lake)


def _working_copy(lake: str, stack: contextlib.ExitStack) -> tuple[str, str | None]:
    """A Spark load into a lake in an object store writes this machine's copy of it, at the store's current version,
    held for the rest of `stack`; exit 1 when the store does not answer."""
    from etl.spark.lake import working_copy

    err.print(f"bringing this machine's copy of {escape(lake)} to its current version")
    try:
        work, since = stack.enter_context(working_copy(lake))
    except (ValueError, StoreError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    return str(work), since


def _publish_load(work: str, lake: str, since: str | None) -> str:
    """Copy the version a Spark load wrote on this machine to the lake in the object store, and say what was copied;
    exit 1 saying why not (another load published meanwhile, the store does not answer), the store's lake left as it
    was."""
    from etl.spark.lake import RemoteLakeMoved, publish_working_copy

    try:
        version, files, size = publish_working_copy(Path(work), lake, since)
    except (RemoteLakeMoved, OSError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        err.print(f"the load was written on this machine ({escape(work)}) but not published; {escape(lake)} is as it "
                  "was")
        sys.exit(1)
    return f"published version {version} to {escape(lake)}: {files} files, {size / 1e6:,.1f} MB, then CURRENT"


def _source_folder(uri: str, beside: Path, engine: str) -> contextlib.AbstractContextManager[Path]:
    """The source's folder: a path or file:// URI as it is; an object store's folder copied beside `beside` (the
    warehouse, or the Spark engine's lake: a folder that the driver and executors share, so the executors read the
    copy where the driver does) for the load, and removed after it."""
    if not is_remote(uri):
        return contextlib.nullcontext(Path(uri.removeprefix("file://")))
    from etl.stores import fetched

    err.print(f"copying the files under {escape(uri)} beside the {'lake' if engine == 'spark' else 'warehouse'}, "
              "for this load")
    return fetched(uri, beside=beside)


@main.command()
@click.option("--source", "source_uri", required=True, metavar="PATH",
              help="Folder of input files (a path, a file:// URI, or an object store's folder, s3://bucket/exports, "
                   "copied beside the warehouse or lake for the load): one per entity named after it (students.csv, "
                   "offers.parquet, …), or files in any shape read through a mapping.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True,
              help="The warehouse file (DuckDB) to load into; created by the first load. Default: MIO_DB, else "
                   "data/warehouse.duckdb.")
@click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A mapping file (YAML) for exports that do not use the contract's names; default: mapping.yaml "
                   "in the source folder, when there is one. Draft one with `mio map`.")
@click.option("--dry-run", is_flag=True, help="Check everything and list every quarantined row; write nothing.")
@click.option("--max-bad-rows", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Reject the whole source when any file has more than this share of quarantined rows.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="table: a summary for reading (stderr); json: the result for programs (stdout).")
@click.option("--validator", type=click.Choice(["sql", "gx"]), default="sql", show_default=True,
              help="sql: the expectation suites compiled to SQL, run where the rows are staged; gx: the same suites "
                   "run by Great Expectations itself, on pandas (on Spark DataFrames with --engine spark; slower). "
                   "Both quarantine the same rows.")
@spark_options("spark: load on Apache Spark into a Parquet lake (--lake) instead of the DuckDB warehouse; the "
               "same checks, quarantine and tables.",
               "With --engine spark: the lake's folder (a path or file:// URI that the Spark executors share), or "
               "an object store's (s3://bucket/lake: written on this machine, then published there).")
def load(source_uri: str, db: Path, mapping: Path | None, dry_run: bool, max_bad_rows: float, fmt: str,
         validator: str, engine: str, lake: str | None, spark_remote: str | None) -> None:
    """Validate a source and load it into the warehouse, all or nothing.

    \b
    Entities: students, employers, micro_internships, project_skills, applications, placements,
    skill_assessments, offers, first_destinations; any subset whose references resolve.
    Formats: .csv (UTF-8, header row), .parquet, .json / .jsonl / .ndjson, .xlsx.
    Columns, types and rules: docs/data-contract.md.
    Exit codes: 0 loaded (with --dry-run: would load); 1 rejected, the warehouse unchanged; 2 wrong options.
    """
    target: Path | str = db  # where the rows go: the warehouse, or the lake
    beside = db  # where a store's source is copied for the load
    writes: str | None = None  # the lake's folder that Spark writes
    since: str | None = None  # a lake in a store: the version its CURRENT named when the load began
    if engine == "spark":
        if not lake:
            raise click.UsageError("--engine spark writes a lake: give --lake PATH")
        if is_remote(lake) and (spark_remote or os.environ.get("SPARK_REMOTE")):
            raise click.UsageError(f"--lake {lake}: with Spark Connect, load into a folder that the cluster shares "
                                   "(--lake PATH), then `mio publish --lake PATH --to URI` copies it to the object "
                                   "store")
        target, writes = lake, lake
    elif lake or spark_remote:
        raise click.UsageError("--lake and --spark-remote go with --engine spark")
    with contextlib.ExitStack() as stack:
        if writes is not None and is_remote(writes):
            writes, since = _working_copy(writes, stack)
        if writes is not None:
            beside = _lake_folder(writes)
        try:
            source = stack.enter_context(_source_folder(source_uri, beside, engine))
        except (FileNotFoundError, ValueError, StoreError) as exc:  # no file there, no store known, no answer
            err.print(f"[red]error:[/] {escape(str(exc))}")
            sys.exit(1)
        result = _load_with_progress(source, db, max_bad_rows, mapping, dry_run, validator, lake=writes,
                                     remote=spark_remote, origin=source_uri if is_remote(source_uri) else None)
        published = None
        if result.ok and not dry_run and writes is not None and writes != lake:  # a working copy of a store's lake
            published = _publish_load(writes, str(lake), since)
    written = target  # where the messages below say the rows went
    if fmt == "json":
        click.echo(json.dumps({
            "status": result.status, "reason": result.reason, "load_id": result.load_id,
            "mapping": str(result.mapping) if result.mapping else None,
            "files": [{"entity": f.entity, "file": f.file, "rows_read": f.rows_read,
                       "rows_loaded": f.rows_loaded if result.ok else 0, "rows_quarantined": f.rows_quarantined}
                      for f in result.files],
            "quarantine": result.quarantine.drop("record").to_dicts() if dry_run else None,
        }, default=str))
    _print_load(result, every_row=dry_run)
    if not result.ok:
        err.print(f"[red]rejected:[/] {escape(result.reason or '')}")
        if dry_run:
            err.print("a dry run writes nothing")
        elif result.warehouse_existed:
            err.print(f"the warehouse at {escape(str(written))} is unchanged")
        else:
            err.print(f"no warehouse was created at {escape(str(written))}")
        sys.exit(1)
    if dry_run:
        err.print(f"[green]would load[/] into {escape(str(written))}; nothing was written")
    else:
        err.print(f"[green]loaded[/] into {escape(str(written))} (load {result.load_id})")
        if published:
            err.print(published)


def _load_lines(result) -> str:  # noqa: ANN001 - LoadResult, imported lazily
    """What `mio load` prints about a load, as plain text."""
    import io

    from rich.console import Console

    text = io.StringIO()
    console = Console(file=text, width=110, color_system=None, soft_wrap=True)
    _print_load(result, console=console)
    if not result.ok:
        console.print(f"rejected: {escape(result.reason or '')}")
    return text.getvalue()


@main.command()
@click.argument("drop", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="The warehouse the deliveries load into.")
@click.option("--mapping", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A mapping for every delivery (a delivery's own mapping.yaml is used otherwise).")
@click.option("--interval", type=click.FloatRange(min=1), default=60, show_default=True,
              help="Seconds between two looks at the folder.")
@click.option("--settle", type=click.FloatRange(min=0), default=5, show_default=True,
              help="A delivery is complete when its files have not changed for this many seconds.")
@click.option("--max-bad-rows", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="As for mio load: the share of bad rows in a file above which a delivery is rejected.")
@click.option("--once", is_flag=True, help="Handle what is there now, then exit.")
@click.option("--alert", "alert_to", metavar="mailto:ADDRESS[,ADDRESS]",
              help="Whom to tell by e-mail when a delivery is rejected or quarantines rows (the MIO_SMTP_* settings "
                   "and retries of scheduled reports).")
def watch(drop: Path, db: Path, mapping: Path | None, interval: float, settle: float, max_bad_rows: float,
          once: bool, alert_to: str | None) -> None:
    """Load every delivery that arrives in DROP, as `mio load` would, and move it aside.

    \b
    A delivery is a file (one entity's export) or a folder of files (a source, with its mapping.yaml when it has
    one), taken when its files have stopped changing (an upload's temporary name, such as .filepart, is waited for).
    Each moves to DROP/loaded/<when>-<name>/ or DROP/rejected/<when>-<name>/ with REJECTED.txt holding what
    mio load prints; nothing is deleted. A delivery the warehouse has loaded before (every file's SHA-256 in its load
    history) is not loaded again.
    Exit codes with --once: 0 every delivery loaded (or none there); 1 one was rejected; 2 wrong options.
    """
    from etl.ingest.mapping import MappingError
    from etl.pipeline import load as load_with_metrics
    from etl.watch import LOADED, REJECTED, alert, as_source, complete, loaded_before, move, record

    if alert_to is not None and not (alert_to.startswith("mailto:") and "@" in alert_to):
        raise click.BadParameter("give mailto: and the addresses, comma-separated", param_hint="--alert")

    def tell(subject: str, text: str) -> str | None:
        """Send an alert when addresses were given; what became of it, for the delivery's record."""
        if alert_to is None:
            return None
        if (failed := alert(alert_to, subject, text)) is not None:
            err.print(f"[red]error:[/] the alert to {escape(alert_to)} could not be sent: {escape(failed)}")
            return f"not sent to {alert_to.removeprefix('mailto:')}: {failed}"
        return f"sent to {alert_to.removeprefix('mailto:')}"

    rejected = False
    try:
        while True:
            for delivery in complete(drop, settle):
                try:
                    earlier = loaded_before(db, delivery)
                except Exception as exc:  # noqa: BLE001 - the warehouse unreadable now: the delivery waits
                    err.print(f"[red]error:[/] the load history of {escape(str(db))} could not be read "
                              f"({escape(str(exc))}); {escape(delivery.name)} stays in the drop until the next look")
                    continue
                if earlier:
                    loads = ", ".join(str(n) for n in earlier)
                    to = move(drop, delivery, LOADED, f"every file was loaded before (load {loads}); not loaded "
                                                      "again\n", "ALREADY-LOADED.txt")
                    err.print(f"{escape(delivery.name)}: loaded before (load {loads}); moved to {escape(str(to))}")
                    record(db, delivery.name, "loaded before", to, earlier[-1], reason=f"every file is in load {loads}")
                    continue
                quarantined, reason = 0, None
                try:
                    with as_source(delivery) as source:
                        result = load_with_metrics(source, db, max_bad_rows=max_bad_rows, mapping=mapping,
                                                   origin=str(drop / delivery.name))
                    lines, ok, quarantined = _load_lines(result), result.ok, result.quarantine.height
                    reason = result.reason
                except MappingError as exc:
                    reason = f"in the mapping {exc.path}: {exc}"
                    lines, ok = f"rejected: {reason}\n", False
                except Exception as exc:  # noqa: BLE001 - the warehouse busy or unreachable: the delivery waits
                    err.print(f"[red]error:[/] {escape(delivery.name)} could not be loaded now ({escape(str(exc))}); "
                              "it stays in the drop and is tried again at the next look")
                    continue
                if ok:
                    to = move(drop, delivery, LOADED)
                    err.print(f"[green]loaded[/] {escape(delivery.name)} into {escape(str(db))} "
                              f"(load {result.load_id}); moved to {escape(str(to))}")
                    told = None
                    if quarantined:
                        rows = f"{quarantined:,} row{'s' if quarantined != 1 else ''}"
                        told = tell(f"mio watch: {delivery.name} loaded, {rows} quarantined",
                                    f"{delivery.name} loaded into {db} (load {result.load_id}) and is now in {to}.\n"
                                    f"Quarantined: {rows} (the dashboard's Data quality page lists them all)."
                                    f"\n\n{lines}")
                    record(db, delivery.name, "loaded", to, result.load_id, quarantined, alert=told)
                else:
                    rejected = True
                    to = move(drop, delivery, REJECTED, lines)
                    err.print(f"[red]rejected[/] {escape(delivery.name)}; moved to {escape(str(to))} "
                              "(REJECTED.txt says why)")
                    told = tell(f"mio watch: {delivery.name} rejected",
                                f"{delivery.name} was rejected; nothing of it was loaded into {db}. It is now in "
                                f"{to}, with REJECTED.txt:\n\n{lines}")
                    record(db, delivery.name, "rejected", to, None, quarantined, reason, told)
            if once:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    if once and rejected:
        sys.exit(1)


@main.command("map")
@click.option("--source", type=click.Path(path_type=Path), default=None, help="Folder of exports to draft for.")
@click.option("--preset", default=None, help="Start from a shipped preset (see --list-presets).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the draft here (default: print it).")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="json: the draft as a table (entity, target, source, transformation), for tools.")
@click.option("--list-presets", is_flag=True, help="List the shipped presets and exit.")
def map_command(source: Path | None, preset: str | None, out: Path | None, fmt: str, list_presets: bool) -> None:
    """Draft a mapping for exports that do not use the contract's names.

    Each target column is matched to the closest header (alternatives as comments); enumerated targets list every
    distinct source value with a guessed contract value or TODO. Edit the draft, then
    `mio load --source DIR --mapping FILE`.
    """
    from etl.ingest import draft

    if list_presets:
        for name, about in draft.presets().items():
            click.echo(f"{name}\t{about}")
        return
    if source is None:
        raise click.UsageError("give --source DIR (or --list-presets)")
    if not source.is_dir():
        raise click.UsageError(f"{source} is not a folder")
    if preset is not None:
        try:
            text = draft.preset_text(preset, source)
        except KeyError:
            raise click.UsageError(f"no preset {preset!r}; see `mio map --list-presets`") from None
    else:
        entities = draft.draft(source)
        if not entities and draft.contract_files(source):
            err.print(f"every file in {escape(str(source))} that looks like an entity is already in the contract's "
                      f"shape: load it with `mio load --source {escape(str(source))}`, no mapping needed")
            return
        if fmt == "json":
            click.echo(json.dumps(draft.as_rows(entities), indent=2, ensure_ascii=False))
            return
        text = draft.as_yaml(entities, f"the files in {source.name}")
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    todo = sum("TODO" in line.split("#")[0] for line in text.splitlines())
    err.print(f"wrote {escape(str(out))}" + (f"; {todo} TODO to replace before loading" if todo else ""))


def _json_value(value: object) -> object:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


# The population of a report: the dashboard sidebar's filters (each option repeatable).
POPULATION_OPTIONS = (
    ("--institution", "institutions"), ("--college", "colleges"), ("--major", "majors"),
    ("--class-level", "class_levels"), ("--industry", "industries"), ("--platform", "platforms"))


def population_options(command):  # noqa: ANN001, ANN201 - a click decorator
    for flag, field_name in reversed(POPULATION_OPTIONS):
        command = click.option(flag, field_name, multiple=True, metavar="VALUE",
                               help=f"Only these {field_name.replace('_', ' ')} (repeatable).")(command)
    command = click.option("--term-to", default=None, metavar="TERM", help="Up to this term (2025-fall).")(command)
    return click.option("--term-from", default=None, metavar="TERM", help="From this term (2025-spring).")(command)


def population_of(values: dict) -> dict:
    """The population options given, as the fields of Filters (lists for the repeatable ones)."""
    chosen = {name: list(values.pop(name)) for _, name in POPULATION_OPTIONS if values.get(name)}
    for _, name in POPULATION_OPTIONS:
        values.pop(name, None)
    for bound in ("term_from", "term_to"):
        if (value := values.pop(bound, None)) is not None:
            chosen[bound] = value
    return chosen


@main.command(context_settings={"max_content_width": 100})
@click.option("--by", "dimension", type=click.Choice(DIMENSIONS), metavar="DIMENSION",
              help=f"Group the outcome table by one of: {', '.join(DIMENSIONS)}.")
@click.option("--metric", type=click.Choice(["outcomes", "destinations"]), default=None,
              help="destinations: NACE first-destination rates, one row per cohort and participation.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True,
              help="The warehouse to read (MIO_DB, else data/warehouse.duckdb); opened read-only.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="table: for reading (stderr, rates in %); json and csv: the contract's keys and fractions "
                   "(stdout).")
@click.option("--min-cell", type=click.IntRange(min=0), default=DEFAULT_MIN_CELL, show_default=True,
              help="Suppress groups whose denominator is below this (0 shows all).")
@click.option("--adjusted", is_flag=True,
              help="With --by a project attribute (industry, function, pay_band, hours_band, remote, platform, "
                   "channel): add each group's offer rate adjusted for the mix of students, with its 95% interval "
                   "(adjusted_offer_rate, adjusted_ci_low, adjusted_ci_high). With --metric destinations: per "
                   "cohort, participants' career outcomes rate against comparable non-participants (docs/figures.md, "
                   "'Adjusted comparisons').")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the shareable outcomes report to this file instead: .pdf or .html (with the population "
                   "options below; K is at least 10).")
@spark_options("spark: read the lake (--lake) on Apache Spark; duckdb: read the warehouse (--db), or with --lake "
               "the lake's Parquet files, as `mio serve --lake` does.",
               "Read a lake that `mio load --engine spark` wrote, not --db: a path or file:// URI, or with the duckdb "
               "engine an object store's URI (s3://…).")
@population_options
def report(dimension: str | None, metric: str | None, db: Path, fmt: str, min_cell: int, adjusted: bool,
           out: Path | None, engine: str, lake: str | None, spark_remote: str | None, **population: object) -> None:
    """Print the outcome table by a dimension, or first-destination outcomes; or write the outcomes report.

    \b
    Columns: docs/data-contract.md §4 (outcome table) and §7 (first destinations).
    Exit codes: 0 printed; 1 no warehouse, or one from another version (load again); 2 wrong options.
    """
    chosen = population_of(population)
    if engine == "spark" and not lake:
        raise click.UsageError("--engine spark reads a lake: give --lake PATH")
    if engine != "spark" and spark_remote:
        raise click.UsageError("--spark-remote goes with --engine spark")
    if engine == "spark" and lake and is_remote(lake) and out is None and (spark_remote
                                                                          or os.environ.get("SPARK_REMOTE")):
        raise click.UsageError(f"--lake {lake}: with Spark Connect, Spark reads a lake from a folder the cluster "
                               "shares; report a lake in an object store with DuckDB (no --engine spark)")
    if out is not None and spark_remote:
        raise click.UsageError("--out reads the lake's files directly: no --spark-remote with it")
    if lake and (engine != "spark" or out is not None):
        engine, db = "duckdb", _lake_catalog(lake)  # DuckDB reads the lake's Parquet through its catalog
    if out is not None:
        _write_report(out, db, chosen, min_cell, dimension or metric or (adjusted or None))
        return
    if chosen:
        raise click.UsageError("the population options go with --out (the outcomes report)")
    if metric == "destinations" and dimension:
        raise click.UsageError("--by goes with the outcome table, not with --metric destinations")
    if metric != "destinations" and not dimension:
        raise click.UsageError("give --by DIMENSION or --metric destinations")
    if adjusted and metric != "destinations" and dimension not in PROJECT_ATTRIBUTES:
        raise click.UsageError("--adjusted goes with --metric destinations or --by a project attribute: "
                               + ", ".join(PROJECT_ATTRIBUTES))
    by = dimension or ""  # none with --metric destinations (checked above)
    with contextlib.ExitStack() as stack:
        if engine == "spark" and lake is not None and is_remote(lake):  # this machine's copy, at the store's version
            lake = _working_copy(_a_lake_there(lake), stack)[0]
        con = _open_lake(lake, spark_remote) if engine == "spark" and lake is not None else _open_current(db)
        rows: list[dict] | None
        try:
            if metric != "destinations" and not adjusted and fmt != "csv":  # the quick path: stored rows, no Polars
                from etl.metrics.stored import stored_outcome_table

                rows = stored_outcome_table(con, by, min_cell)
            else:
                rows = _computed(con, by, metric, adjusted, min_cell, fmt)
        finally:
            con.close()
    if rows is None:
        return
    if fmt == "json":
        click.echo(json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows], indent=2))
        return
    from etl import terminal

    if metric == "destinations" and adjusted:
        tables = [terminal.participation_table(rows)]
    elif metric == "destinations":
        tables = terminal.destination_tables(rows, min_cell)
    else:
        tables = terminal.outcome_tables(rows, by, min_cell)
        if adjusted:
            tables.append(terminal.adjusted_table(rows, by))
    for table in tables:
        err.print(table)
    if (note := terminal.footnote(rows, min_cell)) is not None:
        err.print(note, soft_wrap=False)


def _computed(con: Connection, dimension: str, metric: str | None, adjusted: bool, min_cell: int, fmt: str
              ) -> list[dict] | None:
    """The report's rows from the metrics layer's functions; CSV is written here (None comes back)."""
    from etl.metrics.outcomes import destinations_table, outcome_table

    if metric == "destinations" and adjusted:
        from etl.metrics.adjusted import participation_effects

        frame = participation_effects(con, min_cell=min_cell)
    elif metric == "destinations":
        frame = destinations_table(con, min_cell=min_cell)
    else:
        frame = outcome_table(con, dimension, min_cell=min_cell)
        if adjusted:
            from etl.metrics.adjusted import with_adjusted_rates

            frame = with_adjusted_rates(con, frame, dimension)
    if fmt == "csv":
        from etl.metrics.export import to_csv

        click.echo(to_csv(frame), nl=False)
        return None
    return frame.to_dicts()


def _open_current(db: Path) -> Connection:
    """The warehouse read-only, or exit 1 with the reason."""
    try:
        con = connect_read_only(db)
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    from etl.metrics.layout import format_version

    if not is_current(con, format_version()):
        con.close()
        err.print(f"[red]error:[/] {escape(OLD_FORMAT.format(db=db))}")
        sys.exit(1)
    return con


def _lake_catalog(lake: str) -> Path:
    """The lake's DuckDB catalog (views over its current version's Parquet, as `mio serve --lake` reads it), or exit 1
    when there is no lake, or its object store does not answer."""
    from etl.spark.lake import duckdb_catalog

    try:
        return duckdb_catalog(lake)
    except (FileNotFoundError, ValueError, StoreError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)


def _a_lake_there(uri: str) -> str:
    """`uri` when the object store holds a lake there; else exit 1 saying so (or that the store did not answer)."""
    from etl.spark.lake import RemoteLake

    try:
        there = RemoteLake(uri).exists()
    except (ValueError, StoreError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    if not there:
        err.print(f"[red]error:[/] no lake at {escape(uri)} (load one with mio load --engine spark)")
        sys.exit(1)
    return uri


def _open_lake(lake: str, remote: str | None) -> Connection:
    """The lake's current version on Spark, or exit 1 with the reason."""
    from etl.spark.lake import Lake
    from etl.spark.load import lake_connection

    if not Lake(lake).exists():
        err.print(f"[red]error:[/] no lake at {escape(lake)} (load one with mio load --engine spark)")
        sys.exit(1)
    return lake_connection(lake, spark=_spark(remote))


def _spark(remote: str | None):  # noqa: ANN202 - a SparkSession
    """A Spark session for --engine spark, or exit 1 saying what is missing (pyspark, or Java for local mode)."""
    from etl.spark.session import SparkUnavailable, spark_session

    try:
        return spark_session(remote)
    except SparkUnavailable as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)


def _write_report(out: Path, db: Path, population: dict, min_cell: int, other: object) -> None:
    """`mio report --out FILE`: the outcomes report as PDF or HTML, by the file's suffix."""
    if other:
        raise click.UsageError("--out writes the outcomes report: no --by, --metric or --adjusted with it")
    kind = out.suffix.lower().lstrip(".")
    if kind not in ("pdf", "html", "htm"):
        raise click.UsageError("--out names a .pdf or .html file")
    from etl.metrics.outcomes import Filters

    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in population.items()}
    filters = Filters(**values)
    con = _open_current(db)
    try:
        if kind == "pdf":
            from etl.metrics.pdf import outcomes_pdf

            content = outcomes_pdf(con, filters, min_cell)
        else:
            from etl.metrics.report import outcomes_report

            content = outcomes_report(con, filters, min_cell).encode("utf-8")
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(content)
    os.replace(tmp, out)
    err.print(f"wrote {escape(str(out))} ({len(content):,} bytes)")


@main.group()
def users() -> None:
    """Dashboard accounts: director, employer (bound to one employer_id) or student."""


USERS_OPTION = click.option("--users", "users_file", type=click.Path(dir_okay=False, path_type=Path),
                            default=None, help="The users file (default data/users.json, or MIO_USERS).")


def _store(users_file: Path | None):  # noqa: ANN202 - UserStore, imported lazily
    from etl.accounts import DEFAULT_USERS, UserStore

    return UserStore(users_file or DEFAULT_USERS)


@users.command("add")
@click.option("--username", required=True)
@click.option("--role", type=click.Choice(["director", "employer", "student"]), required=True)
@click.option("--employer-id", default=None, help="The employer an employer account sees (and only that one).")
@click.option("--institution", default=None,
              help="Bind a director to one institution of a shared warehouse: every page covers only its students.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True,
              help="Checked for the employer id when it exists.")
@USERS_OPTION
def users_add(username: str, role: str, employer_id: str | None, institution: str | None, db: Path,
              users_file: Path | None) -> None:
    """Add or replace an account. The password comes from standard input, or a prompt on a terminal."""
    if role == "employer" and db.exists():
        from etl.metrics.audience import employer_name

        con = connect_read_only(db)
        try:
            known = employer_id is not None and employer_name(con, employer_id) is not None
        finally:
            con.close()
        if not known:
            err.print(f"[red]error:[/] no employer {escape(repr(employer_id))} in {escape(str(db))}")
            sys.exit(1)
    if institution is not None and db.exists():
        con = connect_read_only(db)
        try:
            students = con.execute("select count(*) from students where institution = ?", [institution]).fetchall()
        finally:
            con.close()
        if not students[0][0]:
            err.print(f"[red]error:[/] no students of the institution {escape(repr(institution))} in {escape(str(db))}")
            sys.exit(1)
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        user = _store(users_file).add(username, role, password, employer_id, institution)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(1)
    bound = user.employer_id or user.institution
    err.print(f"added {escape(user.username)} ({user.role}{', ' + escape(bound) if bound else ''})")


@users.command("list")
@USERS_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def users_list(users_file: Path | None, fmt: str) -> None:
    """List accounts (never their passwords)."""
    store = _store(users_file)
    if fmt == "json":
        click.echo(json.dumps(store.as_dicts(), indent=2))
        return
    table = Table("username", "role", "employer_id", "institution")
    for user in store.list():
        table.add_row(escape(user.username), user.role, escape(user.employer_id or ""), escape(user.institution or ""))
    err.print(table)


@users.command("remove")
@click.option("--username", required=True)
@USERS_OPTION
def users_remove(username: str, users_file: Path | None) -> None:
    """Remove an account."""
    if not _store(users_file).remove(username):
        err.print(f"[red]error:[/] no account {username!r}")
        sys.exit(1)
    err.print(f"removed {username}")


@main.group()
def schedule() -> None:
    """Reports that go out on their own: the outcomes report, on a calendar, to a folder or by e-mail.

    \b
    mio schedule add NAME --every weekly --weekday monday --at 07:00 --to mailto:dean@example.edu
    mio schedule run        (from cron or a systemd timer: delivers what is due; docs/operations.md)
    """


SCHEDULES_OPTION = click.option("--schedules", "schedules_file", type=click.Path(dir_okay=False, path_type=Path),
                                default=None, help="The schedules file (default data/schedules.json, or "
                                                   "MIO_SCHEDULES).")


@schedule.command("add")
@click.argument("name")
@click.option("--every", type=click.Choice(["daily", "weekly", "monthly"]), required=True)
@click.option("--at", "at", default="07:00", show_default=True, help="HH:MM, the machine's local time.")
@click.option("--weekday", type=click.Choice(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                              "sunday"]), default=None, help="For --every weekly.")
@click.option("--day", type=click.IntRange(1, 28), default=None, help="For --every monthly: the day of the month.")
@click.option("--to", "to", required=True,
              help="A folder, or mailto:ADDRESS[,ADDRESS] (SMTP settings from MIO_SMTP_* in the environment).")
@click.option("--format", "formats", type=click.Choice(["pdf", "html"]), multiple=True,
              help="pdf, html, or both (the default).")
@click.option("--min-cell", type=click.IntRange(min=0), default=DEFAULT_MIN_CELL, show_default=True,
              help="K of the disclosure rule (never below 10 in a shared report).")
@population_options
@SCHEDULES_OPTION
def schedule_add(name: str, every: str, at: str, weekday: str | None, day: int | None, to: str,
                 formats: tuple[str, ...], min_cell: int, schedules_file: Path | None, **population: object) -> None:
    """Add a scheduled report."""
    from etl.schedule import FORMATS, Schedule, ScheduleStore

    if not to.startswith("mailto:"):
        to = str(Path(to).expanduser().resolve())
    try:
        added = ScheduleStore(schedules_file).add(Schedule(
            name=name, every=every, at=at, weekday=weekday, day=day, to=to, formats=formats or FORMATS,
            population=population_of(population), min_cell=min_cell))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    err.print(f"added {escape(added.name)}: {added.when()}, {', '.join(added.formats)} to {escape(added.to)}")


@schedule.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@SCHEDULES_OPTION
def schedule_list(fmt: str, schedules_file: Path | None) -> None:
    """List the scheduled reports."""
    from dataclasses import asdict

    from etl.schedule import ScheduleStore

    schedules = ScheduleStore(schedules_file).all()
    if fmt == "json":
        click.echo(json.dumps([asdict(s) for s in schedules], indent=2, ensure_ascii=False))
        return
    table = Table("name", "when", "formats", "to", "population")
    for item in schedules:
        population = "; ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in item.population.items())
        table.add_row(escape(item.name), item.when(), ", ".join(item.formats), escape(item.to),
                      escape(population or "everyone"))
    err.print(table)


@schedule.command("remove")
@click.argument("name")
@SCHEDULES_OPTION
def schedule_remove(name: str, schedules_file: Path | None) -> None:
    """Remove a scheduled report (its past deliveries stay in the warehouse's history)."""
    from etl.schedule import ScheduleStore

    if not ScheduleStore(schedules_file).remove(name):
        err.print(f"[red]error:[/] no schedule {escape(repr(name))}")
        sys.exit(1)
    err.print(f"removed {escape(name)}")


@schedule.command("run")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True)
@click.option("--now", "now", default=None, metavar="ISO-TIME",
              help="Act as if it were this time (for a test or a catch-up); default: now.")
@SCHEDULES_OPTION
def schedule_run(db: Path, now: str | None, schedules_file: Path | None) -> None:
    """Deliver every report that is due, and record each attempt in the warehouse.

    \b
    Exit codes: 0 every due report delivered (or none due); 1 a delivery failed after its retries (it stays due
    and the next run tries it again), or no warehouse.
    """
    from datetime import datetime

    from etl.schedule import ScheduleStore, run_due

    _open_current(db).close()
    try:
        moment = datetime.fromisoformat(now).astimezone() if now else None
    except ValueError:
        raise click.UsageError("--now takes an ISO time, such as 2026-12-01T07:30") from None
    results = run_due(db, ScheduleStore(schedules_file), moment, say=lambda line: err.print(escape(line)))
    failed = [r for r in results if r.status == "failed"]
    err.print(f"{len(results) - len(failed)} delivered, {len(failed)} failed" if results else "nothing due")
    if failed:
        sys.exit(1)


@schedule.command("history")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def schedule_history(db: Path, fmt: str) -> None:
    """Every delivery attempt the warehouse records, newest first."""
    from etl.schedule import history

    con = _open_current(db)
    try:
        rows = history(con)
    finally:
        con.close()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table("schedule", "due", "attempt", "status", "to", "error")
    for row in rows:
        table.add_row(escape(row["schedule"]), f"{row['slot']:%Y-%m-%d %H:%M} UTC", str(row["attempt"]),
                      row["status"], escape(row["destination"] or ""), escape(row["error"] or ""))
    err.print(table)


def _demo_accounts(db: Path) -> list[tuple[str, str, str | None, str]]:
    """One account per role on the demo data, with fresh random passwords."""
    import secrets

    con = connect_read_only(db)
    try:
        busiest = con.execute("select m.employer_id from micro_internships m group by 1 "
                              "order by count(*) desc, 1 limit 1").fetchall()[0][0]
    finally:
        con.close()
    store = _store(None)
    accounts = [("director", "director", None), ("employer", "employer", busiest), ("student", "student", None)]
    made = []
    for username, role, employer_id in accounts:
        password = secrets.token_urlsafe(9)
        store.add(username, role, password, employer_id)
        made.append((username, role, employer_id, password))
    return made


def _streamlit(db: Path, port: int) -> None:
    from dashboard.serve import serve
    from etl.accounts import DEFAULT_USERS

    env = {**os.environ, "MIO_DB": str(db.resolve()), "MIO_USERS": str(DEFAULT_USERS.resolve())}
    err.print(f"serving the dashboard on http://127.0.0.1:{port} (Ctrl+C to stop)")
    code = serve(port, env)
    sys.exit(0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code)


@main.command()
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--lake", default=None,
              help="Serve a lake that `mio load --engine spark` wrote (DuckDB reads its Parquet), not --db: a path, "
                   "a file:// URI or an object store's URI (s3://…).")
def serve(db: Path, port: int, lake: str | None) -> None:
    """Start the dashboard on 127.0.0.1."""
    if lake is not None:
        db = _lake_catalog(lake)
    if not db.exists():
        err.print(f"[red]error:[/] no warehouse at {db}; run `mio load --source DIR --db {db}` first")
        sys.exit(1)
    if lake is None or not is_remote(lake):
        _streamlit(db, port)
        return
    import threading

    from etl.spark.lake import follow

    # A load elsewhere moves the store's CURRENT: the catalog follows it while the dashboard runs.
    stop = threading.Event()
    seconds = float(os.environ.get("MIO_LAKE_POLL_SECONDS", "60"))
    threading.Thread(target=follow, args=(lake, seconds, stop), daemon=True, name="mio-lake-follower").start()
    try:
        _streamlit(db, port)
    finally:
        stop.set()


@main.command()
@click.option("--lake", required=True, help="The lake's folder (a path or file:// URI) that `mio load --engine spark` "
                                            "wrote.")
@click.option("--to", "uri", required=True, metavar="URI", help="The object store's folder: s3://bucket/lake.")
def publish(lake: str, uri: str) -> None:
    """Copy a lake's current version to an object store, its files first and CURRENT last, for
    `mio serve --lake URI` and `mio report --lake URI` to read there.

    \b
    Exit codes: 0 published; 1 no lake, or the store could not be written; 2 --to is not an object store's URI.
    """
    from etl.spark.lake import publish as copy_lake

    if not is_remote(uri):
        raise click.UsageError(f"--to {uri}: give an object store's URI (s3://bucket/lake)")
    try:
        version, files, size = copy_lake(lake.removeprefix("file://"), uri)
    except (FileNotFoundError, ValueError, OSError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    err.print(f"[green]published[/] version {version} to {escape(uri)}: {files} files, {size / 1e6:,.1f} MB, then "
              "CURRENT")


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--no-serve", is_flag=True, help="Generate and load only.")
def demo(port: int, no_serve: bool) -> None:
    """Generate the sample source (if absent), load it, and serve the dashboard."""
    from etl.generate import generate as run

    marker = DEMO_SOURCE / ".mio-demo"
    wanted = f"{DEMO_STUDENTS} students, seed {DEMO_SEED}\n"
    if not marker.exists() or marker.read_text() != wanted:  # absent, or made by a version with another size
        import shutil

        shutil.rmtree(DEMO_SOURCE, ignore_errors=True)
        with err.status(f"generating a sample of {DEMO_STUDENTS:,} students into {DEMO_SOURCE}"):
            run(DEMO_SOURCE, students=DEMO_STUDENTS, seed=DEMO_SEED)
        marker.write_text(wanted)
    result = _load_with_progress(DEMO_SOURCE, DEFAULT_DB)
    _print_load(result)
    if not result.ok:
        err.print(f"[red]rejected:[/] {result.reason}")
        sys.exit(1)
    table = Table("username", "role", "password", title="demo accounts (new passwords at every `mio demo`)")
    for username, role, employer_id, password in _demo_accounts(DEFAULT_DB):
        table.add_row(username, f"{role} {employer_id or ''}".strip(), password)
    err.print(table)
    if not no_serve:
        _streamlit(DEFAULT_DB, port)


if __name__ == "__main__":
    main()
