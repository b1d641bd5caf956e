"""Copies: titles, authors, ISBNs and prices by CLC class; word lists in reference/words.json."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from dataclasses import dataclass, field

from sample_data.events import Event
from sample_data.people import Reader
from sample_data.places import Branch
from sample_data.settings import REFERENCE_DIR

# ---------------------------------------------------------------------------------------------
# Titles, authors, ISBNs
# ---------------------------------------------------------------------------------------------
WORDS = json.loads((REFERENCE_DIR / "words.json").read_text(encoding="utf-8"))  # the word lists, as data
SUBJECTS: dict[str, tuple[list[tuple[str, str]], list[str]]] = {
    group: ([(name, code) for name, code in s["topics"]], s["forms"]) for group, s in WORDS["subjects"].items()
}
FICTION_A, FICTION_N = WORDS["fiction_a"], WORDS["fiction_n"]
ESSAY_FORMS, CRITIC_TOPICS, CRITIC_FORMS = WORDS["essay_forms"], WORDS["critic_topics"], WORDS["critic_forms"]
ANIMALS, STORIES, SERIES = WORDS["animals"], WORDS["stories"], WORDS["series"]
CLASSICS = [tuple(book) for book in WORDS["classics"]]
CHILD_CLASSICS = [tuple(book) for book in WORDS["child_classics"]]
SURNAMES, GIVEN = WORDS["surnames"], WORDS["given"]
FOREIGN = {country: (n["given"], n["family"]) for country, n in WORDS["foreign"].items()}
FOREIGN_BY_CODE, PUBLISHERS = WORDS["foreign_by_code"], WORDS["publishers"]






def chinese_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def author_for(rng: random.Random, code: str) -> str:
    country = FOREIGN_BY_CODE.get(code)
    if country is None and code[0] in "BFTO" and rng.random() < 0.12:
        country = rng.choice(["[美]", "[英]", "[日]", "[德]"])
    if country:
        given, family = FOREIGN[country]
        g, f = rng.choice(given), rng.choice(family)
        name = f"{f}{g}" if country == "[日]" else f"{g}·{f}"
        return f"{country} {name} 著, {chinese_name(rng)} 译"
    role = rng.choices(["著", "编著", "主编"], [65, 15, 20])[0]
    if role == "主编" and rng.random() < 0.4:
        return f"{chinese_name(rng)}, {chinese_name(rng)} 主编"
    return f"{chinese_name(rng)} {role}"


def fiction_title(rng: random.Random) -> str:
    a, n = rng.choice(FICTION_A), rng.choice(FICTION_N)
    pattern = rng.random()
    if pattern < 0.45:
        return f"{a}的{n}"
    if pattern < 0.75:
        return f"{a}{n}"
    if pattern < 0.92:
        n2 = rng.choice([x for x in FICTION_N if x != n])
        return f"{n}与{n2}"
    return f"我的{a}"


def make_work(rng: random.Random, group: str) -> tuple[str, str, str]:
    """(title, author, CLC class number) of a new synthetic work in a shelf group."""
    if group == "I":
        if rng.random() < 0.04:
            return rng.choice(CLASSICS)
        code = rng.choices(
            ["I247.5", "I247.7", "I267", "I227", "I207", "I712.45", "I561.45", "I313.45", "I565.45"],
            [35, 10, 15, 5, 5, 10, 6, 9, 5],
        )[0]
        if code == "I267":
            title = f"{rng.choice(FICTION_A)}{rng.choice(ESSAY_FORMS)}"
        elif code == "I227":
            title = rng.choice(
                [f"{rng.choice(FICTION_A)}诗篇", f"{rng.choice(FICTION_N)}之歌", f"{rng.choice(FICTION_N)}诗选"]
            )
        elif code == "I207":
            title = f"{rng.choice(CRITIC_TOPICS)}{rng.choice(CRITIC_FORMS)}"
        else:
            title = fiction_title(rng)
        return title, author_for(rng, code), code
    if group == "Ic":  # children's books
        if rng.random() < 0.06:
            return rng.choice(CHILD_CLASSICS)
        kind = rng.random()
        if kind < 0.45:
            title = f"{rng.choice(ANIMALS)}{rng.choice(STORIES)}"
        elif kind < 0.7:
            title = f"{rng.choice(SERIES)}：{rng.choice(ANIMALS)}{rng.choice(STORIES)}"
        else:
            title = fiction_title(rng)
        return title, author_for(rng, "I287"), rng.choice(["I287.8", "I287.5", "I287.45", "I287.7"])
    if group == "Z":
        if rng.random() < 0.3:
            year = rng.randint(2015, 2023)
            return (
                f"{rng.choice(['南沙', '广州'])}年鉴（{year}）",
                f"{rng.choice(['南沙', '广州'])}年鉴编纂委员会 编",
                "Z52",
            )
        base = rng.choice(["中国少儿百科全书", "十万个为什么", "儿童百科", "中国大百科全书"])
        vol = rng.choice(["动物", "植物", "宇宙", "人体", "地球", "交通", "科技", "历史"])
        return f"{base}·{vol}", author_for(rng, "Z"), "Z228.1" if base != "中国大百科全书" else "Z227"
    topics, forms = SUBJECTS[group]
    topic, code = rng.choice(topics)
    title = f"{topic}{rng.choice(forms)}"
    if rng.random() < 0.1:
        title += f"（第{rng.randint(2, 6)}版）"
    return title, author_for(rng, code), code


def isbn13(rng: random.Random, group: str, taken: set[str]) -> str:
    prefixes = PUBLISHERS.get(group) or PUBLISHERS.get(group[0]) or PUBLISHERS["*"]
    while True:
        pub = rng.choice(prefixes)
        title_no = f"{rng.randrange(10 ** (8 - len(pub))):0{8 - len(pub)}d}"
        digits = f"9787{pub}{title_no}"
        check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
        isbn = f"978-7-{pub}-{title_no}-{check}"
        if isbn not in taken:
            taken.add(isbn)
            return isbn if rng.random() < 0.8 else isbn.replace("-", "")


def price_for(rng: random.Random, group: str) -> str:
    lo, hi = {"TU": (48, 128), "TP": (49, 139), "T": (38, 98), "U": (58, 148), "Ic": (15, 45), "Z": (68, 298)}.get(
        group, (26, 78)
    )
    return f"{rng.randint(lo, hi) + rng.choice([0.0, 0.0, 0.8, 0.5, 0.9]):.2f}"


# Share of each shelf group in a branch's copies.
GENERAL = {
    "A": 1,
    "B": 5,
    "C": 2,
    "D": 4,
    "E": 1,
    "F": 6,
    "G": 7,
    "H": 4,
    "I": 26,
    "Ic": 8,
    "J": 5,
    "K": 8,
    "N": 1,
    "O": 2,
    "P": 2,
    "Q": 3,
    "R": 4,
    "S": 1.5,
    "T": 4,
    "TP": 3,
    "TU": 2,
    "U": 1.5,
    "V": 0.5,
    "X": 1,
    "Z": 2,
}
TOWN = dict(GENERAL, S=4, Ic=12, R=6)
SHELVES = {
    "central": GENERAL,
    "branch": TOWN,
    "WF001": {"TU": 40, "T": 12, "U": 12, "TP": 5, "F": 8, "I": 12, "X": 4, "K": 3, "B": 4},  # engineering shelf
    "enterprise": {"T": 20, "TP": 15, "TU": 8, "U": 5, "F": 12, "I": 20, "B": 6, "R": 5, "K": 4, "X": 5},
    "school": {"Ic": 45, "I": 10, "G": 10, "H": 8, "K": 7, "Q": 6, "N": 4, "P": 3, "J": 5, "Z": 5, "O": 3},
    "community": {"I": 35, "R": 10, "G": 10, "K": 8, "S": 5, "J": 6, "B": 6, "Ic": 12, "F": 4, "D": 4},
    "institution": {"D": 20, "F": 15, "C": 10, "K": 10, "I": 20, "A": 8, "B": 7, "G": 5, "X": 5},
    "other": {"K": 25, "I": 35, "J": 10, "F": 10, "H": 10, "Q": 5, "P": 5},
}
GROUP_POPULARITY = {"Ic": 0.6, "TP": 0.8, "I": 0.85, "Z": 2.0, "A": 1.8, "E": 1.5, "S": 1.3}


@dataclass
class Work:
    title: str
    author: str
    isbn: str
    call_number: str
    price: str


@dataclass
class Item:
    item_id: str
    work: Work
    home: str
    owner_reader: int  # reader index, -1 for library copies
    added: int  # ordinal day
    mean_gap: float  # days between loans; math.inf for copies nobody borrows
    returns: list[Event] = field(default_factory=list)  # its return events, in order


def build_items(rng: random.Random, branches: list[Branch], readers: list[Reader]) -> list[Item]:
    n_total = rng.randint(39_600, 40_400)
    works: dict[str, list[Work]] = {}
    by_title: dict[tuple[str, str], Work] = {}
    isbns: set[str] = set()
    call_seq: dict[str, int] = {}

    def work_in(group: str) -> Work:
        shelf = works.setdefault(group, [])
        if shelf and rng.random() < 0.4:
            return rng.choice(shelf)
        title, author, code = make_work(rng, group)
        if (title, author) in by_title:  # the classics are one work each
            return by_title[(title, author)]
        call_seq[code] = call_seq.get(code, rng.randint(1, 40)) + rng.randint(1, 3)
        work = Work(title, author, isbn13(rng, group, isbns), f"{code}/{call_seq[code]}", price_for(rng, group))
        shelf.append(work)
        by_title[(title, author)] = work
        return work

    def pick_group(shelf: dict[str, float]) -> str:
        return rng.choices(list(shelf), weights=list(shelf.values()))[0]

    def popularity(group: str, base: float, never: float) -> float:
        if rng.random() < never:
            return math.inf
        return base * GROUP_POPULARITY.get(group, 1.0) * math.exp(rng.gauss(0, 0.8))

    def never_share(added: int) -> float:
        year = dt.date.fromordinal(added).year
        return 0.45 if year < 2016 else 0.35 if year < 2019 else 0.22 if year < 2022 else 0.12 if year < 2024 else 0.05

    plan: list[tuple[Branch, int]] = []
    micros = [b for b in branches if b.kind == "micro"]
    libraries = [b for b in branches if b.kind != "micro" and b.closed is None]
    n_micro = sum(round(b.volumes * 0.5) for b in micros)
    n_shared = round(n_total * 0.04)
    n_lib = n_total - n_micro - n_shared
    total_volumes = sum(b.volumes for b in libraries)
    for b in libraries:
        plan.append((b, round(n_lib * b.volumes / total_volumes)))
    plan[0] = (plan[0][0], plan[0][1] + n_lib - sum(n for _, n in plan))
    plan += [(b, round(b.volumes * 0.5)) for b in micros]

    library_items: list[tuple[int, Work, str, float]] = []
    latest = dt.date(2024, 9, 30).toordinal()
    for b, n in plan:
        shelf = SHELVES.get(b.branch_id) or SHELVES.get(b.host_type) or SHELVES[b.kind]
        opened = b.opened.toordinal()
        for _ in range(n):
            group = pick_group(shelf)
            if b.kind == "micro":
                added = opened - rng.randint(3, 25) if rng.random() < 0.9 else rng.randint(opened, max(opened, latest))
                mean_gap = popularity(group, 32.0, 0.06)
            else:
                # the central library took over the old library's collection; town copies date from their opening
                lo = (
                    dt.date(2012, 1, 1).toordinal()
                    if b.kind == "central"
                    else max(opened, dt.date(2010, 1, 1).toordinal())
                )
                added = (
                    rng.randint(lo, latest)
                    if rng.random() < 0.7
                    else rng.randint(max(lo, dt.date(2019, 6, 1).toordinal()), latest)
                )
                mean_gap = popularity(group, 115.0 if b.kind == "central" else 100.0, never_share(added))
            library_items.append((added, work_in(group), b.branch_id, mean_gap))

    # Home-shared copies (家藏共享): books readers registered through the mini-program; they sit at
    # a micro-branch near the owner and drift from reader to reader.
    public_micros = [b for b in micros if b.public]
    owners = [i for i, r in enumerate(readers) if r.activity > 0 and r.registered < dt.date(2024, 9, 1).toordinal()]
    shared: list[tuple[int, Work, str, float, int]] = []
    while len(shared) < n_shared:
        owner = rng.choice(owners)
        r = readers[owner]
        for _ in range(min(rng.randint(1, 6), n_shared - len(shared))):
            open_after = [b for b in public_micros if b.opened.toordinal() < dt.date(2024, 9, 15).toordinal()]
            same_town = [b for b in open_after if b.town == r.town] or open_after
            b = rng.choice(same_town)
            lo = max(r.registered, b.opened.toordinal(), dt.date(2024, 4, 15).toordinal())
            added = rng.randint(lo, max(lo, dt.date(2024, 10, 5).toordinal()))
            group = pick_group(SHELVES["community"])
            shared.append((added, work_in(group), b.branch_id, popularity(group, 28.0, 0.08), owner))

    items = []
    library_items.sort(key=lambda t: (t[0], t[2], t[1].call_number))
    number = 4_400_000_000 + rng.randint(10_000, 20_000)
    for added, work, home, gap in library_items:
        number += rng.randint(1, 3)
        items.append(Item(f"{number:011d}", work, home, -1, added, gap))
    shared.sort(key=lambda t: (t[0], t[2], t[1].call_number, t[4]))
    number = 9_900_000_000
    for added, work, home, gap, owner in shared:
        number += rng.randint(1, 2)
        items.append(Item(f"{number:011d}", work, home, owner, added, gap))
    return items


