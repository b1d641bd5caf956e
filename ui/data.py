"""The dashboard's only way to data: named queries on the current read-only snapshot, cached per version."""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from pathlib import Path
from typing import TypeVar

import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from microbranch import i18n, operations, queries, report, settings, storage
from sample_data.generate import generate

T = TypeVar("T")


def per_run(name: str, make: Callable[[], T]) -> T:
    """`make()` once per script run (a page asks for the database, its version and the language with every frame
    and label); outside a run, every time."""
    ctx = get_script_run_ctx()
    run = getattr(ctx, "parallel_coordinator", None)  # made anew when each run starts
    if run is None:
        return make()
    kept = getattr(ctx, "_microbranch_run", None)
    if kept is None or kept[0] is not run:
        kept = ctx._microbranch_run = (run, {})  # noqa: SLF001 - the run's own context, gone with the session
    values = kept[1]
    if name not in values:
        values[name] = make()
    return values[name]


def language() -> str:
    """`en` when the address says so, else `zh`, read once per script run (`ui.shell.lang`)."""
    return per_run("lang", lambda: "en" if st.query_params.get("lang") == "en" else "zh")


def db() -> Path:
    """The database file: the setting `db` (absolute; read once per script run, so tests can set it)."""
    return per_run("db", lambda: settings.current().db)


@st.cache_resource(max_entries=4, show_spinner=False)
def _connection(db_path: Path, version: str):  # noqa: ANN202 - a DuckDB connection; pages never see it
    return storage.reader(db_path, version)


@st.cache_resource(show_spinner=False)
def _starts(db_path: Path) -> dict:
    """Whether this server process has started on this database (one mutable mark per database), and the lock the
    first viewers wait on while one of them starts it."""
    return {"done": False, "lock": threading.Lock()}


def start() -> None:
    """Called by the shell (dashboard.py) before any page, once per server process: recovery, the schema, and the
    sample data on the very first start (see `operations.start`). Pages and queries only read."""
    mark = _starts(db_path=db())
    if mark["done"]:
        return
    with mark["lock"]:  # concurrent first viewers: one starts, the others wait, then read what it left
        if not mark["done"]:
            _start(mark)


def _start(mark: dict) -> None:
    if storage.current_version(db()) is None:
        with st.status("首次启动：正在载入南沙示例数据… / First start: loading the Nansha sample data…") as status:
            started = operations.start(db(), generate, progress=lambda name, f: status.update(label=f"{name} …"))
            status.update(state="complete")
    else:
        started = operations.start(db(), generate)
    mark["done"] = True
    if started.sample is not None:
        st.rerun()  # start the page again, on the loaded data, without the loading box


def version() -> str:
    """The current data version (the snapshot's name), read once per script run so a page shows one version
    throughout. Reads only: the shell's `start` made the data."""
    return per_run("version", _current_version)


def _current_version() -> str:
    current = storage.current_version(db())
    if current is None:
        raise FileNotFoundError(i18n.t("store_no_data", language(), db=db()))
    return current


# The cached functions here are called with keywords only: Streamlit looks up a positional argument's name in the
# function's signature (inspect.signature) on every call, for every such argument.
# One frame per (version, query, parameters), shared by every session as it is: st.cache_data would hand each
# call a fresh unpickled copy, which costs every page view of every viewer; a polars frame is not changed in place.
@st.cache_resource(max_entries=512, show_spinner=False)
def _run(db_path: Path, data_version: str, name: str, params: tuple[tuple[str, object], ...]) -> pl.DataFrame:
    return queries.run(_connection(db_path=db_path, version=data_version), name, **dict(params))


class Kept:
    """What was made for a key, shared by every session of this process, the least recently used dropped past
    `most`. In front of a cached function (`through`): a hit costs Python's own hashing of the key, where
    Streamlit's hasher walks every argument on each call; a miss goes to the cached function (made once however many
    ask at once)."""

    def __init__(self, most: int) -> None:
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self._most = most

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: Hashable, value: object) -> object:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._most:
                self._items.popitem(last=False)
        return value


def key_of(value: object) -> Hashable:
    """A value as a key of Python's own hashing: a frame by its content (`frame_digest`), lists, tuples and dicts
    item by item. A value of another unhashable kind makes the key unhashable (TypeError when it is looked up)."""
    if isinstance(value, pl.DataFrame):
        return ("frame", frame_digest(value))
    if isinstance(value, list | tuple):
        return (type(value).__name__, *map(key_of, value))
    if isinstance(value, dict):
        return ("dict", *((k, key_of(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        return ("set", frozenset(value))
    return value


@st.cache_resource(show_spinner=False)
def _generation() -> object:
    """A token made anew when Streamlit's caches are cleared (staff's "clear cache"), so what `Kept` holds goes too."""
    return object()


def through(kept: Kept, key: Hashable, make: Callable[[], object]) -> object:
    """`kept`'s value for `key`, else `make()` kept there (a key that cannot be hashed: `make()` alone). A value kept
    before Streamlit's caches were last cleared is made again."""
    generation = _generation()
    try:
        hit = kept.get(key)
    except TypeError:
        return make()
    if hit is not None and hit[0] is generation:
        return hit[1]
    return kept.put(key, (generation, make()))[1]


_FRAMES = Kept(512)


def q(name: str, **params: object) -> pl.DataFrame:
    """Run a named query; cached on the data version, so a new import is seen at once."""
    db_path, data_version, ordered = db(), version(), tuple(sorted(params.items()))
    return through(_FRAMES, (db_path, data_version, name, key_of(ordered)),
                   lambda: _run(db_path=db_path, data_version=data_version, name=name, params=ordered))


@st.cache_resource(max_entries=256, show_spinner=False)
def _derived(db_path: Path, data_version: str, name: str, params: tuple[tuple[str, object], ...],
             _make: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    return _make()


def derived(name: str, make: Callable[[], pl.DataFrame], **params: object) -> pl.DataFrame:
    """A frame a page computes from named queries (a sum, a join), made once per data version and `params` and shared
    like the queries' own frames. `make` may depend on nothing but the data and `params` (never on the viewer: what
    a role may see is applied after)."""
    return _derived(db_path=db(), data_version=version(), name=name, params=tuple(sorted(params.items())), _make=make)


def full_list(name: str, **params: object) -> Callable[[], pl.DataFrame]:
    """The whole list of a paged query (`<name>_full`, the same parameters but the page's), on the data version of
    now, as a function to call when the download is asked for (it may run outside the page's run)."""
    db_path, data_version = db(), version()
    return lambda: queries.run(_connection(db_path=db_path, version=data_version), f"{name}_full", **params)


def frame_digest(frame: pl.DataFrame) -> bytes:
    """A frame's content as a cache key, worked out once per frame object: the named queries' frames are the same
    objects view after view (`ui.data`) and no frame is changed in place, so a chart's key costs nothing the next
    time."""
    digest = getattr(frame, "_microbranch_digest", None)
    if digest is None:
        made = hashlib.sha256(f"{frame.schema!r} {frame.height}".encode())
        if frame.width:
            made.update(frame.hash_rows(seed=0).to_numpy().tobytes())
        digest = made.digest()
        frame._microbranch_digest = digest  # type: ignore[attr-defined]
    return digest


@st.cache_resource(max_entries=256, show_spinner=False, hash_funcs={pl.DataFrame: frame_digest})
def _made(name: str, _fn: Callable[..., object], args: tuple, kwargs: dict) -> object:
    return _fn(*args, **kwargs)


def made(fn: Callable[..., object], *args: object, **kwargs: object) -> object:
    """`fn(*args, **kwargs)` for a function of frames and values alone (what a page works out from the named queries'
    frames), made once per the inputs' content and shared by every session like the queries' frames: never change
    what it returns."""
    where = getattr(getattr(fn, "__code__", None), "co_filename", "")  # pages' functions all live in __main__
    name = f"{fn.__module__}.{fn.__qualname__}@{where}"
    return through(_MADE, (name, key_of(args), key_of(kwargs)),
                   lambda: _made(name=name, _fn=fn, args=args, kwargs=kwargs))


_MADE = Kept(256)


def split(frame: pl.DataFrame, column: str, value: object = True) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows whose `column` is `value` and the rest (nulls among the rest), made once per frame (`made`)."""
    return made(_split, frame, column, value)


def _split(frame: pl.DataFrame, column: str, value: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    hit = (pl.col(column) == value).fill_null(False)
    return frame.filter(hit), frame.filter(~hit)


@st.cache_data(max_entries=8, show_spinner=False)
def _report(db_path: Path, data_version: str, date_from: date, date_to: date, lang: str, fmt: str,
            walk_minutes: float) -> bytes:
    with tempfile.TemporaryDirectory(prefix="microbranch_report_") as tmp:
        out = report.write(_connection(db_path=db_path, version=data_version), report.Period(date_from, date_to),
                           Path(tmp) / f"report.{fmt}", lang, fmt, walk_minutes,
                           pieces=report.Pieces(storage.locations(db_path).cache / "report"))
        return out.read_bytes()


def district_report(date_from: date, date_to: date, lang: str, fmt: str, walk_minutes: float) -> bytes:
    """The district report's file (HTML or PDF) for the period; cached on the data version."""
    return _report(db_path=db(), data_version=version(), date_from=date_from, date_to=date_to, lang=lang, fmt=fmt,
                   walk_minutes=walk_minutes)
