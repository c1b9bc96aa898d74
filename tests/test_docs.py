"""The README documents every setting, and its commands are the ones the project has."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from etl.cli import main

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


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
