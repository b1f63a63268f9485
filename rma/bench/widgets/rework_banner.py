"""A unit back from a failed outgoing test: the failed steps and their values, at the top of the card."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma import sentences
from rma.i18n import _
from rma.test_station.pages_common import limits_text, value_text
from rma.test_station.sentences import run_reason, step_problem
from rma.ui.widgets import when


def rework_banner(card: dict[str, Any]) -> None:
    last = card["rework"]["last_failure"]
    if last is None:
        return
    words = sentences.words()
    with ui.card().classes("w-full gap-2 bg-red-50 border-2 border-red-600").props(
            f"flat data-testid=rework-banner data-run={last['run_id']}"):
        with ui.row().classes("items-center gap-2"):
            ui.icon("replay", size="md").classes("text-red-700")
            ui.label(_("Failed the outgoing test (run {run}, attempt {attempt}, {when}): rework ×{n}").format(
                run=last["run_id"], attempt=last["attempt"], when=when(last["ended_at"]),
                n=card["rework"]["count"])).classes("text-lg font-semibold text-red-800")
        reason = run_reason(last["reason"], words, sentences.NO_LOOKUPS, failed_steps=[
            s["step"] for s in last["failed_steps"]], checklist=last["checklist"])
        if reason:
            ui.label(reason).classes("text-red-900").props("data-testid=rework-reason")
        for s in last["failed_steps"]:
            with ui.row().classes("items-baseline gap-3 no-wrap").props(
                    f"data-testid=rework-step data-step={s['step']}"):
                ui.label(s["name"]).classes("font-semibold text-red-900 min-w-48")
                ui.label(value_text(s["value"], s["limits"], s["numeric"])).classes("font-mono").props(
                    "data-testid=rework-value")
                ui.label(limits_text(s["limits"])).classes("text-slate-600")
                ui.label(step_problem(s, words) or "").classes("text-red-800")
