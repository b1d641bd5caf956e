"""The large synthetic data set's generator lives beside the sample's, in `sample_data/make_big.py`; this entry keeps
the benchmarks' command lines (`python benchmarks/make_big.py --events N --out DIR`) and imports working."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sample_data.make_big import main, make_big  # noqa: E402

__all__ = ["main", "make_big"]

if __name__ == "__main__":
    main()
