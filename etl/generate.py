"""`mio generate`: a realistic synthetic source, calibrated to published figures (see docs/figures.md), deterministic
for a seed.

Everything is drawn with NumPy arrays and shaped with Polars (no Python loop per row), so a million applications
take seconds. The story the data tells: technology and professional services draw the most applicants; referrals
and networking get selected more often; longer, better-paid projects and seniors convert to offers more often;
first-generation and Pell-eligible students take part less; completed projects raise skill self-ratings; and
graduates who took part land slightly better first destinations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from etl.ingest.schema import ENTITIES, NACE, POSITIVE_OUTCOMES

AS_OF = date(2026, 11, 1)  # the export date of the synthetic source; nothing happens after it
DATA_START = date(2023, 1, 9)
EPOCH = np.datetime64("1970-01-01", "D")

INSTITUTIONS = {
    "Northfield State University": 0.34,
    "Lakeshore College": 0.18,
    "Riverside Institute of Technology": 0.22,
    "Bayview University": 0.16,
    "Summit Community College": 0.10,
}
# major -> (college, weight, affinity group)
MAJORS = {
    "Computer Science": ("Engineering & Computing", 0.10, "tech"),
    "Information Systems": ("Business", 0.04, "tech"),
    "Data Science": ("Engineering & Computing", 0.04, "data"),
    "Mathematics": ("Arts & Sciences", 0.03, "data"),
    "Economics": ("Arts & Sciences", 0.05, "business"),
    "Finance": ("Business", 0.07, "business"),
    "Accounting": ("Business", 0.05, "business"),
    "Marketing": ("Business", 0.08, "marketing"),
    "Management": ("Business", 0.07, "business"),
    "Communication": ("Arts & Sciences", 0.07, "marketing"),
    "English": ("Arts & Sciences", 0.04, "content"),
    "Graphic Design": ("Arts & Design", 0.04, "design"),
    "Psychology": ("Arts & Sciences", 0.08, "people"),
    "Biology": ("Health & Life Sciences", 0.07, "research"),
    "Nursing": ("Health & Life Sciences", 0.05, "research"),
    "Political Science": ("Arts & Sciences", 0.04, "research"),
    "Mechanical Engineering": ("Engineering & Computing", 0.04, "tech"),
    "Sociology": ("Arts & Sciences", 0.03, "people"),
    "Environmental Science": ("Health & Life Sciences", 0.02, "research"),
    "Undeclared": ("University Studies", 0.03, "general"),
}
CLASS_LEVELS = {"first_year": 0.11, "sophomore": 0.15, "junior": 0.21, "senior": 0.23, "graduate": 0.08,
                "alumni": 0.22}
GENDERS = {"Woman": 0.56, "Man": 0.405, "Nonbinary": 0.02, None: 0.015}
RACES = {
    "White": 0.46, "Hispanic or Latino": 0.19, "Black or African American": 0.12, "Asian": 0.09,
    "Two or more races": 0.05, "International": 0.04, "American Indian or Alaska Native": 0.01,
    "Native Hawaiian or Pacific Islander": 0.005, None: 0.035,
}
# industry -> (weight among employers, applicant pull, offer log-odds shift, median full-time salary)
INDUSTRIES = {
    "Technology": (0.20, 2.4, 0.35, 78000),
    "Professional Services": (0.14, 1.9, 0.25, 66000),
    "Finance": (0.10, 1.4, 0.20, 70000),
    "Healthcare": (0.09, 0.9, 0.10, 58000),
    "Marketing & Media": (0.10, 1.0, -0.10, 52000),
    "Nonprofit": (0.10, 0.6, -0.45, 46000),
    "Education": (0.07, 0.6, -0.30, 47000),
    "Manufacturing": (0.06, 0.7, 0.15, 64000),
    "Retail & Consumer": (0.07, 0.8, -0.05, 50000),
    "Government": (0.03, 0.6, -0.40, 55000),
    "Energy": (0.04, 0.8, 0.20, 69000),
}
# function -> (affinity group, offer log-odds shift, technical skills)
FUNCTIONS = {
    "Software": ("tech", 0.30, ("Python", "JavaScript", "Git", "SQL", "Cloud Basics")),
    "Data & Analytics": ("data", 0.25, ("SQL", "Python", "Excel", "Tableau", "Statistics")),
    "Marketing": ("marketing", -0.10, ("SEO", "Social Media", "Google Analytics", "Copywriting", "Canva")),
    "Design": ("design", -0.15, ("Figma", "Adobe Illustrator", "UX Research", "Prototyping")),
    "Finance": ("business", 0.15, ("Excel", "Financial Modelling", "Accounting", "PowerPoint")),
    "Operations": ("business", 0.05, ("Excel", "Process Mapping", "Project Management", "Logistics")),
    "Sales": ("business", 0.20, ("CRM", "Lead Generation", "Negotiation", "Cold Outreach")),
    "HR": ("people", -0.05, ("Recruiting", "HRIS", "Onboarding", "Survey Design")),
    "Research": ("research", -0.20, ("Literature Review", "Survey Design", "Statistics", "R")),
    "Content": ("content", -0.25, ("Copywriting", "Editing", "Video Editing", "WordPress")),
}
FUNCTION_BY_INDUSTRY = {
    "Technology": {"Software": 4, "Data & Analytics": 3, "Marketing": 2, "Design": 2, "Sales": 1, "Operations": 1},
    "Professional Services": {"Data & Analytics": 2, "Finance": 2, "Operations": 2, "Marketing": 2, "Research": 2,
                              "HR": 1},
    "Finance": {"Finance": 4, "Data & Analytics": 3, "Operations": 1, "Sales": 1, "Marketing": 1},
    "Healthcare": {"Research": 3, "Operations": 2, "Data & Analytics": 2, "Marketing": 1, "HR": 1},
    "Marketing & Media": {"Marketing": 4, "Content": 3, "Design": 3, "Data & Analytics": 1},
    "Nonprofit": {"Content": 2, "Marketing": 2, "Research": 2, "Operations": 2, "HR": 1},
    "Education": {"Content": 3, "Research": 2, "Design": 1, "Operations": 1, "Marketing": 1},
    "Manufacturing": {"Operations": 4, "Data & Analytics": 2, "Sales": 1, "Finance": 1},
    "Retail & Consumer": {"Marketing": 3, "Sales": 2, "Operations": 2, "Design": 1, "Data & Analytics": 1},
    "Government": {"Research": 3, "Operations": 2, "Data & Analytics": 2, "Content": 1},
    "Energy": {"Operations": 3, "Data & Analytics": 2, "Finance": 2, "Research": 1},
}
TITLES = {
    "Software": ("Build an internal dashboard", "Automate a reporting script", "Prototype a web feature",
                 "Test and document an API"),
    "Data & Analytics": ("Customer churn analysis", "Clean and model sales data", "Build a KPI dashboard",
                         "Survey data analysis"),
    "Marketing": ("Competitor social media audit", "SEO content plan", "Email campaign analysis",
                  "Market sizing research"),
    "Design": ("Redesign a landing page", "Create a brand style guide", "Usability review of an app"),
    "Finance": ("Build a three-statement model", "Budget variance analysis", "Pricing analysis"),
    "Operations": ("Map an onboarding process", "Vendor comparison study", "Inventory data cleanup"),
    "Sales": ("Build a prospect list", "CRM data cleanup", "Sales script research"),
    "HR": ("Benchmark intern programs", "Draft onboarding materials", "Employee survey analysis"),
    "Research": ("Literature review", "Grant background research", "Field survey design"),
    "Content": ("Write a series of blog posts", "Produce a short explainer video", "Edit a case study"),
}
PLATFORMS = {"Parker Dewey": 0.36, "Handshake": 0.24, "Riipen": 0.12, "Upwork": 0.07, "Internshala": 0.04,
             "MySphere": 0.05, "Direct": 0.12}
CHANNELS = ("platform", "career_services", "networking", "referral", "direct")
SIZE_BANDS = {"1-49": 0.38, "50-249": 0.26, "250-999": 0.16, "1000-4999": 0.11, "5000+": 0.09}
STATES = ("CA", "NY", "TX", "IL", "MA", "WA", "GA", "OH", "PA", "NC", "CO", "MI", "FL", "MN", "VA", "AZ")
NAME_FIRST = ("Blue", "North", "Bright", "Clear", "Red", "Summit", "Harbor", "Cedar", "Granite", "Silver", "Pine",
              "River", "Golden", "Iron", "Oak", "Maple", "Prairie", "Beacon", "Atlas", "Nimbus", "Vector", "Lumen",
              "Crescent", "Willow", "Falcon", "Quarry", "Orchid", "Meridian", "Copper", "Juniper")
NAME_SECOND = ("Path", "Stone", "Field", "Wave", "Ridge", "Bridge", "Point", "Works", "Light", "Leaf", "Gate",
               "Line", "Spring", "Forge", "Grove", "Peak", "Shore", "Crest", "Labs", "Loop")
NAME_SUFFIX = {
    "Technology": ("Technologies", "Software", "Systems", "AI"), "Professional Services": ("Consulting", "Advisors",
    "Partners"), "Finance": ("Capital", "Financial", "Bank"), "Healthcare": ("Health", "Medical", "Care"),
    "Marketing & Media": ("Media", "Creative", "Studio"), "Nonprofit": ("Foundation", "Alliance", "Project"),
    "Education": ("Learning", "Academy", "Education"), "Manufacturing": ("Manufacturing", "Industries", "Components"),
    "Retail & Consumer": ("Goods", "Brands", "Outfitters"), "Government": ("County Office", "City Services",
    "Public Authority"), "Energy": ("Energy", "Power", "Renewables"),
}
OUTCOME_MIX = {  # NACE class of 2015 and 2022 shapes: ~58% full time, ~86% career outcomes rate
    "employed_full_time": 0.55, "employed_part_time": 0.06, "self_employed": 0.02, "postgrad_internship": 0.02,
    "service": 0.01, "military": 0.01, "continuing_education": 0.16, "seeking_employment": 0.12,
    "seeking_education": 0.01, "not_seeking": 0.04,
}
DEST_SOURCES = {"survey": 0.58, "linkedin": 0.22, "employer": 0.09, "faculty": 0.06, "other": 0.05}


@dataclass(frozen=True)
class Knobs:
    applications_per_student: float = 10.0  # contract: --students 100000 gives about a million applications
    employers_per_student: float = 0.04  # a state system of 100k students sees ~4k employers
    applications_per_posting_start: float = 55.0  # Handshake index: ~62 (2023) rising to ~109 (2025)
    applications_per_posting_end: float = 110.0
    withdraw_share: float = 0.07
    base_offer_logit: float = -2.0  # host-employer offers on ~20-25% of completed projects
    # A known truth for the adjusted comparisons (None: the usual story). `planted_remote_offer` is what a remote
    # project adds to the chance of an offer (a difference of probabilities, the same for every student), and
    # seniors, graduates and alumni both land remote projects more often and get offers more often.
    # `planted_participation` is what taking part adds to the chance of a positive first destination (among
    # graduates with a known outcome other than not seeking), and first-generation and Pell-eligible students both
    # take part less and land positive destinations less often. `planted_confounding` scales how strongly the
    # student attributes drive both (0: not at all).
    planted_remote_offer: float | None = None
    planted_participation: float | None = None
    planted_confounding: float = 1.0


def _missing(like: np.ndarray) -> np.ndarray:
    """Missing values (None) in the shape of `like`, for np.where's other branch."""
    return np.full(like.shape, None, dtype=object)


def _pick(rng: np.random.Generator, options: dict, size: int) -> np.ndarray:
    keys = list(options)
    weights = np.array(list(options.values()), dtype=float)
    idx = rng.choice(len(keys), size=size, p=weights / weights.sum())
    return np.array(keys, dtype=object)[idx]


def _days(d: date) -> int:
    return (np.datetime64(d, "D") - EPOCH).astype(int)


def _to_date(days: np.ndarray) -> np.ndarray:
    return (EPOCH + days.astype("timedelta64[D]")).astype("datetime64[D]")


def _frame(columns: dict, schema_overrides: dict | None = None) -> pl.DataFrame:
    """A DataFrame from NumPy arrays; object arrays (text with None) go through lists, which Polars reads."""
    data = {k: v.tolist() if isinstance(v, np.ndarray) and v.dtype == object else v for k, v in columns.items()}
    return pl.DataFrame(data, schema_overrides=schema_overrides)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _ids(prefix: str, n: int, width: int = 6) -> list[str]:
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def _students(rng: np.random.Generator, n: int) -> pl.DataFrame:
    majors = _pick(rng, {k: v[1] for k, v in MAJORS.items()}, n)
    level = _pick(rng, CLASS_LEVELS, n)
    grad_year = {"first_year": 2030, "sophomore": 2029, "junior": 2028, "senior": 2027, "graduate": 2027}
    grad = np.empty(n, dtype="datetime64[D]")
    for lv, year in grad_year.items():
        mask = level == lv
        december = rng.random(mask.sum()) < (0.25 if lv == "graduate" else 0.08)
        grad[mask] = np.where(december, np.datetime64(f"{year - 1}-12-15"), np.datetime64(f"{year}-05-15"))
    alumni = level == "alumni"
    alumni_dates = np.array(["2023-05-15", "2023-12-15", "2024-05-15", "2024-12-15", "2025-05-15", "2025-12-15",
                             "2026-05-15"], dtype="datetime64[D]")
    grad[alumni] = rng.choice(alumni_dates, size=alumni.sum(), p=[0.12, 0.05, 0.22, 0.06, 0.25, 0.06, 0.24])
    first_gen = rng.random(n) < 0.41
    pell = rng.random(n) < np.where(first_gen, 0.52, 0.23)
    frame = _frame({
        "student_id": _ids("S", n, 7),
        "institution": _pick(rng, INSTITUTIONS, n),
        "college": [MAJORS[m][0] for m in majors],
        "major": majors,
        "class_level": level,
        "graduation_date": grad,
        "first_generation": first_gen,
        "pell_eligible": pell,
        "gender": _pick(rng, GENDERS, n),
        "race_ethnicity": _pick(rng, RACES, n),
    }, schema_overrides={"graduation_date": pl.Date})
    # Exports are never complete: some optional fields are missing.
    missing = rng.random((n, 3)) < np.array([0.02, 0.03, 0.05])
    return frame.with_columns(
        pl.when(pl.Series(missing[:, 0])).then(None).otherwise(pl.col("graduation_date")).alias("graduation_date"),
        pl.when(pl.Series(missing[:, 1])).then(None).otherwise(pl.col("first_generation")).alias("first_generation"),
        pl.when(pl.Series(missing[:, 2])).then(None).otherwise(pl.col("pell_eligible")).alias("pell_eligible"),
    )


def _employers(rng: np.random.Generator, n: int) -> pl.DataFrame:
    industry = _pick(rng, {k: v[0] for k, v in INDUSTRIES.items()}, n)
    first = rng.integers(0, len(NAME_FIRST), n)
    second = rng.integers(0, len(NAME_SECOND), n)
    names = []
    seen: set[str] = set()
    for i in range(n):  # one short loop per employer (thousands, not millions) keeps names unique and readable
        suffixes = NAME_SUFFIX[industry[i]]
        name = f"{NAME_FIRST[first[i]]}{NAME_SECOND[second[i]].lower()} {suffixes[i % len(suffixes)]}"
        k = 2
        base = name
        while name in seen:
            name = f"{base} {k}"
            k += 1
        seen.add(name)
        names.append(name)
    return _frame({
        "employer_id": _ids("E", n, 5),
        "name": names,
        "industry": industry,
        "size_band": _pick(rng, SIZE_BANDS, n),
        "state": rng.choice(np.array(STATES, dtype=object), n),
    })


def _projects(rng: np.random.Generator, employers: pl.DataFrame, n: int, knobs: Knobs) -> pl.DataFrame:
    # A few employers post many projects, most post one or two (Pareto weights).
    weights = rng.pareto(1.3, employers.height) + 0.3
    owner = rng.choice(employers.height, size=n, p=weights / weights.sum())
    emp_industry = employers["industry"].to_numpy()[owner]
    function = np.empty(n, dtype=object)
    for industry, options in FUNCTION_BY_INDUSTRY.items():
        mask = emp_industry == industry
        function[mask] = _pick(rng, options, int(mask.sum()))
    span = _days(AS_OF) - _days(DATA_START)
    # Postings grow over time: density rises linearly to about twice the start.
    posted = _days(DATA_START) + (span * (np.sqrt(1 + 3 * rng.random(n)) - 1)).astype(int)
    platform = _pick(rng, PLATFORMS, n)
    hours = rng.choice(np.array([5, 8, 10, 12, 15, 20, 25, 30, 40, 60]), size=n,
                       p=[0.08, 0.10, 0.16, 0.10, 0.17, 0.17, 0.08, 0.07, 0.05, 0.02])
    hourly = np.clip(rng.normal(21.5, 4.0, n), 12, 45)
    hourly = np.where(platform == "Parker Dewey", np.maximum(hourly, 20), hourly)  # the platform's pay floor
    pay = np.round(hours * hourly / 5) * 5
    unpaid = (np.isin(platform, ["Riipen", "Direct", "Upwork"])) & (rng.random(n) < 0.09)
    pay = np.where(unpaid, 0, pay)
    title_idx = rng.integers(0, 4, n)
    titles = [TITLES[f][i % len(TITLES[f])] for f, i in zip(function, title_idx, strict=True)]
    industry_override = np.where(rng.random(n) < 0.12, emp_industry, _missing(emp_industry))
    return _frame({
        "project_id": _ids("P", n, 6),
        "employer_id": employers["employer_id"].to_numpy()[owner],
        "title": titles,
        "function": function,
        "industry": industry_override,
        "platform": platform,
        "posted_date": _to_date(posted),
        "estimated_hours": hours,
        "pay_usd": pay.astype(float),
        "remote": rng.random(n) < 0.84,
        "slots": rng.choice(np.array([1, 2, 3, 4, 5]), size=n, p=[0.68, 0.16, 0.08, 0.05, 0.03]),
        "_industry": emp_industry,
    }, schema_overrides={"industry": pl.String, "posted_date": pl.Date})


def _expected_applications(projects: pl.DataFrame, knobs: Knobs) -> np.ndarray:
    """Mean applications per posting: growing over time, about twice as many in technology."""
    posted = projects["posted_date"].to_numpy().astype("datetime64[D]").astype(int)
    t = (posted - _days(DATA_START)) / (_days(AS_OF) - _days(DATA_START))
    base = knobs.applications_per_posting_start + t * (
        knobs.applications_per_posting_end - knobs.applications_per_posting_start)
    pull = np.array([INDUSTRIES[i][1] for i in projects["_industry"].to_list()])
    pay_per_hour = projects["pay_usd"].to_numpy() / projects["estimated_hours"].to_numpy()
    return base * pull * (0.8 + 0.4 * (pay_per_hour >= 20)) * 0.9


def _applications(rng: np.random.Generator, students: pl.DataFrame, projects: pl.DataFrame,
                  knobs: Knobs) -> pl.DataFrame:
    n_proj = projects.height
    posted = projects["posted_date"].to_numpy().astype("datetime64[D]").astype(int)
    mean = _expected_applications(projects, knobs)
    counts = rng.negative_binomial(2, 2 / (2 + mean))
    counts = np.maximum(counts, 1)
    project_idx = np.repeat(np.arange(n_proj), counts)
    n = project_idx.size
    delay = np.minimum(rng.exponential(5.0, n), 27.0)
    applied_s = (posted[project_idx] * 86400 + delay * 86400 + rng.integers(8 * 3600, 23 * 3600, n)).astype(np.int64)
    keep = applied_s < _days(AS_OF) * 86400
    project_idx, applied_s = project_idx[keep], applied_s[keep]
    n = project_idx.size

    # Who applies: students inside their years of study, more often women and continuing-generation students.
    grad = students["graduation_date"].to_numpy().astype("datetime64[D]")
    grad_days = np.where(np.isnat(grad), _days(date(2027, 5, 15)), grad.astype("datetime64[D]").astype(int))
    level = students["class_level"].to_numpy()
    years = np.where(level == "graduate", 2.0, 4.0)
    start = grad_days - (years * 365).astype(int)
    end = grad_days + 45
    first_gen = students["first_generation"].fill_null(False).to_numpy()
    pell = students["pell_eligible"].fill_null(False).to_numpy()
    woman = students["gender"].to_numpy() == "Woman"
    n_students = students.height
    share = 0.60 - 0.11 * first_gen - 0.08 * pell + 0.08 * woman
    if knobs.planted_participation is not None:
        share = 0.60 + knobs.planted_confounding * (0.2 - 0.3 * first_gen - 0.2 * pell) + 0.08 * woman
    participates = rng.random(n_students) < np.clip(share, 0.02, 0.98)
    intensity = np.where(participates, rng.lognormal(0, 0.9, n_students), 0.0)
    group = np.array([MAJORS[m][2] for m in students["major"].to_list()], dtype=object)

    student_idx = np.empty(n, dtype=np.int64)
    app_day = applied_s // 86400
    proj_group = np.array([FUNCTIONS[f][0] for f in projects["function"].to_list()], dtype=object)[project_idx]
    # Bucket by quarter and function group so that each draw is one vectorized weighted choice.
    quarter = (app_day - _days(DATA_START)) // 91
    for q in np.unique(quarter):
        mid = _days(DATA_START) + q * 91 + 45
        active = (start <= mid) & (end >= mid) & (intensity > 0)
        if not active.any():
            active = intensity > 0
        in_q = quarter == q
        for g in np.unique(proj_group[in_q]):
            sel = np.flatnonzero(in_q & (proj_group == g))
            affinity = np.where(group == g, 4.0, np.where(group == "general", 1.5, 1.0))
            w = intensity * affinity * active
            student_idx[sel] = rng.choice(n_students, size=sel.size, p=w / w.sum())
    frame = _frame({"_p": project_idx, "_s": student_idx, "_applied_s": applied_s}).unique(
        subset=["_p", "_s"], keep="first", maintain_order=True)
    return frame


def generate(out: Path, students: int = 5000, seed: int = 42, knobs: Knobs = Knobs(),
             fmt: str = "csv") -> dict[str, int]:
    """Write every entity of the contract to `out`; return the row count per file."""
    rng = np.random.default_rng(seed)
    n_emp = max(12, round(students * knobs.employers_per_student))
    student_frame = _students(rng, students)
    employer_frame = _employers(rng, n_emp)
    target_apps = students * knobs.applications_per_student
    # Draw more postings than needed, then keep the first ones until their expected applications reach the
    # target (the order is random, so the prefix is an unbiased sample). 8% covers duplicates and the cut-off.
    pool = max(40, round(2 * target_apps / knobs.applications_per_posting_start))
    project_frame = _projects(rng, employer_frame, pool, knobs)
    expected = np.cumsum(_expected_applications(project_frame, knobs))
    project_frame = project_frame.head(max(20, int(np.searchsorted(expected, target_apps * 1.08)) + 1))
    pairs = _applications(rng, student_frame, project_frame, knobs)
    tables = _outcomes(rng, student_frame, employer_frame, project_frame, pairs, knobs)
    tables = {"students": student_frame, "employers": employer_frame,
              "micro_internships": project_frame.drop("_industry"), **tables}
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, frame in tables.items():
        frame = frame.select(ENTITIES[name].column_names)
        if fmt == "parquet":
            frame.write_parquet(out / f"{name}.parquet")
        else:
            frame.write_csv(out / f"{name}.csv", datetime_format="%Y-%m-%dT%H:%M:%SZ")
        counts[name] = frame.height
    return counts


def _outcomes(rng: np.random.Generator, students: pl.DataFrame, employers: pl.DataFrame, projects: pl.DataFrame,
              pairs: pl.DataFrame, knobs: Knobs) -> dict[str, pl.DataFrame]:
    n = pairs.height
    p_idx = pairs["_p"].to_numpy()
    s_idx = pairs["_s"].to_numpy()
    applied_s = pairs["_applied_s"].to_numpy()
    platform = projects["platform"].to_numpy()[p_idx]
    first_gen = students["first_generation"].fill_null(False).to_numpy()[s_idx]
    pell = students["pell_eligible"].fill_null(False).to_numpy()[s_idx]
    level = students["class_level"].to_numpy()[s_idx]

    # How the student found it: mostly the platform; first-generation students rely less on networks.
    direct_post = platform == "Direct"
    probs = np.where(direct_post[:, None], [0.0, 0.15, 0.35, 0.25, 0.25], [0.56, 0.19, 0.12, 0.05, 0.08])
    probs[:, 2] *= np.where(first_gen, 0.55, 1.0)
    probs[:, 3] *= np.where(first_gen, 0.55, 1.0)
    probs /= probs.sum(axis=1, keepdims=True)
    channel_idx = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    channel = np.array(CHANNELS, dtype=object)[np.minimum(channel_idx, 4)]

    # Selection: the top `slots` applicants of each project by a noisy score (Gumbel top-k).
    level_boost = {"first_year": -0.6, "sophomore": -0.25, "junior": 0.1, "senior": 0.3, "graduate": 0.35,
                   "alumni": 0.1}
    channel_boost = {"platform": 0.0, "career_services": 0.35, "networking": 0.8, "referral": 1.3, "direct": 0.3}
    major_group = np.array([MAJORS[m][2] for m in students["major"].to_list()], dtype=object)[s_idx]
    func_group = np.array([FUNCTIONS[f][0] for f in projects["function"].to_list()], dtype=object)[p_idx]
    score = (np.vectorize(level_boost.get)(level) + np.vectorize(channel_boost.get)(channel)
             + 0.6 * (major_group == func_group) - 0.15 * first_gen - 0.1 * pell + rng.gumbel(size=n))
    if knobs.planted_remote_offer is not None:  # confounding: older students land the remote projects
        remote = projects["remote"].to_numpy()[p_idx]
        score = score + knobs.planted_confounding * 1.5 * (np.isin(level, ["senior", "graduate", "alumni"]) * remote
                                                           - 0.5 * remote)
    withdrawn = rng.random(n) < knobs.withdraw_share
    score = np.where(withdrawn, -np.inf, score)
    slots = projects["slots"].to_numpy()[p_idx]
    posted = projects["posted_date"].to_numpy().astype("datetime64[D]").astype(int)[p_idx]
    as_of = _days(AS_OF)
    open_project = posted > as_of - 35  # still deciding at export time
    ranked = _frame({"p": p_idx, "score": score}).with_columns(
        pl.col("score").rank("ordinal", descending=True).over("p").alias("rank"))["rank"].to_numpy()
    selected = (ranked <= slots) & ~withdrawn & ~(open_project & (rng.random(n) < 0.6))
    status = np.where(withdrawn, "withdrawn", np.where(selected, "selected", "rejected")).astype(object)
    undecided = open_project & ~withdrawn & ~selected
    status[undecided] = np.where(rng.random(undecided.sum()) < 0.7, "submitted", "shortlisted")
    decided_s = applied_s + rng.integers(2 * 86400, 20 * 86400, n)
    has_decision = np.isin(status, ["selected", "rejected"]) | (withdrawn & (rng.random(n) < 0.5))
    decided_s = np.where(has_decision, np.minimum(decided_s, as_of * 86400 - 60), -1)

    applications = _frame({
        "application_id": _ids("A", n, 8),
        "student_id": students["student_id"].to_numpy()[s_idx],
        "project_id": projects["project_id"].to_numpy()[p_idx],
        "applied_at": applied_s * 1_000_000,
        "channel": channel,
        "status": status,
        "decided_at": decided_s * 1_000_000,
    }).with_columns(
        pl.col("applied_at").cast(pl.Datetime("us")),
        pl.when(pl.col("decided_at") < 0).then(None).otherwise(pl.col("decided_at")).cast(pl.Datetime("us"))
        .alias("decided_at"),
    )

    # Placements: every selected application starts; most complete, longer projects drop out more often.
    sel = np.flatnonzero(status == "selected")
    m = sel.size
    hours = projects["estimated_hours"].to_numpy()[p_idx[sel]]
    start = np.minimum(np.maximum(applied_s[sel] // 86400, decided_s[sel] // 86400) + rng.integers(1, 12, m), as_of)
    duration = np.ceil(hours / rng.uniform(5, 14, m) * 7).astype(int) + rng.integers(0, 6, m)
    end = start + duration
    p_cancel = 0.035 + 0.0025 * hours + 0.02 * first_gen[sel]
    r = rng.random(m)
    pstatus = np.where(r < 0.03, "no_show", np.where(r < 0.03 + p_cancel, "cancelled", "completed")).astype(object)
    pstatus[end > as_of] = "in_progress"
    ended = np.where(pstatus == "completed", end,
                     np.where(pstatus == "cancelled", start + np.maximum(1, duration // 3), -1))
    ended = np.where(ended > as_of, -1, ended)
    logged = np.where(pstatus == "completed", np.maximum(1, hours * rng.normal(1.05, 0.15, m)),
                      np.where(pstatus == "cancelled", hours * rng.uniform(0.1, 0.5, m),
                               np.where(pstatus == "no_show", 0.0, hours * rng.uniform(0, 0.8, m))))
    employer_rating = rng.choice(np.array([5, 4, 3, 2, 1]), m, p=[0.52, 0.31, 0.11, 0.04, 0.02])
    student_rating = rng.choice(np.array([5, 4, 3, 2, 1]), m, p=[0.48, 0.33, 0.12, 0.05, 0.02])
    done = pstatus == "completed"
    networked = np.isin(channel[sel], ["networking", "referral"])
    contacts = np.where(pstatus == "no_show", 0, rng.poisson(1.2 + 0.8 * networked + hours / 20))
    rated = done & (rng.random(m) < 0.88)
    placements = _frame({
        "placement_id": _ids("PL", m, 7),
        "application_id": applications["application_id"].to_numpy()[sel],
        "started_on": _to_date(start),
        "ended_on": _to_date(np.where(ended < 0, 0, ended)),
        "status": pstatus,
        "hours_logged": np.round(logged, 1),
        "employer_rating": np.where(rated, employer_rating, -1),
        "student_rating": np.where(rated & (rng.random(m) < 0.9), student_rating, -1),
        "new_contacts": np.where(rng.random(m) < 0.85, contacts, -1),
    }).with_columns(
        pl.when(pl.Series(ended < 0)).then(None).otherwise(pl.col("ended_on")).alias("ended_on"),
        *[pl.when(pl.col(c) < 0).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("employer_rating", "student_rating", "new_contacts")],
    )

    offers = _offers(rng, students, employers, projects, p_idx[sel], s_idx[sel], channel[sel], pstatus, end,
                     employer_rating, placements, knobs)
    skills, assessments = _skills(rng, students, projects, p_idx[sel], s_idx[sel], pstatus, start, ended)
    destinations = _destinations(rng, students, employers, s_idx[sel], pstatus, ended, offers, knobs)
    return {"project_skills": skills, "applications": applications, "placements": placements,
            "skill_assessments": assessments, "offers": offers, "first_destinations": destinations}


def _offers(rng: np.random.Generator, students: pl.DataFrame, employers: pl.DataFrame, projects: pl.DataFrame,
            p_idx: np.ndarray, s_idx: np.ndarray, channel: np.ndarray, pstatus: np.ndarray, end: np.ndarray,
            employer_rating: np.ndarray, placements: pl.DataFrame, knobs: Knobs) -> pl.DataFrame:
    as_of = _days(AS_OF)
    done = np.flatnonzero(pstatus == "completed")
    industry = projects["_industry"].to_numpy()[p_idx[done]]
    function = projects["function"].to_numpy()[p_idx[done]]
    hours = projects["estimated_hours"].to_numpy()[p_idx[done]]
    pay = projects["pay_usd"].to_numpy()[p_idx[done]]
    level = students["class_level"].to_numpy()[s_idx[done]]
    level_shift = {"first_year": -0.7, "sophomore": -0.35, "junior": 0.0, "senior": 0.35, "graduate": 0.3,
                   "alumni": 0.2}
    channel_shift = {"platform": 0.0, "career_services": 0.1, "networking": 0.35, "referral": 0.55, "direct": 0.2}
    logit = (knobs.base_offer_logit
             + np.array([INDUSTRIES[i][2] for i in industry]) + np.array([FUNCTIONS[f][1] for f in function])
             + 0.05 * (np.clip(pay / hours, 0, 40) - 20) - 0.6 * (pay == 0) + 0.025 * (hours - 15)
             + np.vectorize(level_shift.get)(level) + np.vectorize(channel_shift.get)(channel[done])
             + np.where(employer_rating[done] >= 5, 0.45, np.where(employer_rating[done] <= 3, -0.9, 0.0)))
    planted = knobs.planted_remote_offer is not None
    if planted:  # the planted truth: a difference of probabilities, every offer attributed to its placement
        older = np.isin(level, ["senior", "graduate", "alumni"])
        effect = float(knobs.planted_remote_offer or 0.0)
        chance = ((1.0 - abs(effect)) * _logistic(logit + knobs.planted_confounding * 1.2 * older)
                  + max(-effect, 0.0) + effect * projects["remote"].to_numpy()[p_idx[done]])
        gets = rng.random(done.size) < chance
    else:
        gets = rng.random(done.size) < _logistic(logit)
    idx = done[gets]
    k = idx.size
    delay = np.round(rng.gamma(2.0, 14.0, k) - 8).astype(int)
    late = rng.random(k) < 0.05
    delay = np.where(late, rng.integers(150, 320, k), delay)  # around the 180-day window
    if planted:
        delay = np.clip(delay, 0, np.maximum(as_of - end[idx], 0))
    offered = end[idx] + delay
    keep = offered <= as_of
    idx, offered, k = idx[keep], offered[keep], int(keep.sum())
    lvl = students["class_level"].to_numpy()[s_idx[idx]]
    senior = np.isin(lvl, ["senior", "graduate", "alumni"])
    u = rng.random(k)
    offer_type = np.where(senior, np.select([u < 0.45, u < 0.55, u < 0.8], ["full_time", "part_time", "internship"],
                                            "contract"),
                          np.select([u < 0.05, u < 0.2, u < 0.75], ["full_time", "part_time", "internship"],
                                    "contract")).astype(object)
    recent = offered > as_of - 21
    d = rng.random(k)
    accept_p = np.where(offer_type == "full_time", 0.78, 0.83)
    decision = np.where(recent & (d < 0.5), "pending", np.where(d < accept_p, "accepted",
                        np.where(d < 0.985, "declined", "pending"))).astype(object)
    ind = projects["_industry"].to_numpy()[p_idx[idx]]
    salary_mid = np.array([INDUSTRIES[i][3] for i in ind])
    salary = np.where(offer_type == "full_time", salary_mid * rng.lognormal(0, 0.15, k),
                      np.where(offer_type == "part_time", 0.42 * salary_mid * rng.lognormal(0, 0.2, k), np.nan))
    named = (rng.random(k) < 0.55) | planted
    with_employer = rng.random(k) < 0.96
    employer_ids = projects["employer_id"].to_numpy()[p_idx[idx]]
    emp_names = dict(zip(employers["employer_id"].to_list(), employers["name"].to_list(), strict=True))
    host = _frame({
        "student_id": students["student_id"].to_numpy()[s_idx[idx]],
        "employer_id": np.where(with_employer, employer_ids, None),
        "employer_name": [emp_names[e] for e in employer_ids],
        "offer_type": offer_type,
        "offered_on": _to_date(offered),
        "decision": decision,
        "salary_usd": np.round(salary, -2),
        "placement_id": np.where(named, placements["placement_id"].to_numpy()[idx], None),
    }, schema_overrides={"employer_id": pl.String, "placement_id": pl.String})

    # Offers from elsewhere: graduating students also get offers that no micro-internship led to.
    eligible = np.flatnonzero(np.isin(students["class_level"].to_numpy(), ["senior", "graduate", "alumni"]))
    others = eligible[rng.random(eligible.size) < 0.3]
    j = others.size
    grad = students["graduation_date"].to_numpy().astype("datetime64[D]")[others]
    grad_days = np.where(np.isnat(grad), as_of - 200, grad.astype(int))
    when = np.clip(grad_days + rng.integers(-150, 90, j), _days(DATA_START), as_of - 1)
    on_platform = rng.random(j) < 0.15
    other_emp = employers["employer_id"].to_numpy()[rng.integers(0, employers.height, j)]
    outside_names = np.array([f"{a}{b.lower()} {s}" for a, b, s in zip(
        rng.choice(np.array(NAME_FIRST), j), rng.choice(np.array(NAME_SECOND), j),
        rng.choice(np.array(["Group", "Inc.", "LLC", "Company", "Associates"]), j), strict=True)], dtype=object)
    other_type = rng.choice(np.array(["full_time", "part_time", "internship", "contract"]), j,
                            p=[0.62, 0.12, 0.16, 0.10])
    other_salary = np.where(other_type == "full_time", rng.lognormal(np.log(60000), 0.2, j),
                            np.where(other_type == "part_time", rng.lognormal(np.log(26000), 0.25, j), np.nan))
    elsewhere = _frame({
        "student_id": students["student_id"].to_numpy()[others],
        "employer_id": np.where(on_platform, other_emp, _missing(on_platform)),
        "employer_name": np.where(on_platform, _missing(on_platform), outside_names),
        "offer_type": other_type,
        "offered_on": _to_date(when),
        "decision": rng.choice(np.array(["accepted", "declined", "pending"]), j, p=[0.72, 0.25, 0.03]),
        "salary_usd": np.round(other_salary, -2),
        "placement_id": None,
    }, schema_overrides={"employer_id": pl.String, "employer_name": pl.String, "placement_id": pl.String})
    offers = pl.concat([host, elsewhere]).sort("offered_on", "student_id", maintain_order=True)
    return offers.with_columns(
        pl.Series("offer_id", _ids("O", offers.height, 7)),
        pl.col("salary_usd").fill_nan(None),
    )


def _skills(rng: np.random.Generator, students: pl.DataFrame, projects: pl.DataFrame, p_idx: np.ndarray,
            s_idx: np.ndarray, pstatus: np.ndarray, start: np.ndarray, ended: np.ndarray
            ) -> tuple[pl.DataFrame, pl.DataFrame]:
    n_proj = projects.height
    functions = projects["function"].to_list()
    soft = rng.integers(0, len(NACE), (n_proj, 2))
    tech_count = rng.integers(1, 4, n_proj)
    rows_project, rows_skill = [], []
    tech_pick = rng.integers(0, 5, (n_proj, 3))
    for i in range(n_proj):  # per project (thousands), a handful of skills each
        tech = FUNCTIONS[functions[i]][2]
        chosen = {NACE[soft[i, 0]], NACE[soft[i, 1]]} | {tech[tech_pick[i, j] % len(tech)] for j in
                                                          range(tech_count[i])}
        for skill in sorted(chosen):
            rows_project.append(i)
            rows_skill.append(skill)
    skills = _frame({"_p": rows_project, "skill": rows_skill})
    project_skills = skills.with_columns(
        pl.Series("project_id", projects["project_id"].to_numpy()[np.array(rows_project)]))

    # Completers (and some who stopped) rate themselves before and after; completion raises the rating.
    placements = _frame({
        "_p": p_idx, "student_id": students["student_id"].to_numpy()[s_idx],
        "placement_id": _ids("PL", p_idx.size, 7), "_status": pstatus, "_start": start, "_end": ended,
    })
    responders = placements.filter(pl.col("_status").is_in(["completed", "cancelled"])
                                   & pl.Series(rng.random(placements.height) < 0.7))
    pre = responders.join(skills, on="_p", how="inner", maintain_order="left")
    k = pre.height
    pre_level = np.clip(np.round(rng.normal(2.4, 0.85, k)), 1, 5).astype(int)
    gain = rng.choice(np.array([0, 1, 1, 2, -1]), k, p=[0.3, 0.35, 0.15, 0.15, 0.05])
    completed = (pre["_status"] == "completed").to_numpy()
    post_level = np.clip(pre_level + np.where(completed, gain, 0), 1, 5)
    has_post = completed & (rng.random(k) < 0.82)
    base = pre.select("student_id", "placement_id", "skill")
    pre_rows = base.with_columns(pl.lit("pre").alias("phase"), pl.Series("level", pre_level),
                                 pl.Series("assessed_on", _to_date(pre["_start"].to_numpy())))
    post_rows = base.with_columns(pl.lit("post").alias("phase"), pl.Series("level", post_level),
                                  pl.Series("assessed_on", _to_date(np.maximum(pre["_end"].to_numpy(),
                                                                               pre["_start"].to_numpy()))))
    assessments = pl.concat([pre_rows, post_rows.filter(pl.Series(has_post))])
    return project_skills.select("project_id", "skill"), assessments


def _planted_outcomes(rng: np.random.Generator, students: pl.DataFrame, graduated: np.ndarray,
                      participated: np.ndarray, knobs: Knobs) -> np.ndarray:
    """Outcomes with a known effect of taking part: 4% not seeking; for the others a positive outcome with a chance
    that first-generation and Pell-eligible graduates have less of, plus `planted_participation` for those who took
    part; the kind of outcome drawn in OUTCOME_MIX's proportions."""
    n = graduated.size
    first_gen = students["first_generation"].fill_null(False).to_numpy()[graduated]
    pell = students["pell_eligible"].fill_null(False).to_numpy()[graduated]
    effect = float(knobs.planted_participation or 0.0)
    base = np.clip(0.8 - knobs.planted_confounding * (0.2 * first_gen + 0.12 * pell), 0.05, 1.0)
    positive = rng.random(n) < (1.0 - abs(effect)) * base + max(-effect, 0.0) + effect * participated
    good = [o for o in OUTCOME_MIX if o in POSITIVE_OUTCOMES]
    bad = [o for o in OUTCOME_MIX if o not in POSITIVE_OUTCOMES and o != "not_seeking"]
    outcome = np.where(positive, _pick(rng, {o: OUTCOME_MIX[o] for o in good}, n),
                       _pick(rng, {o: OUTCOME_MIX[o] for o in bad}, n)).astype(object)
    return np.where(rng.random(n) < 0.04, "not_seeking", outcome).astype(object)


def _destinations(rng: np.random.Generator, students: pl.DataFrame, employers: pl.DataFrame, s_idx: np.ndarray,
                  pstatus: np.ndarray, ended: np.ndarray, offers: pl.DataFrame, knobs: Knobs) -> pl.DataFrame:
    as_of = _days(AS_OF)
    grad = students["graduation_date"].to_numpy().astype("datetime64[D]")
    grad_days = np.where(np.isnat(grad), as_of + 1, grad.astype(int))
    graduated = np.flatnonzero(grad_days <= as_of - 90)
    participated = np.zeros(students.height, dtype=bool)
    ok = (pstatus == "completed") & (ended >= 0) & (ended <= grad_days[s_idx])
    participated[s_idx[ok]] = True
    n = graduated.size
    outcomes = list(OUTCOME_MIX)
    base = np.array(list(OUTCOME_MIX.values()))
    lift = np.zeros_like(base)
    lift[0], lift[7] = 0.06, -0.05  # participants: more full-time, less seeking
    lift[1] = -0.01
    probs = np.where(participated[graduated][:, None], base + lift, base)
    first_gen = students["first_generation"].fill_null(False).to_numpy()[graduated]
    probs = probs + np.where(first_gen[:, None], np.eye(len(base))[7] * 0.03 - np.eye(len(base))[0] * 0.03, 0)
    probs /= probs.sum(axis=1, keepdims=True)
    outcome_idx = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    outcome = np.array(outcomes, dtype=object)[np.minimum(outcome_idx, len(outcomes) - 1)]
    if knobs.planted_participation is not None:
        outcome = _planted_outcomes(rng, students, graduated, participated[graduated], knobs)
    # An accepted full-time offer is where the graduate went (not under a planted truth, which it would blur).
    accepted = offers.filter((pl.col("decision") == "accepted") & (pl.col("offer_type") == "full_time")
                             & (knobs.planted_participation is None)).unique(
        "student_id", keep="first", maintain_order=True)
    sid = students["student_id"].to_numpy()[graduated]
    took = dict(zip(accepted["student_id"].to_list(), zip(accepted["employer_id"].to_list(),
                                                            accepted["employer_name"].to_list(),
                                                            accepted["salary_usd"].to_list(), strict=True),
                    strict=True))
    emp_lookup = dict(zip(employers["employer_id"].to_list(), zip(employers["name"].to_list(),
                                                                   employers["industry"].to_list(), strict=True),
                          strict=True))
    industries = list(INDUSTRIES)
    ind_pick = rng.choice(np.array(industries, dtype=object), n, p=[v[0] for v in INDUSTRIES.values()])
    employer_name = np.full(n, None, dtype=object)
    industry = np.full(n, None, dtype=object)
    salary = np.full(n, np.nan)
    employed = np.isin(outcome, ["employed_full_time", "employed_part_time"])
    salary_mid = np.array([INDUSTRIES[i][3] for i in ind_pick])
    salary[employed] = np.where(outcome[employed] == "employed_full_time",
                                salary_mid[employed] * 0.92 * rng.lognormal(0, 0.18, employed.sum()),
                                0.45 * salary_mid[employed] * rng.lognormal(0, 0.2, employed.sum()))
    industry[employed] = ind_pick[employed]
    # A set lookup per graduate: np.isin on object arrays compares every pair (hours at a million students).
    for i in np.flatnonzero(np.fromiter((s in took for s in sid), dtype=bool, count=len(sid))):
        emp_id, name, pay = took[sid[i]]
        outcome[i] = "employed_full_time"
        if emp_id is not None and emp_id in emp_lookup:
            name, industry[i] = emp_lookup[emp_id]
        employer_name[i] = name
        salary[i] = pay if pay is not None else salary[i]
    salary[rng.random(n) < 0.3] = np.nan  # many graduates do not report salary
    # Knowledge: ~84% known; the rest have no row or an explicit no_information.
    r = rng.random(n)
    outcome = np.where(r < 0.05, "no_information", outcome)
    unknown = outcome == "no_information"
    employer_name[unknown], industry[unknown], salary[unknown] = None, None, np.nan
    keep = r >= 0.13
    frame = _frame({
        "student_id": sid,
        "outcome": outcome,
        "employer_name": employer_name,
        "industry": industry,
        "salary_usd": np.round(salary, -2),
        "source": _pick(rng, DEST_SOURCES, n),
    }, schema_overrides={"employer_name": pl.String, "industry": pl.String}).with_columns(
        pl.col("salary_usd").fill_nan(None))
    return frame.filter(pl.Series(keep))
