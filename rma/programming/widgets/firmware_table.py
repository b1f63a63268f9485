"""The firmware registry on screen: every image with its state and what it is for; the lead or the
supervisor releases a draft or retires an image from here (each asks once more, with a note)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from rma.core.models import Role
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.programming import registry
from rma.ui.banner import notify_done, notify_problem
from rma.ui.frame import SessionUser
from rma.ui.widgets import table, when

STATE_LOOK = {"draft": ("Draft", "bg-amber-200 text-amber-950"), "released": ("Released", "bg-green-700 text-white"),
              "retired": ("Retired", "bg-slate-400 text-white")}


def state_badge(state: str) -> None:
    word, colours = STATE_LOOK.get(state, (state, "bg-slate-300"))
    ui.label(_(word)).classes(f"{colours} text-sm px-2 py-0.5 rounded-full font-medium whitespace-nowrap").props(
        f"data-state={state}")


class FirmwareTable:
    """The table, drawn again after every change; ``reload`` reads the registry anew."""

    def __init__(self, user: SessionUser, reload: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
        self.user = user
        self.reload = reload
        self.may_release = bool(user.roles & set(registry.RELEASERS))
        self.area = ui.column().classes("w-full")

    async def draw(self) -> None:
        rows = await self.reload()
        self.area.clear()
        with self.area:
            table([_("No."), _("Version"), _("For"), _("Memory"), _("Size"), _("SHA-256"), _("State"),
                   _("Current firmware of"), _("Added"), ""],
                  [[str(r["id"]), r["version"], ", ".join(r["models"] + ([r["part_number"]] if r["part_number"]
                                                                         else [])),
                    f"{r['memory']} {r['chip_id']}", f"{r['size']:,}", r["sha256"][:12],
                    (lambda s=r["state"]: state_badge(s)), ", ".join(r["current_for"]) or None,
                    f"{when(r['added_at'])} · {r['added_by']}", (lambda r=r: self._actions(r))]
                   for r in rows],
                  empty=_("No firmware images yet: add one with rma firmware add."), testid="firmware-table")

    def _actions(self, r: dict[str, Any]) -> None:
        if not self.may_release:
            return
        with ui.row().classes("gap-1 no-wrap"):
            if r["state"] == "draft":
                ui.button(_("Release"), on_click=lambda r=r: self._ask(r, release=True)).props(
                    f"dense no-caps color=positive data-testid=release-{r['id']}")
            if r["state"] != "retired" and not r["current_for"]:
                ui.button(_("Retire"), on_click=lambda r=r: self._ask(r, release=False)).props(
                    f"dense flat no-caps color=negative data-testid=retire-{r['id']}")

    def _ask(self, r: dict[str, Any], *, release: bool) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[32rem] gap-3"):
            title = (_("Release firmware {version}?") if release else _("Retire firmware {version}?")).format(
                version=r["version"])
            ui.label(title).classes("text-xl font-semibold")
            ui.label(_("It becomes the current firmware of {models}, and is programmed into their units from now on.")
                     .format(models=", ".join(r["models"]) or "—") if release
                     else _("It will never be programmed again.")).classes("text-slate-700")
            note = ui.textarea(_("Note") if release else _("Why it is retired")).props(
                "outlined data-testid=firmware-note").classes("w-full")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(_("Cancel"), on_click=dialog.close).props("flat no-caps")
                ui.button(_("Release") if release else _("Retire"),
                          on_click=lambda: self._change(dialog, r, release, str(note.value or ""))).props(
                    f"no-caps color={'positive' if release else 'negative'} data-testid=firmware-confirm")
        dialog.open()

    async def _change(self, dialog: ui.dialog, r: dict[str, Any], release: bool, note: str) -> None:
        key = str(r["id"])
        try:
            if release:
                await self.user.act(lambda uow, actor: registry.release_image(uow, actor, key, note=note))
            else:
                await self.user.act(lambda uow, actor: registry.retire_image(uow, actor, key, reason=note))
        except DomainError as exc:
            notify_problem(error_message(exc))
            return
        dialog.close()
        notify_done((_("Firmware {version} released.") if release else _("Firmware {version} retired.")).format(
            version=r["version"]))
        await self.draw()


def may_see(roles: frozenset[Role]) -> bool:
    return bool(roles & {Role.TECHNICIAN, Role.LEAD, Role.MATERIALS, Role.SUPERVISOR})
