"""Running a test (``/test``): the tester scans a tag, the plan runs on the fixture, the verdict shows.

The tester works from the scanner and the keyboard:

1. scan the tag (Enter or Tab ends a scan); outgoing or incoming is a toggle (Alt+O, Alt+I);
2. the steps run one after another in a worker thread while the table fills in, row by row;
   an operator prompt opens a dialog (Y / N / Enter, or a scan field), the accessories and
   packaging check a list of boxes (Space ticks, A: all present, Enter: finish);
3. PASS, FAIL, ERROR or ABORTED shows only when the run's end is in the test ledger, and stays
   until the next scan. Esc (or the button) aborts a running test.

``services.execute_run`` blocks on serial I/O, so it runs in its own thread; every event it
emits is handed to this page's event loop through ``call_soon_threadsafe`` into an asyncio
queue, and the page is touched only from the loop. A prompt or the checklist is answered
through a ``concurrent.futures.Future`` the worker waits on; aborting resolves it with None.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from nicegui import app, run, ui

from drivers.fixture import SerialFixture
from drivers.scan import ScanError, clean_scan
from rma import config
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.test_station import services
from rma.test_station.models import RunKind
from rma.test_station.pages_common import (
    OUTCOME_LOOK,
    kind_label,
    limits_text,
    restyle_verdict,
    value_text,
    verdict_badge,
)
from rma.test_station.plans import Step
from rma.ui import runtime
from rma.ui.widgets import SCAN_FIELD_JS
from rma.ui.frame import SessionUser, unit_url
from rma.ui.widgets import error_panel

log = logging.getLogger(__name__)

PORT_KEY = "test_station_port"  # in app.storage.user: the fixture port of a browser, when rma.toml has none
LEDGER_PATH = "/test/ledger"


# The page's keyboard. A letter shortcut in a dialog acts only on a lone key press: a scanner's
# burst of characters (a tag scanned by mistake) is dropped instead of answering yes or no.
TEST_HEAD = """
<style>
  .rma-check { width: 1.5rem; height: 1.5rem; accent-color: #15803d; }
  .rma-steps td, .rma-steps th { padding: 4px 8px; vertical-align: middle; }
  .rma-steps tr[data-verdict="running"], .rma-steps tr[data-verdict="waiting"] { background: #eff6ff; }
  .rma-steps tr[data-verdict="fail"] { background: #fef2f2; }
  .rma-steps tr[data-verdict="error"] { background: #fff7ed; }
</style>
<script>
window.rmaTest = (() => {
  const q = (s) => document.querySelector(s);
  const byTestid = (id) => q(`[data-testid="${id}"]`);
  const scanField = () => q('input[data-testid="test-scan"]');
  const isText = (t) => !!t && !t.readOnly && (t.isContentEditable || t.tagName === 'TEXTAREA' ||
    (t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit'].includes(t.type)));
  const click = (id) => {
    const b = byTestid(id);
    if (!b || b.disabled || b.classList.contains('disabled') || b.offsetParent === null) return false;
    b.click();
    return true;
  };
  let lastKey = 0, held = null;
  function lone(act) {  // run act() unless another key follows within a scanner's pace
    const now = Date.now(), burst = now - lastKey < 60;
    lastKey = now;
    if (held) { clearTimeout(held); held = null; }
    if (!burst) held = setTimeout(() => { held = null; act(); }, 80);
  }
  const burstEnded = () => Date.now() - lastKey < 120;
  function focusScan() {
    let tries = 0;
    const go = () => {  // once drawn, and once a closing dialog has gone
      const f = scanField();
      if (f && !q('.q-dialog')) f.focus(); else if (tries++ < 60) setTimeout(go, 25);
    };
    go();
  }
  function focusIn(testid) {
    let tries = 0;
    const go = () => {
      const el = q(`[data-testid="${testid}"]`);
      const target = el && (el.matches('input, button') ? el : el.querySelector('input, button'));
      if (target) target.focus(); else if (tries++ < 60) setTimeout(go, 25);
    };
    go();
  }
  function kind(index) {
    const buttons = q('[data-testid="test-kind"]');
    const b = buttons && buttons.querySelectorAll('button')[index];
    if (b) b.click();
  }
  window.addEventListener('keydown', (e) => {
    if (e.isComposing || e.ctrlKey || e.metaKey) return;
    const t = document.activeElement;
    const stop = () => { e.preventDefault(); e.stopPropagation(); };
    if (e.key === 'Escape') {
      if (click('prompt-abort') || click('checklist-abort') || click('run-abort')) stop();
      return;
    }
    const yesNo = q('[data-testid="prompt-dialog"][data-answer="yes_no"]');
    if (yesNo) {
      if (e.altKey) return;
      if (e.key === 'Enter') {
        if (t && t.tagName === 'BUTTON' && yesNo.contains(t) && !burstEnded()) return;  // the focused button
        stop();
        if (!burstEnded()) click('prompt-yes');
      } else if (e.key.length === 1 && e.key !== ' ') {
        stop();
        const k = e.key.toLowerCase();
        lone(() => { if (k === 'y') click('prompt-yes'); else if (k === 'n') click('prompt-no'); });
      }
      return;
    }
    const list = q('[data-testid="checklist-dialog"]');
    if (list) {
      if (e.altKey) return;
      if (e.key === 'Enter') {
        if (t && t.tagName === 'BUTTON' && list.contains(t) && !burstEnded()) return;
        stop();
        if (!burstEnded()) click('checklist-finish');
      } else if (e.key.length === 1 && e.key !== ' ') {
        stop();
        const k = e.key.toLowerCase();
        lone(() => { if (k === 'a') click('checklist-all'); });
      }
      return;
    }
    const promptScan = q('input[data-testid="prompt-scan"]');
    if (promptScan) {
      if (e.key.length === 1 && !isText(t)) promptScan.focus();
      return;
    }
    if (q('.q-dialog')) return;
    if (e.altKey) {
      if (e.code === 'KeyO') { stop(); kind(0); focusScan(); }
      else if (e.code === 'KeyI') { stop(); kind(1); focusScan(); }
      else if (e.code === 'KeyS') { stop(); focusScan(); }
      return;
    }
    if (e.key.length !== 1) return;
    if (e.key === ' ' && t && (t.tagName === 'BUTTON' || t.type === 'checkbox')) return;
    if (!isText(t)) { const f = scanField(); if (f) f.focus(); }  // a scan that starts anywhere lands here
  }, true);
  return {focusScan, focusIn};
})();
</script>
"""


# ---------------------------------------------------------------- the station's fixture

@dataclass(frozen=True)
class StationSetup:
    name: str
    port: str | None  # [test_station] port in rma.toml


def _station_setup() -> StationSetup:
    settings = config.station_settings()
    section = settings.raw.get("test_station", {})
    port = section.get("port") if isinstance(section, dict) else None
    return StationSetup(settings.name, str(port).strip() or None if port else None)


def _begin(actor_name: str, tag: str, port: str, incoming: bool) -> tuple[SerialFixture, services.RunStarted]:
    """The fixture's driver (a malformed port is refused before anything is written), then the run."""
    try:
        fixture = SerialFixture(port)
    except (ValueError, OSError) as exc:
        raise DomainError("bad_fixture_port", "the fixture port {port!r} is not usable: {reason}",
                          port=port, reason=str(exc)) from None
    return fixture, services.start_run(runtime.database(), actor_name, tag, port=port, incoming=incoming)


# ---------------------------------------------------------------- between the worker and the page

@dataclass
class PromptRequest:
    step: Step
    answer: concurrent.futures.Future


@dataclass
class ChecklistRequest:
    items: list[str]
    answer: concurrent.futures.Future


@dataclass
class WorkerDied:
    error: str


class LiveRun:
    """One run in progress: the worker thread's side (emit, ask, check) and the page's (answer, stop)."""

    def __init__(self, started: services.RunStarted, loop: asyncio.AbstractEventLoop) -> None:
        self.started = started
        self.loop = loop
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.abort = threading.Event()
        self._pending: set[concurrent.futures.Future] = set()
        self._lock = threading.Lock()

    # -- in the worker thread
    def emit(self, event: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:
            pass  # the server is stopping: nobody listens any more; the ledger still gets the run

    def ask(self, step: Step) -> str | None:
        return self._wait(PromptRequest(step, concurrent.futures.Future()))

    def check(self, items: list[str]) -> dict[str, bool] | None:
        return self._wait(ChecklistRequest(list(items), concurrent.futures.Future()))

    def _wait(self, request: PromptRequest | ChecklistRequest) -> Any:
        future = request.answer
        with self._lock:
            self._pending.add(future)
        try:
            if self.abort.is_set():
                return None
            self.emit(request)
            while True:
                try:
                    return future.result(timeout=0.2)
                except concurrent.futures.TimeoutError:
                    if self.abort.is_set():
                        return None
                except concurrent.futures.CancelledError:
                    return None
        finally:
            with self._lock:
                self._pending.discard(future)

    # -- on the event loop
    @staticmethod
    def answer(future: concurrent.futures.Future, value: Any) -> None:
        if not future.done():
            future.set_result(value)

    def stop(self) -> None:
        self.abort.set()
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            self.answer(future, None)


def _work(live: LiveRun, fixture: SerialFixture) -> None:
    """The worker thread: the whole run, blocking serial work included; every end reaches the page."""
    try:
        services.execute_run(runtime.database(), live.started, fixture, answer=live.ask, checklist=live.check,
                             on_event=live.emit, abort=live.abort)
    except BaseException as exc:  # noqa: BLE001 - the page must hear of any end, or it waits forever
        log.exception("test run %s stopped unexpectedly", live.started.run_id)
        live.emit(WorkerDied(f"{type(exc).__name__}: {exc}"))


# ---------------------------------------------------------------- the screen

@dataclass
class StepRow:
    element: ui.element
    value: ui.label
    verdict: ui.label
    message: ui.label
    attempts: ui.label
    name: str
    state: str = "pending"


@dataclass
class RunView:
    live: LiveRun
    rows: dict[int, StepRow]
    progress: ui.linear_progress
    progress_label: ui.label
    now: ui.label
    fixture: ui.label
    abort: ui.button
    outcome: ui.column
    dialogs: list[ui.dialog] = field(default_factory=list)
    done: int = 0


class StationScreen:
    """The /test page of one browser tab: the scan, the run in progress, the last outcome."""

    def __init__(self, user: SessionUser, setup: StationSetup) -> None:
        self.user = user
        self.setup = setup
        self.view: RunView | None = None
        self.busy = False  # from a scan until its run's outcome: a second scan meanwhile is refused
        self.gone = False
        self.client = ui.context.client
        self.client.on_delete(self._client_gone)

    # -------------------------------------------------------------- layout

    def build(self) -> None:
        ui.add_head_html(TEST_HEAD)
        with ui.row().classes("w-full items-baseline gap-x-6 no-wrap"):
            ui.label(_("Test station")).classes("text-2xl font-semibold whitespace-nowrap")
            self.port_label = ui.label().classes("text-slate-600 min-w-0 break-all").props("data-testid=fixture-port")
            ui.space()
            ui.link(_("Test ledger"), LEDGER_PATH).classes("text-base whitespace-nowrap").props(
                "data-testid=ledger-link")
        self._show_port()
        if not self.setup.port:
            self._port_form()
        with ui.card().classes("w-full gap-3").props("flat bordered"):
            with ui.row().classes("w-full items-center gap-4 no-wrap"):
                ui.icon("qr_code_scanner", size="lg").classes("text-slate-500")
                self.field = ui.element("input").classes(
                    "rma-scan grow rounded-md border-2 border-slate-400 bg-white text-slate-900 text-2xl px-4 py-3 "
                    "focus:border-blue-700"
                )
                self.field.props.update({
                    "type": "text", "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false",
                    "data-testid": "test-scan", "placeholder": _("Scan the tag"), "aria-label": _("Scan the tag"),
                })
                self.field.on("keydown", self._scanned, js_handler=SCAN_FIELD_JS)
                self.field.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")
                self.kind = ui.toggle({RunKind.OUTGOING.value: _("Outgoing test"),
                                       RunKind.INCOMING.value: _("Incoming test")}, value=RunKind.OUTGOING.value) \
                    .props("no-caps unelevated size=lg toggle-color=primary color=grey-3 text-color=grey-9 "
                           "data-testid=test-kind")
                self.kind.on_value_change(lambda: self._focus_scan())
            with ui.row().classes("gap-x-5 gap-y-1 text-sm text-slate-500"):
                _keys(("Enter", "Tab"), _("ends a scan"))
                _keys(("Alt+O", "Alt+I"), _("outgoing / incoming"))
                _keys(("Esc",), _("aborts a running test"))
        self.problem = ui.column().classes("w-full")
        self.run_area = ui.column().classes("w-full gap-3").props("data-testid=run-area")
        with self.run_area:
            with ui.card().classes("w-full items-center py-10 gap-2 bg-slate-50").props("flat bordered"):
                ui.icon("fact_check", size="3rem").classes("text-slate-400")
                ui.label(_("Scan the tag of a unit to test it.")).classes("text-xl text-slate-500")
        self.client.on_connect(self._focus_scan)

    def _show_port(self) -> None:
        port = self.port
        if port is None:
            self.port_label.set_text(_("Fixture port: none"))
        elif self.setup.port:
            self.port_label.set_text(_("Fixture {port} · station {station}").format(port=port, station=self.setup.name))
        else:
            self.port_label.set_text(_("Fixture {port} (this browser) · station {station}").format(
                port=port, station=self.setup.name))

    def _port_form(self) -> None:
        with ui.card().classes("w-full bg-amber-50 border border-amber-300 gap-2").props("flat data-testid=port-missing"):
            with ui.row().classes("items-center gap-2 no-wrap"):
                ui.icon("usb_off", size="md").classes("text-amber-700")
                ui.label(_("This station has no fixture port in rma.toml.")).classes(
                    "text-lg font-semibold text-amber-950")
            ui.label(_("Add [test_station] port = \"/dev/ttyUSB0\" to rma.toml, or give the port for this browser:"))\
                .classes("text-amber-950")
            with ui.row().classes("items-center gap-2"):
                port = ui.input(_("Fixture port"), value=app.storage.user.get(PORT_KEY, "")) \
                    .props("outlined dense data-testid=port-field").classes("w-96 font-mono")

                def save() -> None:
                    value = str(port.value or "").strip()
                    if value:
                        app.storage.user[PORT_KEY] = value
                    else:
                        app.storage.user.pop(PORT_KEY, None)
                    self._show_port()
                    self._focus_scan()

                port.on("keydown.enter", save)
                ui.button(_("Use this port"), icon="check", on_click=save).props("outline no-caps data-testid=port-save")

    @property
    def port(self) -> str | None:
        return self.setup.port or (str(app.storage.user.get(PORT_KEY) or "").strip() or None)

    def _problem(self, text: str | None, hint: str | None = None) -> None:
        self.problem.clear()
        if text:
            with self.problem:
                error_panel(text, hint, testid="test-error")

    def _focus_scan(self) -> None:
        if not self.gone:
            ui.run_javascript("window.rmaTest && window.rmaTest.focusScan()")

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
            tag = clean_scan(raw)
        except ScanError as exc:
            self._problem(error_message(exc))  # type: ignore[arg-type]
            self._focus_scan()
            return
        port = self.port
        if port is None:
            self._problem(_("No fixture port: give the port of the fixture first."))
            return
        self._problem(None)
        incoming = self.kind.value == RunKind.INCOMING.value
        self.run_area.clear()
        with self.run_area:
            with ui.row().classes("items-center gap-3 text-xl text-slate-600"):
                ui.spinner(size="lg")
                ui.label(_("Starting the test of {tag}…").format(tag=tag))
        try:
            actor = await self.user.act(lambda uow, actor: actor.username)  # the session is still good
            fixture, started = await run.io_bound(_begin, actor, tag, port, incoming)
        except DomainError as exc:
            self.run_area.clear()
            self._problem(error_message(exc), _("Check the tag and the test kind, then scan again."))
            self._focus_scan()
            return
        except Exception as exc:  # noqa: BLE001 - the tester must see why nothing started
            log.exception("the test of %s could not start", tag)
            self.run_area.clear()
            self._problem(_("The test could not start: {error}").format(error=f"{type(exc).__name__}: {exc}"))
            self._focus_scan()
            return
        live = LiveRun(started, asyncio.get_running_loop())
        self.view = self._show_run(live)
        threading.Thread(target=_work, args=(live, fixture), name=f"test-run-{started.run_id}", daemon=True).start()
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
                            if isinstance(event, services.RunResult):
                                self._finished(view, event)
                            else:
                                self._died(view, event)
                    return
                if self.gone:
                    continue
                with self.run_area:
                    if isinstance(event, services.StepOutcome):
                        self._step_done(view, event)
                    elif isinstance(event, PromptRequest):
                        self._ask(view, event)
                    elif isinstance(event, ChecklistRequest):
                        self._checklist(view, event)
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
        started = live.started
        plan = started.plan
        self.run_area.clear()
        with self.run_area:
            with ui.card().classes("w-full gap-3").props(f"flat bordered data-testid=run-card data-run={started.run_id}"):
                with ui.row().classes("w-full items-start gap-x-8 gap-y-2"):
                    ui.link(started.tag, unit_url(started.tag)).classes(
                        "text-3xl font-mono font-bold no-underline text-slate-900").props("data-testid=run-tag")
                    _fact(_("Serial"), started.serial, "run-serial", mono=True)
                    _fact(_("Model"), started.model, "run-model")
                    attempt = (_("re-test, attempt {n}").format(n=started.attempt) if started.attempt > 1
                               else _("first test"))
                    _fact(_("Test"), f"{kind_label(started.kind.value)} · {attempt}", "run-kind")
                    _fact(_("Plan"), f"{plan.name} · v{plan.version}", "run-plan")
                    with ui.column().classes("gap-0"):
                        ui.label(_("Fixture")).classes("text-xs uppercase text-slate-500")
                        fixture = ui.label(started.port).classes("text-base font-mono text-slate-600").props(
                            "data-testid=run-fixture")
                    ui.space()
                    abort = ui.button(_("Abort"), icon="stop", on_click=self._abort).props(
                        "outline size=lg color=negative no-caps data-testid=run-abort")
                with ui.row().classes("w-full items-center gap-4 no-wrap"):
                    progress = ui.linear_progress(value=0, show_value=False, size="14px").props(
                        "rounded color=primary track-color=grey-3 data-testid=run-progress-bar").classes("grow")
                    total = len(plan.steps) + 1
                    progress_label = ui.label(_("{done} of {total} steps").format(done=0, total=total)).classes(
                        "text-lg font-medium text-slate-700 whitespace-nowrap").props("data-testid=run-progress")
                now = ui.label(_("Now: {step}").format(step=_("Fixture identity"))).classes(
                    "text-lg text-blue-900").props("data-testid=run-now")
            outcome = ui.column().classes("w-full gap-2").props("data-testid=run-outcome-area")
            rows = self._steps_table(started)
        view = RunView(live, rows, progress, progress_label, now, fixture, abort, outcome)
        self._mark(view, 0, "running")
        return view

    def _steps_table(self, started: services.RunStarted) -> dict[int, StepRow]:
        rows: dict[int, StepRow] = {}
        headers = ["#", _("Step"), _("Command"), _("Limits"), _("Value"), _("Verdict"), _("Message"), _("Attempts")]
        lines: list[tuple[int, str, str, str | None, str]] = [
            (0, "fixture.identify", _("Fixture identity"), "*IDN?", "—")]
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
                            value = ui.label("").classes("font-mono text-base font-semibold").props(
                                "data-testid=step-value")
                        with ui.element("td"):
                            verdict = verdict_badge("pending", testid="step-verdict")
                        with ui.element("td"):
                            message = ui.label("").classes("text-sm").props("data-testid=step-message")
                        with ui.element("td"):
                            attempts = ui.label("").classes("text-slate-600").props("data-testid=step-attempts")
                    rows[seq] = StepRow(tr, value, verdict, message, attempts, name)
        return rows

    def _mark(self, view: RunView, seq: int, state: str) -> None:
        row = view.rows.get(seq)
        if row is None or row.state in ("pass", "fail", "error"):
            return
        row.state = state
        restyle_verdict(row.verdict, state)
        row.element.props(f"data-verdict={state}")
        if state == "running":
            view.now.set_text(_("Now: {step}").format(step=row.name))
        elif state == "waiting":
            view.now.set_text(_("Waiting for your answer: {step}").format(step=row.name))

    def _step_done(self, view: RunView, s: services.StepOutcome) -> None:
        row = view.rows.get(s.seq)
        if row is None:
            return
        verdict = s.verdict.value
        row.state = verdict
        row.value.set_text(value_text(s.value, s.limits, s.numeric))
        restyle_verdict(row.verdict, verdict)
        row.element.props(f"data-verdict={verdict}")
        row.message.set_text(s.message or "")
        row.message.classes(replace="text-sm " + ("text-red-800" if verdict == "fail" else
                                                  "text-orange-800" if verdict == "error" else "text-slate-600"))
        row.attempts.set_text(str(s.attempts))
        if s.seq == 0:
            view.fixture.set_text(s.value or _("no answer"))
            view.fixture.classes(replace="text-base font-mono text-slate-900")
        view.done = s.seq + 1
        total = len(view.rows)
        view.progress.set_value(view.done / total)
        view.progress_label.set_text(_("{done} of {total} steps").format(done=view.done, total=total))
        goes_on = verdict == "pass" or (verdict == "fail" and not view.live.started.plan.stop_on_fail)
        if goes_on and s.seq + 1 in view.rows and not view.live.abort.is_set():
            self._mark(view, s.seq + 1, "running")
        elif goes_on and view.live.started.kind is RunKind.OUTGOING:
            view.now.set_text(_("Now: {step}").format(step=_("Accessories and packaging check")))
        else:
            view.now.set_text("")

    def _abort(self) -> None:
        view = self.view
        if view is None or view.live.abort.is_set():
            return
        view.live.stop()
        for dialog in view.dialogs:
            dialog.close()
        view.abort.props("loading")
        view.now.set_text(_("Stopping: the step in progress finishes first."))

    # -------------------------------------------------------------- the tester's answers

    def _ask(self, view: RunView, request: PromptRequest) -> None:
        step = request.step
        seq = next((n for n, s in enumerate(view.live.started.plan.steps, 1) if s.id == step.id), None)
        if seq is not None:
            self._mark(view, seq, "waiting")
        with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[40rem] max-w-full gap-4 p-6").props(
            f"data-testid=prompt-dialog data-answer={step.answer or 'yes_no'} data-step={step.id}"
        ):
            ui.label(step.name).classes("text-sm uppercase tracking-wide text-slate-500")
            ui.label(step.prompt or "").classes("text-2xl font-semibold text-slate-900 leading-snug").props(
                "data-testid=prompt-text")

            def reply(value: str | None) -> None:
                if request.answer.done():
                    return
                view.live.answer(request.answer, value)
                dialog.close()
                if seq is not None and not view.live.abort.is_set():
                    self._mark(view, seq, "running")

            if step.answer == "scan":
                scan = ui.element("input").classes(
                    "rma-scan w-full rounded-md border-2 border-slate-400 bg-white text-2xl px-4 py-3 "
                    "focus:border-blue-700")
                scan.props.update({"type": "text", "autocomplete": "off", "autocapitalize": "off",
                                   "spellcheck": "false", "data-testid": "prompt-scan", "data-autofocus": "",
                                   "placeholder": _("Scan the barcode"), "aria-label": _("Scan the barcode")})
                problem = ui.label("").classes("text-red-800 font-medium").props("data-testid=prompt-problem")

                def scanned(e: Any) -> None:
                    try:
                        reply(clean_scan(str(e.args or "")))
                    except ScanError as exc:
                        problem.set_text(error_message(exc))  # type: ignore[arg-type]
                        ui.run_javascript("window.rmaTest.focusIn('prompt-scan')")

                scan.on("keydown", scanned, js_handler=SCAN_FIELD_JS)
                with ui.row().classes("w-full items-center text-sm text-slate-500"):
                    _keys(("Enter", "Tab"), _("ends a scan"))
                    ui.space()
                    ui.button(_("Abort the test"), icon="stop", on_click=self._abort).props(
                        "flat no-caps color=grey-8 data-testid=prompt-abort")
            else:
                with ui.row().classes("w-full gap-4 no-wrap"):
                    ui.button(_("Yes"), icon="check", on_click=lambda: reply("yes")).props(
                        "unelevated size=xl color=positive no-caps data-autofocus data-testid=prompt-yes"
                    ).classes("grow")
                    ui.button(_("No"), icon="close", on_click=lambda: reply("no")).props(
                        "unelevated size=xl color=negative no-caps data-testid=prompt-no").classes("grow")
                with ui.row().classes("w-full items-center gap-4 text-sm text-slate-500"):
                    _keys(("Y", "Enter"), _("yes"))
                    _keys(("N",), _("no"))
                    ui.space()
                    ui.button(_("Abort the test"), icon="stop", on_click=self._abort).props(
                        "flat no-caps color=grey-8 data-testid=prompt-abort")
        view.dialogs.append(dialog)
        dialog.open()
        ui.run_javascript(f"window.rmaTest.focusIn('{'prompt-scan' if step.answer == 'scan' else 'prompt-yes'}')")

    def _checklist(self, view: RunView, request: ChecklistRequest) -> None:
        items = request.items
        view.now.set_text(_("Now: {step}").format(step=_("Accessories and packaging check")))
        armed: dict[str, Any] = {"missing": None}
        with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[40rem] max-w-full gap-4 p-6").props(
            "data-testid=checklist-dialog"
        ):
            ui.label(_("Accessories and packaging check")).classes("text-2xl font-semibold text-slate-900")
            ui.label(_("Tick what is in the box.")).classes("text-slate-600")
            with ui.column().classes("w-full gap-1").props("data-checklist") as boxes:
                for n, item in enumerate(items):
                    with ui.element("label").classes(
                        "w-full flex items-center gap-3 text-xl py-1 px-2 rounded cursor-pointer hover:bg-slate-50"
                    ):
                        box = ui.element("input").classes("rma-check")
                        box.props.update({"type": "checkbox", "value": item, "data-testid": "checklist-item",
                                          **({"data-autofocus": ""} if n == 0 else {})})
                        ui.label(item)
            warning = ui.label("").classes("text-red-800 font-semibold").props("data-testid=checklist-warning")
            ticked_js = (f"() => emit([...getHtmlElement({boxes.id}).querySelectorAll('input[type=checkbox]')]"
                         ".filter((c) => c.checked).map((c) => c.value))")

            def finish(e: Any) -> None:
                if request.answer.done():
                    return
                ticked = set(e.args if isinstance(e.args, list) else [])
                missing = [item for item in items if item not in ticked]
                if missing and armed["missing"] != missing:  # a missing item fails the unit: say so first
                    armed["missing"] = missing
                    warning.set_text(_("Missing: {items}. Finish again to record them: the unit fails.").format(
                        items=", ".join(missing)))
                    return
                view.live.answer(request.answer, {item: item in ticked for item in items})
                dialog.close()

            with ui.row().classes("w-full items-center gap-3"):
                ui.button(_("All present"), icon="done_all").props(
                    "outline size=lg no-caps color=positive data-testid=checklist-all"
                ).on("click", js_handler=f"""() => {{
                    getHtmlElement({boxes.id}).querySelectorAll('input[type=checkbox]').forEach((c) => c.checked = true);
                    const f = document.querySelector('[data-testid="checklist-finish"]');
                    if (f) f.focus();
                }}""")
                ui.button(_("Finish"), icon="task_alt").props(
                    "unelevated size=lg no-caps color=primary data-testid=checklist-finish"
                ).on("click", finish, js_handler=ticked_js)
                ui.space()
                ui.button(_("Abort the test"), icon="stop", on_click=self._abort).props(
                    "flat no-caps color=grey-8 data-testid=checklist-abort")
            with ui.row().classes("gap-4 text-sm text-slate-500"):
                _keys((_("Space"),), _("ticks the item in focus"))
                _keys(("A",), _("all present"))
                _keys(("Enter",), _("finish"))
        view.dialogs.append(dialog)
        dialog.open()
        ui.run_javascript("window.rmaTest.focusIn('checklist-item')")

    # -------------------------------------------------------------- the outcome

    def _finished(self, view: RunView, result: services.RunResult) -> None:
        started = view.live.started
        view.abort.set_visibility(False)
        view.now.set_text("")
        for seq, row in view.rows.items():
            if row.state not in ("pass", "fail", "error"):
                restyle_verdict(row.verdict, "skipped")
                row.element.props("data-verdict=skipped")
        outcome = result.outcome.value
        steps = {s.step_id: s for s in result.steps}
        lines: list[str] = []
        if outcome == "pass":
            summary = (_("Every step passed and the accessories and packaging are complete: the unit has passed.")
                       if started.kind is RunKind.OUTGOING else _("Every step passed: no fault found."))
        elif outcome == "fail":
            summary = _("The unit failed the test.")
            for step_id in result.failed_steps:
                s = steps.get(step_id)
                lines.append(f"{s.name}: {s.message}" if s is not None and s.message else step_id)
            missing = [item for item, ok in result.checklist.items() if not ok]
            if missing:
                lines.append(_("Missing accessories or packaging: {items}").format(items=", ".join(missing)))
            if started.kind is RunKind.OUTGOING:
                lines.append(_("It goes back to the bench."))
        elif outcome == "error":
            broken = next((s for s in reversed(result.steps) if s.verdict.value == "error"), None)
            summary = (_("The unit was not judged: {step} could not be done.").format(step=broken.name) if broken
                       else _("The unit was not judged."))
            if broken is not None and (broken.message or "").startswith("fixture port lost"):
                lines.append(_("The fixture's port was lost: check its cable and power, then scan the tag again."))
            elif started.kind is RunKind.OUTGOING and result.durable:
                lines.append(_("The unit stays awaiting test: scan it again to re-test."))
        else:
            summary = _("Stopped by the tester.")
            if started.kind is RunKind.OUTGOING:
                lines.append(_("The unit stays awaiting test."))
        word, colours, icon = OUTCOME_LOOK[outcome]
        with view.outcome:
            if not result.durable:
                with ui.card().classes("w-full bg-red-700 text-white p-4").props("flat data-testid=not-durable"):
                    with ui.row().classes("items-center gap-3 no-wrap"):
                        ui.icon("report", size="lg")
                        ui.label(_("NOT saved in the test ledger: {reason}").format(reason=result.reason or "")) \
                            .classes("text-xl font-bold")
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
                        if result.reason and outcome == "error":  # the precise reason, as the ledger has it
                            ui.label(result.reason).classes("text-base opacity-90 font-mono break-all").props(
                                "data-testid=outcome-reason")
                        ui.link(_("Run {run} in the test ledger").format(run=result.run_id),
                                f"/test/run/{result.run_id}").classes("text-base text-inherit underline opacity-90") \
                            .props("data-testid=outcome-run-link")

    def _died(self, view: RunView, event: WorkerDied) -> None:
        view.abort.set_visibility(False)
        view.now.set_text("")
        with view.outcome:
            with ui.card().classes("w-full bg-red-700 text-white p-4").props("flat data-testid=not-durable"):
                ui.label(_("NOT saved in the test ledger: {reason}").format(
                    reason=_("the test stopped unexpectedly ({error}); the run stays incomplete").format(
                        error=event.error))).classes("text-xl font-bold")
            with ui.card().classes(f"w-full {OUTCOME_LOOK['error'][1]} p-6").props(
                "flat data-testid=run-outcome data-outcome=error"
            ):
                ui.label(_("ERROR")).classes("text-6xl font-black tracking-wider").props("data-testid=outcome-word")


def _fact(label: str, value: str | None, testid: str, *, mono: bool = False) -> None:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("text-xs uppercase text-slate-500")
        ui.label(value or "—").classes("text-lg font-medium text-slate-900" + (" font-mono" if mono else "")).props(
            f"data-testid={testid}")


def _keys(keys: tuple[str, ...], what: str) -> None:
    """A keyboard hint: the keys as key caps, then what they do."""
    with ui.row().classes("items-center gap-1 no-wrap"):
        for n, key in enumerate(keys):
            if n:
                ui.label("/")
            ui.label(key).classes("font-mono text-xs text-slate-900 bg-slate-50 border border-slate-400 border-b-2 "
                                  "rounded px-1")
        ui.label(what)


async def test_station(user: SessionUser) -> None:
    setup = await run.io_bound(_station_setup)
    StationScreen(user, setup).build()

