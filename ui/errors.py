"""A page that fails shows a short message and an error id; the details go to the server's log, never to the page."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import streamlit as st

from microbranch.i18n import t

reraise = False  # the tests set it, so that a page's error reaches AppTest's `exception`
LOG = logging.getLogger("microbranch.dashboard")  # unconfigured, errors reach the server's stderr (lastResort)


def guarded(run: Callable[[], object], lang: str) -> None:
    """Run a page; on an error, log it with a fresh id and show the id. Streamlit's own stop and rerun signals are
    not `Exception`s and pass through. With `reraise` set (the tests set it) the error reaches Streamlit."""
    try:
        run()
    except Exception:
        if reraise:
            raise
        error_id = secrets.token_hex(4)
        LOG.exception("error %s while drawing a page", error_id)
        st.error(t("error_with_id", lang, id=error_id), icon=":material/error:")
