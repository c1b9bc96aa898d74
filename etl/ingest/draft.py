"""Drafting a mapping (`mio map`): each target column matched to the closest header, the alternatives as comments,
and for enumerated targets every distinct source value with its guessed contract value or TODO. A draft is meant to
be read and edited: a TODO left in it stops the load with its line.

Presets are drafts written once for a known export (Handshake, Internshala); they live under `presets/`.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from etl.ingest.mapping import TODO, enumerated
from etl.ingest.read import FORMATS, LINE, FileRejected, data_files, read_text_table
from etl.ingest.schema import ENTITIES, LOAD_ORDER

PRESETS_DIR = Path(__file__).parent / "presets"
MAX_LISTED_VALUES = 60  # an enumerated column with more distinct values than this is listed in part
MATCH = 0.8  # how alike a header and a target (or one of its other names) must be to be matched

# Other names exports use for a target column (compared after lower-casing and dropping punctuation).
OTHER_NAMES: dict[str, tuple[str, ...]] = {
    "student_id": ("id", "student", "student number", "sl no", "roll no", "reg no", "registration number",
                   "student email", "email", "email address", "username"),
    "institution": ("school", "university", "college name", "campus"),
    "college": ("division", "faculty", "school of"),
    "major": ("programme", "program", "specialisation", "specialization", "field of study", "degree", "major names",
              "primary major name"),
    "class_level": ("year", "school year", "school year name", "class", "level", "year of study"),
    "graduation_date": ("expected graduation", "grad date", "graduation", "end date"),
    "first_generation": ("first gen", "first in family", "first generation student"),
    "pell_eligible": ("pell", "pell grant"),
    "race_ethnicity": ("ethnicity", "race"),
    "employer_id": ("company id", "organisation id", "organization id", "employer"),
    "name": ("company", "organisation", "organization", "employer name", "company name"),
    "industry": ("sector", "employer industry name", "industry name"),
    "project_id": ("posting id", "job id", "internship id", "project"),
    "title": ("job title", "internship name", "position", "role", "project title"),
    "function": ("category", "job function", "department"),
    "platform": ("source", "site", "posted on"),
    "posted_date": ("posted", "date posted", "posting date", "created"),
    "estimated_hours": ("hours", "duration", "effort"),
    "pay_usd": ("pay", "stipend", "fee", "compensation", "amount"),
    "remote": ("location", "work from home", "virtual", "remote ok"),
    "slots": ("openings", "number of openings", "positions"),
    "outcome": ("status", "result", "destination", "response type", "first destination response type name",
                "placement status"),
    "salary_usd": ("salary", "ctc", "annual salary", "compensation"),
    "employer_name": ("company", "employer", "organisation", "organization"),
    "offered_on": ("offer date", "date", "start year"),
    "decision": ("accepted", "offer status", "response"),
    "offer_type": ("type", "job type", "employment type"),
    "applied_at": ("applied", "application date", "submitted at"),
    "channel": ("source", "found through", "how found"),
    "status": ("state", "stage", "application status"),
}

# Source values that mean a contract value (compared after lower-casing and trimming).
VALUE_NAMES: dict[str, dict[str, str]] = {
    "outcome": {"placed": "employed_full_time", "employed": "employed_full_time", "hired": "employed_full_time",
                "working": "employed_full_time", "full-time": "employed_full_time",
                "part-time": "employed_part_time", "not placed": "seeking_employment",
                "unemployed": "seeking_employment", "still looking": "seeking_employment",
                "seeking": "seeking_employment", "grad school": "continuing_education",
                "continuing education": "continuing_education", "military": "military",
                "volunteering": "service", "not seeking": "not_seeking", "unknown": "no_information"},
    "class_level": {"freshman": "first_year", "first year": "first_year", "1": "first_year", "fy": "first_year",
                    "2": "sophomore", "3": "junior", "4": "senior", "masters": "graduate", "doctorate": "graduate",
                    "graduate student": "graduate", "alumnus": "alumni", "alumna": "alumni", "graduated": "alumni"},
    "decision": {"yes": "accepted", "no": "declined", "": "pending", "accept": "accepted", "decline": "declined"},
    "bool": {"yes": "true", "no": "false", "y": "true", "n": "false", "1": "true", "0": "false", "true": "true",
             "false": "false", "t": "true", "f": "false", "": "null"},
}


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def similarity(target: str, header: str) -> float:
    """How alike a header is to a target column or one of its other names (1.0: the same words)."""
    h = _words(header)
    names = (target.replace("_", " "), *OTHER_NAMES.get(target, ()))
    return max(difflib.SequenceMatcher(None, _words(n), h).ratio() for n in names)


@dataclass
class DraftColumn:
    target: str
    source: str | None  # the matched header, or None
    required: bool
    alternatives: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # source value -> contract value or TODO
    more_values: int = 0  # distinct values not listed

    def transformation(self) -> str:
        if self.source is None:
            return "{value: TODO}" if self.required else ""
        return f"map {len(self.values)} values" if self.values else ""


@dataclass
class DraftEntity:
    entity: str
    file: str
    columns: list[DraftColumn]


def contract_files(source: Path) -> dict[str, Path]:
    """The files of the folder already in the contract's shape: named after an entity, in a format the loader
    reads, with every required column of it. They load as they are, beside any mapping (etl.ingest.read.discover)."""
    found: dict[str, Path] = {}
    for path in data_files(source):
        entity = path.stem.strip().lower()
        if entity not in ENTITIES or entity in found or path.suffix.lower() not in FORMATS:
            continue
        try:
            headers = {c.strip().lower() for c in read_text_table(path, header_only=True).columns if c != LINE}
        except FileRejected:
            continue
        if set(ENTITIES[entity].required_columns) <= headers:
            found[entity] = path
    return found


def draft(source: Path) -> list[DraftEntity]:
    """The entities each data file of the folder most likely feeds, with each target column's closest header.
    Files already in the contract's shape need no mapping: they, and the entities they hold, are left out."""
    out: list[DraftEntity] = []
    as_is = contract_files(source)
    for path in data_files(source):
        if path in as_is.values():
            continue
        try:
            table = read_text_table(path)
        except FileRejected:
            continue  # unreadable files are reported by the load itself, with their line
        headers = [c for c in table.columns if c != LINE]
        for entity in [e for e in _likely_entities(headers) if e not in as_is]:
            out.append(DraftEntity(entity, path.name, [_column(entity, c.name, c.required, headers, table)
                                                       for c in ENTITIES[entity].columns]))
    return sorted(out, key=lambda d: (LOAD_ORDER.index(d.entity), d.file))


def _likely_entities(headers: list[str]) -> list[str]:
    """Entities with at least two columns matched, and at least half of their required ones."""
    chosen = []
    for name, entity in ENTITIES.items():
        matched = {c.name for c in entity.columns if max((similarity(c.name, h) for h in headers), default=0) >= MATCH}
        required = [c for c in entity.required_columns if c in matched]
        if len(matched) >= 2 and 2 * len(required) >= len(entity.required_columns):
            chosen.append(name)
    return chosen


def _column(entity: str, target: str, required: bool, headers: list[str], table: pl.DataFrame) -> DraftColumn:
    ranked = sorted(headers, key=lambda h: similarity(target, h), reverse=True)
    close = [h for h in ranked if similarity(target, h) >= MATCH]
    source = close[0] if close else None
    column = DraftColumn(target, source, required,
                         [h for h in ranked if h != source and similarity(target, h) >= 0.6][:3])
    vocabulary = enumerated(entity).get(target)
    if column.source is not None and vocabulary:
        distinct = table[column.source].cast(pl.String).str.strip_chars().fill_null("").unique().sort().to_list()
        names = VALUE_NAMES["bool"] if vocabulary == ("true", "false") else VALUE_NAMES.get(target, {})
        for value in distinct[:MAX_LISTED_VALUES]:
            column.values[value] = _guess(value, vocabulary, names)
        column.more_values = max(0, len(distinct) - MAX_LISTED_VALUES)
    return column


def _guess(value: str, vocabulary: tuple[str, ...], names: dict[str, str]) -> str:
    key = value.strip().lower()
    if key in names:
        return names[key]
    if key.replace(" ", "_").replace("-", "_") in vocabulary:
        return key.replace(" ", "_").replace("-", "_")
    close = difflib.get_close_matches(key.replace(" ", "_"), vocabulary, n=1, cutoff=0.75)
    return close[0] if close else TODO


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML string, quotes and escapes included


def as_yaml(entities: list[DraftEntity], label: str) -> str:
    """The draft as a mapping file, with comments a person can act on (`label` names the files it is for)."""
    lines = [f"# Draft mapping for {label}, written by `mio map`. Check every line; replace each TODO with a",
             "# value of the contract (docs/data-contract.md), then: mio load --source DIR --mapping THIS_FILE",
             "version: 1", "entities:"]
    if not entities:
        lines = lines[:3] + ["entities: {}  # no file looked like any entity: write the sections by hand"]
    for item in entities:
        lines += [f"  {item.entity}:", f"    from: {_quote(item.file) if ':' in item.file else item.file}",
                  "    columns:"]
        for col in item.columns:
            alternatives = f"  # or: {', '.join(col.alternatives)}" if col.alternatives else ""
            if col.source is None:
                if col.required:
                    lines.append(f"      {col.target}: {{value: TODO}}  # required, and no column looks like it: "
                                 "a constant, or {template: \"...{Column}...\"}" + alternatives.replace("  # or:",
                                                                                                     "; maybe"))
                else:
                    lines.append(f"      # {col.target}: (no matching column; optional)")
                continue
            if not col.values:
                money = "  # US dollars: add `multiply: K` to convert another currency" if col.target.endswith(
                    "_usd") else ""
                lines.append(f"      {col.target}: {_quote(col.source)}{alternatives or money}")
                continue
            lines.append(f"      {col.target}:{alternatives}")
            lines.append(f"        column: {_quote(col.source)}")
            lines.append("        map:")
            for value, guess in col.values.items():
                lines.append(f"          {_quote(value)}: {guess}")
            if col.more_values:
                lines.append(f"          # … and {col.more_values} more values: values not named here are judged "
                             "by the contract as they are")
    return "\n".join(lines) + "\n"


def as_rows(entities: list[DraftEntity]) -> list[dict[str, object]]:
    """The draft as a table: one row per target column (for `--format json` and the Import page)."""
    return [{"entity": e.entity, "file": e.file, "target": c.target, "required": c.required, "source": c.source,
             "transformation": c.transformation(), "alternatives": c.alternatives, "values": c.values}
            for e in entities for c in e.columns]


# --- presets ------------------------------------------------------------------------------------------------------


def presets() -> dict[str, str]:
    """The shipped presets: name -> what export it reads (its first comment line)."""
    out = {}
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        out[path.stem] = first.lstrip("# ").removeprefix("Preset: ")
    return out


def preset_text(name: str, source: Path | None = None) -> str:
    """A preset's text; with a source folder, `from:` names the file whose headers the preset's columns fit best."""
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise KeyError(name)
    text = path.read_text(encoding="utf-8")
    if source is None:
        return text
    named = set(re.findall(r'(?:column: |template: "|^\s+\w+: )"?([^"{}\n]+?)"?\s*(?:#.*)?$', text, re.M))
    named |= set(re.findall(r"\{([^{}|]+)\}", text))
    best, best_score = None, 0
    for path in data_files(source):
        try:
            headers = {h.strip().lower() for h in read_text_table(path, header_only=True).columns}
        except FileRejected:
            continue
        score = len({n.strip().lower() for n in named} & headers)
        if score > best_score:
            best, best_score = path.name, score
    if best is None:
        return text
    return re.sub(r'from: "\*\.csv"', f"from: {_quote(best)}", text)
