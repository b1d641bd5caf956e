"""The walks between communities and branches, worked out once per data version instead of on every query.

Two tables, rebuilt whole whenever branches or communities change (an import of either, its undo, a schema change);
an import of events, readers or copies leaves them as they are:

* `walk_pairs`: every community and public branch within `PAIRS_MINUTES` minutes' walk (the longest threshold the
  pages offer), with the minutes; the walks of any threshold up to it are read from these pairs
  (`served_by_branch`).
* `community_nearest`: per community, the spans of days over which its nearest open public branch stays the same,
  with and without micro-branches (the macro `community_walks(on_day)` reads the span holding its day).

A branch is open on day d when opened_on <= d < closed_on, so the open set changes only on the days a branch opens
or closes: between two such days every community has the same nearest branch. Minutes come from the SQL macro
`walk_minutes` itself (the one definition), so the spans give exactly what the direct computation gives; ties go to
the smaller branch id, as `arg_min(branch_id, (minutes, branch_id))` does.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import polars as pl

KINDS = ("branches", "communities")  # the imports that change the walks
PAIRS_MINUTES = 15.0  # walk_pairs holds every pair within this walk: the thresholds 5, 10 and 15 read it


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild `walk_pairs` and `community_nearest` from the branches and communities (in the caller's
    transaction)."""
    con.sql("delete from walk_pairs")
    con.sql("""
        insert into walk_pairs
        select c.community_code, b.branch_id, walk_minutes(c.lat, c.lon, b.lat, b.lon) as minutes,
        from communities as c, branches as b
        where b.public_access
          and abs(c.lat - b.lat) <= $m * 80 / 1.3 / 111195 * 1.001
          and walk_minutes(c.lat, c.lon, b.lat, b.lon) <= $m
        order by c.community_code, b.branch_id
    """, params={"m": PAIRS_MINUTES})
    con.sql("delete from community_nearest")
    spans = _spans(con)
    if spans.height:
        con.register("new_spans", spans)
        con.sql("insert into community_nearest by name select * from new_spans")
        con.unregister("new_spans")


def _spans(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    branches = con.sql("""
        select branch_id, kind = 'micro' as micro, opened_on, closed_on,
        from branches where public_access order by branch_id
    """).pl()
    codes = con.sql("select community_code from communities order by community_code").pl()["community_code"]
    if not branches.height or not len(codes):
        return pl.DataFrame()
    # Every community to every public branch, in minutes from the SQL macro: rows communities, columns branches.
    minutes = con.sql("""
        select walk_minutes(c.lat, c.lon, b.lat, b.lon) as m,
        from communities as c, (select * from branches where public_access) as b
        order by c.community_code, b.branch_id
    """).fetchnumpy()["m"]
    matrix = np.asarray(minutes, dtype=float).reshape(len(codes), branches.height)
    opened = branches["opened_on"].to_numpy()
    closed = branches["closed_on"].fill_null(date.max).to_numpy()
    micro = branches["micro"].to_numpy()
    days = np.unique(np.concatenate([opened, closed[closed != np.datetime64(date.max)]]))
    with_micro = _Nearest(matrix, np.ones(branches.height, dtype=bool))
    without = _Nearest(matrix, ~micro)
    ids = np.asarray(branches["branch_id"].to_list(), dtype=object)
    state = np.full((len(codes), 2), -1)  # the nearest (column) with and without micro-branches, -1: none
    since: list[object] = [None] * len(codes)
    rows: list[tuple] = []
    for day in days.tolist():
        is_open = (opened <= np.datetime64(day)) & (closed > np.datetime64(day))
        now = np.stack([with_micro.step(is_open), without.step(is_open)], axis=1)
        for i in np.flatnonzero((now != state).any(axis=1)).tolist():
            if since[i] is not None:
                rows.append((i, since[i], day, *state[i]))
            since[i] = day if (now[i] >= 0).any() else None
        state = now
    rows += [(i, since[i], None, *state[i]) for i in range(len(codes)) if since[i] is not None]
    if not rows:
        return pl.DataFrame()
    row, start, until, near, near_other = (list(c) for c in zip(*rows, strict=True))
    row, near, near_other = np.asarray(row), np.asarray(near), np.asarray(near_other)

    def walk(cols: np.ndarray) -> pl.Series:
        return pl.Series(np.where(cols >= 0, matrix[row, np.maximum(cols, 0)], np.nan)).fill_nan(None)

    return pl.DataFrame({
        "community_code": codes.gather(row.tolist()),
        "valid_from": pl.Series(start, dtype=pl.Date),
        "valid_until": pl.Series(until, dtype=pl.Date),
        "nearest_branch_id": pl.Series(np.where(near >= 0, ids[np.maximum(near, 0)], None).tolist(), dtype=pl.String),
        "walk_minutes": walk(near),
        "nearest_branch_without_micro": pl.Series(
            np.where(near_other >= 0, ids[np.maximum(near_other, 0)], None).tolist(), dtype=pl.String),
        "walk_minutes_without_micro": walk(near_other),
    })


class _Nearest:
    """Each community's nearest open branch among `allowed` columns, kept as branches open and close: a branch
    opening is compared with every community's nearest; a branch closing makes its communities look again."""

    def __init__(self, matrix: np.ndarray, allowed: np.ndarray) -> None:
        self.matrix, self.allowed = matrix, allowed
        self.open = np.zeros(matrix.shape[1], dtype=bool)
        self.best = np.full(matrix.shape[0], -1)
        self.value = np.full(matrix.shape[0], np.inf)

    def step(self, is_open: np.ndarray) -> np.ndarray:
        now = is_open & self.allowed
        closed, opened = self.open & ~now, now & ~self.open
        self.open = now
        lost = np.flatnonzero(np.isin(self.best, np.flatnonzero(closed)))
        if len(lost):  # look again among the branches open now (the first of equal minutes: the smaller id)
            cols = np.flatnonzero(now)
            if len(cols):
                sub = self.matrix[np.ix_(lost, cols)]
                pick = sub.argmin(axis=1)
                self.best[lost], self.value[lost] = cols[pick], sub[np.arange(len(lost)), pick]
            else:
                self.best[lost], self.value[lost] = -1, np.inf
        for j in np.flatnonzero(opened).tolist():  # in id order
            col = self.matrix[:, j]
            better = (col < self.value) | ((col == self.value) & (j < self.best))
            self.best[better], self.value[better] = j, col[better]
        return self.best.copy()
