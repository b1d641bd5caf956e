"""The sample's period, file names and the exports' headers and words (from the contract)."""

from __future__ import annotations

import datetime as dt
import pathlib

from microbranch.contract import ACTION, BRANCH_KIND, CHANNEL, HOST_TYPE, KINDS, export_header, words_zh

HERE = pathlib.Path(__file__).resolve().parent
REFERENCE_DIR = HERE / "reference"
DEFAULT_OUT_DIR = HERE / "nansha"

PERIOD_START = dt.date(2024, 4, 1)  # first day of the circulation export
PERIOD_END = dt.date(2024, 10, 13)  # last day; the news report is dated 2024-10-14
START = PERIOD_START.toordinal()
END = PERIOD_END.toordinal()

# Header rows as the exports carry them: the contract's first Chinese alias of each column (the branches export
# says 分馆类型, another alias), its English names for the communities.
BRANCH_HEADER = export_header("branches", kind="分馆类型")
COMMUNITY_HEADER = [c.name for c in KINDS["communities"].columns]
READER_HEADER = export_header("readers")
ITEM_HEADER = export_header("items")
EVENT_HEADER = export_header("events")

# The exports' words for coded values: the contract's first Chinese spelling of each.
KIND_ZH = words_zh(BRANCH_KIND)
HOST_ZH = words_zh(HOST_TYPE)
ACTION_ZH = words_zh(ACTION)
ACTION_RANK = {"checkout": 0, "transfer": 1, "renew": 2, "return": 3}
CHANNEL_ZH = {c: words_zh(CHANNEL)[c] for c in ("counter", "self_service", "face", "mini_program")}

