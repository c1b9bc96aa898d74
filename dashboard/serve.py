"""Starting the dashboard server: the one command line that `mio serve`, the browser tests and the benchmark use.

`python -m dashboard.serve run APP [streamlit flags]` imports the heavy libraries once, in the main thread, before
Streamlit starts: otherwise the first sessions of a fresh server import pandas in several threads at once, and one
of them may see a partially initialised module (`AttributeError: partially initialized module 'pandas'`).
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "server.py"  # the ASGI app around app.py


def flags(port: int) -> list[str]:
    """Streamlit's settings for this app: local address only, no telemetry, the viewer's toolbar, no grid export
    (the grid's own CSV download would write formulas as they are; every table has a formula-safe download
    instead), the Import page's upload limit, no watching of the source files (a served app does not change under
    it; watching them cost the server a sixth of its time with ten sessions at once), and no full garbage collection
    after every script run (two thirds of the time ten sessions held the interpreter went to it; Python's own
    collector still runs as it always does)."""
    from etl.importer import MAX_UPLOAD_MB

    settings = {"server.address": "127.0.0.1", "server.port": str(port), "server.headless": "true",
                "browser.gatherUsageStats": "false", "client.toolbarMode": "viewer",
                "client.disableDataExport": "true", "server.maxUploadSize": str(MAX_UPLOAD_MB),
                "server.fileWatcherType": "none", "server.runOnSave": "false",
                "runner.postScriptGC": "false"}
    return [part for name, value in settings.items() for part in (f"--{name}", value)]


def command(port: int) -> list[str]:
    return [sys.executable, "-m", "dashboard.serve", "run", str(APP), *flags(port)]


def serve(port: int, env: dict[str, str]) -> int:
    """Run the server until it ends; SIGTERM or SIGINT to this process stops the server too."""
    child = subprocess.Popen(command(port), env=env, cwd=APP.parents[1])

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:  # pragma: no cover - the handler above takes SIGINT
            continue


def main() -> None:
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import polars  # noqa: F401
    import pyarrow  # noqa: F401
    from streamlit.web import cli

    gc.freeze()  # the libraries' objects, alive for the server's life, stay out of every later collection
    # Which proxy may name the client is mio's to judge (MIO_TRUSTED_PROXY, dashboard/auth.py): the server under
    # Streamlit (uvicorn) would otherwise take X-Forwarded-For from any connection of this machine as the client.
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    sys.path.insert(0, str(APP.parents[1]))
    os.chdir(APP.parents[1])
    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
