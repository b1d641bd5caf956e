import streamlit as st

from ui.shell import as_of_line, filters, tr

st.title(tr("page_glossary"))
f = filters()
as_of_line()
