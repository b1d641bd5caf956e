import streamlit as st

from ui.shell import as_of_line, filters, tr

st.title(tr("page_overview"))
f = filters()
as_of_line()
