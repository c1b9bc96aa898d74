"""The one disclosure rule for every figure that leaves a director's screen: the employer and student views, their
downloads, and the shareable outcomes report. Pages and reports call `disclose`; none suppresses on its own.

The rule, after NCES, SLDS Technical Brief 3, "Statistical Methods for Protecting Personally Identifiable Information
in Aggregate Reporting" (2010), with K of at least 10:

1. **Groups.** A group whose denominator is below K is suppressed whole, with complementary suppression within its
   breakdown (docs/data-contract.md §5, as in `mio report`).
2. **Cells.** Inside a shown group, a figure is shown only when the distinct students it rests on are at least K:
   a count rests on the students it counts, a rate on the students of its numerator (those of its denominator are
   then at least as many), a median or a rating on the students it is taken over (`RESTS_ON`). A figure whose
   students nobody declared is hidden, whatever they are: the rule is closed by default (only the postings' own
   figures, `POSTED`, rest on no student).
3. **Sums.** Where the groups of a table add up to a total shown beside them (projects to the employer's summary,
   channels to an industry, breakdowns to the report's headline), never exactly one cell of a column and its total
   is hidden: the smallest shown cell of that column is hidden beside it (ties: the smallest group), so no hidden
   cell is a total minus shown cells.
4. **Rates and their counts.** A rate whose numerator or denominator count is hidden is hidden too (rate × count
   would give the other back), and so is whatever is computed from a hidden figure (a rate's interval).

Hidden figures are null; the `suppressed` column marks the groups hidden whole by step 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import polars as pl

from etl.metrics.columns import FIGURES
from etl.metrics.outcomes import DEFAULT_MIN_CELL, hidden_at, suppress

PUBLIC_MIN_CELL = DEFAULT_MIN_CELL  # the floor of K for every figure outside the director's pages

# The distinct students (columns of the outcome counts) that each figure shown outside the director's screen rests on.
RESTS_ON = {f.name: f.rests_on for f in FIGURES if f.rests_on}  # declared in etl/metrics/columns.py's FIGURES
# Figures of the postings alone (what employers advertised), behind which no student stands: shown as they are.
POSTED = tuple(f.name for f in FIGURES if f.posted)
# Counts that add up over the groups of a breakdown to its total.
ADDITIVE = tuple(f.name for f in FIGURES if f.additive)
# Figures that give back a count when shown beside another: each rate with its two counts.
DEPENDS_ON = {f.name: f.parts for f in FIGURES if f.parts} | {f.name: f.gives_back for f in FIGURES if f.gives_back}


def public_k(min_cell: int) -> int:
    """K outside the director's screen: the asked minimum, never below PUBLIC_MIN_CELL."""
    return max(int(min_cell), PUBLIC_MIN_CELL)


def public_rule(min_cell: int) -> str:
    """What the disclosure rule left blank, in the sentence every shared output carries (the outcomes report in HTML
    and PDF, the e-mail a schedule sends it with)."""
    return (f"A figure resting on fewer than {public_k(min_cell)} students is left blank, with a second one beside "
            "a single blank in a column that adds up to a shown total.")


Totals = Mapping[str, object] | None


def disclose(frame: pl.DataFrame, k: int, keys: Sequence[str], *, denominator: str | None = None,
             within: Sequence[str] | None = None, totals: Totals | Mapping[tuple, Totals] = None,
             rests_on: Mapping[str, str] = RESTS_ON, depends_on: Mapping[str, Sequence[str]] | None = None,
             hide_all: bool = False) -> pl.DataFrame:
    """The rule above applied to `frame` (one row per group; `keys` name it and are never hidden).

    `denominator`: the column of step 1 (none: no group is hidden whole); `within`: the columns that split the frame
    into breakdowns (a two-way table). `totals`: what each breakdown adds up to where it is shown beside it (a
    mapping from column to value, null when hidden; for a two-way table a mapping from the `within` values, as a
    tuple, to such a mapping); no totals, no step 3. The student-count columns of `rests_on` must be in the frame;
    a column that `rests_on` does not name (the step 1 denominator, a basis the caller drops) comes back hidden.
    `hide_all`: everything hidden (the total it would add up to rests
    on fewer than K students). `depends_on`: figures beyond DEPENDS_ON that would give a hidden figure back (an
    interval beside its hidden rate), each with the figures it hides with, applied after DEPENDS_ON.
    """
    if frame.is_empty():
        return frame.with_columns(pl.lit(False).alias("suppressed"))
    keys, within = list(keys), list(within or [])
    figures = [c for c in frame.columns if c not in keys and c != "suppressed"]
    rows = frame.to_dicts()
    hidden = {(i, c) for i in range(len(rows)) for c in figures if hide_all}
    whole = [hide_all] * len(rows)
    if denominator is not None:  # step 1
        flags = suppress(frame, denominator, keys, k, within=within or None).to_list()
        whole = [a or b for a, b in zip(whole, flags, strict=True)]
        hidden |= {(i, c) for i, flag in enumerate(flags) if flag for c in figures}
    for i, row in enumerate(rows):  # step 2
        for column in figures:
            students = rests_on.get(column)
            if column in POSTED:
                continue
            if students is None or hidden_at(row[students] or 0, k):  # declared nowhere: hidden (closed by default)
                hidden.add((i, column))
    if totals is not None:  # step 3
        lines: dict[tuple, list[int]] = {}
        for i, row in enumerate(rows):
            lines.setdefault(tuple(row[c] for c in within), []).append(i)
        for line, members in lines.items():
            total = cast(Mapping[tuple, Totals], totals).get(line) if within else cast(Totals, totals)
            if total is None:
                continue
            for column in (c for c in ADDITIVE if c in figures and c in total):
                blanks = sum((i, column) in hidden for i in members) + (total[column] is None)
                shown = [i for i in members if (i, column) not in hidden]
                if blanks == 1 and shown:
                    smallest = min(shown, key=lambda i: (rows[i][column] or 0, tuple(str(rows[i][c]) for c in keys)))
                    hidden.add((smallest, column))
    for figure, parts in [*DEPENDS_ON.items(), *(depends_on or {}).items()]:  # step 4
        if figure in figures:
            for i in range(len(rows)):
                if any((i, part) in hidden for part in parts if part in figures):
                    hidden.add((i, figure))
    suppressed = pl.Series("suppressed", whole, dtype=pl.Boolean)
    return frame.with_columns(
        [pl.Series(c, [None if (i, c) in hidden else row[c] for i, row in enumerate(rows)], dtype=frame[c].dtype)
         for c in figures]
    ).with_columns(suppressed)


def totals_of(frame: pl.DataFrame) -> dict[str, object]:
    """The one row of a disclosed total (an overall row, an employer's summary) as the `totals` of its breakdowns."""
    return frame.row(0, named=True) if frame.height else {}
