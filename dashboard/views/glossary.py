"""Glossary: every figure's definition, as the data contract states it, and the groups."""

from __future__ import annotations

import streamlit as st

from dashboard import ui
from etl.metrics.benchmarks import NATIONAL
from etl.metrics.disclosure import PUBLIC_MIN_CELL
from etl.metrics.outcomes import DEFINITIONS, small_cells

st.title("Glossary")
st.markdown("Every figure in this dashboard comes from one metrics layer, shared with `mio report` and every "
            "export. Rates are fractions of the population selected in the sidebar.")
for name, meaning in DEFINITIONS.items():
    st.markdown(f"**{name.replace('_', ' ').capitalize()}** — {meaning}")
st.subheader("Attribution of offers")
st.markdown("An offer counts for the completed micro-internship its `placement_id` names (same student); "
            "otherwise for the student's completed placement at the offer's employer that started on or before "
            "the offer and ended at most 180 days before it — the latest such placement. Offers from other "
            "employers are not attributed.")
st.subheader("Groups")
st.markdown("\n".join(f"- **{label}**" for label in ui.DIMENSION_LABELS.values()))
st.markdown("Pay band is pay ÷ estimated hours: `unpaid`, `<15`, `15-20`, `20-25`, `25+` dollars an hour. Hours "
            "band: `<10`, `10-19`, `20-39`, `40+`. Term: `spring` January–May, `summer` June–August, `fall` "
            "September–December of the application date. Missing values form the group `unknown`.")
st.subheader("Adjusted comparisons")
st.markdown("**Adjusted offer rate** — the offer rate a group of projects would have if its completed projects had "
            "been done by the same mix of students as all of them (class level, major, institution, "
            "first-generation status, Pell eligibility), from a logistic model with errors clustered by employer. "
            "Shown for a group with at least 30 completed projects.")
st.markdown("**Participants against comparable non-participants** — within a cohort, the participants' career "
            "outcomes rate less that of the non-participants weighted to the participants' mix of the same "
            "attributes (by the odds of their propensity to take part). Each group needs at least 30 graduates.")
st.markdown("**Standardised difference (SMD)** — the gap between two groups' shares of an attribute level, in "
            "standard deviations; above 0.1 after weighting, the groups are not comparable on it.")
st.markdown("Both remove differences in the recorded attributes only, never in motivation or connections that no "
            "record holds.")
st.subheader("National figures")
st.markdown("Dotted lines on the charts are published national figures, quoted from their source, never computed "
            "from this warehouse:")
st.markdown("\n".join(f"- {b.caption()}" for b in NATIONAL))
st.subheader("Small cells")
st.markdown(f"Following FERPA practice, a director's tables suppress a group for "
            f"{small_cells('the minimum cell size')}. A rate is shown only when its own denominator reaches the "
            "minimum cell size.")
st.markdown("Everything shown outside the director's pages (the employer and student views, their downloads and the "
            "shareable outcomes report) follows one disclosure rule, after NCES SLDS Technical Brief 3 (2010), with "
            f"at least {PUBLIC_MIN_CELL} as the minimum: a group below it is hidden whole; a figure of a shown group "
            "needs at least that many distinct students behind it (for a rate, the students of its numerator); "
            "where rows add up to a total shown beside them, a column never has exactly one hidden cell; and a rate "
            "hides with its counts.")
