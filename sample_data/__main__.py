"""`python -m sample_data [--db PATH] [--out DIR | --remove]`: the Nansha sample data set.

Without an option: write the five sample exports and import them into the database, as the dashboard's first start
does. `--out DIR` only writes the files; `--remove` undoes the sample's imports, keeping uploaded data. The
generator stands on the core (`microbranch.sample` imports what it writes); the core never imports it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from microbranch import operations, settings
from microbranch.cli import say
from sample_data.generate import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_data", description=__doc__.split("\n\n")[1])
    parser.add_argument("--db", type=Path, help="the database (default: the dashboard's, docs/settings.md)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--out", type=Path, help="only write the sample's export files to this folder")
    what.add_argument("--remove", action="store_true", help="remove the sample data, keeping uploaded data")
    args = parser.parse_args(argv)
    db = args.db or settings.current().db
    os.umask(0o077)  # as the command line: every file and folder made here is owner-only
    if args.remove:
        removed = operations.remove_sample_data(db, operations.Actor.command_line())
        print(f"sample data removed: {removed.imports} imports undone")
        return 0
    if args.out:
        for path in generate(args.out):
            print(path)
        return 0
    loaded = operations.load_sample(db, generate, operations.Actor.command_line())
    for r in loaded.results:
        say(r)
    return 1 if any(r.status == "refused" for r in loaded.results) else 0


if __name__ == "__main__":
    sys.exit(main())
