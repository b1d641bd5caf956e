"""An import that stops at a named step of storing, so that a test can kill it there:

    python -m tests.paused DB STEP SECONDS [--fold-inline] FILE...

runs each file through the capped child (as the upload page and the command line do), prints
`PAUSED-AT-<STEP>` on stderr when it reaches the step and sleeps there; then prints the command line's summary
line on stdout. (The child's own stderr goes to the parent's log: the child says it on stdout, which this process
points at its stderr before starting it.) The steps are those `import_file` and `storage.writer` tell their
`on_step` ("before-commit", "committed", "log-started", ..., "folding", ...). `--fold-inline` folds in this
process instead of a process of its own.
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from pathlib import Path

from microbranch.ingest.isolated import import_isolated


def pause_at(wanted: str, seconds: float, step: str) -> None:
    if step == wanted:
        print(f"PAUSED-AT-{step}", flush=True)
        time.sleep(seconds)


def main(argv: list[str]) -> int:
    fold_inline = "--fold-inline" in argv
    db, step, seconds, *files = [a for a in argv if a != "--fold-inline"]
    summary = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the child's stdout (its PAUSED-AT line) is this process's stderr
    for f in files:
        r = import_isolated(Path(db), Path(f), on_step=partial(pause_at, step, float(seconds)),
                            fold_inline=fold_inline)
        print(f"{r.file_name}: {r.lines_read} lines read = {r.accepted} accepted + {r.rejected} rejected + "
              f"{r.duplicates} duplicates skipped {r.message}", file=summary, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
