"""说明 Glossary: every metric's definition from the catalogue, in the current language."""

import polars as pl
import streamlit as st

from microbranch.i18n import entries
from ui.kit import page, table
from ui.shell import as_of_line, lang, tr

page("glossary")
as_of_line()
st.markdown(tr("circ_glossary_intro"))

defined = [key for key, entry in entries().items() if f"{lang()}_def" in entry]
terms = [(tr(key), entries()[key][f"{lang()}_def"]) for key in sorted(defined, key=lambda k: k.startswith("circ_"))]
for term, definition in terms:
    st.markdown(f"**{term}** — {definition}")
table(pl.DataFrame(terms, schema=[tr("circ_glossary_term"), tr("circ_glossary_definition")], orient="row"),
      "glossary.csv")
