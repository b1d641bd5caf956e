"""Settings are read in one place (microbranch/settings.py) and every one is documented in docs/settings.md."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from microbranch import settings

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "settings.md"


def _sources() -> list[Path]:
    found = [ROOT / "dashboard.py", ROOT / "server.py"]
    for folder in ("microbranch", "ui", "app_pages"):
        found += sorted((ROOT / folder).rglob("*.py"))
    return [p for p in found if p != ROOT / "microbranch" / "settings.py"]


def test_no_module_but_settings_reads_the_environment():
    readers = {str(p.relative_to(ROOT)): n for p in _sources()
               if (n := len(re.findall(r"\benviron\b|\bgetenv\b|\bputenv\b", p.read_text(encoding="utf-8"))))}
    assert readers == {}, f"these read the environment; add a setting to microbranch/settings.py: {readers}"


def test_every_setting_is_in_the_table_of_docs_settings():
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    documented = {m.group(1): line for line in rows if (m := re.match(r"\| `(\w+)`", line))}
    names = [f.name for f in fields(settings.Settings)]
    missing = [n for n in names if n not in documented or settings.env_name(n) not in documented[n]]
    assert missing == [], f"docs/settings.md has no row naming these settings and their variables: {missing}"
    assert sorted(set(documented) - set(names)) == [], "docs/settings.md documents settings that do not exist"


def test_the_environment_wins_over_secrets_over_defaults(tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        '[microbranch]\ntile_url = "https://tiles/{z}/{x}/{y}.png"\ntile_crs = "GCJ-02"\n'
        'retention_years = 5\n[access]\nidle_minutes = 12\n', encoding="utf-8")
    s = settings.load({"MICROBRANCH_RETENTION_YEARS": "7", "MICROBRANCH_DB": "rel/x.duckdb",
                       "MICROBRANCH_IMPORT_ADDRESS_SPACE": "600MB"}, tmp_path)
    assert (s.tile_url, s.tile_crs, s.retention_years, s.idle_minutes) == ("https://tiles/{z}/{x}/{y}.png", "gcj02",
                                                                           7, 12.0)
    assert s.db.is_absolute() and s.db.parts[-2:] == ("rel", "x.duckdb")
    assert s.import_address_space == 600 << 20 and s.key_file is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert settings.load({}, empty).db == settings.PROJECT / "data" / "microbranch.duckdb"


def test_a_setting_that_cannot_be_used_is_named_in_one_sentence(tmp_path):
    with pytest.raises(settings.SettingsError, match="MICROBRANCH_RETENTION_YEARS = '0'"):
        settings.load({"MICROBRANCH_RETENTION_YEARS": "0"}, tmp_path)
