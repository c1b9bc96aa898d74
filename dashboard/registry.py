"""Every page of the dashboard, written once: the router, the tests and the benchmark read this list."""

from __future__ import annotations

from dataclasses import dataclass

DIRECTOR, EMPLOYER, STUDENT = "director", "employer", "student"
ROLES = (DIRECTOR, EMPLOYER, STUDENT)


@dataclass(frozen=True)
class PageSpec:
    key: str  # a short name for tests and the benchmark
    file: str  # the script under dashboard/, as st.Page and AppTest.switch_page take it
    title: str
    icon: str
    url_path: str  # "" for a role's default page (the app's root)
    roles: tuple[str, ...]
    section: str = ""  # the director's navigation groups pages under these headings
    figures: bool = True  # the page shows figures from the warehouse (the benchmark times these)
    whole_warehouse: bool = False  # about every institution's data at once: not for a director bound to one
    population: bool = True  # the sidebar's population filters and cell size change what the page shows

    def default_for(self, role: str) -> bool:
        """A role's first page opens at the app's root."""
        return self is pages_for(role)[0]


PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", "views/overview.py", "Overview", ":material/monitoring:", "", (DIRECTOR,), "Outcomes"),
    PageSpec("offers", "views/offers.py", "What leads to offers", ":material/target:", "offers", (DIRECTOR,),
             "Outcomes"),
    PageSpec("trends", "views/trends.py", "Trends", ":material/calendar_month:", "trends", (DIRECTOR,), "Outcomes"),
    PageSpec("channels", "views/channels.py", "Channels", ":material/explore:", "channels", (DIRECTOR,), "Outcomes"),
    PageSpec("equity", "views/equity.py", "Equity", ":material/balance:", "equity", (DIRECTOR,), "Outcomes"),
    PageSpec("destinations", "views/destinations.py", "First destinations", ":material/school:", "destinations",
             (DIRECTOR,), "Students and employers"),
    PageSpec("skills", "views/skills.py", "Skills", ":material/construction:", "skills", (DIRECTOR,),
             "Students and employers"),
    PageSpec("career_test_drive", "views/career_test_drive.py", "Career test-drive", ":material/directions_car:",
             "test-drive", (DIRECTOR,), "Students and employers"),
    PageSpec("employers", "views/employers.py", "Employers", ":material/business:", "employers", (DIRECTOR,),
             "Students and employers"),
    PageSpec("data_quality", "views/data_quality.py", "Data quality", ":material/fact_check:", "data-quality",
             (DIRECTOR,), "About the data", whole_warehouse=True, population=False),
    PageSpec("import", "views/import_data.py", "Import", ":material/upload_file:", "import", (DIRECTOR,),
             "About the data", figures=False, whole_warehouse=True, population=False),
    PageSpec("employer", "views/employer.py", "Your micro-internships", ":material/business_center:", "employer",
             (EMPLOYER,)),
    PageSpec("student", "views/student.py", "Compare industries", ":material/compare_arrows:", "compare",
             (STUDENT,)),
    PageSpec("glossary", "views/glossary.py", "Glossary", ":material/menu_book:", "glossary", ROLES,
             "About the data", figures=False, population=False),
)


def pages_for(role: str, bound: bool = False) -> list[PageSpec]:
    """The pages a role may open, in navigation order; `bound`: a director bound to one institution, who has no
    page about the whole warehouse (loads, quarantined rows, imports)."""
    return [p for p in PAGES if role in p.roles and not (bound and p.whole_warehouse)]


def page(key: str) -> PageSpec:
    return next(p for p in PAGES if p.key == key)


def titled(title: str) -> PageSpec:
    """The page the navigation opened, by its title (st.navigation gives back the st.Page made from the spec)."""
    return next(p for p in PAGES if p.title == title)


# The director's pages that show figures from the warehouse: what the benchmark times.
DIRECTOR_DATA_PAGES = tuple(p.key for p in pages_for(DIRECTOR) if p.figures)
# The pages only a director may open: every other role is refused them.
DIRECTOR_ONLY_PAGES = tuple(p.key for p in PAGES if p.roles == (DIRECTOR,))
