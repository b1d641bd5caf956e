"""The managers' views in Streamlit's AppTest: with one branch selected every card is the sum of that branch's rows
in the table beside it; cards compare with the previous period and a year earlier when the data holds them, and
say why not in their tooltip when it does not (on the story of test_queries_managers, and on the sample data)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from microbranch import sample, settings
from microbranch.i18n import t
from microbranch.ingest import import_file
from sample_data.generate import generate
from tests.accounts import open_tab, signed_in
from tests.test_queries_managers import build

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
# A year earlier: I5 lent and returned at B1 in August 2023, so the data begins on 2023-08-10.
YEAR_BEFORE = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id,channel,due_at
X1,2023-08-10 10:00:00,checkout,I5,r4,,B1,counter,2023-09-09
X2,2023-08-25 10:00:00,return,I5,r4,,B1,counter,
"""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    path = build(tmp_path)
    import_file(path, ("events_2023.csv", YEAR_BEFORE.encode()), user="test")
    monkeypatch.setenv("MICROBRANCH_DB", str(path))
    return path


def run(page: str, role: str | None = None, **params: str) -> AppTest:
    """`page` signed in as `role` (None: the single local user, who has every role)."""
    return signed_in(settings.current().db, role, page, timeout=120, **params)


def card(at: AppTest, label: str):  # noqa: ANN201 - AppTest's Metric
    return next(m for m in at.metric if m.label == label)


def value(at: AppTest, label: str) -> int:
    return int(card(at, label).value.replace(",", ""))


def table_with(at: AppTest, *columns: str) -> pl.DataFrame:
    return pl.from_pandas(next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns)))


def test_overview_cards_are_the_branch_rows(db):
    at = run("app_pages/overview.py", branches="M1")
    rows = table_with(at, "分馆编号", "借阅人次").filter(pl.col("分馆编号") == "M1")
    for word in ("借阅人次", "借出", "转借", "活跃读者"):
        assert value(at, word) == rows[word].sum(), word
    assert value(at, "借阅人次") == 4  # E6 E8 E9 E10
    assert card(at, "覆盖居民（全区）")  # residents cannot follow a branch: the label says whose they are


def test_a_closed_box_sends_no_table_until_it_is_opened(db):
    """The branch tables under the charts are made and sent when their box is opened; one chosen branch opens the
    overview's and loans page's at once."""
    for page, key, heading in (("overview", "overview_table_box", "活跃读者"), ("loans", "loans_table_box", "续借"),
                               ("stock", "stock_table_box", "架上他馆书"), ("readers", "new_readers_box", "新读者")):
        at = signed_in(settings.current().db, None, f"app_pages/{page}.py", timeout=120, opened=False)
        assert not [d for d in at.dataframe if heading in d.value.columns and "分馆编号" in d.value.columns], page
        at.session_state[key] = True
        at.run()
        assert table_with(at, "分馆编号", heading).height, page
    for page, heading in (("overview", "活跃读者"), ("loans", "续借")):
        at = signed_in(settings.current().db, None, f"app_pages/{page}.py", timeout=120, opened=False, branches="M1")
        assert table_with(at, "分馆编号", heading).height, page


def test_loans_cards_are_the_branch_rows(db):
    at = open_tab(run("app_pages/loans.py", branches="B1"), "loans_tab", "逾期在借")
    rows = table_with(at, "分馆编号", "续借", "归还")
    assert rows["分馆编号"].to_list() == ["B1"]
    for word in ("借阅人次", "借出", "转借", "续借", "归还"):
        assert value(at, word) == rows[word].sum(), word
    assert (value(at, "借出"), value(at, "归还")) == (3, 3)  # X1 E12 E17 | X2 E11 E18
    # B1 has no copy out at 08-30: no overdue table (a line says so instead of blank rows) and the cards say 0
    assert not [d for d in at.dataframe if "逾期在借" in d.value.columns]
    assert any(c.value == "（所选条件下没有记录）" for c in at.caption)
    for word in ("在借", "逾期在借", "漂流中逾期"):
        assert value(at, word) == 0, word


def test_loans_overdue_cards_whole_network(db):
    at = open_tab(run("app_pages/loans.py"), "loans_tab", "逾期在借")
    # At 08-30: I2 (C1, 51 days) and I3 (M1, adrift, 133 days) overdue; I7 (M2) not yet.
    assert (value(at, "在借"), value(at, "逾期在借"), value(at, "漂流中逾期")) == (3, 2, 1)
    assert card(at, "逾期占比").value == "66.7%"


def test_stock_cards_are_the_branch_rows(db):
    at = open_tab(run("app_pages/stock.py", branches="M1"), "stock_tab", "调拨清单")
    rows = table_with(at, "分馆编号", "架上他馆书")
    assert rows["分馆编号"].to_list() == ["M1"]
    assert rows["分馆类型"].to_list() == ["微分馆"]  # the kind in words, not the code `micro`
    for word in ("架上他馆书", "在他馆架上", "借出在外"):
        assert value(at, word) == rows[word].sum(), word
    # the move list as a van run: stops B1 (I4 to M1) and M1 (I1 to C1), each copy under its stop with a tick box
    moves = table_with(at, "站", "条码号", "已装车")
    assert len(moves) == 2  # I1 from M1 to C1, I4 from B1 to M1
    assert value(at, "调拨车停靠站") == 2  # B1 and M1
    assert moves.select("站", "条码号").rows() == [(1, "I4"), (2, "I1")]
    assert moves["已装车"].to_list() == ["☐", "☐"]
    stops = table_with(at, "站", "取书地址")
    assert stops["站"].to_list() == [1, 2]


def test_stock_cards_each_say_something_else(db):
    """The whole network at 08-30 (story of test_queries_managers): copies on another branch's shelf I4 (at B1 since
    07-20, 41 days), I8 (at C1 since 05-01, 121 days), I1 (at M1 since 02-05, 207 days): 3, the median wait 121
    days, three stops (B1, C1, M1). Own copies away from home are the same three copies, so that card is not shown
    for the whole network (it was, beside the move list's 3: three cards with one number). Out on loan: I2 I3 I7."""
    at = run("app_pages/stock.py")
    labels = [m.label for m in at.metric]
    assert labels == ["架上他馆书", "调拨车停靠站", "滞留天数", "借出在外", "呆滞馆藏"]
    assert [value(at, w) for w in labels[:4]] == [3, 3, 121, 3]
    assert "在他馆架上" not in labels


def test_dead_stock_too_new_is_not_zero(db):
    """Six months before 08-30 is 2024-02-29; every branch of the story opened before it. A micro-branch opened
    on 2024-07-01 (M3, no copies) is younger than 6 months: its row says "too new to judge" instead of 0%."""
    import_file(settings.current().db, ("branches_m3.csv", (
        b"branch_id,name,kind,host_type,lat,lon,opened_on,closed_on,public_access,volumes,host_population\n"
        b"M3,Micro three,micro,school,22.96,113.50,2024-07-01,,yes,10,100\n")), user="test")
    at = open_tab(run("app_pages/stock.py"), "stock_tab", "呆滞馆藏")
    dead = table_with(at, "分馆编号", "说明")
    m3 = dead.filter(pl.col("分馆编号") == "M3").row(0, named=True)
    assert m3["说明"] == "开馆不足 6 个月，暂不判断"
    assert m3["呆滞馆藏"] is None or m3["呆滞馆藏"] != m3["呆滞馆藏"]  # empty, not 0
    assert dead.filter(pl.col("分馆编号") != "M3")["说明"].is_null().all()
    assert any(c.value.startswith("1 家分馆开馆不足 6 个月") for c in at.caption)


def test_loans_change_per_branch(db):
    """March 2024 against February (whole months; March 2023 is before the data, which begins 2023-08-10).
    Loans in March: E8 and E10 (transfers of the chain M1 started) and E9 (checkout at M1): M1 3. February: E6
    (checkout at M1): M1 1, so +200%. B1 circulates in March only by a return (E11): 0 loans, nothing before, empty.
    No year-earlier column: the caption under the table says why."""
    at = run("app_pages/loans.py", **{"from": "2024-03-01", "to": "2024-03-31"})
    rows = table_with(at, "分馆编号", "借阅人次较上期")
    assert rows.columns[:3] == ["分馆名称", "借阅人次", "借阅人次较上期"]  # the key columns first
    assert "借阅人次较去年同期" not in rows.columns
    change = dict(zip(rows["分馆编号"], rows["借阅人次较上期"], strict=True))
    assert change["M1"] == 2.0 and change["B1"] is None
    assert any("去年同期（2023-03-01 至 2023-03-31）不在数据中" in c.value for c in at.caption)
    # 16 days at the end of August: both earlier periods are in the data, so both columns are there.
    at = run("app_pages/loans.py", **{"from": "2024-08-15", "to": "2024-08-30"})
    assert {"借阅人次较上期", "借阅人次较去年同期"} <= set(table_with(at, "分馆编号", "借阅人次较上期").columns)


def test_one_month_draws_the_months_around_it(db):
    """March 2024 alone: the monthly charts draw the 12 months around it cut to the data (2023-09 to 2024-08-30),
    March shaded and named, the other months pale, August (the data ends on the 30th) noted as part of a month.
    The four kinds of event go by week (weeks from Monday 02-26 to 03-25; the first and last only in part)."""
    at = run("app_pages/loans.py", **{"from": "2024-03-01", "to": "2024-03-31"})
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    monthly = next(s for s in specs if s["layout"]["title"]["text"] == "每月借阅人次：借出与转借")
    bars = monthly["data"][0]
    months = [x[:7] for x in bars["x"]]
    assert months[0] < "2024-03" < months[-1] and months[-1] == "2024-08"
    opacity = dict(zip(months, bars["marker"]["opacity"], strict=True))
    assert opacity["2024-03"] == 1.0 and opacity["2024-01"] == 0.3
    notes = [a["text"] for a in monthly["layout"]["annotations"]]
    assert notes.count("所选期间") == 1 and notes.count("不满一月") == 1
    assert [s["type"] for s in monthly["layout"]["shapes"]] == ["rect", "rect"]  # August greyed, March shaded
    weekly = next(s for s in specs if s["layout"]["title"]["text"] == "借出、转借、续借与归还（按周）")
    assert [x[:10] for x in weekly["data"][0]["x"]][0] >= "2024-02-26"
    assert any("按月的图显示其前后的月份" in c.value for c in at.caption)


def test_readers_cards_are_the_table_rows(db):
    at = run("app_pages/readers.py", branches="M1")
    rows = table_with(at, "分馆编号", "新读者")
    # r5 r6 (March); r4 first borrowed at B1, in 2023 (X1)
    assert value(at, "新读者") == rows["新读者"].sum() == 2
    assert value(at, "其中微分馆") == 2


def test_partial_months_flagged_in_the_readers_tables(db):
    """New readers at M1: r2 in September 2023 (registered 2023-09-01), r5 in February (registered 2024-02-01), r6 in
    March (first loan E10, 03-20). Over the whole data (2023-08-10 to 2024-08-30) these months are whole: not
    flagged. From 03-10 the period holds only part of March: its row is flagged, on screen and in the CSV, so its
    count does not read as a fall."""
    def flags(**params: str) -> dict[str, bool]:
        rows = table_with(run("app_pages/readers.py", **params), "月份", "分馆编号", "不满一月")
        return {str(m)[:7]: f for m, f in zip(rows["月份"], rows["不满一月"], strict=True)}

    assert flags() == {"2023-09": False, "2024-02": False, "2024-03": False}
    assert flags(**{"from": "2024-03-10"}) == {"2024-03": True}


def test_comparison_with_both_earlier_periods(db):
    # 2024-08-15..08-30 (16 days): the previous 16 days and the same days of 2023 are both in the data.
    # Loans: E19 now; none in 07-30..08-14; none in 2023-08-15..08-30 (X2 is a return).
    at = run("app_pages/overview.py", **{"from": "2024-08-15", "to": "2024-08-30"})
    loans = card(at, "借阅人次")
    assert (loans.value, loans.delta) == ("1", "+1")
    assert loans.proto.delta_description == "较上期；较去年同期 +1"
    assert "上期：2024-07-30 至 2024-08-14" in loans.help and "去年同期：2023-08-15 至 2023-08-30" in loans.help
    assert "不比较" not in loans.help


def test_comparison_with_part_of_the_year_earlier_in_the_data(db):
    # August 2024 (whole month): the previous month is July; August 2023 is in the data only from 08-10.
    at = run("app_pages/overview.py", **{"from": "2024-08-01", "to": "2024-08-30"})
    loans = card(at, "借阅人次")
    assert loans.proto.delta_description == "较上期；去年同期数据不全"
    assert "上期：2024-07-02 至 2024-07-31" in loans.help
    assert "去年同期（2023-08-01 至 2023-08-30）只有 2023-08-10 至 2023-08-30 在数据中，不完整，不比较。" in loans.help
    # The loans and chains pages compare too.
    # Loans: E19 against none in July 2-31 (E17 was on 07-01).
    assert card(run("app_pages/loans.py", **{"from": "2024-08-01", "to": "2024-08-30"}), "借阅人次").delta == "+1"
    chains = run("app_pages/chains.py", **{"from": "2024-08-01", "to": "2024-08-30"})
    assert "上期：2024-07-02 至 2024-07-31" in card(chains, "在借").help


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MICROBRANCH_KEY_FILE", str(folder / "secret" / "microbranch.key"))
        db = folder / "data" / "microbranch.duckdb"
        sample.ensure(db, generate)
    return folder


@pytest.fixture
def on_sample(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(sample_db / "secret" / "microbranch.key"))
    monkeypatch.setenv("MICROBRANCH_DB", str(sample_db / "data" / "microbranch.duckdb"))


def test_the_boundary_that_hid_the_comparison(on_sample):
    # The sample begins on 2024-04-01. July-September is compared with April-June (whole months), which counted in
    # days (92 before July) would have started on 03-31, before the data, and shown nothing.
    at = run("app_pages/overview.py", **{"from": "2024-07-01", "to": "2024-09-30"})
    loans = card(at, "借阅人次")
    assert loans.delta and loans.proto.delta_description == "较上期；去年同期无数据"
    assert "上期：2024-04-01 至 2024-06-30" in loans.help
    assert "去年同期（2023-07-01 至 2023-09-30）不在数据中，不比较。" in loans.help
    # The default view, the whole span: nothing to compare with, and each card says why in its tooltip.
    at = run("app_pages/overview.py")
    assert all(not m.delta for m in at.metric)
    assert card(at, "借阅人次").proto.delta_description == "上期无数据；去年同期无数据"
    assert "上一个同长期间（2023-09-18 至 2024-03-31）不在数据中，不比较。" in card(at, "借阅人次").help


def test_official_sees_small_reader_counts_suppressed(db):
    # M1 won 2 readers (r5, r6): under 10, so the official sees <10 on the cards and in the cohort table, and
    # the chart, with nothing left to draw, says so in a sentence instead.
    at = run("app_pages/readers.py", role="official", branches="M1")
    assert card(at, "新读者").value == "<10" and card(at, "其中微分馆").value == "<10"
    cohorts = table_with(at, "首借分馆", "新读者")
    assert cohorts["新读者"].to_list() == ["<10"]
    assert t("rules_chart_hidden", "zh") in [i.value for i in at.info]


def test_a_page_says_which_filters_it_ignores_and_an_empty_chart_says_so(db):
    """The stock page counts shelves at the period's end: with a start chosen it warns that the start is not used.
    With town branch B1 alone, the chart of micro-branches has nothing to draw: a sentence, not empty axes."""
    at = run("app_pages/stock.py", branches="B1", **{"from": "2024-03-01"})
    warned = [w.value for w in at.warning]
    assert any("本页不使用以下筛选" in w and "时间段起点" in w for w in warned), warned
    assert any("微分馆" in i.value and "没有可显示的数据" in i.value for i in at.info)
    drawn = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
    assert not [title for title in drawn if "微分馆" in title]
    # Without a start chosen, the same words are a quiet caption.
    quiet = run("app_pages/stock.py")
    assert any("本页不使用以下筛选" in c.value for c in quiet.caption)
    assert not any("本页不使用以下筛选" in w.value for w in quiet.warning)
