"""`mio load`: validate a source folder and load it into the warehouse, all or nothing (docs/data-contract.md §2).

The warehouse is written by copying it to a temporary file beside it, loading into the copy in one transaction, and
renaming the copy over the original. A crash or kill at any instant leaves either the old file or the new one, and
readers (the dashboard) keep working on the old file until they reopen it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from etl.ingest.derive import build_derived
from etl.ingest.mapping import DEFAULT_NAME, Mapping, apply, check_headers, read_mapping
from etl.ingest.read import LINE, FileRejected, RawFile, cast, contract_columns, discover, read_raw
from etl.ingest.rules import ExpectationResult, check_frame
from etl.ingest.schema import ENTITIES, LOAD_ORDER, Entity, ensure_schema
from etl.warehouse import connect_read_only, has_table

QUARANTINE_SCHEMA = {"entity": pl.String, "file": pl.String, "line": pl.Int64, "column": pl.String,
                     "source": pl.String, "rule": pl.String, "value": pl.String, "record": pl.String}
# progress(message, steps done, steps in all): the CLI draws it as a progress bar.
Progress = Callable[[str, int, int], None]
# Tables built from the derived ones in the load's transaction by a layer above ingest (the metrics layer's stored
# outcome tables): etl.pipeline passes them, so that the loader never imports the metrics layer.
Builder = Callable[[duckdb.DuckDBPyConnection], None]


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


@dataclass
class _Staged:
    entity: Entity
    report: FileReport
    typed: pl.DataFrame
    raw: pl.DataFrame  # LINE and each contract column's value as the original file has it
    issues: list[pl.DataFrame] = field(default_factory=list)
    expectations: list[ExpectationResult] = field(default_factory=list)
    origin: pl.DataFrame | None = None  # mapped rows: LINE -> file, line in the original file
    records: pl.DataFrame | None = None  # mapped rows: LINE -> the original row as JSON
    sources: dict[str, str] = field(default_factory=dict)  # mapped: target column -> its source column or template

    _split: tuple[int, pl.DataFrame, pl.DataFrame] | None = None  # (issues seen, good rows, bad rows)

    def bad_lines(self) -> pl.Series:
        if not self.issues:
            return pl.Series("line", [], dtype=pl.Int64)
        return pl.concat(self.issues)["line"].unique()

    def _rows(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        # Good and bad rows are asked for often (every reference check); split once per change of the issues.
        if self._split is None or self._split[0] != len(self.issues):
            if self.issues:
                bad = pl.col(LINE).is_in(self.bad_lines().implode())
                self._split = (len(self.issues), self.typed.filter(~bad), self.typed.filter(bad))
            else:
                self._split = (0, self.typed, self.typed.head(0))
        return self._split[1], self._split[2]

    def good(self) -> pl.DataFrame:
        return self._rows()[0]

    def bad(self) -> pl.DataFrame:
        return self._rows()[1]

    def add_issues(self, rows: pl.DataFrame, column: str, rule: str) -> None:
        """Quarantine `rows` (a slice of typed) for breaking `rule` on `column`."""
        if rows.height:
            self.issues.append(
                rows.select(
                    pl.col(LINE).alias("line"),
                    pl.lit(column).alias("column"),
                    pl.lit(rule).alias("rule"),
                    pl.col(column).cast(pl.String).alias("value"),
                )
            )


def _sha256(path: Path) -> str:
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


def _read_file(entity: Entity, path: Path) -> tuple[_Staged, RawFile]:
    raw = read_raw(path, entity)
    report = FileReport(entity.name, path.name, _sha256(path), raw.frame.height, warnings=raw.warnings)
    return _Staged(entity, report, raw.frame, raw.frame), raw


def _read_mapped(mapping: Mapping, entity: Entity, files: list[Path]) -> tuple[_Staged, RawFile]:
    """An entity built by the mapping from its source files, to be validated like a file in the contract's shape."""
    mapped = apply(mapping, entity.name, files)
    frame = mapped.frame
    # Rows the mapping makes identical in every column are one record, not a repeated key: a posting list names
    # its organisation on every posting, and each organisation is one employer.
    first = frame.select(pl.struct(pl.exclude(LINE)).is_first_distinct()).to_series()
    duplicates = frame.height - int(first.sum())
    frame = frame.filter(first)
    names = ", ".join(p.name for p in files)
    digest = files[0] if len(files) == 1 else None
    sha = _sha256(digest) if digest else hashlib.sha256("".join(_sha256(p) for p in files).encode()).hexdigest()
    warnings = list(mapped.warnings)
    if duplicates:
        warnings.append(f"{names}: {duplicates:,} rows the mapping makes identical to an earlier one were taken "
                        f"once ({entity.name})")
    report = FileReport(entity.name, names, sha, frame.height, warnings=warnings)
    raw = RawFile(entity, files[0], contract_columns(frame, entity), warnings)
    staged = _Staged(entity, report, raw.frame, mapped.raw, origin=mapped.origin, records=mapped.records,
                     sources=mapped.sources)
    return staged, raw


def _cast(staged: _Staged, raw: RawFile) -> tuple[_Staged, pl.DataFrame]:
    """Cast to the contract's types (Polars: beside the Great Expectations import); the values that did not parse."""
    staged.typed, type_issues = cast(raw)
    return staged, type_issues


VALIDATORS = ("sql", "gx")  # the suites compiled to SQL (etl.ingest.rules), or Great Expectations itself on pandas


def _validated(staged: _Staged, type_issues: pl.DataFrame, validator: str) -> _Staged:
    """Run the entity's expectation suite on the cast rows; failures, and values that did not parse, become issues."""
    if validator == "gx":
        from etl.ingest.validate import validate

        gx_issues, results = validate(staged.entity.name, staged.typed)
    else:
        gx_issues, results = check_frame(staged.entity.name, staged.typed)
    if type_issues.height:
        staged.issues.append(type_issues)
        # A value that did not parse is null to the suite; its not-null failure would only repeat the type issue.
        gx_issues = gx_issues.join(type_issues.select("line", "column"), on=["line", "column"], how="anti")
    if gx_issues.height:
        staged.issues.append(gx_issues)
    staged.expectations = results
    return staged


class _Existing:
    """Keys (and the few attributes references need) already in the warehouse."""

    def __init__(self, db: Path) -> None:
        self.frames: dict[str, pl.DataFrame] = {}
        if not db.exists():
            return
        con = connect_read_only(db)
        try:
            for name in ("students", "employers", "micro_internships"):
                if has_table(con, name):
                    key = ENTITIES[name].key[0]
                    self.frames[name] = con.sql(f"select {key} from {name}").pl()
            if has_table(con, "placements"):
                self.frames["placements"] = con.sql("select placement_id, application_id from placements").pl()
            if has_table(con, "applications"):
                self.frames["applications"] = con.sql(
                    "select application_id, status, applied_at from applications"
                ).pl()
        finally:
            con.close()

    def is_empty(self) -> bool:
        return not any(f.height for f in self.frames.values())


def _valid_keys(name: str, staged: dict[str, _Staged], existing: _Existing) -> pl.Series:
    """Keys a reference may point at: the warehouse's and this source's good rows, less this source's bad ones."""
    key = ENTITIES[name].key[0]
    parts = []
    if name in existing.frames:
        parts.append(existing.frames[name][key])
    if name in staged:
        parts.append(staged[name].good()[key])
        bad = staged[name].bad()[key].unique()
        keys = pl.concat(parts).unique() if parts else pl.Series(key, [], dtype=pl.String)
        return keys.filter(~keys.is_in(bad.implode()))
    return pl.concat(parts).unique() if parts else pl.Series(key, [], dtype=pl.String)


def _check_references(staged: dict[str, _Staged], existing: _Existing) -> None:
    """Quarantine rows that point at a missing or quarantined row, in dependency order so that it cascades."""
    for name in LOAD_ORDER:
        if name not in staged:
            continue
        item = staged[name]
        for ref in item.entity.references:
            valid = _valid_keys(ref.entity, staged, existing)
            good = item.good()
            orphans = good.filter(pl.col(ref.column).is_not_null() & ~pl.col(ref.column).is_in(valid.implode()))
            item.add_issues(orphans, ref.column, f"references {ref.entity}.{ref.key}: missing or quarantined")
        if name == "placements":
            _check_placements(item, staged, existing)


def _check_placements(item: _Staged, staged: dict[str, _Staged], existing: _Existing) -> None:
    """A placement's application must be `selected`, it cannot start before the application's date, and it cannot
    already be another placement's in the warehouse (application_id is unique across loads)."""
    if "placements" in existing.frames:
        held = existing.frames["placements"].rename({"placement_id": "_held_by"})
        clash = item.good().join(held, on="application_id", how="inner").filter(
            pl.col("_held_by") != pl.col("placement_id"))
        item.add_issues(clash, "application_id", "unique across loads")
    columns = ["application_id", "status", "applied_at"]
    # Only the applications these placements name (a few per cent of them) are deduplicated and joined.
    named = pl.col("application_id").is_in(item.good()["application_id"].drop_nulls().implode())
    frames = []
    if "applications" in staged:
        frames.append(staged["applications"].good().select(columns).filter(named))
    if "applications" in existing.frames:
        frames.append(existing.frames["applications"].select(columns).filter(named))
    if not frames:
        return
    # The source's own row wins over the warehouse's older one.
    applications = pl.concat(frames).unique(subset="application_id", keep="first", maintain_order=True)
    joined = item.good().join(
        applications.rename({"status": "_app_status"}), on="application_id", how="inner"
    )
    item.add_issues(
        joined.filter(pl.col("_app_status") != "selected"), "application_id", "application status must be selected"
    )
    item.add_issues(
        joined.filter(pl.col("started_on") < pl.col("applied_at").dt.date()),
        "started_on",
        "started_on >= the application's applied_at date",
    )


def _quarantine_frame(staged: dict[str, _Staged]) -> pl.DataFrame:
    """Every issue with its original file and line, target column, source column, value as written and record."""
    frames = []
    for item in staged.values():
        if not item.issues:
            continue
        issues = _with_raw_values(pl.concat(item.issues).unique(maintain_order=True), item.raw)
        if item.records is not None:
            records = item.records.rename({LINE: "line"})
        else:
            records = item.raw.select(pl.col(LINE).alias("line"),
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
def _writer_lock(db: Path) -> Iterator[None]:
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


def _upsert(con: duckdb.DuckDBPyConnection, entity: Entity, good: pl.DataFrame) -> None:
    staged_rows = good.select(entity.column_names)
    con.register("staged_rows", staged_rows.to_arrow())
    try:
        match = " and ".join(f"s.{k} is not distinct from t.{k}" for k in entity.key)
        con.execute(f"delete from {entity.name} t where exists (select 1 from staged_rows s where {match})")
        con.execute(f"insert into {entity.name} by name select * from staged_rows")
    finally:
        con.unregister("staged_rows")


def _write(db: Path, source: Path, staged: dict[str, _Staged], quarantine: pl.DataFrame,
           started: datetime, progress: Callable[[str], None], builders: tuple[Builder, ...],
           mapping: Mapping | None) -> int:
    with _rewriting(db) as con:
        ensure_schema(con)
        con.execute("begin transaction")
        for name in LOAD_ORDER:
            if name in staged:
                progress(f"writing {name}")
                _upsert(con, staged[name].entity, staged[name].good())
        load_id = int(con.execute("select coalesce(max(load_id), 0) + 1 from load_history").fetchall()[0][0])
        reports = [s.report for s in staged.values()]
        con.execute(
            "insert into load_history by name select ? as load_id, ? as started_at, ? as finished_at, "
            "? as source, 'loaded' as status, ? as rows_read, ? as rows_loaded, ? as rows_quarantined, "
            "? as mapping_file, ? as mapping_sha256, ? as mapping",
            [load_id, started, datetime.now(UTC).replace(tzinfo=None), str(source.resolve()),
             sum(r.rows_read for r in reports), sum(r.rows_loaded for r in reports),
             sum(r.rows_quarantined for r in reports),
             str(mapping.path.resolve()) if mapping else None, mapping.sha256 if mapping else None,
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
        progress("building derived tables")
        build_derived(con)
        for build in builders:
            build(con)
        con.execute("commit")
    return load_id


@contextlib.contextmanager
def _rewriting(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a copy of `db` (the caller holds the writer lock). When the block ends without
    error, the copy is checkpointed and replaces `db` in one rename; otherwise `db` stays exactly as it was. Readers
    (the dashboard) keep their read-only connections to the old file meanwhile."""
    tmp = db.with_name(f"{db.name}.loading-{os.getpid()}")
    for leftover in db.parent.glob(f"{db.name}.loading-*"):
        leftover.unlink()  # a load that was killed; we hold the lock, so it is not running
    try:
        if db.exists():
            shutil.copyfile(db, tmp)
            wal = db.with_name(db.name + ".wal")
            if wal.exists():
                shutil.copyfile(wal, tmp.with_name(tmp.name + ".wal"))
        con = duckdb.connect(str(tmp))
        try:
            yield con
            con.execute("checkpoint")
        finally:
            con.close()
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
    with _writer_lock(db), _rewriting(db) as con:
        ensure_schema(con)
        con.execute("begin transaction")
        yield con
        con.execute("commit")


def load_source(source: Path, db: Path, max_bad_rows: float = 0.05, progress: Progress | None = None,
                builders: tuple[Builder, ...] = (), mapping: Path | None = None, dry_run: bool = False,
                validator: str = "sql") -> LoadResult:
    """Validate `source` and load it into `db`; a rejected source leaves `db` exactly as it was.

    `mapping`: a mapping file (default: `mapping.yaml` in the source, when there is one); a mistake in it raises
    MappingError before anything is read. `dry_run`: everything but the write. `builders` run after the derived
    tables, in the same transaction (see Builder). `validator`: "sql" runs the expectation suites compiled to SQL,
    "gx" runs them through Great Expectations on pandas; both give the same quarantine."""
    if validator not in VALIDATORS:
        raise ValueError(f"validator must be one of {', '.join(VALIDATORS)}, not {validator!r}")
    report = progress or (lambda _msg, _done, _total: None)
    steps = {"done": 0, "total": 1}

    def say(message: str) -> None:
        report(message, steps["done"], steps["total"])
        steps["done"] += 1

    clock = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    staged: dict[str, _Staged] = {}
    existed = db.exists()
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

    try:
        mapped = check_headers(plan, source) if plan is not None else {}
        used = {p for paths in mapped.values() for p in paths}
        files, notes = discover(source, used, set(mapped)) if plan is not None else discover(source)
        if not files and not mapped:
            raise FileRejected(str(source), "", "the mapping reads no file and no file is named after an entity")
        # Each entity is read, validated and written; plus references, derived tables and the final step. Every
        # file is read before the first is validated; Great Expectations, when it validates, is imported meanwhile.
        steps["total"] = 3 * (len(files) + len(mapped)) + 3
        if validator == "gx":
            from etl.ingest.validate import warm_up

            warm_up()
        read: dict[str, tuple[_Staged, pl.DataFrame]] = {}
        for name in LOAD_ORDER:
            if name in mapped:
                say(f"reading {name} from {', '.join(p.name for p in mapped[name])}")
                read[name] = _cast(*_read_mapped(plan, ENTITIES[name], mapped[name]))  # type: ignore[arg-type]
            elif name in files:
                say(f"reading {files[name].name}")
                read[name] = _cast(*_read_file(ENTITIES[name], files[name]))
        for name, (item, type_issues) in read.items():
            say(f"validating {item.report.file}")
            staged[name] = _validated(item, type_issues, validator)
    except FileRejected as err:
        return result("rejected", str(err))

    with _writer_lock(db):
        existing = _Existing(db)
        say("checking references")
        _check_references(staged, existing)
        for item in staged.values():
            item.report.rows_quarantined = item.bad_lines().len()
        quarantine = _quarantine_frame(staged)
        too_bad = [s.report for s in staged.values() if s.report.rows_quarantined > max_bad_rows * s.report.rows_read]
        if too_bad:
            worst = ", ".join(
                f"{r.file} ({r.rows_quarantined} of {r.rows_read} rows)" for r in too_bad
            )
            return result("rejected", f"too many bad rows (over {max_bad_rows:.0%} of a file): {worst}", quarantine,
                          -1 if dry_run else None)
        if dry_run:
            return result("checked", None, quarantine)
        load_id = _write(db, source, staged, quarantine, started, say, builders, plan)
        say("loaded")
    return result("loaded", None, quarantine, load_id)
