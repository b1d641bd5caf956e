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
    checkout=("借出", "借书", "外借"),
    **{"return": ("归还", "还书")},
    renew=("续借",),
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
            Column("host_type", "enum", ("合作单位类型", "共建单位类型"), False, HOST_TYPE),
            Column("town_code", "code9", ("街镇代码",)),
            Column("address", "text", ("地址",)),
            Column("lat", "lat", ("纬度",), True),
            Column("lon", "lon", ("经度",), True),
            Column("coord_system", "coord", ("坐标系",), False, COORD),
            Column("opened_on", "date", ("开馆日期", "成立日期"), True),
            Column("closed_on", "date", ("闭馆日期",)),
            Column("public_access", "bool", ("对外开放", "是否对公众开放")),
            Column("host_population", "int", ("服务单位人数", "职工人数", "在校人数")),
            Column("volumes", "int", ("藏书量", "馆藏册数")),
        )),
        Kind("items", "馆藏", ("item_id",), (
            Column("item_id", "id", ("条码号", "册条码号", "条码", "图书条码"), True),
            Column("title", "text", ("题名", "书名", "正题名"), True),
            Column("author", "text", ("责任者", "著者", "作者")),
            Column("isbn", "isbn", ("ISBN", "国际标准书号")),
            Column("call_number", "text", ("索书号", "分类号", "中图分类号")),
            Column("home_branch_id", "id", ("馆藏地", "所属馆", "所属分馆")),
            Column("owner", "enum", ("来源", "所有者"), False, OWNER),
            Column("owner_reader_id", "reader", ("共享读者证号",)),
            Column("added_on", "date", ("入藏日期", "登记日期")),
            Column("price", "number", ("价格", "单价")),
        )),
        Kind("readers", "读者", ("reader_id",), (
            Column("reader_id", "reader", ("读者证号", "读者证条码号", "借书证号", "证号"), True),
            Column("registered_on", "date", ("办证日期", "注册日期")),
            Column("home_branch_id", "id", ("办证馆", "注册馆")),
            Column("community_code", "code12", ("社区代码", "居委会代码")),
            Column("birth_year", "int", ("出生年份",)),
            Column("reader_type", "text", ("读者类型", "读者类别")),
        )),
        Kind("events", "流通记录", ("event_id",), (
            Column("event_id", "id", ("流水号", "记录号")),
            Column("occurred_at", "timestamp", ("操作时间", "借阅时间", "借书日期", "时间"), True),
            Column("action", "enum", ("操作类型", "操作", "类型"), True, ACTION),
            Column("item_id", "id", ("条码号", "册条码号"), True),
            Column("reader_id", "reader", ("读者证号",), True),
            Column("from_reader_id", "reader", ("转出读者证号", "转借人")),
            Column("branch_id", "id", ("操作馆", "借阅馆", "分馆编号")),
            Column("channel", "enum", ("渠道", "方式"), False, CHANNEL),
            Column("due_at", "date", ("应还日期",)),
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

# Columns holding a reader's personal data: never stored, whatever the kind of file.
PERSONAL = ("姓名", "名字", "读者姓名", "手机", "电话", "联系电话", "手机号", "手机号码", "身份证", "身份证号",
            "证件号", "证件号码", "住址", "家庭住址", "联系地址", "邮箱", "电子邮箱", "微信", "phone", "mobile",
            "tel", "telephone", "email", "idcard", "idnumber", "idno", "readername", "fullname", "homeaddress")


def normalise_header(text: str) -> str:
    """Fold case, width, spaces, underscores, hyphens and a BOM away: `读者 证号`, `Reader_ID` match."""
    folded = unicodedata.normalize("NFKC", text).replace("\ufeff", "").casefold()
    return re.sub(r"[\s_\-]+", "", folded)


def is_personal(header: str, kind: str) -> bool:
    h = normalise_header(header)
    if kind == "readers" and h in ("name", "address", "地址", "名称"):
        return True
    return any(normalise_header(p) in h for p in PERSONAL)


@dataclass
class HeaderMap:
    kind: str
    mapping: dict[int, str]  # file column index -> canonical column
    dropped: list[str]  # personal columns, never stored
    extra: list[str]  # unknown columns, reported but not stored
    headers: list[str]

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


class ContractError(ValueError):
    """A whole file does not fit the contract; the message says what to do."""


def _match(kind: Kind, headers: list[str]) -> dict[int, str]:
    lookup: dict[str, str] = {}
    for col in kind.columns:
        for spelling in (col.name, *col.aliases):
            lookup.setdefault(normalise_header(spelling), col.name)
    mapping: dict[int, str] = {}
    for i, h in enumerate(headers):
        name = lookup.get(normalise_header(h))
        if name and name not in mapping.values():
            mapping[i] = name
    return mapping


def detect_kind(headers: list[str]) -> HeaderMap:
    """Recognise the kind of a file from its headers; refuse one that matches none, or two."""
    if not any(h.strip() for h in headers):
        raise ContractError("The file has no header row. 文件没有表头行。")
    fits = []
    for kind in KINDS.values():
        mapping = _match(kind, headers)
        if set(kind.required) <= set(mapping.values()):
            fits.append((kind, mapping))
    if len(fits) > 1:
        # A file with more of one kind's columns is that kind (an events file names its branch too).
        fits.sort(key=lambda f: len(f[1]) - len(f[0].columns) / 100, reverse=True)
        if len(fits[0][1]) == len(fits[1][1]):
            names = " / ".join(f[0].name for f in fits[:2])
            raise ContractError(
                f"The headers fit more than one kind of file ({names}); rename the columns to one kind's names. "
                f"表头同时符合多种文件类型（{names}），请按其中一种改列名。"
            )
    if not fits:
        expected = "; ".join(
            f"{k.name} ({k.label_zh}): " + ", ".join(f"{c}/{k.column(c).aliases[0]}" for c in k.required)
            for k in KINDS.values()
        )
        # Described, never quoted: in a file without a header row, the "headers" are a reader's data.
        spellings = {normalise_header(s) for k in KINDS.values() for c in k.columns for s in (c.name, *c.aliases)}
        known = [h for h in headers if normalise_header(h) in spellings]
        found = f"{len(headers)} columns, {len(known)} with a known name" + (f" ({', '.join(known)})" if known else "")
        raise ContractError(
            f"The headers match no kind of file (or the file has no header row). Found {found}. Expected the "
            f"required columns of one of: {expected}. 表头不符合任何一种文件类型（或文件没有表头行），请检查列名。"
        )
    kind, mapping = fits[0]
    dropped = [h for i, h in enumerate(headers) if i not in mapping and is_personal(h, kind.name)]
    extra = [h for i, h in enumerate(headers) if i not in mapping and h not in dropped]
    return HeaderMap(kind.name, mapping, dropped, extra, headers)
