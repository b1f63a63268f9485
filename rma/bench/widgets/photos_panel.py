"""Photos of the unit (a tablet's camera opens with the button) and human damage (人为损坏): what it is,
why, with photos of it; the lead confirms, and only then is the unit out of warranty."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from rma.bench.photos import MAX_PHOTO_BYTES
from rma.i18n import _
from rma.ui.banner import notify_problem
from rma.ui.widgets import section_title

Upload = Callable[[str, bytes, str], Awaitable[None]]
Report = Callable[[str, str], Awaitable[None]]
DAMAGE = {"water": "Water", "impact": "Impact", "seal": "Broken seal", "other": "Other damage"}
PURPOSE = {"unit": "Whole unit", "damage": "Damage", "finding": "Finding"}


def photos_panel(card: dict[str, Any], *, can_work: bool, upload: Upload, report: Report) -> None:
    with ui.column().classes("w-full gap-2 rma-bench-section").props("data-testid=photos-section"):
        section_title(_("Photos and human damage"))
        with ui.row().classes("items-center gap-2").props("data-testid=photos"):
            for p in card["photos"]:
                with ui.link(target=f"/attachments/{p['sha256']}", new_tab=True).classes("no-underline"):
                    with ui.column().classes("items-center gap-0"):
                        ui.image(f"/attachments/{p['sha256']}/thumb").classes("w-28 h-20 rounded border").props(
                            f"fit=cover alt={p['filename']!r} data-testid=photo data-purpose={p['purpose']}")
                        ui.label(_(PURPOSE.get(p["purpose"], p["purpose"]))).classes("text-xs text-slate-600")
            if not card["photos"]:
                ui.label(_("No photos yet.")).classes("text-slate-500 italic")
        pending = [r for r in card["requests"] if r["kind"] == "damage" and r["status"] == "pending"]
        if card["damage"]:
            ui.label(_("Human damage confirmed: {kind} — {reason}").format(
                kind=_(DAMAGE.get(card["damage"]["kind"], "Other damage")), reason=card["damage"]["reason"])).classes(
                "text-red-800 font-medium").props("data-testid=damage-confirmed")
        for r in pending:
            ui.label(_("Human damage reported, waits for the lead: {kind} — {reason}").format(
                kind=_(DAMAGE.get(r["damage"], "Other damage")), reason=r["reason"])).classes(
                "text-amber-800 font-medium").props("data-testid=damage-pending")
        if not can_work:
            return
        with ui.row().classes("w-full items-end gap-2"):
            purpose = ui.select({k: _(v) for k, v in PURPOSE.items()}, value="unit", label=_("Photo of")).props(
                "outlined dense data-testid=photo-purpose").classes("w-40")

            async def uploaded(e: Any) -> None:
                data = await e.file.read()
                try:
                    await upload(e.file.name, data, purpose.value or "unit")
                finally:
                    picker.reset()

            picker = ui.upload(auto_upload=True, max_file_size=MAX_PHOTO_BYTES, on_upload=uploaded,
                               on_rejected=lambda: notify_problem(_("The file is too large: at most {mb} MB.").format(
                                   mb=MAX_PHOTO_BYTES // 2**20))).props(
                'accept="image/*" capture=environment data-testid=photo-upload').classes("hidden")
            ui.button(_("Take or add a photo"), icon="add_a_photo", on_click=lambda: picker.run_method("pickFiles")).props(
                "outline no-caps data-testid=photo-add")
        if card["damage"] or pending or card["state"] not in ("in_repair", "awaiting_parts"):
            return
        with ui.row().classes("w-full items-end gap-2").props("data-testid=damage-form"):
            kind = ui.select({k: _(v) for k, v in DAMAGE.items()}, label=_("Human damage")).props(
                "outlined dense data-testid=damage-kind").classes("w-44")
            reason = ui.input(_("What the damage is (the photos show it)")).props(
                "outlined dense data-testid=damage-reason").classes("grow")

            async def send() -> None:
                await report(kind.value or "", reason.value or "")

            reason.on("keydown.enter", send)
            ui.button(_("Report human damage"), icon="report_problem", on_click=send).props(
                "flat no-caps color=red-8 data-testid=damage-report")
