"""数据导入 Upload: preview exports, import them with progress, then what was accepted, rejected and skipped."""

import polars as pl
import streamlit as st

from microbranch.contract import ContractError
from microbranch.ingest import preview
from microbranch.ingest.isolated import import_isolated
from microbranch.sample import ORDER
from microbranch.store import BusyError
from ui import data
from ui.data import q
from ui.shell import as_of_line, headed, role, table, tr, words

st.title(tr("page_upload"))
as_of_line()
if role() != "staff":
    st.info(tr("circ_upload_staff_only"))
    st.stop()
st.markdown(tr("circ_upload_intro", mb=st.get_option("server.maxUploadSize")))


@st.cache_data(max_entries=20, show_spinner=False)
def _preview(name: str, content: bytes):  # noqa: ANN202 - microbranch.ingest.Preview
    return preview(content, name)


def show_result(r: dict) -> None:
    if r["status"] == "refused":
        st.error(tr("circ_upload_refused", file=r["file_name"], message=r["message"]))
        return
    kind = tr(f"circ_kind_{r['kind']}")
    st.success(tr("circ_upload_result", file=r["file_name"], kind=kind, lines=f"{r['lines_read']:,}",
                  accepted=f"{r['accepted']:,}", rejected=f"{r['rejected']:,}", duplicates=f"{r['duplicates']:,}"))
    if r["orphans"]:
        st.info(tr("circ_upload_orphans", n=f"{r['orphans']:,}"))
    if r["rejected"] or r["warnings"]:
        st.markdown(f"**{tr('circ_upload_rejects', file=r['file_name'])}**")
        problems = q("rejects_by_import", import_id=r["import_id"])
        problems = words(problems, "severity", lambda s: tr(f"circ_severity_{s}"))
        table(headed(problems), f"rejects_{r['import_id']}.csv")


files = st.file_uploader(tr("circ_upload_files"), type=["csv", "xlsx"], accept_multiple_files=True, key="upload_files")
ready = []
for file in files or []:
    content = file.getvalue()
    try:
        p = _preview(file.name, content)
    except ContractError as exc:
        st.error(tr("circ_upload_refused", file=file.name, message=str(exc)))
        continue
    ready.append((ORDER.index(p.kind), file.name, content))
    with st.expander(f"{file.name} · {tr('circ_upload_kind')}: {tr(f'circ_kind_{p.kind}')} · "
                     f"{tr('circ_upload_encoding')}: {p.encoding} · {tr('circ_upload_rows')}: {p.records:,}"):
        mapping = pl.DataFrame(p.columns, schema=[tr("circ_upload_header"), tr("circ_upload_mapped")], orient="row")
        st.dataframe(mapping, hide_index=True, placeholder="—")

if ready and st.button(tr("circ_upload_button", n=len(ready)), type="primary", key="upload_go"):
    results = []
    with st.status(tr("circ_upload_running"), expanded=True) as status:
        bar = st.progress(0.0)
        try:
            for i, (_, name, content) in enumerate(sorted(ready)):
                def step(what: str, done: float, i: int = i, name: str = name) -> None:
                    bar.progress(min((i + done) / len(ready), 1.0),
                                 text=tr("circ_upload_step", file=name, step=tr(f"circ_step_{what.split()[0]}")))
                # in a child process with a memory cap: a file that needs too much ends its import, not the server
                results.append(import_isolated(data.db(), (name, content), user="upload", progress=step).as_dict())
            status.update(label=tr("circ_upload_done"), state="complete")
        except BusyError:
            status.update(label=tr("circ_upload_failed"), state="error")
            st.error(tr("circ_upload_busy"))
    st.session_state["upload_results"] = results
    st.rerun()  # so the "as of" line above shows the new data version too

for r in st.session_state.get("upload_results", []):
    show_result(r)
if st.session_state.get("upload_results"):
    st.caption(tr("circ_upload_version", version=data.version().removesuffix(".duckdb")))

st.subheader(tr("circ_upload_history"))
history = words(words(q("imports").rename({"kind": "file_kind"}), "file_kind", lambda k: tr(f"circ_kind_{k}")),
                "status", lambda s: tr(f"circ_status_{s}"))
table(headed(history), "imports.csv")
