"""The expectation suites under expectations/ are what the contract's schema gives, and agree with it."""

from __future__ import annotations

import pytest

from etl.ingest.schema import ENTITIES, ENUM
from etl.ingest.validate import load_suite_dict


@pytest.mark.parametrize("name", list(ENTITIES))
def test_suite_covers_the_contract(name: str) -> None:
    entity = ENTITIES[name]
    suite = load_suite_dict(name)
    assert suite["name"] == name
    kinds = [(e["type"], e["kwargs"]) for e in suite["expectations"]]
    not_null = {
        k["column"] for t, k in kinds if t == "expect_column_values_to_not_be_null" and "row_condition" not in k
    }
    assert not_null == set(entity.required_columns)
    in_set = {k["column"]: tuple(k["value_set"]) for t, k in kinds if t == "expect_column_values_to_be_in_set"}
    assert in_set == {c.name: c.values for c in entity.columns if c.type == ENUM}
    if len(entity.key) == 1:
        assert ("expect_column_values_to_be_unique", {"column": entity.key[0]}) in kinds
    else:
        assert any(t == "expect_compound_columns_to_be_unique" and k["column_list"] == list(entity.key)
                   for t, k in kinds)
    columns = set(entity.column_names)
    for _, kwargs in kinds:
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                assert kwargs[key] in columns


@pytest.mark.parametrize("name", list(ENTITIES))
def test_each_suite_file_is_written_from_the_schema(name: str) -> None:
    """`make docs` writes the suites from etl/ingest/schema.py; a file edited by hand, or a schema changed without
    rewriting them, fails here."""
    from etl.ingest.suites import suite_text
    from etl.reference import SUITES

    assert (SUITES / f"{name}.json").read_text(encoding="utf-8") == suite_text(ENTITIES[name]), \
        "run `make docs` to rewrite the suites from the schema"
