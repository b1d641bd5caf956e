import streamlit as st

from ui.shell import as_of_line, filters, tr

st.title(tr("page_loans"))
f = filters()
as_of_line()
