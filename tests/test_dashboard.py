"""The dashboard in Streamlit's AppTest: every figure on a page equals the metrics layer's."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from etl.metrics import Filters, outcome_counts

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


def run_app(db: Path, monkeypatch: pytest.MonkeyPatch, **query: str | list[str]) -> AppTest:
    monkeypatch.setenv("MIO_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def expected_metrics(db: Path, filters: Filters) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    row = outcome_counts(con, "overall", filters).row(0, named=True)
    con.close()
    return {
        "Students engaged": f"{row['applicants']:,}",
        "Applications": f"{row['applications']:,}",
        "Selection rate": f"{row['selection_rate']:.1%}",
        "Completion rate": f"{row['completion_rate']:.1%}",
        "Offer rate": f"{row['offer_rate']:.1%}",
        "Conversion rate": f"{row['conversion_rate']:.1%}",
        "Acceptance rate": f"{row['acceptance_rate']:.1%}",
        "Median days to offer": f"{row['median_days_to_offer']:g}",
    }


def shown(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_shows_the_metrics_layer_figures(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, db = sample
    at = run_app(db, monkeypatch)
    assert shown(at) == expected_metrics(db, Filters())
    assert len(at.get("plotly_chart")) == 2


def test_overview_follows_filters_from_the_url(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, db = sample
    at = run_app(db, monkeypatch, institution="Lakeshore College", platform=["Handshake", "Riipen"])
    assert at.multiselect(key="f_institution").value == ["Lakeshore College"]
    expected = expected_metrics(db, Filters(institutions=("Lakeshore College",), platforms=("Handshake", "Riipen")))
    assert shown(at) == expected
    assert shown(at)["Applications"] != expected_metrics(db, Filters())["Applications"]
    # Changing a filter writes it back into the URL, so the link reproduces the view.
    at.multiselect(key="f_class_level").select("senior").run()
    assert at.query_params["class_level"] in ("senior", ["senior"])
    assert shown(at) == expected_metrics(db, Filters(institutions=("Lakeshore College",),
                                                     platforms=("Handshake", "Riipen"), class_levels=("senior",)))


def test_overview_ignores_unknown_url_values(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, db = sample
    at = run_app(db, monkeypatch, institution="'; drop table students; --")
    assert shown(at) == expected_metrics(db, Filters())


def test_empty_warehouse_says_what_to_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = run_app(tmp_path / "missing.duckdb", monkeypatch)
    assert not at.metric
    assert "mio load --source DIR" in at.info[0].value
