"""Hostile workbooks through the upload page in a real browser (issue 19): a 1.6 KB workbook with a value in
XFD1048576 (it aborted the whole server: `memory allocation of 549755813888 bytes failed`) and a 3,000,000-row
workbook with prefixed tags stored under another path (it was previewed and offered for import). Each is refused
in one sentence; an official's session on another page still answers; the server's own memory stays under
`SERVER_PEAK_BOUND` and grows by less than `SERVER_GROWTH_BOUND` (every parse runs in the preview's capped child).

Screenshot in tests/e2e/screenshots/: upload_hostile_refused.png.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, expect

from microbranch.i18n import t
from tests import workbooks
from tests.e2e.test_browser import assert_no_exception, go, shoot, sign_in, title, wait_for_app

pytestmark = pytest.mark.e2e

SERVER_PEAK_BOUND = 1536 << 20  # bytes of resident memory the server may reach at most (VmHWM)
SERVER_GROWTH_BOUND = 400 << 20  # bytes its resident memory may grow by over the two uploads and the other page


def _listening_pid(port: int) -> int:
    """The process listening on 127.0.0.1:`port` (the server `python -m microbranch serve` became)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
        except OSError:
            continue
    raise AssertionError(f"no process listens on port {port}")


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes; the process must still be alive."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {k: int(re.search(rf"^{k}:\s+(\d+) kB", status, re.M).group(1)) << 10 for k in ("VmRSS", "VmHWM")}


def test_hostile_workbooks_are_refused_and_the_server_keeps_serving(browser: Browser, server: str,
                                                                    tmp_path: Path) -> None:
    dense = tmp_path / "dense.xlsx"
    dense.write_bytes(workbooks.dense_cell())
    rows = tmp_path / "rows_3m.xlsx"
    rows.write_bytes(workbooks.many_rows(3_000_000, prefix="x", sheet_path="xl/data/rows.xml"))
    pid = _listening_pid(urlparse(server).port)
    before = _memory(pid)

    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN") for _ in range(2)]
    try:
        staff, official = (c.new_page() for c in contexts)
        for tab in (staff, official):
            tab.set_default_timeout(60_000)
        sign_in(official, f"{server}/overview", "official")
        sign_in(staff, f"{server}/upload", "staff")
        main = staff.get_by_test_id("stMain")
        staff.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files([dense, rows])

        # Each refused in one sentence, in Chinese, saying which limit.
        refused = main.get_by_test_id("stAlertContentError")
        expect(refused.filter(has_text="dense.xlsx")).to_contain_text("XFD1048576", timeout=120_000)
        expect(refused.filter(has_text="rows_3m.xlsx")).to_contain_text("1,048,576", timeout=120_000)
        wait_for_app(staff)
        for text in refused.all_inner_texts():
            assert len(text.strip().splitlines()) == 1, text
        import_button = main.locator('[data-testid="stButton"] button').filter(
            has_text=re.compile(r"^导入 \d+ 个文件"))
        expect(import_button).to_have_count(0)  # nothing offered for import
        assert_no_exception(staff, "hostile uploads")
        shoot(staff, "upload_hostile_refused")

        # The official's session, opened before, still answers: another page, drawn whole.
        go(official, "loans")
        expect(title(official)).to_contain_text(t("page_loans", "zh"))
        assert_no_exception(official, "the official's page after the hostile uploads")
    finally:
        for c in contexts:
            c.close()

    after = _memory(pid)  # the server is alive (its process is still there)
    grown = after["VmRSS"] - before["VmRSS"]
    print(f"server memory: RSS {before['VmRSS'] >> 20} -> {after['VmRSS'] >> 20} MiB, peak {after['VmHWM'] >> 20} MiB")
    assert after["VmHWM"] < SERVER_PEAK_BOUND, after
    assert grown < SERVER_GROWTH_BOUND, (before, after)


def test_a_name_column_cannot_be_mapped_onto_reader_type_on_the_page_nor_through_a_profile(page, server: str,
                                                                                            tmp_path: Path) -> None:
    """Issue 19, finding 5: a profile mapping 姓名 onto `reader_type` stored the readers' names."""
    readers = tmp_path / "readers_names.csv"
    readers.write_text("读者证号,姓名,手机号,读者类型\n4401000001,张三,13800000001,学生\n", encoding="utf-8")
    profile = tmp_path / "names_as_type.json"
    profile.write_text(json.dumps({"name": "姓名当类型", "kind": "readers", "columns": {
        "读者证号": "reader_id", "姓名": "reader_type", "手机号": ""}}, ensure_ascii=False), encoding="utf-8")
    sign_in(page, f"{server}/upload", "staff")
    main = page.get_by_test_id("stMain")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(readers)
    wait_for_app(page)
    main.get_by_test_id("stExpander").filter(has_text="readers_names.csv").locator("summary").click()  # importable
    main.get_by_text(t("imp_ui_change_mapping", "zh"), exact=True).click()
    wait_for_app(page)
    # The name column offers only a reader id or nothing.
    box = main.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(t("imp_ui_column", "zh", header="姓名"), exact=True))
    expect(box).to_have_count(1)
    box.click()
    options = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
    page.keyboard.press("Escape")
    reader_id = t("imp_ui_field_required", "zh", label="读者证号", name="reader_id")
    assert options == [t("imp_ui_ignore", "zh"), reader_id], options
    # A colleague's profile that maps it onto reader_type is refused, naming the column.
    page.get_by_test_id("stFileUploaderDropzoneInput").nth(1).set_input_files(profile)
    wait_for_app(page)
    expect(main.get_by_test_id("stAlertContentError")).to_contain_text("“姓名”列是读者的个人信息")
    assert_no_exception(page, "personal column mapping")
    shoot(page, "upload_personal_column_refused")
