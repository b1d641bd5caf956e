"""The data contract: the five kinds of export, their columns, Chinese aliases and value rules."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | id | reader | date | timestamp | number | int | enum | bool | code9 | code12 | lat | lon | coord
    aliases: tuple[str, ...] = ()
    required: bool = False
    values: dict[str, str] = field(default_factory=dict)  # enum: accepted spelling -> stored value
    # An optional cell: a value that breaks its rule is a warning, and the row is kept with the cell empty.
    lenient: bool = False


@dataclass(frozen=True)
class Kind:
    name: str
    label_zh: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _enum(**spellings: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value, words in spellings.items():
        out[value] = value
        for w in words:
            out[w] = value
    return out


BRANCH_KIND = _enum(central=("总馆",), branch=("分馆", "镇街分馆", "街镇分馆"), micro=("微分馆",))
HOST_TYPE = _enum(
    enterprise=("企业",),
    school=("学校",),
    community=("社区",),
    institution=("机关事业单位", "事业单位", "机关"),
    other=("其他",),
)
OWNER = _enum(library=("图书馆", "馆藏"), reader=("读者", "家藏", "个人"))
ACTION = _enum(
    checkout=("借出", "借书", "外借", "借阅", "borrow"),
    **{"return": ("归还", "还书", "还回")},
    renew=("续借", "renewal"),
    transfer=("转借",),
)
CHANNEL = _enum(
    counter=("柜台",), self_service=("自助机", "自助"), mini_program=("小程序",), face=("刷脸",)
)
COORD = _enum(wgs84=("WGS84", "WGS-84"), gcj02=("GCJ02", "GCJ-02", "火星坐标"), bd09=("BD09", "BD-09", "百度"))
BOOL = {"yes": "true", "no": "false", "是": "true", "否": "false", "true": "true", "false": "false",
        "y": "true", "n": "false", "1": "true", "0": "false"}

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("branches", "分馆", ("branch_id",), (
            Column("branch_id", "id", ("分馆编号", "馆代码", "馆藏地代码", "分馆代码"), True),
            Column("name", "text", ("分馆名称", "馆名", "名称"), True),
            Column("kind", "enum", ("类型", "分馆类型"), True, BRANCH_KIND),
            Column("host_type", "enum", ("合作单位类型", "共建单位类型"), False, HOST_TYPE, lenient=True),
            Column("town_code", "code9", ("街镇代码",), lenient=True),
            Column("address", "text", ("地址",)),
            Column("lat", "lat", ("纬度",), True),
            Column("lon", "lon", ("经度",), True),
            Column("coord_system", "coord", ("坐标系",), False, COORD),
            Column("opened_on", "date", ("开馆日期", "成立日期"), True),
            Column("closed_on", "date", ("闭馆日期",)),
            Column("public_access", "bool", ("对外开放", "是否对公众开放")),
            Column("host_population", "int", ("服务单位人数", "职工人数", "在校人数"), lenient=True),
            Column("volumes", "int", ("藏书量", "馆藏册数"), lenient=True),
        )),
        Kind("items", "馆藏", ("item_id",), (
            Column("item_id", "id", ("条码号", "册条码号", "条码", "图书条码"), True),
            Column("title", "text", ("题名", "书名", "正题名"), True),
            Column("author", "text", ("责任者", "著者", "作者")),
            Column("isbn", "isbn", ("ISBN", "国际标准书号"), lenient=True),
            Column("call_number", "text", ("索书号", "分类号", "中图分类号")),
            Column("home_branch_id", "id", ("馆藏地", "所属馆", "所属分馆")),
            Column("owner", "enum", ("来源", "所有者"), False, OWNER),
            Column("owner_reader_id", "reader", ("共享读者证号",)),
            Column("added_on", "date", ("入藏日期", "登记日期"), lenient=True),
            Column("price", "number", ("价格", "单价"), lenient=True),
        )),
        Kind("readers", "读者", ("reader_id",), (
            Column("reader_id", "reader", ("读者证号", "读者证条码号", "借书证号", "证号"), True),
            Column("registered_on", "date", ("办证日期", "注册日期"), lenient=True),
            Column("home_branch_id", "id", ("办证馆", "注册馆")),
            Column("community_code", "code12", ("社区代码", "居委会代码"), lenient=True),
            Column("birth_year", "int", ("出生年份",)),
            Column("reader_type", "text", ("读者类型", "读者类别")),
        )),
        Kind("events", "流通记录", ("event_id",), (
            Column("event_id", "id", ("流水号", "记录号")),
            # Aliases of Chinese library systems' circulation exports: each backed by a file in tests/data/ils/
            # (SOURCE.md there says where each spelling was seen).
            Column("occurred_at", "timestamp", ("操作时间", "借阅时间", "借书日期", "时间", "借阅日期", "借书时间",
                                                "操作日期", "流通日期"), True),
            Column("action", "enum", ("操作类型", "操作", "类型", "流通类型"), True, ACTION),
            Column("item_id", "id", ("条码号", "册条码号", "图书条码号"), True),
            Column("reader_id", "reader", ("读者证号", "读者证条码号", "借书证号"), True),
            Column("from_reader_id", "reader", ("转出读者证号", "转借人")),
            Column("branch_id", "id", ("操作馆", "借阅馆", "分馆编号", "借书馆", "流通地点", "操作地点")),
            Column("channel", "enum", ("渠道", "方式"), False, CHANNEL, lenient=True),
            Column("due_at", "date", ("应还日期", "应还时间", "到期日期"), lenient=True),
        )),
        Kind("communities", "社区", ("community_code",), (
            Column("community_code", "code12", ("社区代码", "居委会代码", "村居代码"), True),
            Column("name", "text", ("社区名称", "村居名称"), True),
            Column("town_code", "code9", ("街镇代码",), True),
            Column("population", "int", ("常住人口", "人口"), True),
            Column("lat", "lat", ("纬度",), True),
            Column("lon", "lon", ("经度",), True),
            Column("coord_system", "coord", ("坐标系",), False, COORD),
        )),
    )
}
# The order files are imported in: what a row names must be known first (an event names a copy and a branch).
IMPORT_ORDER = ("branches", "communities", "readers", "items", "events")

# Columns holding a reader's personal data: never stored, whatever the kind of file.
PERSONAL = ("姓名", "名字", "读者姓名", "手机", "电话", "联系电话", "手机号", "手机号码", "身份证", "身份证号",
            "证件号", "证件号码", "住址", "家庭住址", "联系地址", "邮箱", "电子邮箱", "微信", "phone", "mobile",
            "tel", "telephone", "email", "idcard", "idnumber", "idno", "readername", "fullname", "homeaddress")


def export_header(kind_name: str, **spelling: str) -> list[str]:
    """A kind's header row in Chinese, as exports carry it: each column's first alias, or the alias given for it."""
    out = []
    for col in KINDS[kind_name].columns:
        word = spelling.get(col.name, col.aliases[0] if col.aliases else col.name)
        if word not in (col.name, *col.aliases):
            raise ValueError(f"{word!r} is not a spelling of {kind_name}.{col.name}: expected one of {col.aliases}")
        out.append(word)
    return out


def words_zh(values: dict[str, str]) -> dict[str, str]:
    """Stored value -> its first Chinese spelling (`checkout` -> `借出`), from an enum's accepted spellings."""
    out: dict[str, str] = {}
    for spelling, value in values.items():
        if spelling != value and not spelling.isascii():
            out.setdefault(value, spelling)
    return out


def field_label(kind: str, name: str, lang: str = "zh") -> str:
    """A field in the user's words: its first Chinese alias, or its own name in English."""
    try:
        col = KINDS[kind].column(name)
    except (KeyError, StopIteration):
        return name
    return col.aliases[0] if lang == "zh" and col.aliases else name


def normalise_header(text: str) -> str:
    """Fold case, width, spaces, underscores, hyphens and a BOM away: `读者 证号`, `Reader_ID` match."""
    folded = unicodedata.normalize("NFKC", text).replace("\ufeff", "").casefold()
    return re.sub(r"[\s_\-]+", "", folded)


def is_personal(header: str, kind: str) -> bool:
    h = normalise_header(header)
    if kind == "readers" and h in ("name", "address", "地址", "名称"):
        return True
    return any(normalise_header(p) in h for p in PERSONAL)


class ContractError(ValueError):
    """A whole file does not fit the contract. `key` names a catalogue message (`imp_*`), filled with `params`,
    so the sentence is said in the user's language; any other text is shown as it is."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params

    def text(self, lang: str = "en") -> str:
        """The whole sentence in `lang`: kinds and fields named in the user's words."""
        from microbranch.i18n import entries, t

        if self.key not in entries():
            return self.key
        params = dict(self.params)
        kind = params.get("kind")
        if kind in KINDS:
            for name in ("field", "fields", "missing"):
                if isinstance(params.get(name), str) and name in params:
                    words = [field_label(str(kind), f.strip(), lang) for f in str(params[name]).split(",")]
                    params[name] = "、".join(words) if lang == "zh" else ", ".join(words)
            params["kind"] = t(f"circ_kind_{kind}", lang)
        return t(self.key, lang, **params)

    def __str__(self) -> str:
        return self.text("en")


@dataclass
class HeaderMap:
    """How a file's columns become the contract's: which column holds which field, and what the user added."""

    kind: str
    mapping: dict[int, str]  # file column index -> canonical column
    dropped: list[str]  # personal columns, never stored
    extra: list[str]  # unknown columns, reported but not stored
    headers: list[str]
    constants: dict[str, str] = field(default_factory=dict)  # field -> text every row gets
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> {file's value: contract value}
    date_order: str = ""  # "dmy" or "mdy" for dates like 01/02/2024; "" = only year-first dates

    def describe(self) -> list[tuple[str, str]]:
        """(header in the file, what became of it) for every column."""
        out = []
        for i, h in enumerate(self.headers):
            if i in self.mapping:
                out.append((h, self.mapping[i]))
            elif h in self.dropped:
                out.append((h, "dropped: personal data"))
            else:
                out.append((h, "ignored: unknown column"))
        return out

    def file_column(self, name: str) -> str:
        """The file's own header for a contract field (the field's name when a constant or absent)."""
        return next((self.headers[i] for i, n in self.mapping.items() if n == name), name)


def field_lookup(kind: Kind) -> dict[str, str]:
    """Normalised spelling -> field, for every name and alias of a kind's columns."""
    lookup: dict[str, str] = {}
    for col in kind.columns:
        for spelling in (col.name, *col.aliases):
            lookup.setdefault(normalise_header(spelling), col.name)
    return lookup


def _match(kind: Kind, headers: list[str]) -> dict[int, str]:
    lookup = field_lookup(kind)
    mapping: dict[int, str] = {}
    for i, h in enumerate(headers):
        name = lookup.get(normalise_header(h))
        if name and name not in mapping.values():
            mapping[i] = name
    return mapping


@dataclass
class Detection:
    """What the headers alone say: the likeliest kind, how sure that is, and why a file is not importable as it is.

    `reason` is a catalogue key (None: the file fits the contract and imports with one click)."""

    header: HeaderMap | None
    required_found: list[str]
    required_missing: list[str]
    matched: list[str]  # the file's headers that name a field
    unmatched: list[str]  # the file's headers that name none (personal columns excluded)
    reason: str | None = None
    params: dict[str, object] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        return self.header.kind if self.header else None

    @property
    def importable(self) -> bool:
        return self.reason is None

    def error(self) -> ContractError:
        return ContractError(self.reason or "", **self.params)


def _header_map(kind: Kind, headers: list[str], mapping: dict[int, str]) -> HeaderMap:
    dropped = [h for i, h in enumerate(headers) if i not in mapping and is_personal(h, kind.name)]
    extra = [h for i, h in enumerate(headers) if i not in mapping and h not in dropped]
    return HeaderMap(kind.name, mapping, dropped, extra, headers)


def detect(headers: list[str]) -> Detection:
    """Recognise the kind of a file from its headers, with how sure it is. Never guesses: a file is importable
    only when one kind's required fields are all found and most of its columns are known."""
    if not any(h.strip() for h in headers):
        raise ContractError("imp_no_header")
    scored = []
    for kind in KINDS.values():
        mapping = _match(kind, headers)
        fits = set(kind.required) <= set(mapping.values())
        scored.append((fits, len(mapping) - len(kind.columns) / 100, kind, mapping))
    # The kind that explains the most columns comes first, whether or not all its required fields are there: a
    # loan list without an action column (读者证号, 册条码号, 借阅日期, 借阅馆) is events lacking one field, not a
    # readers file (whose one required field it happens to hold) with most columns unknown.
    scored.sort(key=lambda s: (len(s[3]), s[0], s[1]), reverse=True)
    fits, _, kind, mapping = scored[0]
    header = _header_map(kind, headers, mapping)
    found = [c for c in kind.required if c in mapping.values()]
    missing = [c for c in kind.required if c not in mapping.values()]
    matched = [headers[i] for i in sorted(mapping)]
    d = Detection(header if mapping else None, found, missing, matched, header.extra)
    if not mapping:
        # Described, never quoted: in a file without a header row, the "headers" are a reader's data.
        d.reason, d.params = "imp_reason_nothing_known", {"count": len(headers)}
    elif not fits:
        d.reason = "imp_reason_required_missing"
        d.params = {"kind": kind.name, "missing": ", ".join(missing)}
    elif scored[1][0] and len(scored[1][3]) == len(mapping):
        d.reason, d.params = "imp_reason_two_kinds", {"kinds": f"{kind.name} / {scored[1][2].name}"}
    elif len(header.extra) > len(mapping):
        d.reason = "imp_reason_mostly_unknown"
        d.params = {"kind": kind.name, "known": ", ".join(matched), "count": len(headers)}
    return d


def detect_kind(headers: list[str]) -> HeaderMap:
    """The kind of a file that fits the contract as it is; refuse any other, saying why."""
    d = detect(headers)
    if not d.importable or d.header is None:
        raise d.error()
    return d.header
