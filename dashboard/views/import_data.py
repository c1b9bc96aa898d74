"""Import: load an office's own exports without a terminal. Upload the files, read and change the draft mapping,
preview the first rows as they would load, run the dry run, load, and download the mapping for next term.

Directors only. Uploads go to a private temporary folder and are removed after the load.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import auth, data, registry, ui
from etl import importer

user = auth.require_whole_warehouse()
st.title("Import your exports")
st.caption(f"Files in the contract's shape load as they are; any other export (Handshake, a posting list, a "
           f"spreadsheet) loads through a mapping, drafted here for you to check. Up to {importer.MAX_UPLOAD_MB} MB "
           "a file; larger exports load with `mio load`.")
if data.connection() is None:
    st.info("The warehouse is empty: upload your exports below for a first load (or run `mio load --source DIR` "
            "on the server).")

# A new key after each load empties the uploader, so the loaded files are not kept or saved again.
uploads = st.file_uploader("Exports (CSV, Parquet, JSON, XLSX) and, if you have one, a mapping (YAML)",
                           type=list(importer.ACCEPTED), accept_multiple_files=True,
                           key=f"import_files_{st.session_state.setdefault('import_round', 0)}",
                           max_upload_size=importer.MAX_UPLOAD_MB)
if not uploads:
    leftover = st.session_state.pop("import_folder", None)
    if leftover is not None:
        leftover.remove()
    st.session_state.pop("import_checked", None)
    st.stop()

if "import_folder" not in st.session_state:
    st.session_state["import_folder"] = importer.ImportFolder.create()
folder: importer.ImportFolder = st.session_state["import_folder"]
names = sorted(u.name for u in uploads)
if st.session_state.get("import_names") != names:  # a new set of files: save them and start a new draft
    for stale in folder.path.iterdir():
        stale.unlink()
    try:
        for upload in uploads:
            folder.save(upload.name, upload.getvalue())
    except importer.UploadRejected as exc:
        st.error(ui.plain(str(exc)))
        st.stop()
    st.session_state["import_names"] = names
    st.session_state["import_mapped"] = importer.needs_mapping(folder)
    if st.session_state["import_mapped"]:
        st.session_state["import_mapping"] = importer.first_mapping(folder)
    st.session_state.pop("import_checked", None)

st.subheader("1. The mapping")
if not st.session_state["import_mapped"]:
    st.caption("Every file is in the contract's shape (named after the entity it holds, with its columns): it loads "
               "as it is, and no mapping is needed.")
else:
    st.caption("Each target column of the contract and where its values come from. Change the text below (the "
               "table follows it); replace every TODO. Files already in the contract's shape load as they are. The "
               "format is in docs/data-contract.md §8.")
    text = st.text_area("Mapping (YAML)", key="import_mapping", height=320)
    importer.save_mapping(folder, text)
    try:
        table = importer.mapping_table(folder)
    except importer.MappingError as exc:
        st.error(ui.plain(f"The mapping needs a change before it can load: {exc}"))
        st.stop()
    ui.table(table, "mapping as a table")
    st.download_button("Download the mapping (for next term)", text, file_name="mapping.yaml",
                       mime="application/x-yaml", key="download-mapping-yaml", icon=":material/download:")

st.subheader("2. Preview and dry run")
db = data.warehouse_path()
if st.button("Check everything (dry run: nothing is written)", key="import_check", icon=":material/rule:"):
    st.session_state["import_checked"] = importer.check(folder, db)
checked = st.session_state.get("import_checked")
if checked is None:
    st.stop()
summary = pl.DataFrame([{"entity": f.entity, "file": f.file, "rows read": f.rows_read,
                         "would load": f.rows_loaded, "quarantined": f.rows_quarantined} for f in checked.files])
ui.table(summary, "dry run summary")
for warning in [*checked.warnings, *(w for f in checked.files for w in f.warnings)]:
    st.warning(ui.plain(warning))
for entity, rows in importer.preview(folder, checked).items():
    st.markdown(f"**{ui.plain(entity)}**: the first rows as they would load; *problems* names the rules a row "
                "breaks (such a row is quarantined, not loaded)")
    ui.table(rows, f"preview {entity}")
if checked.quarantine.height:
    st.markdown(f"**Every quarantined row ({checked.quarantine.height:,})**")
    ui.table(checked.quarantine.drop("record"), "quarantined rows")
if not checked.ok:
    st.error(ui.plain(f"This would be rejected: {checked.reason}. Change the mapping or the files and check again."))
    st.stop()

st.subheader("3. Load")
st.caption("All or nothing: the warehouse changes only if every file loads. The uploads are removed afterwards.")
if st.button("Load into the warehouse", type="primary", key="import_load", icon=":material/upload:"):
    result = importer.load_into(folder, db, user.username)
    for key in ("import_folder", "import_checked", "import_names"):
        st.session_state.pop(key, None)
    st.session_state["import_round"] += 1
    if result.ok:
        st.session_state["import_done"] = f"Loaded as load {result.load_id}: " + ", ".join(
            f"{f.rows_loaded:,} {f.entity}" for f in result.files)
    else:
        st.session_state["import_done"] = f"Rejected: {result.reason}. The warehouse is unchanged."
done = st.session_state.pop("import_done", None)
if done:
    st.success(ui.plain(done))
    st.page_link(registry.page("destinations").file, label="See the First destinations page",
                 icon=":material/school:")
    st.page_link(registry.page("data_quality").file, label="See what this load did (Data quality)",
                 icon=":material/fact_check:")
