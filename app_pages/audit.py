"""审计日志 Audit trail (staff): sign-ins, failed sign-ins, lockouts, imports, undos, account changes, retention and
downloads of reader-level tables; who, when, what, from which address. Exportable as CSV."""

import streamlit as st

from microbranch import audit
from ui import data
from ui.kit import page, table, words
from ui.shell import tr

ACTIONS = ("sign_in", "sign_in_failed", "lockout", "sign_out", "import", "undo", "user_add", "user_disable",
           "user_passwd", "user_role", "download", "retention")

page("audit")
st.caption(tr("access_audit_intro"))
picked = st.multiselect(tr("access_audit_actions"), ACTIONS, format_func=lambda a: tr(f"access_action_{a}"),
                        placeholder=tr("all"), key="audit_actions")
trail = audit.trail(data.db())
if picked:
    trail = trail.filter(trail["action"].is_in(picked))
table(words(trail, "action", lambda a: tr(f"access_action_{a}")), "audit.csv",
      terms="access")
