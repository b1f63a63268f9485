"""The open parcel at the top of the station: waybill, courier, sender, how many scanned of how
many declared, the waybill photos, and the buttons that close or leave it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.intake import services
from rma.intake.widgets.keyboard import focus_scan
from rma.intake.widgets.parcel_form import OpenParcel
from rma.ui.banner import notify_aside
from rma.ui.frame import SessionUser


class ParcelHeader:
    """Drawn into ``box`` for one parcel; ``count()`` redraws the scanned count."""

    def __init__(self, box: ui.element, user: SessionUser, parcel: OpenParcel, attachments: list[dict[str, Any]],
                 *, on_close: Callable[[], None], on_leave: Callable[[], None]) -> None:
        self.user, self.parcel = user, parcel
        p = parcel
        box.clear()
        with box, ui.card().classes("w-full gap-2 bg-slate-50").props("flat bordered data-testid=parcel-card"):
            with ui.row().classes("w-full items-center justify-between"):
                with ui.row().classes("items-baseline gap-4"):
                    ui.label(p.waybill).classes("text-3xl font-mono font-bold").props("data-testid=parcel-waybill")
                    ui.label(p.courier).classes("text-xl font-semibold text-slate-700").props(
                        "data-testid=parcel-courier")
                    ui.label(" · ".join(x for x in (p.customer, p.customer_name) if x)).classes(
                        "text-lg text-slate-700")
                with ui.row().classes("items-center gap-2"):
                    ui.button(_("Close parcel"), icon="inventory", on_click=on_close)\
                        .props("unelevated no-caps size=lg data-testid=close-parcel")
                    ui.button(_("Leave open"), icon="logout", on_click=on_leave)\
                        .props("flat no-caps data-testid=leave-parcel")
            with ui.row().classes("w-full items-center gap-6"):
                self.count_label = ui.label().classes("text-2xl font-semibold text-slate-800").props(
                    "data-testid=parcel-count")
                self.count()
                ui.space()
                self.thumbs = ui.row().classes("items-center gap-2").props("data-testid=waybill-thumbs")
                self._thumbs(attachments)
                self.upload = ui.upload(auto_upload=True, max_file_size=services.MAX_ATTACHMENT_BYTES,
                                        on_upload=self._attach, on_rejected=lambda: notify_aside(
                                            _("The file is too large: at most {mb} MB.").format(
                                                mb=services.MAX_ATTACHMENT_BYTES // 2**20))).props(
                    'accept="image/*,application/pdf" data-testid=waybill-upload').classes("hidden")
                ui.button(_("Attach waybill photo"), icon="add_a_photo",
                          on_click=lambda: self.upload.run_method("pickFiles")).props(
                    "outline no-caps data-testid=attach-waybill")

    def count(self) -> None:
        p = self.parcel
        if p.declared is None:
            text = _("Scanned {n} (no declared count)").format(n=p.scanned)
        else:
            text = _("Scanned {n} of {declared} declared").format(n=p.scanned, declared=p.declared)
        over = p.declared is not None and p.scanned > p.declared
        self.count_label.set_text(text)
        self.count_label.classes(replace="text-2xl font-semibold " + ("text-amber-700" if over else "text-slate-800"))

    def _thumbs(self, attachments: list[dict[str, Any]]) -> None:
        self.thumbs.clear()
        with self.thumbs:
            for a in attachments:
                with ui.link(target=f"/attachments/{a['sha256']}", new_tab=True).classes("no-underline"):
                    if a["filename"].lower().endswith(".pdf"):
                        with ui.column().classes("items-center gap-0 w-24"):
                            ui.icon("picture_as_pdf", size="lg").classes("text-red-700")
                            ui.label(a["filename"]).classes("text-xs truncate w-24")
                    else:
                        ui.image(f"/attachments/{a['sha256']}/thumb").classes("w-24 h-16 rounded border").props(
                            f"fit=cover alt={a['filename']!r}")

    async def _attach(self, e) -> None:  # noqa: ANN001
        p = self.parcel
        data = await e.file.read()
        name, content_type = e.file.name, e.file.content_type

        def work(uow: UnitOfWork, actor: Any) -> list[dict[str, Any]]:
            services.attach_to_parcel(uow, actor, p.waybill, filename=name, data=data, content_type=content_type,
                                      courier=p.courier)
            return services.parcel_report(uow, p.waybill, p.courier)["attachments"]

        try:
            attachments = await self.user.act(work)
        except DomainError as exc:
            notify_aside(error_message(exc))
            return
        finally:
            self.upload.reset()
        self._thumbs(attachments)
        focus_scan()
