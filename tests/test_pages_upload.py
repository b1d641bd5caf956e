"""The upload page for staff (the single local user, who has every role): undo asks first, and the refused rows of
an earlier import can be opened again."""

from __future__ import annotations

from pathlib import Path

import pytest

from microbranch import settings
from microbranch.i18n import t
from tests.accounts import signed_in
from tests.conftest import BRANCHES, load, snapshot

EVENTS = "操作时间,操作类型,条码号,读者证号,操作馆\n2024-05-01 10:00,借出,I1,R1,C1\n2024-02-30 10:00,借出,I2,R1,C1\n"


@pytest.fixture
def page_db(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    load(db, tmp_path, "b.csv", BRANCHES)
    r = load(db, tmp_path, "e.csv", EVENTS)
    assert (r.accepted, r.rejected) == (1, 1)  # 30 February does not exist
    monkeypatch.setenv("MICROBRANCH_DB", str(db))
    return db


def test_undo_asks_first_and_earlier_rejects_reopen(page_db):
    at = signed_in(settings.current().db, None, "app_pages/upload.py", timeout=120)
    assert not at.exception
    at.button(key="undo_go").click().run()
    assert any(t("imp_ui_undo_sure", "zh").split("{")[0] in w.value for w in at.warning)
    assert snapshot(page_db).sql("select count(*) from events").fetchall() == [(1,)]  # asked, nothing undone yet
    at.button(key="undo_cancel").click().run()
    assert not any(t("imp_ui_undo_sure", "zh").split("{")[0] in w.value for w in at.warning)
    at.button(key="undo_go").click().run()
    at.button(key="undo_yes").click().run()
    assert not at.exception
    assert snapshot(page_db).sql("select count(*) from events").fetchall() == [(0,)]

    at = signed_in(settings.current().db, None, "app_pages/upload.py", timeout=120)
    events_import = snapshot(page_db).sql("select import_id from imports where file_name = 'e.csv'").fetchall()[0][0]
    at.selectbox(key="rejects_pick").set_value(events_import).run()
    shown = [tb.value for tb in at.table]
    assert any("2024-02-30" in frame.to_string() and "这一天不存在" in frame.to_string() for frame in shown)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_preview_speaks_the_users_words(page_db, lang):
    """The preview of a Chinese events export (GB18030): its rows as stored, headed in the user's words (never
    `occurred_at`, `action`), and in Chinese the coded values as the file spelled them (借出, 柜台; never
    `checkout`, `self_service`); the table of columns says what each becomes in words too."""
    data = (Path(__file__).parent / "e2e" / "data" / "events_gb18030.csv").read_bytes()
    at = signed_in(settings.current().db, None, "app_pages/upload.py", timeout=120, lang=lang)
    at.file_uploader[0].set_value(("events.csv", data, "text/csv")).run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    frames = [d.value for d in at.dataframe]
    rows = next(f for f in frames if t("circ_col_occurred_at", lang) in f.columns)
    assert not {"occurred_at", "action", "item_id", "channel"} & set(rows.columns)
    action = rows[t("circ_col_action", lang)].tolist()
    if lang == "zh":
        assert set(action) <= {"借出", "归还", "续借", "转借"} and "借出" in action
        assert "柜台" in rows[t("circ_col_channel", lang)].tolist()
    else:
        assert "checkout" in action  # English words for English readers
    becomes = next(f for f in frames if t("circ_upload_mapped", lang) in f.columns)[t("circ_upload_mapped", lang)]
    assert "occurred_at" not in becomes.tolist() and t("circ_col_occurred_at", lang) in becomes.tolist()
