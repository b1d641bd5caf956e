"""微分馆考核 Scorecards: every micro-branch against its peers' median pace (or explicit yearly targets), prorated
for the days it is open; met / on track / behind, new branches not judged, and the peer ranking."""

import polars as pl
import streamlit as st

from microbranch import scorecard
from ui import data
from ui.kit import metric, page, readers_for_role, sees_readers, table, words
from ui.maps import HOSTS
from ui.shell import as_of_line, filters, ignores, tr

STATUSES = ("behind", "on_track", "met", "new")
# Key columns first: the rank, who, the verdict, then the figures that decide it.
COLUMNS = {"peer_rank": "card_peer_rank", "name": "places_name", "status": "card_status",
           "peer_index": "card_peer_index", "transfers": "card_transfers", "transfers_due": "card_transfers_due",
           "transfers_status": "card_transfers_status", "readers": "card_readers", "readers_due": "card_readers_due",
           "readers_status": "card_readers_status", "transfers_yearly": "card_transfers_yearly",
           "readers_yearly": "card_readers_yearly", "peer_group": "card_peer_group",
           "host_type": "places_host_type", "opened_on": "places_opened_on", "days_open_in_year": "card_days_open",
           "branch_id": "places_branch_id"}

page("scorecards")
f = filters()
as_of_line()
ignores(f, "period_start", "walk")
targets = scorecard.targets()


def _target(value: float | None) -> str:
    return tr("card_target_peers") if value is None else f"{value:g}"


if targets.from_peers and targets.transfers is None and targets.readers is None:
    st.caption(tr("card_intro_peers", day=f.date_to, grace=targets.grace_days))
else:
    st.caption(tr("card_intro_explicit", transfers=_target(targets.transfers), readers=_target(targets.readers),
                  day=f.date_to, grace=targets.grace_days))
cards = data.q("scorecard_by_branch", date_to=f.date_to, branch_ids=list(f.branch_ids) or None, **targets.params())
if cards.is_empty():
    st.info(tr("card_none_chosen" if f.branch_ids else "card_none"))
    st.stop()
if f.branch_ids:
    st.caption(tr("card_ranked_note"))

for col, status in zip(st.columns(len(STATUSES)), STATUSES, strict=True):
    metric(tr(f"card_status_{status}"), f"{cards.filter(pl.col('status') == status).height:,}", border=True, where=col)

shown = cards.select(list(COLUMNS)).with_columns(pl.col("^.*_(yearly|due)$").round(1), pl.col("peer_index").round(2),
                                                 pl.col("opened_on").cast(pl.Date))
for column in ("status", "transfers_status", "readers_status"):
    shown = words(shown, column, lambda s: tr(f"card_status_{s}"))
shown = words(shown, "peer_group", lambda g: tr(f"card_peer_group_{g}"))
shown = words(shown, "host_type", lambda h: tr(f"host_{h}") if h in HOSTS else str(h))
shown = readers_for_role(shown, "readers")
formats = {tr(COLUMNS[c]): st.column_config.NumberColumn(
    format="%.2f" if c == "peer_index" else "%.1f" if dtype.is_float() else "%d" if c == "peer_rank" else "localized")
    for c, dtype in shown.schema.items() if dtype.is_numeric()}
formats[tr("places_opened_on")] = st.column_config.DateColumn(format="YYYY-MM-DD")
table(shown.rename({c: tr(k) for c, k in COLUMNS.items()}), "scorecards.csv", key="scorecards", column_config=formats)
if not sees_readers():
    st.caption(tr("card_suppressed_note"))
st.caption(tr("card_events_note", events=targets.reading_events))
