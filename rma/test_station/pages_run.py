"""Running a test (``/test``): the tester scans a tag, the plan runs on the fixture, the verdict shows.

The tester works from the scanner and the keyboard:

1. scan the tag or the unit's serial (Enter or Tab ends a scan); outgoing or incoming is a
   toggle (Alt+O, Alt+I);
2. the steps run one after another in a worker thread while the step list fills in, row by
   row; an operator prompt opens a dialog (Y / N / Enter, or a scan field), the accessories
   and packaging check a list of boxes (Space ticks, A: all present, Enter: finish);
3. PASS, FAIL, ERROR or ABORTED shows only when the run's end is in the test ledger, and stays
   until the next scan. Esc (or the button) aborts a running test.

The screen is built from the parts in ``widgets/`` (port picker, run header, step list,
operator prompt, checklist, verdict banner); ``live_run`` carries a run between its worker
thread and this page's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from nicegui import run, ui

from drivers.scan import ScanError, clean_scan
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.test_station import services
from rma.test_station.live_run import (
    ChecklistRequest,
    LiveRun,
    PromptRequest,
    WorkerDied,
    begin,
    work,
)
from rma.test_station.models import RunKind
from rma.test_station.widgets.checklist import checklist
from rma.test_station.widgets.keyboard import TEST_HEAD, key_hint
from rma.test_station.widgets.operator_prompt import operator_prompt
from rma.test_station.widgets.port_picker import PortPicker, StationSetup, station_setup
from rma.test_station.widgets.run_header import RunHeader
from rma.test_station.widgets.step_list import StepList
from rma.test_station.widgets.verdict_banner import verdict_banner, worker_died_banner
from rma.ui.frame import SessionUser
from rma.ui.widgets import SCAN_FIELD_JS, error_panel

log = logging.getLogger(__name__)

LEDGER_PATH = "/test/ledger"


@dataclass
class RunView:
    """One run on screen."""

    live: LiveRun
    header: RunHeader
    steps: StepList
    outcome: ui.column
    dialogs: list[ui.dialog] = field(default_factory=list)

    @property
    def checklist_next(self) -> bool:
        return self.live.started.kind is RunKind.OUTGOING


class StationScreen:
    """The /test page of one browser tab: the scan, the run in progress, the last outcome."""

    def __init__(self, user: SessionUser, setup: StationSetup) -> None:
        self.user = user
        self.ports = PortPicker(setup, on_change=self._focus_scan)
        self.view: RunView | None = None
        self.busy = False  # from a scan until its run's outcome: a second scan meanwhile is refused
        self.gone = False
        self.client = ui.context.client
        self.client.on_delete(self._client_gone)

    def build(self) -> None:
        ui.add_head_html(TEST_HEAD)
        with ui.row().classes("w-full items-baseline gap-x-6 no-wrap"):
            ui.label(_("Test station")).classes("text-2xl font-semibold whitespace-nowrap")
            self.ports.label()
            ui.space()
            ui.link(_("Test ledger"), LEDGER_PATH).classes("text-base whitespace-nowrap").props(
                "data-testid=ledger-link")
        self.ports.form_area()
        with ui.card().classes("w-full gap-3").props("flat bordered"):
            with ui.row().classes("w-full items-center gap-4 no-wrap"):
                ui.icon("qr_code_scanner", size="lg").classes("text-slate-500")
                self.field = ui.element("input").classes(
                    "rma-scan grow rounded-md border-2 border-slate-400 bg-white text-slate-900 text-2xl px-4 py-3 "
                    "focus:border-blue-700"
                )
                self.field.props.update({
                    "type": "text", "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false",
                    "data-testid": "test-scan", "placeholder": _("Scan the tag or serial"),
                    "aria-label": _("Scan the tag or serial"),
                })
                self.field.on("keydown", self._scanned, js_handler=SCAN_FIELD_JS)
                self.field.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")
                self.kind = ui.toggle({RunKind.OUTGOING.value: _("Outgoing test"),
                                       RunKind.INCOMING.value: _("Incoming test")}, value=RunKind.OUTGOING.value) \
                    .props("no-caps unelevated size=lg toggle-color=primary color=grey-3 text-color=grey-9 "
                           "data-testid=test-kind")
                self.kind.on_value_change(lambda: self._focus_scan())
            with ui.row().classes("gap-x-5 gap-y-1 text-sm text-slate-500"):
                key_hint(("Enter", "Tab"), _("ends a scan"))
                key_hint(("Alt+O", "Alt+I"), _("outgoing / incoming"))
                key_hint(("Esc",), _("aborts a running test"))
        self.problem = ui.column().classes("w-full")
        self.run_area = ui.column().classes("w-full gap-3").props("data-testid=run-area")
        with self.run_area:
            with ui.card().classes("w-full items-center py-10 gap-2 bg-slate-50").props("flat bordered"):
                ui.icon("fact_check", size="3rem").classes("text-slate-400")
                ui.label(_("Scan the tag of a unit to test it.")).classes("text-xl text-slate-500")
        self.client.on_connect(self._focus_scan)

    def _problem(self, text: str | None, hint: str | None = None) -> None:
        self.problem.clear()
        if text:
            with self.problem:
                error_panel(text, hint, testid="test-error")

    def _focus_scan(self) -> None:
        if not self.gone:  # through the client: the element that asked may be gone (a form just closed)
            self.client.run_javascript("window.rmaTest && window.rmaTest.focusScan()")

    def _client_gone(self) -> None:
        self.gone = True
        if self.view is not None:
            self.view.live.stop()  # nobody is left to answer: the run ends ABORTED

    # -------------------------------------------------------------- a scan starts a run

    async def _scanned(self, e: Any) -> None:
        raw = str(e.args or "")
        if self.busy:
            self._problem(_("A test is running: let it finish, or abort it with Esc, before the next scan."))
            return
        self.busy = True
        try:
            await self._start(raw)
        finally:
            self.busy = False

    async def _start(self, raw: str) -> None:
        try:
            key = clean_scan(raw)
        except ScanError as exc:
            self._problem(error_message(exc))  # type: ignore[arg-type]
            self._focus_scan()
            return
        port = self.ports.port
        if port is None:
            self._problem(_("No fixture port: give the port of the fixture first."))
            return
        self._problem(None)
        incoming = self.kind.value == RunKind.INCOMING.value
        self.run_area.clear()
        with self.run_area:
            with ui.row().classes("items-center gap-3 text-xl text-slate-600"):
                ui.spinner(size="lg")
                ui.label(_("Starting the test of {tag}…").format(tag=key))
        try:
            actor = await self.user.act(lambda uow, actor: actor.username)  # the session is still good
            fixture, started = await run.io_bound(begin, actor, key, port, incoming)
        except DomainError as exc:
            self.run_area.clear()
            self._problem(error_message(exc), _("Check the tag and the test kind, then scan again."))
            self._focus_scan()
            return
        except Exception as exc:  # noqa: BLE001 - the tester must see why nothing started
            log.exception("the test of %s could not start", key)
            self.run_area.clear()
            self._problem(_("The test could not start: {error}").format(error=f"{type(exc).__name__}: {exc}"))
            self._focus_scan()
            return
        live = LiveRun(started, asyncio.get_running_loop())
        self.view = self._show_run(live)
        threading.Thread(target=work, args=(live, fixture), name=f"test-run-{started.run_id}", daemon=True).start()
        await self._follow(self.view)

    async def _follow(self, view: RunView) -> None:
        """Consume the worker's events, in order, until the run's result (or the worker's death)."""
        ended = False
        try:
            while True:
                event = await view.live.events.get()
                if isinstance(event, (services.RunResult, WorkerDied)):
                    ended = True
                    if not self.gone:
                        with self.run_area:
                            self._finished(view, event)
                    return
                if self.gone:
                    continue
                with self.run_area:
                    if isinstance(event, services.StepOutcome):
                        self._step_done(view, event)
                    elif isinstance(event, PromptRequest):
                        self._ask(view, event)
                    elif isinstance(event, ChecklistRequest):
                        self._check(view, event)
        finally:
            if not ended:
                view.live.stop()  # the page failed: the worker must not wait for answers forever
            for dialog in view.dialogs:
                dialog.close()
            self.view = None
            if not self.gone:
                self._problem(None)  # "a test is running" is over
                self._focus_scan()

    # -------------------------------------------------------------- the run on screen

    def _show_run(self, live: LiveRun) -> RunView:
        self.run_area.clear()
        with self.run_area:
            header = RunHeader(live.started, len(live.started.plan.steps) + 1, self._abort)
            outcome = ui.column().classes("w-full gap-2").props("data-testid=run-outcome-area")
            steps = StepList(live.started)
        view = RunView(live, header, steps, outcome)
        self._mark(view, 0, "running")
        return view

    def _mark(self, view: RunView, seq: int, state: str) -> None:
        row = view.steps.mark(seq, state)
        if row is not None and state == "running":
            view.header.now(_("Now: {step}").format(step=row.name))
        elif row is not None and state == "waiting":
            view.header.now(_("Waiting for your answer: {step}").format(step=row.name))

    def _step_done(self, view: RunView, s: services.StepOutcome) -> None:
        if view.steps.done(s) is None:
            return
        if s.seq == 0:
            view.header.identified(s.value)
        view.header.progress(s.seq + 1)
        verdict = s.verdict.value
        goes_on = verdict == "pass" or (verdict == "fail" and not view.live.started.plan.stop_on_fail)
        if goes_on and s.seq + 1 < len(view.steps) and not view.live.abort.is_set():
            self._mark(view, s.seq + 1, "running")
        elif goes_on and view.checklist_next:
            view.header.now(_("Now: {step}").format(step=_("Accessories and packaging check")))
        else:
            view.header.now("")

    def _abort(self) -> None:
        view = self.view
        if view is None or view.live.abort.is_set():
            return
        view.live.stop()
        for dialog in view.dialogs:
            dialog.close()
        view.header.stopping()

    # -------------------------------------------------------------- the tester's answers

    def _ask(self, view: RunView, request: PromptRequest) -> None:
        seq = view.steps.seq_of(request.step.id)
        if seq is not None:
            self._mark(view, seq, "waiting")

        def reply(value: str) -> None:
            view.live.answer(request.answer, value)
            if seq is not None and not view.live.abort.is_set():
                self._mark(view, seq, "running")

        view.dialogs.append(operator_prompt(request.step, reply=reply, abort=self._abort))

    def _check(self, view: RunView, request: ChecklistRequest) -> None:
        view.header.now(_("Now: {step}").format(step=_("Accessories and packaging check")))
        view.dialogs.append(checklist(request.items, finish=lambda ticks: view.live.answer(request.answer, ticks),
                                      abort=self._abort))

    # -------------------------------------------------------------- the outcome

    def _finished(self, view: RunView, event: services.RunResult | WorkerDied) -> None:
        view.header.finished()
        if isinstance(event, WorkerDied):
            with view.outcome:
                worker_died_banner(event.error)
            return
        view.steps.not_run()
        with view.outcome:
            verdict_banner(event, view.live.started.kind)


async def test_station(user: SessionUser) -> None:
    setup = await run.io_bound(station_setup)
    StationScreen(user, setup).build()
