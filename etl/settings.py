"""Every environment variable mio reads, declared once: its name, default and what it sets.

`docs/settings.md` is written from this list (`python -m etl.reference`), and tests/test_docs.py fails when the code
reads a variable that is not declared here, when one declared here is read nowhere, or when the doc has drifted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: str  # as a person reads it: "unset", "`8`", "a random key in …"
    what: str
    group: str


SETTINGS: tuple[Setting, ...] = (
    # Where things are
    Setting("MIO_DB", "`data/warehouse.duckdb`",
            "the warehouse every command and the dashboard use when `--db` is not given", "files"),
    Setting("MIO_USERS", "`data/users.json`", "the dashboard's accounts file", "files"),
    Setting("MIO_SCHEDULES", "`data/schedules.json`", "the scheduled reports (`mio schedule`)", "files"),
    Setting("MIO_EXPECTATIONS", "the suites shipped with the package (`expectations/` in a checkout)",
            "where the Great Expectations suites are read from", "files"),
    # The office
    Setting("MIO_OFFICE_NAME", "unset", "your office's name, in the dashboard's sidebar and on the outcomes report",
            "office"),
    Setting("MIO_OFFICE_LOGO", "unset",
            "a PNG, JPEG or SVG file (at most 1 MB) shown above the sidebar and embedded in the report", "office"),
    # Signing in
    Setting("MIO_SESSION_HOURS", "`8`", "how long a sign-in lasts across reloads and tabs", "sign-in"),
    Setting("MIO_SESSION_SECRET", "a random key in `session.key` beside the users file",
            "the key that signs session tokens (set the same on every server behind one address)", "sign-in"),
    Setting("MIO_TRUSTED_PROXY", "unset",
            "the reverse proxy (addresses or networks, comma-separated) whose `X-Forwarded-For` names the client that "
            "wrong passwords are counted against; unset, the connection's own address is, and the header is ignored",
            "sign-in"),
    # Loading
    Setting("MIO_CHECK_MODELS", "unset",
            "`1`: every load also runs the data tests of the derived tables (`etl/ingest/sql/tests.yaml`) and fails "
            "on a broken one; the test suite sets it", "loading"),
    Setting("MIO_READ_BLOCK_BYTES", "`16777216` (16 MB)",
            "how much of a CSV file is read at a time, in whole lines; on the Spark engine, the block each executor "
            "task reads", "loading"),
    Setting("MIO_LOAD_MEMORY", "`1GB`",
            "the memory a load's staging database may use before it spills to a folder beside the warehouse (a "
            "DuckDB size: `512MB`, `4GB`)", "loading"),
    # The Spark engine and lakes
    Setting("MIO_SPARK_READ", "`executors`",
            "`driver`: the Spark engine reads every file in the driver, a piece at a time, instead of large CSV files "
            "on the executors", "spark"),
    Setting("MIO_SPARK_CORES", "`2`", "the Spark engine's local mode: cores", "spark"),
    Setting("MIO_SPARK_DRIVER_MEMORY", "`4g`", "the Spark engine's local mode: the driver's memory", "spark"),
    Setting("MIO_SPARK_PARTITIONS", "`8`", "the Spark engine: partitions after a shuffle", "spark"),
    Setting("MIO_SPARK_JARS", "`share/mio/spark-jars` in the virtualenv",
            "the folder of the Spark engine's fetched jars (Delta Lake, S3A: `make spark-jars`)", "spark"),
    Setting("SPARK_REMOTE", "unset",
            "the Spark engine's cluster, through Spark Connect (`sc://host:port`), when `--spark-remote` is not given",
            "spark"),
    Setting("MIO_LAKE_CACHE", "`~/.cache/mio/lakes/`",
            "where the catalogs (and working copies) of lakes in an object store are kept on this machine", "spark"),
    Setting("MIO_LAKE_POLL_SECONDS", "`60`",
            "how often `mio serve --lake s3://…` looks at the store's `CURRENT` for a newer version", "spark"),
    # Scheduled reports
    Setting("MIO_SMTP_HOST", "unset", "the mail server scheduled reports go through (STARTTLS always)", "mail"),
    Setting("MIO_SMTP_PORT", "`587`", "its port", "mail"),
    Setting("MIO_SMTP_USER", "unset", "the login on the mail server", "mail"),
    Setting("MIO_SMTP_PASSWORD", "unset", "the login's password", "mail"),
    Setting("MIO_SMTP_FROM", "the login", "the sender's address", "mail"),
    Setting("MIO_SMTP_CAFILE", "unset", "a certificate authority to trust for a relay's own certificate", "mail"),
    Setting("MIO_DELIVERY_ATTEMPTS", "`3`", "how often a delivery is tried in one run", "mail"),
    Setting("MIO_DELIVERY_RETRY_SECONDS", "`30`", "how far apart the tries are", "mail"),
)

# Read by mio but owned by other tools; documented where they matter, not declared as mio's own.
# AWS's endpoint variables are its clients' own; FORWARDED_ALLOW_IPS is uvicorn's (set by dashboard/serve.py).
OTHERS = ("JAVA_HOME", "XDG_CACHE_HOME", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "FORWARDED_ALLOW_IPS")

GROUPS = {"files": "Where things are", "office": "Your office", "sign-in": "Signing in", "loading": "Loading",
          "spark": "The Spark engine and lakes", "mail": "Scheduled reports by e-mail"}
