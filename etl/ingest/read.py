"""Reading a source folder: find each entity's file, read it as text, and cast it to the contract's types.

Every value is read as text first so that a value that does not parse can be quarantined with its line, column and
the offending text, instead of failing the whole file or turning silently into null.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from etl.ingest.schema import BOOL, DATE, DECIMAL, ENTITIES, ENUM, FORMATS, INT, TIMESTAMP, Entity

LINE = "__line"  # the line of the row in its file (CSV, JSON lines), or its 1-based record number otherwise
ISSUE_SCHEMA = {"line": pl.Int64, "column": pl.String, "rule": pl.String, "value": pl.String}

TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"
# A CSV file is read in pieces of about this many bytes (whole lines), so that no step holds a whole file; on the
# Spark engine, a piece is one task's block (MIO_READ_BLOCK_BYTES).
CHUNK_BYTES = int(os.environ.get("MIO_READ_BLOCK_BYTES", 16 << 20))
QUOTED_ROWS = 200_000  # rows per piece of a CSV file with quoted fields (read by the csv module)
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, dropped from the start of a file


class FileRejected(Exception):
    """A file that cannot be read as its format; the whole source is rejected with this one-line reason."""

    def __init__(self, file: str, where: str, why: str) -> None:
        self.file, self.where, self.why = file, where, why
        super().__init__(f"{file}: {where}: {why}" if where else f"{file}: {why}")


@dataclass
class RawFile:
    entity: Entity
    path: Path
    frame: pl.DataFrame  # all columns text, plus LINE
    warnings: list[str]


MAP_HINT = "to load a file in another shape, draft a mapping with `mio map --source {source}`"
MAPPING_SUFFIXES = (".yaml", ".yml")


def data_files(source: Path) -> list[Path]:
    """The files of a source folder that hold data (hidden files, folders and mapping files are not data)."""
    if not source.is_dir():
        raise FileRejected(str(source), "", "source is not a folder")
    return [p for p in sorted(source.iterdir())
            if not p.name.startswith(".") and p.is_file() and p.suffix.lower() not in MAPPING_SUFFIXES]


def discover(source: Path, skip: set[Path] | None = None, known: set[str] | None = None
             ) -> tuple[dict[str, Path], list[str]]:
    """Map each entity to its file in the source folder, and the warnings about files left aside.

    Without a mapping (`skip` and `known` empty) an unknown or doubled file rejects the source. With one, `skip`
    holds the files the mapping reads and `known` the entities it feeds: any other file that is not named after an
    entity, or is named after a mapped entity, is ignored with a warning.
    """
    mapped = skip is not None
    skip, known = skip or set(), known or set()
    found: dict[str, Path] = {}
    warnings: list[str] = []
    for path in data_files(source):
        if path in skip:
            continue
        suffix = path.suffix.lower()
        entity = path.stem.strip().lower()
        if mapped and (entity not in ENTITIES or entity in known or suffix not in FORMATS):
            why = "the mapping feeds that entity" if entity in known else "the mapping does not name it"
            warnings.append(f"{path.name}: ignored ({why})")
            continue
        if suffix not in FORMATS:
            formats = ", ".join(FORMATS)
            raise FileRejected(path.name, "", f"unsupported format {suffix or '(none)'}; use one of {formats}")
        if entity not in ENTITIES:
            headers = _peek_headers(path)
            found_text = f"; its columns are {', '.join(headers)}" if headers else ""
            raise FileRejected(path.name, "", f"unknown entity {path.stem!r}: a file is named after the entity it "
                                              f"holds ({', '.join(ENTITIES)}){found_text}; "
                                              + MAP_HINT.format(source=source))
        if entity in found:
            raise FileRejected(path.name, "", f"a second file for {entity} (also {found[entity].name})")
        found[entity] = path
    if not found and not mapped:
        raise FileRejected(str(source), "", "no input files in the folder")
    return found, warnings


def _peek_headers(path: Path) -> list[str]:
    try:
        return [c for c in read_text_table(path, header_only=True).columns if c != LINE]
    except FileRejected:
        return []


def _blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """The file in blocks of whole lines (the last may lack its newline), each with the line number it starts at;
    a byte-order mark is dropped and every block is checked to be UTF-8 (a block ends at a newline byte, which is
    never inside a character)."""
    line = 1
    rest = b""
    with path.open("rb") as handle:
        first = True
        while True:
            data = handle.read(CHUNK_BYTES)
            block = rest + data
            if first:
                block = block.removeprefix(BOM)
                first = False
            cut = block.rfind(b"\n") + 1 if data else len(block)
            if cut == 0 and data:
                rest = block
                continue
            block, rest = block[:cut], block[cut:]
            if block:
                try:
                    block.decode("utf-8")
                except UnicodeDecodeError as err:
                    where = line + block[: err.start].count(b"\n")
                    raise FileRejected(path.name, f"line {where}",
                                       f"not UTF-8 (byte 0x{block[err.start]:02x})") from None
                yield line, block
                line += block.count(b"\n")
            if not data:
                return


def _csv_chunks(path: Path) -> Iterator[pl.DataFrame]:
    """A CSV file as frames of its own headers (text) and LINE, a piece of about CHUNK_BYTES at a time, in order.

    Each record keeps its physical line for the quarantine; a ragged row rejects the file (a reader that pads a
    short row with nulls would hide it), and blank lines are not records. At least one frame is given (a file with
    a header and no rows gives an empty one)."""
    quoted, blank = False, True
    with path.open("rb") as handle:
        for data in iter(lambda: handle.read(CHUNK_BYTES), b""):
            quoted = quoted or b'"' in data
            blank = blank and not data.removeprefix(BOM).strip()
    if blank:
        # A file of only blank space is empty; so is one that is not UTF-8 as far as it goes (said first).
        for _ in _blocks(path):
            pass
        raise FileRejected(path.name, "", "empty file")
    if not quoted:
        yield from _split_unquoted(path)
        return
    plan = quoted_plan(path)
    yield from (_planned_blocks(path, plan) if plan else _split_quoted(path))


def _read_csv(path: Path) -> pl.DataFrame:
    return pl.concat(list(_csv_chunks(path)), how="vertical")


def _ragged(name: str, line: int, fields: int, width: int) -> FileRejected:
    return FileRejected(name, f"line {line}", f"ragged row: {fields} fields where the header has {width}")


def _header(names: list[str], name: str) -> list[str]:
    seen: set[str] = set()
    for column in names:
        if column in seen:
            raise FileRejected(name, "header", f"column {column.strip().lower()!r} appears twice")
        seen.add(column)
    return names


def _split_unquoted(path: Path) -> Iterator[pl.DataFrame]:
    """Without quote characters a record is a line and fields are commas apart: split each block vectorized
    (`unquoted_block`)."""
    header: list[str] = []
    header_line = b""
    for start, block in _blocks(path):
        first = 0
        if not header:
            header_line = block.split(b"\n", 1)[0] + b"\n"
            header = _header(header_line.decode("utf-8").rstrip("\r\n").split(","), path.name)
            first = 1
        yield unquoted_block(path.name, start, block, header, header_line, first)
    if not header:
        raise FileRejected(path.name, "", "empty file")


def unquoted_block(name: str, start: int, block: bytes, header: list[str], header_line: bytes,
                   first: int) -> pl.DataFrame:
    """One block of whole lines of an unquoted CSV file (starting at line `start`; `first` 1 when the block begins
    with the header) as a frame of the header's columns (text) and LINE; a ragged row rejects the file.

    Polars reads the block's lines as one column (with a separator byte the block does not hold), keeps blank ones
    as nulls and checks the comma count of each. Ten million rows: 2.5 s, against 6.5 s splitting a Python string.
    Then Polars parses the block, or, when blank lines would shift its rows, the checked lines are split instead.
    Used by this module's reader, a block after another, and by the Spark engine, a block per task."""
    separator = next((chr(b) for b in range(1, 9) if bytes([b]) not in block), None)
    if separator is None:
        raise FileRejected(name, "", "holds every control character from \\x01 to \\x08; not a CSV file")
    physical = pl.read_csv(io.BytesIO(block), has_header=False, separator=separator, quote_char=None,
                           new_columns=["text"], infer_schema=False)["text"]
    width = len(header)
    body = (physical.slice(first).to_frame().with_row_index("index")
            .filter(pl.col("text").is_not_null() & (pl.col("text").str.strip_chars() != "")))
    fields = body["text"].str.count_matches(",", literal=True) + 1
    wrong = body.filter(fields != width)
    if wrong.height:
        bad = wrong.row(0, named=True)
        raise _ragged(name, int(bad["index"]) + start + first, bad["text"].count(",") + 1, width)
    lines = (body["index"] + start + first).cast(pl.Int64).alias(LINE)
    if body.height == physical.len() - first:  # no blank line: Polars' own parser gives the same rows, faster
        text = block if first else header_line + block
        frame = pl.read_csv(io.BytesIO(text), infer_schema=False, has_header=True)
        if frame.columns != header:  # polars renames a blank header; keep the file's own
            frame.columns = header
        return frame.with_columns(lines)
    split = body["text"].str.split_exact(",", width - 1).struct.rename_fields(header).struct.unnest()
    return split.with_columns(lines)


@dataclass
class Block:
    offset: int  # where the block starts in the file, in bytes
    length: int
    line: int  # the line it starts at


@dataclass
class CsvPlan:
    """Where each block of a CSV file starts, so that the blocks can be read apart (`plan_block`): one after the
    other here, or each in its own task on the Spark engine's executors."""

    header: list[str]
    header_line: bytes  # the header as the file writes it (unquoted files)
    blocks: list[Block]
    quoted: bool = False  # the file has quote characters: blocks end at records, not lines


def csv_plan(path: Path) -> CsvPlan | None:
    """`unquoted_plan`, else (the file has quote characters) `quoted_plan`."""
    return unquoted_plan(path) or quoted_plan(path)


def plan_block(plan: CsvPlan, name: str, number: int, data: bytes) -> pl.DataFrame:
    """Block `number` of a planned file, its bytes `data`, as a frame of the header's columns (text) and LINE."""
    block = plan.blocks[number]
    if plan.quoted:
        return quoted_block(name, block.line, data, plan.header, int(number == 0))
    return unquoted_block(name, block.line, data, plan.header, plan.header_line, int(number == 0))


def _planned_blocks(path: Path, plan: CsvPlan) -> Iterator[pl.DataFrame]:
    with path.open("rb") as handle:
        for number, block in enumerate(plan.blocks):
            handle.seek(block.offset)
            yield plan_block(plan, path.name, number, handle.read(block.length))


def unquoted_plan(path: Path) -> CsvPlan | None:
    """Where each block of lines of a CSV file starts (the blocks `_split_unquoted` reads), for readers that read
    the blocks elsewhere (the Spark engine's executors); None when the file has a quote character (a record may span
    lines: `quoted_plan`) or a block that is not UTF-8: such a file is read here, block after block."""
    blocks: list[Block] = []
    header: list[str] = []
    header_line = b""
    with path.open("rb") as handle:
        offset = len(BOM) if handle.read(len(BOM)) == BOM else 0
    try:
        for line, block in _blocks(path):
            if b'"' in block:
                return None
            if not header:
                header_line = block.split(b"\n", 1)[0] + b"\n"
                header = _header(header_line.decode("utf-8").rstrip("\r\n").split(","), path.name)
            blocks.append(Block(offset, len(block), line))
            offset += len(block)
    except FileRejected:
        return None
    return CsvPlan(header, header_line, blocks) if header else None


def _split_quoted(path: Path) -> Iterator[pl.DataFrame]:
    """With quotes, fields may hold commas and newlines: the csv module gives each record and its line, and a piece
    of QUOTED_ROWS records at a time becomes a frame. The reader of the files whose quoting `quoted_plan` does not
    take; the others are read by `quoted_block`, with the same rows, lines and rejections."""
    text = itertools.chain.from_iterable(io.StringIO(block.decode("utf-8"), newline="") for _, block in _blocks(path))
    reader = csv.reader(text)
    header = _header(next(_checked_rows(path.name, reader, 0)), path.name)
    yield from _csv_records(path.name, reader, header, 0)


def _csv_records(name: str, reader: Any, header: list[str], offset: int) -> Iterator[pl.DataFrame]:
    """The csv module's records after the header, QUOTED_ROWS at a time, each at its last physical line (the
    reader's line plus `offset`); at least one frame. A blank line is not a record; a ragged row rejects the file."""
    width = len(header)
    given = False
    rows_of = _checked_rows(name, reader, offset)
    while True:
        lines: list[int] = []
        rows: list[list[str]] = []
        for row in rows_of:
            if len(row) != width:
                if len(row) == 0 or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line, e.g. a trailing one, is not a record
                raise _ragged(name, reader.line_num + offset, len(row), width)
            lines.append(reader.line_num + offset)
            rows.append(row)
            if len(rows) == QUOTED_ROWS:
                break
        if not rows and given:
            return
        columns = list(zip(*rows, strict=True)) if rows else [()] * width
        frame = pl.DataFrame({column: pl.Series(column, values, dtype=pl.String)
                              for column, values in zip(header, columns, strict=True)})
        yield frame.with_columns(pl.Series(LINE, lines, dtype=pl.Int64))
        given = True
        if len(rows) < QUOTED_ROWS:
            return


def _checked_rows(name: str, reader: Any, offset: int) -> Iterator[list[str]]:
    """The csv module's rows; what it cannot read (a NUL byte, say) rejects the file at its line."""
    csv.field_size_limit(2**31 - 1)  # no limit short of memory, as Arrow's reader has none (the default: 131,072)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise FileRejected(name, f"line {reader.line_num + offset}", f"not readable as CSV ({err})") from None
        yield row


QUOTE, COMMA, NEWLINE, RETURN = 34, 44, 10, 13


def _regular(data: np.ndarray, quotes: np.ndarray) -> bool:
    """Whether a run of whole records is quoted as RFC 4180 writes it, so that a newline ends a record exactly
    when an even number of quote characters stands before it: every quoted field opens at the start of a field
    and closes at its end, a quote inside one is doubled, no line ends in a lone carriage return, and no byte is
    NUL. The csv module reads such text the same way; any other text is left to it."""
    if len(quotes) % 2 or (data == 0).any():
        return False
    returns = np.flatnonzero(data == RETURN)
    if len(returns) and (returns[-1] == len(data) - 1 or (data[returns + 1] != NEWLINE).any()):
        return False
    opens, closes = quotes[0::2], quotes[1::2]
    before = data[opens[opens > 0] - 1]
    if not np.isin(before, (COMMA, NEWLINE, QUOTE)).all():
        return False
    after = closes[closes < len(data) - 1] + 1
    return bool(np.isin(data[after], (COMMA, NEWLINE, RETURN, QUOTE)).all())


def quoted_plan(path: Path) -> CsvPlan | None:
    """Where each block of a CSV file with quote characters starts: blocks of about CHUNK_BYTES of whole records,
    cut at a newline with an even number of quotes before it. None (the csv module reads the file, `_split_quoted`)
    when a block's quoting is not regular (`_regular`), a block is not UTF-8 or the header has fewer than two
    columns. One pass at I/O speed: a million applications (100 MB, every field quoted) in about 0.3 s."""
    blocks: list[Block] = []
    header: list[str] = []
    line = 1
    with path.open("rb") as handle:
        offset = len(BOM) if handle.read(len(BOM)) == BOM else 0
        handle.seek(offset)
        rest = b""
        while True:
            data = handle.read(CHUNK_BYTES)
            text = rest + data
            if not text:
                break
            bytes_ = np.frombuffer(text, dtype=np.uint8)
            quotes = np.flatnonzero(bytes_ == QUOTE)
            cut = len(text)
            if data:  # cut after the last newline with an even number of quotes before it
                cut = text.rfind(b"\n")
                while cut >= 0 and np.searchsorted(quotes, cut) % 2:
                    cut = text.rfind(b"\n", 0, cut)
                if cut < 0:
                    rest = text
                    continue
                cut += 1
            block, rest = text[:cut], text[cut:]
            if not _regular(bytes_[:cut], quotes[quotes < cut]):
                return None
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                return None
            if not header:
                header = next(csv.reader(io.StringIO(block.decode("utf-8"), newline="")), [])
                if len(header) < 2:
                    return None
                _header(header, path.name)
            blocks.append(Block(offset, cut, line))
            offset += cut
            line += block.count(b"\n")
            if not data:
                break
    return CsvPlan(header, b"", blocks, quoted=True) if header else None


def quoted_block(name: str, start: int, block: bytes, header: list[str], first: int) -> pl.DataFrame:
    """One block of whole records of a regularly quoted CSV file (`quoted_plan`), starting at line `start`, as a
    frame of the header's columns (text) and LINE, the same as the csv module gives (`_csv_records`).

    The records end at the newlines with an even number of quotes before them, each record at the line of its last
    newline. Arrow's CSV reader parses the records (an empty line is not one) and rejects any with another number
    of fields; then, or if its rows do not match the records, the csv module reads the block instead, to tell a blank
    line from a ragged row and name the line. A million applications with every field quoted: 0.5 s, against 6 s
    by the csv module."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = np.frombuffer(block, dtype=np.uint8)
    quotes = np.flatnonzero(data == QUOTE)
    newlines = np.flatnonzero(data == NEWLINE)
    ends = np.flatnonzero((np.searchsorted(quotes, newlines) & 1) == 0)
    stops = newlines[ends] + 1
    lines = start + ends
    if len(block) > (int(stops[-1]) if len(stops) else 0):  # the last record, without its newline
        stops = np.append(stops, len(block))
        lines = np.append(lines, start + len(newlines))
    begins = np.concatenate(([0], stops[:-1])).astype(np.int64)
    ending = data[stops - 1] == NEWLINE  # all but perhaps the last record
    crlf = ending & (stops - begins >= 2) & (data[np.maximum(stops - 2, 0)] == RETURN)
    keep = stops - begins - ending - crlf > 0  # an empty line is not a record
    keep[:first] = False
    body = block[int(begins[first]) if first < len(begins) else len(block):]
    kept = lines[keep].astype(np.int64)
    if len(kept):
        try:
            table = pacsv.read_csv(
                io.BytesIO(body),
                read_options=pacsv.ReadOptions(column_names=header),
                parse_options=pacsv.ParseOptions(newlines_in_values=len(ends) < len(newlines)),
                convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False))
        except pa.ArrowInvalid:
            table = None
        if table is None or table.num_rows != len(kept):
            reader = csv.reader(io.StringIO(block.decode("utf-8"), newline=""))
            for _ in range(first):
                next(reader)
            return pl.concat(list(_csv_records(name, reader, header, start - 1)), how="vertical")
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
    else:
        frame = pl.DataFrame(schema=dict.fromkeys(header, pl.String))
    return frame.with_columns(pl.Series(LINE, kept, dtype=pl.Int64))


def _read_json(path: Path) -> pl.DataFrame:
    text = path.read_bytes()
    if not text.strip():
        raise FileRejected(path.name, "", "empty file")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as err:
        line = text[: err.start].count(b"\n") + 1
        raise FileRejected(path.name, f"line {line}", "not UTF-8") from None
    is_array = text.lstrip()[:1] == b"["
    try:
        frame = pl.read_json(io.BytesIO(text), infer_schema_length=None) if is_array else pl.read_ndjson(
            io.BytesIO(text), infer_schema_length=None
        )
    except Exception as err:  # Polars raises several error types for malformed JSON
        raise FileRejected(path.name, "", f"not valid JSON ({str(err).splitlines()[0][:160]})") from None
    if is_array:
        lines = pl.int_range(1, frame.height + 1, eager=True)
    else:
        physical = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip()]
        lines = pl.Series(physical[: frame.height])
    return frame.with_columns(lines.cast(pl.Int64).alias(LINE))


def _read_table(path: Path, sheet: str | None = None) -> pl.DataFrame:
    try:
        is_excel = path.suffix.lower() == ".xlsx"
        # The first sheet (or the one named), every cell as text (infer_schema_length=0), like a CSV.
        frame = (pl.read_excel(path, sheet_name=sheet, infer_schema_length=0) if is_excel
                 else pl.read_parquet(path))
    except Exception as err:
        detail = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise FileRejected(path.name, "", f"not a readable {path.suffix[1:]} file ({detail})") from None
    first = 2 if is_excel else 1  # a sheet's row number (the header is row 1); a Parquet file's record number
    return frame.with_columns(pl.int_range(first, frame.height + first, dtype=pl.Int64).alias(LINE))


def read_text_table(path: Path, sheet: str | None = None, header_only: bool = False) -> pl.DataFrame:
    """One file as it is: its own headers, every value as text, and LINE (the row's line or record number).

    A file with a header and no rows is an empty table; a file without even a header is rejected."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise FileRejected(path.name, "", f"unsupported format {suffix or '(none)'}; use one of {', '.join(FORMATS)}")
    if header_only and suffix == ".csv":
        with path.open("rb") as handle:
            first = handle.readline().removeprefix(BOM).decode("utf-8", errors="replace")
        if not first.strip():
            raise FileRejected(path.name, "", "empty file")
        return pl.DataFrame(schema=[*next(csv.reader([first])), LINE])
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".json", ".jsonl", ".ndjson"):
        return _read_json(path)
    return _read_table(path, sheet)


def _table_chunks(path: Path) -> Iterator[pl.DataFrame]:
    """`read_text_table` a piece at a time: a CSV file in blocks of lines, a Parquet file a row group at a time,
    the rest whole."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_chunks(path)
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(path)
            batches = parquet.iter_batches(batch_size=QUOTED_ROWS)
        except Exception as err:
            detail = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
            raise FileRejected(path.name, "", f"not a readable parquet file ({detail})") from None
        first = 1
        schema = pl.from_arrow(parquet.schema_arrow.empty_table())
        given = False
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame.with_columns(pl.int_range(first, frame.height + first, dtype=pl.Int64).alias(LINE))
            first += frame.height
            given = True
        if not given:
            assert isinstance(schema, pl.DataFrame)
            yield schema.with_columns(pl.lit(None, dtype=pl.Int64).alias(LINE))
    else:
        yield read_text_table(path)


def raw_chunks(path: Path, entity: Entity) -> tuple[list[str], Iterator[pl.DataFrame]]:
    """One file's rows as text columns named by the contract (case-insensitive, trimmed headers), a piece at a time:
    the warnings about its header, and the pieces (at least one). A header without a required column rejects the
    file before any row is given."""
    pieces = _table_chunks(path)
    frame = next(pieces)
    renamed, warnings = contract_names(frame, path, entity)

    def contract(piece: pl.DataFrame) -> pl.DataFrame:
        return contract_columns(piece.rename(renamed), entity)

    return warnings, (contract(piece) for piece in itertools.chain([frame], pieces))


def contract_names(frame: pl.DataFrame, path: Path, entity: Entity) -> tuple[dict[str, str], list[str]]:
    """A file's first piece: its headers renamed to the contract's names (case-insensitive, trimmed) and the warnings
    about them; a repeated column or a header without a required column rejects the file."""
    renamed: dict[str, str] = {}
    for col in frame.columns:
        if col == LINE:
            continue
        name = col.strip().lower()
        if name in renamed.values():
            raise FileRejected(path.name, "header", f"column {name!r} appears twice")
        renamed[col] = name
    missing = [c for c in entity.required_columns if c not in renamed.values()]
    if missing and not (frame.height == 0 and len(frame.columns) == 1):  # `[]` in JSON: no rows, no columns
        plural = "s" * (len(missing) > 1)
        found = [c for c in renamed]
        raise FileRejected(path.name, "header", f"missing required column{plural} {', '.join(missing)} (found "
                                                f"{', '.join(found) or 'no columns'}); "
                                                + MAP_HINT.format(source=path.parent))
    known = set(entity.column_names)
    extra = [c for c in renamed.values() if c not in known]
    return renamed, [f"{path.name}: ignored extra column{'s' * (len(extra) > 1)} {', '.join(extra)}"] if extra else []


def read_raw(path: Path, entity: Entity) -> RawFile:
    """Read one file whole as text columns named by the contract (case-insensitive, trimmed headers)."""
    warnings, pieces = raw_chunks(path, entity)
    frame = pl.concat(list(pieces), how="vertical")
    if frame.height == 0:
        warnings.append(f"{path.name}: a header and no rows: an empty table, nothing loaded")
    return RawFile(entity, path, frame, warnings)


def contract_columns(frame: pl.DataFrame, entity: Entity) -> pl.DataFrame:
    """LINE and the entity's columns in contract order, trimmed text with empty strings as null; absent ones null."""
    text_cols = []
    for col in entity.column_names:
        if col in frame.columns:
            value = pl.col(col).cast(pl.String).str.strip_chars()
            text_cols.append(pl.when(value == "").then(None).otherwise(value).alias(col))
        else:
            text_cols.append(pl.lit(None, dtype=pl.String).alias(col))
    return frame.select(pl.col(LINE), *text_cols)


def _parse(col: str, kind: str) -> pl.Expr:
    text = pl.col(col)
    if kind == BOOL:
        low = text.str.to_lowercase()
        return pl.when(low.is_in(TRUE_WORDS)).then(True).when(low.is_in(FALSE_WORDS)).then(False).otherwise(None)
    if kind == DATE:
        # Spreadsheets and Parquet timestamps write a date as midnight: accept that, nothing else.
        day = text.str.replace(r"[ T]00:00(:00(\.0+)?)?$", "")
        return day.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    if kind == TIMESTAMP:
        return _timestamp(text)
    if kind == INT:
        return pl.when(text.str.contains(r"^[+-]?\d+$")).then(text).otherwise(None).cast(pl.Int64, strict=False)
    if kind == DECIMAL:
        return pl.when(text.str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)$")).then(text).otherwise(None).cast(
            pl.Float64, strict=False
        )
    if kind == ENUM:
        return text.str.to_lowercase()
    return text


def _timestamp(text: pl.Expr) -> pl.Expr:
    """Every accepted timestamp form rewritten to YYYY-MM-DDTHH:MM:SS+HH:MM and parsed once, as naive UTC (every
    timestamp is compared and grouped in one zone). A third of the time of trying each format in turn."""
    norm = (
        text.str.replace(" ", "T", literal=True)
        .str.replace(r"[Zz]$", "+00:00")
        .str.replace(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})([+-]\d{2}:\d{2})?$", "${1}:00${2}")
        .str.replace(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?$", "${1}+00:00")
    )
    return norm.str.strptime(pl.Datetime("us", "UTC"), TIMESTAMP_FORMAT, strict=False).dt.replace_time_zone(None)


def _timestamps(text: pl.Series) -> pl.Series:
    """_timestamp over a column, with a fast path: the common `2025-02-10T15:08:54Z` parses directly (a fifteenth
    of the rewrite's time), and only the values it does not take go through the rewrite."""
    parsed = text.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%SZ", strict=False).dt.replace_time_zone(None)
    rest = (parsed.is_null() & text.is_not_null()).arg_true()
    if rest.len():
        slow = text.gather(rest).to_frame("text").select(_timestamp(pl.col("text")))["text"]
        parsed = parsed.scatter(rest, slow)
    return parsed.alias(text.name)


def cast(raw: RawFile) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast text columns to the contract types; values that do not parse become type issues (and null)."""
    entity = raw.entity
    frame = raw.frame
    typed = frame.select(pl.col(LINE), *[
        _parse(c.name, c.type).alias(c.name) for c in entity.columns if c.type != TIMESTAMP
    ]).with_columns(_timestamps(frame[c.name]) for c in entity.columns if c.type == TIMESTAMP)
    typed = typed.select(LINE, *[c.name for c in entity.columns])
    issues = []
    for c in entity.columns:
        if c.type in (BOOL, DATE, TIMESTAMP, INT, DECIMAL):
            bad = frame[c.name].is_not_null() & typed[c.name].is_null()
            if bad.any():
                issues.append(
                    frame.filter(bad).select(
                        pl.col(LINE).alias("line"),
                        pl.lit(c.name).alias("column"),
                        pl.lit(f"type: not a valid {c.type}").alias("rule"),
                        pl.col(c.name).alias("value"),
                    )
                )
    defaults = [pl.col(c.name).fill_null(c.default) for c in entity.columns if c.default is not None]
    if defaults:
        typed = typed.with_columns(defaults)
    issue_frame = pl.concat(issues) if issues else pl.DataFrame(schema=ISSUE_SCHEMA)
    return typed, issue_frame
