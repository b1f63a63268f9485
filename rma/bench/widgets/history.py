"""The unit's earlier visits on its repair card: their complaints, findings, parts fitted, decisions and tests."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma import sentences
from rma.bench.widgets.code_picker import words
from rma.bench.widgets.findings import finding_text
from rma.i18n import _
from rma.inventory.widgets.common import part_name
from rma.test_station.pages_common import outcome_badge
from rma.ui.frame import unit_url
from rma.ui.widgets import section_title, state_badge, when


def history(card: dict[str, Any]) -> None:
    if not card["history"]:
        return
    look = sentences.NO_LOOKUPS
    with ui.column().classes("w-full gap-2 rma-bench-section").props("data-testid=history"):
        section_title(_("Earlier visits of this unit"))
        for h in card["history"]:
            with ui.card().classes("w-full gap-1").props(f"flat bordered data-testid=history-visit data-tag={h['tag']}"):
                with ui.row().classes("items-center gap-3"):
                    ui.link(h["tag"], unit_url(h["tag"])).classes("font-mono font-bold")
                    state_badge(h["state"])
                    ui.label(f"{when(h['opened_at'])} → {when(h['closed_at'])}").classes("text-slate-600")
                complaint = h["complaint"]
                if complaint["symptom"]:
                    ui.label(_("Complaint: {x}").format(x=words(complaint["symptom"]))).classes("text-slate-700")
                elif h["return_reason"]:
                    ui.label(_("Return reason: {x}").format(x=h["return_reason"])).classes("text-slate-700")
                for f in h["findings"]:
                    ui.label(finding_text(f) + (f" — {f['note']}" if f["note"] else "")).classes("text-base").props(
                        "data-testid=history-finding")
                if not h["findings"]:
                    ui.label(_("No findings recorded.")).classes("text-slate-500 italic")
                for p in h.get("parts", []):
                    ui.label(_("Fitted: {qty} × {part} at {designator}").format(
                        qty=p["quantity"], part=f"{part_name(p)} ({p['part_number']})",
                        designator=p["designator"] or "—")).classes("text-base").props("data-testid=history-part")
                with ui.row().classes("items-center gap-2"):
                    for t in h["tests"]:
                        label = _("Incoming test") if t["kind"] == "incoming" else _("Outgoing test")
                        ui.label(f"{label} #{t['attempt']}").classes("text-sm text-slate-600")
                        outcome_badge(t["outcome"])
                        if t["failed_steps"]:
                            ui.label(sentences.words().join(look.step(s) for s in t["failed_steps"])).classes(
                                "text-sm text-red-800")
