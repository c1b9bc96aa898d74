"""`python -m bench.report_vs_pandas SOURCE WAREHOUSE [PAIRS]`: `mio report --by industry` against the analyst's
pandas script over the same source (bench/peer_pandas.py), in alternating pairs; prints the medians, the ratio, the
floor (starting Python and importing click and DuckDB) and whether both give the same offer rates. `make bench`
runs the same measurement (bench/harness.py, bench_peer) for every size."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.harness import bench_peer


def main() -> None:
    source, db = Path(sys.argv[1]), Path(sys.argv[2])
    pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    found = bench_peer(source, db, pairs)
    print(f"mio report --by industry: {found['mio_s']:.3f} s (runs {', '.join(f'{t:.3f}' for t in found['mio_runs'])})")
    print(f"pandas script:            {found['peer_s']:.3f} s (runs "
          f"{', '.join(f'{t:.3f}' for t in found['peer_runs'])})")
    print(f"faster: {found['peer_s'] / found['mio_s']:.1f}x; same offer rates: {found['same']}; "
          f"floor (python, click, duckdb): {found['floor_s']:.3f} s")


if __name__ == "__main__":
    main()
