"""Deterministic generator for the Nansha sample data set.

Writes five export files (branches, communities, readers, items, events) in the formats of the
data contract, with the Chinese headers and encodings that real exports use. Only the community
and town codes and names are real (``reference/``); populations, coordinates, branches' details,
readers, copies and circulation events are synthetic. Standard library only; the same seed gives
byte-identical files.

    python -m sample_data.generate          # writes sample_data/nansha/
"""

from __future__ import annotations

import csv
import datetime as dt
import pathlib
import random

from sample_data.books import build_items
from sample_data.circulation import Simulation, add_quirks
from sample_data.people import build_readers
from sample_data.places import build_places
from sample_data.settings import (
    ACTION_ZH,
    BRANCH_HEADER,
    CHANNEL_ZH,
    COMMUNITY_HEADER,
    DEFAULT_OUT_DIR,
    EVENT_HEADER,
    HOST_ZH,
    ITEM_HEADER,
    KIND_ZH,
    READER_HEADER,
    START,
)


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------
def slash_date(d: dt.date | int | None) -> str:
    if d is None:
        return ""
    if isinstance(d, int):
        d = dt.date.fromordinal(d)
    return f"{d.year}/{d.month}/{d.day}"


def write_csv(path: pathlib.Path, header: list[str], rows: list[list], encoding: str, crlf: bool) -> None:
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(header)
        writer.writerows(rows)


def generate(out_dir: pathlib.Path, seed: int = 20241014) -> list[pathlib.Path]:
    """Write branches.csv, communities.csv, readers.csv, items.csv and events.csv into out_dir."""
    rng = random.Random(seed)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    _, communities, branches = build_places(rng)
    readers = build_readers(rng, communities, branches)
    items = build_items(rng, branches, readers)

    sim = Simulation(rng, branches, readers, items)
    eligible = [
        i
        for i, item in enumerate(items)
        if item.owner_reader < 0 and sim.branches[item.home].kind != "micro" and item.added < START - 30
    ]
    sim.run(set(rng.sample(eligible, 20)))
    add_quirks(rng, sim)
    item_ids = [it.item_id for it in items]
    sim.events.sort(key=lambda ev: ev.key(item_ids))

    paths = [out_dir / name for name in ("branches.csv", "communities.csv", "readers.csv", "items.csv", "events.csv")]
    write_csv(
        paths[0],
        BRANCH_HEADER,
        [
            [
                b.branch_id,
                b.name,
                KIND_ZH[b.kind],
                HOST_ZH.get(b.host_type, ""),
                b.town,
                b.address,
                f"{b.pos[0]:.6f}",
                f"{b.pos[1]:.6f}",
                "gcj02",
                slash_date(b.opened),
                slash_date(b.closed),
                "是" if b.public else "否",
                "" if b.host_population is None else b.host_population,
                b.volumes,
            ]
            for b in branches
        ],
        "utf-8-sig",
        crlf=True,
    )
    write_csv(
        paths[1],
        COMMUNITY_HEADER,
        [[c.code, c.name, c.town, c.population, f"{c.pos[0]:.6f}", f"{c.pos[1]:.6f}", "gcj02"] for c in communities],
        "utf-8",
        crlf=False,
    )
    write_csv(
        paths[2],
        READER_HEADER,
        [[r.reader_id, slash_date(r.registered), r.home, r.community, r.birth_year, r.reader_type] for r in readers],
        "gb18030",
        crlf=True,
    )
    write_csv(
        paths[3],
        ITEM_HEADER,
        [
            [
                it.item_id,
                it.work.title,
                it.work.author,
                it.work.isbn,
                it.work.call_number,
                it.home,
                "读者" if it.owner_reader >= 0 else "图书馆",
                readers[it.owner_reader].reader_id if it.owner_reader >= 0 else "",
                dt.date.fromordinal(it.added).isoformat(),
                it.work.price,
            ]
            for it in items
        ],
        "utf-8",
        crlf=False,
    )
    rows = []
    for n, ev in enumerate(sim.events, start=1):
        when = dt.date.fromordinal(ev.day).isoformat()
        h, rem = divmod(ev.seconds, 3600)
        rows.append(
            [
                f"E{n:08d}",
                f"{when} {h:02d}:{rem // 60:02d}:{rem % 60:02d}",
                ACTION_ZH[ev.action],
                items[ev.item].item_id,
                readers[ev.reader].reader_id,
                readers[ev.from_reader].reader_id if ev.from_reader >= 0 else "",
                ev.branch,
                CHANNEL_ZH[ev.channel],
                slash_date(ev.due),
            ]
        )
    write_csv(paths[4], EVENT_HEADER, rows, "utf-8", crlf=False)
    return paths


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    written = generate(DEFAULT_OUT_DIR)
    for p in written:
        with open(p, "rb") as f:
            lines = f.read().count(b"\n") - 1
        print(f"{p}: {lines:,} rows")
    print(f"done in {time.perf_counter() - started:.1f} s")

