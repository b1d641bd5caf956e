"""数据导入 Upload: recognise each export (or map its columns), preview its first rows as stored, import with
progress, then what was accepted, rejected and skipped; the import history with undo, and events waiting for
their branch or copy."""

import hashlib

import polars as pl
import streamlit as st

from microbranch import operations, profiles
from microbranch.contract import ACTION, KINDS, ContractError, field_label, is_personal, words_zh
from microbranch.i18n import entries
from microbranch.ingest import ImportResult, reason_text
from microbranch.ingest.mapping import IGNORE, Mapping, from_header, reader_fields
from microbranch.storage import BusyError
from ui import data
from ui.data import q
from ui.kit import headed, label, page, safe_csv, table, words
from ui.shell import as_of_line, lang, tr
from ui.signin import actor

page("upload")
as_of_line(needs_events=False)
st.markdown(tr("circ_upload_intro", mb=st.get_option("server.maxUploadSize")))
DATE_ORDERS = ("", "dmy", "mdy")


@st.cache_data(max_entries=40, show_spinner=False)
def _preview(name: str, content: bytes, mapping_json: str | None, language: str):  # noqa: ANN202 - Preview
    mapping = Mapping.from_json(mapping_json) if mapping_json else None
    # in a child process with a memory cap: no file, however made, can take the server's memory or end it
    return operations.preview(data.db(), name, content, mapping, lang=language)


def _field_word(kind: str, name: str) -> str:
    if name == IGNORE:
        return tr("imp_ui_ignore")
    key = "imp_ui_field_required" if name in KINDS[kind].required else "imp_ui_field"
    return tr(key, label=field_label(kind, name, "zh"), name=name)


def _action_word(action: str) -> str:
    return tr(f"circ_action_{action}") if action else tr("imp_ui_value_keep")


def _mapping_editor(key: str, p, start: Mapping) -> Mapping:  # noqa: ANN001 - Preview
    """Widgets for every choice of a mapping; returns the mapping they say."""
    kinds = list(KINDS)
    kind = st.selectbox(tr("imp_ui_kind"), kinds, index=kinds.index(start.kind), key=f"{key}_kind",
                        format_func=lambda k: tr(f"circ_kind_{k}"))
    every = [IGNORE] + [c.name for c in KINDS[kind].columns]
    columns: dict[str, str] = {}
    grid = st.columns(3)
    for i, h in enumerate(p.headers):
        personal = is_personal(h, kind)  # a reader's name, phone, ...: onto a reader id (pseudonymised) or nothing
        fields = [IGNORE, *reader_fields(kind)] if personal else every
        default = start.columns.get(h, IGNORE) if kind == start.kind else IGNORE
        columns[h] = grid[i % 3].selectbox(tr("imp_ui_column", header=h), fields,
                                           index=fields.index(default) if default in fields else 0,
                                           key=f"{key}_col_{kind}_{i}", format_func=lambda f: _field_word(kind, f),
                                           help=tr("imp_ui_personal_column") if personal else
                                           ", ".join(p.values.get(h, [])[:6]) or None)
    mapped = set(columns.values())
    lacking = [c.name for c in KINDS[kind].columns
               if c.name not in mapped and (c.required or (kind == "events" and c.name == "branch_id"))]
    constants: dict[str, str] = {}
    if lacking:
        st.markdown(f"**{tr('imp_ui_constants')}**")
        grid = st.columns(3)
        for i, f in enumerate(lacking):
            default = start.constants.get(f, "") if kind == start.kind else ""
            constants[f] = grid[i % 3].text_input(tr("imp_ui_constant", field=_field_word(kind, f)), default,
                                                  key=f"{key}_const_{kind}_{f}").strip()
    values: dict[str, dict[str, str]] = {}
    for h, f in columns.items():
        col = KINDS[kind].column(f) if f != IGNORE else None
        if col is None or col.type != "enum" or f != "action":
            continue
        st.markdown(f"**{tr('imp_ui_values', header=h)}**")
        choices = ["", *dict.fromkeys(ACTION.values())]
        given = start.values.get(f, {}) if kind == start.kind else {}
        grid = st.columns(4)
        values[f] = {}
        for j, v in enumerate(p.values.get(h, [])):
            default = given.get(v) or ACTION.get(v.casefold(), ACTION.get(v, ""))
            values[f][v] = grid[j % 4].selectbox(v, choices, index=choices.index(default) if default in choices else 0,
                                                 key=f"{key}_val_{j}",
                                                 format_func=_action_word)
    order = st.radio(tr("imp_ui_date_order"), DATE_ORDERS, horizontal=True, key=f"{key}_dates",
                     index=DATE_ORDERS.index(start.date_order) if start.date_order in DATE_ORDERS else 0,
                     format_func=lambda o: tr(f"imp_ui_date_{o or 'auto'}"))
    return Mapping(kind, columns, {k: v for k, v in constants.items() if v}, values, order, start.name,
                   start.built_from, list(p.headers))


def _profile_tools(key: str, mapping: Mapping) -> None:
    name_col, save_col, export_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    name = name_col.text_input(tr("imp_ui_profile_name"), mapping.name, key=f"{key}_pname")
    if save_col.button(tr("imp_ui_profile_save"), key=f"{key}_psave", icon=":material/save:"):
        mapping.name = name.strip()
        try:
            profiles.save(data.db(), mapping)
            st.session_state[f"{key}_saved"] = mapping.name  # chosen in the list on the next run
            st.rerun()
        except ContractError as exc:
            st.error(exc.text(lang()))
    export = Mapping(**{**mapping.__dict__, "name": name.strip() or mapping.name})
    export_col.download_button(tr("imp_ui_profile_export"), export.to_json().encode("utf-8"),
                               file_name=f"{export.name or 'profile'}.json", mime="application/json",
                               key=f"{key}_pexport", icon=":material/download:")


def _file(name: str, content: bytes) -> operations.Upload | None:
    """One uploaded file: what it is, the mapping if one is needed, its preview. Returns what to import, if ready."""
    key = "f" + hashlib.sha256(name.encode() + content).hexdigest()[:12]
    try:
        auto = _preview(name, content, None, lang())
    except ContractError as exc:
        st.error(tr("circ_upload_refused", file=name, message=exc.text(lang())))
        return None
    known = profiles.all_profiles(data.db())
    offered = [m.name for m in profiles.for_headers(data.db(), auto.headers)]
    suggested = profiles.similar(data.db(), auto.headers)  # made for headers like these: offered with their needs
    likes = [s.mapping.name for s in suggested if s.mapping.name not in offered]
    names = ["", *offered, *likes, *sorted(n for n in known if n not in offered and n not in likes)]
    saved = st.session_state.pop(f"{key}_saved", None)
    if saved:
        st.session_state[f"{key}_profile"] = saved
    elif f"{key}_profile" not in st.session_state:
        st.session_state[f"{key}_profile"] = offered[0] if offered else ""
    label = tr(f"circ_kind_{auto.kind}") if auto.kind else "?"
    icon = ":material/check_circle:" if auto.importable or offered else ":material/help:"
    with st.expander(f"{name} · {tr('circ_upload_kind')}: {label} · {tr('circ_upload_encoding')}: {auto.encoding} · "
                     f"{tr('circ_upload_rows')}: {auto.records:,}", expanded=not auto.importable, icon=icon):
        d = auto.detection
        if d is not None and d.kind:
            st.caption(tr("imp_ui_detected", kind=tr(f"circ_kind_{d.kind}"), found=len(d.required_found),
                          total=len(d.required_found) + len(d.required_missing), matched=len(d.matched),
                          unmatched=len(d.unmatched)))
        chosen = st.selectbox(tr("imp_ui_profile"), names, key=f"{key}_profile",
                              format_func=lambda n: n or tr("imp_ui_profile_none"))
        if saved:
            st.success(tr("imp_ui_profile_saved", name=saved))
        elif chosen and chosen in offered:
            st.info(tr("imp_ui_profile_offered", name=chosen))
        for s in suggested:
            if s.mapping.name in offered:
                continue
            needs = (tr("imp_ui_profile_needs", columns=tr("list_sep").join(s.missing)) if s.missing
                     else tr("imp_ui_profile_needs_nothing"))
            st.info(tr("imp_ui_profile_similar", name=s.mapping.name, share=f"{s.similarity:.0%}", needs=needs),
                    icon=":material/lightbulb:")
            if s.mapping.built_from:
                st.caption(tr("imp_ui_profile_condition", text=s.mapping.built_from))
        if not auto.importable and not chosen:
            st.warning(auto.reason + " " + tr("imp_ui_not_importable"))
        if chosen:
            start = known[chosen]
        elif d is not None and d.header is not None:
            start = from_header(d.header)
        else:
            start = Mapping("events", {h: IGNORE for h in auto.headers}, headers=list(auto.headers))
        edit = not auto.importable or bool(chosen) or st.toggle(tr("imp_ui_change_mapping"), key=f"{key}_edit")
        mapping = None
        if edit:
            st.markdown(f"#### {tr('imp_ui_mapping')}")
            mapping = _mapping_editor(f"{key}_{chosen}", auto, start)
            _profile_tools(key, mapping)
        try:
            p = _preview(name, content, mapping.to_json() if mapping else None, lang())
        except ContractError as exc:
            st.error(tr("circ_upload_refused", file=name, message=exc.text(lang())))
            return None
        if not p.importable:
            st.warning(p.reason, icon=":material/block:")  # what the mapping still lacks
            return None
        if mapping is None:
            st.dataframe(pl.DataFrame([(h, _field_words(p.kind, f)) for h, f in p.columns],
                                      schema=[tr("circ_upload_header"), tr("circ_upload_mapped")], orient="row"),
                         hide_index=True, placeholder="—")
        n = 0 if p.rows is None else p.rows.height
        st.markdown(f"**{tr('imp_ui_stored_rows', n=n)}**")
        st.dataframe(_stored_words(p.kind, p.rows), hide_index=True, placeholder="—", key=f"{key}_rows")
        if p.problems is not None and not p.problems.is_empty():
            st.markdown(f"**{tr('imp_ui_row_problems')}**")
            shown = words(p.problems, "severity", lambda s: tr(f"circ_severity_{s}"))
            st.table(headed(shown.rename({"column": "file_column"})))
        else:
            st.caption(tr("imp_ui_no_problems", n=n))
        # Never a guess: a file not recognised as it is needs a chosen profile or the user's word on the mapping.
        if not auto.importable and not chosen and not st.checkbox(tr("imp_ui_confirm"), key=f"{key}_confirm"):
            return None
    return operations.Upload(name, content, mapping, p.kind)


def _field_words(kind: str | None, name: str) -> str:
    """A stored field in the user's words (the pages' heading for it, else the field's first Chinese alias); what is
    not a field (a column dropped or ignored, already in words) as it is."""
    if kind not in KINDS or not any(c.name == name for c in KINDS[kind].columns):
        return name
    return label(name) if f"circ_col_{name}" in entries() else field_label(kind, name, lang())


def _stored_words(kind: str | None, rows: pl.DataFrame | None) -> pl.DataFrame | None:
    """The preview's rows as the user reads them: headings in words, and in Chinese the coded values (`checkout`,
    `self_service`) in their Chinese spelling, as the file wrote them."""
    if rows is None or kind not in KINDS:
        return rows
    if lang() == "zh":
        for col in KINDS[kind].columns:
            if col.values and col.name in rows.columns and rows.schema[col.name] == pl.String:
                spelled = words_zh(col.values)
                rows = words(rows, col.name, lambda v, spelled=spelled: spelled.get(v, v))
    return rows.rename({c: label(c) if c == "line" else _field_words(kind, c) for c in rows.columns})


def show_result(r: ImportResult) -> None:
    if r.status == "refused":
        st.error(tr("circ_upload_refused", file=r.file_name, message=r.message))
        return
    kind = tr(f"circ_kind_{r.kind}")
    st.success(tr("circ_upload_result", file=r.file_name, kind=kind, lines=f"{r.lines_read:,}",
                  accepted=f"{r.accepted:,}", rejected=f"{r.rejected:,}", duplicates=f"{r.duplicates:,}"))
    if not r.published:
        st.info(tr("imp_ui_nothing_new", file=r.file_name))
    if r.orphans:
        st.info(tr("circ_upload_orphans", n=f"{r.orphans:,}"))
    if r.warnings:
        st.caption(tr("imp_ui_warnings", n=f"{r.warnings:,}"))
    if r.rejected or r.warnings:
        st.markdown(f"**{tr('circ_upload_rejects', file=r.file_name)}**")
        problems = q("rejects_by_import", import_id=r.import_id)
        problems = rejects_in_words(problems)
        st.table(headed(problems.head(200)))
        st.download_button(tr("download_csv"), safe_csv(problems), file_name=f"rejects_{r.import_id}.csv",
                           mime="text/csv", key=f"dl_rejects_{r.import_id}", icon=":material/download:")


def rejects_in_words(problems: pl.DataFrame) -> pl.DataFrame:
    """Reasons whole in the page's language, named by the file's own column."""
    reasons = [reason_text(r, d, s, lang()) for r, d, s in problems.select("reason", "detail", "severity").rows()]
    problems = problems.with_columns(pl.Series("reason", reasons, dtype=pl.String))
    problems = words(problems, "severity", lambda s: tr(f"circ_severity_{s}"))
    return problems.select("line", "file_column", "value", "reason", "severity")


for bad_file, problem in profiles.damaged(data.db()):
    st.warning(tr("imp_ui_profiles_damaged", file=bad_file, reason=problem.text(lang())), icon=":material/warning:")
files = st.file_uploader(tr("circ_upload_files"), type=["csv", "xlsx"], accept_multiple_files=True, key="upload_files")
ready = [f for f in (_file(file.name, file.getvalue()) for file in files or []) if f is not None]

profile_file = st.file_uploader(tr("imp_ui_profile_import"), type=["json"], key="profile_upload")
if profile_file is not None and st.session_state.get("_profile_done") != profile_file.file_id:
    try:
        saved = profiles.import_text(data.db(), profile_file.getvalue().decode("utf-8", "replace"))
        st.session_state["_profile_done"] = profile_file.file_id
        st.success(tr("imp_ui_profile_imported", name=saved.name))
    except ContractError as exc:
        st.error(exc.text(lang()))

only_sample = q("data_status").row(0, named=True)["data_set"] == "sample"
remove_sample = None
if ready and only_sample:
    remove_sample = st.radio(tr("imp_ui_sample_question"), ("remove", "keep"), index=None, key="sample_choice",
                             format_func=lambda c: tr(f"imp_ui_sample_{c}"))
blocked = only_sample and remove_sample is None
if ready and st.button(tr("circ_upload_button_one" if len(ready) == 1 else "circ_upload_button", n=len(ready)),
                       type="primary", key="upload_go", disabled=blocked):
    with st.status(tr("circ_upload_running"), expanded=True) as status:
        bar = st.progress(0.0)

        def step(name: str, what: str, done: float) -> None:
            bar.progress(done, text=tr("circ_upload_step", file=name, step=tr(f"circ_step_{what.split()[0]}")))
        try:
            # each file in a child process with a memory cap: a file that needs too much ends its import, not the server
            batch = operations.import_files(data.db(), ready, actor(), remove_sample=remove_sample == "remove",
                                            progress=step, lang=lang())
            status.update(label=tr("circ_upload_done"), state="complete")
        except BusyError:
            status.update(label=tr("circ_upload_failed"), state="error")
            st.error(tr("circ_upload_busy"))
            batch = operations.ImportBatch()
    st.session_state["upload_batch"] = batch
    st.rerun()  # so the "as of" line above shows the new data version too

batch = st.session_state.get("upload_batch")
if batch is not None:
    if batch.sample_removed is not None:
        st.info(tr("imp_ui_sample_removed", n=batch.sample_removed))
    for r in batch.results:
        show_result(r)
    if batch.results:
        st.caption(tr("circ_upload_version", version=data.version().removesuffix(".duckdb")))

st.subheader(tr("circ_upload_history"))
imports = q("imports")
shown = imports.with_columns(pl.when(pl.col("undone_at").is_not_null()).then(pl.lit("undone"))
                             .otherwise(pl.col("status")).alias("status"))
history = words(words(shown.rename({"kind": "file_kind"}), "file_kind", lambda k: tr(f"circ_kind_{k}")),
                "status", lambda s: tr(f"circ_status_{s}"))
table(history, "imports.csv")

# The refused rows of any earlier import, reopened here (not only right after it ran).
with_rejects = imports.filter(pl.col("rejected") > 0)
if not with_rejects.is_empty():
    earlier = dict(zip(with_rejects["import_id"], with_rejects["file_name"], strict=True))
    reopened = st.selectbox(tr("imp_ui_rejects_pick"), [None, *earlier], key="rejects_pick",
                            format_func=lambda i: tr("imp_ui_rejects_none") if i is None else
                            tr("imp_ui_rejects_item", id=i, file=earlier[i],
                               n=f"{with_rejects.filter(pl.col('import_id') == i)['rejected'].item():,}"))
    if reopened is not None:
        problems = rejects_in_words(q("rejects_by_import", import_id=reopened))
        st.table(headed(problems.head(200)))
        st.download_button(tr("download_csv"), safe_csv(problems), file_name=f"rejects_{reopened}.csv",
                           mime="text/csv", key=f"dl_rejects_again_{reopened}", icon=":material/download:")

undoable = imports.filter((pl.col("status") == "imported") & pl.col("undone_at").is_null())
if not undoable.is_empty():
    st.markdown(f"#### {tr('imp_ui_undo')}")
    files_by_id = dict(zip(undoable["import_id"], undoable["file_name"], strict=True))
    pick_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
    newest = max(files_by_id)  # keyed by it: a new import is what the list offers first
    picked = pick_col.selectbox(tr("imp_ui_undo_pick"), list(files_by_id), key=f"undo_pick_{newest}",
                                format_func=lambda i: f"{i} · {files_by_id[i]}")
    # one small state: the undo waiting for its confirmation (orphans), or the one just done
    undo_state: operations.UndoResult | None = st.session_state.get("undo")
    if button_col.button(tr("imp_ui_undo_button"), key="undo_go", icon=":material/undo:"):
        st.session_state["undo_sure"] = int(picked)  # asked first, always
        st.session_state.pop("undo", None)
        st.rerun()
    sure = st.session_state.get("undo_sure")
    go = False
    if sure is not None and sure == picked:
        rows = undoable.filter(pl.col("import_id") == sure).row(0, named=True)
        st.warning(tr("imp_ui_undo_sure", id=sure, file=rows["file_name"], n=f"{rows['accepted']:,}"),
                   icon=":material/undo:")
        yes_col, no_col = st.columns(2)
        if no_col.button(tr("imp_ui_undo_cancel"), key="undo_cancel"):
            st.session_state["undo_sure"] = None
            st.rerun()
        go = yes_col.button(tr("imp_ui_undo_yes"), key="undo_yes", type="primary")
    if go:
        st.session_state["undo_sure"] = None
        try:
            st.session_state["undo"] = operations.undo(data.db(), int(picked), actor())
        except ContractError as exc:
            st.session_state.pop("undo", None)
            st.error(exc.text(lang()))
        except BusyError:
            st.session_state.pop("undo", None)
            st.error(tr("circ_upload_busy"))
        else:
            st.rerun()
    if undo_state is not None and undo_state.status == "needs_confirmation" and undo_state.import_id == picked:
        what = "、".join(tr(f"imp_orphans_{k}", n=f"{n:,}") for k, n in undo_state.orphans.items())
        st.warning(tr("imp_undo_orphans", what=what))
        if st.button(tr("imp_ui_undo_anyway"), key="undo_anyway", type="primary"):
            st.session_state["undo"] = operations.undo(data.db(), undo_state.import_id, actor(), confirm=True)
            st.rerun()
done = st.session_state.get("undo")
if done is not None and done.status == "undone":
    st.success(tr("imp_undone", import_id=done.import_id, file=done.file_name, removed=f"{done.removed:,}"))

st.markdown(f"#### {tr('imp_ui_orphans')}")
orphans = q("orphans_by_import")
if orphans.is_empty():
    st.caption(tr("imp_ui_no_orphans"))
else:
    names = dict(zip(imports["import_id"], imports["file_name"], strict=True))
    orphans = orphans.with_columns(pl.Series("file_name", [names.get(i) for i in orphans["import_id"]],
                                             dtype=pl.String))
    table(orphans.select("import_id", "file_name", "orphans", "copies_missing", "branches_missing"),
          "orphans.csv")
