"""Whatever a workbook's structure (cells anywhere, any `<dimension>`, the sheet stored under any path, tags with
any prefix, texts inline or shared, cell references or none), its preview either shows it within the limits
(200 columns, 1,048,576 rows) or refuses it in one sentence; the calling process never ends (issue 19)."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from microbranch.contract import ContractError
from microbranch.ingest import limits
from microbranch.ingest.isolated import preview_isolated
from tests import workbooks

COLUMNS = st.one_of(st.integers(1, 6), st.sampled_from([26, 27, 199, 200, 201, 702, 703, 16384]))
ROWS = st.one_of(st.integers(1, 12), st.sampled_from([1000, 1_048_575, 1_048_576, 1_048_577, 9_999_999]))
TEXTS = st.one_of(st.sampled_from(["分馆编号", "分馆名称", "M1", "=1+1", "", " ", "2024-04-01"]), st.text(max_size=8))
PATHS = ["xl/worksheets/sheet1.xml", "xl/worksheets/Sheet 2.xml", "xl/data/rows.xml", "elsewhere/r.xml",
         "xl/worksheets/../odd/s.xml"]
PREFIXES = ["", "x", "ss", "a.b-c"]


@st.composite
def small_workbooks(draw: st.DrawFn) -> bytes:
    cells = draw(st.dictionaries(st.tuples(ROWS, COLUMNS), TEXTS, min_size=1, max_size=12))
    rows: dict[int, list[workbooks.Cell]] = {}
    for (r, c), text in sorted(cells.items()):
        rows.setdefault(r, []).append((f"{workbooks.letters(c)}{r}", text))
    dimension = draw(st.one_of(st.none(), st.builds(
        lambda c1, r1, c2, r2: f"{workbooks.letters(c1)}{r1}:{workbooks.letters(c2)}{r2}", COLUMNS, ROWS, COLUMNS,
        ROWS), st.sampled_from(["A1", "", "ZZZZ9", "A0:B-1"])))
    return workbooks.workbook(list(rows.values()), sheet_path=draw(st.sampled_from(PATHS)),
                              prefix=draw(st.sampled_from(PREFIXES)), dimension=dimension,
                              shared_strings=draw(st.booleans()), refs=draw(st.booleans()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=small_workbooks())
def test_a_random_workbook_is_previewed_within_the_limits_or_refused_in_one_sentence(db, data):
    try:
        p = preview_isolated(data, "random.xlsx", lang="zh", db=db)
    except ContractError as exc:
        event(f"refused: {exc.key}")
        for lang in ("zh", "en"):
            text = exc.text(lang)
            assert text and "\n" not in text and "Traceback" not in text and not text.startswith("imp_"), text
        return
    event("previewed")
    assert len(p.headers) <= limits.MAX_COLUMNS
    assert p.records <= limits.MAX_XLSX_ROWS
    assert p.rows is None or p.rows.height <= 10
