"""Who is looking and what they may open: the session behind the browser's cookie, sign-out, the pages of each role.

The viewer (name and role) comes from the server-side session (`microbranch.sessions`) whose random id the
browser's cookie carries; the URL and the widgets never set it. Signing in is the web server's form (server.py,
`/signin`); this module checks the session on every script run (the store's answer is trusted for
`CHECK_SECONDS` in this process, `sessions.check_recent`: the page's request has usually just asked), so a
disabled account, a new password, a new role, a sign-out in another tab, idle expiry and the session's lifetime end
it at the next click. `PAGES` says which roles may open which page (the
rulebook's, `microbranch.access`): dashboard.py puts only those in a role's navigation, and a direct link to
another page gets a polite refusal naming the page and the roles it needs.

Three modes, chosen by what is configured:
- `idp`: an `[auth]` section in `.streamlit/secrets.toml` (OIDC through `st.login`); the signed-in
  e-mail's role comes from `[access.roles]` there (`"wang@example.org" = "manager"`); an e-mail not
  listed gets no page.
- `accounts`: local accounts exist (`python -m microbranch user add NAME --role ROLE`): the sign-in form.
- `single`: neither: one local user with every role, said in a banner on every page, served to this machine
  alone (server.py refuses any other Host or peer).

Sessions end after the setting `idle_minutes` without use (default 30; see docs/settings.md) and 12 hours
after sign-in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from microbranch import access, audit, auth, operations, sessions, settings
from ui import data
from ui.shell import tr

# page (its url path) -> (script, icon, roles that may open it); the roles are the rulebook's (microbranch.access)
ICONS = {
    "overview": ":material/dashboard:", "loans": ":material/menu_book:", "chains": ":material/conversion_path:",
    "stock": ":material/local_shipping:", "readers": ":material/person_add:", "branch_map": ":material/map:",
    "residents": ":material/groups:", "scorecards": ":material/fact_check:", "report": ":material/description:",
    "upload": ":material/upload_file:", "audit": ":material/policy:", "glossary": ":material/help:",
    "branch": ":material/storefront:",
}
PAGES = {name: (f"app_pages/{name}.py", ICONS[name], roles) for name, roles in access.PAGES.items()}
COOKIE = "microbranch_session"
KEY = "_viewer"
LOCAL = ("127.0.0.1", "localhost", "::1", "[::1]")
CHECK_SECONDS = 3  # a session is asked about again after this long (revocation takes effect within it)


@dataclass(frozen=True)
class Viewer:
    name: str
    role: str
    mode: str = "accounts"


NOBODY = Viewer("", "", "")


def db() -> Path:
    return data.db()


def _secrets(section: str) -> dict:
    try:
        return dict(st.secrets.get(section, {}))
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return {}


def idle_minutes() -> float:
    return settings.current().idle_minutes


_ACCOUNTS: dict[Path, tuple[float, bool]] = {}  # database -> (when looked, whether accounts exist)


def mode() -> str:
    """`idp`, `accounts` or `single`. Whether accounts exist is looked at again every `CHECK_SECONDS` (opening the
    access file on every script run cost each view of every viewer more than the page itself)."""
    if _secrets("auth"):
        return "idp"
    path, now = db(), time.monotonic()
    looked = _ACCOUNTS.get(path)
    if looked is None or now - looked[0] > CHECK_SECONDS or not looked[1]:  # the first account counts at once
        looked = _ACCOUNTS[path] = (now, auth.has_accounts(path))
    return "accounts" if looked[1] else "single"


def token() -> str | None:
    """The session id the browser's cookie carries (set by the sign-in form of server.py)."""
    return st.context.cookies.get(COOKIE)


def viewer() -> Viewer:
    """The signed-in viewer of this session, or NOBODY (no role: sees nothing reader-level)."""
    found = st.session_state.get(KEY)
    return Viewer(**found) if isinstance(found, dict) else NOBODY


def _header(name: str) -> str | None:
    headers = st.context.headers
    value = headers.get(name) if hasattr(headers, "get") else None
    return value if isinstance(value, str) else None


def _proxied() -> str | None:
    """The client's address a proxy on this machine forwarded (X-Forwarded-For, the proxy's own entry last)."""
    forwarded = _header("X-Forwarded-For")
    return forwarded.split(",")[-1].strip() or None if forwarded else None


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
    audit.record(action, viewer().name or None, detail, address(), db=db())


def _set(v: Viewer) -> None:
    st.session_state[KEY] = {"name": v.name, "role": v.role, "mode": v.mode}


def sign_out() -> None:
    """End the session in the store: every tab and window that holds it is signed out at its next click."""
    v = viewer()
    if v.mode == "accounts":
        sessions.end(token(), db(), address())
    st.session_state.pop(KEY, None)
    st.session_state["_signed_out"] = True
    if v.mode == "idp":
        st.logout()


def _idp_role() -> str | None:
    email = str(st.user.get("email") or "").lower()
    roles = {str(k).lower(): v for k, v in _secrets("access").get("roles", {}).items()}
    return roles.get(email) if roles.get(email) in access.ROLES else None


def _local() -> bool:
    """Single-user mode only for this machine (server.py checks it first; this holds under any server)."""
    host = (_header("Host") or "localhost").lower()
    host = host[: host.index("]") + 1] if host.startswith("[") and "]" in host else host.split(":")[0]
    return host in LOCAL and not _proxied()


def screen(page: str) -> None:
    """What someone not signed in sees at a page's URL: the way to sign in, which comes back to this URL after."""
    st.title(tr("access_sign_in_title"))
    m = mode()
    if m == "single":
        st.error(tr("sessions_single_refused"))
    elif m == "idp" and not st.user.is_logged_in:
        st.button(tr("access_sign_in_idp"), type="primary", on_click=st.login, key="sign_in_idp")
    elif m == "idp":
        st.error(tr("access_no_role", email=st.user.get("email") or "—"))
        st.button(tr("access_sign_out"), on_click=st.logout, key="sign_out_idp")
    else:
        if st.session_state.pop("_signed_out", False):
            st.success(tr("sessions_signed_out"), icon=":material/logout:")
        elif st.session_state.pop("_expired", False):
            st.info(tr("sessions_ended", minutes=f"{idle_minutes():g}"), icon=":material/timer_off:")
        target = f"/{page}" + (f"?{urlencode(st.query_params.to_dict())}" if st.query_params else "")
        st.link_button(tr("access_sign_in"), "/signin?" + urlencode({"next": target}), type="primary",
                       icon=":material/login:")


def gate() -> Viewer | None:
    """Run by dashboard.py before any page: the signed-in viewer, or None (dashboard.py then shows `screen`)."""
    m = mode()
    if m == "single":
        if not _local():
            return None
        v = Viewer(tr("access_local_user"), "staff", "single")
    elif m == "idp":
        role = _idp_role() if st.user.is_logged_in else None
        if role is None:
            return None
        v = Viewer(str(st.user.get("email")), role, "idp")
        if viewer() != v:
            audit.record("sign_in", v.name, f"{role} (identity provider)", address(), db=db())
    else:
        found = sessions.check_recent(token(), db(), within=CHECK_SECONDS, idle_minutes=idle_minutes())
        if found is None:
            if st.session_state.pop(KEY, None) is not None:
                st.session_state["_expired"] = True
            return None
        v = Viewer(found.name, found.role)
    _set(v)
    return v


def allowed(page: str, role: str | None = None) -> bool:
    """Whether `role` (default: the viewer's) may open `page`."""
    return access.may_open(role if role is not None else viewer().role, page)


def refuse(page: str) -> None:
    """The polite refusal of a page the viewer's role may not open, in the user's language."""
    st.title(tr(f"page_{page}"))
    needed = tr("access_or").join(tr(f"role_{r}") for r in PAGES[page][2])
    st.warning(tr("access_refused", page=tr(f"page_{page}"), role=tr(f"role_{viewer().role}") if viewer().role
                  else tr("access_nobody"), needed=needed), icon=":material/lock:")
