"""Places: the real towns and communities (reference/), synthetic populations and coordinates, and the branches."""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from dataclasses import dataclass

from sample_data.settings import REFERENCE_DIR

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


