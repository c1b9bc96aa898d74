"""Data quality: what each load read, loaded and quarantined, why, and the quarantined rows to fix."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import auth, data, ui
from etl.metrics.export import to_csv
from etl.metrics.quality import (
    expectation_results,
    load_files,
    load_history,
    quarantine_reasons,
    quarantined_rows,
    watched_deliveries,
)

st.title("Data quality")
auth.require_whole_warehouse()
ui.require_data()
history = data.figure(load_history)
if history.is_empty():
    st.info("No load recorded yet.")
    st.stop()
st.subheader("Load history")
ui.table(history, "load history")
deliveries = data.figure(watched_deliveries)
if not deliveries.is_empty():
    st.subheader("Deliveries from the watched drop")
    st.caption("What `mio watch` did with each file or folder that arrived in its drop folder: loaded, rejected "
               "(nothing of it loaded; REJECTED.txt beside it says why) or loaded before, and the e-mail alert it "
               "sent.")
    ui.table(deliveries, "watched deliveries")
load_id = st.selectbox("Load", history["load_id"].to_list(), key="dq_load",
                       format_func=lambda i: f"load {i} — "
                       f"{history.filter(pl.col('load_id') == i)['started_at'][0]:%Y-%m-%d %H:%M}")
files = data.figure(load_files, load_id)
cols = st.columns(3)
cols[0].metric("Rows read", f"{files['rows_read'].sum():,}")
cols[1].metric("Rows loaded", f"{files['rows_loaded'].sum():,}")
cols[2].metric("Rows quarantined", f"{files['rows_quarantined'].sum():,}")
st.subheader("Files")
ui.table(files, f"files of load {load_id}")
st.subheader("Why rows were quarantined")
reasons = data.figure(quarantine_reasons, load_id)
if reasons.is_empty():
    st.success("Nothing was quarantined in this load.")
else:
    ui.table(reasons, f"quarantine reasons of load {load_id}")
    st.subheader("Quarantined rows")
    st.caption("The first 1,000 are shown; the download holds them all, each with its file, line, column, the rule "
               "it broke, the offending value and the whole record, so the export can be fixed at its source.")
    st.dataframe(data.figure(quarantined_rows, load_id, limit=1000), hide_index=True, width="stretch")
    everything = data.figure(quarantined_rows, load_id)
    st.download_button("Download all quarantined rows (CSV)", to_csv(everything),
                       file_name=f"quarantine-load-{load_id}.csv", mime="text/csv", key="download-quarantine")
st.subheader("Expectation results")
ui.table(data.figure(expectation_results, load_id), f"expectations of load {load_id}",
         {"success": st.column_config.CheckboxColumn("passed")})
st.caption("Each expectation comes from the Great Expectations suite of its file (expectations/*.json). Failures "
           "there are rows quarantined above; reference checks across files are listed with the reasons.")
