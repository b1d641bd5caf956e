"""Entry point: page config, language, sign-in, navigation over pages/ for the viewer's role."""

from functools import partial
from pathlib import Path

import streamlit as st

from ui import data, signin
from ui.errors import guarded
from ui.shell import carry_params, lang, tr, widget_words

HERE = Path(__file__).parent


def main() -> None:
    st.set_page_config(page_title="南沙微分馆 Micro-branches", page_icon="📚", layout="wide")
    carry_params()
    widget_words()
    nav = st.sidebar.container()  # the pages come first in the sidebar, once the role is known
    with st.sidebar:
        if st.button(tr("language_switch"), key="lang_switch", icon=":material/translate:"):
            st.query_params["lang"] = "zh" if lang() == "en" else "en"
            st.rerun()

    viewer = signin.gate()
    if viewer is None:  # every page URL shows the sign-in, and keeps its path for after it
        st.navigation([st.Page(signin.screen, title=tr("access_sign_in_title"), url_path=name,
                               default=name == "overview") for name in signin.PAGES], position="hidden").run()
        return
    with st.sidebar:
        st.caption(tr("access_signed_in", name=viewer.name, role=tr(f"role_{viewer.role}")))
        if viewer.mode != "single":
            st.button(tr("access_sign_out"), key="sign_out", icon=":material/logout:", on_click=signin.sign_out)
    if viewer.mode == "single":
        st.info(tr("access_single_banner"), icon=":material/person:")

    data.start()  # once per server process: recovery, the schema, the sample data on the very first start
    # Every page is registered, so a direct link always finds its URL; a page the role may not open is a refusal
    # there, and only the pages it may open are shown in the navigation.
    pages = [
        st.Page(str(HERE / path), title=tr(f"page_{name}"), icon=icon, url_path=name, default=name == "overview")
        if signin.allowed(name) else
        st.Page(partial(signin.refuse, name), title=tr(f"page_{name}"), icon=":material/lock:", url_path=name)
        for name, (path, icon, _) in signin.PAGES.items()
    ]
    navigation = st.navigation(pages, position="hidden")
    for p, name in zip(pages, signin.PAGES, strict=True):
        if signin.allowed(name):
            nav.page_link(p)
    guarded(navigation.run, lang())  # a failing page shows an error id, not a traceback


if __name__ != "__mp_main__":  # not when a spawned import process loads this file as its parent's main module
    main()
