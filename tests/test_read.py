"""The readers' fast paths against the rules they must keep: physical line numbers, ragged rows, timestamp forms."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from etl.ingest.read import LINE, FileRejected, _timestamp, _timestamps, cast, read_raw
from etl.ingest.schema import ENTITIES

HEADER = "application_id,student_id,project_id,applied_at,channel,status,decided_at"
ROW = "A1,S1,P1,2025-02-01T10:00:00Z,platform,applied,"
QUOTED_ROW = '"A1",S1,P1,2025-02-01T10:00:00Z,platform,applied,'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "applications.csv"
    path.write_bytes(text.encode())
    return path


@pytest.mark.parametrize("quoted", [False, True])
def test_blank_lines_keep_physical_line_numbers(tmp_path: Path, quoted: bool) -> None:
    first = QUOTED_ROW if quoted else ROW
    text = f"{HEADER}\r\n{first}\r\n\r\n   \r\nA2,S2,P1,2025-02-02T10:00:00Z,platform,applied,\r\n"
    raw = read_raw(write(tmp_path, text), ENTITIES["applications"])
    assert raw.frame[LINE].to_list() == [2, 5]
    assert raw.frame["application_id"].to_list() == ["A1", "A2"]
    assert raw.frame["decided_at"].to_list() == [None, None]  # an empty field is missing, in both readers


@pytest.mark.parametrize("quoted", [False, True])
def test_a_short_row_after_a_blank_line_is_ragged_at_its_own_line(tmp_path: Path, quoted: bool) -> None:
    first = QUOTED_ROW if quoted else ROW
    text = f"{HEADER}\n{first}\n\nA2,S2,P1,2025-02-02T10:00:00Z,platform\n"
    with pytest.raises(FileRejected, match="line 4: ragged row: 5 fields where the header has 7"):
        read_raw(write(tmp_path, text), ENTITIES["applications"])


FORMS = {
    "2025-02-10T15:08:54Z": datetime(2025, 2, 10, 15, 8, 54),
    "2025-02-10t15:08:54z": None,
    "2025-02-10 15:08:54": datetime(2025, 2, 10, 15, 8, 54),
    "2025-02-10T15:08": datetime(2025, 2, 10, 15, 8),
    "2025-02-10T15:08:54+02:00": datetime(2025, 2, 10, 13, 8, 54),
    "2025-02-10T15:08:54.250": datetime(2025, 2, 10, 15, 8, 54),
    "2025-02-10 15:08:54Z": datetime(2025, 2, 10, 15, 8, 54),
    "2025-02-30T10:00:00Z": None,
    "10/02/2025": None,
}


def test_timestamp_fast_path_agrees_with_the_rewrite() -> None:
    text = pl.Series("t", [*FORMS, None])
    fast = _timestamps(text).to_list()
    rewritten = text.to_frame().select(_timestamp(pl.col("t")))["t"].to_list()
    assert fast == rewritten
    assert fast == [*FORMS.values(), None]


def test_unparsed_timestamps_become_type_issues_with_their_text(tmp_path: Path) -> None:
    rows = [f"A{i},S1,P1,{value},platform,applied," for i, value in enumerate(FORMS)]
    raw = read_raw(write(tmp_path, "\n".join([HEADER, *rows]) + "\n"), ENTITIES["applications"])
    typed, issues = cast(raw)
    assert typed["applied_at"].to_list() == list(FORMS.values())
    bad = [value for value, parsed in FORMS.items() if parsed is None]
    assert issues.filter(pl.col("column") == "applied_at")["value"].to_list() == bad
