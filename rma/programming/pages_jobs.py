"""IC batch jobs on ``/programming``: the jobs and a new one; and a job's screen, ``/programming/job/KEY``.

The materials clerk works from the keyboard and the scanner: the bin is scanned and the quantity
typed to issue blanks (Enter issues); Enter runs the job, and between rounds, once the ICs are
swapped (good to the tray, failed to scrap, blanks in), Enter goes on; Esc stops after the IC in
progress. The sockets light up as they work, the counts and the yield per socket come from the
ledgers after every IC; a tray label of the good ICs is one click.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from nicegui import run, ui

from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.programming import job_runner, jobs
from rma.programming.live_job import LiveJob, WaitingForRound, WorkerDied, work
from rma.programming.widgets.job_sockets import SocketTiles, counts_row, update_counts
from rma.programming.widgets.port_picker import ProgrammerPort, toml_port
from rma.ui import runtime
from rma.ui.frame import SessionUser
from rma.ui.widgets import error_panel, section_title, table, when

KEYS_JS = """(() => { document.addEventListener('keydown', (e) => {
  const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes((e.target.tagName || '').toUpperCase());
  const click = (id) => { const b = document.querySelector(`[data-testid="${id}"]`);
                          if (b && !b.disabled && b.offsetParent !== null) { b.click(); return true; } return false; };
  if (e.key === 'Escape') { click('job-stop'); }
  else if (e.key === 'Enter' && !typing) { if (click('job-go')) e.preventDefault(); }
}); })()"""
REDRAW_S = 0.1


async def jobs_section(user: SessionUser) -> None:
    """The jobs, newest first, and a form to open one (materials, lead)."""
    section_title(_("IC batch jobs"))
    if user.roles & set(jobs.OPENERS):
        with ui.row().classes("items-end gap-2").props("data-testid=job-new"):
            image = ui.input(_("Image (number or SHA-256)")).props("outlined dense data-testid=job-new-image")
            part = ui.input(_("Blank IC part")).props("outlined dense data-testid=job-new-part")
            qty = ui.input(_("Quantity")).props("outlined dense data-testid=job-new-quantity").classes("w-28")
            bin_ = ui.input(_("Bin for the programmed ICs")).props("outlined dense data-testid=job-new-bin")
            problem = ui.column()

            async def open_job() -> None:
                problem.clear()
                try:
                    r = await user.act(lambda uow, actor: jobs.new_job(
                        uow, actor, image=image.value, part_number=part.value, quantity=qty.value,
                        bin_code=bin_.value or None))
                except DomainError as exc:
                    with problem:
                        error_panel(error_message(exc), testid="job-new-error")
                    return
                ui.navigate.to(f"/programming/job/{r['job']}")

            for field in (image, part, qty, bin_):
                field.on("keydown.enter", open_job)
            ui.button(_("Open job"), icon="add", on_click=open_job).props("no-caps data-testid=job-new-open")
    rows = await runtime.read(lambda uow: jobs.list_jobs(uow, limit=50))
    table([_("Job"), _("State"), _("Programmed part"), _("Firmware"), _("Wanted"), _("Issued"), _("Good"),
           _("Failed"), _("Left")],
          [[(lambda k=r["job"]: ui.link(k, f"/programming/job/{k}").classes("font-mono")), _(r["state"]),
            r["programmed_part"], f"{r['firmware_version']} ({r['sha8']})", r["quantity"], r["issued"], r["good"],
            r["failed"], r["left"]] for r in rows], empty=_("No IC batch jobs yet."), testid="jobs")


class JobScreen:
    def __init__(self, user: SessionUser, job: dict[str, Any], station: str, configured: str | None) -> None:
        self.user, self.key = user, job["job"]
        self.port = ProgrammerPort(station, configured, on_change=lambda: None)
        self.live: LiveJob | None = None
        self.drawn = 0.0
        self.gone = False
        ui.context.client.on_delete(self._gone)
        with ui.card().classes("w-full gap-2").props("flat bordered data-testid=job-card"):
            with ui.row().classes("w-full items-baseline gap-x-6"):
                ui.label(job["job"]).classes("text-3xl font-mono font-bold").props("data-testid=job-number")
                ui.label(f"{job['programmed_part']} · {_('firmware')} {job['firmware_version']} ({job['sha8']})") \
                    .classes("text-xl").props("data-testid=job-what")
                ui.label(_("into bin {bin}").format(bin=job["bin"])).classes("text-lg text-slate-600")
            self.counts = counts_row(job)
        self._issue_form(job)
        with ui.card().classes("w-full gap-3").props("flat bordered"):
            self.port.build()
            with ui.row().classes("w-full items-center gap-4"):
                self.go = ui.button(on_click=self._go).props("size=lg no-caps color=primary data-testid=job-go")
                self.stop = ui.button(_("Stop (Esc)"), icon="stop", on_click=self._stop).props(
                    "outline size=lg no-caps color=negative data-testid=job-stop")
                self.status = ui.label().classes("text-xl font-medium").props("data-testid=job-status")
            with ui.row().classes("w-full items-center gap-4 no-wrap"):
                self.phase = ui.label().classes("w-48 text-lg").props("data-testid=job-phase")
                self.bar = ui.linear_progress(value=0, show_value=False, size="14px").props(
                    "rounded track-color=grey-3 data-testid=job-bar").classes("grow")
                self.rate = ui.label().classes("text-lg font-mono whitespace-nowrap").props("data-testid=job-rate")
            self.problem = ui.column().classes("w-full")
        self.sockets = SocketTiles(job, self._switch)
        self._label_form()
        self.attempts = ui.column().classes("w-full")
        self._idle(job)
        self._attempts(job)
        ui.run_javascript(KEYS_JS)

    # ---- parts of the screen

    def _issue_form(self, job: dict[str, Any]) -> None:
        with ui.row().classes("items-end gap-2").props("data-testid=job-issue"):
            bin_ = ui.input(_("Scan the bin of the blank ICs")).props("outlined dense data-testid=job-issue-bin")
            qty = ui.input(_("Quantity")).props("outlined dense data-testid=job-issue-quantity").classes("w-28")

            async def issue() -> None:
                try:
                    r = await self.user.act(lambda uow, actor: jobs.issue(uow, actor, self.key, bin_code=bin_.value,
                                                                          quantity=qty.value))
                except DomainError as exc:
                    self._problem(error_message(exc))
                    return
                self._problem(None)
                ui.notify(_("{qty} × {part} issued from {bin} to {job}").format(
                    qty=r["quantity"], part=r["part_number"], bin=r["bin"], job=self.key), type="positive")
                bin_.set_value("")
                qty.set_value("")
                await self.refresh()

            bin_.on("keydown.enter", lambda: qty.run_method("focus"))
            qty.on("keydown.enter", issue)
            ui.button(_("Issue blank ICs"), icon="output", on_click=issue).props(
                "outline no-caps data-testid=job-issue-go")

    def _label_form(self) -> None:
        with ui.row().classes("items-end gap-2").props("data-testid=job-label"):
            count = ui.input(_("ICs in the tray or bag")).props("outlined dense data-testid=job-label-count") \
                .classes("w-48")

            async def label() -> None:
                try:
                    data = await runtime.read(lambda uow: jobs.job_label(uow, self.key, count=count.value or None))
                except DomainError as exc:
                    self._problem(error_message(exc))
                    return
                ui.download.content(data, f"{self.key}-tray.png", "image/png")

            ui.button(_("Tray label"), icon="label", on_click=label).props("outline no-caps data-testid=job-label-go")

    def _attempts(self, job: dict[str, Any]) -> None:
        self.attempts.clear()
        with self.attempts:
            section_title(_("Attempts of this job"))
            table([_("Attempt"), _("When"), _("Socket"), _("Result"), _("First bad address"), _("Seconds")],
                  [[a["attempt_id"], when(a["started_at"]), a["socket"], _(a["result"]),
                    a["first_bad_address"] or "", a["seconds"] if a["seconds"] is not None else ""]
                   for a in job["attempts"][:50]], empty=_("No IC programmed yet."), testid="job-attempts")

    def _problem(self, text: str | None) -> None:
        self.problem.clear()
        if text:
            with self.problem:
                error_panel(text, testid="job-error")

    def _idle(self, job: dict[str, Any]) -> None:
        resume = job["in_progress"] > 0
        self.go.set_text(_("Resume the job (Enter)") if resume else _("Run the job (Enter)"))
        self.go.props(f"icon={'restart_alt' if resume else 'play_arrow'}")
        self.go.set_visibility(job["state"] != "complete")
        self.stop.set_visibility(False)
        self.stop.props(remove="loading")
        self.status.set_text(_("The job is complete.") if job["state"] == "complete" else
                             _("An IC was left in progress: resume checks it by its hash first.") if resume else "")

    async def refresh(self) -> dict[str, Any]:
        job = await runtime.read(lambda uow: jobs.show_job(uow, self.key))
        update_counts(self.counts, job)
        self.sockets.update(job)
        self._attempts(job)
        return job

    # ---- running

    def _gone(self) -> None:
        self.gone = True
        if self.live is not None:
            self.live.stop()  # nobody is left to watch: the IC in progress ends in the ledger, then it stops

    def _stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.stop.props("loading")
            self.status.set_text(_("Stopping after the IC in progress"))

    async def _switch(self, socket: int, on: bool) -> None:
        try:
            await self.user.act(lambda uow, actor: jobs.switch_socket(uow, actor, self.key, socket, on=on,
                                                                      reason=_("switched at the job screen")))
        except DomainError as exc:
            self._problem(error_message(exc))
            return
        await self.refresh()

    async def _go(self) -> None:
        if self.live is not None:  # between rounds: the ICs are swapped, go on
            self.live.go()
            self.go.set_visibility(False)
            self.status.set_text(_("Programming…"))
            return
        port = self.port.port
        if port is None:
            self._problem(_("No programmer port: give the port of the programmer first."))
            return
        self._problem(None)
        job = await runtime.read(lambda uow: jobs.show_job(uow, self.key))
        actor = await self.user.act(lambda uow, actor: actor.username)
        self.live = live = LiveJob(asyncio.get_running_loop())
        self.go.set_visibility(False)
        self.stop.set_visibility(True)
        self.status.set_text(_("Programming…"))
        threading.Thread(target=work, args=(live, actor, self.key, port, job["in_progress"] > 0),
                         name=f"job-{self.key}", daemon=True).start()
        await self._follow(live)

    async def _follow(self, live: LiveJob) -> None:
        try:
            while True:
                event = await live.events.get()
                if self.gone:
                    if isinstance(event, (job_runner.JobRun, WorkerDied)):
                        return
                    continue
                if isinstance(event, job_runner.JobProgress):
                    self._progress(event)
                elif isinstance(event, job_runner.SocketEvent):
                    await self._socket(event)
                elif isinstance(event, WaitingForRound):
                    self.status.set_text(_("Round {n} done: take the ICs out (good to the tray, failed to scrap), "
                                           "put blank ICs in, then press Enter.").format(n=event.round))
                    self.go.set_text(_("Next round (Enter)"))
                    self.go.set_visibility(True)
                elif isinstance(event, job_runner.JobRun):
                    self._ended(event)
                    return
                elif isinstance(event, WorkerDied):
                    self._problem(error_message(event.refused) if event.refused else event.error)
                    self._idle(await self.refresh())
                    return
        finally:
            self.live = None

    def _progress(self, p: job_runner.JobProgress) -> None:
        now = time.monotonic()
        if now - self.drawn < REDRAW_S and p.done < p.total:
            return
        self.drawn = now
        self.phase.set_text((_("Writing") if p.phase == "write" else _("Verifying")) + " · "
                            + _("Socket {n}").format(n=p.socket))
        self.bar.set_value(p.done / p.total if p.total else 0)
        if p.bytes_per_second:
            left = _("{s} s left").format(s=f"{p.seconds_left:.0f}") if p.seconds_left is not None else ""
            self.rate.set_text(_("{rate} kB/s").format(rate=f"{p.bytes_per_second / 1000:,.1f}") + "  " + left)

    async def _socket(self, e: job_runner.SocketEvent) -> None:
        detail = None
        if e.state in ("failed", "error", "off", "empty", "aborted") and e.reason:
            detail = e.reason
        self.sockets.set_state(e.socket, e.state, detail)
        if e.state != "busy":
            await self.refresh()

    def _ended(self, r: job_runner.JobRun) -> None:
        job = r.counts
        update_counts(self.counts, job)
        self.sockets.update(job)
        self._attempts(job)
        self._idle(job)
        self.phase.set_text("")
        words = {"complete": _("The job is complete."),
                 "nothing_left": _("No blank IC left to program: issue more."),
                 "stopped": _("Stopped."),
                 "all_sockets_off": _("Every socket is off."),
                 "no_ic": _("No IC answered in any socket: put blank ICs in."),
                 "programmer_error": _("The programmer stopped answering: {reason}").format(reason=r.message),
                 "resume_failed": r.message, "database_error": r.message}
        self.status.set_text(words.get(r.stopped, r.message))
        self.status.props(f"data-stopped={r.stopped}")


async def job_page(user: SessionUser, key: str) -> None:
    try:
        job = await runtime.read(lambda uow: jobs.show_job(uow, key))
    except DomainError as exc:
        error_panel(error_message(exc), _("Check the job number."))
        return
    station, configured = await run.io_bound(toml_port)
    JobScreen(user, job, station, configured)
