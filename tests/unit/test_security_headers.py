"""The headers of every response, and the Secure session cookie over HTTPS (no server needed:
the middleware is mounted around a small app with the same session middleware NiceGUI uses)."""

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from rma.ui.security import SecurityHeaders


def app(behind_proxy: bool) -> Starlette:
    def page(request):  # noqa: ANN001, ANN202
        request.session["id"] = "x"  # like NiceGUI: every browser gets a session
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", page)], middleware=[
        Middleware(SecurityHeaders, behind_proxy=behind_proxy), Middleware(SessionMiddleware, secret_key="s")])


def test_a_request_over_https_gets_a_secure_session_cookie():
    response = TestClient(app(False), base_url="https://station.depot.lan").get("/")
    assert "; Secure" in response.headers["set-cookie"] and response.headers["x-frame-options"] == "DENY"
    response = TestClient(app(False), base_url="http://station.depot.lan").get("/")
    assert "secure" not in response.headers["set-cookie"].lower()


def test_x_forwarded_proto_counts_only_behind_a_proxy():
    header = {"X-Forwarded-Proto": "https"}
    assert "secure" not in TestClient(app(False)).get("/", headers=header).headers["set-cookie"].lower()
    assert "; Secure" in TestClient(app(True)).get("/", headers=header).headers["set-cookie"]
    response = TestClient(app(True)).get("/", headers={"X-Forwarded-Proto": "http"})
    assert "secure" not in response.headers["set-cookie"].lower()
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
