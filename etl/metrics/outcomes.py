"""The metrics layer: every figure of docs/data-contract.md §4–§7, defined once, as SQL over the warehouse.

`mio report`, the dashboard and every export call these functions; nothing else computes a rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from etl.ingest.schema import CLASS_LEVELS, POSITIVE_OUTCOMES
from etl.metrics.columns import (  # noqa: F401 - the layer's names
    CATALOGUE,
    DEFAULT_MIN_CELL,
    DIMENSIONS,
    EXTRA_DIMENSIONS,
    FIGURES,
    OUTCOME_COLUMNS,
    PRECOMPUTED_OUTCOMES,
    hidden_at,
)
from etl.warehouse import Connection, plain_numbers, query, sql_text

DESTINATION_COLUMNS = [
    "cohort",
    "participated",
    "cohort_size",
    "knowledge_rate",
    "career_outcomes_rate",
    "median_salary_usd",
    "suppressed",
]
SQL_DIR = Path(__file__).parent / "sql"


def metric_sql(name: str) -> str:
    """A SQL file of the metrics layer (under etl/metrics/sql/)."""
    return sql_text(SQL_DIR / name)

# The contract's definitions, shown next to each figure in the dashboard and the docs (declared in columns.FIGURES).
DEFINITIONS = {f.name: f.definition for f in FIGURES if f.definition}


@dataclass(frozen=True)
class Filters:
    """The population a figure is computed over; every value reaches SQL as a bound parameter."""

    institutions: tuple[str, ...] = ()
    class_levels: tuple[str, ...] = ()
    colleges: tuple[str, ...] = ()
    majors: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    term_from: str | None = None
    term_to: str | None = None
    employer_id: str | None = None
    employer_industries: tuple[str, ...] = ()  # the employers' own industry (the employer view's peers)
    # (dimension, group) pairs: one group of a breakdown, or one cell of a two-way table, for drilling down into it
    within: tuple[tuple[str, str], ...] = ()

    def where(self, table: str = "fact_applications") -> tuple[str, list[object]]:
        clauses: list[str] = ["1 = 1"]
        params: list[object] = []

        def one_of(column: str, values: tuple[str, ...]) -> None:
            if values:
                clauses.append(f"{column} in ({', '.join('?' for _ in values)})")
                params.extend(values)

        one_of("institution", self.institutions)
        one_of("class_level", self.class_levels)
        one_of("college", self.colleges)
        one_of("major", self.majors)
        if table == "fact_applications":
            one_of("industry", self.industries)
            one_of("platform", self.platforms)
            # Terms compare by their place in the calendar, which only the SQL that names them knows
            # (etl/ingest/sql/03_fact_applications.sql; filter_values numbers them in order).
            for bound, operator in ((self.term_from, ">="), (self.term_to, "<=")):
                if bound:
                    clauses.append(f"term in (select value from filter_values where column_name = 'term' and "
                                   f"position {operator} (select position from filter_values where column_name = "
                                   "'term' and value = ?))")
                    params.append(bound)
            one_of("employer_industry", self.employer_industries)
            if self.employer_id is not None:
                clauses.append("employer_id = ?")
                params.append(self.employer_id)
            for dimension, group in self.within:
                if dimension == "overall":
                    raise ValueError("drill into a group of a breakdown, not the overall row")
                clauses.append(f"{dimension_column(dimension)} = ?")  # a fixed column name, checked there
                params.append(group)
        return " and ".join(clauses), params


def dimension_column(dimension: str) -> str:
    if dimension == "overall":
        return "'all'"
    if dimension in DIMENSIONS or dimension in EXTRA_DIMENSIONS:
        return dimension
    raise ValueError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")


# The most memory one bitmap aggregate may take (groups × keys / 8 bytes); above it, a hash set counts instead.
BITMAP_BUDGET_BYTES = 32 * 2**20


def fact_sizes(con: Connection, uncommitted: bool = False) -> dict[str, int]:
    """fact_sizes as a dict: students and projects numbered by the keys, distinct values per grouping column.

    `uncommitted`: read on `con` itself, inside the loader's transaction (a cursor would not see the new table)."""
    frame = con.sql("select * from fact_sizes").pl() if uncommitted else query(con, "select * from fact_sizes")
    return {name: int(value) for name, value in frame.row(0, named=True).items()}


def distinct_count(key: str, keys: int, groups: int, condition: str | None = None, bitmaps: bool = True) -> str:
    """SQL for the exact number of distinct `key` values per group (where `condition` holds, if given); as a bitmap
    when it fits the budget and `bitmaps` (DuckDB), else as a hash set (also Spark's, which has no bitmaps)."""
    if bitmaps and groups * keys / 8 <= BITMAP_BUDGET_BYTES:
        only = f" filter (where {condition})" if condition else ""
        return f"coalesce(bit_count(bitstring_agg({key}, 1, {max(keys, 1)}){only}), 0)"
    if condition:
        return f"count(distinct case when {condition} then {key} end)"
    return f"count(distinct {key})"


# Each rate of the outcome table as (numerator, denominator) counts: rate() and term changes both read these.
RATE_PARTS = {f.name: f.parts for f in FIGURES if f.parts}
# Groups with a natural order, shown in it (the SQL of fact_applications writes these values).
ORDERED_GROUPS = {
    "pay_band": ("unpaid", "<15", "15-20", "20-25", "25+", "unknown"),
    "hours_band": ("<10", "10-19", "20-39", "40+", "unknown"),
    "class_level": (*CLASS_LEVELS, "unknown"),
}


def rate(numerator: str, denominator: str) -> pl.Expr:
    """numerator ÷ denominator to four decimals, or null where the denominator is zero: every rate of the contract."""
    return (
        pl.when(pl.col(denominator) > 0)
        .then((pl.col(numerator) / pl.col(denominator)).round(4))
        .otherwise(None)
    )


def _distinct_values(sizes: dict[str, int], dimension: str) -> int:
    """How many groups `dimension` makes, from fact_sizes (the whole population: one)."""
    if dimension_column(dimension) == "'all'":  # an unknown dimension is refused here
        return 1
    if dimension not in sizes:
        raise KeyError(f"fact_sizes has no column for the dimension {dimension!r}: add it to "
                       "etl/ingest/sql/06_fact_sizes.sql (a guess would misjudge the distinct counts' memory)")
    return sizes[dimension]


def _outcome_sql(sizes: dict[str, int], dimension: str, second: str, where: str, bitmaps: bool = True) -> str:
    """The outcome query (outcomes.sql) for one grouping. `bitmaps=False`: distinct counts as hash sets only (Spark
    has no bitstring_agg; both give the same exact counts)."""
    groups = _distinct_values(sizes, dimension) * _distinct_values(sizes, second)

    def count(key: str, keys: str, condition: str | None = None) -> str:
        return distinct_count(key, sizes[keys], groups, condition, bitmaps)

    return metric_sql("outcomes.sql").format(
        dimension=dimension_column(dimension), second=dimension_column(second), where=where, cells="",
        students=count("student_key", "students"), projects=count("project_key", "projects"),
        selectees=count("student_key", "students", "status = 'selected'"),
        completers=count("student_key", "students", "placement_status = 'completed'"),
        offer_holders=count("student_key", "students", "placement_status = 'completed' and has_offer"),
        converters=count("student_key", "students", "placement_status = 'completed' and has_accepted_offer"))


# Below this many students outcome_cells is built in one aggregation (outcome_cells_sql): at the hand-built source's
# size 0.035 s against 0.25 s for one query per grouping; at 6,000 students the two take the same (0.35 s); at
# 57,000 one query per grouping with bitmaps wins (0.6 s against 2.2 s).
ONE_PASS_BELOW_STUDENTS = 6_000


def build_outcome_cells(con: duckdb.DuckDBPyConnection) -> None:
    """Store PRECOMPUTED_OUTCOMES in outcome_cells, and the contract's outcome table by every dimension in
    outcome_report (run by the loader after the derived tables, in its transaction)."""
    sizes = fact_sizes(con, uncommitted=True)
    con.execute("drop table if exists outcome_cells")
    if sizes["students"] < ONE_PASS_BELOW_STUDENTS:
        con.execute(f"create table outcome_cells as {outcome_cells_sql()}")
        build_outcome_report(con)
        return
    for number, (dimension, second, rows) in enumerate(outcome_cell_queries(sizes)):
        if number == 0:
            con.execute(f"create table outcome_cells as select ? as dimension, ? as second, * from ({rows})",
                        [dimension, second])
        else:
            con.execute(f"insert into outcome_cells select ?, ?, * from ({rows})", [dimension, second])
    build_outcome_report(con)


def outcome_cell_queries(sizes: dict[str, int], bitmaps: bool = True) -> list[tuple[str, str, str]]:
    """(dimension, second, query) for every stored grouping of PRECOMPUTED_OUTCOMES, unfiltered."""
    return [(d, s, _outcome_sql(sizes, d, s, "1 = 1", bitmaps)) for d, s in PRECOMPUTED_OUTCOMES]


def outcome_cells_sql() -> str:
    """outcome_cells in one statement: each fact crossed with the list of PRECOMPUTED_OUTCOMES and grouped once, the
    distinct counts as hash sets (the Spark engine's: one aggregation where a union of the groupings costs Spark
    tens of small jobs). The same rows as outcome_cell_queries' queries, each grouping's values as text."""
    names = sorted({d for pair in PRECOMPUTED_OUTCOMES for d in pair})

    def value(column: str) -> str:
        return f"case {column} " + " ".join(f"when '{d}' then cast({dimension_column(d)} as varchar)"
                                           for d in names) + " end"

    def count(key: str, condition: str | None = None) -> str:
        return distinct_count(key, 0, 0, condition, bitmaps=False)

    groupings = ", ".join(f"('{d}', '{s}')" for d, s in PRECOMPUTED_OUTCOMES)
    grouping = f"struct_pack(dimension := cell_dimension, second := cell_second, value := {value('cell_dimension')})"
    cells = metric_sql("outcomes.sql").format(
        dimension=grouping,
        second=value("cell_second"), where="1 = 1",
        cells=f" cross join (values {groupings}) as cells(cell_dimension, cell_second)",
        students=count("student_key"), projects=count("project_key"),
        selectees=count("student_key", "status = 'selected'"),
        completers=count("student_key", "placement_status = 'completed'"),
        offer_holders=count("student_key", "placement_status = 'completed' and has_offer"),
        converters=count("student_key", "placement_status = 'completed' and has_accepted_offer"))
    return (f'select "group".dimension as dimension, "group".second as second, "group".value as "group", '
            f'* exclude ("group") from ({cells})')


def outcome_report_rows(con: Connection) -> pl.DataFrame:
    """outcome_report's rows from the stored outcome_cells on `con` (DuckDB, or the Spark engine's connection)."""
    parts = []
    for dimension in DIMENSIONS:  # the loader's connection sees its own uncommitted outcome_cells (no cursor)
        counts = _with_rates(plain_numbers(con.sql(STORED_CELLS, params=[dimension, "overall"]).pl()))
        parts.append(counts.select(pl.lit(dimension).alias("dimension"), *OUTCOME_COLUMNS[:-1],
                                   suppression_thresholds(counts, "denominator", ["group", "group2"])))
    return pl.concat(parts)


def build_outcome_report(con: duckdb.DuckDBPyConnection) -> None:
    """outcome_report: for every dimension of `mio report --by`, the outcome table's rows before suppression, each
    with its suppression threshold (`suppression_thresholds`), so that the command line answers any --min-cell with
    one small query and no dataframe library (etl/metrics/stored.py)."""
    con.register("outcome_report_rows", outcome_report_rows(con).to_arrow())
    try:
        con.execute("drop table if exists outcome_report")
        con.execute("create table outcome_report as select * from outcome_report_rows")
    finally:
        con.unregister("outcome_report_rows")


def outcome_counts(con: Connection, dimension: str, filters: Filters = Filters(),
                   second: str = "overall") -> pl.DataFrame:
    """The outcome table's counts and rates per group (and `group2` for a two-way table), before suppression."""
    if filters == Filters() and (dimension, second) in PRECOMPUTED_OUTCOMES:
        frame = query(con, STORED_CELLS, [dimension, second])
    else:
        where, params = filters.where()
        sql = _outcome_sql(fact_sizes(con), dimension, second, where)
        frame = query(con, sql, params * 2)  # {where} appears in both scans
    return _with_rates(frame)


STORED_CELLS = "select * exclude (dimension, second) from outcome_cells where dimension = ? and second = ?"


def _with_rates(frame: pl.DataFrame) -> pl.DataFrame:
    """Counts as integers, the contract's rates and the suppression denominator, in the groups' order."""
    frame = frame.with_columns(
        pl.col("group", "group2").cast(pl.String),
        *[pl.col(f.name).cast(pl.Int64) for f in FIGURES if f.counted],
        pl.col("median_days_to_offer").cast(pl.Float64),
    )
    return frame.with_columns(
        *(rate(num, den).alias(name) for name, (num, den) in RATE_PARTS.items()),
        # The suppression denominator (§5): completed placements, or applications where none completed.
        pl.when(pl.col("completed") > 0).then(pl.col("completed")).otherwise(pl.col("applications"))
        .alias("denominator"),
    ).sort("group", "group2")


def term_order(con: Connection) -> list[str]:
    """Every term of the warehouse in calendar order."""
    return query(con, "select value from filter_values where column_name = 'term' order by position")[
        "value"].to_list()


FILTER_COLUMNS = ("institution", "college", "major", "class_level", "industry", "platform", "term", "function")


def filter_choices(con: Connection, column: str, institution: str | None = None) -> list[str]:
    """The values a filter offers, in order; for a director bound to `institution`, only those its students' own
    applications hold (the others would tell of other institutions)."""
    if column not in FILTER_COLUMNS:
        raise ValueError(f"no filter on {column!r}")
    params: list[object]
    if institution is None:
        sql, params = "select value from filter_values where column_name = ? order by position", [column]
    else:
        sql = (f"select f.value from filter_values f where f.column_name = ? and f.value in (select {column} "
               "from fact_applications where institution = ?) order by f.position")
        params = [column, institution]
    return query(con, sql, params)["value"].to_list()


def group_order(con: Connection, dimension: str) -> list[str] | None:
    """The display order of a dimension's groups when it has one (terms, bands, class levels); else None."""
    if dimension == "term":
        return term_order(con)
    return list(ORDERED_GROUPS[dimension]) if dimension in ORDERED_GROUPS else None


def term_under_way(con: Connection) -> str | None:
    """The warehouse's latest term: its projects are still finishing and offers follow completion by weeks."""
    terms = term_order(con)
    return terms[-1] if terms else None


def closed_terms(con: Connection, filters: Filters = Filters()) -> list[str]:
    """The population's terms in calendar order, less the term under way."""
    present = set(outcome_counts(con, "term", filters)["group"])
    current = term_under_way(con)
    return [t for t in term_order(con) if t in present and t != current]


def term_changes(con: Connection, filters: Filters = Filters()) -> pl.DataFrame:
    """Each rate's change between the population's two latest closed terms, in percentage points, from the counts
    (rates rounded to four places would be off by up to 0.01 point)."""
    closed = closed_terms(con, filters)
    schema = {"rate": pl.String, "change_pts": pl.Float64, "term": pl.String, "previous_term": pl.String}
    if len(closed) < 2:
        return pl.DataFrame(schema=schema)
    counts = outcome_counts(con, "term", filters)
    now = counts.filter(pl.col("group") == closed[-1]).row(0, named=True)
    before = counts.filter(pl.col("group") == closed[-2]).row(0, named=True)
    rows = []
    for name, (num, den) in RATE_PARTS.items():
        change = None
        if now[den] and before[den]:
            change = (now[num] / now[den] - before[num] / before[den]) * 100
        rows.append({"rate": name, "change_pts": change, "term": closed[-1], "previous_term": closed[-2]})
    return pl.DataFrame(rows, schema=schema)


def suppression_thresholds(frame: pl.DataFrame, denominator: str, group: str | list[str],
                           within: list[str] | None = None) -> pl.Series:
    """docs/data-contract.md §5 for every minimum cell size at once: a row is suppressed at K exactly when K is
    above its threshold (`suppress`).

    A row whose denominator is below K is suppressed. When exactly one row of a breakdown (the rows that share
    `within`, or the whole frame) is, the unsuppressed row with the smallest denominator (ties: the smallest group
    value) is suppressed too, so the first cannot be recovered by subtraction from a total. In the breakdown's rows
    ordered by (denominator, group), that is: the first row's threshold is its denominator d1; the second row's is
    d1 when d1 < d2 (for K in (d1, d2] the first row alone is below K, and the second is the one beside it), else
    its own d2; every other row's is its own denominator, since exactly one row below K is always the first.
    """
    groups = [group] if isinstance(group, str) else group
    marked = frame.with_row_index("_row").with_columns(pl.col(denominator).alias("_d"))
    thresholds = dict(zip(marked["_row"].to_list(), marked["_d"].to_list(), strict=True))
    for part in (marked.partition_by(within, maintain_order=True) if within else [marked]):
        ordered = part.sort(["_d", *groups])
        if ordered.height > 1 and ordered["_d"][0] < ordered["_d"][1]:
            thresholds[ordered["_row"][1]] = ordered["_d"][0]
    return pl.Series("threshold", [thresholds[i] for i in range(frame.height)], dtype=pl.Int64)


# What a group's size is measured by, for §5 (the `denominator` of the outcome counts; students for destinations).
SUPPRESSION_BASIS = "completed projects, or applications where none completed; students for destinations"


def small_cells(k: int | str) -> str:
    """§5 in the words every screen and output uses (the pages' notes, `mio report`'s footnote, the glossary): what
    a group is suppressed for at minimum cell size `k` (a number, or words such as "the minimum cell size")."""
    return f"fewer than {k} behind the group ({SUPPRESSION_BASIS}), or the smallest group beside a single such group"


def suppress(frame: pl.DataFrame, denominator: str, group: str | list[str], min_cell: int,
             within: list[str] | None = None) -> pl.Series:
    """docs/data-contract.md §5: which rows to suppress at `min_cell`, with complementary suppression."""
    return hidden_at(suppression_thresholds(frame, denominator, group, within), min_cell).alias("suppressed")


def blank_suppressed(frame: pl.DataFrame, flags: pl.Series, keep: tuple[str, ...]) -> pl.DataFrame:
    """Add the `suppressed` column and blank every figure of a suppressed row (all columns but `keep`)."""
    hidden = [c for c in frame.columns if c not in keep and c != "suppressed"]
    return frame.with_columns(flags).with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in hidden]
    )


def suppressed_counts(con: Connection, dimension: str, filters: Filters = Filters(),
                      min_cell: int = DEFAULT_MIN_CELL, second: str = "overall") -> pl.DataFrame:
    """outcome_counts with §5's suppression applied to every column; two-way tables suppress per row."""
    counts = outcome_counts(con, dimension, filters, second)
    within = ["group"] if second != "overall" else None
    flags = suppress(counts, "denominator", ["group", "group2"], min_cell, within=within)
    return blank_suppressed(counts, flags, ("group", "group2"))


def outcome_table(con: Connection, dimension: str, filters: Filters = Filters(),
                  min_cell: int = DEFAULT_MIN_CELL) -> pl.DataFrame:
    """docs/data-contract.md §4 with §5's suppression: exactly the report's columns, one row per group."""
    return suppressed_counts(con, dimension, filters, min_cell).select(OUTCOME_COLUMNS)


def destinations_counts(con: Connection, filters: Filters = Filters()) -> pl.DataFrame:
    where, params = filters.where("student_destinations")
    positive = "(" + ", ".join(f"'{o}'" for o in POSITIVE_OUTCOMES) + ")"
    sql = metric_sql("destinations.sql").format(where=where, positive=positive)
    frame = query(con, sql, params)
    frame = frame.with_columns(
        pl.col("cohort").cast(pl.String),
        pl.col("participated").cast(pl.String),
        *[pl.col(c).cast(pl.Int64) for c in ("cohort_size", "known", "positive", "career_denominator")],
        pl.col("median_salary_usd").cast(pl.Float64),
    )
    return frame.with_columns(
        rate("known", "cohort_size").alias("knowledge_rate"),
        rate("positive", "career_denominator").alias("career_outcomes_rate"),
    ).sort("cohort", "participated")


def reported_cohorts(con: Connection, filters: Filters = Filters()) -> list[str]:
    """Cohorts with at least one known first destination: the others have not graduated, or not been surveyed."""
    counts = destinations_counts(con, filters)
    return sorted(set(counts.filter(pl.col("known") > 0)["cohort"].to_list()))


def destinations_table(con: Connection, filters: Filters = Filters(),
                       min_cell: int = DEFAULT_MIN_CELL) -> pl.DataFrame:
    """docs/data-contract.md §7: one row per cohort and participation, suppressed by cohort_size.

    Complementary suppression works within each cohort: its participants and non-participants add up to the
    cohort, which is the total a reader could subtract from.
    """
    counts = destinations_counts(con, filters)
    flags = suppress(counts, "cohort_size", "participated", min_cell, within=["cohort"])
    return blank_suppressed(counts, flags, ("cohort", "participated")).select(DESTINATION_COLUMNS)
