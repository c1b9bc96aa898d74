"""Published national figures drawn beside our own, each with its source and year.

They are reference points, not targets: a first-destination rate compares directly; internship offer and conversion
rates come from full internships (hundreds of hours), so micro-internships (5-40 hours) are expected to sit well below
them. Every figure here is quoted from its publisher; none is computed from the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    figure: str  # the rate of ours it is drawn beside
    value: float
    label: str  # short, for the chart
    source: str  # publisher and publication
    year: str  # the year or class it describes
    short: str  # the line's label on a chart
    note: str = ""  # how it compares with ours

    def caption(self) -> str:
        text = f"{self.label}: {self.value:.0%} ({self.source}, {self.year})."
        return f"{text} {self.note}" if self.note else text


INTERNSHIPS = "Full internships, not micro-internships: expect ours to be lower."
NATIONAL = (
    Benchmark("career_outcomes_rate", 0.86, "Career outcomes rate, bachelor's graduates",
              "NACE First-Destination Survey", "class of 2022", "NACE, class of 2022"),
    Benchmark("knowledge_rate", 0.65, "Minimum knowledge rate for reporting", "NACE First-Destination Standards",
              "current standard", "NACE minimum for reporting",
              "NACE asks schools to report only above it; good offices reach 75-90%."),
    Benchmark("offer_rate", 0.67, "Interns offered a job by their employer", "NACE Internship & Co-op Survey",
              "2022-23", "NACE internships, 2022-23", INTERNSHIPS),
    Benchmark("conversion_rate", 0.53, "Interns who accepted a job with their employer",
              "NACE Internship & Co-op Survey", "2022-23", "NACE internships, 2022-23", INTERNSHIPS),
    Benchmark("acceptance_rate", 0.83, "Interns' offers accepted", "NACE Internship & Co-op Survey", "2021",
              "NACE internships, 2021", INTERNSHIPS),
)


def national(figure: str) -> list[Benchmark]:
    """The national figures published for one of our rates (none for most)."""
    return [b for b in NATIONAL if b.figure == figure]
