"""Links carry any text: every filter value in the URL that the data does not have is left out or brought within
the data, with a notice naming the parameter, and no page shows an exception (AppTest on the hand-made data)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_queries_circulation import build

DASHBOARD = str(Path(__file__).resolve().parent.parent / "dashboard.py")
PAGES = ["app_pages/overview.py", "app_pages/loans.py", "app_pages/chains.py", "app_pages/branch_map.py",
         "app_pages/residents.py"]
ODD = [
    {"kinds": "foo"},
    {"hosts": "<x>"},
    {"hosts": "school,<script>alert(1)</script>,school"},
    {"branches": "NOPE,\x00,M1"},
    {"from": "1900-01-01"},
    {"to": "9999-12-31"},
    {"from": "2024-05-08", "to": "2024-04-01"},
    {"from": "not a date", "to": "2024-13-45"},
    {"from": "inf", "to": "-inf"},
    {"walk": "7"},
    {"walk": "1e309"},
    {"kinds": ",,,", "hosts": "", "branches": "%00"},
]


@pytest.fixture(scope="module", autouse=True)
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("urls")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MICROBRANCH_KEY_FILE", str(folder / "secret" / "microbranch.key"))
        path = build(folder)
        mp.setenv("MICROBRANCH_DB", str(path))
        yield path


def run(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params.update({"role": "manager", **params})
    at.switch_page(page)
    at.run()
    return at


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("params", ODD, ids=lambda p: "&".join(f"{k}={v!r}" for k, v in p.items()))
def test_odd_url_values_never_raise(page, params):
    at = run(page, **params)
    assert not at.exception, [e.value for e in at.exception]
    said_empty = [e.value for e in [*at.info, *at.caption] if "没有可显示的数据" in e.value or "没有记录" in e.value]
    assert at.get("plotly_chart") or at.dataframe or said_empty  # the page went on to its data (or said it has none)


def test_unknown_values_are_left_out_with_a_notice_naming_the_parameter():
    at = run("app_pages/overview.py", kinds="micro,foo", hosts="<x>")
    assert at.multiselect(key="f_kinds").value == ["micro"]
    assert at.multiselect(key="f_hosts").value == []
    notice = at.sidebar.warning[0].value
    assert "kinds" in notice and "hosts" in notice
    assert "<x>" not in notice and "foo" not in notice


def test_a_period_outside_the_data_is_clamped_with_a_notice():
    at = run("app_pages/overview.py", lang="en", **{"from": "1900-01-01", "to": "2024-04-30"})
    assert at.date_input(key="f_period").value == (date(2024, 4, 1), date(2024, 4, 30))
    assert "2024-04-01" in at.sidebar.info[0].value and not at.sidebar.warning


def test_values_within_the_data_give_no_notice():
    at = run("app_pages/overview.py", kinds="micro", walk="10", **{"from": "2024-04-02"})
    assert not at.sidebar.warning and not at.sidebar.info
    assert at.multiselect(key="f_kinds").value == ["micro"]
