"""The run header: which unit is on the fixture, which test and plan, the fixture, the progress
through the steps, what happens now, and the Abort button."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from rma.i18n import _
from rma.test_station import services
from rma.test_station.pages_common import kind_label
from rma.ui.frame import unit_url


def fact(label: str, value: str | None, testid: str, *, mono: bool = False) -> None:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("text-xs uppercase text-slate-500")
        ui.label(value or "—").classes("text-lg font-medium text-slate-900" + (" font-mono" if mono else "")).props(
            f"data-testid={testid}")


class RunHeader:
    def __init__(self, started: services.RunStarted, total: int, on_abort: Callable[[], None]) -> None:
        plan = started.plan
        self.total = total
        with ui.card().classes("w-full gap-3").props(f"flat bordered data-testid=run-card data-run={started.run_id}"):
            with ui.row().classes("w-full items-start gap-x-8 gap-y-2"):
                ui.link(started.tag, unit_url(started.tag)).classes(
                    "text-3xl font-mono font-bold no-underline text-slate-900").props("data-testid=run-tag")
                fact(_("Serial"), started.serial, "run-serial", mono=True)
                fact(_("Model"), started.model, "run-model")
                attempt = (_("re-test, attempt {n}").format(n=started.attempt) if started.attempt > 1
                           else _("first test"))
                fact(_("Test"), f"{kind_label(started.kind.value)} · {attempt}", "run-kind")
                fact(_("Plan"), f"{plan.name} · v{plan.version}", "run-plan")
                with ui.column().classes("gap-0"):
                    ui.label(_("Fixture")).classes("text-xs uppercase text-slate-500")
                    self.fixture = ui.label(started.port).classes("text-base font-mono text-slate-600").props(
                        "data-testid=run-fixture")
                ui.space()
                self.abort = ui.button(_("Abort"), icon="stop", on_click=on_abort).props(
                    "outline size=lg color=negative no-caps data-testid=run-abort")
            with ui.row().classes("w-full items-center gap-4 no-wrap"):
                self.bar = ui.linear_progress(value=0, show_value=False, size="14px").props(
                    "rounded color=primary track-color=grey-3 data-testid=run-progress-bar").classes("grow")
                self.count = ui.label(_("{done} of {total} steps").format(done=0, total=total)).classes(
                    "text-lg font-medium text-slate-700 whitespace-nowrap").props("data-testid=run-progress")
            self.now_label = ui.label(_("Now: {step}").format(step=_("Fixture identity"))).classes(
                "text-lg text-blue-900").props("data-testid=run-now")

    def progress(self, done: int) -> None:
        self.bar.set_value(done / self.total)
        self.count.set_text(_("{done} of {total} steps").format(done=done, total=self.total))

    def now(self, text: str) -> None:
        self.now_label.set_text(text)

    def identified(self, identity: str | None) -> None:
        """The fixture answered who it is (or did not)."""
        self.fixture.set_text(identity or _("no answer"))
        self.fixture.classes(replace="text-base font-mono text-slate-900")

    def stopping(self) -> None:
        self.abort.props("loading")
        self.now(_("Stopping: the step in progress finishes first."))

    def finished(self) -> None:
        self.abort.set_visibility(False)
        self.now("")
