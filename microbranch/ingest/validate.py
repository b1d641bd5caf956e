"""Check every cell against the contract in one SQL pass: `raw` -> `checked(line, typed columns, problems)`.

Each problem is a struct (column, value, reason, severity); a row with a problem of severity `reject`
is rejected, a `warning` is reported but the row goes in.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from microbranch.contract import BOOL, KINDS, Column, HeaderMap

DATE_FORMATS = "['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M', '%Y-%m-%d']"
SCI_NOTATION = r"^[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$"
CONTROL = r"[\x00-\x1f\x7f]"  # NUL, tab, line breaks, escape...: never part of a real identifier

# Reject reasons are stored as catalogue keys (`reject_<reason>` in catalogue/imports.toml, with the `detail`
# filled in), so the list of rejects is read in the reader's language.
REASONS = ("missing", "control", "sci", "date", "no_such_day", "future", "number", "int", "enum", "code9", "code12",
           "lat", "lon", "isbn", "isbn_check", "owner_reader", "branch_unknown", "from_reader", "self_transfer",
           "branch_needed", "birth_year", "wrong_width", "unreadable_csv")
# Day-first or month-first dates (`01/02/2024`), read only when the user has said which.
DATE_ORDERS = {
    "dmy": "['%d-%m-%Y %H:%M:%S', '%d-%m-%Y %H:%M', '%d-%m-%Y']",
    "mdy": "['%m-%d-%Y %H:%M:%S', '%m-%d-%Y %H:%M', '%m-%d-%Y']",
}
AMBIGUOUS_DATE = r"^\s*[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _case(mapping: dict[str, str], expr: str) -> str:
    whens = " ".join(f"when {_lit(k.casefold())} then {_lit(v)}" for k, v in mapping.items())
    return f"(case lower({expr}) {whens} end)"


def _allowed(mapping: dict[str, str]) -> list[str]:
    """`enterprise/企业`: each stored value with its first other spelling."""
    out: dict[str, list[str]] = {}
    for spelling, value in mapping.items():
        out.setdefault(value, [value])
        if spelling != value and len(out[value]) < 2:
            out[value].append(spelling)
    return ["/".join(v) for v in out.values()]


def _number(v: str) -> str:
    return f"try_cast(replace(replace(replace({v}, ',', ''), '，', ''), ' ', '') as double)"


def _timestamp(v: str, date_order: str = "") -> str:
    """The canonical spellings parsed directly (what the general path gives them, at a fraction of the cost);
    anything else through the general path."""
    fast = f"(case length({v}) when 19 then try_strptime({v}, '%Y-%m-%d %H:%M:%S') " \
           f"when 10 then try_strptime({v}, '%Y-%m-%d') end)"
    return f"coalesce({fast}, case when {v} is not null then {_timestamp_any(v, date_order)} end)"


def _clean(v: str) -> str:
    """A date's text with its separators made `-` and its spaces single (`2024年1月5日` -> `2024-1-5`)."""
    norm = (
        f"regexp_replace(replace(replace(replace(replace(replace(replace({v}, '年', '-'), '月', '-'), '日', ' '),"
        f" '/', '-'), '.', '-'), 'T', ' '), '^([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})', '\\1-\\2-\\3')"
    )
    return f"trim(regexp_replace({norm}, '\\s+', ' ', 'g'))"


def _timestamp_any(v: str, date_order: str = "") -> str:
    clean = _clean(v)
    parsed = f"try_strptime({clean}, {DATE_FORMATS})"
    if date_order in DATE_ORDERS:
        parsed = f"coalesce({parsed}, try_strptime({clean}, {DATE_ORDERS[date_order]}))"
    return parsed


def _parse_sql(col: Column, v: str, date_order: str = "") -> str | None:
    """The parse of a column's text that its typed value and its checks share, computed once per cell."""
    if col.type in ("date", "timestamp"):
        return _timestamp(v, date_order)
    if col.type in ("number", "int", "lat", "lon"):
        return _number(v)
    return None


Check = tuple[str, str, str, str]  # (failure condition, reason key, severity, detail)


# Where the year, month and day stand in a date written in a date order (groups of the pattern below).
DATE_PARTS = {"": (r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})( |$)", 1, 2, 3),
              "dmy": (r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})( |$)", 3, 2, 1),
              "mdy": (r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})( |$)", 3, 1, 2)}


def _no_such_day(v: str, date_order: str) -> str:
    """True for a date written the right way (year first, or in the file's chosen order) whose day is not in its
    month (`31/11/2024`, `2023-02-29`). The cleaned text is written once, as a lambda's parameter: each copy of its
    nested replacements costs DuckDB time to plan, whether or not a row ever needs it."""

    def impossible(order: str) -> str:
        pattern, y, m, d = DATE_PARTS[order]

        def part(i: int) -> str:
            return f"try_cast(regexp_extract(c, {_lit(pattern)}, {i}) as integer)"

        return (f"coalesce(case when {part(m)} between 1 and 12 and {part(d)} between 1 and 31 and {part(y)} >= 1 "
                f"then {part(d)} > day(last_day(make_date({part(y)}, {part(m)}, 1))) end, false)")

    orders = ["", date_order] if date_order in DATE_PARTS and date_order else [""]
    return f"list_transform([{_clean(v)}], lambda c: {' or '.join(impossible(o) for o in orders)})[1]"


def _column_sql(col: Column, v: str, parsed: str | None = None, date_order: str = "") -> tuple[str, list[Check]]:
    """(typed expression, [(failure condition, reason, severity, detail)]) for one column; `v` is the trimmed text
    and `parsed` names the column holding `_parse_sql(col, v)`, if it was computed beforehand. An optional
    (lenient) cell that breaks its rule is a warning, and its typed value is empty."""
    typed, checks = _column_checks(col, v, parsed or _parse_sql(col, v, date_order), date_order)
    if col.lenient:
        bad = [c for c in checks if c[2] == "reject"]
        checks = [(cond, reason, "warning", detail) for cond, reason, _, detail in checks]
        if bad:
            typed = f"case when {' or '.join(f'coalesce({c[0]}, false)' for c in bad)} then null else {typed} end"
    return typed, checks


def _column_checks(col: Column, v: str, parsed: str | None, date_order: str = "") -> tuple[str, list[Check]]:
    checks: list[Check] = []
    if col.required:
        checks.append((f"{v} is null", "missing", "reject", ""))
    t = col.type
    if t in ("id", "reader"):
        typed = v
        # Only a value with an `e` can be in scientific notation: the regular expression runs on those alone.
        checks.append((f"case when contains({v}, 'e') or contains({v}, 'E') then regexp_matches({v}, '{SCI_NOTATION}') "
                       "end", "sci", "reject", ""))
        checks.append((f"regexp_matches({v}, '{CONTROL}')", "control", "reject", ""))
    elif t in ("date", "timestamp"):
        typed = f"{parsed}::date" if t == "date" else parsed
        # the right form but a day its month does not have is said so; any other unreadable text is "not a date"
        impossible = f"(case when {v} is not null and {parsed} is null then {_no_such_day(v, date_order)} end)"
        checks.append((impossible, "no_such_day", "reject", ""))
        checks.append((f"{v} is not null and {parsed} is null and not {impossible}", "date", "reject", ""))
        if t == "timestamp":
            checks.append((f"{parsed} > $now", "future", "reject", ""))
    elif t == "number":
        typed = parsed
        checks.append((f"{v} is not null and {typed} is null", "number", "reject", ""))
    elif t == "int":
        num = parsed
        typed = f"try_cast({num} as bigint)"
        checks.append((f"{v} is not null and ({num} is null or {num} < 0 or {num} <> floor({num}))",
                       "int", "reject", ""))
    elif t in ("enum", "coord", "bool"):
        mapping = BOOL if t == "bool" else col.values
        typed = _case(mapping, v)
        allowed = "是/yes, 否/no" if t == "bool" else ", ".join(_allowed(mapping))
        checks.append((f"{v} is not null and {typed} is null", "enum", "reject", allowed))
        if t == "bool":
            typed = f"coalesce({typed}::boolean, true)"
        elif t == "coord":
            typed = f"coalesce({typed}, 'wgs84')"
    elif t in ("code9", "code12"):
        n = 9 if t == "code9" else 12
        typed = v
        checks.append((f"not regexp_matches({v}, '^[0-9]{{{n}}}$')", t, "reject", ""))
    elif t in ("lat", "lon"):
        typed = parsed
        bound = 90 if t == "lat" else 180
        checks.append((f"{v} is not null and ({typed} is null or abs({typed}) > {bound})", t, "reject", ""))
    elif t == "isbn":
        digits = f"upper(regexp_replace({v}, '[-\\s]', '', 'g'))"
        typed = digits
        checks.append((f"{v} is not null and not regexp_matches({digits}, '^([0-9]{{9}}[0-9X]|[0-9]{{13}})$')",
                       "isbn", "reject", ""))
        checks.append((f"{v} is not null and regexp_matches({digits}, '^([0-9]{{9}}[0-9X]|[0-9]{{13}})$') "
                       f"and not isbn_ok({digits})", "isbn_check", "warning", ""))
    else:
        typed = v
    return typed, checks


def _row_rules(kind: str) -> list[tuple[str, str, str, str]]:
    """Rules across columns: (column, condition, reason, severity) on the typed values."""
    if kind == "items":
        return [
            ("owner_reader_id", "owner = 'reader' and owner_reader_id is null", "owner_reader", "reject"),
            ("home_branch_id", "home_branch_id is not null and home_branch_id not in (select branch_id from branches)",
             "branch_unknown", "reject"),
        ]
    if kind == "events":
        return [
            ("from_reader_id", "action = 'transfer' and from_reader_id is null", "from_reader", "reject"),
            ("from_reader_id", "action = 'transfer' and from_reader_id = reader_id", "self_transfer",
             "reject"),
            ("branch_id", "action in ('checkout', 'return') and branch_id is null", "branch_needed",
             "reject"),
        ]
    if kind == "readers":
        return [("birth_year", "birth_year not between 1900 and year(current_date)", "birth_year", "reject")]
    return []


ISBN_MACRO = """
create or replace temp macro isbn_ok(d) as case
    when length(d) = 13 then (10 - (list_sum(list_transform(range(12),
        lambda i: (ascii(d[i + 1]) - 48) * (case when i % 2 = 0 then 1 else 3 end))) % 10)) % 10 = ascii(d[13]) - 48
    else (list_sum(list_transform(range(10),
        lambda i: (case when d[i + 1] = 'X' then 10 else ascii(d[i + 1]) - 48 end) * (10 - i))) % 11) = 0
end
"""


def _problem(flag: str, column: str, value: str, reason: str, severity: str, detail: str = "") -> str:
    return (f"case when {flag} then {{'column': {_lit(column)}, 'value': {value}, 'reason': {_lit(reason)}, "
            f"'severity': {_lit(severity)}, 'detail': {_lit(detail)}}} end")


def _trimmed(cell: str) -> str:
    """The cell without surrounding spaces, empty as null; trim() only where there is something to trim."""
    return f"nullif(case when {cell} like ' %' or {cell} like '% ' then trim({cell}) else {cell} end, '')"


def _source(col: Column, by_name: dict[str, int], header: HeaderMap) -> str:
    """The trimmed text of a field: its column's cell (through the user's value mapping), or the constant."""
    if col.name in by_name:
        text = _trimmed(f"c{by_name[col.name]}")
        values = header.values.get(col.name)
        if values:
            whens = " ".join(f"when {_lit(k.strip().casefold())} then {_lit(v)}" for k, v in values.items())
            text = f"coalesce(case lower({text}) {whens} end, {text})"
        return text
    if header.constants.get(col.name, "").strip():
        return f"{_lit(header.constants[col.name].strip())}::varchar"
    return "null::varchar"


def ambiguous_dates(con: duckdb.DuckDBPyConnection, header: HeaderMap) -> tuple[str, str] | None:
    """(the file's column, an example) when a date column holds day/month/year or month/day/year dates (`01/02/2024`)
    and the user has not said which; None otherwise. Looks at the rows in `raw`."""
    if header.date_order in DATE_ORDERS:
        return None
    kind = KINDS[header.kind]
    for i, name in sorted(header.mapping.items()):
        if kind.column(name).type in ("date", "timestamp"):
            hit = con.sql(f"select any_value(c{i}) from raw where regexp_matches(c{i}, $p)",
                          params={"p": AMBIGUOUS_DATE}).fetchall()[0][0]
            if hit is not None:
                return header.headers[i], hit.strip()
    return None


def check(con: duckdb.DuckDBPyConnection, header: HeaderMap, now: datetime) -> None:
    """Create the temp table `checked(line, typed columns, rejected, problems)` from `raw`.

    Each check is first a boolean column; the list of problems is built only for the rare row that has one.
    """
    kind = KINDS[header.kind]
    con.sql(ISBN_MACRO)
    by_name = {name: i for i, name in header.mapping.items()}
    texts, parses, typed, flags, cell_problems, cell_rejects = [], [], [], [], [], []
    for col in kind.columns:
        src = _source(col, by_name, header)
        texts.append(f"{src} as {col.name}")
        parse = _parse_sql(col, f"t0.{col.name}", header.date_order)
        if parse:
            parses.append(f"{parse} as __parsed_{col.name}")
        expr, checks = _column_sql(col, f"t.{col.name}", f"t.__parsed_{col.name}" if parse else None,
                                   header.date_order)
        typed.append(f"{expr} as {col.name}")
        for cond, reason, severity, detail in checks:
            flag = f"__f{len(flags)}"
            flags.append(f"coalesce({cond}, false) as {flag}")
            cell_problems.append(_problem(flag, col.name, f"__text_{col.name}", reason, severity, detail))
            if severity == "reject":
                cell_rejects.append(flag)
    texts_kept = ", ".join(f"t.{c.name} as __text_{c.name}" for c in kind.columns)
    # Row rules look at the typed values, and only at rows whose cells are fine, so a row is not blamed twice.
    cells_ok = f"not ({' or '.join(cell_rejects)})" if cell_rejects else "true"
    rule_flags, rule_problems, rule_rejects = [], [], []
    for col, cond, reason, severity in _row_rules(kind.name):
        flag = f"({cells_ok} and coalesce({cond}, false))"
        rule_flags.append(flag)
        rule_problems.append(_problem(flag, col, f"__text_{col}", reason, severity))
        if severity == "reject":
            rule_rejects.append(flag)
    any_problem = " or ".join([f"__f{i}" for i in range(len(flags))] + rule_flags) or "false"
    rejected = " or ".join(cell_rejects + rule_rejects) or "false"
    problems = ", ".join(cell_problems + rule_problems)
    names = ", ".join(c.name for c in kind.columns)
    sql = f"""
        create or replace temp table checked as
        with t0 as (select line, {', '.join(texts)} from raw),
        t as (select *, {', '.join(parses) or 'null as __none'} from t0),
        typed as (select line, {', '.join(typed)}, {texts_kept}{''.join(', ' + f for f in flags)} from t)
        select
            line, {names},
            {rejected} as rejected,
            case when {any_problem} then list_filter([{problems}], lambda p: p is not null) end as problems,
        from typed
    """
    con.sql(sql, params={"now": now} if "$now" in sql else None)
