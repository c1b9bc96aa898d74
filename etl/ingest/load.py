"""`mio load`: validate a source folder and load it into the warehouse, all or nothing (docs/data-contract.md §2).

The warehouse is written by copying it to a temporary file beside it, loading into the copy in one transaction, and
renaming the copy over the original. A crash or kill at any instant leaves either the old file or the new one, and
readers (the dashboard) keep working on the old file until they reopen it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb
import polars as pl

from etl.ingest.derive import build_derived
from etl.ingest.mapping import DEFAULT_NAME, Mapping, apply, check_headers, read_mapping
from etl.ingest.read import LINE, FileRejected, RawFile, cast, contract_columns, discover, raw_chunks
from etl.ingest.rules import ExpectationResult, check
from etl.ingest.schema import ENTITIES, LOAD_ORDER, TEXT, Column, Entity, ensure_schema

QUARANTINE_SCHEMA = {"entity": pl.String, "file": pl.String, "line": pl.Int64, "column": pl.String,
                     "source": pl.String, "rule": pl.String, "value": pl.String, "record": pl.String}
# progress(message, steps done, steps in all): the CLI draws it as a progress bar.
Progress = Callable[[str, int, int], None]
# Tables built from the derived ones in the load's transaction by a layer above ingest (the metrics layer's stored
# outcome tables): etl.pipeline passes them, so that the loader never imports the metrics layer.
Builder = Callable[[duckdb.DuckDBPyConnection], None]


@dataclass(frozen=True)
class Origin:
    """Where a load's source and mapping came from, as the load history names them: the folder, or the object
    store's URI that it was copied from (and the mapping file's own name there, when it came with the source)."""
    source: str
    mapping_file: str | None

    @staticmethod
    def of(source: Path, mapping: Mapping | None, origin: str | None) -> Origin:
        """`origin`: the URI that the folder `source` is a copy of, or None when `source` is the source itself."""
        path = mapping.path.resolve() if mapping else None
        if origin is None or path is None or not path.is_relative_to(source.resolve()):
            return Origin(origin or str(source.resolve()), str(path) if path else None)
        return Origin(origin, f"{origin.rstrip('/')}/{path.relative_to(source.resolve()).as_posix()}")


@dataclass
class FileReport:
    entity: str
    file: str
    sha256: str
    rows_read: int
    rows_quarantined: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return self.rows_read - self.rows_quarantined


@dataclass
class LoadResult:
    status: str  # "loaded", "checked" (a dry run that would load) or "rejected"
    files: list[FileReport]
    quarantine: pl.DataFrame
    reason: str | None = None
    load_id: int | None = None
    seconds: float = 0.0
    mapping: Path | None = None  # the mapping file the load went through
    warehouse_existed: bool = True  # False: a rejected first load created nothing
    warnings: list[str] = field(default_factory=list)  # about the source as a whole (files left aside)
    expectations: list[ExpectationResult] = field(default_factory=list)  # one summary per expectation and file

    @property
    def ok(self) -> bool:
        return self.status in ("loaded", "checked")

    @property
    def dry_run(self) -> bool:
        return self.status == "checked" or (self.status == "rejected" and self.load_id == -1)


S = "memory.main"  # the staging database: the load's own in-memory DuckDB, spilling to disk past its limit
# Memory the staging database may hold before it spills to a folder beside the warehouse (MIO_LOAD_MEMORY).
LOAD_MEMORY = os.environ.get("MIO_LOAD_MEMORY", "1GB")


# The loader's interface to the Spark engine (etl/spark), which stages, checks and writes through run_load with a
# target of its own: Staged, quoted, process_running, counted_before, issues_added and writer_lock.


def quoted(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class Staging(Protocol):
    """Where a load stages its source: the DuckDB engine's in-memory database (_Staging), or the Spark engine's
    Parquet folders (etl/spark/load.py's SparkStaging). `con` runs the checks' SQL on the staged tables."""

    con: Any
    changes: dict[str, int]  # entity -> how many times issues were added to it

    def append(self, table: str, frame: pl.DataFrame) -> None: ...

    def add_issues(self, entity: str, issues: pl.DataFrame) -> None: ...

    def add_failing(self, entity: str, query: str) -> None: ...

    def stage_blocks(self, entity: Entity, path: Path) -> int | None: ...

    def frame(self, table: str) -> Any: ...  # noqa: ANN401 - a Polars frame, or a Spark DataFrame

    def count(self, query: str) -> int: ...

    def release(self) -> None: ...

    def close(self) -> None: ...


class Existing(Protocol):
    """The data as it was before the load, for the references: the warehouse's tables, or the lake's."""

    con: Any
    counted: dict[str, int]  # rows of each table, counted once per load

    def has(self, name: str) -> bool: ...

    def rows(self, name: str) -> int: ...

    def close(self) -> None: ...


StagingT = TypeVar("StagingT", bound=Staging)


class LoadTarget(Protocol[StagingT]):
    """Where a load lands: the DuckDB warehouse file (_Warehouse), or the Spark engine's lake (LakeTarget). It
    stages the source, gives the data as it was for the references, and writes a checked load, all or nothing."""

    def exists(self) -> bool: ...

    def staging(self) -> StagingT: ...

    def lock(self) -> contextlib.AbstractContextManager: ...

    def existing(self, stage: StagingT) -> Existing: ...

    def write(self, stage: StagingT, origin: Origin, staged: dict[str, Staged], quarantine: pl.DataFrame,
              started: datetime, progress: Callable[[str], None], builders: tuple[Builder, ...],
              mapping: Mapping | None) -> int: ...


@dataclass
class Staged:
    """One entity of the source, staged: its typed rows in `typed_<entity>` and its text in `raw_<entity>` (LINE and
    each contract column's value as the file has it), both in the staging database; its issues in `issues`."""

    entity: Entity
    report: FileReport
    expectations: list[ExpectationResult] = field(default_factory=list)
    origin: pl.DataFrame | None = None  # mapped rows: LINE -> file, line in the original file
    records: pl.DataFrame | None = None  # mapped rows: LINE -> the original row as JSON
    sources: dict[str, str] = field(default_factory=dict)  # mapped: target column -> its source column or template
    mapped_raw: pl.DataFrame | None = None  # mapped rows: the values as the original files have them
    stage: Staging | None = None  # where it is staged
    _clean_since: tuple[int, bool] | None = field(default=None, init=False, repr=False)  # (stage.changes, clean)

    @property
    def name(self) -> str:
        return self.entity.name

    @property
    def typed(self) -> str:
        return f"{S}.typed_{self.name}"

    def raw(self) -> str:
        """LINE and every contract column as the file has it: a text column is its own typed value (the cast leaves
        text as it is), the others are kept as text in `raw_<entity>`."""
        columns = ", ".join(f"t.{c.name}" if _as_written(c) else f"r.{c.name}" for c in self.entity.columns)
        return (f"(select t.{LINE}, {columns} from {self.typed} t "
                f"join {S}.raw_{self.name} r on r.{LINE} = t.{LINE})")

    def bad_lines(self) -> str:
        return f"(select distinct line from {S}.issues where entity = {quoted(self.name)})"

    def _clean(self) -> bool:
        """No issue yet: every staged row is good, and no statement needs to look the issues up. Asked of the
        staged issues once, and again only after issues were added to this entity (each asking is a query: on the
        Spark engine, a job)."""
        assert self.stage is not None
        changes = self.stage.changes.get(self.name, 0)
        if self._clean_since is None or self._clean_since[0] != changes:
            clean = not self.stage.count(f"(select 1 from {S}.issues where entity = {quoted(self.name)} limit 1)")
            self._clean_since = (changes, clean)
        return self._clean_since[1]

    def good(self) -> str:
        """The rows with no issue so far (a subquery: it sees every issue added before it runs)."""
        if self._clean():
            return self.typed
        return f"(select * from {self.typed} t anti join {self.bad_lines()} b on t.{LINE} = b.line)"

    def bad(self) -> str:
        if self._clean():
            return f"(select * from {self.typed} where false)"
        return f"(select * from {self.typed} t semi join {self.bad_lines()} b on t.{LINE} = b.line)"


def process_running(pid: str) -> bool:
    """Whether a process with this id runs (loads stage side by side, each in a folder named after its process)."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def counted_before(existing: Existing, name: str, table: str) -> int:
    """The rows of table `name` of the warehouse (or the lake) as it was before this load: counted once per load."""
    if name not in existing.counted:
        existing.counted[name] = int(existing.con.sql(f"select count(*) from {table}").fetchall()[0][0]) \
            if existing.has(name) else 0
    return existing.counted[name]


def issues_added(stage: Staging, entity: str) -> None:
    """Issues were added to `entity` in `stage` (either engine's staging): its rows are asked again if clean."""
    stage.changes[entity] = stage.changes.get(entity, 0) + 1


class _Staging:
    """The load's working database: an in-memory DuckDB that spills to a folder beside the warehouse, so that a
    source of any size is read, cast, checked and written in bounded memory."""

    def __init__(self, db: Path) -> None:
        for leftover in db.parent.glob(f".{db.name}.spill-*"):  # a load that was killed leaves its spilled blocks
            if not process_running(leftover.name.rsplit("-", 1)[1]):
                shutil.rmtree(leftover, ignore_errors=True)
        self.spill = db.parent / f".{db.name}.spill-{os.getpid()}"
        self.con = duckdb.connect(config={"memory_limit": LOAD_MEMORY, "temp_directory": str(self.spill)})
        self.con.execute("create sequence issue_order")
        self.con.execute("create table issues (n bigint default nextval('issue_order'), entity varchar, "
                         "line bigint, \"column\" varchar, rule varchar, value varchar)")
        self.made: set[str] = set()
        self.changes: dict[str, int] = {}  # entity -> how many times issues were added to it

    def append(self, table: str, frame: pl.DataFrame) -> None:
        self.con.register("piece", frame.to_arrow())
        try:
            if table in self.made:
                self.con.execute(f"insert into {table} select * from piece")
            else:
                self.con.execute(f"create table {table} as select * from piece")
                self.made.add(table)
        finally:
            self.con.unregister("piece")

    def add_issues(self, entity: str, issues: pl.DataFrame) -> None:
        if issues.height:
            self.con.register("found", issues.select("line", "column", "rule", "value").to_arrow())
            try:
                self.con.execute(f"insert into {S}.issues (entity, line, \"column\", rule, value) "
                                 f"select {quoted(entity)}, line, \"column\", rule, value from found")
            finally:
                self.con.unregister("found")
            issues_added(self, entity)

    def stage_blocks(self, entity: Entity, path: Path) -> int | None:
        """Files are read by this process (the Spark engine's staging reads large ones on its executors)."""
        return None

    def frame(self, table: str) -> pl.DataFrame:
        """A staged table, whole, for Great Expectations on pandas."""
        return self.con.sql(f"select * from {table}").pl()

    def add_failing(self, entity: str, query: str) -> None:
        """Add the rows of `query` (line, column, rule, value) as issues of `entity`."""
        added = self.con.execute(f"insert into {S}.issues (entity, line, \"column\", rule, value) "
                                 f"select {quoted(entity)}, * from ({query})").fetchall()[0][0]
        if added:
            issues_added(self, entity)

    def count(self, query: str) -> int:
        return int(self.con.sql(f"select count(*) from {query}").fetchall()[0][0])

    def release(self) -> None:
        """Drop the staged rows and issues (once written): their memory and spilled blocks go back."""
        for table in [*self.made, f"{S}.issues"]:
            self.con.execute(f"drop table if exists {table}")
        self.made.clear()

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.spill, ignore_errors=True)


def sha256(path: Path) -> str:
    """A file's SHA-256, read a megabyte at a time (the load history keeps it; `mio watch` compares with it)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _with_raw_values(issues: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Show the offending value as the file has it (GX sees cast values: 6 may come back as 6.0)."""
    single = issues.filter(pl.col("column").is_in(raw.columns) & ~pl.col("rule").str.contains(" >= "))
    if single.is_empty():
        return issues
    long = raw.unpivot(index=LINE, on=single["column"].unique().to_list(), variable_name="column",
                       value_name="raw_value").rename({LINE: "line"})
    replaced = single.join(long, on=["line", "column"], how="left").with_columns(
        pl.col("raw_value").alias("value")).drop("raw_value")
    rest = issues.join(single.select("line", "column", "rule"), on=["line", "column", "rule"], how="anti")
    return pl.concat([replaced.select(issues.columns), rest])


def _as_written(column: Column) -> bool:
    """A plain text column without a default: the cast leaves its value exactly as the file has it."""
    return column.type == TEXT and column.default is None


def untyped(piece: pl.DataFrame, entity: Entity) -> pl.DataFrame:
    """The text the cast changes (every column but plain text), kept for the quarantine's values and records."""
    return piece.select(LINE, *[c.name for c in entity.columns if not _as_written(c)])


def ahead(items: Iterator[Any]) -> Iterator[Any]:
    """`items` in order, the next one made on a thread of its own while the caller works on the one before: a
    file's next piece is split and cast by Polars while DuckDB appends the last (both let go of the GIL). An error
    is raised where the item it stopped would have come; at most two items are held at once."""
    made: queue.Queue = queue.Queue(maxsize=1)
    done = object()
    stop = threading.Event()

    def make() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        made.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            made.put((done, None))
        except BaseException as err:  # noqa: BLE001 - handed to the caller, who raises it
            made.put((done, err))

    worker = threading.Thread(target=make, name="mio-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, err = made.get()
            if item is done:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            made.get_nowait()  # a maker waiting to hand over one more item sees the stop
        worker.join()


def _stage_file(stage: Staging, entity: Entity, path: Path) -> Staged:
    """Read, cast and stage one file a piece at a time; values that do not parse become issues."""
    warnings, pieces = raw_chunks(path, entity)  # the header is checked, and the first piece read, here
    digest = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mio-sha256")
    hashed = digest.submit(sha256, path)  # hashlib lets go of the GIL: the file is hashed while it is read
    digest.shutdown(wait=False)
    rows = stage.stage_blocks(entity, path)
    if rows is None:  # this target stages what is read here, a piece at a time
        rows = 0
        cast_pieces = ((untyped(piece, entity), *cast(RawFile(entity, path, piece, []))) for piece in pieces)
        for raw, typed, type_issues in ahead(cast_pieces):
            stage.append(f"{S}.raw_{entity.name}", raw)
            stage.append(f"{S}.typed_{entity.name}", typed)
            stage.add_issues(entity.name, type_issues)
            rows += typed.height
    if rows == 0:
        warnings.append(f"{path.name}: a header and no rows: an empty table, nothing loaded")
    return Staged(entity, FileReport(entity.name, path.name, hashed.result(), rows, warnings=warnings),
                  stage=stage)


def _stage_mapped(stage: Staging, mapping: Mapping, entity: Entity, files: list[Path]) -> Staged:
    """An entity built by the mapping from its source files, staged like a file in the contract's shape."""
    mapped = apply(mapping, entity.name, files)
    frame = mapped.frame
    # Rows the mapping makes identical in every column are one record, not a repeated key: a posting list names
    # its organisation on every posting, and each organisation is one employer.
    first = frame.select(pl.struct(pl.exclude(LINE)).is_first_distinct()).to_series()
    duplicates = frame.height - int(first.sum())
    frame = frame.filter(first)
    names = ", ".join(p.name for p in files)
    digest = files[0] if len(files) == 1 else None
    sha = sha256(digest) if digest else hashlib.sha256("".join(sha256(p) for p in files).encode()).hexdigest()
    warnings = list(mapped.warnings)
    if duplicates:
        warnings.append(f"{names}: {duplicates:,} rows the mapping makes identical to an earlier one were taken "
                        f"once ({entity.name})")
    report = FileReport(entity.name, names, sha, frame.height, warnings=warnings)
    text = contract_columns(frame, entity)
    typed, type_issues = cast(RawFile(entity, files[0], text, warnings))
    stage.append(f"{S}.raw_{entity.name}", untyped(text, entity))
    stage.append(f"{S}.typed_{entity.name}", typed)
    stage.add_issues(entity.name, type_issues)
    return Staged(entity, report, origin=mapped.origin, records=mapped.records, sources=mapped.sources, stage=stage,
                  mapped_raw=mapped.raw)


VALIDATORS = ("sql", "gx")  # the suites compiled to SQL (etl.ingest.rules), or Great Expectations itself on pandas


def _validate(stage: Staging, item: Staged, validator: str) -> None:
    """Run the entity's expectation suite on the staged rows; its failures become issues, except where a value did
    not parse (null to the suite, its failure would only repeat the type issue)."""
    name = item.name
    if validator == "gx":
        from etl.ingest.validate import validate

        failures, item.expectations = validate(name, stage.frame(item.typed))
    else:
        types = {c.name: c.type for c in item.entity.columns}
        failures, item.expectations = check(stage.con, name, item.typed, types)
    if failures.height:
        stage.con.register("failures", failures.to_arrow())
        try:
            stage.add_failing(name, f"select f.* from failures f anti join (select line, \"column\" from {S}.issues "
                                    f"where entity = {quoted(name)}) t "
                                    f"on f.line = t.line and f.\"column\" = t.\"column\"")
        finally:
            stage.con.unregister("failures")


class _Existing:
    """The warehouse as it is, attached read-only to the staging database as `e` for the references."""

    def __init__(self, stage: _Staging, db: Path) -> None:
        self.con = stage.con
        self.counted: dict[str, int] = {}
        self.tables: set[str] = set()
        if db.exists():
            self.con.execute(f"attach {quoted(str(db))} as e (read_only)")
            self.tables = {r[0] for r in self.con.sql(
                "select table_name from duckdb_tables() where database_name = 'e'").fetchall()}

    def has(self, name: str) -> bool:
        return name in self.tables

    def close(self) -> None:
        if self.tables or self.con.sql("select count(*) from duckdb_databases() where database_name = 'e'"
                                       ).fetchall()[0][0]:
            self.con.execute("detach e")


    def rows(self, name: str) -> int:
        return counted_before(self, name, f"e.main.{name}")


# A reference looks up only the keys its rows name when they are fewer than this share of the rows pointed at.
NAMED_KEYS_SHARE = 0.25


def _valid_keys(name: str, staged: dict[str, Staged], existing: Existing, named: str | None = None) -> str:
    """Keys a reference may point at: the warehouse's and this source's good rows, less this source's bad ones.

    `named`: a query of the keys the referencing rows name, when they are far fewer than the rows they point at
    (ten million applications, a few hundred thousand placements): only those keys are looked up, with the small
    side as the hash table, and the answer is the same."""
    key = ENTITIES[name].key[0]
    only = f" where {key} in {named}" if named else ""
    parts = []
    if existing.has(name):
        parts.append(f"select {key} as k from e.main.{name}{only}")
    if name in staged:
        parts.append(f"select {key} as k from {staged[name].good()}{only}")
    if not parts:
        return "(select null::varchar as k where false)"
    keys = " union all ".join(parts)
    if name in staged:
        keys = f"({keys}) except (select {key} from {staged[name].bad()} where {key} is not null)"
    return f"({keys})"


def _few(item: Staged, name: str, staged: dict[str, Staged], existing: Existing) -> bool:
    """Whether `item`'s rows are fewer than NAMED_KEYS_SHARE of the rows of `name` they point at."""
    pointed_at = existing.rows(name) + (staged[name].report.rows_read if name in staged else 0)
    return item.report.rows_read < NAMED_KEYS_SHARE * pointed_at


def _check_references(stage: Staging, staged: dict[str, Staged], existing: Existing) -> None:
    """Quarantine rows that point at a missing or quarantined row, in dependency order so that it cascades."""
    for name in LOAD_ORDER:
        if name not in staged:
            continue
        item = staged[name]
        for ref in item.entity.references:
            named = f"(select {ref.column} from {item.good()})" if _few(item, ref.entity, staged, existing) else None
            valid = _valid_keys(ref.entity, staged, existing, named)
            rule = f"references {ref.entity}.{ref.key}: missing or quarantined"
            stage.add_failing(name, f"select g.{LINE}, {quoted(ref.column)}, {quoted(rule)}, g.{ref.column}::varchar "
                                    f"from {item.good()} g anti join {valid} v on g.{ref.column} = v.k "
                                    f"where g.{ref.column} is not null")
        if name == "placements":
            _check_placements(stage, item, staged, existing)


def _check_placements(stage: Staging, item: Staged, staged: dict[str, Staged], existing: Existing) -> None:
    """A placement's application must be `selected`, it cannot start before the application's date, and it cannot
    already be another placement's in the warehouse (application_id is unique across loads)."""
    if existing.has("placements"):
        stage.add_failing("placements", f"select g.{LINE}, 'application_id', 'unique across loads', "
                                        f"g.application_id from {item.good()} g join e.main.placements h "
                                        f"on g.application_id = h.application_id "
                                        f"where h.placement_id <> g.placement_id")
    parts = []
    named = (f"application_id in (select application_id from {item.good()})"
             if _few(item, "applications", staged, existing) else "true")
    if "applications" in staged:
        parts.append(f"select application_id, status, applied_at from {staged['applications'].good()} "
                     f"where {named}")
    if existing.has("applications"):
        # The source's own row wins over the warehouse's older one.
        ours = (f"anti join (select application_id from {staged['applications'].good()} where {named}) o "
                f"using (application_id)" if "applications" in staged else "")
        parts.append(f"select application_id, status, applied_at from e.main.applications {ours} where {named}")
    if not parts:
        return
    applications = " union all ".join(parts)
    joined = f"{item.good()} g join ({applications}) a on g.application_id = a.application_id"
    # One statement, so that both rules see the same rows (those left after the clash above).
    stage.add_failing("placements", f"select g.{LINE}, 'application_id', 'application status must be selected', "
                                    f"g.application_id from {joined} where a.status <> 'selected' union all "
                                    f"select g.{LINE}, 'started_on', 'started_on >= the application''s applied_at "
                                    f"date', g.started_on::varchar from {joined} "
                                    f"where g.started_on < a.applied_at::date")


def _count_quarantined(stage: Staging, staged: dict[str, Staged]) -> None:
    """Each file's quarantined rows: the lines with an issue, counted for every entity in one statement (on the
    Spark engine, one job rather than one per file)."""
    counted = dict(stage.con.sql(f"select entity, count(distinct line) from {S}.issues group by entity").fetchall())
    for item in staged.values():
        item.report.rows_quarantined = int(counted.get(item.name, 0))


def _quarantine_frame(stage: Staging, staged: dict[str, Staged]) -> pl.DataFrame:
    """Every issue with its original file and line, target column, source column, value as written and record.
    Only the quarantined rows come back from the staging database; the issues of every entity in one statement."""
    frames = []
    every = stage.con.sql(f"select entity, line, \"column\", rule, value from {S}.issues order by n").pl()
    for item in staged.values():
        issues = every.filter(pl.col("entity") == item.name).drop("entity")
        if not issues.height:
            continue
        issues = issues.unique(maintain_order=True)
        bad = stage.con.sql(f"select r.* from {item.raw()} r semi join {item.bad_lines()} b on r.{LINE} = b.line"
                            ).pl()
        issues = _with_raw_values(issues, item.mapped_raw if item.mapped_raw is not None else bad)
        if item.records is not None:
            records = item.records.rename({LINE: "line"})
        else:
            records = bad.select(pl.col(LINE).alias("line"),
                                 pl.struct(item.entity.column_names).struct.json_encode().alias("record"))
        if item.origin is not None:  # mapped: the row number becomes the original file and line
            where = item.origin.rename({LINE: "row", "line": "original_line"})
            issues = issues.rename({"line": "row"}).join(where, on="row", how="left")
            records = records.rename({"line": "row"})
            issues = issues.join(records, on="row", how="left").with_columns(pl.col("original_line").alias("line"))
        else:
            issues = issues.join(records, on="line", how="left").with_columns(pl.lit(item.report.file).alias("file"))
        sources = item.sources
        frames.append(issues.select(
            pl.lit(item.entity.name).alias("entity"), "file", "line", "column",
            pl.col("column").replace_strict(sources, default=pl.col("column")).alias("source")
            if sources else pl.col("column").alias("source"),
            "rule", "value", "record"))
    if not frames:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return pl.concat(frames).sort("entity", "file", "line")


@contextlib.contextmanager
def writer_lock(db: Path) -> Iterator[None]:
    """One writer at a time per warehouse (a second `mio load` waits); the lock file is removed afterwards.

    The holder removes the file before unlocking, so a waiter may wake up holding a lock on a removed file: it
    checks that the path still names the file it locked, and otherwise takes the lock again."""
    db.parent.mkdir(parents=True, exist_ok=True)
    path = db.with_name(db.name + ".lock")
    while True:
        handle = open(path, "w")  # noqa: SIM115 - closed below, after the lock is released
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _upsert(con: duckdb.DuckDBPyConnection, item: Staged) -> None:
    """Replace the warehouse's rows that share a key with the source's good rows, then add those rows."""
    entity = item.entity
    columns = ", ".join(entity.column_names)
    if con.sql(f"select count(*) from (select 1 from {entity.name} limit 1)").fetchall()[0][0]:
        keys = ", ".join(entity.key)
        match = " and ".join(f"s.{k} is not distinct from t.{k}" for k in entity.key)
        con.execute(f"delete from {entity.name} t where exists (select 1 from (select {keys} from {item.good()}) s "
                    f"where {match})")
    con.execute(f"insert into {entity.name} by name select {columns} from {item.good()}")


def _write(db: Path, stage: _Staging, origin: Origin, staged: dict[str, Staged], quarantine: pl.DataFrame,
           started: datetime, progress: Callable[[str], None], builders: tuple[Builder, ...],
           mapping: Mapping | None) -> int:
    with _rewriting(db, into=stage.con) as con:
        ensure_schema(con)
        con.execute("begin transaction")
        for name in LOAD_ORDER:
            if name in staged:
                progress(f"writing {name}")
                _upsert(con, staged[name])
        load_id = int(con.execute("select coalesce(max(load_id), 0) + 1 from load_history").fetchall()[0][0])
        reports = [s.report for s in staged.values()]
        con.execute(
            "insert into load_history by name select ? as load_id, ? as started_at, ? as finished_at, "
            "? as source, 'loaded' as status, ? as rows_read, ? as rows_loaded, ? as rows_quarantined, "
            "? as mapping_file, ? as mapping_sha256, ? as mapping",
            [load_id, started, datetime.now(UTC).replace(tzinfo=None), origin.source,
             sum(r.rows_read for r in reports), sum(r.rows_loaded for r in reports),
             sum(r.rows_quarantined for r in reports),
             origin.mapping_file, mapping.sha256 if mapping else None,
             mapping.text if mapping else None],
        )
        con.executemany(
            "insert into load_files values (?, ?, ?, ?, ?, ?, ?, ?)",
            [[load_id, r.entity, r.file, r.sha256, r.rows_read, r.rows_loaded, r.rows_quarantined,
              "\n".join(r.warnings) or None] for r in reports],
        )
        if quarantine.height:
            con.register("quarantine_rows", quarantine.to_arrow())
            con.execute(
                "insert into quarantine by name select ? as load_id, entity, file, line, \"column\" as "
                "column_name, source as source_column, rule, value, record from quarantine_rows", [load_id]
            )
            con.unregister("quarantine_rows")
        results = [e for s in staged.values() for e in s.expectations]
        if results:
            con.executemany(
                "insert into expectation_results values (?, ?, ?, ?, ?, ?)",
                [[load_id, e.entity, e.expectation, e.column, e.success, e.unexpected_count] for e in results],
            )
        # The copy is all or nothing by its rename, not by one transaction: the staged rows are written, so the
        # staging database gives its memory back to the derived tables (thirty million applications need it).
        con.execute("commit")
        stage.release()
        progress("building derived tables")
        con.execute("begin transaction")
        build_derived(con)
        for build in builders:
            build(con)
        con.execute("commit")
    return load_id


@contextlib.contextmanager
def _rewriting(db: Path, into: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a copy of `db` (the caller holds the writer lock). When the block ends without
    error, the copy is checkpointed and replaces `db` in one rename; otherwise `db` stays exactly as it was. Readers
    (the dashboard) keep their read-only connections to the old file meanwhile.

    `into`: attach the copy to this connection (as its default database, `w`) instead of opening one, so that the
    block reads the load's staging database and writes the warehouse in one transaction."""
    tmp = db.with_name(f"{db.name}.loading-{os.getpid()}")
    for leftover in db.parent.glob(f"{db.name}.loading-*"):
        leftover.unlink()  # a load that was killed; we hold the lock, so it is not running
    try:
        if db.exists():
            shutil.copyfile(db, tmp)
            wal = db.with_name(db.name + ".wal")
            if wal.exists():
                shutil.copyfile(wal, tmp.with_name(tmp.name + ".wal"))
        if into is None:
            con = duckdb.connect(str(tmp))
            try:
                yield con
                con.execute("checkpoint")
            finally:
                con.close()
        else:
            into.execute(f"attach {quoted(str(tmp))} as w")
            into.execute("use w")
            try:
                yield into
                into.execute("checkpoint w")
            finally:
                with contextlib.suppress(duckdb.Error):
                    into.execute("rollback")  # after an error inside the block; nothing to roll back otherwise
                into.execute("use memory")
                into.execute("detach w")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, db)
        stale_wal = db.with_name(db.name + ".wal")
        if stale_wal.exists():
            stale_wal.unlink()  # checkpointed into the new file; an old WAL must not be replayed onto it
        dir_fd = os.open(db.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        for path in (tmp, tmp.with_name(tmp.name + ".wal")):
            if path.exists():
                path.unlink()


@contextlib.contextmanager
def amend(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Write to a loaded warehouse beside the loads, one writer at a time and atomically (the bookkeeping that is
    not a load, such as the deliveries of scheduled reports): the block's writes land whole, or not at all."""
    if not db.exists():
        raise FileNotFoundError(f"no warehouse at {db}")
    with writer_lock(db), _rewriting(db) as con:
        ensure_schema(con)
        con.execute("begin transaction")
        yield con
        con.execute("commit")


class _Warehouse:
    """Where a load lands: the DuckDB warehouse file `db` (the Spark engine's lake is another: etl/spark/lake.py).
    A target stages the source, gives the data as it is for the references, and writes a checked load."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def exists(self) -> bool:
        return self.db.exists()

    def staging(self) -> _Staging:
        self.db.parent.mkdir(parents=True, exist_ok=True)
        return _Staging(self.db)

    def lock(self) -> contextlib.AbstractContextManager:
        return writer_lock(self.db)

    def existing(self, stage: _Staging) -> _Existing:
        return _Existing(stage, self.db)

    def write(self, stage: _Staging, origin: Origin, staged: dict[str, Staged], quarantine: pl.DataFrame,
              started: datetime, progress: Callable[[str], None], builders: tuple[Builder, ...],
              mapping: Mapping | None) -> int:
        return _write(self.db, stage, origin, staged, quarantine, started, progress, builders, mapping)


def load_source(source: Path, db: Path, max_bad_rows: float = 0.05, progress: Progress | None = None,
                builders: tuple[Builder, ...] = (), mapping: Path | None = None, dry_run: bool = False,
                validator: str = "sql", origin: str | Origin | None = None) -> LoadResult:
    """Validate `source` and load it into `db`; a rejected source leaves `db` exactly as it was.

    `mapping`: a mapping file (default: `mapping.yaml` in the source, when there is one); a mistake in it raises
    MappingError before anything is read. `dry_run`: everything but the write. `builders` run after the derived
    tables, in the same transaction (see Builder). `validator`: "sql" runs the expectation suites compiled to SQL,
    "gx" runs them through Great Expectations on pandas; both give the same quarantine. `origin`: where the source
    came from, for the load history, when `source` is a copy of it: its URI, or the Origin to record as it is
    (default: `source` itself)."""
    return run_load(source, _Warehouse(db), max_bad_rows, progress, builders, mapping, dry_run, validator, origin)


def run_load(source: Path, target: LoadTarget[StagingT], max_bad_rows: float = 0.05, progress: Progress | None = None,
             builders: tuple[Builder, ...] = (), mapping: Path | None = None, dry_run: bool = False,
             validator: str = "sql", origin: str | Origin | None = None) -> LoadResult:
    """load_source into any target (the warehouse file, or the Spark engine's lake): the same reading, checks and
    quarantine; the target stages, looks up and writes."""
    if validator not in VALIDATORS:
        raise ValueError(f"validator must be one of {', '.join(VALIDATORS)}, not {validator!r}")
    report = progress or (lambda _msg, _done, _total: None)
    steps = {"done": 0, "total": 1}

    def say(message: str) -> None:
        report(message, steps["done"], steps["total"])
        steps["done"] += 1

    clock = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    staged: dict[str, Staged] = {}
    existed = target.exists()
    if mapping is None and (source / DEFAULT_NAME).is_file():
        mapping = source / DEFAULT_NAME
    plan = read_mapping(mapping) if mapping is not None else None
    notes: list[str] = []

    def result(status: str, reason: str | None = None, quarantine: pl.DataFrame | None = None,
               load_id: int | None = None) -> LoadResult:
        return LoadResult(status, [s.report for s in staged.values()],
                          quarantine if quarantine is not None else pl.DataFrame(schema=QUARANTINE_SCHEMA), reason,
                          load_id, time.perf_counter() - clock, mapping, existed, notes,
                          [e for s in staged.values() for e in s.expectations])

    stage: StagingT | None = None
    try:
        mapped = check_headers(plan, source) if plan is not None else {}
        used = {p for paths in mapped.values() for p in paths}
        files, notes = discover(source, used, set(mapped)) if plan is not None else discover(source)
        if not files and not mapped:
            raise FileRejected(str(source), "", "the mapping reads no file and no file is named after an entity")
        # Each entity is read, validated and written; plus references, derived tables and the final step. Every
        # file is read before the first is validated; Great Expectations, when it validates, is imported meanwhile.
        steps["total"] = 3 * (len(files) + len(mapped)) + 3 + getattr(target, "extra_steps", 0)
        if validator == "gx":
            from etl.ingest.validate import warm_up

            warm_up()
        stage = target.staging()
        for name in LOAD_ORDER:
            if name in mapped:
                say(f"reading {name} from {', '.join(p.name for p in mapped[name])}")
                staged[name] = _stage_mapped(stage, plan, ENTITIES[name], mapped[name])  # type: ignore[arg-type]
            elif name in files:
                say(f"reading {files[name].name}")
                staged[name] = _stage_file(stage, ENTITIES[name], files[name])
        for item in staged.values():
            say(f"validating {item.report.file}")
            _validate(stage, item, validator)
    except FileRejected as err:
        if stage is not None:
            stage.close()
        return result("rejected", str(err))

    try:
        with target.lock():
            existing = target.existing(stage)
            say("checking references")
            _check_references(stage, staged, existing)
            existing.close()
            _count_quarantined(stage, staged)
            quarantine = _quarantine_frame(stage, staged)
            too_bad = [s.report for s in staged.values()
                       if s.report.rows_quarantined > max_bad_rows * s.report.rows_read]
            if too_bad:
                worst = ", ".join(
                    f"{r.file} ({r.rows_quarantined} of {r.rows_read} rows)" for r in too_bad
                )
                return result("rejected", f"too many bad rows (over {max_bad_rows:.0%} of a file): {worst}",
                              quarantine, -1 if dry_run else None)
            if dry_run:
                return result("checked", None, quarantine)
            named = origin if isinstance(origin, Origin) else Origin.of(source, plan, origin)
            load_id = target.write(stage, named, staged, quarantine, started, say, builders, plan)
            say("loaded")
        return result("loaded", None, quarantine, load_id)
    finally:
        stage.close()
