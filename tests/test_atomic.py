"""A load killed at any moment (SIGKILL) leaves the warehouse readable and exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from etl.generate import generate
from etl.pipeline import load
from tests.conftest import HAND, file_digest, write_source


def _has_open(pid: int, path: str) -> bool:
    """Whether process `pid` has the file `path` open."""
    try:
        return any(os.readlink(fd) == path for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # it ended, or a descriptor closed while listed
        return False


@pytest.mark.slow
@pytest.mark.parametrize("when", ["while reading", "while writing"])
def test_killed_load_leaves_previous_state(tmp_path: Path, when: str) -> None:
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "hand", HAND), db).ok
    before = file_digest(db)
    big = tmp_path / "big"
    generate(big, students=20000, seed=3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl.cli", "load", "--source", str(big), "--db", str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        if when == "while writing":
            # The copy being written appears beside the warehouse; kill the loader once it exists.
            while not list(tmp_path.glob("w.duckdb.loading-*")) and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            time.sleep(0.2)
        else:
            # Kill it while it reads applications.csv (the longest read): once the file is open in the loader.
            applications = str((big / "applications.csv").resolve())
            while not _has_open(proc.pid, applications) and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.005)
        assert proc.poll() is None, "the load finished before it could be killed; use a bigger source"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert file_digest(db) == before
    con = duckdb.connect(str(db), read_only=True)
    assert con.sql("select count(*) from students").fetchall() == [(7,)]
    assert con.sql("select count(*) from load_history").fetchall() == [(1,)]
    con.close()
    # The next load cleans up the killed one's leftovers and succeeds.
    result = load(write_source(tmp_path / "hand", HAND), db)
    assert result.ok
    assert not list(tmp_path.glob("w.duckdb.loading-*"))
    assert not list(tmp_path.glob(".w.duckdb.spill-*"))  # the staging database's folder, if it spilled
