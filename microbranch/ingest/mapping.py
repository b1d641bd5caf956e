"""A user's column mapping: which contract field each column of a file holds, constants for the fields a file
lacks, the file's own words for enum values (`借书` -> `checkout`), and the date order when dates are ambiguous.

A mapping is what a saved profile stores (see `microbranch.profiles`); as JSON it is a small file a colleague
can import. Headers are matched the way the contract matches them (case, width, spaces and underscores aside).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from microbranch.contract import KINDS, ContractError, HeaderMap, is_personal, normalise_header

# Headers that hold a call number: a call number names a title, not a copy, so it cannot stand for `item_id`.
CALL_NUMBER = {normalise_header(h) for h in ("索书号", "分类号", "中图分类号", "call_number", "callnumber", "callno",
                                             "itemcallnumber", "call no", "索取号")}
IGNORE = ""


def signature(headers: list[str]) -> str:
    """A file's header signature: the normalised headers in order, hashed (the same export gives the same one)."""
    text = "\x1f".join(normalise_header(h) for h in headers)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Mapping:
    kind: str
    columns: dict[str, str]  # the file's header -> contract field ("" = ignore)
    constants: dict[str, str] = field(default_factory=dict)  # field -> text every row gets
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> {file's value: contract value}
    date_order: str = ""  # "", "dmy" or "mdy"
    name: str = ""
    built_from: str = ""  # what the mapping was made from, in a sentence (shipped profiles say their source)
    headers: list[str] = field(default_factory=list)  # the headers it was made for (gives its signature)

    @property
    def signature(self) -> str:
        return signature(self.headers or list(self.columns))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Mapping:
        """A mapping from its JSON (a saved or a colleague's profile), checked whole: `check`."""
        try:
            raw = json.loads(text)
            known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
            m = cls(**known)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise ContractError("imp_reason_bad_profile", detail=str(exc)[:200]) from None
        m.check()
        return m

    def check(self) -> None:
        """Refuse a mapping that is not made of what a mapping holds (texts where texts belong, known fields of
        its kind), or that puts a personal column onto any field but a reader id."""
        def texts(value: object, what: str) -> None:
            if not isinstance(value, str):
                raise ContractError("imp_reason_bad_profile", detail=f"{what}: expected a text, found "
                                    f"{type(value).__name__} {str(value)[:40]!r}")

        def table(value: object, what: str) -> dict:
            if not isinstance(value, dict):
                raise ContractError("imp_reason_bad_profile", detail=f"{what}: expected an object of texts, found "
                                    f"{type(value).__name__}")
            return value

        texts(self.kind, "kind")
        if self.kind not in KINDS:
            raise ContractError("imp_reason_unknown_kind", kind=self.kind[:40])
        for name in ("date_order", "name", "built_from"):
            texts(getattr(self, name), name)
        if self.date_order not in ("", "dmy", "mdy"):
            raise ContractError("imp_reason_bad_profile", detail=f"date_order: expected dmy or mdy, found "
                                f"{self.date_order[:20]!r}")
        if not isinstance(self.headers, list):
            raise ContractError("imp_reason_bad_profile", detail="headers: expected a list of texts")
        for h in self.headers:
            texts(h, "headers")
        names = {c.name for c in KINDS[self.kind].columns}
        for what, fields in (("columns", table(self.columns, "columns")),
                             ("constants", table(self.constants, "constants"))):
            for key, value in fields.items():
                texts(value, f"{what}[{key[:40]!r}]")
                f = value if what == "columns" else key
                if f != IGNORE and f not in names:
                    raise ContractError("imp_reason_unknown_field", kind=self.kind, field=f[:40])
        for f, words in table(self.values, "values").items():
            for key, value in table(words, f"values[{f[:40]!r}]").items():
                texts(value, f"values[{f[:40]!r}][{key[:40]!r}]")
        personal_onto_field(self.kind, self.columns)

    def header_map(self, headers: list[str]) -> HeaderMap:
        """Apply the mapping to a file's headers; refuse, saying why, when it cannot make valid rows."""
        self.check()
        return self._header_map(headers)

    def _header_map(self, headers: list[str]) -> HeaderMap:
        kind = KINDS[self.kind]
        names = {c.name for c in kind.columns}
        wanted = {normalise_header(h): f for h, f in self.columns.items() if f != IGNORE}
        for f in [*wanted.values(), *self.constants]:
            if f not in names:
                raise ContractError("imp_reason_unknown_field", kind=self.kind, field=f)
        present = {normalise_header(h) for h in headers}
        missing = [h for h, f in self.columns.items() if f != IGNORE and normalise_header(h) not in present]
        if missing:
            raise ContractError("imp_reason_profile_headers", name=self.name or "—", missing=", ".join(missing))
        mapping: dict[int, str] = {}
        for i, h in enumerate(headers):
            f = wanted.get(normalise_header(h))
            if f is None:
                continue
            if f in mapping.values() or self.constants.get(f, "").strip():
                given = [headers[j] for j, g in mapping.items() if g == f] + [h]
                if self.constants.get(f, "").strip():
                    given.append(repr(self.constants[f]))
                raise ContractError("imp_reason_field_twice", kind=self.kind, field=f, sources=", ".join(given))
            if f == "item_id" and normalise_header(h) in CALL_NUMBER:
                raise ContractError("imp_reason_call_number", kind=self.kind, column=h, field="item_id")
            mapping[i] = f
        constants = {f: v.strip() for f, v in self.constants.items() if v.strip()}
        unmapped = [c for c in kind.required if c not in mapping.values() and c not in constants]
        if unmapped:
            raise ContractError("imp_reason_required_unmapped", kind=self.kind, fields=", ".join(unmapped))
        dropped = [h for i, h in enumerate(headers) if i not in mapping and is_personal(h, kind.name)]
        extra = [h for i, h in enumerate(headers) if i not in mapping and h not in dropped]
        values = {f: {k: v for k, v in vals.items() if v} for f, vals in self.values.items() if vals}
        return HeaderMap(kind.name, mapping, dropped, extra, headers, constants, values, self.date_order)


def reader_fields(kind: str) -> list[str]:
    """The fields of a kind that hold a reader's card number (pseudonymised on the way in)."""
    return [c.name for c in KINDS[kind].columns if c.type == "reader"]


def personal_onto_field(kind: str, columns: dict[str, str]) -> None:
    """Refuse a personal column (name, phone, ID number, address, e-mail: the contract's words) mapped onto any
    field but a reader id: its values would be stored as they are, for anyone who sees that field."""
    allowed = set(reader_fields(kind))
    for header, f in columns.items():
        if f != IGNORE and f not in allowed and is_personal(header, kind):
            raise ContractError("imp_reason_personal_field", kind=kind, column=header[:80], field=f)


def from_header(header: HeaderMap, name: str = "") -> Mapping:
    """The mapping that says what automatic recognition found (a starting point for the user's own)."""
    columns = {h: header.mapping.get(i, IGNORE) for i, h in enumerate(header.headers)}
    return Mapping(header.kind, columns, dict(header.constants), dict(header.values), header.date_order, name,
                   headers=list(header.headers))
