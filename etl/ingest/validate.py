"""Row validation by Great Expectations itself, on pandas, with the suites kept under `expectations/` (one JSON suite
per entity): `mio load --validator gx`. The default, `sql`, runs the same suites compiled to SQL where the rows are
staged (etl.ingest.rules); the two give the same quarantine (tests/test_rules.py)."""

from __future__ import annotations

import logging
import threading
from functools import cache
from typing import Any

import polars as pl

from etl.ingest.read import ISSUE_SCHEMA, LINE
from etl.ingest.rules import ExpectationResult, describe, load_suite_dict, rule_column

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


def validate(entity: str, typed: pl.DataFrame) -> tuple[pl.DataFrame, list[ExpectationResult]]:
    """Run the entity's suite; return one issue row per failing (row, expectation) and a summary per expectation."""
    import great_expectations as gx

    context = _context()
    suite = gx.ExpectationSuite(**load_suite_dict(entity))
    source = context.data_sources.add_or_update_pandas(f"mio_{entity}")
    asset = source.add_dataframe_asset(entity)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": typed.to_pandas(use_pyarrow_extension_array=False)}
    )
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
                value = f"{item.get(kwargs['column_A'])} < {item.get(kwargs['column_B'])}"
            elif "column_list" in kwargs:
                value = "|".join(str(item.get(c)) for c in kwargs["column_list"])
            else:
                value = item.get(column)
            issues.append({"line": int(item[LINE]), "column": column, "rule": rule, "value": _text(value)})
    return pl.DataFrame(issues, schema=ISSUE_SCHEMA), summary


def _text(value: Any) -> str | None:
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):  # NaN and NaT are pandas' nulls
        return None
    return str(value)
