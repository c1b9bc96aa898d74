"""The dashboard's pages on a lake in an object store, against the same lake on local disk (docs/scale.md).

    python -m bench.object_store LAKE [--runs 3]

Starts an S3 server on 127.0.0.1 (moto's, in this process), copies LAKE's current version into a bucket (its files
first, CURRENT last, as a lake is published), and prints the harness's page figures (bench_pages) as JSON for the
lake read from disk, from the store as mio reads it, and from the store with DuckDB checking each file again at every
query (its default, which this project turns off for a lake in a store: a version's files never change). The server
shares this process, so the figures from the store include the server's own work."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def s3_server() -> Iterator[Any]:
    """An S3 server on 127.0.0.1 for as long as the block runs, with the AWS environment pointing at it; yields an
    s3fs file system on it."""
    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    names = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "mio",
             "AWS_SECRET_ACCESS_KEY": "mio", "AWS_DEFAULT_REGION": "us-east-1"}
    before = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield s3fs.S3FileSystem()
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lake", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import tempfile

    import etl.spark.lake as lakes
    from bench.harness import bench_pages
    from etl import warehouse
    from etl.spark.lake import publish

    os.environ["MIO_LAKE_CACHE"] = tempfile.mkdtemp(prefix="mio-lake-cache-")
    results = {"disk": bench_pages(lakes.duckdb_catalog(args.lake), runs=args.runs)}
    with s3_server() as fs:
        fs.mkdir("mio-bench")
        publish(args.lake, "s3://mio-bench/lake")
        catalog = lakes.duckdb_catalog("s3://mio-bench/lake")
        results["store"] = bench_pages(catalog, runs=args.runs)
        as_mio = warehouse.register_object_store

        def checked(con: Any, path: Path) -> None:
            as_mio(con, path)
            con.execute("set validate_external_file_cache = 'VALIDATE_ALL'")  # DuckDB's default

        warehouse.register_object_store = checked  # what every read-only connection calls
        try:
            results["store, files checked at every query"] = bench_pages(catalog, runs=args.runs)
        finally:
            warehouse.register_object_store = as_mio
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
