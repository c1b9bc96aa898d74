"""The input contract (docs/data-contract.md §1) as data: entities, their columns, types and keys.

Validity rules beyond types (required, unique, accepted values, ranges) live in the Great Expectations suites under
`expectations/`; `tests/test_expectations.py` keeps the two in step.
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
    name: str
    type: str
    required: bool = False
    values: tuple[str, ...] = ()
    default: object | None = None


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
                C("estimated_hours", INT, required=True),
                C("pay_usd", DECIMAL, required=True),
                C("remote", BOOL, required=True),
                C("slots", INT, default=1),
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
                C("decided_at", TIMESTAMP),
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
                C("application_id", TEXT, required=True),
                C("started_on", DATE, required=True),
                C("ended_on", DATE),
                C("status", ENUM, required=True, values=PLACEMENT_STATUSES),
                C("hours_logged", DECIMAL),
                C("employer_rating", INT),
                C("student_rating", INT),
                C("new_contacts", INT),
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
                C("level", INT, required=True),
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
                C("salary_usd", DECIMAL),
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
                C("salary_usd", DECIMAL),
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


def create_table_sql(entity: Entity, table: str | None = None) -> str:
    cols = ", ".join(f"{c.name} {DUCKDB_TYPES[c.type]}" for c in entity.columns)
    return f"create table if not exists {table or entity.name} ({cols})"


# What every load records beside the data: the history, each file, each quarantined row, each expectation.
META_TABLES = {
    "load_history": """create table if not exists load_history (
        load_id bigint, started_at timestamp, finished_at timestamp, source varchar, status varchar,
        rows_read bigint, rows_loaded bigint, rows_quarantined bigint, mapping_file varchar, mapping_sha256 varchar,
        mapping varchar)""",
    "load_files": """create table if not exists load_files (
        load_id bigint, entity varchar, file varchar, sha256 varchar, rows_read bigint, rows_loaded bigint,
        rows_quarantined bigint, warnings varchar)""",
    "quarantine": """create table if not exists quarantine (
        load_id bigint, entity varchar, file varchar, line bigint, column_name varchar, source_column varchar,
        rule varchar, value varchar, record varchar)""",
    "expectation_results": """create table if not exists expectation_results (
        load_id bigint, entity varchar, expectation varchar, column_name varchar, success boolean,
        unexpected_count bigint)""",
    # Each attempt to deliver a scheduled report (etl/schedule.py): sent, or failed with its error.
    "report_deliveries": """create table if not exists report_deliveries (
        delivery_id bigint, schedule varchar, slot timestamp, attempt integer, started_at timestamp,
        finished_at timestamp, status varchar, destination varchar, files varchar, bytes bigint, error varchar)""",
}


# Columns added to the bookkeeping tables since their first version: an older warehouse gets them at its next load.
ADDED_COLUMNS = {
    "load_history": ("mapping_file varchar", "mapping_sha256 varchar", "mapping varchar"),
    "quarantine": ("source_column varchar",),
}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the core and bookkeeping tables if the warehouse is new, and add columns an older one lacks."""
    for entity in ENTITIES.values():
        con.execute(create_table_sql(entity))
    for ddl in META_TABLES.values():
        con.execute(ddl)
    for table, columns in ADDED_COLUMNS.items():
        for column in columns:
            con.execute(f"alter table {table} add column if not exists {column}")
