"""The station's web app behind its security headers: the pages still work in a real browser
with the Content-Security-Policy, every response carries the headers, and the session cookie
is Secure over HTTPS (through a proxy only when the station says it is behind one)."""

from __future__ import annotations

import os
import stat
import urllib.request

import pytest

from tests.e2e.pages import (
    connected,
    element,
    log_in_ok,
    scan,
    wait,
    wait_for_path,
    wait_for_text,
)
from tests.e2e.station import PASSWORDS, SERIAL

pytestmark = pytest.mark.e2e

RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def fetch(url: str, headers: dict[str, str] | None = None):  # noqa: ANN201
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as err:
        return err.code, err.headers


@pytest.fixture
def proxied_home(tmp_path):  # noqa: ANN001, ANN201
    """rma.toml of a station behind a TLS proxy, written before the server starts."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "rma.toml").write_text("[station]\nbehind_proxy = true\n", encoding="utf-8")
    return home


def test_pages_work_under_the_content_security_policy(chrome, station):
    chrome.get(station.url("/login"))
    chrome.delete_all_cookies()
    script = chrome.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS})
    try:
        log_in_ok(chrome, station, "clerk", PASSWORDS["clerk"])
        connected(chrome)
        tag = station.seed.tags[SERIAL]
        scan(chrome, tag)
        wait_for_path(chrome, f"/unit/{tag}")
        wait_for_text(chrome, "unit-serial", SERIAL)
        connected(chrome)  # the live connection is up under connect-src 'self'
        assert element(chrome, "unit-timeline").text
        assert chrome.execute_script("return window.__csp") == []
        # What the station keeps is its user's only: the secret, and the session files it wrote.
        storage = station.home / "ui-storage"
        wait(chrome).until(lambda _d: any(storage.iterdir()), "the signed-in session should be stored")
        for path in (station.home / "session-secret", storage, *storage.iterdir()):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    finally:
        chrome.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})
        chrome.delete_all_cookies()


def test_every_response_carries_the_headers_and_plain_http_is_not_made_secure(station):
    for path in ("/login", "/", "/no-such-page", "/unit/R26-000001"):
        _, headers = fetch(station.url(path))
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
    # Not behind a proxy: anyone can send X-Forwarded-Proto; it changes nothing.
    _, headers = fetch(station.url("/login"), {"X-Forwarded-Proto": "https"})
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("session=") and "secure" not in cookie.lower()


def test_behind_a_tls_proxy_the_session_cookie_is_secure(proxied_home, station):
    _, headers = fetch(station.url("/login"), {"X-Forwarded-Proto": "https"})
    assert headers["Set-Cookie"].startswith("session=") and "; Secure" in headers["Set-Cookie"]
    _, headers = fetch(station.url("/login"), {"X-Forwarded-Proto": "http"})
    assert "secure" not in headers["Set-Cookie"].lower()

