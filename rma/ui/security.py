"""Headers every response of a station's web app carries, and a session cookie that stays on HTTPS.

A pure ASGI middleware (websockets pass through untouched), outside NiceGUI's own session
middleware so that it sees the session cookie as it leaves:

- ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: no other site frames a
  station's page (click-jacking a "ship" or "scrap" button).
- ``X-Content-Type-Options: nosniff``: an attachment is never run as a script.
- A Content-Security-Policy NiceGUI works with: it builds its pages with inline scripts and
  evaluates its event handlers (``unsafe-inline``, ``unsafe-eval``), so the policy keeps every
  resource on this station (no other origin for scripts, styles, fonts, images or
  connections), forbids plugins, ``<base>`` and posting forms elsewhere.
- The session cookie gets ``Secure`` when the request came over HTTPS: directly, or through a
  TLS proxy's ``X-Forwarded-Proto: https`` when ``[station] behind_proxy = true`` (only then:
  anyone can send that header to a station reached directly).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"referrer-policy", b"same-origin"),
]


def came_over_https(scope: Scope, behind_proxy: bool) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    if behind_proxy:
        for key, value in scope.get("headers") or ():
            if key == b"x-forwarded-proto":
                return value.split(b",")[0].strip().lower() == b"https"
    return False


class SecurityHeaders:
    def __init__(self, app: ASGIApp, behind_proxy: bool = False) -> None:
        self.app = app
        self.behind_proxy = behind_proxy

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = came_over_https(scope, self.behind_proxy)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(HEADERS)]
                if https:
                    headers = [(k, v + b"; Secure") if k.lower() == b"set-cookie" and b"secure" not in v.lower()
                               else (k, v) for k, v in headers]
                message["headers"] = headers + HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)
