"""The expectation suites compiled to SQL (etl/ingest/rules.py) quarantine exactly what Great Expectations does.

Every expectation of every suite is broken on its own, in the hand-built source and on purpose, then all of them at
once in a generated source of a few thousand students at random rows; each source is loaded both ways (a dry run)
and the quarantines, the per-expectation summaries and the row counts must be equal, row for row."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from etl.generate import generate
from etl.ingest.load import LoadResult
from etl.ingest.rules import UnsupportedRule, load_suite_dict, rules
from etl.ingest.schema import DATE, DECIMAL, ENTITIES, INT, TIMESTAMP
from etl.pipeline import load
from tests.conftest import HAND, write_source

BREAKABLE = [(name, i) for name in ENTITIES for i in range(len(load_suite_dict(name)["expectations"]))]


def _rows(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    parsed = list(csv.reader(io.StringIO("\n".join(lines))))
    return parsed[0], parsed[1:]


def _lines(header: list[str], rows: list[list[str]]) -> list[str]:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue().splitlines()


def _earlier(kind: str, fraction: bool) -> str:
    if kind == DATE:
        return "2000-01-01"
    return "2000-01-01 00:00:00.250" if fraction else "2000-01-01T00:00:00Z"


def _break(entity: str, index: int, header: list[str], rows: list[list[str]], at: list[int]) -> None:
    """Make rows `at` (indexes into rows, at least two) break expectation `index` of the entity's suite."""
    expectation = load_suite_dict(entity)["expectations"][index]
    kind, kw = expectation["type"], expectation["kwargs"]
    types = {c.name: c.type for c in ENTITIES[entity].columns}
    col = {name: i for i, name in enumerate(header)}
    if kind == "expect_column_values_to_not_be_null":
        for r in at:
            rows[r][col[kw["column"]]] = ""
            if kw.get("row_condition"):
                rows[r][col["status"]] = "completed"
    elif kind == "expect_column_values_to_be_in_set":
        for n, r in enumerate(at):
            rows[r][col[kw["column"]]] = ["zzz", "Platforms", "N/A"][n % 3]
    elif kind == "expect_column_values_to_be_between":
        for n, r in enumerate(at):
            low, high = kw.get("min_value"), kw.get("max_value")
            bad = (low - 1 if high is None or n % 2 == 0 else high + 1)
            rows[r][col[kw["column"]]] = (f"{bad:g}" if types[kw["column"]] == INT else
                                          f"{bad - 0.5:g}" if types[kw["column"]] == DECIMAL and n % 3 == 2
                                          else f"{bad:g}")
    elif kind == "expect_column_values_to_be_unique":
        c = col[kw["column"]]
        for r in at[1:]:
            rows[r][c] = rows[at[0]][c]
    elif kind == "expect_compound_columns_to_be_unique":
        for r in at[1:]:
            for name in kw["column_list"]:
                rows[r][col[name]] = rows[at[0]][col[name]]
        rows.append(list(rows[at[0]]))  # the same key once more: three rows of one key
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kw["column_A"], kw["column_B"]
        for n, r in enumerate(at):
            if not rows[r][col[b]]:
                rows[r][col[b]] = _earlier(types[b], False).replace("2000", "2001")
            rows[r][col[a]] = _earlier(types[a], fraction=n % 2 == 1)
    else:
        raise AssertionError(f"no way to break {kind}")


@pytest.fixture(autouse=True, scope="module")
def _each_unchanged_file_validated_once() -> Iterator[None]:
    """Great Expectations' answer for a file it has validated before in this module, unchanged, is its answer again
    (a case's referenced files are the hand-built ones every time; only the broken file is new): GX's cost is per
    suite, most of these tests' time. The broken file and the generated source are always validated afresh."""
    from etl.ingest import validate as gx

    answers: dict[tuple[str, str], tuple[pl.DataFrame, list]] = {}
    run = gx.validate

    def remembered(entity: str, typed: pl.DataFrame) -> tuple[pl.DataFrame, list]:
        key = (entity, hashlib.sha256(typed.write_ipc(None).getvalue()).hexdigest())
        if key not in answers:
            answers[key] = run(entity, typed)
        return answers[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gx, "validate", remembered)
        yield


def _both(source: Path, tmp_path: Path) -> tuple[LoadResult, LoadResult]:
    results = []
    for validator in ("gx", "sql"):
        result = load(source, tmp_path / f"{validator}.duckdb", max_bad_rows=1, dry_run=True, validator=validator)
        assert result.ok, result.reason
        results.append(result)
    return results[0], results[1]


def assert_same_validation(gx: LoadResult, sql: LoadResult) -> None:
    by_all = pl.all().sort_by(pl.all())  # a quarantine is a set of rows; compare them in one order
    assert gx.quarantine.select(by_all).equals(sql.quarantine.select(by_all)), (
        f"GX only:\n{gx.quarantine.join(sql.quarantine, on=gx.quarantine.columns, how='anti', nulls_equal=True)}\n"
        f"SQL only:\n{sql.quarantine.join(gx.quarantine, on=gx.quarantine.columns, how='anti', nulls_equal=True)}")
    assert gx.quarantine.sort(pl.all()).equals(sql.quarantine.sort(pl.all()))
    # Great Expectations gives its results grouped its own way; a summary is one row per expectation, in any order.
    summary = sorted(tuple(vars(e).values()) for e in gx.expectations)
    assert summary == sorted(tuple(vars(e).values()) for e in sql.expectations)
    assert len(summary) == sum(len(load_suite_dict(f.entity)["expectations"]) for f in gx.files)
    assert [(f.file, f.rows_read, f.rows_quarantined) for f in gx.files] == \
        [(f.file, f.rows_read, f.rows_quarantined) for f in sql.files]


def _with_parents(entity: str) -> set[str]:
    """The entity and every entity its references point at, through theirs."""
    return {entity}.union(*(_with_parents(ref.entity) for ref in ENTITIES[entity].references))


@pytest.mark.parametrize(("entity", "index"), BREAKABLE, ids=[f"{e}-{i}" for e, i in BREAKABLE])
def test_each_expectation_broken_alone_quarantines_the_same_rows(entity: str, index: int, tmp_path: Path) -> None:
    """The hand-built file with one expectation broken, beside the files it references (the others are left out:
    Great Expectations' cost is per suite, and they would be validated unchanged every time)."""
    header, rows = _rows(HAND[entity])
    _break(entity, index, header, rows, at=[0, 1])
    source = write_source(tmp_path / "source", {name: HAND[name] for name in _with_parents(entity)}
                          | {entity: _lines(header, rows)})
    gx, sql = _both(source, tmp_path)
    assert_same_validation(gx, sql)
    broken = [e for e in sql.expectations if e.entity == entity][index]
    assert broken.unexpected_count >= 2 and not broken.success  # the case does break what it means to break
    assert sql.quarantine.filter(pl.col("rule") == broken.expectation).height >= 2


def every_expectation_broken(folder: Path) -> Path:
    """A generated source of 3,000 students in which every expectation of every suite is broken at three random
    rows, and every typed column holds a value of the wrong type at one."""
    generate(folder, students=3000, seed=11)
    rng = random.Random(5)
    for entity in ENTITIES:
        path = folder / f"{entity}.csv"
        header, rows = _rows(path.read_text(encoding="utf-8").splitlines())
        for index in range(len(load_suite_dict(entity)["expectations"])):
            at = rng.sample(range(len(rows)), 3)
            _break(entity, index, header, rows, at)
        # Values that are not of their type: a type issue, never an expectation's failure too.
        typed = [c.name for c in ENTITIES[entity].columns if c.type in (DATE, TIMESTAMP, INT, DECIMAL)]
        for name in typed:
            rows[rng.randrange(len(rows))][header.index(name)] = "n/a"
        path.write_text("\n".join(_lines(header, rows)) + "\n", encoding="utf-8")
    return folder


def test_every_expectation_broken_at_random_rows_of_a_generated_source(tmp_path: Path) -> None:
    gx, sql = _both(every_expectation_broken(tmp_path / "generated"), tmp_path)
    assert_same_validation(gx, sql)
    assert sql.quarantine.height > 100
    assert all(not e.success for e in sql.expectations)  # every expectation of every suite was broken


def test_an_expectation_the_compiler_does_not_know_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    suite = load_suite_dict("employers")
    suite["expectations"].append({"type": "expect_column_value_lengths_to_be_between",
                                  "kwargs": {"column": "state", "min_value": 2, "max_value": 2}})
    folder = tmp_path / "suites"
    folder.mkdir()
    for name in ENTITIES:
        (folder / f"{name}.json").write_text(
            json.dumps(suite if name == "employers" else load_suite_dict(name)))
    monkeypatch.setattr("etl.ingest.rules.EXPECTATIONS_DIR", folder)
    rules.cache_clear()
    try:
        with pytest.raises(UnsupportedRule, match="expect_column_value_lengths_to_be_between"):
            rules("employers")
    finally:
        rules.cache_clear()
