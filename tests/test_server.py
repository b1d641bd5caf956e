"""The web server (server.py) from outside, over HTTP and the websocket handshake: a real `python -m microbranch
serve` started by each test on its own database.

- single-user mode answers this machine only (the Host a browser sends after DNS rebinding is refused);
- with accounts: a signed-out page sends the browser to the sign-in form, which is CSRF-protected, sets an
  HttpOnly, SameSite=Lax cookie holding a random id (Secure behind TLS) and returns to the page asked for;
- `/_stcore/metrics` for staff only;
- every file the server and the command line create under the data folder is owner-only.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from microbranch import auth, sessions
from microbranch.i18n import t
from tests.accounts import PASSWORD
from tests.e2e.conftest import serving


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "MICROBRANCH_KEY_FILE": str(tmp_path / "data" / "microbranch.key"),
            "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def single(tmp_path: Path) -> Iterator[str]:
    """A server without accounts (single-user mode) on an empty database."""
    with serving(tmp_path / "data" / "microbranch.duckdb", _env(tmp_path), tmp_path / "server.log") as base:
        yield base


@pytest.fixture
def with_accounts(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "data" / "microbranch.duckdb"
    auth.add("wang", "staff", PASSWORD, db=db)
    auth.add("li", "manager", PASSWORD, db=db)
    with serving(db, _env(tmp_path), tmp_path / "server.log") as base:
        yield base, db


def request(base: str, method: str, path: str, headers: dict[str, str] | None = None,
            body: str | None = None) -> http.client.HTTPResponse:
    """One request with exactly these headers (Host included), no redirect followed."""
    parts = urlsplit(base)
    con = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    con.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in {"Host": parts.netloc, **(headers or {})}.items():
        con.putheader(k, v)
    data = body.encode() if body is not None else None
    if data is not None:
        con.putheader("Content-Type", "application/x-www-form-urlencoded")
        con.putheader("Content-Length", str(len(data)))
    con.endheaders(data)
    try:
        response = con.getresponse()
        response.read()
        return response
    finally:
        con.close()


def handshake(base: str, host: str, origin: str) -> int:
    """The status a websocket upgrade of /_stcore/stream gets (101: the dashboard's stream is open)."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n").encode())
        return int(s.recv(1024).split(b" ", 2)[1])


def test_single_user_mode_answers_this_machine_only(single):
    port = urlsplit(single).port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert request(single, "GET", "/", {"Host": host}).status == 200, host
        assert handshake(single, host, f"http://{host}") == 101, host
    refused = request(single, "GET", "/", {"Host": f"evil.example:{port}"})
    assert refused.status == 403
    assert handshake(single, f"evil.example:{port}", f"http://evil.example:{port}") != 101
    assert request(single, "GET", "/overview", {"X-Forwarded-For": "10.0.0.7"}).status == 403  # through a proxy
    assert request(single, "GET", "/_stcore/metrics").status == 200  # the local user is staff


def _form(base: str, next_path: str, lang: str | None = None) -> tuple[str, str]:
    """The sign-in form's CSRF token and its cookie."""
    query = {"next": next_path} | ({"lang": lang} if lang else {})
    r = request(base, "GET", "/signin?" + urlencode(query))
    assert r.status == 200
    page_cookie = r.getheader("set-cookie")
    token = re.search(r"microbranch_csrf=([^;]+)", page_cookie).group(1)
    return token, f"microbranch_csrf={token}"


def _sign_in(base: str, name: str, password: str, next_path: str = "/", headers: dict | None = None
             ) -> http.client.HTTPResponse:
    token, cookie = _form(base, next_path)
    body = urlencode({"csrf": token, "next": next_path, "name": name, "password": password})
    return request(base, "POST", "/signin", {"Cookie": cookie, **(headers or {})}, body)


def _session_cookie(r: http.client.HTTPResponse) -> str:
    return next(c for c in r.headers.get_all("set-cookie") if c.startswith("microbranch_session="))


def test_a_deep_link_signed_out_goes_to_the_form_in_its_language_and_back(with_accounts):
    base, db = with_accounts
    link = "/loans?lang=en&from=2024-07-01&branches=M01"
    r = request(base, "GET", link, {"Accept": "text/html"})
    assert r.status == 303
    target = parse_qs(urlsplit(r.getheader("location")).query)["next"][0]
    assert target == link
    r = request(base, "GET", r.getheader("location"))
    assert r.status == 200
    signed = _sign_in(base, "wang", PASSWORD, target)
    assert signed.status == 303 and signed.getheader("location") == link
    cookie = _session_cookie(signed)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert "wang" not in value and len(value) >= 40  # a random id, nothing else
    assert sessions.check(value, db).name == "wang"
    assert request(base, "GET", link, {"Accept": "text/html", "Cookie": f"microbranch_session={value}"}).status == 200
    listed = sessions.listing(db)
    assert listed["name"].to_list() == ["wang"] and listed["address"].to_list() == ["127.0.0.1"]


def test_the_form_is_in_the_links_language_and_says_wrong_without_telling_which_names_exist(with_accounts):
    base, _ = with_accounts
    parts = urlsplit(base)
    con = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    con.request("GET", "/signin?" + urlencode({"next": "/overview?lang=en"}))
    english = con.getresponse().read().decode()
    con.close()
    assert t("access_sign_in_title", "en") in english and t("access_password", "en") in english
    for name in ("wang", "nobody"):
        r = _sign_in(base, name, "not the password")
        assert r.status == 401 and not [c for c in r.headers.get_all("set-cookie") or []
                                        if c.startswith("microbranch_session=")]


def test_a_post_without_the_forms_token_or_from_another_site_is_refused(with_accounts):
    base, db = with_accounts
    body = urlencode({"csrf": "guessed", "next": "/", "name": "wang", "password": PASSWORD})
    assert request(base, "POST", "/signin", {"Cookie": "microbranch_csrf=other"}, body).status == 403
    token, cookie = _form(base, "/")
    body = urlencode({"csrf": token, "next": "/", "name": "wang", "password": PASSWORD})
    assert request(base, "POST", "/signin", {"Cookie": cookie, "Origin": "http://evil.example"}, body).status == 403
    assert sessions.listing(db).is_empty()


def test_the_return_address_stays_on_this_server(with_accounts):
    base, _ = with_accounts
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        assert _sign_in(base, "wang", PASSWORD, elsewhere).getheader("location") == "/"


def test_the_cookie_is_secure_behind_a_tls_proxy(with_accounts):
    base, _ = with_accounts
    r = _sign_in(base, "wang", PASSWORD, headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.7"})
    assert r.status == 303 and "Secure" in _session_cookie(r)


def test_metrics_for_staff_only(with_accounts):
    base, _ = with_accounts
    assert request(base, "GET", "/_stcore/metrics").status == 404
    for name, status in (("li", 404), ("wang", 200)):
        cookie = _session_cookie(_sign_in(base, name, PASSWORD)).split(";")[0]
        assert request(base, "GET", "/_stcore/metrics", {"Cookie": cookie}).status == status, name


def test_every_file_made_under_the_data_folder_is_owner_only(tmp_path):
    """The command line (sample, an account) and the server with a browser session on it."""
    import subprocess
    import sys

    from tests.e2e.conftest import ROOT

    db = tmp_path / "data" / "microbranch.duckdb"
    env = _env(tmp_path)
    subprocess.run([sys.executable, "-m", "sample_data", "--db", str(db)], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    with serving(db, env, tmp_path / "server.log") as base:
        assert request(base, "GET", "/", {"Accept": "text/html"}).status == 200
    made = [p for p in (tmp_path / "data").rglob("*")] + [tmp_path / "data"]
    assert len(made) > 5
    loose = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in made
             if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert not loose
