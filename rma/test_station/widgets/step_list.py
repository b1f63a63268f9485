"""The step list: the plan's steps as a table, each a live step row that goes from waiting to
running (or "your turn" at a prompt) to its verdict, with the value, why it failed and the tries."""

from __future__ import annotations

from dataclasses import dataclass

from nicegui import ui

from rma.i18n import _
from rma.sentences import words
from rma.test_station import services
from rma.test_station.pages_common import (
    limits_text,
    restyle_verdict,
    value_text,
    verdict_badge,
)
from rma.test_station.sentences import step_problem

DONE = ("pass", "fail", "error")
IDENTITY = "fixture.identify"  # seq 0: the fixture says who it is before the plan's steps


@dataclass
class StepRow:
    """One live step row."""

    element: ui.element
    value: ui.label
    verdict: ui.label
    message: ui.label
    attempts: ui.label
    name: str
    state: str = "pending"

    def mark(self, state: str) -> None:
        self.state = state
        restyle_verdict(self.verdict, state)
        self.element.props(f"data-verdict={state}")

    def done(self, s: services.StepOutcome) -> None:
        verdict = s.verdict.value
        self.mark(verdict)
        self.value.set_text(value_text(s.value, s.limits, s.numeric))
        self.message.set_text(step_problem(s.as_dict(), words()) or "")
        self.message.classes(replace="text-sm " + ("text-red-800" if verdict == "fail" else
                                                   "text-orange-800" if verdict == "error" else "text-slate-600"))
        self.attempts.set_text(str(s.attempts))


class StepList:
    def __init__(self, started: services.RunStarted) -> None:
        self.rows: dict[int, StepRow] = {}
        self.ids = {step.id: seq for seq, step in enumerate(started.plan.steps, 1)}
        headers = ["#", _("Step"), _("Command"), _("Limits"), _("Value"), _("Verdict"), _("Message"), _("Attempts")]
        lines: list[tuple[int, str, str, str | None, str]] = [(0, IDENTITY, _("Fixture identity"), "*IDN?", "—")]
        lines += [(seq, s.id, s.name, s.send, limits_text(s.limits(started.firmware)))
                  for seq, s in enumerate(started.plan.steps, 1)]
        with ui.element("q-markup-table").props(
            "flat bordered dense wrap-cells separator=horizontal data-testid=run-steps"
        ).classes("w-full rma-table rma-steps"):
            with ui.element("thead"), ui.element("tr").classes("bg-slate-100"):
                for header in headers:
                    with ui.element("th"):
                        ui.label(header).classes("whitespace-nowrap")
            with ui.element("tbody"):
                for seq, step_id, name, command, limits in lines:
                    self.rows[seq] = self._row(seq, step_id, name, command, limits)

    @staticmethod
    def _row(seq: int, step_id: str, name: str, command: str | None, limits: str) -> StepRow:
        with ui.element("tr").props(
            f"data-testid=step-row data-step={step_id} data-seq={seq} data-verdict=pending"
        ) as tr:
            with ui.element("td"):
                ui.label(str(seq)).classes("text-slate-400")
            with ui.element("td"):
                ui.label(name).classes("font-medium")
            with ui.element("td"):
                ui.label(command or "—").classes("font-mono text-sm text-slate-600")
            with ui.element("td"):
                ui.label(limits).classes("font-mono text-sm whitespace-nowrap")
            with ui.element("td"):
                value = ui.label("").classes("font-mono text-base font-semibold").props("data-testid=step-value")
            with ui.element("td"):
                verdict = verdict_badge("pending", testid="step-verdict")
            with ui.element("td"):
                message = ui.label("").classes("text-sm").props("data-testid=step-message")
            with ui.element("td"):
                attempts = ui.label("").classes("text-slate-600").props("data-testid=step-attempts")
        return StepRow(tr, value, verdict, message, attempts, name)

    def __len__(self) -> int:
        return len(self.rows)

    def seq_of(self, step_id: str) -> int | None:
        return self.ids.get(step_id)

    def mark(self, seq: int, state: str) -> StepRow | None:
        """Show a step as running or waiting for the tester; a step with its verdict stays as it is."""
        row = self.rows.get(seq)
        if row is None or row.state in DONE:
            return None
        row.mark(state)
        return row

    def done(self, s: services.StepOutcome) -> StepRow | None:
        row = self.rows.get(s.seq)
        if row is not None:
            row.done(s)
        return row

    def not_run(self) -> None:
        """After the run: the steps it never reached."""
        for row in self.rows.values():
            if row.state not in DONE:
                restyle_verdict(row.verdict, "skipped")
                row.element.props("data-verdict=skipped")
