"""Entry point: page config, language, the viewer, and one navigation registry over app_pages/ for the viewer's role.

Every page has its own address (`/overview`, `/loans` ...; `/` opens the overview) with its filters in the query.
Served by server.py (`python -m microbranch serve`), which owns sign-in and the HTTP side."""

from functools import partial
from pathlib import Path

import streamlit as st

from ui import data, signin
from ui.errors import guarded
from ui.shell import carry_params, freshness, lang, tr, whole_words, widget_words

HERE = Path(__file__).parent


def _registry(viewer: signin.Viewer | None) -> dict[str, st.Page]:
    """One page per name, always registered (so a link always finds its URL): the page itself when the viewer may
    open it, otherwise the sign-in (signed out) or the polite refusal (another role)."""
    pages = {}
    for name, (path, icon, _) in signin.PAGES.items():
        if viewer is None:
            target = partial(signin.screen, name)
        elif signin.allowed(name):
            target = HERE / path
        else:
            target = partial(signin.refuse, name)
        pages[name] = st.Page(target, title=tr(f"page_{name}"), icon=icon if viewer is None or signin.allowed(name)
                              else ":material/lock:", url_path=name)
    return pages


def _home(overview: st.Page) -> None:
    """The bare address `/`: the overview, at its own name, with the link's filters."""
    st.switch_page(overview, query_params=st.query_params.to_dict())


def main() -> None:
    st.set_page_config(page_title="南沙微分馆 Micro-branches", page_icon="📚", layout="wide")
    carry_params()
    widget_words()
    whole_words()
    nav = st.sidebar.container()  # the pages come first in the sidebar, once the role is known
    with st.sidebar:
        if st.button(tr("language_switch"), key="lang_switch", icon=":material/translate:"):
            st.query_params["lang"] = "zh" if lang() == "en" else "en"
            st.rerun()

    viewer = signin.gate()
    pages = _registry(viewer)
    home = st.Page(partial(_home, pages["overview"]), title=tr("page_overview"), url_path="home", default=True,
                   visibility="hidden")
    navigation = st.navigation([home, *pages.values()], position="hidden")
    if viewer is None:
        navigation.run()
        return
    with st.sidebar:
        st.caption(tr("access_signed_in", name=viewer.name, role=tr(f"role_{viewer.role}")))
        if viewer.mode != "single":
            st.button(tr("access_sign_out"), key="sign_out", icon=":material/logout:", on_click=signin.sign_out)
    if viewer.mode == "single":
        st.info(tr("access_single_banner"), icon=":material/person:")

    data.start()  # once per server process: recovery, the schema, the sample data on the very first start
    for name, page in pages.items():
        if signin.allowed(name):
            nav.page_link(page)
    if viewer.role == "staff":
        guarded(freshness, lang())  # how old the newest data is, on every page
    guarded(navigation.run, lang())  # a failing page shows an error id, not a traceback


if __name__ == "__main__":  # a script run; not a spawned import child, which loads this file as `__mp_main__`
    main()
