"""The login page: user name, password, Enter; the language can be chosen before logging in."""

from __future__ import annotations

from fastapi import Request
from nicegui import run, ui

from rma import config
from rma.core import services
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.ui import runtime
from rma.ui.frame import (
    LOGIN_REASONS,
    SessionUser,
    language_switch,
    page_setup,
    safe_next,
    sign_in,
)


def _authenticate(username: str, password: str) -> SessionUser:
    with runtime.database().uow() as uow:
        return SessionUser.of(services.authenticate(uow, username, password))


def _station_name() -> str:
    return config.station_settings().name


def register() -> None:
    @ui.page("/login", title="rma")
    async def login_page(request: Request) -> None:
        reason = LOGIN_REASONS.get(request.query_params.get("reason", ""))
        next_path = safe_next(request.query_params.get("next"))
        station = await run.io_bound(_station_name)

        page_setup("Log in")
        ui.query("body").classes("bg-slate-100")

        async def submit(e) -> None:  # noqa: ANN001
            given = e.args if isinstance(e.args, dict) else {}
            name, secret = str(given.get("username") or ""), str(given.get("password") or "")
            if not name.strip():
                username.run_method("focus")
                return
            button.props("loading")
            try:
                user = await run.io_bound(_authenticate, name, secret)
            except DomainError as exc:
                problem.set_text(error_message(exc))
                problem_box.set_visibility(True)
                ui.run_javascript(f"const p = getHtmlElement({password.id}); p.value = ''; p.focus();")
                return
            finally:
                button.props(remove="loading")
            sign_in(user)
            ui.navigate.to(next_path)

        with ui.column().classes("w-full items-center pt-16 gap-4"):
            with ui.card().classes("w-96 p-6 gap-4 shadow-lg"):
                with ui.row().classes("w-full items-start justify-between no-wrap"):
                    with ui.column().classes("gap-0"):
                        ui.label("rma").classes("text-3xl font-bold text-slate-800")
                        ui.label(_("Returns repair department")).classes("text-sm text-slate-500")
                        ui.label(station).classes("text-xs text-slate-400")
                    language_switch(dark=False)
                if reason:
                    with ui.row().classes("w-full items-center gap-2 rounded bg-amber-100 text-amber-900 p-2 no-wrap"):
                        ui.icon("schedule")
                        ui.label(_(reason)).props("data-testid=login-reason")
                username = _field(_("User name"), "login-username", type="text", autocomplete="username",
                                  autofocus=True)
                password = _field(_("Password"), "login-password", type="password", autocomplete="current-password")
                with ui.row().classes("w-full items-center gap-2 rounded bg-red-100 text-red-900 p-2 no-wrap") \
                        as problem_box:
                    ui.icon("error")
                    problem = ui.label("").props("data-testid=login-error")
                problem_box.set_visibility(False)
                button = ui.button(_("Log in"), icon="login").props(
                    "unelevated no-caps size=lg data-testid=login-submit"
                ).classes("w-full")

        # The browser sends what the fields hold at the moment of Enter or the click: typing
        # before the page's connection is up can never reorder or lose characters.
        values = f"{{username: getHtmlElement({username.id}).value, password: getHtmlElement({password.id}).value}}"
        username.on("keydown", submit, js_handler=f"""(e) => {{
            if (e.key !== 'Enter' || e.isComposing) return;
            e.preventDefault();
            const p = getHtmlElement({password.id});
            if (p.value) emit({values}); else p.focus();
        }}""")
        password.on("keydown", submit, js_handler=f"""(e) => {{
            if (e.key !== 'Enter' || e.isComposing) return;
            e.preventDefault();
            emit({values});
        }}""")
        button.on("click", submit, js_handler=f"() => emit({values})")
        username.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")


def _field(label: str, testid: str, **attributes: str | bool) -> ui.element:
    """A plain input: its value lives in the browser only and is read when the form is sent."""
    with ui.element("label").classes("w-full flex flex-col gap-1"):
        ui.label(label).classes("text-sm text-slate-600")
        field = ui.element("input").classes(
            "w-full rounded border border-slate-300 bg-white px-3 py-2 text-lg "
            "focus:outline-none focus:ring-2 focus:ring-blue-700"
        )
    field.props.update({"data-testid": testid, "autocapitalize": "off", "spellcheck": "false", **attributes})
    return field
