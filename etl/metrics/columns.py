"""The contract's names that the command line needs before any query: the dimensions, the outcome table's columns
and the default minimum cell size (docs/data-contract.md §3–§5). No Polars here, so `mio report` and `--help`
start quickly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Dimension:
    """A column of fact_applications the figures are grouped by, declared once: what every list of dimensions, the
    pages' labels and fact_sizes' check read."""

    name: str
    label: str  # as the pages and the glossary write it
    report: bool = False  # offered by `mio report --by` (docs/data-contract.md §3), in this order
    student: bool = False  # who the students are: a group the comparisons by student group take
    equity: bool = False  # a group of the equity tables
    stored: bool = True  # its one-way outcome table is stored at load (not per project or employer)


CATALOGUE = (
    Dimension("overall", "Overall", report=True),
    Dimension("industry", "Industry", report=True),
    Dimension("function", "Function", report=True),
    Dimension("platform", "Platform", report=True),
    Dimension("channel", "Channel", report=True),
    Dimension("employer", "Employer", report=True),
    Dimension("institution", "Institution", report=True, student=True),
    Dimension("class_level", "Class level", report=True, student=True),
    Dimension("first_generation", "First-generation", report=True, student=True, equity=True),
    Dimension("pell_eligible", "Pell-eligible", report=True, student=True, equity=True),
    Dimension("remote", "Remote", report=True),
    Dimension("pay_band", "Pay band ($/hour)", report=True),
    Dimension("hours_band", "Hours band", report=True),
    Dimension("term", "Term", report=True),
    Dimension("gender", "Gender", student=True, equity=True),
    Dimension("race_ethnicity", "Race/ethnicity", student=True, equity=True),
    Dimension("major", "Major", student=True),
    Dimension("college", "College", student=True),
    Dimension("project_id", "Project", stored=False),
    Dimension("employer_id", "Employer ID", stored=False),
)
DIMENSIONS = tuple(d.name for d in CATALOGUE if d.report)
# Further dimensions the dashboard may group by (not part of `mio report`'s contract); the employer view groups one
# employer's figures by project_id and an industry's by employer_id.
EXTRA_DIMENSIONS = tuple(d.name for d in CATALOGUE if not d.report)
STUDENT_DIMENSIONS = tuple(d.name for d in CATALOGUE if d.student)
EQUITY_DIMENSIONS = tuple(d.name for d in CATALOGUE if d.equity)
# Each dimension's label, but the whole population's and those of single projects and employers.
DIMENSION_LABELS = {d.name: d.label for d in CATALOGUE if d.name != "overall" and d.stored}
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
