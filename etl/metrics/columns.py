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
# Outcome tables computed once at load time for the whole population (no filters), so that the views every page
# opens with read a few stored rows: every one-way table and the two-way tables the dashboard's pages default to.
# A figure with filters, or any other pair, is computed from the fact tables when asked for.
PRECOMPUTED_OUTCOMES = (
    [(d.name, "overall") for d in CATALOGUE if d.stored]
    + [("industry", "pay_band"), ("platform", "channel"), ("term", "institution"), ("industry", "channel"),
       ("function", "channel")]
)


@dataclass(frozen=True)
class Figure:
    """A figure the product shows, declared once. `header`: its column header in words, where the name alone does
    not say it; `definition`: the contract's sentence (the glossary, the pages' help, the reports); `parts`: a
    rate's (numerator, denominator) counts; `rests_on`: the column counting the distinct students (or rated
    placements) it rests on, which the disclosure rule compares with K outside a director's screen (none: hidden
    there, closed by default); `additive`: a count that adds up over a breakdown's groups to its total; `posted`: a
    figure of the postings alone, behind which no student stands; `gives_back`: counts it would give back if shown
    beside them (beside a rate's parts); `counted`: a count of the outcome query (etl/metrics/sql/outcomes.sql),
    an integer."""

    name: str
    header: str | None = None
    definition: str | None = None
    parts: tuple[str, str] | None = None
    rests_on: str | None = None
    additive: bool = False
    posted: bool = False
    gives_back: tuple[str, ...] = ()
    counted: bool = False


# Every figure of the outcome table, the destinations, the employer and student views and the director's analyses.
# The glossary lists the definitions in this order. The outcome query's SQL is etl/metrics/sql/outcomes.sql.
FIGURES = (
    Figure("applications", counted=True, definition="Applications in the group.", rests_on="applicants", additive=True),
    Figure("applicants", counted=True, definition="Distinct students who applied.", rests_on="applicants",
           additive=True),
    Figure("selected", counted=True, rests_on="selectees", additive=True),
    Figure("selection_rate",
           definition="Applications with status selected ÷ applications that are not withdrawn.",
           parts=("selected", "not_withdrawn"),
           rests_on="selectees"),
    # every completed placement is a placement
    Figure("placements", counted=True, definition="Placements started (any status).", rests_on="completers"),
    Figure("completed", counted=True, definition="Placements with status completed.", rests_on="completers",
           additive=True),
    Figure("completion_rate",
           definition="Completed ÷ placements whose status is completed, cancelled or no-show.",
           parts=("completed", "closed"),
           rests_on="completers"),
    Figure("offers", counted=True,
           definition="Completed placements with at least one attributed offer.",
           rests_on="offer_holders",
           additive=True),
    Figure("offer_rate",
           definition="Completed placements with an attributed offer ÷ completed placements.",
           parts=("offers", "completed"),
           rests_on="offer_holders"),
    Figure("conversion_rate",
           definition="Completed placements with an attributed offer that was accepted ÷ completed placements.",
           parts=("converted", "completed"),
           rests_on="converters"),
    # accepted attributed offers belong to the converted placements
    Figure("acceptance_rate",
           definition="Attributed offers accepted ÷ attributed offers accepted or declined.",
           parts=("offers_accepted", "offers_decided"),
           rests_on="converters"),
    Figure("median_days_to_offer",
           header="median days to offer",
           definition="Median days from the placement's end to its first attributed offer (may be negative).",
           rests_on="offer_holders"),
    Figure("knowledge_rate", definition="Cohort students with a known first destination ÷ cohort students."),
    Figure("career_outcomes_rate",
           definition="Students employed, in service, the military or continuing education ÷ students with a known "
                      "outcome other than not seeking."),
    Figure("median_salary_usd",
           header="median salary ($)",
           definition="Median salary over students with a positive outcome and a salary."),
    Figure("completed_pay_per_hour",
           header="pay per hour, completed ($)",
           definition="Average pay ÷ estimated hours of the completed projects (unpaid ones count as $0).",
           rests_on="completers"),
    Figure("posted_pay_per_hour",
           header="posted pay per hour ($)",
           definition="Average pay ÷ estimated hours of the paid projects posted (unpaid ones left out).",
           posted=True),
    Figure("applications_per_slot",
           header="applications per place",
           definition="Applications ÷ places offered (slots) on the projects posted."),
    # an average over the completed placements that reported it
    Figure("new_contacts",
           header="new contacts per project",
           definition="Average professional contacts reported per completed project, over the projects that reported "
                      "a number.",
           rests_on="contacts_reported"),
    Figure("days_to_first_applicant", header="days to first applicant", rests_on="applicants"),
    Figure("days_to_first_selection", header="days to first selection", rests_on="selectees", gives_back=("selected",)),
    Figure("converted", counted=True, rests_on="converters", additive=True),
    # ratings: the completed placements rated
    Figure("employer_rating", rests_on="ratings_given"),
    Figure("student_rating", rests_on="ratings_received"),
    # Counts whose own students are not counted apart rest on a count of students they always include, so that a
    # figure shown outside a director's screen rests on at least as many students as that count says.
    # selected applications are not withdrawn
    Figure("not_withdrawn", counted=True, rests_on="selectees"),
    # closed: completed, cancelled or no-show
    Figure("closed", counted=True, rests_on="completers"),
    # accepted offers are the converted placements'
    Figure("offers_accepted", counted=True, rests_on="converters"),
    # accepted or declined
    Figure("offers_decided", counted=True, rests_on="converters"),
    # the projects the students applied to
    Figure("projects", counted=True, rests_on="applicants"),
    Figure("completed_hours", header="hours, completed", rests_on="completers"),
    # The students (and rated placements) a figure rests on are figures too, each resting on itself.
    Figure("selectees", counted=True, rests_on="selectees"),
    Figure("completers", counted=True, rests_on="completers"),
    Figure("offer_holders", counted=True, rests_on="offer_holders"),
    Figure("converters", counted=True, rests_on="converters"),
    Figure("ratings_given", counted=True, rests_on="ratings_given"),
    Figure("ratings_received", counted=True, rests_on="ratings_received"),
    Figure("contacts_reported", counted=True, rests_on="contacts_reported"),
    Figure("cohort_size", header="students in cohort"),
    Figure("ci_low", header="95% interval, low"),
    Figure("ci_high", header="95% interval, high"),
    Figure("offer_ci_low", header="offer rate, 95% low"),
    Figure("offer_ci_high", header="offer rate, 95% high"),
    Figure("median_gap", header="difference from the median"),
    Figure("raw_offer_rate", header="offer rate, raw"),
    Figure("adjusted_offer_rate", header="offer rate, adjusted"),
    Figure("adjusted_ci_low", header="adjusted, 95% low"),
    Figure("adjusted_ci_high", header="adjusted, 95% high"),
    Figure("reference", header="reference group"),
    Figure("adjusted_difference", header="adjusted difference to the reference"),
    Figure("difference_ci_low", header="difference, 95% low"),
    Figure("difference_ci_high", header="difference, 95% high"),
    Figure("typical_hours", posted=True),
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
