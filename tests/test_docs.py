"""The README documents every setting, and its commands are the ones the project has."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.cli import main
from tests.conftest import REAL

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_environment_setting_is_documented() -> None:
    used = set()
    for path in [*ROOT.glob("etl/**/*.py"), *ROOT.glob("dashboard/**/*.py")]:
        used |= set(re.findall(r"environ(?:\.get)?\(\s*[\"'](MIO_[A-Z_]+)", path.read_text()))
        used |= set(re.findall(r"environ\[[\"'](MIO_[A-Z_]+)", path.read_text()))
    assert used, "no settings found: the scan is broken"
    for name in used:
        assert f"`{name}`" in README, f"{name} is not documented in the README"


def test_readme_commands_exist() -> None:
    commands = set(re.findall(r"mio ([a-z]+)", README))
    assert {"generate", "load", "report", "serve", "demo", "users"} <= commands
    for command in commands:
        assert CliRunner().invoke(main, [command, "--help"]).exit_code == 0, command
    assert "make demo" in README and "make test" in README


def test_the_project_points_to_its_own_docs() -> None:
    """Nothing outside the tests points to the shared folder a clone does not have."""
    for path in [*ROOT.glob("etl/**/*"), *ROOT.glob("dashboard/**/*"), *ROOT.glob("bench/**/*"),
                 *ROOT.glob("docs/*"), ROOT / "README.md", ROOT / "Makefile", *ROOT.glob("expectations/*")]:
        if path.is_file() and path.suffix in (".py", ".md", ".sql", ".yaml", ".json", ".toml", ""):
            assert "shared/" not in path.read_text(encoding="utf-8"), path


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)




@pytest.mark.skipif(not REAL.exists(), reason="the real exports in ../shared/real are not here")
def test_the_worked_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command of the README's worked example, in order, on the real campus-placement file."""
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
