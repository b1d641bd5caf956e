"""The command line never shows a traceback for what a user typed: every query's parameters fuzzed with
hypothesis end in a result (0) or one line on stderr (1 for data errors, 2 for wrong usage)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microbranch import cli, queries
from tests.test_queries_circulation import build

ROOT = Path(__file__).resolve().parent.parent
ODD_TEXT = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "infinity", "1e309", "-1", "0", "2147483648", "99999999999999999999",
                     "2024-04-01", "2024-02-30", "0001-01-01", "9999-12-31", "294247-01-10", "M1,C1", "[x", "NULL",
                     "'; drop table events; --", "\x00", "\x1b[31m", "１２", "二〇二四年", " ", ",,,"]),
    st.text(max_size=30),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(str),
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MICROBRANCH_KEY_FILE", str(folder / "secret" / "microbranch.key"))
        yield build(folder)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", queries.names())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_parameter_value_ends_in_one_line_or_a_result(db, capsys, name, data):
    wanted = queries.params_of(name)
    chosen = data.draw(st.lists(st.sampled_from(wanted), unique=True), label="params") if wanted else []
    argv = ["--db", str(db), "query", name, "--format", "csv"]
    for key in chosen:
        argv += ["--param", f"{key}={data.draw(ODD_TEXT, label=key)}"]
    code, err = run_cli(argv, capsys)  # an exception escaping here is the traceback a user would see
    assert code in (0, 1, 2)
    if code:
        assert err.strip() and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.text(max_size=20), max_size=3))
def test_unknown_and_malformed_parameters_are_usage_errors(db, capsys, params):
    argv = ["--db", str(db), "query", "kpis"]
    for p in params:
        argv += ["--param", p]
    code, err = run_cli(argv, capsys)
    assert code in (0, 1, 2)
    assert "Traceback" not in err


@pytest.mark.parametrize(("param", "code", "says"), [
    ("date_from=inf", 2, "YYYY-MM-DD"),  # once a 76-line Rust panic
    ("walk_minutes=abc", 1, "Conversion Error"),  # a DuckDB error: its class lives in module `_duckdb`
    ("date_to=2024-13-01", 2, "YYYY-MM-DD"),
])
def test_a_real_process_prints_one_line_and_the_exit_status(db, param, code, says):
    proc = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(db), "query", "kpis", "--param", param],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == code, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and says in proc.stderr


def test_a_missing_database_is_one_line(tmp_path, capsys):
    code, err = run_cli(["--db", str(tmp_path / "none.duckdb"), "query", "kpis"], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1
