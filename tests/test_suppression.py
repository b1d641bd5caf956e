"""Complementary suppression across a page: no card, total or change figure gives a hidden reader count away.

The story (one reader, one copy, one checkout each; every reader registers on the day of their one loan, so each is
new in that month; the readers of a month borrow on its days 1 to 28 in turn, and the last of all on 30 September):

- July 2024: 20 readers at B1 (a branch).
- August 2024: 41 readers at B1 and 6 at M1 (a micro-branch). Types: the 41 are 普通读者, the 6 少儿读者.
- September 2024: 30 readers at B1 and 12 at M1.

As an official on the readers page for August the card says 47 new readers. Before the rule was applied across the
page, the table by branch showed B1's 41 beside M1's `<10`, and 47 - 41 = 6 gave the hidden count back; the
cohort table did the same (other 41, micro `<10`). Both of each now hide: M1 `<10` (1 to 9) and B1 `x` (the
next-smallest of the sum the card shows). The micro card itself (6) is `<10`.

For September the micro card shows 12, and its change against August (+6) would give August's hidden 6: no
change is shown on it. The card of all new readers (42 against 47) keeps its change, -5.

On the loans page for August the card says 47 active readers; by reader type 普通读者 41 and 少儿读者 6: again 6 is
`<10` and 41 `x`; the overview's table by branch, beside its 47 card, likewise.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from microbranch import access, settings
from microbranch.i18n import t
from microbranch.ingest import import_file
from tests.accounts import open_tab, signed_in

BRANCHES = """branch_id,name,kind,host_type,lat,lon,opened_on,closed_on,public_access,volumes,host_population
B1,Town one,branch,,22.90,113.50,2015-01-01,,yes,500,
M1,Micro one,micro,enterprise,22.85,113.50,2023-04-01,,yes,100,300
"""
# (month, branch, readers, reader type)
STORY = ((7, "B1", 20, "普通读者"), (8, "B1", 41, "普通读者"), (8, "M1", 6, "少儿读者"), (9, "B1", 30, "普通读者"),
         (9, "M1", 12, "少儿读者"))


def files() -> list[tuple[str, str]]:
    readers = ["reader_id,registered_on,home_branch_id,birth_year,reader_type"]
    items = ["item_id,title,call_number,home_branch_id,owner,added_on"]
    events = ["event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id,channel,due_at"]
    n = 0
    for month, branch, count, kind in STORY:
        for i in range(count):
            n += 1
            day = 30 if n == sum(c for *_, c, _ in STORY) else 1 + i % 28  # the data runs to 30 September
            readers.append(f"r{n},2024-{month:02d}-{day:02d},{branch},1990,{kind}")
            items.append(f"I{n},Title {n},I247/{n},{branch},library,2020-01-01")
            events.append(f"E{n},2024-{month:02d}-{day:02d} 10:00:00,checkout,I{n},r{n},,{branch},counter,2024-12-31")
    return [("branches.csv", BRANCHES), ("readers.csv", "\n".join(readers) + "\n"),
            ("items.csv", "\n".join(items) + "\n"), ("events.csv", "\n".join(events) + "\n")]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("suppression")
    path = folder / "data" / "microbranch.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MICROBRANCH_KEY_FILE", str(folder / "secret" / "microbranch.key"))
        for name, text in files():
            import_file(path, (name, text.encode("utf-8")), user="test")
    return path


@pytest.fixture
def official(db: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - a function opening a page
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(db.parent.parent / "secret" / "microbranch.key"))
    monkeypatch.setenv("MICROBRANCH_DB", str(db))

    def run(page: str, **params: str) -> AppTest:
        return signed_in(settings.current().db, "official", page, timeout=120, **params)
    return run


def card(at: AppTest, label: str):  # noqa: ANN201 - AppTest's Metric
    return next(m for m in at.metric if m.label == label)


def table_with(at: AppTest, *columns: str) -> pl.DataFrame:
    return pl.from_pandas(next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns)))


def no_cell_from_a_sum(total: int, cells: list[str]) -> None:
    """A total shown beside its cells: the hidden ones are none or at least two, so no subtraction finds one."""
    hidden = [c for c in cells if c in access.SHOWN.values()]
    assert len(hidden) != 1, f"{total} - {[c for c in cells if c not in hidden]} gives the hidden cell away"


AUGUST = {"from": "2024-08-01", "to": "2024-08-31"}


def test_readers_page_card_minus_cell_gives_nothing_away(official):
    at = official("app_pages/readers.py", **AUGUST)
    assert card(at, "新读者").value == "47"
    assert card(at, "其中微分馆").value == "<10"
    by_branch = table_with(at, "分馆编号", "新读者").sort("分馆编号")
    no_cell_from_a_sum(47, by_branch["新读者"].to_list())
    assert by_branch["新读者"].to_list() == ["x", "<10"]  # B1 41, M1 6
    cohorts = table_with(at, "首借分馆", "新读者")
    no_cell_from_a_sum(47, cohorts["新读者"].to_list())
    assert sorted(cohorts["新读者"].to_list()) == ["<10", "x"]
    # Both charts would draw only hidden numbers: a sentence says so instead of empty axes.
    assert [i.value for i in at.info].count(t("rules_chart_hidden", "zh")) == 2
    assert not at.get("plotly_chart")


def test_readers_page_change_figure_does_not_give_the_previous_period_away(official):
    at = official("app_pages/readers.py", **{"from": "2024-09-01", "to": "2024-09-30"})
    micro = card(at, "其中微分馆")
    assert micro.value == "12" and not micro.delta  # +6 would say August's hidden 6
    assert card(at, "新读者").value == "42" and card(at, "新读者").delta == "-5"


def test_loans_page_reader_types_beside_the_active_readers_card(official):
    at = official("app_pages/loans.py", **AUGUST)
    assert card(at, "活跃读者").value == "47"
    at = open_tab(at, "loans_tab", t("mgr_who", "zh"))  # the readers' section runs when its tab is open
    types = table_with(at, "读者类型", "活跃读者").sort("读者类型")
    no_cell_from_a_sum(47, types["活跃读者"].to_list())
    assert dict(zip(types["读者类型"], types["活跃读者"], strict=True)) == {"少儿读者": "<10", "普通读者": "x"}


def test_overview_branch_table_beside_the_active_readers_card(official):
    at = official("app_pages/overview.py", **AUGUST)
    assert card(at, "活跃读者").value == "47"
    branches = table_with(at, "分馆编号", "活跃读者").sort("分馆编号")
    no_cell_from_a_sum(47, branches["活跃读者"].to_list())


def test_protect_one_month_card_minus_cell():
    """August alone: B1 41, M1 6, the card 47 = 41 + 6: with the 6 hidden the 41 is hidden too."""
    cells = pl.DataFrame({"branch": ["B1", "M1"], "readers": [41, 6]})
    plan = access.protect(cells, "readers", ("branch",))
    assert plan[("branch",)]["hidden"].to_list() == ["complementary", "primary"]
    assert plan[()]["hidden"].to_list() == [None]


def test_protect_hides_across_a_table_and_its_margins():
    """Cells by month and branch, with sums by month and group, by group and in all (the readers page's shapes).

    Month 8: B1 (other) 41, M1 (micro) 6; month 9: B1 30, M1 12. Margins: (8, other) 41, (8, micro) 6, (9, other) 30,
    (9, micro) 12; other 71, micro 18; all 89. The 6 is hidden (1 to 9) in the cells and in (8, micro). The micro
    card (18 = 6 + 12) would give it away, so the 12 is hidden too, in the cells and in (9, micro). The sum of all
    (89) now holds two hidden members, and 41, 30 and the cards stay shown: 89 - 41 - 30 = 18 = 6 + 12 only."""
    cells = pl.DataFrame({"month": [8, 8, 9, 9], "group": ["other", "micro", "other", "micro"],
                          "branch": ["B1", "M1", "B1", "M1"], "readers": [41, 6, 30, 12]})
    plan = access.protect(cells, "readers", ("month", "group", "branch"), (("month", "group"), ("group",), ()))
    assert plan[("month", "group", "branch")]["hidden"].to_list() == [None, "primary", None, "complementary"]
    assert plan[("month", "group")]["hidden"].to_list() == [None, "primary", None, "complementary"]
    assert plan[("group",)]["hidden"].to_list() == [None, None]
    assert plan[()]["hidden"].to_list() == [None]
