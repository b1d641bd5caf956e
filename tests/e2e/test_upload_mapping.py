"""Importing from any library system in a real browser: a file the contract does not know is not importable; its
columns are mapped (fields, action values), the mapping is saved as a profile, the file imported, the result seen
and the import undone. The university log, before and after mapping, is refused with the reason.

Screenshots in tests/e2e/screenshots/: mapping_university_before.png, mapping_university_after.png,
mapping_ils_before.png, mapping_ils_mapped.png, mapping_ils_imported.png, mapping_ils_undone.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from microbranch.i18n import t
from tests.e2e.test_browser import assert_no_exception, shoot, sign_in, wait_for_app

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
ILS_LOG = HERE / "data" / "ils_log_gb18030.csv"  # 读者条码,册条码,借还,处理时间,地点: 6 rows, J/H single letters
UNIVERSITY_LOG = HERE / "data" / "university_log.csv"  # 证号,借阅日期,题名/责任者,索书号: 20 rows, no barcode


def zh(key: str, **fmt: object) -> str:
    return t(key, "zh", **fmt)


def selectbox(main: Locator, label: str) -> Locator:
    return main.get_by_test_id("stSelectbox").filter(
        has=main.page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))


def choose(page: Page, main: Locator, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`, and wait for the rerun."""
    box = selectbox(main, label)
    expect(box).to_have_count(1)
    box.click()
    options = page.get_by_role("option", name=option, exact=True)
    try:
        options.click(timeout=5_000)
    except Exception:  # the list did not open under the pointer: type to filter it, as a user may
        box.locator("input").fill(option)
        page.keyboard.press("Enter")
    wait_for_app(page)


def field(name: str, label: str, required: bool = False) -> str:
    return zh("imp_ui_field_required" if required else "imp_ui_field", label=label, name=name)


def test_map_save_import_and_undo_an_ils_log(page: Page, server: str) -> None:
    sign_in(page, f"{server}/upload", "staff")
    main = page.get_by_test_id("stMain")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(ILS_LOG)
    wait_for_app(page)
    # Not importable as it is: said in Chinese, and no import button yet.
    expect(main).to_contain_text(zh("imp_ui_not_importable"))
    expect(main).to_contain_text("无法识别这是哪种文件")
    expect(main.get_by_role("button", name=re.compile(r"^导入 \d+ 个文件"))).to_have_count(0)
    assert_no_exception(page, "ils log before mapping")
    shoot(page, "mapping_ils_before")

    choose(page, main, zh("imp_ui_column", header="读者条码"), field("reader_id", "读者证号", True))
    choose(page, main, zh("imp_ui_column", header="册条码"), field("item_id", "条码号", True))
    choose(page, main, zh("imp_ui_column", header="借还"), field("action", "操作类型", True))
    choose(page, main, zh("imp_ui_column", header="处理时间"), field("occurred_at", "操作时间", True))
    choose(page, main, zh("imp_ui_column", header="地点"), field("branch_id", "操作馆"))
    # The file's action words: 借书 and 还书 are known; the single letters are mapped by hand.
    choose(page, main, "J", zh("circ_action_checkout"))
    choose(page, main, "H", zh("circ_action_return"))
    expect(main).to_contain_text(zh("imp_ui_stored_rows", n=6))
    expect(main).to_contain_text(zh("imp_ui_no_problems", n=6))

    name = main.get_by_role("textbox", name=zh("imp_ui_profile_name"))
    name.fill("图创流通日志")
    name.press("Enter")
    wait_for_app(page)
    main.get_by_role("button", name=zh("imp_ui_profile_save")).click()
    wait_for_app(page)
    expect(main).to_contain_text(zh("imp_ui_profile_saved", name="图创流通日志"))
    assert_no_exception(page, "ils log mapped")
    shoot(page, "mapping_ils_mapped")

    keep = main.get_by_test_id("stRadio").get_by_text(zh("imp_ui_sample_keep"))
    if keep.count():
        keep.click()
        wait_for_app(page)
    main.get_by_role("button", name=re.compile(r"^导入 1 个文件")).click()
    expect(main).to_contain_text(re.compile(r"读取 6 行，接受 6，拒绝 0"), timeout=60_000)
    wait_for_app(page)
    assert_no_exception(page, "ils log imported")
    shoot(page, "mapping_ils_imported")

    # The history offers the import for undoing, newest first (the message names the file undone).
    main.get_by_role("button", name=zh("imp_ui_undo_button")).click()
    wait_for_app(page)
    expect(main).to_contain_text(re.compile(r"已撤销导入 \d+（ils_log_gb18030\.csv）：移除 6 行"), timeout=60_000)
    assert_no_exception(page, "ils log undone")
    shoot(page, "mapping_ils_undone")

    # The saved profile is offered for the next file with the same headers, in a new session (a reload: still
    # signed in).
    page.reload()
    wait_for_app(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(ILS_LOG)
    wait_for_app(page)
    expect(main).to_contain_text(zh("imp_ui_profile_offered", name="图创流通日志"))


def test_the_university_log_before_and_after_mapping(page: Page, server: str) -> None:
    sign_in(page, f"{server}/upload", "staff")
    main = page.get_by_test_id("stMain")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(UNIVERSITY_LOG)
    wait_for_app(page)
    expect(main).to_contain_text("看起来像“读者”文件，但大多数列无法识别")
    # The guess (证号 as a reader card) is shown, but nothing imports until the user confirms or maps.
    expect(main.get_by_role("button", name=re.compile(r"^导入 \d+ 个文件"))).to_have_count(0)
    expect(main).to_contain_text(zh("imp_ui_confirm"))
    shoot(page, "mapping_university_before")

    choose(page, main, zh("imp_ui_kind"), zh("circ_kind_events"))
    choose(page, main, zh("imp_ui_column", header="证号"), field("reader_id", "读者证号", True))
    choose(page, main, zh("imp_ui_column", header="借阅日期"), field("occurred_at", "操作时间", True))
    for label, value in ((field("action", "操作类型", True), "checkout"), (field("branch_id", "操作馆"), "NS101")):
        box = main.get_by_role("textbox", name=zh("imp_ui_constant", field=label))
        box.fill(value)
        box.press("Enter")
        wait_for_app(page)
    choose(page, main, zh("imp_ui_column", header="索书号"), field("item_id", "条码号", True))
    expect(main).to_contain_text("“索书号”是索书号：同一索书号下可有多册书")
    expect(main).to_contain_text("册条码号")
    expect(main.get_by_role("button", name=re.compile(r"^导入 \d+ 个文件"))).to_have_count(0)
    assert_no_exception(page, "university log after mapping")
    shoot(page, "mapping_university_after")
