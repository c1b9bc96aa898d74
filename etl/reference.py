"""The reference pages written from the code itself, so they cannot drift: docs/cli.md from click's own help of
every command, docs/settings.md from etl/settings.py, and the expectation suites under expectations/ from the
contract's schema (etl/ingest/suites.py). `python -m etl.reference [DOCS]` rewrites them all (`make docs`);
tests/test_docs.py and tests/test_expectations.py fail when one differs from what this writes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from etl.settings import GROUPS, SETTINGS

WIDTH = 100


def context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    """The context click gives `command` when it runs (its settings, and what it inherits from its group's)."""
    return click.Context(command, info_name=name, parent=parent, terminal_width=WIDTH,
                         **{"max_content_width": WIDTH, **command.context_settings})


def commands(group: click.Group, parent: click.Context, path: tuple[str, ...] = ()
             ) -> Iterator[tuple[tuple[str, ...], click.Command, click.Context]]:
    """Every command under `group`, depth first in name order, with the words that call it and its context."""
    for name in sorted(group.commands):
        command = group.commands[name]
        ctx = context(command, name, parent)
        yield (*path, name), command, ctx
        if isinstance(command, click.Group):
            yield from commands(command, ctx, (*path, name))


def cli_reference() -> str:
    from etl.cli import main

    root = context(main, "mio", None)
    every = list(commands(main, root))
    lines = ["# `mio` command reference", "",
             "Written from the commands' own help by `python -m etl.reference` (`make docs`); a test fails when it "
             "drifts. `mio COMMAND --help` prints the same.", "",
             "Exit codes everywhere: 0 success; 1 input rejected or a check failed; 2 wrong options. Human output "
             "(progress, tables) goes to stderr; `--format json|csv` output goes to stdout.", "",
             "| command | what it does |", "|---|---|"]
    lines += [f"| [`mio {' '.join(words)}`](#mio-{'-'.join(words)}) | {command.get_short_help_str(90)} |"
              for words, command, _ in every]
    lines += ["", "## `mio`", "", "```text", main.get_help(root), "```"]
    for words, command, ctx in every:
        lines += ["", f"## `mio {' '.join(words)}`", "", "```text", command.get_help(ctx), "```"]
    return "\n".join(lines) + "\n"


def settings_reference() -> str:
    lines = ["# Settings", "",
             "Every environment variable mio reads. Written from `etl/settings.py` by `python -m etl.reference` "
             "(`make docs`); a test fails when the code reads a variable that is not listed there, or when this "
             "page drifts from it."]
    for key, title in GROUPS.items():
        lines += ["", f"## {title}", "", "| environment variable | default | what it sets |", "|---|---|---|"]
        lines += [f"| `{s.name}` | {s.default} | {s.what} |" for s in SETTINGS if s.group == key]
    lines += ["", "Object stores are reached with their clients' usual variables (`AWS_ACCESS_KEY_ID`, "
              "`AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, `AWS_MAX_ATTEMPTS`, …); single sign-on is configured in "
              "the app's `.streamlit/secrets.toml` ([operations](operations.md))."]
    return "\n".join(lines) + "\n"


PAGES = {"cli.md": cli_reference, "settings.md": settings_reference}


SUITES = Path(__file__).resolve().parents[1] / "expectations"  # the checkout's: the package is built from it


def main(argv: list[str]) -> None:
    docs = Path(argv[0]) if argv else Path("docs")
    for name, write in PAGES.items():
        (docs / name).write_text(write(), encoding="utf-8")
        print(f"wrote {docs / name}")
    from etl.ingest.suites import write_suites

    print(f"wrote {len(write_suites(SUITES))} suites into {SUITES}")


if __name__ == "__main__":
    main(sys.argv[1:])
