"""服务居民 Residents served: coverage at 5/10/15 minutes, walk minutes with and without micro-branches,
served residents per branch, reader penetration (suppressed for officials), the uncovered communities,
and the next sites (maximal covering solved exactly, greedy beside) compared with today."""

import polars as pl
import streamlit as st

from microbranch import coverage, sites
from ui import data, maps
from ui.kit import chart, metric, page, sees_readers, shown, table
from ui.shell import WALKS, as_of_line, filters, ignores, tr

page("residents")
f = filters()
as_of_line()
ignores(f, "period_start", "branches")
place = {"date_to": f.date_to, "walk_minutes": f.walk_minutes}
minutes = tr("places_minutes", minutes=f.walk_minutes)

# Residents within walking distance, at every threshold.
st.subheader(tr("places_section_coverage"))
thresholds = data.q("coverage_by_threshold", date_to=f.date_to)
for col, row in zip(st.columns(len(WALKS)), thresholds.iter_rows(named=True), strict=False):
    metric(tr("places_coverage_at", minutes=row["walk_threshold"]), f"{row['residents_covered']:,}",
               delta=tr("places_micro_adds", value=row["residents_added_by_micro"]), delta_color="normal",
               help=tr("residents_covered"), where=col)
    col.caption(tr("places_coverage_caption", rate=row["coverage_rate"] or 0,
                   rate_without=row["coverage_rate_without_micro"] or 0))
table(thresholds, columns=thresholds.columns, file_name="coverage_by_threshold.csv", terms="places")

# Mean walk with and without micro-branches: the whole district, then each town.
st.subheader(tr("places_section_walk"))
walks = data.q("walk_by_town", **place)
district_row, towns = data.split(walks, "is_district")  # the same frames on the next view
district = district_row.row(0, named=True)
now, before = st.columns(2)
metric(tr("places_walk_now"), tr("places_minutes_value", value=district["mean_walk_minutes"] or 0),
           delta=tr("places_walk_saved", value=district["walk_minutes_saved"] or 0), delta_color="normal",
           delta_arrow="down", help=tr("mean_walk_minutes"), where=now)
metric(tr("places_walk_before"),
              tr("places_minutes_value", value=district["mean_walk_minutes_without_micro"] or 0),
              help=tr("mean_walk_minutes_without_micro"), where=before)
chart(maps.walk_by_town_chart(towns), config={"displaylogo": False}, key="walk_by_town")
table(towns, columns=["town_code", "coverage_rate", "mean_walk_minutes", "mean_walk_minutes_without_micro",
                       "walk_minutes_saved", "residents_covered", "residents_total", "communities"],  # key first
                file_name="walk_by_town.csv", terms="places")

# Served residents per branch, host members beside.
st.subheader(tr("places_section_served"))
st.caption(tr("places_served_both_caption", minutes=f.walk_minutes))
served = data.q("served_by_branch", **place, branch_ids=list(f.branch_ids) or None)
table(served, columns=["name", "residents_within_walk", "served_residents", "host_population",
                       "communities_within_walk", "served_communities", "kind", "host_type", "branch_id"],
      file_name="served_by_branch.csv", terms="places")  # key columns first

# Reader penetration: readers per 1,000 residents; small reader counts suppressed for officials.
st.subheader(tr("places_section_penetration"))
penetration = data.q("penetration_by_community", date_to=f.date_to)
penetration = shown(penetration)  # suppressed for officials over the whole roll-up, before the tabs split it
if not sees_readers():
    st.caption(tr("places_suppressed_note"))
by_town, by_community = st.tabs([tr("places_penetration_by_town"), tr("places_penetration_by_community")])
in_communities, rolled = data.split(penetration, "level", "community")
with by_town:
    table(rolled, columns=["town_code", "population", "readers", "penetration"], file_name="penetration_by_town.csv",
          terms="places")
with by_community:
    table(in_communities,
                    columns=["name", "penetration", "readers", "population", "town_code", "community_code"],
                    file_name="penetration_by_community.csv", terms="places")

# The communities beyond the threshold, the most residents first.
st.subheader(tr("places_section_uncovered"))
st.caption(tr("places_uncovered_caption", communities=district["communities_uncovered"],
              residents=district["residents_uncovered"], minutes=f.walk_minutes))
uncovered = data.q("uncovered_by_community", **place)
table(uncovered, columns=["rank", "name", "population", "walk_minutes", "town_code", "nearest_branch",
                            "community_code"], file_name="uncovered_by_community.csv", terms="places")

# Next sites: the maximal covering problem solved exactly for k = 1..10, the greedy answer beside it.
st.subheader(tr("places_section_next"))
st.caption(tr("sites_method", minutes=f.walk_minutes))
plan_col, k_col, limit_col = st.columns(3)
plan_day = plan_col.date_input(tr("sites_plan_day"), value=f.date_to, help=tr("sites_plan_day_help"),
                               key="sites_plan_day")
k = k_col.slider(tr("places_next_k"), 1, 10, 3, key="next_k")
limit = limit_col.number_input(tr("sites_time_limit"), 1, 120, 10, key="sites_limit")
upload = st.file_uploader(tr("sites_upload"), type=["csv"], key="sites_upload")
candidates, only_uploaded = None, False
if upload is not None:
    try:
        candidates = sites.read_candidates_csv(upload.getvalue())
    except sites.CandidateError as exc:
        st.error(tr("sites_bad_file", reason=exc))
    only_uploaded = st.checkbox(tr("sites_upload_only"), key="sites_only") and candidates is not None
communities = data.q("coverage_by_community", date_to=plan_day, walk_minutes=f.walk_minutes)
plan = data.made(sites.plan, communities, f.walk_minutes, candidates, only_uploaded, float(limit))  # seconds of solving


def solve_status(compare: pl.DataFrame, words: dict[str, str]) -> pl.DataFrame:
    """The comparison with each exact solve's status in words (made once per plan and language)."""
    return compare.with_columns(solve_status=pl.col("status").replace_strict(words))


compared = data.made(solve_status, plan.compare, {s: tr(f"sites_status_{s}") for s in ("optimal", "time_limit")})
st.markdown(f"**{tr('sites_compare_title')}**")
table(compared, columns=["k", "greedy_gain", "exact_gain", "gap", "bound", "solve_status", "residents_covered",
                           "coverage_rate", "seconds"], file_name="next_sites_compare.csv", key="sites_compare",
      terms="places")
row = plan.compare.row(k - 1, named=True)
gap_col, exact_col, greedy_col = st.columns(3)
metric(tr("sites_gap_metric", k=k), f"{row['gap']:,}", where=gap_col)
metric(tr("places_exact_gain"), f"{row['exact_gain']:,}", where=exact_col)
metric(tr("places_greedy_gain"), f"{row['greedy_gain']:,}", where=greedy_col)
if row["status"] == "time_limit":
    st.warning(tr("sites_time_limit_note", k=k, gain=row["exact_gain"], bound=row["bound"]))
exact, greedy = plan.exact[k - 1], plan.greedy[k - 1]
if exact.height < k:
    st.info(tr("places_next_fewer", found=exact.height))
site_columns = ["step", "site_id", "name", "gain", "communities_gained", "residents_covered", "coverage_rate"]
exact_tab, greedy_tab = st.tabs([tr("sites_table_exact"), tr("sites_table_greedy")])
with exact_tab:
    table(exact, columns=site_columns, file_name="next_sites_exact.csv", key="sites_exact", terms="places")
with greedy_tab:
    table(greedy, columns=site_columns, file_name="next_sites_greedy.csv", key="sites_greedy", terms="places")
today_numbers = data.made(coverage.summary, communities, f.walk_minutes)
today_col, after_col = st.columns(2)
after = data.made(coverage.walks_with_sites, communities, exact, f.walk_minutes)
for col, title, numbers in (
    (today_col, tr("places_today"), today_numbers),
    (after_col, tr("sites_exact_title", k=exact.height), data.made(coverage.summary, after, f.walk_minutes)),
):
    with col:
        st.markdown(f"**{title}**")
        a, b = st.columns(2)
        metric(tr("residents_covered"), f"{numbers['residents_covered']:,}", help=minutes, where=a)
        metric(tr("coverage_rate"), f"{numbers['coverage_rate'] or 0:.1%}", where=b)
        st.caption(f"{tr('mean_walk_minutes')}: "
                   + tr("places_minutes_value", value=numbers["mean_walk_minutes"] or 0))
# The two maps (every community on each) are drawn when asked for; the branch map page shows today's.
maps_box = st.expander(tr("sites_maps"), key="residents_maps", on_change="rerun")
if maps_box.open:
    branches = data.q("branches_by_loans", date_from=f.date_from, date_to=plan_day, walk_minutes=f.walk_minutes)
    today_map, after_map = maps_box.columns(2)
    for col, frame, picked, key in ((today_map, communities, None, "map_today"),
                                    (after_map, after, exact, "map_after")):
        chart(maps.branch_map(branches, frame, sites=picked, walk_minutes=f.walk_minutes, tile=maps.tiles(),
                              height=460, width_hint=440, colorbar=picked is not None,
                              labels=None if maps.named(branches) else False),
              config={"scrollZoom": False, "displaylogo": False}, key=key, where=col)
    if note := maps.unnamed_note(branches):
        maps_box.caption(note)
