"""A page that fails shows a short message with an error id; the traceback goes to the server's log only."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from microbranch import queries
from tests.test_queries_circulation import build
from ui import errors

ROOT = Path(__file__).resolve().parent.parent


def test_streamlit_shows_no_error_details():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_a_failing_page_shows_an_error_id_and_logs_the_details(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    monkeypatch.setenv("MICROBRANCH_DB", str(build(tmp_path)))
    monkeypatch.setattr(errors, "reraise", False)
    real = queries.run

    def failing(con, name, **params):
        if name == "kpis":
            raise RuntimeError("/srv/secret/path kpis broke")
        return real(con, name, **params)

    monkeypatch.setattr(queries, "run", failing)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "error id" in shown and "/srv/secret" not in shown
    error_id = shown.split("error id ")[1].split(".")[0]
    log = caplog.text
    assert f"error {error_id}" in log and "/srv/secret/path kpis broke" in log


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_message_is_in_one_language(lang):
    from microbranch.i18n import t

    text = t("error_with_id", lang, id="abcd1234")
    assert "abcd1234" in text
    assert ("页面" in text) == (lang == "zh")
