"""The rows of an open parcel, newest on top: a unit received (tag, model, warranty, repeat,
interception alerts, its accessories checklist, its label) or a scan that could not be."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from nicegui import ui

from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.intake import services
from rma.intake.pages_common import alert_lines, escaped, repeat_badge, warranty_badge
from rma.intake.widgets.keyboard import focus_scan
from rma.intake.widgets.label_status import LabelQueue
from rma.ui.banner import notify_aside
from rma.ui.frame import SessionUser, unit_url

# A native checkbox sends the whole list ticked in its row, so each save is complete in itself.
ACCESSORY_CHANGE_JS = """(e) => emit([...e.target.closest('[data-accessories]')
    .querySelectorAll('input[type=checkbox]')].filter((c) => c.checked).map((c) => c.value))"""


class UnitRows:
    """The parcel's rows; ``reasons`` names the reason codes shown on a row."""

    def __init__(self, user: SessionUser, labels: LabelQueue, reasons: Callable[[], dict[str, str]]) -> None:
        self.user, self.labels, self.reasons = user, labels, reasons
        self.box = ui.column().classes("w-full gap-2").props("data-testid=intake-results")
        self.accessory_boxes: dict[str, list[tuple[str, ui.element]]] = defaultdict(list)
        self.accessory_lock = asyncio.Lock()

    def clear(self) -> None:
        self.box.clear()
        self.labels.clear()
        self.accessory_boxes.clear()

    def _card(self, classes: str, props: str) -> ui.card:
        with self.box:
            card = ui.card().classes(classes).props(props)
        card.move(target_index=0)
        return card

    # ------------------------------------------------ a unit
    def unit(self, row: dict[str, Any], *, again: bool, label: str | None) -> None:
        tag = row["tag"]
        border = "border-amber-500" if again else ("border-red-700" if row["interceptions"] else "border-green-600")
        card = self._card(f"w-full gap-2 border-l-8 {border}",
                          f"flat bordered data-testid=intake-row data-kind={'again' if again else 'unit'} "
                          f"data-tag={tag} data-serial={row['serial']}")
        with card, ui.row().classes("w-full items-start gap-4 no-wrap"):
            with ui.column().classes("grow gap-2"):
                with ui.row().classes("w-full items-center gap-x-6 gap-y-2"):
                    ui.link(tag, unit_url(tag)).classes("text-3xl font-mono font-bold text-blue-900").props(
                        "data-testid=row-tag")
                    ui.label(row["serial"]).classes("text-2xl font-mono").props("data-testid=row-serial")
                    with ui.column().classes("gap-0"):
                        ui.label(row["model"]).classes("text-xl font-semibold").props("data-testid=row-model")
                        ui.label(row.get("model_name") or "").classes("text-sm text-slate-500")
                    warranty_badge(row["warranty"], row["warranty_until"], large=True)
                    if row.get("repeat_of"):
                        repeat_badge(row["repeat_of"], large=True)
                if again:
                    ui.label(_("Already scanned in this parcel: same tag, no second visit.")).classes(
                        "text-lg font-semibold text-amber-800").props("data-testid=already-scanned")
                alert_lines(row["interceptions"])
                if row.get("reason_code"):
                    reason = self.reasons().get(row["reason_code"], row["reason_code"])
                    ui.label(_("Reason: {reason}").format(reason=reason)).classes("text-slate-600")
                self._accessories(tag, row.get("known_accessories") or [], row.get("accessories") or [])
            with ui.column().classes("items-end gap-2 shrink-0 max-w-md"):
                ui.button(_("Reprint"), icon="print", on_click=lambda: self._reprint(tag)).props(
                    "outline no-caps data-testid=reprint")
                self.labels.line(tag, label)

    def _reprint(self, tag: str) -> None:
        self.labels.reprint(tag)
        focus_scan()

    # ------------------------------------------------ its accessories
    def _accessories(self, tag: str, known: list[str], ticked: list[str]) -> None:
        if not known:
            return
        with ui.row().classes("items-center gap-3").props(f"data-accessories={tag}"):
            ui.label(_("Accessories:")).classes("text-base font-medium text-slate-700")
            for n, name in enumerate(known, start=1):
                with ui.element("label").classes(
                    "flex items-center gap-2 text-lg cursor-pointer rounded border border-slate-300 px-2 py-1"
                ):
                    box = ui.element("input").classes("rma-check")
                    box.props.update({"type": "checkbox", "value": name, "checked": name in ticked,
                                      "data-accessory": name})
                    box.on("change", lambda e, tag=tag: self._save_accessories(tag, list(e.args or [])),
                           js_handler=ACCESSORY_CHANGE_JS)
                    ui.label(f"{n}. {name}" if n <= 9 else name)
                self.accessory_boxes[tag].append((name, box))
            ui.button(_("All present"), icon="done_all",
                      on_click=lambda: self._save_accessories(tag, list(known))).props(
                "outline dense no-caps data-all-present data-testid=all-present")

    async def _save_accessories(self, tag: str, ticked: list[str]) -> None:
        async with self.accessory_lock:  # saves of one page land in the order they were made
            try:
                saved = await self.user.act(lambda uow, actor: services.record_accessories(uow, actor, tag, ticked))
            except DomainError as exc:
                notify_aside(error_message(exc))
                saved = None
            boxes = self.accessory_boxes.get(tag, [])
            if saved is None:  # put the boxes back as they were saved
                saved = [name for name, box in boxes if box.props.get("checked")]
            script = []
            for name, box in boxes:
                box.props["checked"] = name in saved
                script.append(f"getHtmlElement({box.id}).checked = {'true' if name in saved else 'false'};")
                box.update()
            if script:
                ui.run_javascript("(() => { try { " + " ".join(script) + " } catch (e) {} })()")

    # ------------------------------------------------ a scan that could not be received
    def error(self, message: str, raw: str, *, tag: str | None = None) -> None:
        card = self._card("w-full gap-1 border-l-8 border-red-700 bg-red-50",
                          "flat bordered data-testid=intake-row data-kind=error")
        with card:
            with ui.row().classes("items-center gap-3 no-wrap"):
                ui.icon("error", size="md").classes("text-red-700")
                ui.label(message).classes("text-xl font-semibold text-red-900").props("data-testid=row-error")
            if raw:
                with ui.row().classes("items-center gap-2"):
                    ui.label(_("Scanned:")).classes("text-slate-600")
                    ui.label(escaped(raw)).classes("font-mono text-lg text-slate-900 break-all").props(
                        "data-testid=row-scan")
            if tag:
                ui.link(_("Open {tag}").format(tag=tag), unit_url(tag)).classes("text-lg")
