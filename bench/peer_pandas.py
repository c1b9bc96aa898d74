"""The peer of `mio report --by industry`: what an analyst would write in pandas over the raw source files.

It computes the offer rate by industry with the contract's attribution of offers (docs/data-contract.md §6) and
nothing of mio: read the CSV files, attribute each offer to at most one completed placement of its student (the one
its placement_id names, else the latest-ending completed placement at the offer's employer that started on or
before the offer and ended at most 180 days before it), then completed placements with an offer ÷ completed
placements per industry (the project's, else its employer's). `python -m bench.peer_pandas SOURCE` prints JSON
rows {"group", "completed", "offers", "offer_rate"}; bench/harness.py times it against `mio report` and checks that
both give the same figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def offer_rates(source: Path) -> pd.DataFrame:
    projects = pd.read_csv(source / "micro_internships.csv", usecols=["project_id", "employer_id", "industry"],
                           dtype=str)
    employers = pd.read_csv(source / "employers.csv", usecols=["employer_id", "industry"], dtype=str)
    applications = pd.read_csv(source / "applications.csv", usecols=["application_id", "student_id", "project_id"],
                               dtype=str)
    placements = pd.read_csv(source / "placements.csv", usecols=["placement_id", "application_id", "started_on",
                                                                 "ended_on", "status"], dtype=str)
    offers = pd.read_csv(source / "offers.csv", usecols=["offer_id", "student_id", "employer_id", "offered_on",
                                                         "placement_id"], dtype=str)

    projects = projects.merge(employers.rename(columns={"industry": "employer_industry"}), on="employer_id",
                              how="left")
    projects["industry"] = projects["industry"].fillna(projects["employer_industry"]).fillna("unknown")
    completed = (placements[placements["status"] == "completed"]
                 .merge(applications, on="application_id")
                 .merge(projects[["project_id", "employer_id", "industry"]], on="project_id"))
    completed["started_on"] = pd.to_datetime(completed["started_on"])
    completed["ended_on"] = pd.to_datetime(completed["ended_on"])
    offers["offered_on"] = pd.to_datetime(offers["offered_on"])

    # (a) the completed placement the offer names, of the same student
    named = offers.merge(completed[["placement_id", "student_id"]], on=["placement_id", "student_id"])
    named = named[["offer_id", "placement_id"]]
    # (b) for the others: the student's completed placements at the offer's employer, in the window
    rest = offers[~offers["offer_id"].isin(named["offer_id"]) & offers["employer_id"].notna()]
    window = rest.drop(columns="placement_id").merge(
        completed[["placement_id", "student_id", "employer_id", "started_on", "ended_on"]],
        on=["student_id", "employer_id"])
    window = window[(window["started_on"] <= window["offered_on"])
                    & (window["offered_on"] <= window["ended_on"] + pd.Timedelta(days=180))]
    latest = (window.sort_values(["offer_id", "ended_on", "placement_id"], ascending=[True, False, False])
              .drop_duplicates("offer_id")[["offer_id", "placement_id"]])
    attributed = pd.concat([named, latest])

    completed["has_offer"] = completed["placement_id"].isin(attributed["placement_id"])
    table = completed.groupby("industry").agg(completed=("placement_id", "size"), offers=("has_offer", "sum"))
    table["offer_rate"] = (table["offers"] / table["completed"]).round(4)
    return table.reset_index().rename(columns={"industry": "group"}).sort_values("group")


def main() -> None:
    rows = offer_rates(Path(sys.argv[1]))
    print(json.dumps([{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                      for row in rows.to_dict("records")], indent=2))


if __name__ == "__main__":
    main()
