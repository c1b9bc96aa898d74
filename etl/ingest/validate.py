"""Row validation by Great Expectations itself, with the suites kept under `expectations/` (one JSON suite per
entity): `mio load --validator gx`, on pandas for the DuckDB engine and on Spark DataFrames (GX's Spark execution
engine) for the Spark engine. The default, `sql`, runs the same suites compiled to SQL where the rows are staged
(etl.ingest.rules); they give the same quarantine (tests/test_rules.py, tests/test_spark.py)."""

from __future__ import annotations

import logging
import threading
from functools import cache
from typing import Any

import polars as pl

from etl.ingest.read import ISSUE_SCHEMA, LINE
from etl.ingest.rules import ExpectationResult, describe, load_suite_dict, rule_column
from etl.ingest.schema import DATE, ENTITIES, TIMESTAMP

_CONTEXT_GUARD = threading.Lock()


def warm_up() -> threading.Thread:
    """Import Great Expectations and make its context in a thread of its own (about 3 s), while the caller reads
    the source's files (Polars reads and casts without holding the interpreter); `validate` waits for it."""
    thread = threading.Thread(target=_context, name="gx-warm-up", daemon=True)
    thread.start()
    return thread


def _context() -> Any:
    with _CONTEXT_GUARD:  # one context, whichever thread asks first
        return _made_context()


@cache
def _made_context() -> Any:
    # Imported lazily: Great Expectations takes seconds to import and only `mio load` needs it.
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory batch by hashing the whole DataFrame (2.7 s of a million-application load,
    # measured with cProfile); the fingerprint is only a batch marker, unused here. Below this size GX hashes.
    pandas_execution_engine.HASH_THRESHOLD = 0

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate(entity: str, typed: Any) -> tuple[pl.DataFrame, list[ExpectationResult]]:
    """Run the entity's suite on its typed rows (a Polars frame, validated on pandas, or a Spark DataFrame, validated
    where it is); return one issue row per failing (row, expectation) and a summary per expectation."""
    import great_expectations as gx

    context = _context()
    suite = gx.ExpectationSuite(**load_suite_dict(entity))
    on_pandas = isinstance(typed, pl.DataFrame)
    if on_pandas:
        source = context.data_sources.add_or_update_pandas(f"mio_{entity}")
        frame = typed.to_pandas(use_pyarrow_extension_array=False)
    else:
        source = context.data_sources.add_or_update_spark(f"mio_spark_{entity}")
        frame = typed
    kinds = {c.name: c.type for c in ENTITIES[entity].columns}

    def shown(item: dict, column: str) -> str:  # one value of a compound or pair rule, as pandas writes it
        return str(item.get(column)) if on_pandas else _as_pandas_text(item.get(column), kinds.get(column))

    asset = source.add_dataframe_asset(entity)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": [LINE]}
    outcome = batch.validate(suite, result_format=result_format)
    issues: list[dict[str, Any]] = []
    summary: list[ExpectationResult] = []
    for result in outcome.results:
        config = result.expectation_config
        kwargs = config.kwargs
        if result.exception_info and result.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation {config.type} on {entity} failed to run: {result.exception_info}")
        column = rule_column(kwargs)
        rule = describe(config.type, kwargs)
        unexpected = result.result.get("unexpected_index_list") or []
        summary.append(ExpectationResult(entity, rule, column, bool(result.success), len(unexpected)))
        for item in unexpected:
            if "column_A" in kwargs:
                value = f"{shown(item, kwargs['column_A'])} < {shown(item, kwargs['column_B'])}"
            elif "column_list" in kwargs:
                value = "|".join(shown(item, c) for c in kwargs["column_list"])
            else:
                value = item.get(column)
            issues.append({"line": int(item[LINE]), "column": column, "rule": rule, "value": _text(value)})
    return pl.DataFrame(issues, schema=ISSUE_SCHEMA), summary


def _as_pandas_text(value: Any, kind: str | None) -> str:
    """A value of a compound or pair rule as Spark gives it (a Python date, datetime or None), written as pandas
    writes it on the DuckDB engine's Great Expectations path and as the compiled suites do (rules._as_pandas_text):
    a date reads 2025-03-10 00:00:00, a timestamp keeps its microseconds only when it has some; a missing date or
    timestamp reads NaT, any other missing value nan."""
    if value is None:
        return "NaT" if kind in (DATE, TIMESTAMP) else "nan"
    if kind == DATE:
        return f"{value:%Y-%m-%d} 00:00:00"
    if kind == TIMESTAMP:
        return f"{value:%Y-%m-%d %H:%M:%S.%f}" if value.microsecond else f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


def _text(value: Any) -> str | None:
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):  # NaN and NaT are pandas' nulls
        return None
    return str(value)
