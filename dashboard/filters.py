"""The sidebar's population filters, kept in the URL so that a link reproduces a view."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.theme import words
from etl.metrics.disclosure import PUBLIC_MIN_CELL
from etl.metrics.outcomes import DEFAULT_MIN_CELL, Filters

MULTI = {"institution": "Institution", "college": "College", "major": "Major", "class_level": "Class level",
         "industry": "Industry", "platform": "Platform"}


NOT_HERE = "These change the outcome pages, not this one; your choices are kept for them."


def _from_url(key: str, allowed: list[str]) -> list[str]:
    return [v for v in st.query_params.get_all(key) if v in allowed]


def sidebar_filters(institution: str | None = None, applies: bool = True) -> Filters:
    """Draw the filters and return the population they select; unknown URL values are ignored. `institution`: the
    one institution a bound director sees (the only choice offered). `applies`: False on a page that the population
    does not change (Data quality, Import, Glossary): the filters are shown greyed, keeping their choices for the
    next page, and say so."""
    version = data.version()
    chosen: dict[str, tuple[str, ...]] = {}
    st.sidebar.header("Population")
    if not applies:
        st.sidebar.caption(NOT_HERE)
    for column, label in MULTI.items():
        if column == "institution" and institution is not None:
            st.sidebar.multiselect(label, [institution], default=[institution], key="f_institution", disabled=True)
            chosen[column] = (institution,)
            continue
        options = data.choices(column, version, institution)
        picked = st.sidebar.multiselect(label, options, default=_from_url(column, options), key=f"f_{column}",
                                        placeholder="All", format_func=lambda v: str(words(v)),
                                        disabled=not applies)
        chosen[column] = tuple(picked)
    terms = data.choices("term", version, institution)
    term_from = term_to = None
    if len(terms) > 1:
        url_from = st.query_params.get("term_from")
        url_to = st.query_params.get("term_to")
        start = url_from if url_from is not None and url_from in terms else terms[0]
        end = url_to if url_to is not None and url_to in terms else terms[-1]
        term_from, term_to = st.sidebar.select_slider("Terms", options=terms, value=(start, end), key="f_terms",
                                                      disabled=not applies)
    for column in MULTI:
        st.query_params[column] = list(chosen[column])
    if term_from is not None and term_to is not None and (term_from, term_to) != (terms[0], terms[-1]):
        st.query_params["term_from"], st.query_params["term_to"] = term_from, term_to
    else:
        for key in ("term_from", "term_to"):
            st.query_params.pop(key, None)
    full_range = bool(terms) and (term_from, term_to) == (terms[0], terms[-1])
    return Filters(
        institutions=chosen["institution"],
        class_levels=chosen["class_level"],
        colleges=chosen["college"],
        majors=chosen["major"],
        industries=chosen["industry"],
        platforms=chosen["platform"],
        term_from=None if full_range else term_from,
        term_to=None if full_range else term_to,
    )


def sidebar_min_cell(applies: bool = True) -> int:
    """The director's small-cell threshold (docs/data-contract.md §5); 0 shows every group. Kept in the URL as `k`.
    `applies`: as for sidebar_filters."""
    try:
        start = max(0, int(st.query_params.get("k", DEFAULT_MIN_CELL)))
    except ValueError:
        start = DEFAULT_MIN_CELL
    value = st.sidebar.number_input("Minimum cell size", min_value=0, max_value=1000, value=start, step=1,
                                    key="f_min_cell", disabled=not applies,
                                    help="Groups with fewer students behind a figure than this are suppressed "
                                         f"(FERPA practice). 0 shows every group; shared outputs never go below "
                                         f"{PUBLIC_MIN_CELL}.")
    if value != DEFAULT_MIN_CELL:
        st.query_params["k"] = str(value)
    else:
        st.query_params.pop("k", None)
    return int(value)
