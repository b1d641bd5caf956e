"""The web server: the dashboard (dashboard.py) as an ASGI application on Streamlit's `st.App`, with what the
HTTP side needs that a Streamlit script cannot do.

- `GET /signin`, `POST /signin`: the sign-in form, in the user's language, protected against cross-site posts (a
  token in the form that must match a cookie of its own, and the Origin when the browser sends one). A right name
  and password start a server-side session (`microbranch.sessions`) and set the cookie `microbranch_session`:
  a random id only, HttpOnly, SameSite=Lax, Secure when served over TLS; then the browser goes back to the
  address it asked for (a deep link keeps its page and filters).
- The guard (middleware, HTTP and websocket):
  - single-user mode (no accounts, no identity provider) serves only this machine: the Host must be 127.0.0.1,
    localhost or [::1], and the peer must be this machine (not through a proxy);
  - with accounts, a page asked for without a live session is sent to the sign-in, which returns to it after;
    with an identity provider (st.login, which comes back to `/`), the page is remembered and `/` returns to it;
  - `/_stcore/metrics` answers staff only;
  - Streamlit's "clear cache" message is dropped unless it comes from a signed-in staff session.

Run it with `python -m microbranch serve [--address A] [--port P]` (default 127.0.0.1:8501), or under uvicorn
behind a proxy: `uvicorn server:app --host 127.0.0.1 --port 8601` from this folder (docs/operations.md).
"""

from __future__ import annotations

import argparse
import hmac
import html
import logging
import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.starlette import App
from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME

from microbranch import auth, sessions
from microbranch.i18n import t
from ui import signin

HERE = Path(__file__).resolve().parent
COOKIE, CSRF_COOKIE, NEXT_COOKIE = signin.COOKIE, "microbranch_csrf", "microbranch_next"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
LOCAL_PEERS = ("127.0.0.1", "::1")
STREAMLIT = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/", "/auth/", "/oauth2callback")
MODE_SECONDS = 3  # how long the server trusts its last look at whether accounts exist
LOG = logging.getLogger("microbranch.server")

_mode: tuple[float, str] = (0.0, "")


def _current_mode() -> str:
    """`single`, `accounts` or `idp` (ui.signin.mode), looked at again every few seconds."""
    global _mode
    if time.monotonic() - _mode[0] > MODE_SECONDS:
        _mode = (time.monotonic(), signin.mode())
    return _mode[1]


def _host(conn: HTTPConnection) -> str:
    host = conn.headers.get("host", "")
    return host[: host.index("]") + 1] if host.startswith("[") and "]" in host else host.split(":")[0]


def _local(conn: HTTPConnection) -> bool:
    """Asked from this machine for this machine: a browser after DNS rebinding sends the attacker's Host."""
    peer = conn.client.host if conn.client else ""
    return _host(conn).lower() in LOCAL_HOSTS and peer in LOCAL_PEERS and "x-forwarded-for" not in conn.headers


def _session(conn: HTTPConnection) -> sessions.Session | None:
    return sessions.check_recent(conn.cookies.get(COOKIE), signin.db(), within=signin.CHECK_SECONDS,
                                 idle_minutes=signin.idle_minutes())


async def _staff(conn: HTTPConnection, mode: str) -> bool:
    if mode == "single":
        return _local(conn)
    found = await run_in_threadpool(_session, conn)
    return found is not None and found.role == "staff"


def _clear_cache(message: Message) -> bool:
    data = message.get("bytes")
    if message["type"] != "websocket.receive" or not data:
        return False
    try:
        return BackMsg.FromString(data).WhichOneof("type") == "clear_cache"
    except Exception:  # not a message Streamlit would read either  # noqa: BLE001
        return False


class Guard:
    """The middleware described at the top of this file (pure ASGI, so it sees the websocket too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        mode = await run_in_threadpool(_current_mode)
        path = scope["path"]
        if mode == "single" and not _local(conn):
            LOG.warning("refused %s %s: single-user mode serves this machine only (Host %r, peer %s)",
                        scope["type"], path, conn.headers.get("host"), conn.client.host if conn.client else "?")
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await PlainTextResponse(t("sessions_single_refused", "zh") + "\n" + t("sessions_single_refused", "en"),
                                        status_code=403)(scope, receive, send)
            return
        if path.endswith("/_stcore/metrics") and not await _staff(conn, mode):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, self._without_clear_cache(conn, mode, receive), send)
            return
        page = (scope["method"] == "GET" and not path.startswith(STREAMLIT) and path != "/signin"
                and "text/html" in conn.headers.get("accept", ""))
        target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope["query_string"] else "")
        if page and mode == "accounts" and await run_in_threadpool(_session, conn) is None:
            await RedirectResponse("/signin?" + urlencode({"next": target}), status_code=303)(scope, receive, send)
            return
        if page and mode == "idp":
            await self._idp_page(conn, target, scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _idp_page(self, conn: HTTPConnection, target: str, scope: Scope, receive: Receive, send: Send) -> None:
        """The identity provider's sign-in comes back to `/`: a page asked for signed out is remembered in a cookie
        of its own (ten minutes), and `/` signed in goes back to it once."""
        signed_in = any(name.startswith(USER_COOKIE_NAME) for name in conn.cookies)
        back = conn.cookies.get(NEXT_COOKIE)
        if signed_in and back and scope["path"] == "/":
            response = RedirectResponse(_safe_next(back), status_code=303)
            response.delete_cookie(NEXT_COOKIE, path="/")
            await response(scope, receive, send)
            return
        if signed_in or scope["path"] == "/":
            await self.app(scope, receive, send)
            return
        remember = Response()
        remember.set_cookie(NEXT_COOKIE, target, max_age=600, httponly=True, samesite="lax", path="/",
                            secure=conn.url.scheme == "https")
        cookie = remember.headers["set-cookie"].encode("latin-1")

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, with_cookie)

    @staticmethod
    def _without_clear_cache(conn: HTTPConnection, mode: str, receive: Receive) -> Receive:
        async def filtered() -> Message:
            while True:
                message = await receive()
                if not _clear_cache(message) or await _staff(conn, mode):
                    return message
                LOG.warning("ignored a clear-cache message from a session that is not signed-in staff")
        return filtered


# --- the sign-in form ---

def _safe_next(target: str | None) -> str:
    """Only an address on this server (a path), never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _lang(target: str, explicit: str | None) -> str:
    if explicit in ("zh", "en"):
        return explicit
    return "en" if parse_qs(urlsplit(target).query).get("lang") == ["en"] else "zh"


def _page(lang: str, target: str, csrf: str, error: str = "", name: str = "") -> str:
    other = "en" if lang == "zh" else "zh"
    switch = "/signin?" + urlencode({"next": target, "lang": other})
    e = html.escape
    return f"""<!doctype html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(t("access_sign_in_title", lang))} · {e(t("sessions_app_name", lang))}</title>
<style>
body {{font-family: "Source Sans Pro", "Noto Sans CJK SC", sans-serif; background: #f6f7f9; color: #262730;
      display: flex; justify-content: center; padding-top: 10vh; margin: 0;}}
main {{background: #fff; border: 1px solid #e6e9ef; border-radius: 0.6rem; padding: 2rem 2.4rem; width: 22rem;}}
h1 {{font-size: 1.6rem; margin: 0 0 0.3rem;}} p.app {{color: #6b6f7b; margin: 0 0 1.4rem;}}
label {{display: block; margin: 0.9rem 0 0.3rem; font-size: 0.9rem;}}
input[type=text], input[type=password] {{width: 100%; box-sizing: border-box; padding: 0.55rem; font-size: 1rem;
      border: 1px solid #d5d8de; border-radius: 0.4rem;}}
button {{margin-top: 1.4rem; width: 100%; padding: 0.6rem; font-size: 1rem; color: #fff; background: #ff4b4b;
      border: 0; border-radius: 0.4rem; cursor: pointer;}}
.error {{background: #ffecec; color: #7d1a1a; padding: 0.6rem 0.8rem; border-radius: 0.4rem; margin-bottom: 0.6rem;}}
.note {{color: #6b6f7b; font-size: 0.8rem; margin-top: 1rem;}} a {{color: #0068c9;}}
</style></head>
<body><main>
<h1>{e(t("access_sign_in_title", lang))}</h1>
<p class="app">{e(t("sessions_app_name", lang))}</p>
{f'<div class="error" role="alert">{e(error)}</div>' if error else ''}
<form method="post" action="/signin">
<input type="hidden" name="csrf" value="{e(csrf)}">
<input type="hidden" name="next" value="{e(target)}">
<input type="hidden" name="lang" value="{lang}">
<label for="name">{e(t("access_name", lang))}</label>
<input type="text" id="name" name="name" value="{e(name)}" autocomplete="username" required autofocus>
<label for="password">{e(t("access_password", lang))}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">{e(t("access_sign_in", lang))}</button>
</form>
<p class="note">{e(t("sessions_throttle_note", lang, tries=auth.FREE_TRIES))}</p>
<p class="note"><a href="{e(switch)}">{e(t("language_switch", lang))}</a></p>
</main></body></html>"""


def _form_response(request: Request, lang: str, target: str, error: str = "", name: str = "",
                   status: int = 200) -> Response:
    csrf = secrets.token_urlsafe(24)
    response = HTMLResponse(_page(lang, target, csrf, error, name), status_code=status,
                            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/signin",
                        secure=request.url.scheme == "https")
    return response


async def sign_in_form(request: Request) -> Response:
    target = _safe_next(request.query_params.get("next"))
    mode = await run_in_threadpool(_current_mode)
    if mode != "accounts" or await run_in_threadpool(_session, request) is not None:
        return RedirectResponse(target, status_code=303)  # nothing to sign in to here, or signed in already
    return _form_response(request, _lang(target, request.query_params.get("lang")), target)


async def sign_in_post(request: Request) -> Response:
    body = (await request.body())[:8192].decode("utf-8", errors="replace")
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    target = _safe_next(form.get("next"))
    lang = _lang(target, form.get("lang"))
    origin = request.headers.get("origin")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")) or (
            origin and urlsplit(origin).netloc != request.headers.get("host")):
        return _form_response(request, lang, target, t("sessions_form_expired", lang), status=403)
    if await run_in_threadpool(_current_mode) != "accounts":
        return RedirectResponse(target, status_code=303)
    name, address = form.get("name", "").strip(), request.client.host if request.client else None
    answer = await run_in_threadpool(auth.sign_in, name, form.get("password", ""), address, signin.db())
    if not answer.role:
        error = (t("sessions_wait", lang, seconds=answer.seconds) if answer.refused == "wait" or answer.seconds
                 else t("access_wrong", lang))
        return _form_response(request, lang, target, error, name, status=401)
    token = await run_in_threadpool(sessions.start, name, answer.role, address,
                                    request.headers.get("user-agent"), signin.db())
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
    response.delete_cookie(CSRF_COOKIE, path="/signin")
    return response


app = App(
    HERE / "dashboard.py",
    routes=[Route("/signin", sign_in_form, methods=["GET"]), Route("/signin", sign_in_post, methods=["POST"])],
    middleware=[Middleware(Guard)],
)


def main(argv: list[str] | None = None) -> int:
    """`python -m microbranch serve` ends here: the dashboard on ADDRESS:PORT, files it makes owner-only."""
    p = argparse.ArgumentParser(prog="python -m microbranch serve")
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    p.add_argument("--port", type=int, default=8501)
    args = p.parse_args(argv)
    os.umask(0o077)  # the database, snapshots, logs and work folders it creates: owner-only
    app.run(config={"server.address": args.address, "server.port": args.port, "server.headless": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
