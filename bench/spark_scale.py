"""How the Spark engine's load scales against the DuckDB engine's, step by step (docs/scale.md).

    python -m bench.spark_scale SOURCE WORK [--engine duckdb|spark|both]

Loads SOURCE into a new warehouse (WORK/warehouse.duckdb) and a new lake (WORK/lake), each in a process of its own,
and prints, per engine: the wall time, the seconds of each step as the load reports it (reading each file,
validating it, the references, writing each table, the derived tables), and the peak resident memory of the process
and its children together (Spark's JVM is a child of the Python process in local mode), sampled every 0.2 s."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path


def _tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and every process below it, in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss[int(entry.name)] = next((int(line.split()[1]) for line in status.splitlines()
                                     if line.startswith("VmRSS:")), 0)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / 1024


def measure(engine: str, source: Path, work: Path) -> dict:
    """Run one engine's load in a child process; its figures, with the peak memory of its process tree."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.spark_scale", "--child", engine, str(source), str(work)],
                            stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1])
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_mb(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{engine} load failed with exit code {proc.returncode}")
    figures = json.loads(out.decode().strip().splitlines()[-1])
    figures["peak_mb"] = round(peak)
    return figures


def _child(engine: str, source: Path, work: Path) -> None:
    steps: list[tuple[str, float]] = []
    started = time.perf_counter()
    last = [started, "starting"]

    def progress(message: str, _done: int, _total: int) -> None:
        now = time.perf_counter()
        steps.append((str(last[1]), round(now - float(last[0]), 2)))
        last[0], last[1] = now, message

    if engine == "spark":
        from etl.spark.load import load_lake
        from etl.spark.session import spark_session

        session_started = time.perf_counter()
        spark = spark_session()
        spark.sparkContext.setLogLevel("ERROR")
        session_s = time.perf_counter() - session_started
        started = last[0] = time.perf_counter()
        result = load_lake(source, work / "lake", spark, progress=progress)
    else:
        from etl.pipeline import load

        session_s = 0.0
        result = load(source, work / "warehouse.duckdb", progress=progress)
    steps.append((str(last[1]), round(time.perf_counter() - float(last[0]), 2)))
    print(json.dumps({"engine": engine, "status": result.status, "applications": next(
        (f.rows_read for f in result.files if f.entity == "applications"), 0), "session_s": round(session_s, 2),
        "load_s": round(time.perf_counter() - started, 2), "steps": steps}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--engine", choices=["duckdb", "spark", "both"], default="both")
    parser.add_argument("--child", choices=["duckdb", "spark"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.source, args.work)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    for name in ("lake", "warehouse.duckdb"):
        target = args.work / name
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    engines = ["duckdb", "spark"] if args.engine == "both" else [args.engine]
    print(json.dumps({"cores": os.cpu_count(), "results": [measure(e, args.source, args.work) for e in engines]},
                     indent=1))


if __name__ == "__main__":
    main()
