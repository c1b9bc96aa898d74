"""The Spark engine's warehouse: a Parquet lake, one folder per load and a pointer file switched last.

    LAKE/CURRENT                      the version readers see, e.g. `versions/000002` (replaced in one rename)
    LAKE/versions/000002/<table>/     every table of the warehouse as Parquet files
    LAKE/_staging/<process>/          a running load's staged rows, removed when it ends

A load writes a whole new version beside the current one and switches CURRENT last, so a killed job leaves the
previous version whole (its half-written folder is removed by the next load). A load writes a folder that the driver
and every executor reach under the same path: local disk in local mode, a shared file system on a cluster.

A lake copied to an object store (s3://, s3a://, or any other scheme an fsspec file system is installed for) is read
there by DuckDB, for `mio serve --lake` and `mio report --lake` (RemoteLake): the catalog of views is kept on this
machine, and DuckDB reads the Parquet files through fsspec. A Spark load into such a lake writes a working copy on
this machine (working_copy: the store's current version, fetched) and publishes the new version from it; a report
on Spark reads that copy."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from etl.stores import asking, copy_down, is_remote, object_store, store_path
from etl.warehouse import register_object_store, remote_marker

POINTER = "CURRENT"
IN_STORE = ".in-store"  # a working copy of a lake in a store: the store's version that the copy is


def lake_path(uri: str | Path) -> Path:
    text = str(uri)
    if text.startswith("file://"):
        text = text.removeprefix("file://")
    elif is_remote(text):
        raise ValueError(f"{uri}: a load writes the lake to a folder that the driver and executors share (a path or "
                         "file:// URI); then `mio publish --lake PATH --to URI` copies it to an object store")
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
        from etl.ingest.load import process_running

        parent = self.root / "_staging"
        if parent.is_dir():
            for leftover in parent.iterdir():
                if not process_running(leftover.name):
                    shutil.rmtree(leftover, ignore_errors=True)
        folder = parent / str(os.getpid())
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder


class RemoteLake:
    """A lake in an object store, for reading: its pointer and its current version's tables, as URIs."""

    def __init__(self, uri: str) -> None:
        self.fs = object_store(uri)
        self.root = uri.rstrip("/")

    def current(self) -> str | None:
        try:
            with asking(self.root):
                pointer = self.fs.cat_file(store_path(f"{self.root}/{POINTER}"))
        except FileNotFoundError:
            return None
        return f"{self.root}/{pointer.decode().strip()}"

    def tables(self, version: str | None = None) -> dict[str, str]:
        folder = version or self.current()
        if folder is None:
            return {}
        try:
            with asking(self.root):
                entries = self.fs.ls(store_path(folder), detail=True)
        except FileNotFoundError:
            return {}
        names = sorted(entry["name"].rstrip("/").rsplit("/", 1)[-1] for entry in entries
                       if entry["type"] == "directory")
        return {name: f"{folder}/{name}" for name in names}

    def exists(self) -> bool:
        return self.current() is not None


_ANY = object()


def publish(lake: str | Path, uri: str, since: str | None | object = _ANY) -> tuple[str, int, int]:
    """Copy the current version of the lake at `lake` (a folder) to the object store at `uri`: every file of the
    version first, then CURRENT, so that a reader there never sees a pointer to a version that is not all there.
    Returns the version's name, and how many files and bytes were copied.

    `since`: the version the store's CURRENT named when the load began (None: no lake there yet). The copy is refused
    (RemoteLakeMoved) when CURRENT names another by now, or when the store already holds a folder for this version
    (another load publishing, or one that stopped half-way): two loads never mix their files."""
    found = Lake(lake)
    current = found.current()
    if current is None:
        raise FileNotFoundError(f"no lake at {found.root} (load one with mio load --engine spark)")
    if not is_remote(uri):
        raise ValueError(f"{uri}: publish to an object store's URI (s3://bucket/lake)")
    fs = object_store(uri)
    target = store_path(uri)
    folder = current.relative_to(found.root).as_posix()
    if since is not _ANY:
        there = RemoteLake(uri)
        now = there.current()
        if (now.rsplit("/", 1)[-1] if now else None) != since:
            raise RemoteLakeMoved(f"{uri}: its CURRENT moved from {since or 'nothing'} to "
                                  f"{now.rsplit('/', 1)[-1] if now else 'nothing'} during this load (another load "
                                  "published); nothing was published: load again")
        with asking(uri):
            taken = fs.exists(f"{target}/{folder}")
        if taken:
            raise RemoteLakeMoved(f"{uri}: {folder} is already there, though CURRENT does not name it (another load "
                                  "is publishing it, or one stopped half-way); nothing was published. When no other "
                                  "load runs, remove that folder and load again")
    files = [path for path in sorted(current.rglob("*")) if path.is_file() and not path.name.startswith(".")]
    with asking(uri):
        for path in files:  # Hadoop's .crc checksum files stay behind: nothing reads them
            fs.put_file(str(path), f"{target}/{path.relative_to(found.root).as_posix()}")
        fs.pipe_file(f"{target}/{POINTER}", (found.root / POINTER).read_bytes())
    return current.name, len(files), sum(path.stat().st_size for path in files)


class RemoteLakeMoved(RuntimeError):
    """A Spark load into a lake in an object store found the lake changed by another load before it could publish."""


@contextlib.contextmanager
def working_copy(uri: str) -> Iterator[tuple[Path, str | None]]:
    """This machine's copy of the lake at `uri` (an object store) for a Spark load to write (catalog_cache(), beside
    the lake's catalog), brought to the version the store's CURRENT names: its files are fetched unless the copy
    already has that version (this machine published it). Yields the copy's folder and that version's name (None
    when there is no lake there yet), holding the copy for the block: a second load on this machine waits."""
    from etl.ingest.load import writer_lock

    there = RemoteLake(uri)
    there.current()  # the store answers (StoreError if not) before anything is written on this machine
    work = cached_for(there.root) / "work"
    with writer_lock(work):
        yield _brought_to_current(there, work)


def publish_working_copy(work: Path, uri: str, since: str | None) -> tuple[str, int, int]:
    """Publish the version a load wrote in the working copy `work` of the lake at `uri` (publish, with `since`); then
    the copy is that version of the store's, and keeps no other (the store has them all)."""
    version, files, size = publish(work, uri, since)
    (work / IN_STORE).write_text(f"{version}\n")
    for child in (work / "versions").iterdir():
        if child.name != version:
            shutil.rmtree(child, ignore_errors=True)
    return version, files, size


def _brought_to_current(there: RemoteLake, work: Path) -> tuple[Path, str | None]:
    uri = there.root
    current = there.current()
    version = current.rsplit("/", 1)[-1] if current else None
    mine = Lake(work).current() if work.is_dir() else None
    marker = work / IN_STORE
    if (mine is not None and mine.name == version and mine.is_dir() and marker.is_file()
            and marker.read_text().strip() == version):
        return work, version  # the copy is the store's version, not one of its own that was never published
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if current is not None:
        with asking(uri):
            names = there.fs.find(store_path(current))
        copy_down(there.fs, uri, names, work)
        Lake(work).switch(work / "versions" / version)  # type: ignore[operator]
        marker.write_text(f"{version}\n")
    return work, version


def open_lake(uri: str | Path) -> Lake | RemoteLake:
    """The lake at `uri` for reading: a folder (a path or file:// URI) or an object store."""
    return RemoteLake(str(uri)) if is_remote(uri) else Lake(uri)


CATALOG = "_duckdb/current.duckdb"


def catalog_cache() -> Path:
    """Where the catalogs of remote lakes are kept on this machine: MIO_LAKE_CACHE, else ~/.cache/mio/lakes."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mio" / "lakes"
    return Path(os.environ.get("MIO_LAKE_CACHE") or default)


def cached_for(uri: str) -> Path:
    """The folder of catalog_cache() that holds what this machine keeps of the remote lake at `uri`: its catalog,
    and the working copy of a Spark load into it."""
    return catalog_cache() / hashlib.sha256(uri.rstrip("/").encode()).hexdigest()[:16]


def duckdb_catalog(uri: str | Path) -> Path:
    """A small DuckDB file of views over the current version's Parquet tables, so that the dashboard (and any
    DuckDB reader) serves a lake that Spark built: `LAKE/_duckdb/current.duckdb`, rebuilt and swapped in one rename
    when the lake has moved to another version (a running dashboard sees the new file and reconnects). A remote
    lake's catalog is kept in catalog_cache(), with the lake's URI beside it (register_object_store)."""
    import duckdb

    lake = open_lake(uri)
    current = lake.current()
    if current is None:
        raise FileNotFoundError(f"no lake at {lake.root} (load one with mio load --engine spark)")
    version = str(current).rstrip("/").rsplit("/", 1)[-1]
    if isinstance(lake, RemoteLake):
        target = cached_for(lake.root) / "current.duckdb"
    else:
        target = lake.root / CATALOG
    if target.exists():
        con = duckdb.connect(str(target), read_only=True)
        try:
            if con.sql("select version from lake_version").fetchall() == [(version,)]:
                return target
        except duckdb.Error:
            pass
        finally:
            con.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(lake, RemoteLake):
        remote_marker(target).write_text(lake.root + "\n")
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    con = duckdb.connect(str(temporary))
    try:
        register_object_store(con, target)
        for name, folder in lake.tables(current).items():  # type: ignore[arg-type]
            files = f"{folder}/*.parquet".replace("'", "''")
            con.execute(f'create view "{name}" as select * from read_parquet(\'{files}\')')
        con.execute("create table lake_version as select ? as version", [version])
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(temporary, target)
    return target


def follow(uri: str, seconds: float, stop: threading.Event) -> None:
    """Keep a remote lake's catalog on the version its CURRENT names, looking every `seconds` until `stop` is set:
    a load elsewhere (a cluster's) moves CURRENT, and a dashboard serving the catalog sees the new file and
    reconnects. A look that fails (the store unreachable) is told on stderr, and the catalog stays as it was."""
    while not stop.wait(seconds):
        try:
            duckdb_catalog(uri)
        except Exception as exc:  # noqa: BLE001 - any failure of one look leaves the served version as it is
            print(f"mio: could not look at {uri}: {exc}", file=sys.stderr)
