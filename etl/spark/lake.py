"""The Spark engine's warehouse: a Parquet lake, one folder per load and a pointer file switched last.

    LAKE/CURRENT                      the version readers see, e.g. `versions/000002` (replaced in one rename)
    LAKE/versions/000002/<table>/     every table of the warehouse as Parquet files
    LAKE/_staging/<process>/          a running load's staged rows, removed when it ends

A load writes a whole new version beside the current one and switches CURRENT last, so a killed job leaves the
previous version whole (its half-written folder is removed by the next load). The lake is a folder that the driver
and every executor reach under the same path: local disk in local mode, a shared file system on a cluster."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

POINTER = "CURRENT"


def lake_path(uri: str | Path) -> Path:
    text = str(uri)
    if text.startswith("file://"):
        text = text.removeprefix("file://")
    elif "://" in text:
        raise ValueError(f"{uri}: the lake must be a folder the driver and executors share (a path or file:// URI)")
    return Path(text).resolve()


class Lake:
    def __init__(self, uri: str | Path) -> None:
        self.root = lake_path(uri)

    @property
    def versions(self) -> Path:
        return self.root / "versions"

    def current(self) -> Path | None:
        """The folder of the version readers see, or None before the first load."""
        pointer = self.root / POINTER
        if not pointer.is_file():
            return None
        return self.root / pointer.read_text().strip()

    def tables(self, version: Path | None = None) -> dict[str, Path]:
        """Each table of a version (the current one by default) and its folder."""
        folder = version or self.current()
        if folder is None or not folder.is_dir():
            return {}
        return {child.name: child for child in sorted(folder.iterdir()) if child.is_dir()}

    def exists(self) -> bool:
        return self.current() is not None

    def new_version(self) -> Path:
        """A new, empty version folder after every one there is; unfinished ones of killed loads are removed."""
        current = self.current()
        self.versions.mkdir(parents=True, exist_ok=True)
        numbers = []
        for child in self.versions.iterdir():
            if current is None or child.resolve() != current.resolve():
                if current is None or int(child.name) > int(current.name):
                    shutil.rmtree(child, ignore_errors=True)  # never pointed at: a load that did not finish
                    continue
            numbers.append(int(child.name))
        folder = self.versions / f"{max(numbers, default=0) + 1:06d}"
        folder.mkdir()
        return folder

    def switch(self, version: Path) -> None:
        """Point readers at `version`: written beside, synced, renamed over the pointer."""
        temporary = self.root / f".{POINTER}.{os.getpid()}"
        with open(temporary, "w") as handle:
            handle.write(str(version.relative_to(self.root)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.root / POINTER)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def staging(self) -> Path:
        """This load's staging folder; those of loads that were killed (their process is gone) are removed."""
        from etl.ingest.load import _running

        parent = self.root / "_staging"
        if parent.is_dir():
            for leftover in parent.iterdir():
                if not _running(leftover.name):
                    shutil.rmtree(leftover, ignore_errors=True)
        folder = parent / str(os.getpid())
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder


CATALOG = "_duckdb/current.duckdb"


def duckdb_catalog(uri: str | Path) -> Path:
    """A small DuckDB file of views over the current version's Parquet tables, so that the dashboard (and any
    DuckDB reader) serves a lake that Spark built: `LAKE/_duckdb/current.duckdb`, rebuilt and swapped in one rename
    when the lake has moved to another version (a running dashboard sees the new file and reconnects)."""
    import duckdb

    lake = Lake(uri)
    current = lake.current()
    if current is None:
        raise FileNotFoundError(f"no lake at {lake.root} (load one with mio load --engine spark)")
    target = lake.root / CATALOG
    if target.exists():
        con = duckdb.connect(str(target), read_only=True)
        try:
            if con.sql("select version from lake_version").fetchall() == [(current.name,)]:
                return target
        except duckdb.Error:
            pass
        finally:
            con.close()
    target.parent.mkdir(exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    con = duckdb.connect(str(temporary))
    try:
        for name, folder in lake.tables(current).items():
            files = str(folder / "*.parquet").replace("'", "''")
            con.execute(f'create view "{name}" as select * from read_parquet(\'{files}\')')
        con.execute("create table lake_version as select ? as version", [current.name])
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(temporary, target)
    return target
