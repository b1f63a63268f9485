"""A reflash on screen: which unit and image, a live progress bar (bytes per second, time left),
the Stop button, and the result in big words once it is in the programming ledger."""

from __future__ import annotations

import time
from collections.abc import Callable

from nicegui import ui

from rma.i18n import _
from rma.programming import services
from rma.programming.sentences import problem, where_it_stopped
from rma.sentences import words
from rma.ui.frame import unit_url

RESULT_LOOK = {  # result -> (word, colours, icon)
    "ok": ("PROGRAMMED", "bg-green-700 text-white", "check_circle"),
    "failed": ("FAILED", "bg-red-700 text-white", "cancel"),
    "error": ("NOT FINISHED", "bg-amber-500 text-slate-950", "warning"),
    "aborted": ("STOPPED", "bg-slate-600 text-white", "stop_circle"),
}
REDRAW_S = 0.1  # the bar moves at most this often (an unpaced programmer sends thousands of blocks a second)


def fact(label: str, value: str | None, testid: str, *, mono: bool = False) -> ui.label:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("text-xs uppercase text-slate-500")
        return ui.label(value or "—").classes("text-lg font-medium text-slate-900" + (" font-mono" if mono else "")) \
            .props(f"data-testid={testid}")


def kilobytes(n: float) -> str:
    return f"{n / 1024:,.0f} KiB"


class ReflashView:
    def __init__(self, plan: services.ReflashPlan, on_stop: Callable[[], None]) -> None:
        self.plan = plan
        self.drawn = 0.0
        with ui.card().classes("w-full gap-3").props("flat bordered data-testid=reflash-card"):
            with ui.row().classes("w-full items-start gap-x-8 gap-y-2"):
                ui.link(plan.tag, unit_url(plan.tag)).classes(
                    "text-3xl font-mono font-bold no-underline text-slate-900").props("data-testid=reflash-tag")
                fact(_("Serial"), plan.serial, "reflash-serial", mono=True)
                fact(_("Model"), plan.model, "reflash-model")
                self.versions = fact(_("Firmware"), f"{plan.from_version or '?'} → {plan.image.version}",
                                     "reflash-versions")
                fact(_("Image"), f"{plan.image.sha256[:12]} · {kilobytes(plan.image.size)}", "reflash-image",
                     mono=True)
                self.chip = fact(_("Chip"), _("socket {socket}").format(socket=plan.socket), "reflash-chip")
                ui.space()
                self.stop = ui.button(_("Stop"), icon="stop", on_click=on_stop).props(
                    "outline size=lg color=negative no-caps data-testid=reflash-stop")
            with ui.row().classes("w-full items-center gap-4 no-wrap"):
                self.phase = ui.label(_("Reading the chip")).classes("text-lg font-semibold w-40").props(
                    "data-testid=reflash-phase")
                self.bar = ui.linear_progress(value=0, show_value=False, size="18px").props(
                    "rounded color=primary track-color=grey-3 data-testid=reflash-bar").classes("grow")
                self.done = ui.label("").classes("text-lg font-mono whitespace-nowrap").props(
                    "data-testid=reflash-done")
            with ui.row().classes("gap-8 text-lg"):
                self.rate = ui.label("").props("data-testid=reflash-rate")
                self.left = ui.label("").props("data-testid=reflash-left")
        self.result_area = ui.column().classes("w-full")

    def started(self, s: services.ReflashStarted) -> None:
        old = s.old_version or _("unknown ({sha})").format(sha=(s.old_sha256 or "?")[:12])
        self.versions.set_text(f"{old} → {s.image_version}")
        self.chip.set_text(f"{s.chip_name} {s.chip_id} · " + _("socket {socket}").format(socket=s.socket))
        self.phase.set_text(_("Erasing and writing"))

    def progress(self, p: services.ReflashProgress) -> None:
        now = time.monotonic()
        if now - self.drawn < REDRAW_S and p.done < p.total:
            return
        self.drawn = now
        self.phase.set_text(_("Writing") if p.phase == "write" else _("Verifying"))
        self.bar.set_value(p.done / p.total if p.total else 0)
        self.done.set_text(f"{kilobytes(p.done)} / {kilobytes(p.total)}")
        if p.bytes_per_second:
            self.rate.set_text(_("{rate} kB/s").format(rate=f"{p.bytes_per_second / 1000:,.1f}"))
        self.left.set_text(_("{s} s left").format(s=f"{p.seconds_left:.0f}") if p.seconds_left is not None
                           and p.done < p.total else "")

    def stopping(self) -> None:
        self.stop.props("loading")
        self.phase.set_text(_("Stopping after this block"))

    def finished(self, r: services.ReflashResult) -> None:
        self.stop.set_visibility(False)
        self.left.set_text("")
        self.phase.set_text(_("Done") if r.ok else _("Ended"))
        with self.result_area:
            result_banner(r)

    def died(self, error: str) -> None:
        self.stop.set_visibility(False)
        with self.result_area:
            _not_saved(_("the attempt stopped unexpectedly ({error}); it stays unfinished").format(error=error))


def _explained(r: services.ReflashResult) -> tuple[str, list[str]]:
    w = words()
    if r.result.value == "ok":
        rate = f"{r.bytes_per_second / 1000:,.1f}" if r.bytes_per_second else "—"
        lines = [_("Firmware {old} → {new}, verified by the programmer's SHA-256, in {s} s ({rate} kB/s).").format(
            old=r.old_version or r.from_version or _("unknown"), new=r.new_version, s=f"{r.seconds:.1f}", rate=rate),
            _("The unit goes to the test station.")]
        if r.alerts_done:
            lines.append(_("Interception alerts done by the system: {n}").format(n=len(r.alerts_done)))
        return _("Programmed and verified."), lines
    why = problem(r.code, w, expected=r.expected_chip, actual=r.chip_id)
    where = where_it_stopped(r.code, _hex(r.first_bad_address), w, failed=r.result.value == "failed")
    lines = [w.sentence(why[0].upper() + why[1:], [where])]
    if r.result.value == "failed":
        return _("The unit could not be programmed."), [*lines, _("It goes back to repair.")]
    if r.result.value == "aborted":
        return _("Stopped."), [*lines, _("The unit stays in programming: scan it again to program it.")]
    return _("The programming did not finish."), [
        *lines, _("The unit stays in programming: check the programmer and its cable, then scan it again.")]


def _hex(address: int | None) -> str | None:
    return None if address is None else f"0x{address:08X}"


def _not_saved(reason: str) -> None:
    with ui.card().classes("w-full bg-red-700 text-white p-4").props("flat data-testid=reflash-not-durable"):
        with ui.row().classes("items-center gap-3 no-wrap"):
            ui.icon("report", size="lg")
            ui.label(_("NOT saved in the programming ledger: {reason}").format(reason=reason)).classes(
                "text-xl font-bold")


def result_banner(r: services.ReflashResult) -> None:
    if not r.durable:
        _not_saved(r.reason or "")
    word, colours, icon = RESULT_LOOK.get(r.result.value, RESULT_LOOK["error"])
    summary, lines = _explained(r)
    with ui.card().classes(f"w-full {colours} p-6").props(
            f"flat data-testid=reflash-result data-result={r.result.value} data-attempt={r.attempt_id}"):
        with ui.row().classes("items-center gap-6 no-wrap"):
            ui.icon(icon, size="5rem")
            with ui.column().classes("gap-1"):
                ui.label(_(word)).classes("text-5xl font-black tracking-wider leading-none").props(
                    "data-testid=reflash-word")
                ui.label(summary).classes("text-2xl font-medium").props("data-testid=reflash-summary")
                for line in lines:
                    ui.label(line).classes("text-lg").props("data-testid=reflash-line")
                if r.reason and r.result.value != "ok":  # the programmer's own words
                    ui.label(r.reason).classes("text-sm opacity-90 font-mono break-all").props(
                        "data-testid=reflash-reason")
