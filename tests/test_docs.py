"""The docs: a short README, reference pages written from the code (and failing here when they drift), commands
that exist, and the worked example run as written."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl import reference
from etl.cli import main
from etl.settings import OTHERS, SETTINGS
from tests.conftest import REAL

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
LOADING = (ROOT / "docs" / "loading.md").read_text()


def settings_read_by_the_code() -> set[str]:
    used = set()
    for path in [*ROOT.glob("etl/**/*.py"), *ROOT.glob("dashboard/**/*.py")]:
        text = path.read_text()
        used |= set(re.findall(r"environ(?:\.get)?\(\s*[\"']([A-Z][A-Z0-9_]+)", text))
        used |= set(re.findall(r"environ\[[\"']([A-Z][A-Z0-9_]+)", text))
    return used


def test_every_setting_the_code_reads_is_declared_and_every_declared_one_is_read() -> None:
    used = settings_read_by_the_code()
    assert {"MIO_DB", "MIO_USERS", "SPARK_REMOTE"} <= used, "the scan is broken"
    declared = {s.name for s in SETTINGS}
    assert used - set(OTHERS) == declared, (used - set(OTHERS) - declared, declared - used)
    assert len(declared) == len(SETTINGS)


def test_every_default_written_in_the_code_is_the_declared_one() -> None:
    """`environ.get("NAME", "value")` in the code: the declared default names that value (the doc cannot say 8 where
    the code says 12)."""
    defaults = {s.name: s.default for s in SETTINGS}
    found = [(name, value) for path in [*ROOT.glob("etl/**/*.py"), *ROOT.glob("dashboard/**/*.py")]
             for name, value in re.findall(r"environ\.get\(\s*[\"']([A-Z_]+)[\"']\s*,\s*[\"']([^\"']*)[\"']\)",
                                           path.read_text())]
    assert len(found) >= 10, "the scan is broken"
    assert not [(n, v) for n, v in found if f"`{v}`" not in defaults[n]], found


@pytest.mark.parametrize("page", sorted(reference.PAGES))
def test_the_reference_pages_are_written_from_the_code(page: str) -> None:
    """docs/cli.md and docs/settings.md are what `python -m etl.reference` (make docs) writes now."""
    assert (ROOT / "docs" / page).read_text(encoding="utf-8") == reference.PAGES[page](), \
        f"docs/{page} has drifted: run make docs"


def test_the_cli_reference_names_every_command() -> None:
    cli = (ROOT / "docs" / "cli.md").read_text()
    every = [" ".join(words) for words, _, _ in reference.commands(main, reference.context(main, "mio", None))]
    assert {"generate", "load", "report", "serve", "demo", "users add", "schedule run", "map", "publish"} <= set(every)
    for words in every:
        assert f"## `mio {words}`" in cli and f"Usage: mio {words} " in cli, words
    for setting in SETTINGS:
        assert f"`{setting.name}`" in (ROOT / "docs" / "settings.md").read_text()


def test_the_readme_is_short_and_has_what_a_newcomer_needs() -> None:
    words = len(re.findall(r"\S+", README))
    assert words <= 1200, words
    assert "make demo" in README and "make test" in README
    assert "pipx install ." in README and "uv tool install ." in README
    assert "docs/screenshots/overview.png" in README
    linked = set(re.findall(r"\]\((docs/[\w./-]+\.md)\)", README))
    assert {"docs/cli.md", "docs/settings.md", "docs/loading.md", "docs/operations.md", "docs/spark.md"} <= linked
    assert all((ROOT / page).exists() for page in linked), linked


def test_readme_commands_exist() -> None:
    for doc in (README, LOADING, (ROOT / "docs" / "operations.md").read_text()):
        commands = set(re.findall(r"mio ([a-z]+)", doc))
        assert commands
        for command in commands:
            assert CliRunner().invoke(main, [command, "--help"]).exit_code == 0, command
    assert {"load", "serve", "users", "map", "demo"} <= set(re.findall(r"mio ([a-z]+)", README))


def test_links_between_the_docs_lead_somewhere() -> None:
    for page in [ROOT / "README.md", *ROOT.glob("docs/*.md")]:
        for target in re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), (page.name, target)


def test_the_project_points_to_its_own_docs() -> None:
    """Nothing outside the tests points to the shared folder a clone does not have."""
    for path in [*ROOT.glob("etl/**/*"), *ROOT.glob("dashboard/**/*"), *ROOT.glob("bench/**/*"),
                 *ROOT.glob("docs/*"), ROOT / "README.md", ROOT / "Makefile", *ROOT.glob("expectations/*")]:
        if path.is_file() and path.suffix in (".py", ".md", ".sql", ".yaml", ".json", ".toml", ""):
            assert "shared/" not in path.read_text(encoding="utf-8"), path


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def section(title: str) -> str:
    start = LOADING.index(title)
    end = LOADING.find("\n## ", start + 1)
    return LOADING[start:end if end > 0 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)



@pytest.mark.skipif(not REAL.exists(), reason="the real exports in ../shared/real are not here")
def test_the_worked_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command of docs/loading.md's worked example, in order, on the real campus-placement file."""
    example = section("### Worked example")
    mapping, = blocks(example, "yaml")
    commands = [part.strip() for block in blocks(example, "sh") for line in block.splitlines() if line.strip()
                for part in line.split("&&")]
    expected = json.loads(blocks(example, "json")[0])
    monkeypatch.chdir(tmp_path)
    output = ""
    for command in commands:
        words = shlex.split(command.split("  #")[0])
        if words[0] == "mkdir":
            (tmp_path / words[-1]).mkdir(parents=True, exist_ok=True)
            continue
        if words[0] == "cp":  # the user's download: the real file
            shutil.copyfile(REAL / Path(words[-2]).name, tmp_path / words[-1] / Path(words[-2]).name)
            continue
        assert words[0] == ".venv/bin/mio", command
        result = CliRunner().invoke(main, words[1:])
        assert result.exit_code == 0, (command, result.stderr)
        if words[1] == "map":  # the draft: what the text says it guesses, then the mapping in full replaces it
            draft = (tmp_path / "exports" / "mapping.yaml").read_text()
            for line in ('student_id: "sl_no"', 'major: "specialisation"', '"Placed": employed_full_time',
                         '"Not Placed": seeking_employment', 'salary_usd: "salary"', "institution: {value: TODO}",
                         "class_level: {value: TODO}"):
                assert line in draft, line
            (tmp_path / "exports" / "mapping.yaml").write_text(mapping)
        output = result.stdout
    assert json.loads(output) == expected
