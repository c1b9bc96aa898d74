"""The Great Expectations suites under `expectations/`, written from the contract's schema (etl/ingest/schema.py):
each required column not null, the key unique, each enum's codes, each number's range, the order of two dates or
times, and a column required where another holds a value. `python -m etl.reference` (`make docs`) rewrites the files;
tests/test_expectations.py fails when a file differs from what the schema gives. The files stay what the loader reads
(and what `MIO_EXPECTATIONS` can replace): Great Expectations' own format, reviewed in diffs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from etl.ingest.schema import ENTITIES, ENUM, Entity

GX_VERSION = "1.24.1"  # the suites' format: the version that wrote them first
NOTE = "Written from etl/ingest/schema.py by `make docs` (etl/ingest/suites.py): change the schema, not this file."


def _expectation(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": f"expect_{kind}", "kwargs": kwargs, "meta": {}, "severity": "critical"}


def suite(entity: Entity) -> dict[str, Any]:
    """The entity's suite as Great Expectations writes it, its expectations in a fixed order: not null, unique,
    in set, between, pairs, conditional not null (each in the order of the columns)."""
    found = [_expectation("column_values_to_not_be_null", column=c.name) for c in entity.columns if c.required]
    if len(entity.key) == 1:
        found.append(_expectation("column_values_to_be_unique", column=entity.key[0]))
    else:
        found.append(_expectation("compound_columns_to_be_unique", column_list=list(entity.key), ignore_row_if="never"))
    found += [_expectation("column_values_to_be_unique", column=c.name) for c in entity.columns if c.unique]
    found += [_expectation("column_values_to_be_in_set", column=c.name, value_set=list(c.values))
              for c in entity.columns if c.type == ENUM]
    for c in entity.columns:
        if c.minimum is not None or c.maximum is not None:
            bounds = {"min_value": c.minimum, "max_value": c.maximum}
            found.append(_expectation("column_values_to_be_between", column=c.name,
                                      **{k: float(v) for k, v in bounds.items() if v is not None}))
    found += [_expectation("column_pair_values_a_to_be_greater_than_b", column_A=c.name, column_B=c.not_before,
                           or_equal=True, ignore_row_if="either_value_is_missing")
              for c in entity.columns if c.not_before]
    for c in entity.columns:
        if c.required_when:
            column, value = c.required_when
            found.append(_expectation("column_values_to_not_be_null", column=c.name,
                                      row_condition={"pass_through_filter": f'{column}=="{value}"',
                                                     "type": "pass_through"},
                                      condition_parser="pandas"))
    return {"name": entity.name, "expectations": found, "meta": {"great_expectations_version": GX_VERSION},
            "notes": NOTE}


def suite_text(entity: Entity) -> str:
    return json.dumps(suite(entity), indent=2, ensure_ascii=False) + "\n"


def write_suites(folder: Path) -> list[Path]:
    """Write every entity's suite into `folder` (the checkout's `expectations/`)."""
    written = []
    for entity in ENTITIES.values():
        path = folder / f"{entity.name}.json"
        path.write_text(suite_text(entity), encoding="utf-8")
        written.append(path)
    return written
