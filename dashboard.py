"""Entry point: page config, language and role, navigation over pages/."""

from pathlib import Path

import streamlit as st

from ui import data
from ui.errors import guarded
from ui.shell import ROLES, carry_params, deep_link, lang, role, tr, widget_words

HERE = Path(__file__).parent
st.set_page_config(page_title="南沙微分馆 Micro-branches", page_icon="📚", layout="wide")

# Which pages each role sees: district officials never see reader-level pages or the upload.
PAGES = {
    "overview": ("pages/overview.py", ":material/dashboard:", ROLES),
    "loans": ("pages/loans.py", ":material/menu_book:", ("manager", "staff")),
    "chains": ("pages/chains.py", ":material/conversion_path:", ("manager", "staff")),
    "stock": ("pages/stock.py", ":material/local_shipping:", ("manager", "staff")),
    "readers": ("pages/readers.py", ":material/person_add:", ("manager", "official")),
    "branch_map": ("pages/branch_map.py", ":material/map:", ROLES),
    "residents": ("pages/residents.py", ":material/groups:", ROLES),
    "scorecards": ("pages/scorecards.py", ":material/fact_check:", ("manager", "official")),
    "report": ("pages/report.py", ":material/description:", ("manager", "official")),
    "upload": ("pages/upload.py", ":material/upload_file:", ("staff",)),
    "glossary": ("pages/glossary.py", ":material/help:", ROLES),
}

link = deep_link()
if link:
    st.query_params.from_dict(link[1])
carry_params()
widget_words()

with st.sidebar:
    if st.button(tr("language_switch"), key="lang_switch", icon=":material/translate:"):
        st.query_params["lang"] = "zh" if lang() == "en" else "en"
        st.rerun()
    chosen = st.selectbox(tr("role"), ROLES, index=ROLES.index(role()), format_func=lambda r: tr(f"role_{r}"),
                          key=f"role_pick_{lang()}")
    if chosen != role():
        st.query_params["role"] = chosen
        st.rerun()

data.version()  # loads the sample data on the very first start
pages = [
    st.Page(str(HERE / path), title=tr(f"page_{name}"), icon=icon, url_path=name, default=name == "overview")
    for name, (path, icon, roles) in PAGES.items()
    if role() in roles
]
navigation = st.navigation(pages)
st.session_state["_shell_ran"] = True
target = next((p for p in pages if link and p.url_path == link[0]), None)
if target is not None:
    st.switch_page(target, query_params=link[1])
guarded(navigation.run, lang())  # a failing page shows an error id, not a traceback
