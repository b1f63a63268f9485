"""Reflash at the bench (``/programming``): scan a unit in programming, watch it programmed, read the result.

The technician works from the scanner and the keyboard: the tag or the serial (Enter or Tab
ends a scan) starts the attempt on the chosen socket; the bar shows bytes, bytes per second
and time left while the attempt runs in a worker thread; Esc (or Stop) stops it after the
block in progress. The result shows once it is in the programming ledger, and stays until
the next scan.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import run, ui

from drivers.scan import ScanError, clean_scan
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.programming import services
from rma.programming.live_reflash import LiveReflash, WorkerDied, begin, work
from rma.programming.widgets.port_picker import ProgrammerPort
from rma.programming.widgets.reflash_view import ReflashView
from rma.ui.frame import SessionUser
from rma.ui.widgets import SCAN_FIELD_JS, error_panel, table

log = logging.getLogger(__name__)

ESC_JS = """(() => { document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') { const b = document.querySelector('[data-testid="reflash-stop"]'); if (b) b.click(); }
}); })()"""


class BenchReflash:
    """The reflash part of /programming in one browser tab."""

    def __init__(self, user: SessionUser, station: str, configured: str | None,
                 on_done: Callable[[], Awaitable[None]]) -> None:
        self.user = user
        self.on_done = on_done  # the queue and the ledger below are drawn again after each attempt
        self.port = ProgrammerPort(station, configured, on_change=self._focus)
        self.live: LiveReflash | None = None
        self.view: ReflashView | None = None
        self.gone = False
        self.client = ui.context.client
        self.client.on_delete(self._client_gone)

    def build(self) -> None:
        with ui.card().classes("w-full gap-3").props("flat bordered data-testid=reflash-panel"):
            with ui.row().classes("w-full items-baseline gap-4"):
                ui.label(_("Reflash a unit")).classes("text-xl font-semibold")
                self.port.build()
            with ui.row().classes("w-full items-center gap-4 no-wrap"):
                ui.icon("qr_code_scanner", size="lg").classes("text-slate-500")
                self.field = ui.element("input").classes(
                    "grow rounded-md border-2 border-slate-400 bg-white text-slate-900 text-2xl px-4 py-3 "
                    "focus:border-blue-700")
                self.field.props.update({
                    "type": "text", "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false",
                    "data-testid": "reflash-scan", "placeholder": _("Scan the tag or serial of a unit in programming"),
                    "aria-label": _("Scan the tag or serial of a unit in programming")})
                self.field.on("keydown", self._scanned, js_handler=SCAN_FIELD_JS)
                self.field.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")
                self.socket = ui.select({n: _("Socket {n}").format(n=n) for n in (1, 2, 3, 4)}, value=1) \
                    .props("outlined dense data-testid=reflash-socket").classes("w-36")
            ui.label(_("Enter or Tab ends a scan and starts programming; Esc stops it.")).classes(
                "text-sm text-slate-500")
        self.problem = ui.column().classes("w-full")
        self.run_area = ui.column().classes("w-full gap-3").props("data-testid=reflash-area")
        ui.run_javascript(ESC_JS)

    def _focus(self) -> None:
        if not self.gone:
            self.field.run_method("focus")

    def _client_gone(self) -> None:
        self.gone = True
        if self.live is not None:
            self.live.abort.set()  # nobody is left to watch: the attempt stops and ends in the ledger

    def _problem(self, text: str | None, hint: str | None = None) -> None:
        self.problem.clear()
        if text:
            with self.problem:
                error_panel(text, hint, testid="reflash-error")

    async def _scanned(self, e: Any) -> None:
        if self.live is not None:
            self._problem(_("A unit is being programmed: let it finish, or stop it with Esc, before the next scan."))
            return
        try:
            key = clean_scan(str(e.args or ""))
        except ScanError as exc:
            self._problem(error_message(exc))  # type: ignore[arg-type]
            return
        port = self.port.port
        if port is None:
            self._problem(_("No programmer port: give the port of the programmer first."))
            return
        self._problem(None)
        self.run_area.clear()
        with self.run_area, ui.row().classes("items-center gap-3 text-xl text-slate-600"):
            ui.spinner(size="lg")
            ui.label(_("Starting the programming of {tag}…").format(tag=key))
        try:
            actor = await self.user.act(lambda uow, actor: actor.username)  # the session is still good
            programmer, plan = await run.io_bound(begin, actor, key, port, int(self.socket.value or 1))
        except DomainError as exc:
            self.run_area.clear()
            self._problem(error_message(exc), _("Check the tag, then scan again."))
            return
        except Exception as exc:  # noqa: BLE001 - the technician must see why nothing started
            log.exception("the reflash of %s could not start", key)
            self.run_area.clear()
            self._problem(_("The programming could not start: {error}").format(error=f"{type(exc).__name__}: {exc}"))
            return
        self.live = LiveReflash(plan, asyncio.get_running_loop())
        self.run_area.clear()
        with self.run_area:
            self.view = ReflashView(plan, self._stop)
        threading.Thread(target=work, args=(self.live, programmer), name=f"reflash-{plan.tag}", daemon=True).start()
        await self._follow(self.live, self.view)

    async def _follow(self, live: LiveReflash, view: ReflashView) -> None:
        try:
            while True:
                event = await live.events.get()
                if self.gone:
                    if isinstance(event, (services.ReflashResult, WorkerDied)):
                        return
                    continue
                if isinstance(event, services.ReflashStarted):
                    view.started(event)
                elif isinstance(event, services.ReflashProgress):
                    view.progress(event)
                elif isinstance(event, services.ReflashResult):
                    view.finished(event)
                    # the result shown is the end: the next scan is taken from this moment on, while
                    # the queue is read again (on a busy server that takes a while)
                    self.live = None
                    self._focus()
                    await self.on_done()
                    return
                elif isinstance(event, WorkerDied):
                    view.died(event.error)
                    return
        finally:
            if self.live is live:
                self.live = None
                self._focus()

    def _stop(self) -> None:
        if self.live is not None and not self.live.abort.is_set():
            self.live.abort.set()
            if self.view is not None:
                self.view.stopping()


def queue_table(rows: list[dict[str, Any]]) -> None:
    """Units waiting in programming, and the firmware each would get."""
    from rma.ui.home import tag_link

    table([_("Tag"), _("Serial"), _("Model"), _("Firmware now"), _("Will get")],
          [[tag_link(r["tag"]), r["serial"], r["model"], r["firmware"],
            r["image_version"] or error_message(r["problem"])] for r in rows],
          empty=_("No unit is waiting in programming."), testid="programming-queue")
