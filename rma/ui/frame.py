"""The frame of every signed-in page: the session check, the header with the scan box, the
navigation, and the role check of the page's area, all decided on the server.

A page of an area is written as::

    @protected_page("/admin", area=ADMIN, title="Users")
    async def admin_page(user: SessionUser) -> None:
        ...  # only runs for a valid session of a user with a role of the area
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from nicegui import app, run, ui

from drivers.scan import ScanError, clean_scan
from rma import config
from rma.config import StationSettings
from rma.core import services
from rma.core.models import Role, User
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import (
    CHINESE,
    LANGUAGE_KEY,
    LANGUAGES,
    _,
    current_language,
    error_message,
)
from rma.ui import runtime
from rma.ui.areas import Area, areas_for

T = TypeVar("T")

# Keys of app.storage.user that make a signed-in session; the language stays at sign-out.
USER_ID, AUTH_VERSION, LAST_SEEN = "user_id", "auth_version", "last_seen"
AUTH_KEYS = (USER_ID, AUTH_VERSION, LAST_SEEN)

HOME = "home"  # the navigation entry of the home page

# Why the login page is shown (?reason=...), and what it then says.
REASON_EXPIRED = "expired"
REASON_ENDED = "ended"
LOGIN_REASONS = {
    REASON_EXPIRED: "Your session has expired; please log in again.",
    REASON_ENDED: "Your session has ended; please log in again.",
}
SESSION_ERRORS = {"session_expired": REASON_EXPIRED, "session_ended": REASON_ENDED}  # DomainError codes


@dataclass(frozen=True)
class SessionUser:
    """The signed-in user of a page, as plain values (no database session attached)."""

    id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    auth_version: int

    @classmethod
    def of(cls, user: User) -> SessionUser:
        return cls(user.id, user.username, user.display_name, user.roles, user.auth_version)

    async def act(self, work: Callable[[UnitOfWork, User], T]) -> T:
        """One unit of work acting as this user (see ``runtime.act``).

        A session that ended meanwhile (idle, signed out in another tab, account changed)
        goes to the login page; the DomainError still reaches the caller, which stops.
        """
        store = app.storage.user
        try:
            if store.get(USER_ID) != self.id:
                raise DomainError("session_ended", "Your session has ended; please log in again.")
            result = await runtime.act(self.id, self.auth_version, float(store.get(LAST_SEEN, 0)), work)
        except DomainError as exc:
            if exc.code in SESSION_ERRORS:
                sign_out()
                ui.navigate.to(login_url(None, SESSION_ERRORS[exc.code]))
            raise
        store[LAST_SEEN] = time.time()
        return result


# ---------------------------------------------------------------- the session

def sign_in(user: SessionUser) -> None:
    app.storage.user.update({USER_ID: user.id, AUTH_VERSION: user.auth_version, LAST_SEEN: time.time()})


def sign_out() -> None:
    store = app.storage.user
    for key in AUTH_KEYS:
        store.pop(key, None)


def keep_session(user_id: int, auth_version: int) -> None:
    """After the signed-in user changed their own password or roles here: this session stays."""
    if app.storage.user.get(USER_ID) == user_id:
        app.storage.user[AUTH_VERSION] = auth_version


def login_url(next_path: str | None = None, reason: str | None = None) -> str:
    query = {k: v for k, v in (("reason", reason), ("next", next_path)) if v}
    return "/login" + (f"?{urlencode(query)}" if query else "")


def safe_next(next_path: str | None) -> str:
    """Only a path on this site may follow a login (no open redirect)."""
    if next_path and next_path.startswith("/") and not next_path.startswith("//") and "\\" not in next_path:
        return next_path
    return "/"


def _load_session(user_id: int) -> tuple[SessionUser | None, StationSettings]:
    settings = config.station_settings()
    with runtime.database().uow(readonly=True) as uow:
        user = services.get_user_by_id(uow, user_id)
        return (SessionUser.of(user) if user is not None and user.active else None), settings


async def current_user(request: Request) -> tuple[SessionUser, StationSettings] | Response:
    """The signed-in user and the station's settings, or the redirect to the login page."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    store = app.storage.user
    user_id = store.get(USER_ID)
    if user_id is None:
        return RedirectResponse(login_url(here), status_code=303)
    user, settings = await run.io_bound(_load_session, user_id)
    now = time.time()
    if now - float(store.get(LAST_SEEN, 0)) > settings.session_idle_hours * 3600:
        sign_out()
        return RedirectResponse(login_url(here, REASON_EXPIRED), status_code=303)
    if user is None or user.auth_version != store.get(AUTH_VERSION):
        sign_out()
        return RedirectResponse(login_url(here, REASON_ENDED), status_code=303)
    store[LAST_SEEN] = now
    return user, settings


# ---------------------------------------------------------------- look and header

STYLE = """
<style>
  body.rma-zh { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei",
                "PingFang SC", system-ui, sans-serif; }
  .rma-scan { font-family: ui-monospace, "DejaVu Sans Mono", monospace; letter-spacing: .04em; }
  .rma-scan:focus { outline: 4px solid #fbbf24; outline-offset: 0; }
  .rma-table th { font-weight: 600; text-align: left; }
  .rma-table td, .rma-table th { white-space: normal; vertical-align: top; }
</style>
<script>
  // A keyboard-wedge scan that starts while nothing is focused goes to the scan box.
  document.addEventListener('keydown', (e) => {
    const box = document.querySelector('input[data-scan-box]');
    if (!box || e.ctrlKey || e.altKey || e.metaKey || e.key.length !== 1) return;
    const t = document.activeElement;
    if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
    if (document.querySelector('.q-dialog')) return;
    box.focus();
  }, true);
</script>
"""

# Runs in the browser on every key in the scan box. The key comes from the DOM, not from a
# synced value, so a scanner typing faster than the socket never loses or mixes characters.
SCAN_KEYS_JS = """(e) => {
  if (e.isComposing || (e.key !== 'Enter' && e.key !== 'Tab')) return;
  const key = e.target.value.trim();
  if (e.key === 'Tab' && !key) return;
  e.preventDefault();
  e.target.value = '';
  if (key) emit(key);
}"""


def unit_url(key: str) -> str:
    return "/unit/" + quote(key, safe="")


def scan_box(on_scan: Callable[[str], Any] | None = None) -> ui.element:
    """The scan box: focused on load; Enter (or Tab) ends a scan; the box is cleared at once."""

    def scanned(e) -> None:  # noqa: ANN001
        raw = str(e.args or "")
        try:  # cleaned as every station cleans a scan: AIM prefix, full-width characters, garbage
            key = clean_scan(raw)
        except ScanError as exc:
            ui.notify(error_message(exc), type="negative", position="top", close_button=True, timeout=8000)
            return
        if on_scan is not None:
            on_scan(key)
        else:
            ui.navigate.to(unit_url(key))

    box = ui.element("input").classes(
        "rma-scan w-full max-w-xl rounded-md bg-white text-slate-900 text-lg px-3 py-1.5 shadow-inner"
    )
    box.props.update({
        "type": "text", "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false",
        "autofocus": True, "data-scan-box": "", "data-testid": "scan-box",
        "placeholder": _("Scan tag or serial"), "aria-label": _("Scan tag or serial"),
    })
    box.on("keydown", scanned, js_handler=SCAN_KEYS_JS)
    box.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")
    return box


def language_switch(dark: bool = True) -> None:
    here = current_language()

    def choose(lang: str) -> None:
        app.storage.user[LANGUAGE_KEY] = lang
        ui.navigate.reload()

    with ui.row().classes("gap-0 items-center no-wrap"):
        for code, name in LANGUAGES.items():
            button = ui.button(name, on_click=lambda code=code: choose(code)).props(
                f"flat dense no-caps data-testid=lang-{code}"
            )
            button.props(f"color={'white' if dark else 'primary'}")
            button.classes("px-2 " + ("font-bold underline" if code == here else "opacity-70"))


def page_setup(title: str) -> None:
    """What every page of the station has in its head: title, look, the language's font."""
    ui.page_title(f"{_(title)} · rma")
    ui.add_head_html(STYLE)
    ui.colors(primary="#1d4ed8")
    if current_language() == CHINESE:
        ui.query("body").classes("rma-zh")


def _header(user: SessionUser, station: str, current: str | None,
            scan_to: Callable[[str], str] | None = None) -> None:
    with ui.header(elevated=True).classes("bg-slate-800 text-white items-center gap-3 px-3 py-2"):
        ui.button(icon="menu", on_click=lambda: drawer.toggle()).props("flat round dense color=white")
        with ui.link(target="/").classes("no-underline text-white leading-tight"):
            ui.label("rma").classes("text-xl font-bold tracking-wide")
            if station and station.casefold() != "rma":  # the header never says a word twice
                ui.label(station).classes("text-xs opacity-70").props("data-testid=station-name")
        with ui.row().classes("grow justify-center items-center gap-2 no-wrap"):
            ui.icon("qr_code_scanner", size="sm").classes("opacity-80")
            scan_box(None if scan_to is None else lambda key: ui.navigate.to(scan_to(key)))
        language_switch()
        with ui.column().classes("gap-0 items-end leading-tight"):
            ui.label(user.display_name).classes("font-medium").props("data-testid=user-name")
            if user.display_name != user.username:
                ui.label(user.username).classes("text-xs opacity-70")
        ui.button(_("Log out"), icon="logout", on_click=_log_out).props(
            "flat dense no-caps color=white data-testid=logout"
        )
    with ui.left_drawer(value=True, bordered=True).classes("bg-slate-50 p-0").props("width=220") as drawer:
        with ui.list().classes("w-full").props("data-testid=nav"):
            _nav_item("/", "home", _("Home"), current == HOME)
            for a in areas_for(user.roles):
                _nav_item(a.path, a.icon, _(a.label), current == a.key)


def _nav_item(path: str, icon: str, label: str, current: bool) -> None:
    item = ui.item().props(f"clickable href={path} data-nav={path}")
    if current:
        item.props("active").classes("bg-blue-100 text-blue-900 font-medium")
    with item:
        with ui.item_section().props("avatar"):
            ui.icon(icon)
        ui.item_section(label)


def _log_out() -> None:
    sign_out()
    ui.navigate.to("/login")


def access_denied() -> None:
    with ui.card().classes("w-full bg-amber-50 border border-amber-300").props("flat"):
        with ui.row().classes("items-center gap-3"):
            ui.icon("block", size="md").classes("text-amber-700")
            ui.label(_("You do not have access to this page.")).classes("text-lg text-amber-900").props(
                "data-testid=access-denied"
            )


def protected_page(path: str, *, area: Area | None = None, title: str = "Home",
                   scan_to: Callable[[str], str] | None = None) -> Callable:
    """Register ``content(user, **path_params)`` as a page that only a signed-in user reaches,
    and, when ``area`` is given, whose content only users with a role of that area see.

    ``scan_to``: where the header's scan box goes with a scan on this page (default: the unit page).
    """

    def decorate(content: Callable[..., Any]) -> Callable[..., Any]:
        params = list(inspect.signature(content).parameters.values())[1:]
        wants_request = any(p.name == "request" for p in params)

        async def build(request: Request, **kwargs: Any) -> Response | None:
            session = await current_user(request)
            if isinstance(session, Response):
                return session
            user, settings = session
            page_setup(title)
            _header(user, settings.name, area.key if area is not None else HOME if path == "/" else None,
                    scan_to if area is None or area.admits(user.roles) else None)
            with ui.column().classes("w-full max-w-7xl mx-auto p-4 gap-4"):
                if area is not None and not area.admits(user.roles):
                    access_denied()
                    return None
                if wants_request:
                    kwargs["request"] = request
                result = content(user, **kwargs)
                if inspect.isawaitable(result):
                    await result
            return None

        # The page's route sees the content's own parameters (path and query), plus the request.
        request_param = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
        build.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [request_param, *[p for p in params if p.name != "request"]]
        )
        build.__name__ = content.__name__
        build.__doc__ = content.__doc__
        ui.page(path, title="rma")(build)
        return content

    return decorate
