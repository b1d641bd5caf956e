"""The dashboard's only way to data: named queries on the current read-only snapshot, cached per version."""

from __future__ import annotations

import logging
import tempfile
from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from microbranch import queries, report, sample, settings, sites, storage
from sample_data.generate import generate


def db() -> Path:
    """The database file: the setting `db` (absolute; asked at each call, so tests can set it)."""
    return settings.current().db


@st.cache_resource(max_entries=4, show_spinner=False)
def _connection(db_path: Path, version: str):  # noqa: ANN202 - a DuckDB connection; pages never see it
    return storage.reader(db_path, version)


@st.cache_resource(show_spinner=False)
def _recovered(db_path: Path) -> bool:
    """Once per server process: put the writer and the published snapshot back in step (unless an import
    is running: it publishes when it ends)."""
    try:
        storage.recover(db_path, wait_seconds=0)
    except storage.BusyError:
        pass
    except storage.PublishError as exc:  # the published data still serves; the server log says what is needed
        logging.getLogger(__name__).warning("%s", exc.text("en"))
    return True


@st.cache_resource(show_spinner=False)
def _started(db_path: Path) -> bool:
    """Once per server process: remove what a killed import left in the work folder (unless one is running)."""
    return storage.clear_work(db_path)


def version() -> str:
    """The current data version (the snapshot's name); loads the sample data on the very first start."""
    _recovered(db())
    _started(db())
    current = storage.current_version(db())
    if current is None:
        with st.status("首次启动：正在载入南沙示例数据… / First start: loading the Nansha sample data…") as status:
            sample.ensure(db(), generate, progress=lambda name, f: status.update(label=f"{name} …"))
            status.update(state="complete")
        st.rerun()  # start the page again, on the loaded data, without the loading box
    return _upgraded(db(), current)


@st.cache_resource(max_entries=8, show_spinner=False)
def _upgraded(db_path: Path, current: str) -> str:
    """Once per data version: bring a snapshot made by older code up to the current schema, and finish loading the
    sample if a first start was stopped halfway through it."""
    storage.upgrade(db_path)
    if sample.incomplete(db_path):
        sample.ensure(db_path, generate)
    return storage.current_version(db_path) or current


# One frame per (version, query, parameters), shared by every session as it is: st.cache_data would hand each
# call a fresh unpickled copy, which costs every page view of every viewer; a polars frame is not changed in place.
@st.cache_resource(max_entries=512, show_spinner=False)
def _run(db_path: Path, data_version: str, name: str, params: tuple[tuple[str, object], ...]) -> pl.DataFrame:
    return queries.run(_connection(db_path, data_version), name, **dict(params))


def q(name: str, **params: object) -> pl.DataFrame:
    """Run a named query; cached on the data version, so a new import is seen at once."""
    return _run(db(), version(), name, tuple(sorted(params.items())))


@st.cache_data(max_entries=16, show_spinner=False)
def next_sites(communities: pl.DataFrame, walk_minutes: float, candidates: pl.DataFrame | None,
               only_candidates: bool, time_limit: float) -> sites.Plan:
    """The next sites for k = 1..10, exact and greedy (solving takes seconds: cached on its inputs)."""
    return sites.plan(communities, walk_minutes, candidates, only_candidates, time_limit)


@st.cache_data(max_entries=8, show_spinner=False)
def _report(db_path: Path, data_version: str, date_from: date, date_to: date, lang: str, fmt: str,
            walk_minutes: float) -> bytes:
    with tempfile.TemporaryDirectory(prefix="microbranch_report_") as tmp:
        out = report.write(_connection(db_path, data_version), report.Period(date_from, date_to),
                           Path(tmp) / f"report.{fmt}", lang, fmt, walk_minutes)
        return out.read_bytes()


def district_report(date_from: date, date_to: date, lang: str, fmt: str, walk_minutes: float) -> bytes:
    """The district report's file (HTML or PDF) for the period; cached on the data version."""
    return _report(db(), version(), date_from, date_to, lang, fmt, walk_minutes)
