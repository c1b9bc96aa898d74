"""The dashboard's entry point: it only routes (per role) and draws the shared frame (account, sidebar filters)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on the path, not the project root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import auth, theme  # noqa: E402,F401 - theme registers the chart template
from dashboard.filters import sidebar_filters, sidebar_min_cell  # noqa: E402
from dashboard.sign_in import sign_in  # noqa: E402

st.set_page_config(page_title="Micro-internship outcomes", page_icon=":material/monitoring:", layout="wide")
GLOSSARY = st.Page("views/glossary.py", title="Glossary", icon=":material/menu_book:", url_path="glossary")
DIRECTOR = {
    "Outcomes": [
        st.Page("views/overview.py", title="Overview", icon=":material/monitoring:", default=True),
        st.Page("views/offers.py", title="What leads to offers", icon=":material/target:", url_path="offers"),
        st.Page("views/trends.py", title="Trends", icon=":material/calendar_month:", url_path="trends"),
        st.Page("views/channels.py", title="Channels", icon=":material/explore:", url_path="channels"),
        st.Page("views/equity.py", title="Equity", icon=":material/balance:", url_path="equity"),
    ],
    "Students and employers": [
        st.Page("views/destinations.py", title="First destinations", icon=":material/school:",
                url_path="destinations"),
        st.Page("views/skills.py", title="Skills", icon=":material/construction:", url_path="skills"),
        st.Page("views/test_drive.py", title="Career test-drive", icon=":material/directions_car:",
                url_path="test-drive"),
        st.Page("views/employers.py", title="Employers", icon=":material/business:", url_path="employers"),
    ],
    "About the data": [
        st.Page("views/data_quality.py", title="Data quality", icon=":material/fact_check:", url_path="data-quality"),
        GLOSSARY,
    ],
}
EMPLOYER = [st.Page("views/employer.py", title="Your micro-internships", icon=":material/business_center:",
                    url_path="employer", default=True), GLOSSARY]
STUDENT = [st.Page("views/student.py", title="Compare industries", icon=":material/compare_arrows:",
                   url_path="compare", default=True), GLOSSARY]

user = auth.current_user()
if user is None:
    # A visitor gets only the sign-in form, under every page's address: a shared link shows the form, and after
    # signing in the same address opens the page it names (when the account's role has it).
    paths = [p.url_path for group in DIRECTOR.values() for p in group] + [p.url_path for p in EMPLOYER + STUDENT]
    forms = [st.Page(sign_in, title="Sign in", icon=":material/login:", url_path=path or "sign-in",
                     default=not path) for path in dict.fromkeys(paths)]
    st.navigation(forms, position="hidden").run()
    st.stop()

page = st.navigation({"director": DIRECTOR, "employer": EMPLOYER, "student": STUDENT}[user.role])
for key, values in st.session_state.pop("asked_query", {}).items():
    st.query_params[key] = values
auth.sidebar_account(user)
if user.role == "director":
    st.session_state["filters"] = sidebar_filters()
    st.session_state["min_cell"] = sidebar_min_cell()
page.run()
