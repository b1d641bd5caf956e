"""分馆地图 Branch map: every branch on an offline map, coloured by kind and host type, sized by loans in the
period, over the communities shaded by walk minutes; walking circles on request."""

import streamlit as st

from ui import data, maps
from ui.kit import chart, page, table
from ui.shell import WALKS, as_of_line, filters, tr

MAP_WIDTH = 760

page("branch_map")
f = filters()
as_of_line()

branches = data.q("branches_by_loans", date_from=f.date_from, date_to=f.date_to, walk_minutes=f.walk_minutes,
                  branch_ids=list(f.branch_ids) or None)
communities = data.q("coverage_by_community", date_to=f.date_to, walk_minutes=f.walk_minutes)

# Walking circles around every branch by default while the map can name them; around hundreds they overlap into
# one blur (and cost the browser a fifth of the map's drawing), so there they are drawn on request.
rings = st.pills(tr("places_rings"), WALKS, selection_mode="multi",
                 default=[f.walk_minutes] if maps.named(branches) else [],
                 format_func=lambda m: tr("places_minutes", minutes=m), help=tr("places_rings_help"),
                 key="map_rings") or []
# Labels are placed for the narrowest map people see (a 1280 px screen with the sidebar open: about 760 px): a wider
# map only spreads the markers apart, so no two names meet at any width from there up.
figure = maps.branch_map(branches, communities, rings=rings, walk_minutes=f.walk_minutes, tile=maps.tiles(),
                         height=860, width_hint=MAP_WIDTH, labels=None if maps.named(branches) else False)
chart(figure, config={"scrollZoom": False, "displaylogo": False}, key="branch_map")
if key := maps.unnamed_note(branches) or maps.numbers_key(figure):
    st.caption(key)
st.caption(tr("places_map_note"))
if f.branch_ids:
    st.caption(tr("places_map_filtered"))

st.subheader(tr("places_branch_table"))
table(branches, columns=["name", "loans", "served_residents", "host_population", "volumes", "kind", "host_type",
                         "status", "opened_on", "branch_id"], file_name="branches_by_loans.csv", terms="places")
