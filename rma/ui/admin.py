"""The admin page: this station's self-check; users, their roles, passwords, enabling and disabling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from nicegui import run, ui

from rma.core import services
from rma.core.models import Role, User
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _, error_message, role_label
from rma.intake import imports
from rma.station.checks import check_station
from rma.ui import runtime
from rma.ui.areas import ADMIN
from rma.ui.frame import SessionUser, keep_session, protected_page
from rma.ui.widgets import section_title, table


def _users(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [
        {"username": u.username, "display_name": u.display_name, "active": u.active,
         "roles": [r.value for r in Role if r in u.roles]}
        for u in services.list_users(uow)
    ]


def _role_options() -> dict[str, str]:
    return {r.value: role_label(r) for r in Role}


def _outcome(user: User) -> tuple[int, int]:
    return user.id, user.auth_version


def _notify_error(exc: DomainError) -> None:
    ui.notify(error_message(exc), type="negative", position="top", close_button=True, timeout=8000)


def _notify_done(text: str) -> None:
    ui.notify(text, type="positive", position="top")


def register() -> None:
    @protected_page("/admin", area=ADMIN, title="Users")
    async def admin_page(user: SessionUser) -> None:
        async def run_change(work: Callable[[UnitOfWork, User], User], done: str) -> bool:
            """One admin action; True when it went through."""
            try:
                changed_id, version = await user.act(lambda uow, actor: _outcome(work(uow, actor)))
            except DomainError as exc:
                _notify_error(exc)
                return False
            _notify_done(done)
            if changed_id == user.id:
                # The admin changed their own account: keep this session, with fresh values.
                keep_session(changed_id, version)
                ui.navigate.reload()
                return True
            await show_users()
            return True

        # ------------------------------------------------ the list of users
        async def show_users() -> None:
            rows = await runtime.read(_users)
            user_list.clear()
            with user_list:
                table(
                    [_("User name"), _("Display name"), _("Roles"), _("Status"), _("Actions")],
                    [[row["username"], row["display_name"], ", ".join(role_label(r) for r in row["roles"]),
                      _status_cell(row["active"]), _actions_cell(row)] for row in rows],
                    empty=_("No users yet."), testid="user-table",
                )

        def _status_cell(active: bool):  # noqa: ANN202
            def build() -> None:
                if active:
                    ui.label(_("Active")).classes("bg-green-700 text-white rounded-full px-2 text-sm inline-block")
                else:
                    ui.label(_("Disabled")).classes("bg-stone-500 text-white rounded-full px-2 text-sm inline-block")
            return build

        def _actions_cell(row: dict[str, Any]):  # noqa: ANN202
            def build() -> None:
                name = row["username"]
                with ui.row().classes("gap-1 no-wrap"):
                    ui.button(_("Reset password"), icon="key", on_click=lambda: reset_password_dialog(name)).props(
                        f"flat dense no-caps data-testid=reset-{name}"
                    )
                    ui.button(_("Roles"), icon="badge", on_click=lambda: roles_dialog(name, row["roles"])).props(
                        f"flat dense no-caps data-testid=roles-{name}"
                    )
                    if row["active"]:
                        ui.button(_("Disable"), icon="block", on_click=lambda: set_active(name, False)).props(
                            f"flat dense no-caps color=negative data-testid=disable-{name}"
                        )
                    else:
                        ui.button(_("Enable"), icon="check_circle", on_click=lambda: set_active(name, True)).props(
                            f"flat dense no-caps color=positive data-testid=enable-{name}"
                        )
            return build

        # ------------------------------------------------ actions on one user
        async def set_active(name: str, active: bool) -> None:
            await run_change(
                lambda uow, actor: services.set_user_active(uow, actor, name, active),
                (_("User {name} enabled.") if active else _("User {name} disabled.")).format(name=name),
            )

        def reset_password_dialog(name: str) -> None:
            with ui.dialog() as dialog, ui.card().classes("w-96 gap-3"):
                ui.label(_("New password for {name}").format(name=name)).classes("text-lg font-semibold")
                new_password = ui.input(_("New password"), password=True, password_toggle_button=True).props(
                    "outlined autofocus autocomplete=new-password data-testid=new-password"
                ).classes("w-full")

                async def save() -> None:
                    password = new_password.value
                    if await run_change(lambda uow, actor: services.reset_password(uow, actor, name, password),
                                        _("Password of {name} reset.").format(name=name)):
                        dialog.close()

                new_password.on("keydown.enter", save)
                with ui.row().classes("w-full justify-end"):
                    ui.button(_("Cancel"), on_click=dialog.close).props("flat no-caps")
                    ui.button(_("Save"), on_click=save).props("unelevated no-caps data-testid=save-password")
            dialog.open()

        def roles_dialog(name: str, current: list[str]) -> None:
            with ui.dialog() as dialog, ui.card().classes("w-96 gap-3"):
                ui.label(_("Roles of {name}").format(name=name)).classes("text-lg font-semibold")
                chosen = ui.select(_role_options(), multiple=True, value=list(current), label=_("Roles")).props(
                    "outlined use-chips data-testid=edit-roles"
                ).classes("w-full")

                async def save() -> None:
                    roles = [Role(r) for r in chosen.value or []]
                    if await run_change(lambda uow, actor: services.set_user_roles(uow, actor, name, roles),
                                        _("Roles of {name} changed.").format(name=name)):
                        dialog.close()

                with ui.row().classes("w-full justify-end"):
                    ui.button(_("Cancel"), on_click=dialog.close).props("flat no-caps")
                    ui.button(_("Save"), on_click=save).props("unelevated no-caps data-testid=save-roles")
            dialog.open()

        # ------------------------------------------------ adding a user
        async def add_user() -> None:
            values = {"username": username.value, "display_name": display_name.value or None,
                      "password": password.value, "roles": [Role(r) for r in roles.value or []]}
            if await run_change(lambda uow, actor: services.add_user(uow, actor, **values),
                                _("User {name} added.").format(name=values["username"].strip().lower())):
                for field in (username, display_name, password):
                    field.value = ""
                roles.value = []

        await _station_section()

        ui.label(_("Users")).classes("text-2xl font-semibold")
        user_list = ui.column().classes("w-full")
        await show_users()

        section_title(_("Add a user"))
        with ui.card().classes("w-full").props("flat bordered data-testid=add-user-form"):
            with ui.row().classes("w-full items-start gap-3"):
                username = ui.input(_("User name")).props(
                    "outlined dense autocapitalize=off spellcheck=false data-testid=new-username"
                )
                display_name = ui.input(_("Display name")).props("outlined dense data-testid=new-display-name")
                roles = ui.select(_role_options(), multiple=True, value=[], label=_("Roles")).props(
                    "outlined dense use-chips data-testid=new-roles"
                ).classes("min-w-64")
                password = ui.input(_("Password"), password=True, password_toggle_button=True).props(
                    "outlined dense autocomplete=new-password data-testid=new-password"
                )
                ui.button(_("Add user"), icon="person_add", on_click=add_user).props(
                    "unelevated no-caps data-testid=add-user"
                )
            ui.label(_("A password needs at least {n} characters.").format(n=services.MIN_PASSWORD)).classes(
                "text-sm text-slate-500"
            )

        _import_section(user)


async def _station_section() -> None:
    """What this station PC lacks (rma.station.checks): a font, a printer, a port. Checked as the
    page is built (a printer that is off costs at most a second), and again on request."""
    section_title(_("This station"))
    with ui.card().classes("w-full gap-2").props("flat bordered data-testid=station-check"):
        found = ui.column().classes("w-full gap-2")
        again = ui.button(_("Check again"), icon="refresh").props("flat dense no-caps data-testid=station-check-again")

    async def check() -> None:
        again.disable()
        found.clear()
        with found:
            ui.label(_("Checking this station…")).classes("text-slate-500")
        problems = await run.io_bound(check_station)
        found.clear()
        with found:
            if not problems:
                with ui.row().classes("items-center gap-2 no-wrap").props("data-testid=station-ok"):
                    ui.icon("check_circle", size="sm").classes("text-green-700")
                    ui.label(_("Everything this station needs is in place: a font for Chinese labels, "
                               "the label printer, and the ports named in rma.toml."))
            for problem in problems:
                with ui.row().classes("w-full items-start gap-2 no-wrap rounded bg-amber-50 border border-amber-300 "
                                      "p-2").props(f"data-testid=station-problem data-problem={problem.code}"):
                    ui.icon("warning", size="sm").classes("text-amber-700")
                    ui.label(_(problem.template).format(**problem.params)).classes("text-amber-900")
        again.enable()

    again.on_click(check)
    await check()


def _import_section(user: SessionUser) -> None:
    """Upload the factory's shipment records (CSV): progress, counts, and the rejected lines."""
    section_title(_("Import shipment records"))
    with ui.card().classes("w-full gap-3").props("flat bordered data-testid=import-units"):
        ui.label(_("A CSV with the columns serial and model, and optionally manufactured_on, shipped_on, customer, "
                   "firmware. Each row creates or updates one unit; a bad row is rejected with its line number."))\
            .classes("text-slate-600")
        upload = ui.upload(label=_("Shipment records (CSV)"), auto_upload=True, max_files=1).props(
            'accept=".csv,text/csv" flat bordered data-testid=import-upload').classes("w-96")
        progress = ui.linear_progress(value=0, show_value=False, size="12px").props("data-testid=import-progress")
        progress.set_visibility(False)
        step = ui.label().classes("text-slate-600").props("data-testid=import-step")
        outcome = ui.column().classes("w-full gap-2").props("data-testid=import-outcome")

        def show_progress(done: int, total: int) -> None:
            progress.set_value(done / total if total else 1.0)
            step.set_text(_("{done} of {total} rows").format(done=done, total=total))

        async def imported(e) -> None:  # noqa: ANN001
            data = await e.file.read()
            upload.reset()
            outcome.clear()
            try:
                await user.act(lambda uow, actor: None)  # the session is still good before a long import
            except DomainError as exc:
                _notify_error(exc)
                return
            loop = asyncio.get_running_loop()

            def report_progress(done: int, total: int) -> None:  # in the import's thread
                loop.call_soon_threadsafe(show_progress, done, total)

            progress.set_value(0)
            progress.set_visibility(True)
            step.set_text(_("Reading {name}…").format(name=e.file.name))
            try:
                report = await run.io_bound(imports.import_units, runtime.database(), user.username, data,
                                            progress=report_progress)
            except DomainError as exc:
                progress.set_visibility(False)
                step.set_text("")
                _notify_error(exc)
                with outcome:
                    ui.label(error_message(exc)).classes("text-lg text-red-800 font-medium").props(
                        "data-testid=import-error")
                return
            show_progress(report.rows, report.rows)
            with outcome:
                ui.label(_("{rows} rows: {created} units created, {updated} updated, {rejected} rejected.").format(
                    rows=report.rows, created=report.created, updated=report.updated,
                    rejected=len(report.rejected))).classes("text-lg font-semibold").props(
                    "data-testid=import-counts")
                if report.rejected:
                    table([_("Line"), _("Why it was rejected")], [[line, reason] for line, reason in report.rejected],
                          empty="", testid="import-rejected")
            _notify_done(_("Shipment records imported."))

        upload.on_upload(imported)
