"""Deterministic generator for the Nansha sample data set.

Writes five export files (branches, communities, readers, items, events) in the formats of the
data contract, with the Chinese headers and encodings that real exports use. Only the community
and town codes and names are real (``reference/``); populations, coordinates, branches' details,
readers, copies and circulation events are synthetic. Standard library only; the same seed gives
byte-identical files.

    python -m sample_data.generate          # writes sample_data/nansha/
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import math
import pathlib
import random
from dataclasses import dataclass, field
from itertools import accumulate

from microbranch.contract import ACTION, BRANCH_KIND, CHANNEL, HOST_TYPE, KINDS, export_header, words_zh

HERE = pathlib.Path(__file__).resolve().parent
REFERENCE_DIR = HERE / "reference"
DEFAULT_OUT_DIR = HERE / "nansha"

PERIOD_START = dt.date(2024, 4, 1)  # first day of the circulation export
PERIOD_END = dt.date(2024, 10, 13)  # last day; the news report is dated 2024-10-14
START = PERIOD_START.toordinal()
END = PERIOD_END.toordinal()

# Header rows as the exports carry them: the contract's first Chinese alias of each column (the branches export
# says 分馆类型, another alias), its English names for the communities.
BRANCH_HEADER = export_header("branches", kind="分馆类型")
COMMUNITY_HEADER = [c.name for c in KINDS["communities"].columns]
READER_HEADER = export_header("readers")
ITEM_HEADER = export_header("items")
EVENT_HEADER = export_header("events")

# The exports' words for coded values: the contract's first Chinese spelling of each.
KIND_ZH = words_zh(BRANCH_KIND)
HOST_ZH = words_zh(HOST_TYPE)
ACTION_ZH = words_zh(ACTION)
ACTION_RANK = {"checkout": 0, "transfer": 1, "renew": 2, "return": 3}
CHANNEL_ZH = {c: words_zh(CHANNEL)[c] for c in ("counter", "self_service", "face", "mini_program")}

# ---------------------------------------------------------------------------------------------
# Places
# ---------------------------------------------------------------------------------------------
M_PER_DEG = 111_320.0
EARTH_RADIUS_M = 6_371_008.8

# Radius (km) within which a town's communities are scattered: subdistricts compact, towns wider.
TOWN_RADIUS_KM = {
    "440115001": 3.5,
    "440115002": 2.0,
    "440115003": 1.5,
    "440115100": 7.0,
    "440115101": 5.0,
    "440115102": 4.5,
    "440115103": 6.0,
    "440115104": 7.0,
    "440115105": 6.0,
}
TOWN_ROADS = {
    "440115001": ["凤凰大道", "进港大道", "海滨路", "蕉门路", "金隆路"],
    "440115002": ["珠江东路", "珠江中路", "义隆路"],
    "440115003": ["龙穴大道", "港前大道", "港荣路"],
    "440115100": ["万环西路", "万新大道", "新垦路"],
    "440115101": ["横沥大道", "明珠湾大道", "冯马路"],
    "440115102": ["黄阁大道", "市南路", "乌洲路"],
    "440115103": ["东涌大道", "市南公路", "鱼窝头大道"],
    "440115104": ["大岗大道", "豪岗大道", "灵山路"],
    "440115105": ["榄核大道", "八沙路", "人民路"],
}
YUWOTOU_COMMUNITY = "440115103002"  # 鱼窝头社区居民委员会, 东涌镇


def offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (
        lat + north_m / M_PER_DEG,
        lon + east_m / (M_PER_DEG * math.cos(math.radians(lat))),
    )


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def polar(rng: random.Random, centre: tuple[float, float], r_min: float, r_max: float) -> tuple[float, float]:
    """A point uniformly distributed (by area) in the ring r_min..r_max metres around centre."""
    r = math.sqrt(rng.uniform(r_min * r_min, r_max * r_max))
    angle = rng.uniform(0, 2 * math.pi)
    return offset(centre[0], centre[1], r * math.cos(angle), r * math.sin(angle))


@dataclass
class Town:
    code: str
    name: str
    centre: tuple[float, float]


@dataclass
class Community:
    code: str
    name: str
    town: str
    kind: str  # 社区, 村 or 生活区
    short: str
    pos: tuple[float, float] = (0.0, 0.0)
    population: int = 0


@dataclass
class Branch:
    branch_id: str
    name: str
    kind: str  # central, branch, micro
    host_type: str  # "" unless micro
    town: str
    address: str
    pos: tuple[float, float]
    opened: dt.date
    closed: dt.date | None
    public: bool
    host_population: int | None
    volumes: int
    community: str = ""  # the community a micro-branch sits in

    def open_on(self, day: int) -> bool:
        return self.opened.toordinal() <= day and (self.closed is None or day < self.closed.toordinal())

    def serves_on(self, day: int) -> bool:
        """Whether loans can happen here on day: from the day after the opening until the closing."""
        return self.opened.toordinal() < day and (self.closed is None or day < self.closed.toordinal())

    @property
    def profile(self) -> str:
        """Which weekday/hour pattern its counter follows."""
        if self.kind != "micro":
            return "public"
        return {"enterprise": "office", "institution": "office", "school": "school"}.get(self.host_type, "public")


def split_name(name: str) -> tuple[str, str]:
    """(short name, kind) of a committee: 金洲村民委员会 -> (金洲, 村)."""
    for suffix, kind in (
        ("社区居民委员会", "社区"),
        ("社区居民居委会", "社区"),
        ("社区居委委员会", "社区"),
        ("村民委员会", "村"),
        ("生活区", "生活区"),
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)], kind
    raise ValueError(f"unexpected committee name {name!r}: expected a 社区/村/生活区 committee")


def read_reference() -> tuple[list[Town], list[Community]]:
    with open(REFERENCE_DIR / "towns.csv", encoding="utf-8", newline="") as f:
        towns = [
            Town(r["town_code"], r["town_name"], (float(r["center_lat_gcj02"]), float(r["center_lon_gcj02"])))
            for r in csv.DictReader(f)
        ]
    with open(REFERENCE_DIR / "communities.csv", encoding="utf-8", newline="") as f:
        communities = []
        for r in csv.DictReader(f):
            short, kind = split_name(r["community_name"])
            communities.append(Community(r["community_code"], r["community_name"], r["town_code"], kind, short))
    return towns, communities


# (id, name or None for "named after its community", host type, town, opened, volumes, host population, public)
MICRO_SPECS = [
    ("WF001", "南沙图书馆中建筑港企业微分馆", "enterprise", "440115001", (2024, 4, 23), 1200, 3000, True),
    ("WF002", "鱼窝头社区微分馆", "community", "440115103", (2024, 4, 28), 800, None, True),
    ("WF003", "南沙图书馆龙穴造船基地企业微分馆", "enterprise", "440115003", (2024, 5, 10), 900, 2600, True),
    ("WF004", "南沙图书馆珠江街中学微分馆", "school", "440115002", (2024, 5, 20), 1000, 1800, False),
    ("WF005", "南沙图书馆区政务服务中心微分馆", "institution", "440115001", (2024, 5, 28), 500, 650, True),
    ("WF006", None, "community", "440115105", (2024, 6, 6), 700, None, True),
    ("WF007", "南沙图书馆黄阁汽车产业园企业微分馆", "enterprise", "440115102", (2024, 6, 18), 1100, 5200, True),
    ("WF008", "南沙图书馆万顷沙镇中心小学微分馆", "school", "440115100", (2024, 6, 25), 700, 1400, True),
    ("WF009", None, "community", "440115001", (2024, 7, 3), 900, None, True),
    ("WF010", "南沙图书馆黄阁镇人民政府微分馆", "institution", "440115102", (2024, 7, 12), 400, 300, True),
    ("WF011", "南沙图书馆明珠湾科创园企业微分馆", "enterprise", "440115101", (2024, 7, 24), 600, 1500, True),
    ("WF012", "南沙图书馆东涌镇第二小学微分馆", "school", "440115103", (2024, 8, 2), 650, 1600, True),
    ("WF013", None, "community", "440115100", (2024, 8, 15), 600, None, True),
    ("WF014", "南沙图书馆国际邮轮母港微分馆", "other", "440115003", (2024, 8, 27), 350, None, True),
    ("WF015", "南沙图书馆大岗先进制造基地企业微分馆", "enterprise", "440115104", (2024, 9, 5), 750, 2200, True),
    ("WF016", "南沙图书馆榄核镇中心小学微分馆", "school", "440115105", (2024, 9, 10), 550, 1300, False),
    ("WF017", None, "community", "440115104", (2024, 9, 20), 500, None, True),
    ("WF018", "南沙图书馆珠江街社区卫生服务中心微分馆", "institution", "440115002", (2024, 9, 28), 300, 180, True),
]
TOWN_BRANCH_OPENED = {
    "440115001": (2010, 12, 18),
    "440115002": (2014, 6, 1),
    "440115003": (2020, 1, 8),
    "440115100": (2012, 9, 15),
    "440115101": (2016, 5, 20),
    "440115102": (2011, 10, 1),
    "440115103": (2010, 5, 18),
    "440115104": (2013, 3, 28),
    "440115105": (2015, 11, 11),
}


def address(rng: random.Random, town: Town, extra: str = "") -> str:
    road = rng.choice(TOWN_ROADS[town.code])
    return f"广州市南沙区{town.name}{extra}{road}{rng.randint(1, 399)}号"


def build_places(rng: random.Random) -> tuple[list[Town], list[Community], list[Branch]]:
    towns, communities = read_reference()
    town_by_code = {t.code: t for t in towns}
    branches: list[Branch] = []

    # Central library and one library per town, near the town centre (Nansha's own town library
    # sits 1.6 km off the centre so that the central library does not double it).
    nansha = town_by_code["440115001"]
    branches.append(
        Branch(
            "NS000",
            "南沙图书馆",
            "central",
            "",
            nansha.code,
            address(rng, nansha),
            polar(rng, nansha.centre, 50, 250),
            dt.date(2019, 9, 28),
            None,
            True,
            None,
            rng.randint(590_000, 615_000),
        )
    )
    for i, town in enumerate(towns, start=1):
        pos = polar(rng, town.centre, 1500, 1700) if town.code == nansha.code else polar(rng, town.centre, 0, 300)
        branches.append(
            Branch(
                f"NS1{i:02d}",
                f"南沙图书馆{town.name}分馆",
                "branch",
                "",
                town.code,
                address(rng, town),
                pos,
                dt.date(*TOWN_BRANCH_OPENED[town.code]),
                None,
                True,
                None,
                rng.randrange(20_000, 60_000, 10),
            )
        )
    town_branch = {b.town: b for b in branches if b.kind == "branch"}

    # 鱼窝头社区 sits 1.25 km from the Dongchong library (about 20 walking minutes with the
    # dashboard's detour factor); its micro-branch is 450 m from the community centre (7 minutes).
    dongchong = town_branch["440115103"]
    yuwotou_angle = rng.uniform(0, 2 * math.pi)
    yuwotou_pos = offset(*dongchong.pos, 1250 * math.cos(yuwotou_angle), 1250 * math.sin(yuwotou_angle))

    # Community centres scattered around the town centres, at least 350 m apart.
    placed: list[tuple[float, float]] = [yuwotou_pos]
    for c in communities:
        if c.code == YUWOTOU_COMMUNITY:
            c.pos = yuwotou_pos
            continue
        town = town_by_code[c.town]
        radius = TOWN_RADIUS_KM[c.town] * 1000
        ring = {"社区": (0.1, 0.6), "村": (0.3, 1.0), "生活区": (0.5, 1.0)}[c.kind]
        for _ in range(200):
            pos = polar(rng, town.centre, ring[0] * radius, ring[1] * radius)
            if all(distance_m(pos, p) >= 350 for p in placed):
                break
        c.pos = pos
        placed.append(pos)

    assign_populations(rng, communities)

    # A closed service point (kind 分馆) in Hengli, replaced by the Hengli town library.
    hengli = town_by_code["440115101"]
    hengli_villages = [c for c in communities if c.town == hengli.code and c.kind == "村"]
    fengma = next((c for c in hengli_villages if c.short.startswith("冯马")), hengli_villages[0])
    branches.append(
        Branch(
            "NS190",
            "南沙图书馆横沥冯马服务点",
            "branch",
            "",
            hengli.code,
            address(rng, hengli, fengma.short + "村"),
            polar(rng, fengma.pos, 30, 150),
            dt.date(2013, 6, 1),
            dt.date(2023, 12, 31),
            True,
            None,
            6_000,
        )
    )

    # Micro-branches: at (within 300 m of) a community 1.5-3 km from the nearest library, so that
    # they visibly shorten walks; at least 800 m from each other.
    libraries = [b for b in branches if b.kind != "micro" and b.closed is None]
    used: list[Community] = []
    for bid, name, host, town_code, opened, volumes, host_pop, public in MICRO_SPECS:
        town = town_by_code[town_code]
        if bid == "WF002":
            c = next(c for c in communities if c.code == YUWOTOU_COMMUNITY)
            angle = yuwotou_angle + rng.uniform(-0.5, 0.5)
            pos = offset(*c.pos, 450 * math.cos(angle), 450 * math.sin(angle))
        else:
            micro_positions = [b.pos for b in branches if b.kind == "micro"]
            free = [c for c in communities if c.town == town_code and c not in used and c.kind != "生活区"]
            candidates = [c for c in free if all(distance_m(c.pos, p) >= 800 for p in micro_positions)] or free
            if host == "community" and any(c.kind == "社区" for c in candidates):
                preferred = [c for c in candidates if c.kind == "社区"]
                if any(1500 <= nearest(c.pos, libraries) <= 3000 for c in preferred):
                    candidates = preferred
            in_range = [c for c in candidates if 1500 <= nearest(c.pos, libraries) <= 3000]
            if in_range:
                c = rng.choice(in_range)
            else:
                c = min(candidates, key=lambda c: (abs(nearest(c.pos, libraries) - 2250), c.code))
            pos = polar(rng, c.pos, 30, 300)
        used.append(c)
        if name is None:
            name = f"南沙图书馆{c.short}{c.kind}微分馆"
        branches.append(
            Branch(
                bid,
                name,
                "micro",
                host,
                town_code,
                address(rng, town, c.short + c.kind),
                pos,
                dt.date(*opened),
                None,
                public,
                host_pop,
                volumes,
                community=c.code,
            )
        )
    return towns, communities, branches


def nearest(pos: tuple[float, float], branches: list[Branch]) -> float:
    return min(distance_m(pos, b.pos) for b in branches)


def assign_populations(rng: random.Random, communities: list[Community]) -> None:
    """Synthetic populations: 村 1,500-6,000, 社区 3,000-15,000, 生活区 small; sum about 900,000."""
    bounds = {"社区": (3000, 15000), "村": (1500, 6000), "生活区": (300, 900)}
    raw = {}
    for c in communities:
        lo, hi = bounds[c.kind]
        raw[c.code] = math.exp(rng.uniform(math.log(lo * 1.15), math.log(hi * 0.85)))
    target = rng.uniform(895_000, 905_000)
    for _ in range(50):  # scale towards the target, clamped to each kind's bounds
        total = sum(raw.values())
        if abs(total - target) < 500:
            break
        factor = target / total
        for c in communities:
            if c.kind != "生活区":
                lo, hi = bounds[c.kind]
                raw[c.code] = min(hi, max(lo, raw[c.code] * factor))
    for c in communities:
        c.population = int(round(raw[c.code] / 10) * 10)


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


# ---------------------------------------------------------------------------------------------
# Titles, authors, ISBNs
# ---------------------------------------------------------------------------------------------
def _topics(text: str) -> list[tuple[str, str]]:
    return [tuple(t.split(":")) for t in text.split()]  # type: ignore[misc]


SUBJECTS: dict[str, tuple[list[tuple[str, str]], list[str]]] = {
    "A": (
        _topics(
            "马克思主义基本原理:A81 毛泽东思想:A84 中国特色社会主义理论:D61 共产党宣言:A811.22 "
            "资本论:A811.23 马克思主义哲学:B0-0 党史:D23"
        ),
        ["概论", "学习读本", "导读", "十讲", "精要", "解读", "问答"],
    ),
    "B": (
        _topics(
            "西方哲学:B5 中国哲学:B2 论语:B222.2 庄子:B223.5 王阳明心学:B248.2 逻辑学:B81 美学:B83 "
            "伦理学:B82 心理学:B84 情绪管理:B842.6 认知心理学:B842.1 积极心理学:B84-06 自我成长:B848.4 "
            "沟通心理:B842.5 儿童心理:B844.1 思维方法:B804 人生哲学:B821"
        ),
        ["导论", "简史", "十五讲", "通识", "入门", "讲义", "精读", "新解", "漫谈"],
    ),
    "C": (
        _topics(
            "社会学:C91 社会调查方法:C915 统计学:C8 数据分析:C81 管理学:C93 项目管理:C931 决策:C934 "
            "人口学:C92 社区治理:C916 公共关系:C912.3 社会工作:C916"
        ),
        ["原理", "概论", "方法", "教程", "案例", "实务", "研究", "手册"],
    ),
    "D": (
        _topics(
            "民法典:D923 劳动合同法:D922.52 婚姻家庭法:D923.9 刑法:D924 行政法:D922.1 知识产权法:D923.4 "
            "公司法:D922.291 基层治理:D63 社区工作:D669.3 城市治理:D630 粤港澳合作:D676.5 国际关系:D81 "
            "消费者权益保护:D922.294"
        ),
        ["释义", "实务", "案例精解", "问答", "一本通", "通俗读本", "研究", "导论"],
    ),
    "E": (
        _topics("孙子兵法:E892 军事理论:E0 海洋强国:E0-0 国防教育:E2 现代武器:E92 战争史:E19 海军:E15"),
        ["新解", "概论", "读本", "图鉴", "简史", "十讲"],
    ),
    "F": (
        _topics(
            "经济学:F0 微观经济学:F016 宏观经济学:F015 企业管理:F272 人力资源管理:F272.92 市场营销:F713.50 "
            "财务管理:F275 会计:F230 投资理财:F830.59 金融:F83 数字经济:F49 粤港澳大湾区经济:F127.6 "
            "自贸区:F752.8 港口经济:F552 跨境电商:F713.36 供应链管理:F252 创业:F241.4 乡村振兴:F320.3"
        ),
        ["原理", "实务", "入门", "案例", "研究", "与实践", "十讲", "通识", "指南", "新论"],
    ),
    "G": (
        _topics(
            "家庭教育:G78 亲子阅读:G78 幼儿教育:G61 小学语文教学:G623.2 中学数学解题:G634.6 中考复习:G634 "
            "高考作文:G634.34 学习方法:G791 阅读推广:G252.17 图书馆服务:G258.2 公共文化服务:G249.2 "
            "传播学:G206 新媒体运营:G206.2 体育锻炼:G80 游泳:G861.1 篮球:G841 跑步:G822.8 围棋:G891.3"
        ),
        ["指南", "手册", "方法", "实务", "十讲", "案例", "一本通", "入门", "研究"],
    ),
    "H": (
        _topics(
            "现代汉语:H1 古代汉语:H109.2 汉字:H12 普通话:H102 粤语:H178 写作:H152.3 英语语法:H314 "
            "英语口语:H319.9 英语词汇:H313 雅思:H310.41 日语:H36 语言学:H0"
        ),
        ["教程", "入门", "精讲", "词典", "手册", "一本通", "常用表达", "基础"],
    ),
    "J": (
        _topics(
            "素描:J214 水彩:J215 国画:J212 书法:J292 硬笔书法:J292.12 摄影:J41 手机摄影:J41 钢琴:J624.1 "
            "吉他:J623.2 声乐:J616 电影:J905 设计:J06 剪纸:J528.1 广绣:J523.6 粤剧:J825"
        ),
        ["入门", "基础教程", "技法", "欣赏", "史话", "图解", "一本通", "十讲"],
    ),
    "K": (
        _topics(
            "中国通史:K20 明朝:K248 宋朝:K244 唐朝:K242 秦汉:K232 中国近代史:K25 世界史:K10 "
            "岭南文化:K296.5 广府文化:K296.51 南沙:K296.53 珠江三角洲:K296.5 海上丝绸之路:K203 华侨:K820.7 "
            "中国地理:K92 世界地理:K91 考古:K87 粤港澳大湾区:K296.5"
        ),
        ["简史", "史话", "十讲", "风物志", "地图集", "故事", "新考", "纪行"],
    ),
    "N": (
        _topics("科学史:N09 科学方法:N03 自然科学:N49 系统科学:N94 科技创新:N1"),
        ["简史", "通识", "十讲", "漫谈", "入门", "百问"],
    ),
    "O": (
        _topics(
            "高等数学:O13 线性代数:O151.2 概率论:O211 数学思维:O1 物理学:O4 量子力学:O413.1 "
            "相对论:O412.1 化学:O6 有机化学:O62 趣味数学:O1-49"
        ),
        ["教程", "基础", "入门", "习题详解", "通识", "漫谈"],
    ),
    "P": (
        _topics("天文学:P1 宇宙:P159 气象:P4 台风:P444 海洋:P7 地质:P5 地球:P183 珠江口:P737 湿地:P941.78"),
        ["入门", "图鉴", "科普", "观测指南", "百问", "漫谈"],
    ),
    "Q": (
        _topics("生物学:Q1 植物:Q94 昆虫:Q96 鸟类:Q959.7 红树林:Q948 遗传学:Q3 生态学:Q14 进化论:Q11 海洋生物:Q178.53"),
        ["图鉴", "入门", "观察手册", "简史", "百科", "探秘"],
    ),
    "R": (
        _topics(
            "健康:R161 营养:R151 中医:R2 养生:R212 儿童保健:R179 急救:R459.7 心理健康:R395.6 睡眠:R338.63 "
            "老年保健:R161.7 孕产:R715.3 糖尿病:R587.1 高血压:R544.1"
        ),
        ["指南", "手册", "百问", "一本通", "常识", "全书"],
    ),
    "S": (
        _topics(
            "水稻种植:S511 蔬菜栽培:S63 花卉:S68 水产养殖:S96 果树:S66 家庭园艺:S68 盆栽:S688.1 "
            "农业技术:S3 观赏鱼:S965.8"
        ),
        ["技术", "手册", "实用技术", "指南", "百问", "图解"],
    ),
    "T": (
        _topics(
            "机械设计:TH122 机械制图:TH126 数控加工:TG659 焊接:TG4 电工:TM 电子技术:TN 电路:TM13 "
            "家常菜:TS972.1 烘焙:TS213.2 服装设计:TS941.2 水利工程:TV 海堤工程:TV871 工程力学:TB12 "
            "材料科学:TB3 质量管理:TB114 自动化:TP2 电气控制:TM571"
        ),
        ["基础", "实用技术", "手册", "入门", "图解", "原理与应用", "教程"],
    ),
    "TP": (
        _topics(
            "Python编程:TP312.8 Java程序设计:TP312.8 C语言程序设计:TP312.8 数据结构:TP311.12 算法:TP301.6 "
            "人工智能:TP18 机器学习:TP181 深度学习:TP181 大语言模型:TP391 数据库:TP311.13 网络安全:TP393.08 "
            "计算机网络:TP393 办公软件:TP317.1 Excel数据处理:TP391.13 云计算:TP393.027 物联网:TP393.4 "
            "机器人:TP242"
        ),
        ["入门", "实战", "基础教程", "从入门到精通", "原理与实践", "案例教程", "编程指南"],
    ),
    "TU": (
        _topics(
            "建筑施工:TU7 施工组织设计:TU721 工程项目管理:TU71 建筑工程造价:TU723.3 钢筋混凝土结构:TU375 "
            "地基与基础:TU47 桩基工程:TU473.1 建筑识图:TU204 建筑材料:TU5 BIM技术:TU201.4 装配式建筑:TU3 "
            "建筑安全管理:TU714 工程测量:TU198 建筑设计:TU2 城市规划:TU984 绿色建筑:TU201.5 工程监理:TU712.2"
        ),
        ["实务", "手册", "案例分析", "技术", "规范解读", "从入门到精通", "教程", "问答"],
    ),
    "U": (
        _topics(
            "港口工程:U65 航道工程:U61 码头结构:U656 桥梁工程:U44 隧道工程:U45 公路工程:U41 船舶:U66 "
            "城市轨道交通:U239.5 新能源汽车:U469.72 汽车维修:U472 疏浚工程:U616 水运工程:U6"
        ),
        ["技术", "设计", "施工", "手册", "概论", "实务", "案例"],
    ),
    "V": (
        _topics("航空:V2 航天:V4 无人机:V279 飞机:V27 火箭:V475.1 卫星:V474"),
        ["图鉴", "入门", "简史", "科普", "原理"],
    ),
    "X": (
        _topics(
            "环境保护:X 垃圾分类:X705 碳中和:X511 生态文明:X321 安全生产:X93 职业健康:X9 海洋环境:X55 环境监测:X83"
        ),
        ["概论", "手册", "读本", "实务", "指南", "百问"],
    ),
}

FICTION_A = (
    "南方 北方 故乡 远方 海边 河口 岭南 少年 父亲 母亲 外婆 夏天 冬天 秋天 春天 午夜 清晨 黄昏 旧城 "
    "小镇 岛屿 沉默 漫长 寂静 明亮 遥远 温柔 燃烧 隐秘 最后 风中 云端 月亮 潮汐 芦苇 红树林 伶仃洋 珠江 "
    "南沙 蕉门 虎门 大湾区 江南 西北 草原 雪山 人间 烟火 流年 山河 光阴"
).split()
FICTION_N = (
    "河流 来信 森林 灯塔 大海 渡口 村庄 花园 时光 故事 歌谣 梦 往事 旅程 码头 秘密 房子 日记 孩子 季节 "
    "火车 船 星辰 记忆 名字 声音 远行 归途 地图 窗 桥 岸 山谷 雪 风 灯火 家书 舞者 守望者 摆渡人 月光 "
    "长夜 春潮 晚霞 故人 候鸟"
).split()
ESSAY_FORMS = "笔记 随笔 札记 散记 手记 小记 闲话 书简".split()
CRITIC_TOPICS = "红楼梦 唐诗 宋词 鲁迅 张爱玲 汪曾祺 苏轼 李白 杜甫 诗经 楚辞 现代小说 岭南文学 粤港澳文学".split()
CRITIC_FORMS = "研究 鉴赏 十讲 讲稿 新论 精读 导读".split()
ANIMALS = (
    "小熊 小狐狸 企鹅 小兔子 恐龙 小猫 小象 萤火虫 小海龟 小刺猬 小松鼠 蓝鲸 小蜗牛 熊猫 小鸭子 猫头鹰 小浣熊 小老鼠"
).split()
STORIES = (
    "的冒险 的奇妙旅行 的新朋友 大发现 的魔法书 过生日 上学记 和月亮 的星空 找妈妈 的秘密花园 去海边 的勇气 的梦 历险记"
).split()
SERIES = "好习惯绘本 科学启蒙绘本 桥梁书 情绪管理绘本 自然探索绘本".split()
CLASSICS = [
    ("红楼梦", "曹雪芹 著", "I242.4"),
    ("西游记", "吴承恩 著", "I242.4"),
    ("水浒传", "施耐庵 著", "I242.4"),
    ("三国演义", "罗贯中 著", "I242.4"),
    ("围城", "钱锺书 著", "I246.5"),
    ("边城", "沈从文 著", "I246.5"),
    ("骆驼祥子", "老舍 著", "I246.5"),
    ("朝花夕拾", "鲁迅 著", "I210.4"),
    ("呼兰河传", "萧红 著", "I246.5"),
    ("平凡的世界", "路遥 著", "I247.5"),
    ("活着", "余华 著", "I247.5"),
    ("老人与海", "[美] 海明威 著", "I712.45"),
    ("百年孤独", "[哥伦比亚] 加西亚·马尔克斯 著", "I775.45"),
]
CHILD_CLASSICS = [
    ("城南旧事", "林海音 著", "I287.45"),
    ("草房子", "曹文轩 著", "I287.45"),
    ("稻草人", "叶圣陶 著", "I287.7"),
    ("小王子", "[法] 圣埃克苏佩里 著", "I565.88"),
    ("夏洛的网", "[美] E.B.怀特 著", "I712.85"),
    ("窗边的小豆豆", "[日] 黑柳彻子 著", "I313.85"),
    ("安徒生童话", "[丹麦] 安徒生 著", "I534.88"),
    ("格林童话", "[德] 格林兄弟 著", "I516.88"),
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁"
    "任沈姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严覃武"
)
GIVEN = (
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 华 慧 建华 志强 晓燕 海燕 子涵 雨桐 思远 嘉欣 "
    "梓轩 晨 辉 鹏 婷 琳 瑶 雪 宁 峰 文 斌 毅 楠 颖 欣怡 浩然 一鸣 若曦 俊杰 永红 国栋 卫东 少华"
).split()
FOREIGN = {
    "[美]": (
        ["约翰", "玛丽", "彼得", "安娜", "大卫", "艾米丽", "托马斯", "露西"],
        ["史密斯", "布朗", "米勒", "戴维斯", "威尔逊", "安德森"],
    ),
    "[英]": (["威廉", "夏洛特", "乔治", "艾玛", "亨利", "简"], ["泰勒", "琼斯", "沃克", "怀特", "格林", "霍尔"]),
    "[法]": (["皮埃尔", "玛丽", "让", "苏菲", "路易"], ["马丁", "杜邦", "勒克莱尔", "伯纳德", "莫罗"]),
    "[日]": (["健一", "春子", "美咲", "直子", "浩二", "秀树"], ["佐藤", "铃木", "高桥", "田中", "渡边", "山本"]),
    "[德]": (["汉斯", "克劳斯", "安娜", "弗里茨"], ["穆勒", "施密特", "施耐德", "费舍尔"]),
}
FOREIGN_BY_CODE = {"I712.45": "[美]", "I561.45": "[英]", "I565.45": "[法]", "I313.45": "[日]", "I516.45": "[德]"}
PUBLISHERS = {  # ISBN registrant prefixes after 978-7-
    "TU": ["112", "5160", "5643"],
    "TP": ["111", "115", "302", "121"],
    "T": ["111", "122", "5198"],
    "U": ["114", "5608"],
    "I": ["02", "5360", "5321", "5442", "5306", "5411"],
    "Ic": ["5560", "5007", "5589", "5148"],
    "K": ["101", "218", "5454", "108"],
    "F": ["300", "5086", "5217", "218"],
    "G": ["5334", "303", "107"],
    "Z": ["5000", "5202"],
    "*": ["100", "108", "301", "5327", "218", "5203", "03", "5154"],
}


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


# ---------------------------------------------------------------------------------------------
# Circulation
# ---------------------------------------------------------------------------------------------
@dataclass
class Event:
    day: int
    seconds: int
    action: str
    item: int
    reader: int
    from_reader: int = -1
    branch: str = ""
    channel: str = ""
    due: int | None = None

    def key(self, items: list[Item]) -> tuple:
        return (self.day, self.seconds, items[self.item].item_id, ACTION_RANK[self.action])


TRANSFER_SHARE = {"central": 0.14, "branch": 0.16, "micro": 0.70, "micro_closed": 0.45, "shared": 0.90}
HOLDERS_WEIGHTS = [35, 25, 15, 10, 7, 5, 3]  # 1..7 transfers, i.e. 2..8 holders
CHECKOUT_CHANNELS = {
    "central": (["counter", "self_service", "face"], [25, 45, 30]),
    "branch": (["counter", "self_service", "face"], [45, 35, 20]),
    "micro": (["counter", "self_service", "face"], [55, 25, 20]),
}
RETURN_COUNTER_SHARE = {"central": 0.3, "branch": 0.5, "micro": 0.7}


class Simulation:
    def __init__(self, rng: random.Random, branches: list[Branch], readers: list[Reader], items: list[Item]):
        self.rng = rng
        self.cal = Calendar(rng)
        self.branches = {b.branch_id: b for b in branches}
        self.readers = readers
        self.items = items
        self.picker = ReaderPicker(rng, readers)
        self.events: list[Event] = []
        self.public_by_town: dict[str, list[Branch]] = {}
        for b in branches:
            if b.public and b.closed is None and b.kind != "central":
                self.public_by_town.setdefault(b.town, []).append(b)
        self.central = next(b for b in branches if b.kind == "central")

    # -- who ---------------------------------------------------------------------------------
    def borrower(self, b: Branch, day: int) -> int:
        if b.kind == "central":
            choices = [
                (("town", "440115001"), 0.35),
                (("town", "440115002"), 0.1),
                (("town", "440115003"), 0.05),
                (("all", ""), 0.5),
            ]
        elif b.kind == "branch":
            choices = [(("town", b.town), 0.85), (("all", ""), 0.15)]
        elif not b.public:
            choices = [(("home", b.branch_id), 1.0)]
        elif b.host_type == "community":
            choices = [
                (("home", b.branch_id), 0.3),
                (("comm", b.community), 0.3),
                (("town", b.town), 0.3),
                (("all", ""), 0.1),
            ]
        else:
            home = 0.55 if b.host_type == "enterprise" else 0.45
            choices = [(("home", b.branch_id), home), (("town", b.town), 0.9 - home), (("all", ""), 0.1)]
        return self.picker.pick(choices, day)

    def recipient(self, holder: int, start: Branch, day: int) -> int:
        r = self.readers[holder]
        if start.kind == "micro" and not start.public:
            choices = [(("home", start.branch_id), 0.8), (("comm", r.community), 0.2)]
        else:
            choices = [(("comm", r.community), 0.35), (("town", r.town), 0.45), (("all", ""), 0.2)]
        return self.picker.pick(choices, day, exclude=holder)

    def return_branch(self, start: Branch, holder: int, day: int, drifted: bool) -> Branch:
        if (not start.public) or self.rng.random() >= (0.35 if drifted else 0.15):
            return start
        town = self.readers[holder].town
        options = [b for b in self.public_by_town.get(town, []) if b.serves_on(day) and b is not start]
        if start is not self.central:
            options.append(self.central)
        return self.rng.choice(options) if options else start

    # -- when --------------------------------------------------------------------------------
    def add(self, action: str, day: int, profile: str, item: int, reader: int, **kw) -> Event:
        ev = Event(day, self.cal.seconds(profile, day), action, item, reader, **kw)
        self.events.append(ev)
        return ev

    def checkout_channel(self, b: Branch) -> str:
        names, weights = CHECKOUT_CHANNELS[b.kind]
        return self.rng.choices(names, weights)[0]

    def return_channel(self, b: Branch) -> str:
        return "counter" if self.rng.random() < RETURN_COUNTER_SHARE[b.kind] else "self_service"

    # -- what --------------------------------------------------------------------------------
    def run(self, partial_items: set[int]) -> None:
        for idx, item in enumerate(self.items):
            home = self.branches[item.home]
            available = max(START, item.added + 1, home.opened.toordinal() + 1)
            day = available
            if idx in partial_items:  # a loan that began before the export: only its return is in the file
                day = self.cal.settle(home.profile, available + self.rng.randint(0, 20))
                reader = self.picker.pick([(("town", home.town), 1.0)], START - 1)
                self.add(
                    "return", day, home.profile, idx, reader, branch=home.branch_id, channel=self.return_channel(home)
                )
                day += 1
            elif math.isinf(item.mean_gap):
                continue
            if math.isinf(item.mean_gap):
                item.mean_gap = 120.0
            first = True
            while True:
                gap = int(self.rng.expovariate(1 / item.mean_gap))
                day = self.cal.settle(home.profile, day + (gap if first else max(1, gap)))
                first = False
                if day > END:
                    break
                end = self.chain(idx, item, home, day)
                if end is None:
                    break
                day = end + 1

    def chain(self, idx: int, item: Item, start: Branch, day: int) -> int | None:
        """One loan chain from a checkout; returns the day the copy came back, or None if still out."""
        holder = self.borrower(start, day)
        ev = self.add(
            "checkout",
            day,
            start.profile,
            idx,
            holder,
            branch=start.branch_id,
            channel=self.checkout_channel(start),
            due=day + 30,
        )
        chain_events = [ev]
        if item.owner_reader >= 0:
            share = TRANSFER_SHARE["shared"]
        elif start.kind == "micro":
            share = TRANSFER_SHARE["micro" if start.public else "micro_closed"]
        else:
            share = TRANSFER_SHARE[start.kind]
        transfers = 0
        if self.rng.random() < share:
            transfers = self.rng.choices(range(1, 8), HOLDERS_WEIGHTS)[0]
        while True:
            hold = self.rng.randint(7, 30)
            if self.rng.random() < 0.07:  # renewal
                renew_day = day + self.rng.randint(10, 28)
                if renew_day <= END:
                    if self.rng.random() < 0.75:
                        self.add("renew", renew_day, "mini", idx, holder, channel="mini_program", due=renew_day + 30)
                    else:
                        self.add(
                            "renew",
                            renew_day,
                            start.profile,
                            idx,
                            holder,
                            branch=start.branch_id,
                            channel="counter",
                            due=renew_day + 30,
                        )
                hold = renew_day - day + self.rng.randint(5, 25)
            if transfers:
                next_day = self.cal.settle("mini", day + hold)
                if next_day > END:
                    return None
                new = self.recipient(holder, start, next_day)
                ev = self.add(
                    "transfer",
                    next_day,
                    "mini",
                    idx,
                    new,
                    from_reader=holder,
                    channel="mini_program",
                    due=next_day + 30,
                )
                chain_events.append(ev)
                holder, day, transfers = new, next_day, transfers - 1
                continue
            drifted = len(chain_events) > 1
            back_at = self.return_branch(start, holder, day + hold, drifted)
            next_day = self.cal.settle(back_at.profile, day + hold)
            if next_day > END:
                return None
            if not back_at.serves_on(next_day):
                back_at = start
            item.returns.append(
                self.add(
                    "return",
                    next_day,
                    back_at.profile,
                    idx,
                    holder,
                    branch=back_at.branch_id,
                    channel=self.return_channel(back_at),
                )
            )
            return next_day


def add_quirks(rng: random.Random, sim: Simulation) -> None:
    """Unterminated chains and transfers from someone who is not the holder."""
    # ~5 checkouts of a copy whose previous chain was never returned: drop that return.
    candidates = [(i, ev) for i, item in enumerate(sim.items) for ev in item.returns[:-1]]
    dropped = rng.sample(candidates, 5)
    dropped_ids = {id(ev) for _, ev in dropped}
    # ~10 transfers whose 转出读者证号 is not the current holder.
    transfers = [ev for ev in sim.events if ev.action == "transfer"]
    anomalies = rng.sample(transfers, 10)
    for ev in anomalies:
        town = sim.readers[ev.from_reader].town
        while True:
            other = sim.picker.pick([(("town", town), 1.0)], ev.day, exclude=ev.from_reader)
            if other != ev.reader:
                break
        ev.from_reader = other
    sim.events = [ev for ev in sim.events if id(ev) not in dropped_ids]


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
    sim.events.sort(key=lambda ev: ev.key(items))

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
