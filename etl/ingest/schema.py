"""The input contract (docs/data-contract.md §1) as data: entities, their columns, types, keys and validity rules.

This is the one statement of the contract. The Great Expectations suites under `expectations/` are written from it
(etl/ingest/suites.py, `make docs`; a test fails when a suite differs from what the schema gives), and a column
declared here is added to an older warehouse at its next load (`ensure_schema`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

TEXT, ENUM, DATE, TIMESTAMP, BOOL, INT, DECIMAL = "text", "enum", "date", "timestamp", "bool", "int", "decimal"

DUCKDB_TYPES = {
    TEXT: "varchar",
    ENUM: "varchar",
    DATE: "date",
    TIMESTAMP: "timestamp",
    BOOL: "boolean",
    INT: "bigint",
    DECIMAL: "double",
}


@dataclass(frozen=True)
class Column:
    """A column of the contract. `required`: never null; `values`: the accepted codes of an enum; `minimum` and
    `maximum`: the range of a number; `unique`: no two rows share a value (beside the entity's key);
    `not_before`: another column of the row this one may not precede (when both are given); `required_when`:
    (column, value): never null in the rows where that column holds that value."""

    name: str
    type: str
    required: bool = False
    values: tuple[str, ...] = ()
    default: object | None = None
    minimum: float | None = None
    maximum: float | None = None
    unique: bool = False
    not_before: str | None = None
    required_when: tuple[str, str] | None = None


@dataclass(frozen=True)
class Reference:
    """A column that must name a row of another entity (when it is not null)."""

    column: str
    entity: str
    key: str


@dataclass(frozen=True)
class Entity:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


CLASS_LEVELS = ("first_year", "sophomore", "junior", "senior", "graduate", "alumni")
SIZE_BANDS = ("1-49", "50-249", "250-999", "1000-4999", "5000+")
CHANNELS = ("platform", "career_services", "networking", "referral", "direct")
APPLICATION_STATUSES = ("submitted", "shortlisted", "selected", "rejected", "withdrawn")
PLACEMENT_STATUSES = ("completed", "in_progress", "cancelled", "no_show")
PHASES = ("pre", "post")
OFFER_TYPES = ("full_time", "part_time", "internship", "contract")
DECISIONS = ("accepted", "declined", "pending")
OUTCOMES = (
    "employed_full_time",
    "employed_part_time",
    "self_employed",
    "postgrad_internship",
    "service",
    "military",
    "continuing_education",
    "seeking_employment",
    "seeking_education",
    "not_seeking",
    "no_information",
)
POSITIVE_OUTCOMES = OUTCOMES[:7]
# The codes that a person reads as words (career_services, first_year): shown with spaces on screen and in the
# shared report, kept as they are in every download and in the URL.
CODES = frozenset(code for codes in (CHANNELS, CLASS_LEVELS, OFFER_TYPES, OUTCOMES, PLACEMENT_STATUSES)
                  for code in codes if "_" in code)
# The eight NACE career-readiness competencies: the soft skills that skill data is compared against.
NACE = ("Career & Self-Development", "Communication", "Critical Thinking", "Equity & Inclusion", "Leadership",
        "Professionalism", "Teamwork", "Technology")
DESTINATION_SOURCES = ("survey", "employer", "linkedin", "faculty", "other")

C = Column

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "students",
            (
                C("student_id", TEXT, required=True),
                C("institution", TEXT, required=True),
                C("college", TEXT),
                C("major", TEXT, required=True),
                C("class_level", ENUM, required=True, values=CLASS_LEVELS),
                C("graduation_date", DATE),
                C("first_generation", BOOL),
                C("pell_eligible", BOOL),
                C("gender", TEXT),
                C("race_ethnicity", TEXT),
            ),
            key=("student_id",),
        ),
        Entity(
            "employers",
            (
                C("employer_id", TEXT, required=True),
                C("name", TEXT, required=True),
                C("industry", TEXT, required=True),
                C("size_band", ENUM, values=SIZE_BANDS),
                C("state", TEXT),
            ),
            key=("employer_id",),
        ),
        Entity(
            "micro_internships",
            (
                C("project_id", TEXT, required=True),
                C("employer_id", TEXT, required=True),
                C("title", TEXT, required=True),
                C("function", TEXT, required=True),
                C("industry", TEXT),
                C("platform", TEXT, required=True),
                C("posted_date", DATE, required=True),
                C("estimated_hours", INT, required=True, minimum=1, maximum=400),
                C("pay_usd", DECIMAL, required=True, minimum=0),
                C("remote", BOOL, required=True),
                C("slots", INT, default=1, minimum=1),
            ),
            key=("project_id",),
            references=(Reference("employer_id", "employers", "employer_id"),),
        ),
        Entity(
            "project_skills",
            (C("project_id", TEXT, required=True), C("skill", TEXT, required=True)),
            key=("project_id", "skill"),
            references=(Reference("project_id", "micro_internships", "project_id"),),
        ),
        Entity(
            "applications",
            (
                C("application_id", TEXT, required=True),
                C("student_id", TEXT, required=True),
                C("project_id", TEXT, required=True),
                C("applied_at", TIMESTAMP, required=True),
                C("channel", ENUM, required=True, values=CHANNELS),
                C("status", ENUM, required=True, values=APPLICATION_STATUSES),
                C("decided_at", TIMESTAMP, not_before="applied_at"),
            ),
            key=("application_id",),
            references=(
                Reference("student_id", "students", "student_id"),
                Reference("project_id", "micro_internships", "project_id"),
            ),
        ),
        Entity(
            "placements",
            (
                C("placement_id", TEXT, required=True),
                C("application_id", TEXT, required=True, unique=True),  # one placement per application
                C("started_on", DATE, required=True),
                C("ended_on", DATE, not_before="started_on", required_when=("status", "completed")),
                C("status", ENUM, required=True, values=PLACEMENT_STATUSES),
                C("hours_logged", DECIMAL, minimum=0),
                C("employer_rating", INT, minimum=1, maximum=5),
                C("student_rating", INT, minimum=1, maximum=5),
                C("new_contacts", INT, minimum=0),
            ),
            key=("placement_id",),
            references=(Reference("application_id", "applications", "application_id"),),
        ),
        Entity(
            "skill_assessments",
            (
                C("student_id", TEXT, required=True),
                C("placement_id", TEXT),
                C("skill", TEXT, required=True),
                C("phase", ENUM, required=True, values=PHASES),
                C("level", INT, required=True, minimum=1, maximum=5),
                C("assessed_on", DATE, required=True),
            ),
            # The contract names no key; one assessment of a skill in a phase on a day is the natural one.
            key=("student_id", "placement_id", "skill", "phase", "assessed_on"),
            references=(
                Reference("student_id", "students", "student_id"),
                Reference("placement_id", "placements", "placement_id"),
            ),
        ),
        Entity(
            "offers",
            (
                C("offer_id", TEXT, required=True),
                C("student_id", TEXT, required=True),
                C("employer_id", TEXT),
                C("employer_name", TEXT),
                C("offer_type", ENUM, required=True, values=OFFER_TYPES),
                C("offered_on", DATE, required=True),
                C("decision", ENUM, required=True, values=DECISIONS),
                C("salary_usd", DECIMAL, minimum=0),
                C("placement_id", TEXT),
            ),
            key=("offer_id",),
            references=(
                Reference("student_id", "students", "student_id"),
                Reference("employer_id", "employers", "employer_id"),
            ),
        ),
        Entity(
            "first_destinations",
            (
                C("student_id", TEXT, required=True),
                C("outcome", ENUM, required=True, values=OUTCOMES),
                C("employer_name", TEXT),
                C("industry", TEXT),
                C("salary_usd", DECIMAL, minimum=0),
                C("source", ENUM, values=DESTINATION_SOURCES),
            ),
            key=("student_id",),
            references=(Reference("student_id", "students", "student_id"),),
        ),
    )
}

# Dependency order: every entity comes after the ones it references.
LOAD_ORDER: tuple[str, ...] = tuple(ENTITIES)
FORMATS = (".csv", ".parquet", ".json", ".jsonl", ".ndjson", ".xlsx")


# What every load records beside the data: the history, each file, each quarantined row, each expectation; and each
# attempt to deliver a scheduled report (etl/schedule.py). A column added here reaches an older warehouse at its next
# load.
META_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "load_history": (("load_id", "bigint"), ("started_at", "timestamp"), ("finished_at", "timestamp"),
                     ("source", "varchar"), ("status", "varchar"), ("rows_read", "bigint"), ("rows_loaded", "bigint"),
                     ("rows_quarantined", "bigint"), ("mapping_file", "varchar"), ("mapping_sha256", "varchar"),
                     ("mapping", "varchar")),
    "load_files": (("load_id", "bigint"), ("entity", "varchar"), ("file", "varchar"), ("sha256", "varchar"),
                   ("rows_read", "bigint"), ("rows_loaded", "bigint"), ("rows_quarantined", "bigint"),
                   ("warnings", "varchar")),
    "quarantine": (("load_id", "bigint"), ("entity", "varchar"), ("file", "varchar"), ("line", "bigint"),
                   ("column_name", "varchar"), ("source_column", "varchar"), ("rule", "varchar"), ("value", "varchar"),
                   ("record", "varchar")),
    "expectation_results": (("load_id", "bigint"), ("entity", "varchar"), ("expectation", "varchar"),
                            ("column_name", "varchar"), ("success", "boolean"), ("unexpected_count", "bigint")),
    "report_deliveries": (("delivery_id", "bigint"), ("schedule", "varchar"), ("slot", "timestamp"),
                          ("attempt", "integer"), ("started_at", "timestamp"), ("finished_at", "timestamp"),
                          ("status", "varchar"), ("destination", "varchar"), ("files", "varchar"), ("bytes", "bigint"),
                          ("error", "varchar")),
    # What `mio watch` did with each delivery of its drop folder (etl/watch.py).
    "watched_deliveries": (("delivery_id", "bigint"), ("delivery", "varchar"), ("handled_at", "timestamp"),
                           ("status", "varchar"), ("load_id", "bigint"), ("rows_quarantined", "bigint"),
                           ("moved_to", "varchar"), ("reason", "varchar"), ("alert", "varchar")),
}


# The bookkeeping written beside the loads, not by them (etl/ingest/load.py's `amend`): a lake the Spark engine
# loads has none of them (scheduled reports and the watched drop work on the DuckDB warehouse).
BESIDE_LOADS = ("report_deliveries", "watched_deliveries")


def declared_tables() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every table a load keeps, the contract's entities and the bookkeeping, as (column, DuckDB type) pairs."""
    entities = {e.name: tuple((c.name, DUCKDB_TYPES[c.type]) for c in e.columns) for e in ENTITIES.values()}
    return entities | META_TABLES


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables a new warehouse lacks, and add to an older one every declared column it lacks (nothing is
    registered for that: the declarations are compared with the warehouse's own catalog)."""
    present: dict[str, set[str]] = {}
    for table, column in con.execute("select table_name, column_name from duckdb_columns() "
                                     "where schema_name = 'main' and database_name = current_database()").fetchall():
        present.setdefault(table, set()).add(column)
    for table, columns in declared_tables().items():
        if table not in present:
            con.execute(f"create table {table} ({', '.join(f'{n} {t}' for n, t in columns)})")
            continue
        for name, kind in columns:
            if name not in present[table]:
                con.execute(f"alter table {table} add column {name} {kind}")
