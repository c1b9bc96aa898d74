"""`python -m bench.load_vs_bulk SOURCE WORK [PAIRS]`: `mio load` of a source folder into a new warehouse against
DuckDB's own bulk load of the same CSV files (`create table ... as select * from read_csv(...)`, bench/harness.py),
in alternating pairs; prints each run's wall time and peak resident memory, the medians and the ratio. The
warehouses are written under WORK and removed afterwards. `make bench` runs the same pair once for every size."""

from __future__ import annotations

import shutil
import statistics
import sys
from pathlib import Path

from bench.harness import bench_duckdb_bulk, bench_load


def main() -> None:
    source, work = Path(sys.argv[1]), Path(sys.argv[2])
    pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    work.mkdir(parents=True, exist_ok=True)
    loads, bulks = [], []
    try:
        for number in range(pairs):
            loads.append(bench_load(source, work / "mio.duckdb"))
            bulks.append(bench_duckdb_bulk(source, work / "bulk.duckdb"))
            print(f"pair {number + 1}: mio load {loads[-1]['wall_s']:.2f} s, {loads[-1]['peak_mb']:,.0f} MB; "
                  f"DuckDB bulk {bulks[-1]['wall_s']:.2f} s, {bulks[-1]['peak_mb']:,.0f} MB", flush=True)
    finally:
        for path in work.glob("*.duckdb*"):
            path.unlink() if path.is_file() else shutil.rmtree(path)
    load_s = statistics.median(r["wall_s"] for r in loads)
    bulk_s = statistics.median(r["wall_s"] for r in bulks)
    print(f"rows (all files): {loads[0]['rows']:,}")
    print(f"mio load:    median {load_s:.2f} s, peak {max(r['peak_mb'] for r in loads):,.0f} MB")
    print(f"DuckDB bulk: median {bulk_s:.2f} s, peak {max(r['peak_mb'] for r in bulks):,.0f} MB")
    print(f"ratio: {load_s / bulk_s:.1f}x")


if __name__ == "__main__":
    main()
