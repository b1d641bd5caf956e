"""Who is looking and what they may open: sign-in, sign-out, idle expiry, the pages of each role.

The viewer (name and role) is kept in the server-side session only; the URL and the widgets never set it.
`PAGES` says which roles may open which page: dashboard.py puts only those in a role's navigation, and a
direct link to another page gets a polite refusal naming the page and the roles it needs.

Three modes, chosen by what is configured:
- `idp`: an `[auth]` section in `.streamlit/secrets.toml` (OIDC through `st.login`); the signed-in
  e-mail's role comes from `[access.roles]` there (`"wang@example.org" = "manager"`); an e-mail not
  listed gets no page.
- `accounts`: local accounts exist (`python -m microbranch user add NAME --role ROLE`): a sign-in form.
- `single`: neither: one local user with every role, said in a banner on every page, and only on a
  server that listens on this machine alone (127.0.0.1).

Sessions end after the setting `idle_minutes` without use (default 30; see docs/settings.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from microbranch import audit, auth, operations, settings
from ui import data
from ui.shell import tr

# page (its url path) -> (script, icon, roles that may open it)
PAGES = {
    "overview": ("pages/overview.py", ":material/dashboard:", auth.ROLES),
    "loans": ("pages/loans.py", ":material/menu_book:", auth.ROLES),
    "chains": ("pages/chains.py", ":material/conversion_path:", auth.ROLES),
    "stock": ("pages/stock.py", ":material/local_shipping:", ("staff", "manager")),
    "readers": ("pages/readers.py", ":material/person_add:", ("staff", "manager", "official")),
    "branch_map": ("pages/branch_map.py", ":material/map:", auth.ROLES),
    "residents": ("pages/residents.py", ":material/groups:", auth.ROLES),
    "scorecards": ("pages/scorecards.py", ":material/fact_check:", auth.ROLES),
    "report": ("pages/report.py", ":material/description:", auth.ROLES),
    "upload": ("pages/upload.py", ":material/upload_file:", ("staff",)),
    "audit": ("pages/audit.py", ":material/policy:", ("staff",)),
    "glossary": ("pages/glossary.py", ":material/help:", auth.ROLES),
}
KEY, SEEN = "_viewer", "_viewer_seen"
LOCAL = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Viewer:
    name: str
    role: str
    mode: str = "accounts"


NOBODY = Viewer("", "", "")


def _secrets(section: str) -> dict:
    try:
        return dict(st.secrets.get(section, {}))
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return {}


def idle_minutes() -> float:
    return settings.current().idle_minutes


def mode() -> str:
    if _secrets("auth"):
        return "idp"
    return "accounts" if auth.has_accounts(data.db()) else "single"


def viewer() -> Viewer:
    """The signed-in viewer of this session, or NOBODY (no role: sees nothing reader-level)."""
    found = st.session_state.get(KEY)
    return Viewer(**found) if isinstance(found, dict) else NOBODY


def _proxied() -> str | None:
    """The client's address a proxy on this machine forwarded (X-Forwarded-For, the proxy's own entry last)."""
    headers = st.context.headers
    forwarded = headers.get("X-Forwarded-For") if hasattr(headers, "get") else None
    return forwarded.split(",")[-1].strip() or None if isinstance(forwarded, str) else None


def address() -> str | None:
    """The viewer's address: the peer's, or behind a reverse proxy on this machine the one it forwarded."""
    ip = st.context.ip_address
    if not isinstance(ip, str):  # outside a browser session (AppTest) there is none
        return None
    return (_proxied() or ip) if ip in LOCAL else ip


def actor() -> operations.Actor:
    """The signed-in viewer and their address, as the write operations record them."""
    return operations.Actor(viewer().name or None, address())


def record(action: str, detail: str = "") -> None:
    """Audit an action of the current viewer (see `microbranch.audit.record`)."""
    audit.record(action, viewer().name or None, detail, address(), db=data.db())


def _set(v: Viewer) -> None:
    st.session_state[KEY] = {"name": v.name, "role": v.role, "mode": v.mode}
    st.session_state[SEEN] = time.time()


def sign_out() -> None:
    v = viewer()
    if v.mode == "accounts":
        record("sign_out")
    st.session_state.pop(KEY, None)
    if v.mode == "idp":
        st.logout()


def _form() -> None:
    with st.form("sign_in"):
        name = st.text_input(tr("access_name"), key="sign_in_name")
        password = st.text_input(tr("access_password"), type="password", key="sign_in_password")
        go = st.form_submit_button(tr("access_sign_in"), type="primary", key="sign_in_go")
    if go:
        answer = auth.sign_in(name.strip(), password, address(), db=data.db())
        if answer.role:
            _set(Viewer(name.strip(), answer.role))
            st.rerun()  # the same URL again, now signed in: the page it names opens
        if answer.refused == "locked":
            st.error(tr("access_locked", minutes=answer.minutes, tries=auth.MAX_FAILURES))
        else:
            st.error(tr("access_wrong"))
    st.caption(tr("access_lockout_note", tries=auth.MAX_FAILURES, minutes=auth.LOCK_MINUTES))


def _idp_role() -> str | None:
    email = str(st.user.get("email") or "").lower()
    roles = {str(k).lower(): v for k, v in _secrets("access").get("roles", {}).items()}
    return roles.get(email) if roles.get(email) in auth.ROLES else None


def screen() -> None:
    """What someone not signed in sees, at whatever page URL they opened (the URL is kept for after sign-in)."""
    st.title(tr("access_sign_in_title"))
    m = mode()
    if m == "single" and _proxied():
        st.error(tr("access_single_proxy"))
    elif m == "single":
        st.error(tr("access_single_network", address=st.get_option("server.address") or "0.0.0.0"))
    elif m == "idp" and not st.user.is_logged_in:
        st.button(tr("access_sign_in_idp"), type="primary", on_click=st.login, key="sign_in_idp")
    elif m == "idp":
        st.error(tr("access_no_role", email=st.user.get("email") or "—"))
        st.button(tr("access_sign_out"), on_click=st.logout, key="sign_out_idp")
    else:
        if st.session_state.pop("_expired", False):
            st.info(tr("access_expired", minutes=f"{idle_minutes():g}"))
        _form()


def gate() -> Viewer | None:
    """Run by dashboard.py before any page: the signed-in viewer, or None (dashboard.py then shows `screen`)."""
    m = mode()
    if m == "single":
        if (st.get_option("server.address") or "") not in LOCAL or _proxied():  # unset: every address
            return None
        v = Viewer(tr("access_local_user"), "staff", "single")
    elif m == "idp":
        role = _idp_role() if st.user.is_logged_in else None
        if role is None:
            return None
        v = Viewer(str(st.user.get("email")), role, "idp")
        if viewer() != v:
            audit.record("sign_in", v.name, f"{role} (identity provider)", address(), db=data.db())
    else:
        v = viewer()
        if v.mode != "accounts":
            st.session_state.pop(KEY, None)
            return None
        if time.time() - st.session_state.get(SEEN, 0) > idle_minutes() * 60:
            record("sign_out", "idle")
            st.session_state.pop(KEY, None)
            st.session_state["_expired"] = True
            return None
    _set(v)
    return v


def allowed(page: str, role: str | None = None) -> bool:
    """Whether `role` (default: the viewer's) may open `page`."""
    return (role if role is not None else viewer().role) in PAGES[page][2]


def refuse(page: str) -> None:
    """The polite refusal of a page the viewer's role may not open, in the user's language."""
    st.title(tr(f"page_{page}"))
    needed = tr("access_or").join(tr(f"role_{r}") for r in PAGES[page][2])
    st.warning(tr("access_refused", page=tr(f"page_{page}"), role=tr(f"role_{viewer().role}") if viewer().role
                  else tr("access_nobody"), needed=needed), icon=":material/lock:")
