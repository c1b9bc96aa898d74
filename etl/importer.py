"""The Import page's work, outside Streamlit: uploads kept in a private temporary folder, a draft mapping, a preview of
the first rows as they would load (with the rules they break), the dry run and the load itself.

Like etl.pipeline it sits above ingest and the metrics layer; the page only draws what these functions return.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl.ingest import draft
from etl.ingest.load import LoadResult, Origin
from etl.ingest.mapping import DEFAULT_NAME, MappingError, apply, check_headers, read_mapping
from etl.ingest.read import FORMATS, MAPPING_SUFFIXES, FileRejected, data_files, discover, raw_chunks
from etl.ingest.schema import ENTITIES, LOAD_ORDER
from etl.pipeline import load

MAX_UPLOAD_MB = 50  # per file; the dashboard's uploader refuses larger ones too
ABANDONED_AFTER_S = 2 * 3600  # uploads of a session that never loaded them are removed after this long
PREFIX = "mio-import-"
ACCEPTED = tuple(s.lstrip(".") for s in (*FORMATS, *MAPPING_SUFFIXES))


class UploadRejected(ValueError):
    """A file the Import page does not take (its name, type or size)."""


@dataclass
class ImportFolder:
    """A private folder (mode 0700) for one director's uploads; removed after the load or when abandoned."""

    path: Path

    @classmethod
    def create(cls) -> ImportFolder:
        """A new private folder; folders that earlier sessions abandoned (no load, no activity) are removed first."""
        limit = time.time() - ABANDONED_AFTER_S
        for old in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < limit:
                    shutil.rmtree(old, ignore_errors=True)
        return cls(Path(tempfile.mkdtemp(prefix=PREFIX)))

    def save(self, name: str, content: bytes) -> Path:
        """Keep one uploaded file under its own base name (never a path of the uploader's choosing)."""
        base = Path(name.replace("\\", "/")).name.strip()
        if not base or base.startswith(".") or not re.fullmatch(r"[\w .()&'+,-]+", base):
            raise UploadRejected(f"{name!r} is not a file name this page takes")
        if base.rsplit(".", 1)[-1].lower() not in ACCEPTED:
            raise UploadRejected(f"{base}: use one of {', '.join('.' + a for a in ACCEPTED)}")
        if len(content) > MAX_UPLOAD_MB * 2**20:
            raise UploadRejected(f"{base}: larger than {MAX_UPLOAD_MB} MB; load it with `mio load` instead")
        target = self.path / ("mapping.yaml" if base.lower().endswith(MAPPING_SUFFIXES) else base)
        target.write_bytes(content)
        return target

    def files(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir() if p.is_file())

    @property
    def mapping_path(self) -> Path:
        return self.path / DEFAULT_NAME

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def needs_mapping(folder: ImportFolder) -> bool:
    """Whether the uploads need a mapping: one was uploaded, or some file is not in the contract's shape."""
    if folder.mapping_path.is_file():
        return True
    return {p.name for p in data_files(folder.path)} != {p.name for p in draft.contract_files(folder.path).values()}


def first_mapping(folder: ImportFolder) -> str:
    """The uploaded mapping's text, or a draft for the uploaded files."""
    if folder.mapping_path.is_file():
        return folder.mapping_path.read_text(encoding="utf-8")
    return draft.as_yaml(draft.draft(folder.path), "the uploaded files")


def save_mapping(folder: ImportFolder, text: str) -> Path:
    folder.mapping_path.write_text(text, encoding="utf-8")
    return folder.mapping_path


def mapping_table(folder: ImportFolder) -> pl.DataFrame:
    """The saved mapping as a table: entity, file, target column, source column, transformation.

    Raises MappingError (with the line) when the mapping does not parse or names a column the files lack."""
    mapping = read_mapping(folder.mapping_path)
    check_headers(mapping, folder.path)
    rows = []
    for name, em in mapping.entities.items():
        for rule in em.rules:
            steps = [f"{k} {v}" for k, v in (("extract", rule.extract), ("date_format", rule.date_format)) if v]
            if rule.map is not None:
                steps.insert(0, "map " + ", ".join(f"{k or '(empty)'} → {v}" for k, v in rule.written_map))
            if rule.has_default:
                steps.append(f"default {rule.default}")
            if rule.multiply is not None:
                steps.append(f"× {rule.multiply}" + (f" × {rule.multiply_column}" if rule.multiply_column else ""))
            source = rule.describe() if rule.value is None or rule.column or rule.template else f"= {rule.value}"
            rows.append({"entity": name, "file": em.pattern, "target column": rule.target, "source": source,
                         "transformation": "; ".join(steps)})
    return pl.DataFrame(rows, schema={"entity": pl.String, "file": pl.String, "target column": pl.String,
                                      "source": pl.String, "transformation": pl.String})


def check(folder: ImportFolder, db: Path, max_bad_rows: float = 0.05) -> LoadResult:
    """The dry run: everything but the write."""
    return load(folder.path, db, max_bad_rows=max_bad_rows, mapping=_mapping(folder), dry_run=True)


def load_into(folder: ImportFolder, db: Path, uploaded_by: str, max_bad_rows: float = 0.05) -> LoadResult:
    """Load the uploads into the warehouse, then remove them. The load history names who uploaded them here, not the
    temporary folder that held them (its files' own names are in load_files)."""
    mapping = _mapping(folder)
    origin = Origin(f"uploaded on the Import page by {uploaded_by}",
                    f"{DEFAULT_NAME}, written on the Import page" if mapping else None)
    try:
        return load(folder.path, db, max_bad_rows=max_bad_rows, mapping=mapping, origin=origin)
    finally:
        folder.remove()


def _mapping(folder: ImportFolder) -> Path | None:
    return folder.mapping_path if folder.mapping_path.is_file() else None


def preview(folder: ImportFolder, checked: LoadResult, rows: int = 10) -> dict[str, pl.DataFrame]:
    """Per entity, its first rows as they would load (contract columns, as text) and the rules each breaks.

    `checked` is the dry run of the same folder: its quarantine marks the rows."""
    mapping = read_mapping(folder.mapping_path) if folder.mapping_path.is_file() else None
    sources = check_headers(mapping, folder.path) if mapping else {}
    try:
        plain, _ = discover(folder.path, {p for v in sources.values() for p in v}, set(sources)) if mapping \
            else discover(folder.path)
    except FileRejected:
        plain = {}
    problems = checked.quarantine.group_by("entity", "file", "line").agg(
        pl.format("{}: {} ({})", "column", "rule", pl.col("value").fill_null("empty")).str.join("; ")
        .alias("problems"))
    out = {}
    for name in LOAD_ORDER:
        if name in sources:
            mapped = apply(mapping, name, sources[name])  # type: ignore[arg-type]
            frame = mapped.frame.head(rows).join(mapped.origin, on="__line", how="left")
        elif name in plain:
            first = next(raw_chunks(plain[name], ENTITIES[name])[1])  # the file's first piece holds the first rows
            frame = first.head(rows).with_columns(pl.lit(plain[name].name).alias("file"),
                                                  pl.col("__line").alias("line"))
        else:
            continue
        marked = frame.join(problems.filter(pl.col("entity") == name).drop("entity"), on=["file", "line"],
                            how="left")
        out[name] = marked.select("file", "line", *ENTITIES[name].column_names, "problems")
    return out


__all__ = ["ImportFolder", "MAX_UPLOAD_MB", "MappingError", "UploadRejected", "check", "first_mapping", "load_into",
           "mapping_table", "needs_mapping", "preview", "save_mapping"]
