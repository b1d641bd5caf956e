"""The pages on a generated city of 1,000 branches (tests/scale.py), signed in as each role: no page sends a table of
more rows than the kit allows (the long lists paged on the server, the whole list a download); every chart over
branches draws at most the top branches and "others"; the one-branch page; cached pieces never cross roles."""

from __future__ import annotations

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from microbranch import access
from tests.accounts import signed_in
from tests.scale import city
from ui import charts, kit

SHOWN = 200  # rows a table may send in these tests: fewer than the city's branches (1,000)


@pytest.fixture(scope="module")
def city_db(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        db = city(tmp_path_factory.mktemp("city"), mp)
        mp.setenv("MICROBRANCH_DB", str(db))
        yield db


def bars(at: AppTest, db) -> list[int]:
    """The number of bars of each horizontal bar chart over branches (its bars named by branch) on the page."""
    import json

    from microbranch import queries, storage
    from ui.shell import short_name

    names = queries.run(storage.reader(db), "branch_list")["name"].to_list()
    branches = {*names, *(short_name(n) for n in names)}
    counts = []
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        for trace in figure["data"]:
            ys = trace.get("y") or []
            if trace.get("type") == "bar" and trace.get("orientation") == "h" and set(ys) & branches:
                counts.append(len(ys))
    return counts


@pytest.mark.parametrize("name", [p for p in access.PAGES if access.may_open("manager", p)])
def test_no_page_sends_a_table_longer_than_allowed(city_db, monkeypatch, name):
    monkeypatch.setattr(kit, "ROWS_SHOWN", SHOWN)
    at = signed_in(city_db, "manager", f"app_pages/{name}.py", timeout=300)
    sizes = [len(d.value) for d in at.dataframe]
    assert all(n <= SHOWN for n in sizes), f"{name}: tables of {sizes} rows"
    drawn = bars(at, city_db)
    assert all(n <= charts.TOP + 1 for n in drawn), f"{name}: bar charts over branches of {drawn} bars"


def test_long_lists_come_a_page_at_a_time_with_the_total(city_db):
    from tests.accounts import open_tab

    at = signed_in(city_db, "manager", "app_pages/loans.py", timeout=300)
    at = open_tab(at, "loans_tab", "从未借出的馆藏（剔旧参考）")
    pages = [d for d in at.dataframe if len(d.value) == kit.PAGE_ROWS]
    assert pages, "no paged list on the loans page"
    said = [c.value for c in at.caption if "共" in c.value and "行" in c.value]
    assert said, "no caption says how many rows the list has"
    at.selectbox(key="never_order").set_value("call_number").run()
    at.number_input(key="never_page").set_value(2).run()
    assert not at.exception


def test_a_list_longer_than_an_excel_sheet_is_not_offered_as_one_file(city_db, monkeypatch):
    from tests.accounts import open_tab

    def never_list() -> AppTest:
        at = signed_in(city_db, "manager", "app_pages/loans.py", timeout=300)
        return open_tab(at, "loans_tab", "从未借出的馆藏（剔旧参考）")

    keys = [b.key for b in never_list().get("download_button")]
    assert "dl_never" in keys
    monkeypatch.setattr(kit, "EXCEL_ROWS", 2)  # a sheet of a heading and one row: the list is longer
    at = never_list()
    assert "dl_never" not in [b.key for b in at.get("download_button")]
    said = [c.value for c in at.caption if "Excel" in c.value]
    assert said and "1 行" in said[0], said
    assert not [c.value for c in at.caption if "完整列表见下载" in c.value]


def test_the_one_branch_page(city_db):
    at = signed_in(city_db, "manager", "app_pages/branch.py", timeout=300)
    assert not at.header  # no branch chosen yet: the page asks for one
    branch = at.selectbox(key="one_branch")
    some = branch.options[5]
    branch.select_index(5).run()
    assert not at.exception
    assert at.query_params["branch"] == [at.selectbox(key="one_branch").value] or at.query_params["branch"]
    assert at.header and at.header[0].value  # the branch's name
    assert len(at.metric) >= 5
    chains = [d for d in at.dataframe if len(d.value) <= kit.PAGE_ROWS]
    assert chains, some


def test_the_one_branch_page_at_its_address(city_db):
    at = signed_in(city_db, "official", "app_pages/branch.py", timeout=300, branch="B0001")
    assert not at.exception
    assert at.selectbox(key="one_branch").value == "B0001"
    assert at.header and at.header[0].value


def test_shared_figures_differ_by_role_where_the_privacy_rules_do(city_db):
    """The figures are made once and shared by every session of the same role: the manager's reader counts of one
    micro-branch (most under 10) are drawn for the manager; the official, who views the same page with the same
    filters after, gets a figure of her own with those counts left out, never the manager's."""
    from microbranch import queries, storage
    from tests.accounts import open_tab

    micro = queries.run(storage.reader(city_db), "branch_list").filter(pl.col("kind") == "micro")["branch_id"][3]

    def who(role: str) -> tuple[list, list]:
        at = open_tab(signed_in(city_db, role, "app_pages/loans.py", timeout=300, branches=micro), "loans_tab",
                      "谁在借：读者类型与年龄段")
        import json

        specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        drawn = [s for s in specs if "按读者类型的借阅人次" in json.dumps(s, ensure_ascii=False)]
        tables = [d.value for d in at.dataframe if "活跃读者" in d.value.columns]
        return drawn, tables

    manager, manager_tables = who("manager")
    official, official_tables = who("official")
    assert manager and official
    assert manager != official
    shown = [str(v) for t in official_tables for v in t["活跃读者"].tolist()]
    assert "<10" in shown or "x" in shown, shown
    assert not [v for t in manager_tables for v in t["活跃读者"].tolist() if str(v) in ("<10", "x")]


@pytest.mark.parametrize("odd", ["NOPE", "<script>alert(1)</script>", "\x00", ""])
def test_the_one_branch_page_with_an_odd_address_asks_for_a_branch(city_db, odd):
    at = signed_in(city_db, "manager", "app_pages/branch.py", timeout=300, branch=odd)
    assert at.selectbox(key="one_branch").value is None
    assert any(i.value == "请选择一个分馆。" for i in at.info)
    assert not at.header


def test_lists_of_names_are_cut_on_screen_and_whole_in_the_query(city_db):
    from microbranch import queries, storage
    from microbranch.i18n import t

    at = signed_in(city_db, "manager", "app_pages/stock.py", timeout=300)
    heading = t("circ_col_to_branches", "zh")
    grid = next(d.value for d in at.dataframe if heading in d.value.columns)
    whole = queries.run(storage.reader(city_db), "moves_by_branch")
    assert 0 < len(grid) <= whole.height  # the first stops (the kit's rows sent, maybe set lower by a test above)
    long = 0
    for cell, names in zip(grid[heading], whole["to_branches"].head(len(grid)).to_list(), strict=True):
        listed = names.split("、")
        if len(listed) <= kit.BRIEF:
            assert cell == names
            continue
        long += 1
        assert cell == "、".join(listed[:kit.BRIEF]) + t("pages_more_names", "zh", n=len(listed) - kit.BRIEF)
    assert long, "no stop of the city sends copies to more branches than a cell shows"
