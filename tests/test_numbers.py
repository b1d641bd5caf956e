"""One number format (microbranch.numbers, from the catalogue's metrics), the same on screen, in the report and in CSV.

Hand-made numbers, worked by hand:

- transfer share 0.21774 (a share, 1 place): 21.774% -> "21.8%" on screen and in the report, 21.8 in a CSV under
  "转借占比（%）"; 0.228 -> "22.8%", never "21.77%" beside "22.8%" in one column. Its change from 0.21774 to 0.228 is
  1.026 percentage points -> "+1.0 个百分点".
- loans per reader 1.8666 (2 places): "1.87" on screen, in the report and 1.87 in a CSV (not 1.9 beside 1.87).
- turnover 0.41397397199267655 (3 places): "0.414", and 0.414 in a CSV, not the 17 digits.
- active readers 2120: "2,120" on screen; 2120 in a CSV (a number Excel sums, not the text "2,120"); its change
  from 2000 is "+120". Suppressed for an official as "x" or "<10": an empty cell, and a flag column beside it.
- mean walk minutes 5.25 against 7.75: "5.2" (one place, half to even in binary: 5.25 is exact) and a change of
  "-2.5"; a fall is the good direction (the catalogue's better = "lower").
"""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from microbranch import access, numbers, report
from microbranch.i18n import metrics
from ui import kit


def test_text_on_screen_and_in_the_report():
    assert numbers.text("transfer_share", 0.21774) == "21.8%"
    assert numbers.text("transfer_share", 0.228) == "22.8%"
    assert numbers.text("loans_per_reader", 1.8666) == "1.87"
    assert numbers.text("turnover", 0.41397397199267655) == "0.414"
    assert numbers.text("active_readers", 2120) == "2,120"
    assert numbers.text("active_readers", None) == "—"
    assert numbers.text("active_readers", "<10") == "<10"
    assert numbers.text("mean_walk_minutes", 5.25) == "5.2"
    # The report writes the same text (minutes with their unit).
    for key, value in (("transfer_share", 0.21774), ("active_readers", 2120), ("loans_per_reader", 1.8666)):
        assert report._format("zh", key, value) == numbers.text(key, value)
    assert report._format("zh", "mean_walk_minutes", 5.25) == "5.2 分钟"


def test_changes():
    assert numbers.change("transfer_share", 0.228, 0.21774, "zh") == "+1.0 个百分点"
    assert numbers.change("transfer_share", 0.228, 0.21774, "en") == "+1.0 pp"
    assert numbers.change("active_readers", 2120, 2000) == "+120"
    assert numbers.change("mean_walk_minutes", 5.25, 7.75) == "-2.5"
    assert numbers.lower_is_better("mean_walk_minutes") and not numbers.lower_is_better("loans")
    assert numbers.change("active_readers", 2120, "<10") is None  # a hidden earlier count gives no change
    assert report._change("zh", "transfer_share", 0.228, 0.21774) == "+1.0 个百分点"


def test_csv_numbers_are_numbers():
    assert numbers.csv("transfer_share", 0.21774) == 21.8
    assert numbers.csv("turnover", 0.41397397199267655) == 0.414
    assert numbers.csv("loans_per_reader", 1.8666) == 1.87
    assert numbers.csv("active_readers", 2120) == 2120
    assert numbers.csv("active_readers", None) is None


def test_csv_frame_of_an_officials_table():
    """Three branches as an official's table holds them after suppression (text: `x`, `<10`, `2,120`): each
    suppressed column becomes numbers (2120, 1.87, 22) with a flag column beside it; the shares 21.8 and 22.8 (per
    cent), turnover 0.414 (3 places)."""
    frame = pl.DataFrame({"name": ["A", "B", "C"], "active_readers": ["x", "<10", "2,120"],
                          "loans_per_reader": ["x", "<10", "1.87"], "transfer_share": [0.21774, 0.228, None],
                          "turnover": [0.41397397199267655, 1.0, 2.5],
                          "本年读者": ["22", "<10", "x"]})  # a page's own heading (the scorecards'), suppressed too
    got = kit.csv_frame(frame, {c: kit.label(c) for c in frame.columns})
    expected = pl.DataFrame({
        "分馆名称": ["A", "B", "C"],
        "活跃读者": [None, None, 2120],
        "活跃读者（已隐去）": ["x", "<10", None],
        "人均借阅": [None, None, 1.87],
        "人均借阅（已隐去）": ["x", "<10", None],
        "转借占比（%）": [21.8, 22.8, None],
        "流通率": [0.414, 1.0, 2.5],
        "本年读者": [22, None, None],
        "本年读者（已隐去）": [None, "<10", "x"],
    }, schema_overrides={"活跃读者": pl.Int64})
    assert_frame_equal(got, expected)


def test_every_metric_has_a_known_format():
    for key, entry in metrics().items():
        if "unit" in entry:  # a number, not a term of the glossary
            assert entry.get("format") in numbers.KINDS, key
    assert set(access.READER_COUNTS) == {k for k, e in metrics().items() if e.get("readers")}
    assert {"active_readers", "new_readers", "readers"} <= set(access.READER_COUNTS)
