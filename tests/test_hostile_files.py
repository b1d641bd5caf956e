"""Hostile and unlucky files, with real files and real processes: each limit refuses its bomb before the work it
protects, with the limit named; keys are never silently replaced; nothing personal is left outside the database."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from microbranch import storage
from microbranch.ingest import import_file, limits
from microbranch.privacy import KeyFileError, key_path, load_key
from tests.conftest import BRANCHES, snapshot, write

ROOT = Path(__file__).resolve().parent.parent
EVENTS_HEADER = "event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id\n"
CARDS = [f"4401{n:08d}" for n in range(3000)]  # card numbers that must never be found outside the database


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROBRANCH_")}
    return {**env, "MICROBRANCH_KEY_FILE": str(tmp_path / "secret" / "microbranch.key"), **extra}


def _cli(db: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "microbranch", "--db", str(db), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def _workbook(path: Path, sheet_parts) -> Path:  # noqa: ANN001 - an iterable of bytes
    """A minimal .xlsx whose first sheet is streamed from `sheet_parts` (so a bomb never sits in memory whole)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        z.writestr("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                   '<sheets><sheet name="s" sheetId="1"/></sheets></workbook>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for part in sheet_parts:
                sheet.write(part)
    return path


def row_bomb(path: Path, rows: int = limits.MAX_XLSX_ROWS + 10) -> Path:
    def parts():
        yield b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        for start in range(1, rows + 1, 100_000):
            yield b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (r, r)
                           for r in range(start, min(start + 100_000, rows + 1)))
        yield b"</sheetData></worksheet>"
    return _workbook(path, parts())


def whitespace_bomb(path: Path) -> Path:
    def parts():
        yield b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        block = b" " * (1 << 24)
        for _ in range(limits.MAX_XLSX_UNZIPPED // len(block) + 2):
            yield block
        yield b"</sheetData></worksheet>"
    return _workbook(path, parts())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path):
    """A dashboard server on its own database; yields (base url, db, env)."""
    db = tmp_path / "data" / "microbranch.duckdb"
    env = _env(tmp_path, MICROBRANCH_DB=str(db))
    assert _cli(db, "import", str(write(tmp_path, "branches.csv", BRANCHES)), env=env).returncode == 0
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--server.fileWatcherType", "none"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.25)
        yield base, db, env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(("bomb", "says"), [(row_bomb, f"{limits.MAX_XLSX_ROWS:,}"),
                                           (whitespace_bomb, "256 MiB")])
def test_workbook_bombs_are_refused_within_their_limit_while_the_server_answers(tmp_path, server, bomb, says):
    base, db, env = server
    path = bomb(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 8 << 20  # a few MB on the wire
    answers: list[int] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=5) as r:
                answers.append(r.status)
            time.sleep(0.1)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        proc = _cli(db, "import", str(path), env=env)
    finally:
        done.set()
        poller.join()
    assert proc.returncode == 1 and "refused" in proc.stderr and says in proc.stderr, proc.stderr
    assert answers and set(answers) == {200}
    assert "Traceback" not in proc.stderr


def test_a_50_mb_line_is_refused_naming_the_line_limit(db, tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(EVENTS_HEADER.encode() + b"1,2024-04-01 09:00,checkout," + b"I" * (50 << 20) + b",R1,,C1\n")
    r = import_file(db, path)
    assert r.status == "refused" and "1 MiB" in r.message
    proc = _cli(db, "import", str(path), env=_env(tmp_path))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1 and "1 MiB" in proc.stderr


def test_a_100000_column_header_is_read_whole_and_refused_with_its_count(db, tmp_path):
    header = ",".join(f"c{i}" for i in range(100_000))  # 589 KB: within the line limit
    assert len(header) > 65536  # once cut at 64 KiB: 10,947 columns read
    r = import_file(db, write(tmp_path, "wide.csv", header + "\n" + ",".join("x" * 100_000) + "\n"))
    assert r.status == "refused" and "100,000 columns" in r.message and f"{limits.MAX_COLUMNS:,}" in r.message


def test_too_many_lines_are_refused_before_reading(db, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 1000)
    r = import_file(db, write(tmp_path, "e.csv", EVENTS_HEADER + "1,2024-04-01 09:00,checkout,I1,R1,,C1\n" * 1002))
    assert r.status == "refused" and "1,000 lines" in r.message


def test_only_the_first_problems_are_stored_and_all_are_counted(db, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_REJECTS_STORED", 50)
    rows = "".join(f"{i},2024-04-01 09:00,lend,I{i},R1,,C1\n" for i in range(300))  # `lend`: not an action
    r = import_file(db, write(tmp_path, "e.csv", EVENTS_HEADER + rows + "a,b\n" * 20))  # + 20 rows too short
    assert r.rejected == 320
    assert snapshot(db).sql("select count(*) from rejects").fetchall() == [(50,)]


def test_a_nul_byte_in_a_file_is_rejected_not_stored(db, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(EVENTS_HEADER.encode() + b"1,2024-04-01 09:00,checkout,NS00\x0000001,R1,,C1\n"
                     b"2,2024-04-01 10:00,checkout,NS0000002,R1,,C1\n")
    r = import_file(db, path)
    assert r.status == "imported" and (r.accepted, r.rejected) == (1, 1)
    assert snapshot(db).sql("select item_id from events").fetchall() == [("NS0000002",)]


# --- Keys ---

def test_a_new_key_is_32_random_bytes_in_hex_and_owner_only(db, tmp_path):
    import_file(db, write(tmp_path, "b.csv", BRANCHES))
    path = key_path(db)
    assert len(bytes.fromhex(path.read_text().strip())) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_missing_key_with_data_present_is_an_error_not_a_new_key(db, tmp_path):
    readers = "reader_id,registered_on\nr1,2024-01-01\nr2,2024-01-02\n"
    import_file(db, write(tmp_path, "readers.csv", readers))
    key_path(db).unlink()
    with pytest.raises(KeyFileError, match="backup"):
        load_key(db)
    assert not key_path(db).exists()
    proc = _cli(db, "import", str(write(tmp_path, "readers.csv", readers)), env=_env(tmp_path))
    assert proc.returncode == 1 and "Restore the key" in proc.stderr and "Traceback" not in proc.stderr
    assert not key_path(db).exists()
    assert snapshot(db).sql("select count(*) from readers").fetchall() == [(2,)]  # never doubled


@pytest.mark.parametrize("content", ["", "\n", "abc", "00" * 31, "zz" * 32, "00" * 33])
def test_an_empty_or_malformed_key_is_refused(db, tmp_path, content):
    path = key_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="64 hexadecimal digits"):
        load_key(db)
    r_proc = _cli(db, "import", str(write(tmp_path, "b.csv", BRANCHES)), env=_env(tmp_path))
    assert r_proc.returncode == 1 and "hexadecimal" in r_proc.stderr


def test_a_key_others_can_read_is_refused(db):
    load_key(db)
    key_path(db).chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key(db)


# --- Nothing personal outside the database ---

def test_the_refusal_of_a_file_without_header_describes_its_first_row_without_quoting_it(db, tmp_path):
    first_row = "440100012345,张三,13800138000,440101199001011234,广州市南沙区进港大道1号"
    path = write(tmp_path, "readers.csv", first_row + "\n440100012346,李四,13900139000,440101199202021234,南沙\n")
    r = import_file(db, path)
    assert r.status == "refused" and "5 columns" in r.message
    logged = snapshot(db).sql("select message from imports").fetchall()[0][0]
    for value in first_row.split(","):
        assert value not in r.message and value not in logged
    published = _files_under(storage.locations(db).snapshots)
    assert published and not any(b"13800138000" in f.read_bytes() for f in published)


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_a_killed_import_leaves_no_temporary_or_spill_file_after_the_next_start(tmp_path):
    db = tmp_path / "data" / "microbranch.duckdb"
    events = EVENTS_HEADER + "".join(f"{i},2024-04-01 09:{i % 60:02d},checkout,I{i},{CARDS[i % 3000]},,C1\n"
                                     for i in range(60_000))
    path = tmp_path / "events.csv"
    path.write_bytes(events.encode("gb18030"))  # not UTF-8: a decoded copy is written for DuckDB
    assert _cli(db, "import", str(write(tmp_path, "b.csv", BRANCHES)), env=_env(tmp_path)).returncode == 0
    env = {**_env(tmp_path, MICROBRANCH_IMPORT_MEMORY="64MB"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.paused", str(db), "before-commit", "60", str(path)],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    line = ""
    while "PAUSED-AT-before-commit" not in line:
        line = proc.stderr.readline()
        assert line or proc.poll() is None, f"the import ended before its pause: {proc.stderr.read()}"
    work = storage.locations(db).make_work()
    assert stat.S_IMODE(work.stat().st_mode) == 0o700
    os.kill(proc.pid, signal.SIGKILL)  # the import's child process ends with it
    proc.wait(timeout=30)
    proc.stderr.close()
    time.sleep(1)
    # The next start: an import (or the dashboard) empties the work folder before anything else.
    assert _cli(db, "import", str(write(tmp_path, "b.csv", BRANCHES)), env=_env(tmp_path)).returncode == 0
    assert storage.clear_work(db)
    leftovers = _files_under(work) + _files_under(storage.locations(db).tmp)
    assert leftovers == []
    system_tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    recent = [p for p in system_tmp.glob("tmp*.csv") if p.stat().st_mtime > time.time() - 300]
    for p in [*leftovers, *recent]:
        content = p.read_bytes()
        assert not any(card.encode() in content for card in CARDS[:50]), p


def test_an_import_that_needs_more_memory_than_its_cap_ends_alone_with_the_limit_named(db, tmp_path, monkeypatch):
    from microbranch.ingest.isolated import import_isolated

    assert import_isolated(db, write(tmp_path, "b.csv", BRANCHES)).status == "imported"
    monkeypatch.setenv("MICROBRANCH_IMPORT_ADDRESS_SPACE", "600MB")
    rows = "".join(f"{i},2024-04-01 09:00,checkout,I{i},R{i % 999},,C1\n" for i in range(300_000))
    steps: list[str] = []
    r = import_isolated(db, ("e.csv", (EVENTS_HEADER + rows).encode()), progress=lambda s, _f: steps.append(s))
    assert r.status == "refused" and "0.6 GiB" in r.message and steps
    assert snapshot(db).sql("select count(*) from events").fetchall() == [(0,)]
    assert _files_under(storage.locations(db).make_work()) == []  # the upload's copy went with it
