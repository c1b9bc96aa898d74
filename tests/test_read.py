"""The readers' fast paths against the rules they must keep: physical line numbers, ragged rows, timestamp forms."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from etl.ingest.read import LINE, FileRejected, _timestamp, _timestamps, cast, raw_chunks, read_raw
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


# --- a file read a piece at a time reads exactly as a file read whole ----------------------------------------------

PIECES = [
    # (name, text): blank lines, CRLF, a byte-order mark, quoted fields holding commas and line breaks, a long line
    ("plain", f"{HEADER}\n" + "".join(f"A{i},S{i % 7},P{i % 3},2025-02-01T10:00:00Z,platform,applied,\n"
                                      for i in range(400))),
    ("blank lines", "\ufeff" + f"{HEADER}\r\n" + "".join(
        f"A{i},S1,P1,2025-02-01T10:00:00Z,platform,applied,\r\n" + ("\r\n  \r\n" if i % 37 == 0 else "")
        for i in range(300))),
    ("quoted", f"{HEADER}\n" + "".join(
        f'"A{i}","S, {i}","P\n{i}",2025-02-01T10:00:00Z,platform,applied,\n' + ("\n" if i % 11 == 0 else "")
        for i in range(300))),
    ("long line", f"{HEADER}\nA0,{'S' * 5000},P1,2025-02-01T10:00:00Z,platform,applied,\nA1,S1,P1,,platform,,\n"),
]


@pytest.mark.parametrize(("name", "text"), PIECES, ids=[n for n, _ in PIECES])
@pytest.mark.parametrize("chunk", [97, 1024, 4096])
def test_a_file_read_in_pieces_reads_as_a_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                                                 text: str, chunk: int) -> None:
    path = write(tmp_path, text)
    whole = read_raw(path, ENTITIES["applications"]).frame
    monkeypatch.setattr("etl.ingest.read.CHUNK_BYTES", chunk)
    monkeypatch.setattr("etl.ingest.read.QUOTED_ROWS", 13)
    warnings, pieces = raw_chunks(path, ENTITIES["applications"])
    parts = list(pieces)
    assert len(parts) > 1 or name == "long line"  # it was read in pieces
    assert pl.concat(parts).equals(whole)
    assert whole.height >= 2


@pytest.mark.parametrize("chunk", [64, 100_000])
def test_errors_name_the_same_line_read_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
                                                  ) -> None:
    monkeypatch.setattr("etl.ingest.read.CHUNK_BYTES", chunk)
    rows = "".join(f"A{i},S1,P1,2025-02-01T10:00:00Z,platform,applied,\n" for i in range(50))
    ragged = write(tmp_path, f"{HEADER}\n{rows}\nA99,S1\n")
    with pytest.raises(FileRejected, match="line 53: ragged row: 2 fields where the header has 7"):
        read_raw(ragged, ENTITIES["applications"])
    latin = tmp_path / "applications.csv"
    latin.write_bytes(f"{HEADER}\n{rows}".encode() + "A50,Zoë,P1,,platform,,\n".encode("latin-1"))
    with pytest.raises(FileRejected, match=r"line 52: not UTF-8 \(byte 0xeb\)"):
        read_raw(latin, ENTITIES["applications"])


def _quoted_text(rng: random.Random, regular: bool) -> str:
    """A CSV text with quote characters: fields with commas, doubled quotes, newlines (LF and CRLF), empty quoted
    fields, non-ASCII text; blank, space-only and quoted-blank lines; now and then a ragged row; CRLF or LF; with or
    without a byte-order mark and a last newline. Not `regular`: one quote the csv module reads its own way."""
    def field() -> str:
        kind = rng.randrange(9)
        word = rng.choice(["A1", "S 2", "Zoë", "中文", "x" * rng.randrange(1, 30), "2025-02-01T10:00:00Z", ""])
        if kind == 0:
            return f'"{word}, {word}"'
        if kind == 1:
            return f'"{word}""{word}"""'
        if kind == 2:
            return '"' + word + rng.choice(["\n", "\r\n", "\n\n"]) + word + '"'
        if kind == 3:
            return '""'
        if kind == 4:
            return f'"{word}"'
        return word

    width = rng.randrange(2, 6)
    end = rng.choice(["\n", "\r\n"])
    blank, ragged = rng.choice([0, 0.05]), rng.choice([0, 0, 0.02])
    lines = [",".join(f'"c{i}"' if rng.random() < 0.5 else f"c{i}" for i in range(width))]
    for _ in range(rng.randrange(1, 60)):
        roll = rng.random()
        if roll < blank:
            lines.append(rng.choice(["", "", "   ", '""', '"  "']))
        elif roll < blank + ragged:
            lines.append(",".join(field() for _ in range(width + rng.choice([-1, 1]))))
        else:
            lines.append(",".join(field() for _ in range(width)))
    if not regular:
        at = rng.randrange(1, len(lines))
        lines[at] = rng.choice(['ab"c,' + lines[at], '"ab"c,' + lines[at], lines[at] + "\rx", lines[at] + ',"open'])
    text = end.join(lines) + (end if rng.random() < 0.8 else "")
    return ("\ufeff" if rng.random() < 0.2 else "") + text


def _outcome(read: Callable[[], Iterable[pl.DataFrame]]) -> pl.DataFrame | str:
    try:
        return pl.concat(list(read()), how="vertical")
    except FileRejected as err:
        return str(err)


@pytest.mark.parametrize("chunk", [64, 1 << 20])
def test_quoted_files_read_by_blocks_as_the_csv_module_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  chunk: int) -> None:
    """Files with quote characters are read block by block (`quoted_plan`, `quoted_block`) when their quoting is
    regular, and by the csv module otherwise: 400 random files give the same rows, lines and rejections both ways."""
    import etl.ingest.read as read

    monkeypatch.setattr(read, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(read, "QUOTED_ROWS", 7)
    rng = random.Random(chunk)
    planned = rejected = 0
    for case in range(400):
        path = tmp_path / f"f{case}.csv"
        regular = case % 5 != 0
        path.write_bytes(_quoted_text(rng, regular).encode())
        plan = read.quoted_plan(path)
        assert (plan is not None) == regular, path.read_bytes()
        planned += plan is not None and len(plan.blocks) > 1
        ours = _outcome(lambda: read._csv_chunks(path))  # noqa: B023
        theirs = _outcome(lambda: read._split_quoted(path))  # noqa: B023
        rejected += isinstance(theirs, str)
        if isinstance(theirs, str):
            assert ours == theirs, path.read_bytes()
        else:
            assert isinstance(ours, pl.DataFrame) and ours.equals(theirs), (path.read_bytes(), ours, theirs)
    assert rejected > 40  # ragged rows were met, and named at the same line
    if chunk == 64:
        assert planned > 200  # most files were read in several blocks


@pytest.mark.parametrize("regular", [True, False])
def test_a_field_longer_than_the_csv_modules_limit_is_read(tmp_path: Path, regular: bool) -> None:
    """Arrow's reader has no limit on a field's length; the csv module's (131,072 characters) is lifted, so both
    readers of quoted files take the same files."""
    first = "A1,S1,P1,2025-02-01T10:00:00Z,platform,applied," if regular else 'A1,S"1,P1,2025-02-01T10:00:00Z,p,a,'
    big = "x" * 200_000
    raw = read_raw(write(tmp_path, f'{HEADER}\n{first}\nA2,"{big}",P1,2025-02-01T10:00:00Z,platform,applied,\n'),
                   ENTITIES["applications"])
    assert raw.frame["student_id"].to_list()[1] == big
    assert raw.frame[LINE].to_list() == [2, 3]
