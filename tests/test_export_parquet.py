"""`export --parquet`: the published data as Parquet partitioned by month; the named queries run on it unchanged."""

from __future__ import annotations

import json
import subprocess
import sys

from polars.testing import assert_frame_equal

from microbranch import export, queries, storage
from tests.conftest import BRANCHES, load
from tests.test_storage_concurrency import EVENTS_1, EVENTS_2, ROOT, _env


def test_the_export_gives_the_same_kpis_as_the_database(db, tmp_path):
    load(db, tmp_path, "branches.csv", BRANCHES)
    load(db, tmp_path, "e1.csv", EVENTS_1)
    load(db, tmp_path, "e2.csv", EVENTS_2.replace("2024-04-10 10:00", "2024-05-10 10:00"))  # a second month
    out = tmp_path / "province"
    env = _env(tmp_path)
    done = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(db), "export", "--parquet", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    for events in ("event_rows", "events"):  # as stored (numbers), and named: districts' exports side by side
        assert sorted(p.name for p in (out / events).iterdir()) == ["export_month=2024-04", "export_month=2024-05"]
    assert (out / "branches" / "data.parquet").exists()

    on_export = export.open_export(out)
    on_database = storage.reader(db)
    ragged = {"date_from": "2024-04-02", "date_to": "2024-05-10"}
    for name in queries.names():  # every named query, on the whole period and on a ragged one
        for params in ({}, {k: v for k, v in ragged.items() if k in queries.params_of(name)}):
            assert_frame_equal(queries.run(on_export, name, **params), queries.run(on_database, name, **params))
    assert queries.run(on_export, "kpis")["checkouts"].item() == 4

    cli = subprocess.run([sys.executable, "-m", "microbranch", "query", "kpis", "--parquet", str(out),
                          "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)[0]["checkouts"] == 4
