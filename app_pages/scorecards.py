"""微分馆考核 Scorecards: every micro-branch against the yearly targets of the scorecard settings, prorated
for the days it is open; met / on track / behind with the figures that decide it."""

import polars as pl
import streamlit as st

from microbranch import scorecard
from ui import data
from ui.kit import metric, page, readers_for_role, sees_readers, table, words
from ui.maps import HOSTS
from ui.shell import as_of_line, filters, tr

STATUSES = ("behind", "on_track", "met")
COLUMNS = {"branch_id": "places_branch_id", "name": "places_name", "host_type": "places_host_type",
           "opened_on": "places_opened_on", "days_open_in_year": "card_days_open", "status": "card_status",
           "transfers": "card_transfers", "transfers_target": "card_transfers_target",
           "transfers_due": "card_transfers_due", "transfers_status": "card_transfers_status",
           "readers": "card_readers", "readers_target": "card_readers_target", "readers_due": "card_readers_due",
           "readers_status": "card_readers_status"}

page("scorecards")
f = filters()
as_of_line()
targets = scorecard.targets()
st.caption(tr("card_intro", transfers=targets.transfers, readers=targets.readers, events=targets.reading_events,
              day=f.date_to))
cards = data.q("scorecard_by_branch", date_to=f.date_to, **targets.params())
if cards.is_empty():
    st.info(tr("card_none"))
    st.stop()

for col, status in zip(st.columns(len(STATUSES)), STATUSES, strict=True):
    metric(tr(f"card_status_{status}"), f"{cards.filter(pl.col('status') == status).height:,}", border=True, where=col)

shown = cards.select(list(COLUMNS)).with_columns(pl.col("^.*_(target|due)$").round(1),
                                                 pl.col("opened_on").cast(pl.Date))
for column in ("status", "transfers_status", "readers_status"):
    shown = words(shown, column, lambda s: tr(f"card_status_{s}"))
shown = words(shown, "host_type", lambda h: tr(f"host_{h}") if h in HOSTS else str(h))
shown = readers_for_role(shown, "readers")
formats = {tr(COLUMNS[c]): st.column_config.NumberColumn(format="%.1f" if dtype.is_float() else "localized")
           for c, dtype in shown.schema.items() if dtype.is_numeric()}
formats[tr("places_opened_on")] = st.column_config.DateColumn(format="YYYY-MM-DD")
table(shown.rename({c: tr(k) for c, k in COLUMNS.items()}), "scorecards.csv", key="scorecards", column_config=formats)
if not sees_readers():
    st.caption(tr("card_suppressed_note"))
st.caption(tr("card_events_note", events=targets.reading_events))
