"""Import mappings: the file format, its mistakes, and loads of real exports through a mapping.

The real files are read from ../shared/real/ (see SOURCES.md there); they are not copied into this repository.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from etl.cli import main
from etl.ingest.mapping import MappingError, apply, check_headers, read_mapping
from etl.metrics.outcomes import destinations_table
from etl.pipeline import load
from tests.conftest import HAND, REAL, file_digest, write_source

PRESETS = Path(__file__).resolve().parents[1] / "etl" / "ingest" / "presets"
needs_real = pytest.mark.skipif(not REAL.exists(), reason="the real exports in ../shared/real are not here")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def real_copy(tmp_path: Path, name: str) -> Path:
    """A source folder holding one real file, byte for byte."""
    folder = tmp_path / "source"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REAL / name, folder / name)
    return folder


# --- the campus-placement file: students and first destinations from one file -------------------------------------

PLACEMENT_MAPPING = """\
version: 1
entities:
  students:
    from: Placement_Data_Full_Class.csv
    columns:
      student_id: {template: "MBA-{sl_no}"}
      institution: {value: "Campus Business School"}
      major: {column: specialisation, map: {Mkt&HR: Marketing and HR, Mkt&Fin: Marketing and Finance}}
      class_level: {value: alumni}
      graduation_date: {value: "2020-05-31"}
      gender: {column: gender, map: {M: Man, F: Woman}}
  first_destinations:
    from: Placement_Data_Full_Class.csv
    columns:
      student_id: {template: "MBA-{sl_no}"}
      outcome: {column: status, map: {Placed: employed_full_time, Not Placed: seeking_employment}}
      salary_usd: {column: salary, multiply: 0.012}   # rupees a year, at 0.012 dollars a rupee
      source: {value: other}
"""


@needs_real
def test_the_campus_placement_file_loads_through_a_mapping(tmp_path: Path) -> None:
    source = real_copy(tmp_path, "Placement_Data_Full_Class.csv")
    write(source, "mapping.yaml", PLACEMENT_MAPPING)
    db = tmp_path / "w.duckdb"
    result = load(source, db)  # the mapping.yaml inside the folder is used
    assert result.ok, result.reason
    assert result.mapping is not None and result.mapping.name == "mapping.yaml"
    # By hand from the raw file: 215 rows, 148 Placed and 67 Not Placed, salary blank exactly when not placed.
    raw = pl.read_csv(REAL / "Placement_Data_Full_Class.csv", infer_schema=False)
    assert raw.height == 215
    placed = raw.filter(pl.col("status") == "Placed")
    assert placed.height == 148
    con = duckdb.connect(str(db), read_only=True)
    assert con.sql("select count(*) from students").fetchall()[0][0] == 215
    outcomes = dict(con.sql("select outcome, count(*) from first_destinations group by 1").fetchall())
    assert outcomes == {"employed_full_time": 148, "seeking_employment": 67}
    # Salary: rupees a year times 0.012, exactly (the multiplier is read as a decimal, not a float).
    salaries = sorted(int(s) * 12 / 1000 for s in placed["salary"].to_list())
    stored = sorted(r[0] for r in con.sql("select salary_usd from first_destinations where salary_usd is not null"
                                          ).fetchall())
    assert stored == pytest.approx(salaries)
    table = destinations_table(con, min_cell=0)
    con.close()
    # Everyone is in cohort 2020 and none took part in a micro-internship: one row, every student known,
    # career outcomes rate = placed / (placed + seeking) = 148 / 215.
    assert table.height == 1
    row = table.row(0, named=True)
    assert (row["cohort"], row["participated"], row["cohort_size"]) == ("2020", "no", 215)
    assert row["knowledge_rate"] == 1.0
    assert row["career_outcomes_rate"] == round(148 / 215, 4)
    middle = len(salaries) // 2  # 148 salaries: the median is the mean of the middle two
    assert row["median_salary_usd"] == pytest.approx((salaries[middle - 1] + salaries[middle]) / 2)
    history = duckdb.connect(str(db), read_only=True)
    sha, text = history.sql("select mapping_sha256, mapping from load_history").fetchall()[0]
    history.close()
    assert text == PLACEMENT_MAPPING and len(sha) == 64


@needs_real
def test_a_value_the_map_does_not_name_is_quarantined_with_its_source(tmp_path: Path) -> None:
    source = real_copy(tmp_path, "Placement_Data_Full_Class.csv")
    mapping = write(tmp_path, "m.yaml", PLACEMENT_MAPPING.replace(", Not Placed: seeking_employment", ""))
    result = load(source, tmp_path / "w.duckdb", mapping=mapping, max_bad_rows=1, dry_run=True)
    assert result.ok and result.dry_run
    bad = result.quarantine.filter(pl.col("entity") == "first_destinations")
    assert bad.height == 67
    first = bad.sort("line").row(0, named=True)
    raw_lines = (REAL / "Placement_Data_Full_Class.csv").read_text().splitlines()
    assert "Not Placed" in raw_lines[first["line"] - 1]  # the original file's own line
    assert (first["file"], first["column"], first["source"], first["value"]) == (
        "Placement_Data_Full_Class.csv", "outcome", "status", "Not Placed")
    assert not (tmp_path / "w.duckdb").exists()  # a dry run writes nothing


# --- mapping mistakes: exit 2, the mapping's line, a suggestion, nothing read or written ---------------------------


@pytest.mark.parametrize(("text", "line", "words"), [
    ("version: 1\nentities:\n  studnets:\n    from: a.csv\n", 3, "did you mean 'students'"),
    ("version: 1\nentities:\n  students:\n    from: a.csv\n    columns:\n      student_id: Id\n      institutin: X\n",
     7, "did you mean 'institution'"),
    ("version: 1\nentities:\n  students:\n    from: a.csv\n    columns:\n      student_id: Id\n", 5,
     "leaves out required columns institution, major, class_level"),
    ("version: 1\nentities:\n  offers:\n    from: a.csv\n    columns:\n      offer_id: Id\n      student_id: Id\n"
     "      offer_type: {value: full_time}\n      offered_on: {column: D, date_format: \"%Q\"}\n"
     "      decision: {value: accepted}\n", 9, "not a strptime format"),
    ("version: 1\nentities:\n  employers:\n    from: a.csv\n    columns:\n      employer_id: {column: Id, "
     "extract: \"([0-9]+\"}\n      name: Id\n      industry: Id\n", 6, "not a valid regular expression"),
    ("version: 1\nentities:\n  employers:\n    from: a.csv\n    columns:\n      employer_id: Id\n      name: Id\n"
     "      industry: {column: Kind, map: {A: Tech, B: TODO}}\n", 8, "still mapped to TODO"),
    ("version: 1\nentities: [\n", 3, "not valid YAML"),
])
def test_mapping_mistakes_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, "m.yaml", text)
    with pytest.raises(MappingError) as caught:
        read_mapping(path)
    assert caught.value.line == line, caught.value
    assert words in str(caught.value)


def test_a_misspelt_source_column_is_named_with_the_closest_header(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write(source, "fair_signups.csv", "Reg No,Programme,Year\n1,Biology,2\n")
    mapping = write(tmp_path, "m.yaml", "version: 1\nentities:\n  students:\n    from: fair_signups.csv\n    columns:\n"
                    "      student_id: {template: \"F-{Reg No}\"}\n      institution: {value: NVC}\n"
                    "      major: Programe\n      class_level: {column: Year, map: {\"2\": sophomore}}\n")
    with pytest.raises(MappingError, match=r"m.yaml:8: no column 'Programe' in fair_signups.csv; did you mean "
                                           r"'Programme'\?"):
        check_headers(read_mapping(mapping), source)
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(main, ["load", "--source", str(source), "--mapping", str(mapping), "--db", str(db)])
    assert result.exit_code == 2
    assert "did you mean 'Programme'" in result.stderr
    assert not db.exists() and not list(tmp_path.glob("w.duckdb*"))


def test_yaml_words_stay_text(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write(source, "people.csv", "Id,Year,First in family?,Pay\n7,01,Yes,\"1,234.5\"\n8,1.10,No,2\n9,on,,3\n")
    mapping = write(tmp_path, "m.yaml", """\
version: 1
entities:
  students:
    from: people.csv
    columns:
      student_id: {template: "S-{Id}-{{x}}-{_line}"}
      institution: {value: on}
      major: {value: 01}
      class_level: {column: Year, map: {01: first_year, 1.10: sophomore, on: junior}}
      first_generation: {column: "First in family?", map: {Yes: true, No: false}, default: null}
""")
    parsed = read_mapping(mapping)
    rule = next(r for r in parsed.entities["students"].rules if r.target == "class_level")
    assert rule.map == {"01": "first_year", "1.10": "sophomore", "on": "junior"}
    frame = apply(parsed, "students", [source / "people.csv"]).frame
    assert frame["student_id"].to_list() == ["S-7-{x}-2", "S-8-{x}-3", "S-9-{x}-4"]
    assert frame["class_level"].to_list() == ["first_year", "sophomore", "junior"]
    assert frame["first_generation"].to_list() == ["true", "false", None]
    assert frame["institution"].to_list() == ["on"] * 3 and frame["major"].to_list() == ["01"] * 3


def test_options_apply_in_order(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write(source, "offers.csv", "Who,When,Pay,Took\nA,03/2025,\"$45,000\",Yes\nB,bad,n/a,No\nC,12/2024,,\n")
    write(source, "students.csv", "\n".join(HAND["students"]).replace("S1,", "A,").replace("S2,", "B,")
          .replace("S3,", "C,") + "\n")
    mapping = write(tmp_path, "m.yaml", """\
version: 1
entities:
  offers:
    from: offers.csv
    columns:
      offer_id: {template: "O-{Who}"}
      student_id: Who
      offer_type: {value: full_time}
      offered_on: {column: When, date_format: "%m/%Y"}
      decision: {column: Took, map: {Yes: accepted, No: declined, "": pending}}
      salary_usd: {column: Pay, extract: "([0-9][0-9,.]*)", multiply: 1.27}
""")
    frame = apply(read_mapping(mapping), "offers", [source / "offers.csv"]).frame
    assert frame["offered_on"].to_list() == ["2025-03-01", "bad", "2024-12-01"]
    assert frame["decision"].to_list() == ["accepted", "declined", "pending"]
    assert frame["salary_usd"].to_list() == ["57150", None, None]  # 45,000 × 1.27 exactly
    db = tmp_path / "w.duckdb"
    result = load(source, db, mapping=mapping, max_bad_rows=1)
    assert result.ok, result.reason
    bad = result.quarantine.filter(pl.col("entity") == "offers").row(0, named=True)
    assert (bad["line"], bad["column"], bad["source"], bad["value"], bad["file"]) == (3, "offered_on", "When", "bad",
                                                                                     "offers.csv")


# --- the contract's subsets and empty tables ----------------------------------------------------------------------


def test_students_with_first_destinations_alone_is_a_first_load(tmp_path: Path) -> None:
    source = write_source(tmp_path / "s", HAND, only=("students", "first_destinations"))
    db = tmp_path / "w.duckdb"
    result = load(source, db)
    assert result.ok, result.reason
    con = duckdb.connect(str(db), read_only=True)
    assert con.sql("select count(*) from first_destinations").fetchall()[0][0] == 4
    con.close()


def test_a_header_only_file_is_an_empty_table(tmp_path: Path) -> None:
    tables = {**HAND, "offers": HAND["offers"][:1]}
    db = tmp_path / "w.duckdb"
    result = load(write_source(tmp_path / "s", tables), db)
    assert result.ok, result.reason
    offers = next(f for f in result.files if f.entity == "offers")
    assert offers.rows_read == 0 and any("no rows" in w for w in offers.warnings)


def test_a_file_in_another_shape_says_how_to_map_it(tmp_path: Path) -> None:
    source = write(tmp_path / "s", "students.csv", "sl_no,gender,status\n1,M,Placed\n").parent
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(main, ["load", "--source", str(source), "--db", str(db)])
    assert result.exit_code == 1
    text = " ".join(result.stderr.split())
    assert "missing required columns student_id, institution, major, class_level" in text
    assert "found sl_no, gender, status" in text
    assert f"mio map --source {source}" in text
    assert "no warehouse was created" in text
    assert not list(tmp_path.glob("w.duckdb*"))  # no .lock file either


def test_a_rejected_later_load_leaves_the_warehouse_unchanged_and_no_lock(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "s", HAND), db).ok
    before = file_digest(db)
    bad = write(tmp_path / "bad", "students.csv", "student_id,institution\nS9,U1\n").parent
    result = CliRunner().invoke(main, ["load", "--source", str(bad), "--db", str(db)])
    assert result.exit_code == 1 and "unchanged" in result.stderr
    assert file_digest(db) == before
    assert sorted(p.name for p in tmp_path.glob("w.duckdb*")) == ["w.duckdb"]


# --- real posting lists and offers --------------------------------------------------------------------------------


@needs_real
def test_the_internshala_preset_loads_postings(tmp_path: Path) -> None:
    source = real_copy(tmp_path, "internshala_internships_2021-06.csv")
    db = tmp_path / "w.duckdb"
    result = load(source, db, mapping=PRESETS / "internshala_postings.yaml")
    assert result.ok, result.reason
    con = duckdb.connect(str(db), read_only=True)
    raw = pl.read_csv(REAL / "internshala_internships_2021-06.csv", infer_schema=False)
    assert con.sql("select count(*) from micro_internships").fetchall()[0][0] == raw.height
    organisations = raw["Internship Organization"].n_unique()
    assert con.sql("select count(*) from employers").fetchall()[0][0] == organisations
    row = con.sql("select * from micro_internships where project_id = '1623226353'").pl().row(0, named=True)
    con.close()
    # Toppr, Business Development (Sales): Work From Home, 1 Month, Unpaid, deadline 19 Jun' 21.
    assert (row["remote"], row["estimated_hours"], row["pay_usd"], str(row["posted_date"])) == (
        True, 40, 0.0, "2021-06-19")
    ranged = raw.with_row_index("i").filter(pl.col("Stipend").str.contains("-")).row(0, named=True)
    stipend = int(ranged["Stipend"].split("-")[0])  # a range of rupees a month: its lower end
    months = int(ranged["Duration"].split(" ")[0])
    project = re.search(r"([0-9]+)$", ranged["Internship Details Page Link"]).group(1)
    con = duckdb.connect(str(db), read_only=True)
    pay = con.sql("select pay_usd from micro_internships where project_id = ?", params=[project]).fetchall()[0][0]
    con.close()
    assert pay == pytest.approx(stipend * months * 0.012)


@needs_real
def test_rows_the_internshala_map_misses_land_in_quarantine_with_their_line(tmp_path: Path) -> None:
    source = real_copy(tmp_path, "internshala_internships_2021-06.csv")
    text = (PRESETS / "internshala_postings.yaml").read_text().replace(', "4 Months": "160"', "")
    mapping = write(tmp_path, "m.yaml", text)
    result = load(source, tmp_path / "w.duckdb", mapping=mapping, max_bad_rows=1)
    assert result.ok
    bad = result.quarantine.filter(pl.col("column") == "estimated_hours")
    raw = (REAL / "internshala_internships_2021-06.csv").read_text(encoding="utf-8").splitlines()
    assert bad.height == 9
    for row in bad.iter_rows(named=True):
        assert row["value"] == "4 Months" and row["source"] == "Duration"
        assert "4 Months" in raw[row["line"] - 1]


UMD_MAPPING = """\
version: 1
entities:
  students:
    from: umd_job_offers_full-time.csv
    columns:
      student_id: {template: "UMD-{_line}"}
      institution: {value: University of Minnesota Duluth}
      major: {value: Computer Science}
      class_level: {column: Degree, map: {"Bachelor’s": alumni, "Bachelor's": alumni, Masters: graduate}}
  offers:
    from: umd_job_offers_full-time.csv
    columns:
      offer_id: {template: "UMD-FT-{_line}"}
      student_id: {template: "UMD-{_line}"}
      employer_name: Company
      offer_type: {value: full_time}
      offered_on: {template: "{Start year}-01-01"}
      decision: {value: accepted}
      salary_usd: {column: Salary, extract: "([0-9][0-9,.]*)"}
"""


@needs_real
def test_the_umd_full_time_offers_load(tmp_path: Path) -> None:
    source = real_copy(tmp_path, "umd_job_offers_full-time.csv")
    write(source, "mapping.yaml", UMD_MAPPING)
    db = tmp_path / "w.duckdb"
    result = load(source, db)
    assert result.ok, result.reason
    con = duckdb.connect(str(db), read_only=True)
    salaries = sorted(r[0] for r in con.sql("select salary_usd from offers").fetchall())
    levels = dict(con.sql("select class_level, count(*) from students group by 1").fetchall())
    con.close()
    raw = pl.read_csv(REAL / "umd_job_offers_full-time.csv", infer_schema=False)
    assert salaries == sorted(float(s.strip("$").replace(",", "")) for s in raw["Salary"])
    assert sum(levels.values()) == raw.height


@needs_real
def test_the_ragged_umd_internship_file_is_rejected_whole(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "base", HAND), db).ok
    before = file_digest(db)
    source = real_copy(tmp_path, "umd_job_offers_internship.csv")
    degree = UMD_MAPPING.splitlines()[8]  # the internship file has no Degree column
    write(source, "mapping.yaml", UMD_MAPPING.replace("umd_job_offers_full-time.csv", "umd_job_offers_internship.csv")
          .replace("Salary", "Hourly pay").replace(degree, "      class_level: {value: junior}"))
    result = load(source, db)
    assert not result.ok
    lines = (REAL / "umd_job_offers_internship.csv").read_text(encoding="utf-8").splitlines()
    first_bad = next(i for i, line in enumerate(lines, start=1) if ', "' in line)
    assert f"line {first_bad}" in result.reason and "ragged" in result.reason
    assert file_digest(db) == before


# --- presets and drafts -------------------------------------------------------------------------------------------

FDS_ROWS = [
    # student_email, response type, employment category, employment type, seeking, pay schedule, salary, source
    ("a@u.edu", "Working", "Organization", "Full-Time", "", "Annual Salary", "65000", "Survey Response"),
    ("b@u.edu", "Working", "Organization", "Part-Time", "", "Hourly Wage", "18.50", "Survey Response"),
    ("c@u.edu", "Working", "Freelancer", "", "", "", "", "LinkedIn"),
    ("d@u.edu", "Continuing Education", "", "", "", "", "", "Survey Response"),
    ("e@u.edu", "Still Looking", "", "", "Employment", "", "", "Survey Response"),
    ("f@u.edu", "Still Looking", "", "", "Continuing Education", "", "", "Faculty"),
    ("g@u.edu", "Not Seeking", "", "", "", "", "", "Survey Response"),
    ("h@u.edu", "Military", "", "", "", "", "", "Employer"),
    ("i@u.edu", "Volunteering", "", "", "", "", "", "Survey Response"),
    ("j@u.edu", "Working", "Fellowship", "Full-Time", "", "Annual Salary", "52,000.00", "Departmental Records"),
]
FDS_EXPECTED = ["employed_full_time", "employed_part_time", "self_employed", "continuing_education",
                "seeking_employment", "seeking_education", "not_seeking", "military", "service",
                "postgrad_internship"]


def handshake_fds(folder: Path) -> Path:
    """A first-destination export with Handshake's exact 42 headers and realistic values."""
    header = (REAL / "handshake_fds_header_only.csv").read_text(encoding="utf-8").strip().split(",")
    lines = [",".join(header)]
    for n, (email, kind, category, employment, seeking, schedule, salary, source) in enumerate(FDS_ROWS):
        row = dict.fromkeys(header, "")
        row.update({"student_email": email, "email_address": email, "first_destination_survey_name": "Class of 2025",
                    "first_destination_response_type_name": kind, "education_level_name": "Bachelors",
                    "import_identifier": f"survey44587_{100 + n}", "first_destination_survey_id": "44587",
                    "employment_category_name": category, "employment_type_name": employment,
                    "seeking_option_name": seeking, "pay_schedule_name": schedule, "salary": salary,
                    "knowledge_source": source, "primary_major_name": "Economics", "graduation_date": "2025-05-15",
                    "employer_name": "Acme" if kind == "Working" else "", "status": "submitted"})
        lines.append(",".join(f'"{v}"' if "," in v else v for v in row.values()))
    return write(folder, "fds.csv", "\n".join(lines) + "\n")


@needs_real
def test_the_handshake_first_destination_preset(tmp_path: Path) -> None:
    source = tmp_path / "src"
    handshake_fds(source)
    draft = tmp_path / "mapping.yaml"
    result = CliRunner().invoke(main, ["map", "--source", str(source), "--preset", "handshake_first_destinations",
                                       "--out", str(draft)])
    assert result.exit_code == 0, result.stderr
    db = tmp_path / "w.duckdb"
    with pytest.raises(MappingError, match=r"mapping.yaml:\d+: institution: the value is still TODO"):
        load(source, db, mapping=draft)  # the institution is still to be filled in
    assert not db.exists()
    draft.write_text(draft.read_text().replace("{value: TODO}", "{value: North Valley College}"))
    loaded = load(source, db, mapping=draft)
    assert loaded.ok, loaded.reason
    con = duckdb.connect(str(db), read_only=True)
    rows = con.sql("select student_id, outcome, salary_usd, source from first_destinations order by 1").fetchall()
    con.close()
    assert [r[1] for r in rows] == FDS_EXPECTED
    assert [r[2] for r in rows] == [65000.0, None, None, None, None, None, None, None, None, 52000.0]
    assert [r[3] for r in rows][:3] == ["survey", "survey", "linkedin"] and rows[9][3] == "other"


@needs_real
def test_the_handshake_students_preset_matches_the_real_headers(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copyfile(REAL / "handshake_users_header_only.csv", write(source, "users.csv", "").parent / "users.csv")
    draft = tmp_path / "m.yaml"
    result = CliRunner().invoke(main, ["map", "--source", str(source), "--preset", "handshake_students", "--out",
                                       str(draft)])
    assert result.exit_code == 0, result.stderr
    draft.write_text(draft.read_text().replace("{value: TODO}", "{value: North Valley College}"))
    assert "from: \"users.csv\"" in draft.read_text()
    check_headers(read_mapping(draft), source)  # every column the preset names is one of Handshake's 34


def test_presets_are_listed() -> None:
    result = CliRunner().invoke(main, ["map", "--list-presets"])
    assert result.exit_code == 0
    for name in ("handshake_first_destinations", "handshake_students", "internshala_postings"):
        assert name in result.output


@needs_real
def test_a_draft_mapping_for_the_campus_placement_file(tmp_path: Path) -> None:
    source = real_copy(tmp_path, "Placement_Data_Full_Class.csv")
    out = tmp_path / "draft.yaml"
    result = CliRunner().invoke(main, ["map", "--source", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    # The draft guesses students (gender, status, salary are there), lists every distinct value of an enumerated
    # target with its guess or TODO, and names the alternatives as comments.
    assert "from: Placement_Data_Full_Class.csv" in text
    assert 'gender: "gender"' in text
    assert "TODO" in text
    with pytest.raises(MappingError, match="TODO"):
        read_mapping(out)
    assert json.loads(CliRunner().invoke(main, ["map", "--source", str(source), "--format", "json"]).output)


@needs_real
def test_a_mapped_load_is_idempotent_and_recorded(tmp_path: Path) -> None:
    source = real_copy(tmp_path, "Placement_Data_Full_Class.csv")
    write(source, "mapping.yaml", PLACEMENT_MAPPING)
    db = tmp_path / "w.duckdb"
    assert load(source, db).ok
    con = duckdb.connect(str(db), read_only=True)
    first = {t: con.sql(f"select * from {t} order by all").fetchall() for t in ("students", "first_destinations")}
    con.close()
    assert load(source, db).ok
    con = duckdb.connect(str(db), read_only=True)
    again = {t: con.sql(f"select * from {t} order by all").fetchall() for t in ("students", "first_destinations")}
    loads = con.sql("select count(*), count(distinct mapping_sha256) from load_history").fetchall()[0]
    files = con.sql("select entity, file, rows_read from load_files where load_id = 2 order by 1").fetchall()
    con.close()
    assert again == first and loads == (2, 1)
    assert files == [("first_destinations", "Placement_Data_Full_Class.csv", 215),
                     ("students", "Placement_Data_Full_Class.csv", 215)]


@needs_real
def test_the_dry_run_lists_every_quarantined_row(tmp_path: Path) -> None:
    source = real_copy(tmp_path, "Placement_Data_Full_Class.csv")
    mapping = write(tmp_path, "m.yaml", PLACEMENT_MAPPING.replace(", Not Placed: seeking_employment", ""))
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(main, ["load", "--source", str(source), "--mapping", str(mapping), "--db", str(db),
                                       "--dry-run", "--max-bad-rows", "1", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "checked" and len(report["quarantine"]) == 67
    assert {(r["column"], r["source"], r["value"]) for r in report["quarantine"]} == {
        ("outcome", "status", "Not Placed")}
    said = " ".join(result.stderr.split())
    assert "every quarantined row" in said and "nothing was written" in said
    assert said.count("Not Placed") == 67  # each row in the table, with its line
    assert not db.exists()
