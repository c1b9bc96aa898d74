"""The contract's names that the command line needs before any query: the dimensions, the outcome table's columns
and the default minimum cell size (docs/data-contract.md §3–§5). No Polars here, so `mio report` and `--help`
start quickly."""

from __future__ import annotations

from typing import Any

DIMENSIONS = (
    "overall",
    "industry",
    "function",
    "platform",
    "channel",
    "employer",
    "institution",
    "class_level",
    "first_generation",
    "pell_eligible",
    "remote",
    "pay_band",
    "hours_band",
    "term",
)
OUTCOME_COLUMNS = [
    "group",
    "applications",
    "applicants",
    "selection_rate",
    "placements",
    "completed",
    "completion_rate",
    "offers",
    "offer_rate",
    "conversion_rate",
    "acceptance_rate",
    "median_days_to_offer",
    "suppressed",
]
DEFAULT_MIN_CELL = 10


def hidden_at(students: Any, k: Any) -> Any:
    """The one comparison of every small-cell rule (§5, the disclosure rule, the pages' own blanks): a figure resting
    on `students` is hidden at minimum cell size `k` exactly when they are fewer than k. `students` and `k`: numbers
    or Polars expressions (a boolean or an expression back), or both SQL text (SQL text back)."""
    if isinstance(students, str):
        return f"({students} < {k})"
    return students < k


# The project attributes whose offer rates `mio report --adjusted` adjusts for the mix of students.
PROJECT_ATTRIBUTES = ("industry", "function", "pay_band", "hours_band", "remote", "platform", "channel")
