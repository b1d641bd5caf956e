"""Fast, deterministic generator of a large synthetic data set for benchmarks.

Writes the five kinds of export file of the data contract (``docs/data-contract.md``) as plain UTF-8 CSV with
the canonical English headers, checked against ``microbranch/contract.py``:

* ``branches.csv``    1,000 branches (1 central, 50 town branches, 949 micro-branches)
* ``communities.csv`` 5,000 communities in 50 towns
* ``readers.csv``     ``n_events // 50`` readers
* ``items.csv``       ``n_events // 10`` items
* ``events.csv``      exactly ``n_events`` circulation events, 2022-01-01 .. 2025-12-31

Everything is vectorised with numpy + polars (no Python loop per row), so 10M events
take well under two minutes and stay far below 3 GB of memory.

Circulation is simulated per loan ("session"): ``checkout`` at a branch, then 0..6
``transfer`` hand-overs through the mini-program (``from_reader_id`` = previous holder,
``reader_id`` = next holder, no branch), an optional ``renew`` by the last holder, and a
``return`` at a branch. Loans of one item follow each other with strictly increasing
times. A few items start with a partial chain (their checkout lies before 2022-01-01)
and a few end with an open loan (no return yet).

Usage::

    python -m sample_data.make_big --events 10000000 --out /tmp/big10m
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from microbranch.contract import ACTION, CHANNEL, HOST_TYPE, KINDS

# --------------------------------------------------------------------------- constants

N_BRANCHES = 1_000
N_TOWNS = 50  # one town branch per town: branch index 1 + town
N_COMMUNITIES = 5_000  # 100 per town, ordered by town
COMM_PER_TOWN = N_COMMUNITIES // N_TOWNS

CENTER_LAT, CENTER_LON = 22.8, 113.5
HALF_LAT = 0.27  # ~30 km
HALF_LON = 0.2925  # ~30 km at 22.8 N

_EPOCH = date(1970, 1, 1)


def _day(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date."""
    return (date.fromisoformat(iso) - _EPOCH).days


START_DAY = _day("2022-01-01")
END_DAY = _day("2025-12-31")
N_DAYS = END_DAY - START_DAY + 1
OPEN_AT = 9 * 3600  # branches (and the simulated clock) run 09:00 .. 21:00
OPEN_SECONDS = 12 * 3600
DAY = float(OPEN_SECONDS)  # one day on the "open-time" clock

CHECKOUT, RETURN, RENEW, TRANSFER = 0, 1, 2, 3
ACTIONS = list(dict.fromkeys(ACTION.values()))  # checkout, return, renew, transfer: the contract's values
COUNTER, SELF_SERVICE, MINI_PROGRAM, FACE = 0, 1, 2, 3
CHANNELS = list(dict.fromkeys(CHANNEL.values()))
HOST_TYPES = list(dict.fromkeys(HOST_TYPE.values()))
HOST_LABELS = ["企业", "学校", "社区", "机关", "驿站"]

P_TRANSFERS = np.array([0.62, 0.18, 0.09, 0.055, 0.03, 0.015, 0.01])  # 0..6 per loan
P_RENEW = 0.3
P_PARTIAL_HEAD = 0.08  # first loan of an old item started before 2022
P_OPEN_LOAN = 0.12  # last loan of an item not returned yet

PLACE_CHARS = list("东南西北中新华民安和平康乐永兴富丰宁泰嘉祥瑞福明光星龙凤云海江湖山林石桥沙塘田园溪湾岗头洲坑围涌")
TITLE_A = [
    "中国",
    "世界",
    "城市",
    "人间",
    "少年",
    "海上",
    "山中",
    "时间",
    "小王子的",
    "我们的",
    "岭南",
    "广府",
    "星空",
    "数学",
    "历史",
    "哲学",
    "科学",
    "未来",
    "童年",
    "故乡",
    "Python",
    "机器",
    "经济",
    "植物",
    "动物",
    "宇宙",
    "大海",
    "乡土",
    "家庭",
    "心理",
]
TITLE_B = [
    "简史",
    "往事",
    "笔记",
    "之旅",
    "故事",
    "的秘密",
    "漫游",
    "手记",
    "十讲",
    "入门",
    "家书",
    "风物志",
    "百问",
    "图鉴",
    "札记",
    "传",
    "指南",
    "探索",
    "密码",
    "四季",
]
TITLE_C = ["", "", "", "", "", "", "（上）", "（下）", "（第2版）", "：插图本"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文辉建国志红晓晨宇浩然")
# CLC classes with rough circulation weights; T is split into sub-classes as kept by the contract
CLC = [
    "A",
    "B",
    "C",
    "D",
    "E",
    "F",
    "G",
    "H",
    "I",
    "J",
    "K",
    "N",
    "O",
    "P",
    "Q",
    "R",
    "S",
    "TP",
    "TU",
    "TN",
    "TS",
    "U",
    "V",
    "X",
    "Z",
]
CLC_W = np.array([1, 5, 2, 4, 1, 6, 6, 5, 30, 4, 8, 1, 2, 1, 2, 4, 1, 5, 2, 1, 2, 1, 1, 1, 1], float)


# --------------------------------------------------------------------------- helpers


def _gather(pool: list[str], idx: np.ndarray) -> pl.Series:
    """Strings of ``pool`` at positions ``idx`` (vectorised)."""
    return pl.Series(pool, dtype=pl.String).gather(pl.Series(idx.astype(np.uint32)))


def _zfill(expr: pl.Expr, width: int, prefix: str = "") -> pl.Expr:
    s = expr.cast(pl.String).str.zfill(width)
    return pl.concat_str([pl.lit(prefix), s]) if prefix else s


def _dates(days: np.ndarray) -> pl.Series:
    """Days since epoch (negative = missing) as a polars Date series."""
    s = pl.Series(days.astype(np.int32)).cast(pl.Date)
    return s.set(pl.Series(days < 0), None) if (days < 0).any() else s


def _range_pick(rng, group, start, count, skew=1.0):
    """One element of each ``group`` (contiguous ranges start/count), skewed to the front."""
    u = rng.random(len(group))
    if skew != 1.0:
        u = u**skew
    c = count[group]
    return start[group] + np.minimum((c * u).astype(np.int64), c - 1)


# --------------------------------------------------------------------------- geography


def _geography(rng):
    # towns: 2-char names, centres inside the box
    combos = rng.choice(len(PLACE_CHARS) ** 2, N_TOWNS, replace=False)
    town_suffix = np.where(rng.random(N_TOWNS) < 0.6, "街道", "镇")
    town_names = [
        PLACE_CHARS[c // len(PLACE_CHARS)] + PLACE_CHARS[c % len(PLACE_CHARS)] + s
        for c, s in zip(combos, town_suffix, strict=True)
    ]  # 50 names only
    town_lat = CENTER_LAT + rng.uniform(-0.8, 0.8, N_TOWNS) * HALF_LAT
    town_lon = CENTER_LON + rng.uniform(-0.8, 0.8, N_TOWNS) * HALF_LON
    town_code = 440115900 + np.arange(1, N_TOWNS + 1)

    # communities: 100 per town, in town order
    c_town = np.repeat(np.arange(N_TOWNS), COMM_PER_TOWN)
    c_code = town_code[c_town].astype(np.int64) * 1000 + np.tile(np.arange(1, COMM_PER_TOWN + 1), N_TOWNS)
    L = len(PLACE_CHARS)
    cc = rng.choice(L**3, N_COMMUNITIES, replace=False)
    c_name_idx = (cc // (L * L), (cc // L) % L, cc % L)
    c_pop = np.clip(rng.lognormal(np.log(4000), 0.6, N_COMMUNITIES), 500, 15000).astype(np.int64)
    c_lat = np.clip(town_lat[c_town] + rng.normal(0, 0.02, N_COMMUNITIES), CENTER_LAT - HALF_LAT, CENTER_LAT + HALF_LAT)
    c_lon = np.clip(town_lon[c_town] + rng.normal(0, 0.02, N_COMMUNITIES), CENTER_LON - HALF_LON, CENTER_LON + HALF_LON)
    c_suffix = np.where(rng.random(N_COMMUNITIES) < 0.6, 0, 1)
    c_name = pl.DataFrame(
        {
            "a": _gather(PLACE_CHARS, c_name_idx[0]),
            "b": _gather(PLACE_CHARS, c_name_idx[1]),
            "c": _gather(PLACE_CHARS, c_name_idx[2]),
            "s": _gather(["社区", "村"], c_suffix),
        }
    ).select(pl.concat_str(["a", "b", "c", "s"]).alias("name"))["name"]
    return {
        "town_names": town_names,
        "town_lat": town_lat,
        "town_lon": town_lon,
        "town_code": town_code,
        "c_town": c_town,
        "c_code": c_code,
        "c_name": c_name,
        "c_pop": c_pop,
        "c_lat": c_lat,
        "c_lon": c_lon,
    }


def _communities_frame(g) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "community_code": g["c_code"].astype(str),
            "name": g["c_name"],
            "town_code": g["town_code"][g["c_town"]].astype(str),
            "population": g["c_pop"],
            "lat": g["c_lat"],
            "lon": g["c_lon"],
            "coord_system": np.full(N_COMMUNITIES, "wgs84"),
        }
    )


# --------------------------------------------------------------------------- branches


def _branches(rng, g):
    nb, n_town = N_BRANCHES, N_TOWNS
    n_micro = nb - 1 - n_town
    micro = np.arange(1 + n_town, nb)
    kind = np.array(["micro"] * nb, dtype=object)
    kind[0], kind[1 : 1 + n_town] = "central", "branch"

    # town of each branch; the central library sits in the town nearest the box centre
    town = np.empty(nb, np.int64)
    town[0] = np.argmin((g["town_lat"] - CENTER_LAT) ** 2 + (g["town_lon"] - CENTER_LON) ** 2)
    town[1 : 1 + n_town] = np.arange(n_town)
    m_comm = rng.integers(0, N_COMMUNITIES, n_micro)
    town[micro] = g["c_town"][m_comm]

    lat = np.empty(nb)
    lon = np.empty(nb)
    lat[0], lon[0] = CENTER_LAT + 0.004, CENTER_LON - 0.003
    lat[1 : 1 + n_town] = g["town_lat"] + rng.normal(0, 0.002, n_town)
    lon[1 : 1 + n_town] = g["town_lon"] + rng.normal(0, 0.002, n_town)
    lat[micro] = g["c_lat"][m_comm] + rng.normal(0, 0.003, n_micro)
    lon[micro] = g["c_lon"][m_comm] + rng.normal(0, 0.003, n_micro)
    lat = np.clip(lat, CENTER_LAT - HALF_LAT, CENTER_LAT + HALF_LAT)
    lon = np.clip(lon, CENTER_LON - HALF_LON, CENTER_LON + HALF_LON)

    host = np.full(nb, -1)
    host[micro] = rng.choice(5, n_micro, p=[0.3, 0.25, 0.25, 0.12, 0.08])

    opened = np.empty(nb, np.int64)
    opened[0] = _day("2008-09-28")
    opened[1 : 1 + n_town] = rng.integers(_day("2012-01-01"), _day("2019-12-31") + 1, n_town)
    opened[micro] = rng.integers(_day("2016-01-01"), _day("2024-06-30") + 1, n_micro)
    closed = np.full(nb, -1, np.int64)
    cand = opened + rng.integers(365, 4 * 365, nb)
    do_close = (host >= 0) & (rng.random(nb) < 0.08) & (cand <= _day("2025-11-30"))
    closed[do_close] = cand[do_close]

    no_prob = np.array([0.4, 0.5, 0.0, 0.5, 0.2])
    public = np.ones(nb, bool)
    public[micro] = rng.random(n_micro) >= no_prob[host[micro]]

    hp_mu = np.array([np.log(400), np.log(1200), 0, np.log(150), 0])
    host_pop = np.full(nb, -1, np.int64)
    has_hp = (host == 0) | (host == 1) | (host == 3)
    host_pop[has_hp] = np.clip(rng.lognormal(hp_mu[host[has_hp]], 0.7), 20, 6000).astype(np.int64)

    volumes = np.empty(nb, np.int64)
    volumes[0] = 200_000
    volumes[1 : 1 + n_town] = rng.integers(10_000, 40_001, n_town)
    volumes[micro] = rng.integers(300, 3_001, n_micro)

    # names and addresses
    town_name = _gather(g["town_names"], town)
    comm_name = g["c_name"].gather(pl.Series(np.concatenate([[0] * (1 + n_town), m_comm]).astype(np.uint32)))
    label = _gather(HOST_LABELS, np.maximum(host, 0))
    num = pl.Series(rng.integers(1, 300, nb)).cast(pl.String)
    road = _gather(PLACE_CHARS, rng.integers(0, len(PLACE_CHARS), nb))
    tmp = pl.DataFrame(
        {"town": town_name, "comm": comm_name, "label": label, "num": num, "road": road, "kind": list(kind)}
    )
    names = tmp.select(
        pl.when(pl.col("kind") == "central")
        .then(pl.lit("区图书馆总馆"))
        .when(pl.col("kind") == "branch")
        .then(pl.concat_str(["town", pl.lit("分馆")]))
        .otherwise(pl.concat_str(["comm", "label", pl.lit("微分馆")]))
        .alias("name"),
        pl.when(pl.col("kind") == "micro")
        .then(pl.concat_str(["town", "comm", pl.lit("中心路"), "num", pl.lit("号")]))
        .otherwise(pl.concat_str(["town", "road", pl.lit("华大道"), "num", pl.lit("号")]))
        .alias("address"),
    )

    host_s = pl.Series([None] + [None] * n_town, dtype=pl.String).append(_gather(HOST_TYPES, host[micro]))
    frame = pl.DataFrame(
        {
            "branch_id": _branch_ids(np.arange(nb)),
            "name": names["name"],
            "kind": list(kind),
            "host_type": host_s,
            "town_code": g["town_code"][town].astype(str),
            "address": names["address"],
            "lat": lat,
            "lon": lon,
            "coord_system": np.full(nb, "wgs84"),
            "opened_on": _dates(opened),
            "closed_on": _dates(closed),
            "public_access": np.where(public, "yes", "no"),
            "host_population": pl.Series(host_pop).set(pl.Series(host_pop < 0), None),
            "volumes": volumes,
        }
    )
    info = {"town": town, "opened": opened, "closed": closed, "volumes": volumes}
    return frame, info


def _branch_ids(idx: np.ndarray) -> pl.Series:
    return pl.select(_zfill(pl.lit(pl.Series(idx)), 4, "B")).to_series()


# --------------------------------------------------------------------------- readers & items


def _readers(rng, n_readers, g, b):
    # residence weighted by community population; readers ordered by (town, random)
    p = g["c_pop"] / g["c_pop"].sum()
    comm = rng.choice(N_COMMUNITIES, n_readers, p=p)
    town = g["c_town"][comm]
    order = np.lexsort((rng.random(n_readers), town))
    comm, town = comm[order], town[order]
    t_count = np.bincount(town, minlength=N_TOWNS)
    t_start = np.concatenate([[0], np.cumsum(t_count)[:-1]])

    # home branch: the town branch or a micro-branch of the town
    micro = np.flatnonzero(np.arange(N_BRANCHES) > N_TOWNS)
    m_sorted = micro[np.argsort(b["town"][micro], kind="stable")]
    m_count = np.bincount(b["town"][m_sorted], minlength=N_TOWNS)
    m_start = np.concatenate([[0], np.cumsum(m_count)[:-1]])
    use_micro = (rng.random(n_readers) < 0.45) & (m_count[town] > 0)
    home = 1 + town
    pick = _range_pick(rng, town[use_micro], m_start, np.maximum(m_count, 1))
    home[use_micro] = m_sorted[pick]

    lo = np.maximum(_day("2012-01-01"), b["opened"][home])
    reg = lo + ((END_DAY - lo) * rng.random(n_readers) ** 1.4).astype(np.int64)

    child = rng.random(n_readers) < 0.25
    birth = np.where(child, rng.integers(2008, 2021, n_readers), rng.integers(1945, 2008, n_readers))
    # 12-digit zero-padded card numbers, unique, in random order
    ids = 100_000_000 + np.arange(n_readers, dtype=np.int64) * 37 + rng.integers(0, 37, n_readers)
    ids = rng.permutation(ids)
    return {
        "comm": comm,
        "town": town,
        "t_count": t_count,
        "t_start": t_start,
        "home": home,
        "reg": reg,
        "birth": birth,
        "ids": ids,
        "n": n_readers,
    }


def _readers_frame(r, g, b) -> pl.DataFrame:
    age = 2025 - r["birth"]
    rtype = np.select([age < 14, age < 23, age >= 60], [0, 1, 3], 2)
    return pl.DataFrame(
        {
            "reader_id": pl.Series(r["ids"]).cast(pl.String).str.zfill(12),
            "registered_on": _dates(r["reg"]),
            "home_branch_id": _branch_ids(r["home"]),
            "community_code": g["c_code"][r["comm"]].astype(str),
            "birth_year": r["birth"],
            "reader_type": _gather(["child", "student", "adult", "senior"], rtype),
        }
    )


def _items(rng, n_items, b, r):
    w = b["volumes"] / b["volumes"].sum()
    home = rng.choice(N_BRANCHES, n_items, p=w)
    owned = rng.random(n_items) < 0.03
    owner_reader = np.full(n_items, -1, np.int64)
    owner_reader[owned] = rng.integers(0, r["n"], owned.sum())
    home[owned] = r["home"][owner_reader[owned]]
    lo = np.maximum(b["opened"][home], _day("2005-01-01"))
    hi = np.full(n_items, _day("2025-09-30"))
    closed = b["closed"][home]
    hi = np.where(closed >= 0, np.minimum(hi, closed - 1), hi)
    hi = np.maximum(hi, lo)
    added = lo + ((hi - lo) * rng.random(n_items) ** 0.8).astype(np.int64)
    return {"home": home, "owner_reader": owner_reader, "added": added, "n": n_items}


def _isbn13(rng, n) -> np.ndarray:
    body = 978_700_000_000 + rng.integers(0, 100_000_000, n, dtype=np.int64)  # 978-7 = China
    digits = (body[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    s = (digits * np.tile([1, 3], 6)).sum(axis=1)
    return body * 10 + (10 - s % 10) % 10


def _items_frame(rng, it, r) -> pl.DataFrame:
    n = it["n"]
    isbn = pl.Series(_isbn13(rng, n)).cast(pl.String)
    isbn = isbn.set(pl.Series(rng.random(n) < 0.08), None)
    author_missing = rng.random(n) < 0.05
    two = rng.random(n) < 0.6
    tmp = pl.DataFrame(
        {
            "ta": _gather(TITLE_A, rng.integers(0, len(TITLE_A), n)),
            "tb": _gather(TITLE_B, rng.integers(0, len(TITLE_B), n)),
            "tc": _gather(TITLE_C, rng.integers(0, len(TITLE_C), n)),
            "sn": _gather(SURNAMES, rng.integers(0, len(SURNAMES), n)),
            "g1": _gather(GIVEN, rng.integers(0, len(GIVEN), n)),
            "g2": _gather(GIVEN, rng.integers(0, len(GIVEN), n)),
            "two": two,
            "amiss": author_missing,
            "cls": _gather(CLC, rng.choice(len(CLC), n, p=CLC_W / CLC_W.sum())),
            "cn": pl.Series(rng.integers(1, 1000, n)).cast(pl.String),
            "cd": pl.Series(rng.integers(1, 100, n)).cast(pl.String),
            "hasd": rng.random(n) < 0.5,
            "cut": pl.Series(rng.integers(1, 1000, n)).cast(pl.String),
        }
    )
    cols = tmp.select(
        pl.concat_str(["ta", "tb", "tc"]).alias("title"),
        pl.when(pl.col("amiss"))
        .then(None)
        .otherwise(pl.concat_str(["sn", "g1", pl.when(pl.col("two")).then("g2").otherwise(pl.lit(""))]))
        .alias("author"),
        pl.concat_str(
            [
                "cls",
                "cn",
                pl.when(pl.col("hasd")).then(pl.concat_str([pl.lit("."), "cd"])).otherwise(pl.lit("")),
                pl.lit("/"),
                "cut",
            ]
        ).alias("call_number"),
    )
    owner_id = pl.Series(np.where(it["owner_reader"] >= 0, r["ids"][np.maximum(it["owner_reader"], 0)], 0))
    owner_id = owner_id.cast(pl.String).str.zfill(12).set(pl.Series(it["owner_reader"] < 0), None)
    price = np.round(np.clip(rng.lognormal(np.log(42), 0.45, n), 8, 300), 2)
    return pl.DataFrame(
        {
            "item_id": pl.Series(_item_numbers(np.arange(n))).cast(pl.String).str.zfill(11),
            "title": cols["title"],
            "author": cols["author"],
            "isbn": isbn,
            "call_number": cols["call_number"],
            "home_branch_id": _branch_ids(it["home"]),
            "owner": np.where(it["owner_reader"] >= 0, "reader", "library"),
            "owner_reader_id": owner_id,
            "added_on": _dates(it["added"]),
            "price": price,
        }
    )


def _item_numbers(idx: np.ndarray) -> np.ndarray:
    return 1_000_000 + idx.astype(np.int64)  # 11-digit zero-padded barcodes: 00001000000 ...


# --------------------------------------------------------------------------- events


def _layout(rng, n_sessions, it):
    """Loans of items laid out item by item; returns the full (untrimmed) event arrays."""
    n_items = it["n"]
    # item popularity: gamma weights, 15% of the items never circulate
    w = rng.gamma(1.2, 1.0, n_items)
    w[rng.random(n_items) < 0.15] = 0.0
    cw = np.cumsum(w)
    item_s = np.searchsorted(cw, rng.random(n_sessions) * cw[-1], side="right")
    item_s = np.minimum(item_s, n_items - 1)
    rank = rng.permutation(n_items)  # items laid out in random order
    item_s = item_s[np.argsort(rank[item_s], kind="stable")]

    k = rng.choice(7, n_sessions, p=P_TRANSFERS).astype(np.int64)
    rn = (rng.random(n_sessions) < P_RENEW).astype(np.int64)
    ln = 2 + k + rn
    first_s = np.ones(n_sessions, bool)
    first_s[1:] = item_s[1:] != item_s[:-1]
    last_s = np.ones(n_sessions, bool)
    last_s[:-1] = first_s[1:]

    # partial chain: the first loan of an item added before 2022 lost its first h events
    head = np.zeros(n_sessions, np.int64)
    partial = first_s & (it["added"][item_s] < START_DAY) & (rng.random(n_sessions) < P_PARTIAL_HEAD)
    head[partial] = 1 + (rng.random(partial.sum()) * (k[partial] + 1)).astype(np.int64)
    # open loan: the last loan of an item is not returned yet
    open_loan = last_s & (rng.random(n_sessions) < P_OPEN_LOAN)
    return {"item_s": item_s, "k": k, "rn": rn, "ln": ln, "first_s": first_s, "head": head, "open_loan": open_loan}


def _events(rng, n_events, it, r, b):
    mean_len = 2 + (P_TRANSFERS * np.arange(7)).sum() + P_RENEW
    n_sessions = int(n_events / mean_len * 1.04) + 64
    while True:
        L = _layout(rng, n_sessions, it)
        kept = int(L["ln"].sum() - L["head"].sum() - L["open_loan"].sum())
        if kept >= n_events:
            break
        n_sessions = int(n_sessions * 1.05) + 64
    item_s, k, rn, ln, head = L["item_s"], L["k"], L["rn"], L["ln"], L["head"]
    ns = len(ln)
    n_full = int(ln.sum())
    s_start = np.cumsum(ln) - ln
    ev_s = np.repeat(np.arange(ns, dtype=np.int64), ln)
    pos = np.arange(n_full, dtype=np.int64) - s_start[ev_s]
    k_e = k[ev_s]
    rn_e = rn[ev_s]
    action = np.where(
        pos == 0, CHECKOUT, np.where(pos <= k_e, TRANSFER, np.where((rn_e == 1) & (pos == k_e + 1), RENEW, RETURN))
    ).astype(np.int8)
    del rn_e

    # -- branches of each loan: checkout mostly at the item's home, return maybe elsewhere
    cb = np.where(rng.random(ns) < 0.75, it["home"][item_s], rng.integers(0, N_BRANCHES, ns))

    # -- holders. checkout reader lives mostly in the branch's town
    T, cnt, st = r["town"], r["t_count"], r["t_start"]
    populated = np.flatnonzero(cnt > 0)

    def town_or_global(town, p_local):
        glob = T[rng.integers(0, r["n"], len(town))]
        town = np.where(rng.random(len(town)) < p_local, town, glob)
        bad = cnt[town] == 0
        town[bad] = populated[rng.integers(0, len(populated), bad.sum())]
        return town

    H = np.full(n_full, -1, np.int64)
    H[s_start] = _range_pick(rng, town_or_global(b["town"][cb], 0.85), st, cnt, skew=1.3)
    for j in range(1, 7):  # loop over transfer positions, not rows
        idx = s_start[k >= j] + j
        prev = H[idx - 1]
        new = _range_pick(rng, town_or_global(T[prev], 0.7), st, cnt, skew=1.3)
        same = new == prev
        if same.any():  # never hand over to oneself: next reader of the same town
            t = T[prev[same]]
            alt = st[t] + (new[same] - st[t] + 1) % cnt[t]
            alt = np.where(alt == prev[same], (prev[same] + 1) % r["n"], alt)
            new[same] = alt
        H[idx] = new
    hk = H[np.minimum(s_start + k, n_full - 1)]  # last holder of each loan
    reader = np.where((action == CHECKOUT) | (action == TRANSFER), H, hk[ev_s])
    from_reader = np.full(n_full, -1, np.int64)
    tr = np.flatnonzero(action == TRANSFER)
    from_reader[tr] = H[tr - 1]
    del H

    rb = np.where(rng.random(ns) < 0.6, cb, r["home"][hk])
    renew_ch = rng.choice([MINI_PROGRAM, COUNTER, SELF_SERVICE], ns, p=[0.6, 0.2, 0.2])
    u = rng.random(n_full)
    channel = np.select(
        [action == CHECKOUT, action == RETURN, action == RENEW],
        [
            np.where(u < 0.45, COUNTER, np.where(u < 0.85, SELF_SERVICE, FACE)),
            np.where(u < 0.5, COUNTER, np.where(u < 0.95, SELF_SERVICE, FACE)),
            renew_ch[ev_s],
        ],
        MINI_PROGRAM,
    ).astype(np.int8)
    branch = np.select(
        [action == CHECKOUT, action == RETURN, (action == RENEW) & (channel != MINI_PROGRAM)],
        [cb[ev_s], rb[ev_s], cb[ev_s]],
        -1,
    )

    # -- times on an "open-time" clock (12 h a day, 09:00-21:00), strictly increasing per item
    gap = np.empty(n_full)
    first_e = (pos == 0) & L["first_s"][ev_s]
    m = action == CHECKOUT
    gap[m] = (rng.exponential(30.0, m.sum()) + 0.1) * DAY
    gap[first_e] = rng.random(first_e.sum()) * 60.0 * DAY
    m = action == TRANSFER
    gap[m] = rng.uniform(1.0, 20.0, m.sum()) * DAY
    m = action == RENEW
    gap[m] = rng.uniform(10.0, 28.0, m.sum()) * DAY
    m = action == RETURN
    gap[m] = rng.uniform(1.0, 25.0, m.sum()) * DAY
    del m, u

    run_first = np.flatnonzero(first_e)  # item runs
    run_len = np.diff(np.append(run_first, n_full))
    ev_run = np.repeat(np.arange(len(run_first)), run_len)
    cs = np.cumsum(gap)
    base = cs[run_first] - gap[run_first]
    cum = cs - base[ev_run]
    del cs, gap
    total = cum[run_first + run_len - 1]
    run_item = item_s[ev_s[run_first]]
    t0 = (np.maximum(it["added"][run_item], START_DAY) - START_DAY).astype(np.float64) * DAY
    avail = N_DAYS * DAY - t0 - DAY / 2 - run_len
    scale = np.minimum(1.0, avail / np.maximum(total, 1.0))
    pos_run = np.arange(n_full) - run_first[ev_run]
    t = (t0[ev_run] + np.floor(cum * scale[ev_run])).astype(np.int64) + pos_run
    del cum, pos_run, ev_run
    day = START_DAY + t // OPEN_SECONDS
    ts = day * 86400 + OPEN_AT + t % OPEN_SECONDS  # epoch seconds, local time
    del t

    # -- a branch is used only while open; otherwise its town branch stands in
    has_b = branch >= 0
    bb = np.maximum(branch, 0)
    closed = b["closed"][bb]
    shut = has_b & ((day < b["opened"][bb]) | ((closed >= 0) & (day >= closed)))
    branch[shut] = 1 + b["town"][bb[shut]]
    del bb, closed, shut, has_b

    due = np.where(action == RETURN, -1, day + 30)
    item_e = item_s[ev_s]

    # -- trim: partial heads, open loans (the return is a loan's last event), then n_events rows
    drop = (pos < head[ev_s]) | (L["open_loan"][ev_s] & (action == RETURN))
    keep = np.flatnonzero(~drop)[:n_events]
    del drop, pos, k_e, ev_s
    # -- global order by time (stable: per-item order is already strictly increasing)
    keep = keep[np.argsort(ts[keep], kind="stable")]
    out = {
        "ts": ts[keep],
        "action": action[keep],
        "item": item_e[keep],
        "reader": reader[keep],
        "from_reader": from_reader[keep],
        "branch": branch[keep],
        "channel": channel[keep],
        "due": due[keep],
        "day": day[keep],
    }
    return out


def _first_day_per_reader(ev, n_readers):
    first = np.full(n_readers, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, ev["reader"], ev["day"])
    return first


def _write_events(path: Path, ev, r, chunk: int = 1_000_000) -> None:
    n = len(ev["ts"])
    with open(path, "wb") as fh:
        for lo in range(0, max(n, 1), chunk):
            hi = min(n, lo + chunk)
            sl = slice(lo, hi)
            rd = ev["reader"][sl]
            fr = ev["from_reader"][sl]
            br = ev["branch"][sl]
            df = pl.DataFrame(
                {
                    "n": np.arange(lo + 1, hi + 1, dtype=np.int64),
                    "ts": ev["ts"][sl],
                    "a": ev["action"][sl],
                    "i": _item_numbers(ev["item"][sl]),
                    "r": r["ids"][rd],
                    "f": np.where(fr >= 0, r["ids"][np.maximum(fr, 0)], -1),
                    "b": br,
                    "c": ev["channel"][sl],
                    "d": ev["due"][sl].astype(np.int32),
                }
            )
            df = df.select(
                _zfill(pl.col("n"), 10, "E").alias("event_id"),
                pl.from_epoch("ts", time_unit="s").alias("occurred_at"),
                pl.col("a").replace_strict(dict(enumerate(ACTIONS)), return_dtype=pl.Enum(ACTIONS)).alias("action"),
                _zfill(pl.col("i"), 11).alias("item_id"),
                _zfill(pl.col("r"), 12).alias("reader_id"),
                pl.when(pl.col("f") >= 0).then(_zfill(pl.col("f"), 12)).alias("from_reader_id"),
                pl.when(pl.col("b") >= 0).then(_zfill(pl.col("b"), 4, "B")).alias("branch_id"),
                pl.col("c").replace_strict(dict(enumerate(CHANNELS)), return_dtype=pl.Enum(CHANNELS)).alias("channel"),
                pl.when(pl.col("d") >= 0).then(pl.col("d").cast(pl.Date)).alias("due_at"),
            )
            df.write_csv(fh, include_header=(lo == 0), datetime_format="%Y-%m-%d %H:%M:%S", date_format="%Y-%m-%d")


# --------------------------------------------------------------------------- entry point


def make_big(out_dir: Path, n_events: int = 10_000_000, seed: int = 7) -> dict[str, Path]:
    """Generate the five CSV files into ``out_dir``; return their paths keyed by kind.

    Deterministic for a given ``(n_events, seed)``. Sizes: 1,000 branches, 5,000
    communities, ``n_events // 50`` readers, ``n_events // 10`` items, ``n_events`` events.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_readers = max(n_events // 50, 10)
    n_items = max(n_events // 10, 10)
    paths = {kind: out_dir / f"{kind}.csv" for kind in ("branches", "communities", "readers", "items", "events")}

    g = _geography(rng)
    branches, b = _branches(rng, g)
    r = _readers(rng, n_readers, g, b)
    it = _items(rng, n_items, b, r)
    ev = _events(rng, n_events, it, r, b) if n_events > 0 else None

    if ev is not None:
        # a reader registered before their first event; if that predates the home branch,
        # the card was issued by the town branch
        first = _first_day_per_reader(ev, n_readers)
        reg = np.minimum(r["reg"], first)
        moved = reg < b["opened"][r["home"]]
        r["home"] = np.where(moved, 1 + r["town"], r["home"])
        r["reg"] = reg

    branches.write_csv(paths["branches"], float_precision=6, date_format="%Y-%m-%d")
    _communities_frame(g).write_csv(paths["communities"], float_precision=6)
    _readers_frame(r, g, b).write_csv(paths["readers"], date_format="%Y-%m-%d")
    _items_frame(rng, it, r).write_csv(paths["items"], float_precision=2, date_format="%Y-%m-%d")
    if ev is not None:
        _write_events(paths["events"], ev, r)
    else:
        _write_events(
            paths["events"],
            {
                "ts": np.empty(0, np.int64),
                "action": np.empty(0, np.int8),
                "item": np.empty(0, np.int64),
                "reader": np.empty(0, np.int64),
                "from_reader": np.empty(0, np.int64),
                "branch": np.empty(0, np.int64),
                "channel": np.empty(0, np.int8),
                "due": np.empty(0, np.int64),
            },
            r,
        )
    check_headers(paths)
    return paths


def check_headers(paths: dict[str, Path]) -> None:
    """Every header written is a column of its kind in the contract."""
    for kind, path in paths.items():
        with path.open(encoding="utf-8") as f:
            header = f.readline().strip().split(",")
        names = {c.name for c in KINDS[kind].columns}
        unknown = [h for h in header if h not in names]
        if unknown:
            raise ValueError(f"{path.name}: columns {unknown} are not in the contract's {kind}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Generate a large synthetic data set for benchmarks.")
    ap.add_argument("--events", type=int, default=10_000_000, help="number of circulation events")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    paths = make_big(args.out, args.events, args.seed)
    elapsed = time.perf_counter() - t0
    print(f"generated {args.events:,} events in {elapsed:.1f} s into {args.out}")
    for kind, p in paths.items():
        print(f"  {kind:<12} {p.stat().st_size / 1e6:10.1f} MB  {p}")


if __name__ == "__main__":
    main()
