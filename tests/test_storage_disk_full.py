"""A disk that fills up during an import's own commit: the import says how much space is needed (not "cannot
rollback - no transaction is active"), nothing of it is stored, and the next import after freeing space works."""

from __future__ import annotations

import pytest

from microbranch import storage
from microbranch.contract import ContractError
from microbranch.ingest import import_file
from tests.conftest import BRANCHES, write
from tests.test_storage_concurrency import EVENTS_1
from tests.test_storage_publishing import _count, _fill, small_disk  # noqa: F401 - the fixture


def test_a_disk_full_during_the_commit_says_how_much_space_is_needed(small_disk, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    db = small_disk / "data" / "microbranch.duckdb"
    import_file(db, write(tmp_path, "branches.csv", BRANCHES))
    before = storage.current_version(db)
    many = EVENTS_1.splitlines(keepends=True)[0] + "".join(
        f"{100 + i},2024-03-{1 + i % 28:02d} 09:{i % 60:02d},checkout,X{i},R{i},,C1\n" for i in range(20_000))
    path = write(tmp_path, "many.csv", many)
    filler = _fill(small_disk, leave=256 << 10)
    with pytest.raises(ContractError) as caught:
        import_file(db, path)
    for lang, words in (("en", "MB more free space"), ("zh", "MB 可用空间")):
        text = caught.value.text(lang)
        assert words in text and str(db.parent) in text and "rollback" not in text, text
    assert int(caught.value.params["mb"]) >= 1
    assert storage.current_version(db) == before and _count(db) == 0  # nothing of it was stored or published

    filler.unlink()
    assert import_file(db, path).accepted == 20_000
    assert _count(db) == 20_000
