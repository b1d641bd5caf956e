"""服务居民 Residents served: coverage at 5/10/15 minutes, walk minutes with and without micro-branches,
served residents per branch, reader penetration (suppressed for officials), the uncovered communities,
and the next sites (greedy maximal covering) compared with today."""

import streamlit as st

from microbranch import coverage, privacy_tables
from ui import data, maps
from ui.shell import WALKS, as_of_line, filters, role, tr

st.title(tr("page_residents"))
f = filters()
as_of_line()
place = {"date_to": f.date_to, "walk_minutes": f.walk_minutes}
minutes = tr("places_minutes", minutes=f.walk_minutes)

# Residents within walking distance, at every threshold.
st.subheader(tr("places_section_coverage"))
thresholds = data.q("coverage_by_threshold", date_to=f.date_to)
for col, row in zip(st.columns(len(WALKS)), thresholds.iter_rows(named=True), strict=False):
    col.metric(tr("places_coverage_at", minutes=row["walk_threshold"]), f"{row['residents_covered']:,}",
               delta=tr("places_micro_adds", value=row["residents_added_by_micro"]), delta_color="normal",
               help=tr("residents_covered"))
    col.caption(tr("places_coverage_caption", rate=row["coverage_rate"] or 0,
                   rate_without=row["coverage_rate_without_micro"] or 0))
maps.show_table(thresholds, thresholds.columns, "coverage_by_threshold.csv")

# Mean walk with and without micro-branches: the whole district, then each town.
st.subheader(tr("places_section_walk"))
walks = data.q("walk_by_town", **place)
district = walks.filter(walks["is_district"]).row(0, named=True)
towns = walks.filter(~walks["is_district"])
now, before = st.columns(2)
now.metric(tr("places_walk_now"), tr("places_minutes_value", value=district["mean_walk_minutes"] or 0),
           delta=tr("places_walk_saved", value=district["walk_minutes_saved"] or 0), delta_color="normal",
           delta_arrow="down", help=tr("mean_walk_minutes"))
before.metric(tr("places_walk_before"),
              tr("places_minutes_value", value=district["mean_walk_minutes_without_micro"] or 0),
              help=tr("mean_walk_minutes_without_micro"))
st.plotly_chart(maps.walk_by_town_chart(towns), config={"displaylogo": False}, key="walk_by_town")
maps.show_table(towns, ["town_code", "communities", "residents_total", "residents_covered", "coverage_rate",
                       "mean_walk_minutes", "mean_walk_minutes_without_micro", "walk_minutes_saved"],
                "walk_by_town.csv")

# Served residents per branch, host members beside.
st.subheader(tr("places_section_served"))
st.caption(tr("places_served_caption"))
served = data.q("served_by_branch", **place, branch_ids=list(f.branch_ids) or None)
maps.show_table(served, ["branch_id", "name", "kind", "host_type", "served_communities", "served_residents",
                         "host_population"], "served_by_branch.csv")

# Reader penetration: readers per 1,000 residents; small reader counts suppressed for officials.
st.subheader(tr("places_section_penetration"))
penetration = data.q("penetration_by_community", date_to=f.date_to)
if role() == "official":
    penetration = privacy_tables.suppress_rollup(penetration, "readers", {"penetration": "{:.1f}"})
    st.caption(tr("places_suppressed_note"))
by_town, by_community = st.tabs([tr("places_penetration_by_town"), tr("places_penetration_by_community")])
with by_town:
    rolled = penetration.filter(penetration["level"] != "community")
    maps.show_table(rolled, ["town_code", "population", "readers", "penetration"], "penetration_by_town.csv")
with by_community:
    maps.show_table(penetration.filter(penetration["level"] == "community"),
                    ["community_code", "name", "town_code", "population", "readers", "penetration"],
                    "penetration_by_community.csv")

# The communities beyond the threshold, the most residents first.
st.subheader(tr("places_section_uncovered"))
st.caption(tr("places_uncovered_caption", communities=district["communities_uncovered"],
              residents=district["residents_uncovered"], minutes=f.walk_minutes))
uncovered = data.q("uncovered_by_community", **place)
maps.show_table(uncovered, ["rank", "community_code", "name", "town_code", "population", "walk_minutes",
                            "nearest_branch"], "uncovered_by_community.csv")

# Next sites: greedy maximal covering over the community centres; today and today + suggestions.
st.subheader(tr("places_section_next"))
st.caption(tr("places_next_method", minutes=f.walk_minutes))
k = st.slider(tr("places_next_k"), 1, 10, 3, key="next_k")
communities = data.q("coverage_by_community", **place)
sites = coverage.next_sites(communities, k, f.walk_minutes)
if sites.height < k:
    st.info(tr("places_next_fewer", found=sites.height))
maps.show_table(sites, ["step", "community_code", "name", "town_code", "population", "walk_minutes", "gain",
                        "communities_gained", "residents_covered", "coverage_rate"], "next_sites.csv")
after = coverage.walks_with_sites(communities, sites, f.walk_minutes)
after_numbers = coverage.summary(after, f.walk_minutes)
branches = data.q("branches_by_loans", date_from=f.date_from, **place)
today_col, after_col = st.columns(2)
for col, title, numbers, frame, picked, key in (
    (today_col, tr("places_today"), district, communities, None, "map_today"),
    (after_col, tr("places_with_sites", k=sites.height), after_numbers, after, sites, "map_after"),
):
    with col:
        st.markdown(f"**{title}**")
        a, b = st.columns(2)
        a.metric(tr("residents_covered"), f"{numbers['residents_covered']:,}", help=minutes)
        b.metric(tr("coverage_rate"), f"{numbers['coverage_rate'] or 0:.1%}")
        st.caption(f"{tr('mean_walk_minutes')}: "
                   + tr("places_minutes_value", value=numbers["mean_walk_minutes"] or 0))
        st.plotly_chart(
            maps.branch_map(branches, frame, sites=picked, walk_minutes=f.walk_minutes, tile=maps.tiles(),
                            height=460, width_hint=440, legend=False, colorbar=picked is not None),
            config={"scrollZoom": True, "displaylogo": False}, key=key,
        )
