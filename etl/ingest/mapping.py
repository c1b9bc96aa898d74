"""Import mappings: how files that do not use the contract's names become its entities.

A mapping is a small YAML file (docs/data-contract.md, "Loading exports in other shapes") that says, per entity,
which source file feeds it, which rows belong to it, and how each target column is obtained from the source
columns. It is read as written: every scalar stays the text it is in the file (`Yes`, `on`, `01` and `1.10` are
text, never booleans or numbers), so a map's `Yes:` key means the word Yes.

Applying a mapping gives, per entity, the same text frame a file in the contract's shape gives, plus where each row
came from (file and line) and what each target column was made of, so that a mapped load quarantines with the
original file, line, source column and value.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from etl.ingest.read import LINE, FileRejected, read_text_table
from etl.ingest.schema import DATE, DECIMAL, ENTITIES, ENUM, INT, TIMESTAMP

DEFAULT_NAME = "mapping.yaml"
TODO = "TODO"
RULE_KEYS = ("column", "value", "template", "extract", "map", "default", "date_format", "multiply")
ENTITY_KEYS = ("from", "where", "columns", "sheet")
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


class MappingError(Exception):
    """A mistake in the mapping itself: a usage error (exit 2), named by the mapping file's line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = Path(path), line, message
        where = f"{Path(path).name}:{line}" if line else Path(path).name
        super().__init__(f"{where}: {message}")


# --- reading YAML as written ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scalar:
    text: str | None  # None for YAML's null (`null`, `~` or nothing), only when written unquoted
    line: int


def _plain(node: Node) -> object:
    """A YAML node as dicts, lists and _Scalar, every scalar the text it is written as."""
    if isinstance(node, ScalarNode):
        is_null = (node.tag or "").endswith(":null") and node.style is None
        return _Scalar(None if is_null else node.value, node.start_mark.line + 1)
    if isinstance(node, SequenceNode):
        return [_plain(item) for item in node.value]
    if isinstance(node, MappingNode):
        out: dict[str, tuple[int, object]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise _Invalid(key.start_mark.line + 1, "a key must be plain text")
            name = key.value
            if name in out:
                raise _Invalid(key.start_mark.line + 1, f"{name!r} appears twice")
            out[name] = (key.start_mark.line + 1, _plain(value))
        return _Block(out, node.start_mark.line + 1)
    raise _Invalid(node.start_mark.line + 1, "unsupported YAML")


@dataclass
class _Block:
    items: dict[str, tuple[int, object]]
    line: int


class _Invalid(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line, self.message = line, message
        super().__init__(message)


# --- the mapping as data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How one target column is obtained: a source column, a constant or a template, then its options in order."""

    target: str
    line: int
    column: str | None = None
    value: str | None = None
    template: str | None = None
    extract: str | None = None
    map: dict[str, str | None] | None = None  # keys lower-cased and trimmed; "" names the empty value
    written_map: tuple[tuple[str, str | None], ...] = ()  # the map as the file writes it, for display
    has_default: bool = False
    default: str | None = None
    date_format: str | None = None
    multiply: Decimal | None = None
    multiply_column: str | None = None  # `multiply: {value: K, column: NAME}`: also times the number in NAME

    @property
    def fields(self) -> list[str]:
        """The source columns a template names (`_line` is the row's line, not a column)."""
        return [m.group(1) for m in _FIELD.finditer(self.template or "") if m.group(1) is not None]

    def describe(self) -> str:
        """What the quarantine names as the value's source."""
        if self.column is not None:
            return self.column
        if self.template is not None:
            return f"template {self.template}"
        return "constant value"


@dataclass(frozen=True)
class EntityMapping:
    entity: str
    pattern: str  # a file name or a glob in the source folder
    line: int
    rules: tuple[Rule, ...]
    where: tuple[str, tuple[str, ...]] | None = None  # (source column, kept values)
    where_line: int = 0
    sheet: str | None = None


@dataclass(frozen=True)
class Mapping:
    path: Path
    text: str
    entities: dict[str, EntityMapping]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def read_mapping(path: Path) -> Mapping:
    """Parse and check a mapping file on its own (names, options, regexes, date formats); files come later."""
    if not path.is_file():
        raise MappingError(path, None, "no such mapping file")
    text = path.read_text(encoding="utf-8-sig")
    yaml = YAML(typ="safe", pure=True)
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise MappingError(path, mark.line + 1 if mark else None, f"not valid YAML: {exc.problem}") from None
    try:
        if root is None:
            raise _Invalid(1, "the mapping is empty")
        doc = _plain(root)
        return Mapping(path, text, _entities(doc))
    except _Invalid as exc:
        raise MappingError(path, exc.line, exc.message) from None


def _block(value: object, line: int, what: str) -> _Block:
    if not isinstance(value, _Block):
        raise _Invalid(getattr(value, "line", line), f"{what} must be a mapping of keys to values")
    return value


def _text(value: object, line: int, what: str, allow_null: bool = False) -> str | None:
    if not isinstance(value, _Scalar):
        raise _Invalid(line, f"{what} must be a single value")
    if value.text is None and not allow_null:
        raise _Invalid(value.line, f"{what} is empty")
    return value.text


def _entities(doc: object) -> dict[str, EntityMapping]:
    top = _block(doc, 1, "the mapping")
    unknown = [k for k in top.items if k not in ("version", "entities")]
    if unknown:
        line = top.items[unknown[0]][0]
        raise _Invalid(line, f"unknown key {unknown[0]!r}; a mapping has `version: 1` and `entities:`")
    if "version" in top.items:
        line, version = top.items["version"]
        if _text(version, line, "version") != "1":
            raise _Invalid(line, "this version of mio reads mappings of version 1")
    if "entities" not in top.items:
        raise _Invalid(top.line, "no `entities:` section")
    line, entities = top.items["entities"]
    block = _block(entities, line, "entities")
    out = {}
    for name, (entity_line, body) in block.items.items():
        if name not in ENTITIES:
            raise _Invalid(entity_line, f"unknown entity {name!r}{_suggest(name, list(ENTITIES))}; the entities "
                                        f"are {', '.join(ENTITIES)}")
        out[name] = _entity(name, entity_line, _block(body, entity_line, name))
    if not out:
        raise _Invalid(line, "`entities:` names no entity")
    return out


def _entity(name: str, line: int, body: _Block) -> EntityMapping:
    for key, (key_line, _) in body.items.items():
        if key not in ENTITY_KEYS:
            raise _Invalid(key_line, f"unknown key {key!r} in {name}{_suggest(key, list(ENTITY_KEYS))}; an entity "
                                     f"takes {', '.join(ENTITY_KEYS)}")
    if "from" not in body.items:
        raise _Invalid(line, f"{name} needs `from:` (the source file, or a glob such as exports_*.csv)")
    from_line, from_value = body.items["from"]
    pattern = _text(from_value, from_line, "from")
    sheet = None
    if "sheet" in body.items:
        sheet_line, sheet_value = body.items["sheet"]
        sheet = _text(sheet_value, sheet_line, "sheet")
    where, where_line = None, 0
    if "where" in body.items:
        where_line, where_value = body.items["where"]
        where = _where(_block(where_value, where_line, "where"))
    if "columns" not in body.items:
        raise _Invalid(line, f"{name} needs `columns:` (target column: how to get it)")
    columns_line, columns = body.items["columns"]
    entity = ENTITIES[name]
    rules = []
    for target, (target_line, spec) in _block(columns, columns_line, "columns").items.items():
        if target not in entity.column_names:
            raise _Invalid(target_line, f"{name} has no column {target!r}{_suggest(target, entity.column_names)}; "
                                        f"its columns are {', '.join(entity.column_names)}")
        rules.append(_rule(name, target, target_line, spec))
    missing = [c for c in entity.required_columns if c not in {r.target for r in rules}]
    if missing:
        raise _Invalid(columns_line, f"{name} leaves out required column{'s' * (len(missing) > 1)} "
                                     f"{', '.join(missing)} (use {{value: ...}} for a constant)")
    return EntityMapping(name, pattern or "", line, tuple(rules), where, where_line, sheet)


def _where(block: _Block) -> tuple[str, tuple[str, ...]]:
    for key, (key_line, _) in block.items.items():
        if key not in ("column", "in"):
            raise _Invalid(key_line, f"unknown key {key!r} in where; it takes `column:` and `in: [values]`")
    if "column" not in block.items or "in" not in block.items:
        raise _Invalid(block.line, "where needs `column:` and `in: [values]`")
    column_line, column = block.items["column"]
    values_line, values = block.items["in"]
    if not isinstance(values, list):
        raise _Invalid(values_line, "`in:` takes a list of values, e.g. in: [\"Yes\"]")
    kept = tuple(_norm(_text(v, values_line, "a value of in", allow_null=True)) for v in values)
    return _text(column, column_line, "where's column") or "", kept


def _rule(entity: str, target: str, line: int, spec: object) -> Rule:
    if isinstance(spec, _Scalar):
        if spec.text is None:
            raise _Invalid(line, f"{target}: give a source column, {{value: ...}} or {{template: ...}}")
        return _checked(Rule(target, line, column=spec.text), entity)
    body = _block(spec, line, target)
    for key, (key_line, _) in body.items.items():
        if key not in RULE_KEYS:
            raise _Invalid(key_line, f"{target}: unknown option {key!r}{_suggest(key, list(RULE_KEYS))}; the "
                                     f"options are {', '.join(RULE_KEYS)}")
    sources = [k for k in ("column", "value", "template") if k in body.items]
    if len(sources) != 1:
        raise _Invalid(line, f"{target}: give exactly one of column, value or template")
    kind = sources[0]
    fields: dict[str, object] = {}
    for key, (key_line, value) in body.items.items():
        if key == "map":
            block = _block(value, key_line, "map")
            fields["map"] = _map(block, target)
            fields["written_map"] = tuple((k, v.text if isinstance(v, _Scalar) else None)
                                          for k, (_, v) in block.items.items())
        elif key == "value":
            fields["value"] = written = _text(value, key_line, "value", allow_null=True)
            if (written or "").strip() == TODO:
                raise _Invalid(key_line, f"{target}: the value is still TODO; write the value every row should get")
        elif key == "default":
            fields["has_default"], fields["default"] = True, _text(value, key_line, "default", allow_null=True)
        elif key == "multiply":
            fields["multiply"], fields["multiply_column"] = _multiply(value, key_line, target)
        else:
            fields[key] = _text(value, key_line, key)
    if kind == "value" and len(body.items) > 1:
        raise _Invalid(line, f"{target}: a constant value takes no other option")
    rule = Rule(target, line, **fields)  # type: ignore[arg-type]
    for key in ("extract", "date_format"):
        if key in body.items:
            _check_option(rule, key, body.items[key][0])
    return _checked(rule, entity)


def _multiply(value: object, line: int, target: str) -> tuple[Decimal, str | None]:
    """`multiply: K`, or `multiply: {value: K, column: NAME}` (K times the first number in the column NAME)."""
    column = None
    if isinstance(value, _Block):
        unknown = [k for k in value.items if k not in ("value", "column")]
        if unknown or "value" not in value.items:
            raise _Invalid(line, f"{target}: multiply takes a number, or {{value: K, column: NAME}}")
        if "column" in value.items:
            column_line, column_value = value.items["column"]
            column = _text(column_value, column_line, "multiply's column")
        line, value = value.items["value"]
    text = _text(value, line, "multiply")
    try:
        return Decimal(text or ""), column
    except InvalidOperation:
        raise _Invalid(line, f"{target}: multiply takes a number, not {text!r}") from None


def _map(block: _Block, target: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, (key_line, value) in block.items.items():
        text = _text(value, key_line, f"the map's value for {key!r}", allow_null=True)
        if text is not None and text.strip() == TODO:
            raise _Invalid(key_line, f"{target}: the value {key!r} is still mapped to TODO; replace TODO with the "
                                     "contract value it stands for (or delete the line to let the contract judge it)")
        out[_norm(key)] = text
    return out


def _check_option(rule: Rule, key: str, line: int) -> None:
    if key == "extract":
        try:
            compiled = re.compile(rule.extract or "")
            pl.Series([""]).str.extract(rule.extract or "", 1)  # Polars' regex dialect must take it too
        except Exception as exc:  # re.error or Polars' compute error
            raise _Invalid(line, f"{rule.target}: extract is not a valid regular expression ({exc})") from None
        if compiled.groups < 1:
            raise _Invalid(line, f"{rule.target}: extract needs a group in parentheses, e.g. \"([0-9]+)\"")
    if key == "date_format":
        fmt = rule.date_format or ""
        try:
            if "%" not in fmt:
                raise ValueError("no % directive")
            datetime.strptime(datetime(2001, 2, 3, 4, 5, 6).strftime(fmt), fmt)
        except ValueError as exc:
            raise _Invalid(line, f"{rule.target}: date_format {fmt!r} is not a strptime format ({exc}); e.g. "
                                 "\"%d/%m/%Y\" or \"%m/%Y\"") from None
        if rule.multiply is not None:
            raise _Invalid(line, f"{rule.target}: date_format and multiply do not go together")


def _checked(rule: Rule, entity: str) -> Rule:
    kind = ENTITIES[entity].column(rule.target).type
    if rule.date_format and kind not in (DATE, TIMESTAMP):
        raise _Invalid(rule.line, f"{rule.target} is a {kind}, not a date: date_format does not apply")
    if rule.multiply is not None and kind not in (INT, DECIMAL):
        raise _Invalid(rule.line, f"{rule.target} is a {kind}, not a number: multiply does not apply")
    if rule.template is not None:
        for name in rule.fields:
            if not name.strip():
                raise _Invalid(rule.line, f"{rule.target}: an empty {{}} in the template; write {{{{ for a brace")
    return rule


def _norm(value: str | None) -> str:
    return "" if value is None else value.strip().lower()


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# --- against the source folder -----------------------------------------------------------------------------------


@dataclass
class MappedFrame:
    """One entity's rows as the contract names them, with where each came from."""

    entity: str
    files: list[Path]
    frame: pl.DataFrame  # LINE (a row number unique within the entity) and the target columns, as text
    origin: pl.DataFrame  # LINE -> file, line in that file
    raw: pl.DataFrame  # LINE and, per target column, the value as the original file has it
    records: pl.DataFrame  # LINE -> the original row as JSON
    sources: dict[str, str]  # target column -> the source column or template it came from
    warnings: list[str] = field(default_factory=list)


def mapped_files(mapping: Mapping, source: Path) -> dict[str, list[Path]]:
    """Each mapped entity's files in the source folder (a glob may match several)."""
    out = {}
    for name, em in mapping.entities.items():
        matches = sorted(p for p in source.glob(em.pattern) if p.is_file())
        if not matches:
            available = sorted(p.name for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
            raise MappingError(mapping.path, em.line, f"{name}: no file matches {em.pattern!r} in {source}"
                                                      f"{_suggest(em.pattern, available)}")
        out[name] = matches
    return out


def check_headers(mapping: Mapping, source: Path) -> dict[str, list[Path]]:
    """Every source column the mapping names exists in its file (reading headers only); else a MappingError."""
    files = mapped_files(mapping, source)
    for name, em in mapping.entities.items():
        for path in files[name]:
            headers = _headers(path, em)
            _check_columns(mapping, em, path, headers)
    return files


def _headers(path: Path, em: EntityMapping) -> list[str]:
    return [c for c in read_text_table(path, sheet=em.sheet, header_only=True).columns if c != LINE]


def _check_columns(mapping: Mapping, em: EntityMapping, path: Path, headers: list[str]) -> None:
    lookup = {h.strip().lower(): h for h in headers}

    def need(column: str, line: int, what: str) -> None:
        if column.strip().lower() not in lookup:
            raise MappingError(mapping.path, line, f"no column {column!r} in {path.name}"
                                                   f"{_suggest(column, headers)} ({what})")

    if em.where:
        need(em.where[0], em.where_line, "where")
    for rule in em.rules:
        if rule.column is not None:
            need(rule.column, rule.line, rule.target)
        if rule.multiply_column is not None:
            need(rule.multiply_column, rule.line, f"multiply of {rule.target}")
        for name in rule.fields:
            if name != "_line":
                need(name, rule.line, f"template of {rule.target}")


def apply(mapping: Mapping, entity: str, files: list[Path]) -> MappedFrame:
    """Read the entity's files and build its columns; rows keep their original file and line."""
    em = mapping.entities[entity]
    frames, origins, raws, records, warnings = [], [], [], [], []
    offset = 0
    for path in files:
        table = read_text_table(path, sheet=em.sheet)
        _check_columns(mapping, em, path, [c for c in table.columns if c != LINE])
        lookup = {c.strip().lower(): c for c in table.columns if c != LINE}
        table = table.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in lookup.values())
        table = table.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                                   for c in lookup.values())
        if em.where:
            column, kept = em.where
            table = table.filter(pl.col(lookup[column.strip().lower()]).fill_null("").str.strip_chars()
                                 .str.to_lowercase().is_in(list(kept)))
        row = (pl.int_range(0, table.height, dtype=pl.Int64) + offset + 1).alias("__row")
        table = table.with_columns(row)
        offset += table.height
        rows = table["__row"]
        built = {LINE: rows}
        originals = {LINE: rows}
        kinds = {c.name: c.type for c in ENTITIES[entity].columns}
        for rule in em.rules:
            values, originals[rule.target] = _build(rule, table, lookup)
            built[rule.target] = _plain_number(values) if kinds[rule.target] in (INT, DECIMAL) else values
        frame = pl.DataFrame(built)
        frames.append(frame.with_columns(pl.lit(None, dtype=pl.String).alias(c)
                                         for c in ENTITIES[entity].column_names if c not in frame.columns))
        raws.append(pl.DataFrame(originals))
        origins.append(table.select(pl.col("__row").alias(LINE), pl.lit(path.name).alias("file"),
                                    pl.col(LINE).alias("line")))
        records.append(table.select(pl.col("__row").alias(LINE),
                                    pl.struct(list(lookup.values())).struct.json_encode().alias("record")))
        if table.height == 0:
            warnings.append(f"{path.name}: no rows for {entity}")
    columns = [LINE, *ENTITIES[entity].column_names]
    return MappedFrame(
        entity, files,
        pl.concat(frames).select(columns),
        pl.concat(origins),
        pl.concat(raws, how="diagonal_relaxed"),
        pl.concat(records),
        {r.target: r.describe() for r in em.rules},
        warnings,
    )


def _build(rule: Rule, table: pl.DataFrame, lookup: dict[str, str]) -> tuple[pl.Series, pl.Series]:
    """The target column's values, and the original values they were made from."""
    if rule.column is None and rule.template is None:
        constant = pl.Series([rule.value] * table.height, dtype=pl.String)
        return constant, constant
    if rule.column is not None:
        original = table[lookup[rule.column.strip().lower()]]
    else:
        original = table.select(_template(rule.template or "", lookup).alias("v"))["v"]
    values = _options(rule, original)
    if rule.multiply_column is not None:
        values = _times(values, table[lookup[rule.multiply_column.strip().lower()]])
    return values, original


def _plain_number(values: pl.Series) -> pl.Series:
    """A number written with thousands separators (45,000 or 1,234.50) as a plain decimal; any other text as is."""
    grouped = values.str.contains(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
    return pl.select(pl.when(grouped).then(pl.lit(values).str.replace_all(",", "")).otherwise(pl.lit(values))
                     ).to_series().alias(values.name)


def _times(values: pl.Series, other: pl.Series) -> pl.Series:
    """Each number times the first number written in `other` ("6 Months" -> 6); text that is no number stays as
    it is (the contract's type rule judges it), and a row without a factor has no value."""
    number = values.str.replace_all(",", "").cast(pl.Float64, strict=False)
    factor = other.str.extract(r"([0-9]+(?:\.[0-9]+)?)", 1).cast(pl.Float64, strict=False)
    product = (number * factor).round(6).cast(pl.String).str.replace(r"\.0$", "")
    return pl.select(pl.when(number.is_null()).then(pl.lit(values)).otherwise(pl.lit(product))).to_series()


def _template(template: str, lookup: dict[str, str]) -> pl.Expr:
    parts: list[pl.Expr] = []
    named: list[pl.Expr] = []
    position = 0
    for match in _FIELD.finditer(template):
        if match.start() > position:
            parts.append(pl.lit(template[position:match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(pl.lit(token[0]))
        elif match.group(1) == "_line":
            parts.append(pl.col(LINE).cast(pl.String))
        else:
            column = pl.col(lookup[match.group(1).strip().lower()])
            named.append(column)
            parts.append(column.fill_null(""))
        position = match.end()
    if position < len(template):
        parts.append(pl.lit(template[position:]))
    text = pl.concat_str(parts) if parts else pl.lit("")
    if not named:
        return text
    # Every named column empty: nothing to build from, so the value is empty (and required rules judge it).
    return pl.when(pl.all_horizontal(c.is_null() for c in named)).then(None).otherwise(text)


def _options(rule: Rule, values: pl.Series) -> pl.Series:
    """extract, map, default, date_format, multiply, in that order: worked out once per distinct value."""
    if rule.extract is None and rule.map is None and not rule.has_default and rule.date_format is None \
            and rule.multiply is None:
        return values
    out = {value: _one(rule, value) for value in values.unique().to_list()}
    keys = [k for k in out if k is not None]
    mapped = values.replace_strict(keys, [out[k] for k in keys], default=None, return_dtype=pl.String)
    if out.get(None) is None:
        return mapped
    return pl.select(pl.when(values.is_null()).then(pl.lit(out[None])).otherwise(mapped)).to_series()


def _one(rule: Rule, value: str | None) -> str | None:
    if rule.extract is not None and value is not None:
        found = re.search(rule.extract, value)
        value = found.group(1) if found and found.group(1) is not None else None
    if rule.map is not None:
        key = _norm(value)
        if key in rule.map:
            value = rule.map[key]
        elif rule.has_default:
            value = rule.default
    elif rule.has_default and value is None:
        value = rule.default
    if value is None:
        return None
    if rule.date_format:
        try:
            moment = datetime.strptime(value.strip(), rule.date_format)
        except ValueError:
            return value  # the contract's date rule quarantines it, with the value as written
        has_time = any(d in rule.date_format for d in ("%H", "%I", "%M", "%S"))
        return moment.isoformat(sep=" ") if has_time else moment.date().isoformat()
    if rule.multiply is not None:
        try:
            number = Decimal(value.replace(",", "").replace("_", "").replace(" ", ""))
        except InvalidOperation:
            return value  # not a number: the contract's type rule quarantines it
        product = number * rule.multiply
        return format(product.normalize(), "f") if product != product.to_integral() else str(product.to_integral())
    return value


def enumerated(entity: str) -> dict[str, tuple[str, ...]]:
    """The entity's columns with a fixed vocabulary (and booleans), for drafts and previews."""
    from etl.ingest.schema import BOOL

    out = {}
    for column in ENTITIES[entity].columns:
        if column.type == ENUM:
            out[column.name] = column.values
        elif column.type == BOOL:
            out[column.name] = ("true", "false")
    return out


__all__ = ["DEFAULT_NAME", "EntityMapping", "FileRejected", "MappedFrame", "Mapping", "MappingError", "Rule",
           "apply", "check_headers", "enumerated", "mapped_files", "read_mapping"]
