"""The derived tables hold together (unique keys, relationships, accepted values, row counts): the data tests of
etl/ingest/sql/tests.yaml. They also run inside every load of the test suite (MIO_CHECK_MODELS=1, set in conftest)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from etl.ingest.model_tests import check_models, model_tests
from etl.pipeline import load
from tests.conftest import HAND, write_source


def test_the_hand_built_warehouse_passes(hand_db: Path) -> None:
    con = duckdb.connect(str(hand_db), read_only=True)
    assert check_models(con) == []


def test_the_sample_passes(sample: tuple[Path, Path]) -> None:
    con = duckdb.connect(str(sample[1]), read_only=True)
    assert check_models(con) == []


def test_every_derived_table_has_tests() -> None:
    folder = Path(__file__).resolve().parents[1] / "etl" / "ingest" / "sql"
    sql = " ".join(p.read_text() for p in folder.glob("*.sql"))
    built = {w.split()[0] for w in sql.split("create or replace table ")[1:]}
    assert built <= set(model_tests()), built - set(model_tests())


@pytest.mark.parametrize(("breakage", "failure"), [
    ("insert into fact_applications select * from fact_applications limit 1", "fact_applications: 1 repeated"),
    ("update fact_applications set pay_band = '30+' where application_id = 'A1'", "fact_applications.pay_band"),
    ("delete from placement_outcomes where placement_id = 'PL1'", "placement_outcomes: 5 rows"),
    ("update offer_attribution set placement_id = 'PL404' where offer_id = 'O1'", "offer_attribution.placement_id"),
    ("update fact_applications set term = null where application_id = 'A2'", "fact_applications.term: 1 nulls"),
])
def test_each_kind_of_test_can_fail(tmp_path: Path, breakage: str, failure: str) -> None:
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", HAND), db).ok
    con = duckdb.connect(str(db))
    con.execute(breakage)
    failures = check_models(con)
    con.close()
    assert any(f.startswith(failure) for f in failures), failures
