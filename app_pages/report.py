"""区级月报 District report: the month's report for officials to forward, as interactive HTML or A4 PDF, in
Chinese or English, made from the same named queries as the pages."""

from datetime import date

import streamlit as st

from microbranch import report
from ui import data
from ui.kit import page
from ui.shell import as_of_line, filters, ignores, lang, tr

page("report")
f = filters()
as_of_line()
ignores(f, "period_start", "branches")
st.caption(tr("report_intro"))

# the 24 months up to the period's end, the latest first
end = f.date_to.year * 12 + f.date_to.month - 1
choices = [date((end - i) // 12, (end - i) % 12 + 1, 1) for i in range(24)]
month_col, lang_col, form_col = st.columns(3)
month = month_col.selectbox(tr("report_month"), choices, format_func=lambda d: f"{d:%Y-%m}", key="report_month")
report_lang = lang_col.radio(tr("report_lang"), ("zh", "en"), index=0 if lang() == "zh" else 1, horizontal=True,
                             format_func=lambda code: "中文" if code == "zh" else "English", key="report_lang")
form = form_col.radio(tr("report_form"), ("pdf", "html"), horizontal=True, format_func=str.upper, key="report_form")
period = report.Period.month(f"{month:%Y-%m}")

if st.button(tr("report_make"), icon=":material/description:", key="report_make"):
    with st.status(tr("report_making")) as status:
        try:
            body = data.district_report(period.date_from, period.date_to, report_lang, form, f.walk_minutes)
        except report.ReportError as exc:
            status.update(state="error")
            st.error(tr("report_failed", reason=exc))
            st.stop()
        status.update(state="complete")
    st.download_button(tr("report_download"), body, file_name=f"microbranch-report-{month:%Y-%m}-{report_lang}.{form}",
                       mime="application/pdf" if form == "pdf" else "text/html", icon=":material/download:",
                       key="report_download")
