"""The monthly report by mail, to a real SMTP server started by the test (aiosmtpd): subscriptions for accounts
whose role may read the report, the summary paragraph in the body and the PDF attached (read back with
pdftotext), one delivery per month and address unless forced, a failed delivery mailed to the staff, all
audited. The data is the hand-made geography of test_places (March 2024: 3 loans, 2 of them checkouts)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from microbranch import audit, delivery, operations
from tests.accounts import account
from tests.smtp import smtp  # noqa: F401 - fixture
from tests.test_places import build

ROOT = Path(__file__).resolve().parent.parent
BY = operations.Actor("admin", "command line")


@pytest.fixture
def report_db(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # explicit scorecard targets: the report's scorecard note cannot yet be written with targets from the peers
    (tmp_path / "scorecard.toml").write_text("transfers = 20\nreaders = 10\n", encoding="utf-8")
    monkeypatch.setenv("MICROBRANCH_SCORECARD", str(tmp_path / "scorecard.toml"))
    build(db, tmp_path)
    for role in ("official", "manager"):
        account(db, role)
    return db


def test_previous_whole_month():
    assert delivery.previous_month(date(2024, 10, 1)) == "2024-09"
    assert delivery.previous_month(date(2025, 1, 31)) == "2024-12"


def test_only_accounts_that_may_read_the_report_are_subscribed(report_db):
    with pytest.raises(delivery.DeliveryError, match="no account named 'ghost'"):
        operations.subscribe(report_db, "ghost@example.org", "ghost", "zh", "pdf", BY)
    with pytest.raises(delivery.DeliveryError, match="not an e-mail address"):
        operations.subscribe(report_db, "official", "official", "zh", "pdf", BY)
    operations.subscribe(report_db, "chen@district.example", "official", "zh", "pdf", BY)
    assert [s.email for s in delivery.listing(report_db)] == ["chen@district.example"]
    assert operations.unsubscribe(report_db, "chen@district.example", BY)
    assert delivery.listing(report_db) == []
    assert audit.trail(report_db).filter(audit.trail(report_db)["user_name"] == "admin")["action"].to_list() == [
        "unsubscribe", "subscribe"]


def test_the_report_mail_has_the_summary_and_the_pdf_and_goes_once_a_month(report_db, smtp, tmp_path):  # noqa: F811
    operations.subscribe(report_db, "chen@district.example", "official", "zh", "pdf", BY)
    operations.subscribe(report_db, "li@district.example", "manager", "en", "html", BY)
    done = operations.deliver(report_db, BY, "2024-03")
    assert (sorted(done.sent), done.skipped, done.failed) == (
        ["chen@district.example", "li@district.example"], [], [])

    [zh] = smtp.to("chen@district.example")
    assert zh["Subject"] == "南沙微分馆月度报告 2024-03" and zh["From"] == "report@nansha-lib.example"
    body = zh.get_body(("plain",)).get_content()
    assert body.startswith("2024-03-01 至 2024-03-31，全区分馆借阅 3 人次") and "活跃读者 <10 人" in body
    [pdf] = [p for p in zh.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "microbranch-report-2024-03-zh.pdf"
    (tmp_path / "r.pdf").write_bytes(pdf.get_content())
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "2024-03-01" in text and "借阅人次" in text

    [en] = smtp.to("li@district.example")
    english = en.get_body(("plain",)).get_content()
    assert english.startswith("Between 2024-03-01 and 2024-03-31 the branches lent 3 times")
    [page] = list(en.iter_attachments())
    assert page.get_content_type() == "text/html" and "<html" in page.get_content()

    again = operations.deliver(report_db, BY, "2024-03")  # the same month again: nothing sent
    assert again.sent == [] and len(again.skipped) == 2 and len(smtp.messages) == 2
    forced = operations.deliver(report_db, BY, "2024-03", force=True)
    assert sorted(forced.sent) == ["chen@district.example", "li@district.example"] and len(smtp.messages) == 4
    sent = audit.trail(report_db, "deliver")["detail"].to_list()
    assert sorted(sent) == sorted(["2024-03 to chen@district.example (zh, pdf)", "2024-03 to li@district.example "
                                   "(en, html)"] * 2)


def test_a_disabled_account_is_skipped_and_a_failed_delivery_is_told_to_the_staff(report_db, smtp,  # noqa: F811
                                                                                  monkeypatch):
    operations.subscribe(report_db, "chen@district.example", "official", "en", "html", BY)
    operations.subscribe(report_db, "li@district.example", "manager", "en", "html", BY)
    operations.disable_user(report_db, "manager", BY)
    monkeypatch.setattr(smtp, "handle_RCPT", _refuse("chen@district.example"), raising=False)
    done = operations.deliver(report_db, BY, "2024-03")
    assert done.sent == [] and done.skipped == [("li@district.example", "the account 'manager' is disabled")]
    assert [email for email, _ in done.failed] == ["chen@district.example"] and "550" in done.failed[0][1]
    assert done.alerted == "staff@nansha-lib.example"
    [alert] = smtp.to("staff@nansha-lib.example")
    assert "2024-03" in alert["Subject"] and "chen@district.example" in alert.get_content()
    assert audit.trail(report_db, "deliver_failed")["detail"][0].startswith("2024-03 to chen@district.example")
    assert not delivery.sent(report_db, "2024-03", "chen@district.example")  # tried again next time


def _refuse(address: str):  # noqa: ANN202 - aiosmtpd's RCPT hook
    async def handle_rcpt(server, session, envelope, rcpt, options):  # noqa: ANN001, ANN202
        if rcpt == address:
            return "550 no such mailbox here"
        envelope.rcpt_tos.append(rcpt)
        return "250 OK"
    return handle_rcpt


def test_the_command_line_delivers_with_the_password_only_from_the_settings(report_db, smtp, tmp_path):  # noqa: F811
    import os

    operations.subscribe(report_db, "chen@district.example", "official", "zh", "pdf", BY)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "microbranch", "--db", str(report_db), "deliver", "--month", "2024-03"]
    first = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    assert "2024-03: 1 sent, 0 skipped, 0 failed" in first.stdout
    second = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert "2024-03: 0 sent, 1 skipped, 0 failed" in second.stdout and len(smtp.messages) == 1
    helped = subprocess.run([*run[:5], "deliver", "--help"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=False).stdout
    assert "password" not in helped.lower()
