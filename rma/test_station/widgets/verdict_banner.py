"""The verdict banner: PASS, FAIL, ERROR or ABORTED in big letters once the run's end is in the
test ledger, with what it means for the unit and why, in the tester's language."""

from __future__ import annotations

from nicegui import ui

from rma.i18n import _
from rma.sentences import Lookups, words
from rma.test_station import services
from rma.test_station.models import RunKind
from rma.test_station.pages_common import OUTCOME_LOOK
from rma.test_station.sentences import run_reason, step_problem


def _explained(result: services.RunResult, kind: RunKind) -> tuple[str, list[str]]:
    """The banner's summary and its lines."""
    w = words()
    outcome = result.outcome.value
    lines: list[str] = []
    if outcome == "pass":
        summary = (_("Every step passed and the accessories and packaging are complete: the unit has passed.")
                   if kind is RunKind.OUTGOING else _("Every step passed: no fault found."))
    elif outcome == "fail":
        summary = _("The unit failed the test.")
        steps = {s.step_id: s for s in result.steps}
        for step_id in result.failed_steps:
            s = steps.get(step_id)
            problem = step_problem(s.as_dict(), w) if s is not None else None
            lines.append(f"{s.name}{w.colon}{problem}" if s is not None and problem else (s.name if s else step_id))
        missing = [item for item, ok in result.checklist.items() if not ok]
        if missing:
            lines.append(_("Missing accessories or packaging: {items}").format(items=w.join(missing)))
        if kind is RunKind.OUTGOING:
            lines.append(_("It goes back to the bench."))
    elif outcome == "error":
        broken = next((s for s in reversed(result.steps) if s.verdict.value == "error"), None)
        summary = (_("The unit was not judged: {step} could not be done.").format(step=broken.name) if broken
                   else _("The unit was not judged."))
        if broken is not None and (broken.message or "").startswith("fixture port lost"):
            lines.append(_("The fixture's port was lost: check its cable and power, then scan the tag again."))
        elif kind is RunKind.OUTGOING and result.durable:
            lines.append(_("The unit stays awaiting test: scan it again to re-test."))
    else:
        summary = _("Stopped by the tester.")
        if kind is RunKind.OUTGOING:
            lines.append(_("The unit stays awaiting test."))
    return summary, lines


def _not_saved(reason: str) -> None:
    with ui.card().classes("w-full bg-red-700 text-white p-4").props("flat data-testid=not-durable"):
        with ui.row().classes("items-center gap-3 no-wrap"):
            ui.icon("report", size="lg")
            ui.label(_("NOT saved in the test ledger: {reason}").format(reason=reason)).classes("text-xl font-bold")


def verdict_banner(result: services.RunResult, kind: RunKind) -> None:
    outcome = result.outcome.value
    summary, lines = _explained(result, kind)
    look = Lookups(steps={s.step_id: s.name for s in result.steps})
    reason = run_reason(result.reason, words(), look, failed_steps=result.failed_steps, checklist=result.checklist)
    word, colours, icon = OUTCOME_LOOK[outcome]
    if not result.durable:
        _not_saved(reason or "")
    with ui.card().classes(f"w-full {colours} p-6").props(
        f"flat data-testid=run-outcome data-outcome={outcome} data-run={result.run_id}"
    ):
        with ui.row().classes("items-center gap-6 no-wrap"):
            ui.icon(icon, size="5rem")
            with ui.column().classes("gap-1"):
                ui.label(_(word)).classes("text-6xl font-black tracking-wider leading-none").props(
                    "data-testid=outcome-word")
                ui.label(summary).classes("text-2xl font-medium").props("data-testid=outcome-summary")
                for line in lines:
                    ui.label(line).classes("text-lg").props("data-testid=outcome-line")
                if reason and outcome == "error":  # the precise reason; the ledger's own words on hover
                    ui.label(reason).classes("text-base opacity-90 font-mono break-all").props(
                        "data-testid=outcome-reason").tooltip(result.reason or "")
                ui.link(_("Run {run} in the test ledger").format(run=result.run_id),
                        f"/test/run/{result.run_id}").classes("text-base text-inherit underline opacity-90") \
                    .props("data-testid=outcome-run-link")


def worker_died_banner(error: str) -> None:
    _not_saved(_("the test stopped unexpectedly ({error}); the run stays incomplete").format(error=error))
    with ui.card().classes(f"w-full {OUTCOME_LOOK['error'][1]} p-6").props(
        "flat data-testid=run-outcome data-outcome=error"
    ):
        ui.label(_("ERROR")).classes("text-6xl font-black tracking-wider").props("data-testid=outcome-word")
