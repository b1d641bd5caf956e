"""Opening hours and busy days, and the readers: where they live, when they registered, who borrows when."""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from dataclasses import dataclass
from itertools import accumulate

from sample_data.places import Branch, Community, distance_m
from sample_data.settings import END, START

# ---------------------------------------------------------------------------------------------
# Calendar: weekday and hour patterns
# ---------------------------------------------------------------------------------------------
HOLIDAYS_2024 = (  # (month, day) of the 2024 public holidays
    {(4, d) for d in (4, 5, 6)}
    | {(5, d) for d in range(1, 6)}
    | {(6, 10)}
    | {(9, d) for d in (15, 16, 17)}
    | {(10, d) for d in range(1, 8)}
)
MAKEUP_WORKDAYS_2024 = {(4, 7), (4, 28), (5, 11), (9, 14), (9, 29), (10, 12)}
SUMMER_HOLIDAY = (dt.date(2024, 7, 6).toordinal(), dt.date(2024, 8, 31).toordinal())

HOURS = list(range(8, 22))
HOUR_WEIGHTS = {
    ("public", False): [0.3, 0.8, 1.2, 1.1, 0.9, 0.8, 1.0, 1.1, 1.3, 1.6, 2.0, 2.4, 2.0, 0.6],
    ("public", True): [0.3, 1.2, 2.0, 1.9, 1.3, 1.2, 1.8, 2.1, 2.0, 1.6, 1.4, 1.5, 1.2, 0.4],
    ("office", False): [0.5, 0.6, 0.5, 0.8, 3.0, 2.0, 0.6, 0.5, 0.6, 2.2, 2.0, 0.8, 0.4, 0.1],
    ("school", False): [0.6, 0.8, 1.5, 0.8, 1.2, 0.8, 0.8, 1.5, 2.5, 1.5, 0.3, 0.1, 0.05, 0.02],
    ("mini", False): [0.5, 0.6, 0.8, 0.8, 1.4, 1.0, 0.8, 0.8, 0.9, 1.1, 1.5, 2.2, 2.6, 1.0],
    ("mini", True): [0.4, 0.9, 1.3, 1.3, 1.2, 1.0, 1.3, 1.4, 1.3, 1.2, 1.4, 1.9, 2.2, 0.9],
}
HOUR_WEIGHTS[("office", True)] = HOUR_WEIGHTS[("public", True)]
HOUR_WEIGHTS[("school", True)] = HOUR_WEIGHTS[("public", True)]
HOUR_CUM = {k: list(accumulate(v)) for k, v in HOUR_WEIGHTS.items()}


def is_rest_day(day: int) -> bool:
    d = dt.date.fromordinal(day)
    if d.year == 2024 and (d.month, d.day) in HOLIDAYS_2024:
        return True
    if d.year == 2024 and (d.month, d.day) in MAKEUP_WORKDAYS_2024:
        return False
    return d.weekday() >= 5


def day_weight(profile: str, day: int) -> float:
    rest = is_rest_day(day)
    if profile == "office":
        return 0.25 if rest else 1.0
    if profile == "school":
        if SUMMER_HOLIDAY[0] <= day <= SUMMER_HOLIDAY[1]:
            return 0.08
        return 0.1 if rest else 1.0
    if profile == "mini":
        return 1.0 if rest else 0.75
    if rest:
        return 1.0
    return {0: 0.55, 4: 0.75}.get(dt.date.fromordinal(day).weekday(), 0.6)


class Calendar:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.first = START - 30
        self.weights = {
            p: [day_weight(p, d) for d in range(self.first, END + 1)] for p in ("public", "office", "school", "mini")
        }

    def settle(self, profile: str, day: int) -> int:
        """Move day forward until the profile accepts it (thinning); may return a day after END."""
        w = self.weights[profile]
        while day <= END and self.rng.random() > w[day - self.first]:
            day += 1
        return day

    def seconds(self, profile: str, day: int) -> int:
        cum = HOUR_CUM[(profile, is_rest_day(day))]
        hour = HOURS[bisect.bisect_right(cum, self.rng.random() * cum[-1])]
        minute = (
            self.rng.randint(30, 59)
            if hour == 8
            else self.rng.randint(0, 29)
            if hour == 21
            else self.rng.randint(0, 59)
        )
        return hour * 3600 + minute * 60 + self.rng.randint(0, 59)


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------
@dataclass
class Reader:
    reader_id: str
    registered: int  # ordinal day
    home: str
    community: str
    town: str
    birth_year: int
    reader_type: str
    activity: float


REG_YEAR_WEIGHTS = {2015: 5, 2016: 6, 2017: 7, 2018: 8, 2019: 10, 2020: 7, 2021: 10, 2022: 10, 2023: 12, 2024: 16}


def registration_day(rng: random.Random, earliest: int) -> int:
    years = [y for y in REG_YEAR_WEIGHTS if dt.date(y, 12, 31).toordinal() >= earliest]
    year = rng.choices(years, weights=[REG_YEAR_WEIGHTS[y] for y in years])[0]
    lo = max(dt.date(year, 1, 1).toordinal(), earliest)
    hi = min(dt.date(year, 12, 31).toordinal(), END)
    return rng.randint(lo, hi)


def birth_year(rng: random.Random) -> int:
    bucket = rng.choices([(2010, 2018), (2000, 2009), (1975, 1999), (1955, 1974), (1940, 1954)], [22, 18, 42, 14, 4])[0]
    return rng.randint(*bucket)


def reader_type_for(rng: random.Random, year: int) -> str:
    if 2024 - year < 14:
        return "少儿读者"
    if 2024 - year <= 22 and rng.random() < 0.7:
        return "学生读者"
    return "企业读者" if rng.random() < 0.02 else "普通读者"


def build_readers(rng: random.Random, communities: list[Community], branches: list[Branch]) -> list[Reader]:
    n_total = rng.randint(24_600, 25_400)
    micros = [b for b in branches if b.kind == "micro"]
    people: list[tuple[int, str, str, int, str, float]] = []  # registered, home, community, birth, type, activity

    # Tiny communities (the four 生活区 and the two smallest villages) get 1-9 readers each,
    # so that the <10 suppression has something to hide.
    villages = sorted((c for c in communities if c.kind == "村"), key=lambda c: (c.population, c.code))
    tiny = [c for c in communities if c.kind == "生活区"] + villages[:2]
    tiny_codes = {c.code for c in tiny}
    comm_by_code = {c.code: c for c in communities}
    regular = [c for c in communities if c.code not in tiny_codes]

    def activity() -> float:
        return 0.0 if rng.random() < 0.4 else math.exp(rng.gauss(0, 0.8))

    # Host members who registered at their enterprise, school or institution micro-branch.
    for b in micros:
        if b.host_population is None:
            continue
        rate = {"enterprise": 0.06, "school": 0.12, "institution": 0.10}[b.host_type]
        for _ in range(round(b.host_population * rate)):
            reg = min(END, b.opened.toordinal() + int(rng.expovariate(1 / 20)))
            if b.host_type == "school":
                pupils = [c for c in regular if c.town == b.town]
                comm = rng.choices(pupils, weights=[c.population for c in pupils])[0]
                year = rng.randint(2008, 2012) if "中学" in b.name else rng.randint(2013, 2018)
                rtype = "少儿读者" if 2024 - year < 14 else "学生读者"
            else:
                comm = rng.choices(regular, weights=[c.population for c in regular])[0]
                year = rng.randint(1962, 2002)
                rtype = "企业读者" if b.host_type == "enterprise" else "普通读者"
            people.append((reg, b.branch_id, comm.code, year, rtype, activity() * 1.5))

    # Residents, by community: tiny ones fixed, the others in proportion to population with a
    # little variation in how many residents hold a card.
    counts = {c.code: rng.randint(1, 9) for c in tiny}
    n_residents = n_total - len(people) - sum(counts.values())
    weights = [c.population * (1.4 if c.kind == "社区" else 0.8) * math.exp(rng.gauss(0, 0.3)) for c in regular]
    for c in rng.choices(regular, weights=weights, k=n_residents):
        counts[c.code] = counts.get(c.code, 0) + 1
    libraries = [b for b in branches if b.kind != "micro"]
    for c in communities:
        for _ in range(counts.get(c.code, 0)):
            year = birth_year(rng)
            reg = registration_day(rng, max(dt.date(year + 3, 1, 1).toordinal(), dt.date(2015, 1, 1).toordinal()))
            home = resident_home(rng, c, reg, libraries, micros)
            people.append((reg, home, c.code, year, reader_type_for(rng, year), activity()))

    # Card numbers grow with the registration date: 000100000001 ...
    people.sort(key=lambda p: (p[0], p[1], p[2], p[3]))
    readers = []
    number = 100_000_000 + rng.randint(0, 999)
    for reg, home, comm, year, rtype, act in people:
        number += rng.randint(1, 3)
        readers.append(Reader(f"{number:012d}", reg, home, comm, comm_by_code[comm].town, year, rtype, act))
    return readers


def resident_home(rng: random.Random, c: Community, reg: int, libraries: list[Branch], micros: list[Branch]) -> str:
    """The branch where a resident got the card: town library, central library, old service point or a micro-branch."""
    nearby_micro = [b for b in micros if b.town == c.town and b.public and b.open_on(reg)]
    if nearby_micro and rng.random() < 0.45:
        return min(nearby_micro, key=lambda b: (distance_m(b.pos, c.pos), b.branch_id)).branch_id
    options: list[tuple[str, float]] = []
    for b in libraries:
        if not b.open_on(reg):
            continue
        if b.kind == "central":
            options.append((b.branch_id, 0.5 if c.town == "440115001" else 0.2))
        elif b.town == c.town:
            options.append((b.branch_id, 0.35 if b.branch_id == "NS190" else (0.5 if c.town == "440115001" else 0.8)))
    if not options:  # nothing open yet in the town: the nearest open library
        open_libs = [b for b in libraries if b.open_on(reg)]
        return min(open_libs, key=lambda b: (distance_m(b.pos, c.pos), b.branch_id)).branch_id
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


class Pool:
    """Readers to draw from, in proportion to their activity."""

    def __init__(self, members: list[int], weights: list[float]):
        self.members = members
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random) -> int:
        return self.members[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


class ReaderPicker:
    def __init__(self, rng: random.Random, readers: list[Reader]):
        self.rng = rng
        self.readers = readers
        groups: dict[tuple[str, str], list[int]] = {}
        for i, r in enumerate(readers):
            if r.activity <= 0:
                continue
            for key in (("all", ""), ("town", r.town), ("comm", r.community), ("home", r.home)):
                groups.setdefault(key, []).append(i)
        self.pools = {k: Pool(v, [readers[i].activity for i in v]) for k, v in groups.items()}
        self.veterans = [i for i, r in enumerate(readers) if r.registered < START]

    def pick(self, choices: list[tuple[tuple[str, str], float]], day: int, exclude: int = -1) -> int:
        """A reader registered by day, not exclude, from one of the weighted pools."""
        choices = [(k, w) for k, w in choices if k in self.pools]
        if choices:
            cum = list(accumulate(w for _, w in choices))
            for _ in range(30):
                key = choices[bisect.bisect_right(cum, self.rng.random() * cum[-1])][0]
                i = self.pools[key].pick(self.rng)
                if self.readers[i].registered <= day and i != exclude:
                    return i
        while True:
            i = self.rng.choice(self.veterans)
            if i != exclude:
                return i


