"""``/settings``: the department's settings (rma/core/settings.py), read by the supervisor and the
admin, who change them here; every change is in the audit log, a value out of range is refused
with the allowed range."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.core import settings
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.ui import runtime
from rma.ui.areas import SETTINGS
from rma.ui.banner import notify_done, notify_problem
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import when


def register_settings() -> None:
    @protected_page(SETTINGS.path, area=SETTINGS, title="Department settings")
    async def settings_page(user: SessionUser) -> None:
        ui.label(_("Department settings")).classes("text-2xl font-semibold")
        ui.label(_("One value for every station; each change is kept in the audit log.")).classes("text-slate-600")
        body = ui.column().classes("w-full gap-1")

        async def show() -> None:
            rows = await runtime.read(settings.list_settings)
            body.clear()
            with body:
                for row in rows:
                    line(row)

        def line(row: dict[str, Any]) -> None:
            with ui.row().classes("w-full items-center gap-3 border-b border-slate-100 py-1").props(
                    f"data-testid=setting-{row['key']}"):
                with ui.column().classes("gap-0 grow"):
                    ui.label(_(row["label"]))
                    ui.label(_("{key} · default {default} · from {low} to {high} {unit}").format(
                        key=row["key"], default=row["default"], low=row["low"], high=row["high"],
                        unit=_(row["unit"]))).classes("text-xs text-slate-500")
                    if row["changed_by"]:
                        ui.label(_("changed by {who} {when}").format(who=row["changed_by"], when=when(
                            row["changed_at"]))).classes("text-xs text-slate-500")
                box = ui.input(value=str(row["value"])).props(
                    f"outlined dense data-testid=setting-{row['key']}-value").classes("w-32")
                ui.button(_("Save"), on_click=lambda r=row, b=box: save(r["key"], b.value)).props(
                    f"no-caps data-testid=setting-{row['key']}-save")

        async def save(key: str, raw: str) -> None:
            try:
                done = await user.act(lambda uow, actor: settings.set_value(uow, actor, key, raw))
            except DomainError as exc:
                notify_problem(error_message(exc))
                return
            notify_done(_("{key}: {was} → {value}").format(key=key, was=done["was"], value=done["value"]))
            await show()

        await show()
