"""A job's counts and its programmer's sockets: each lit by what it is doing now (green ok, red
failed, blue busy, grey off, amber empty), with its good, failed and yield from the ledger."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from rma.i18n import _

LOOK = {  # state -> (word, colours)
    "idle": ("Ready", "bg-white text-slate-900 border-slate-300"),
    "busy": ("Programming", "bg-blue-700 text-white border-blue-800"),
    "ok": ("Good", "bg-green-700 text-white border-green-800"),
    "checked": ("Good (checked)", "bg-green-700 text-white border-green-800"),
    "failed": ("Failed", "bg-red-700 text-white border-red-800"),
    "error": ("Not finished", "bg-amber-500 text-slate-950 border-amber-600"),
    "aborted": ("Stopped", "bg-slate-600 text-white border-slate-700"),
    "redo": ("Programmed again", "bg-blue-700 text-white border-blue-800"),
    "empty": ("Empty", "bg-amber-100 text-amber-950 border-amber-300"),
    "off": ("Off", "bg-slate-300 text-slate-700 border-slate-400"),
}
COUNTS = (("quantity", "Wanted"), ("issued", "Issued"), ("good", "Good"), ("failed", "Failed"),
          ("in_progress", "ICs in progress"), ("left", "Left"), ("yield", "Yield %"))


def counts_row(job: dict[str, Any]) -> dict[str, ui.label]:
    labels = {}
    with ui.row().classes("w-full gap-x-10 gap-y-2").props("data-testid=job-counts"):
        for key, title in COUNTS:
            with ui.column().classes("gap-0"):
                ui.label(_(title)).classes("text-xs uppercase text-slate-500")
                labels[key] = ui.label(str(job.get(key) if job.get(key) is not None else "—")).classes(
                    "text-3xl font-semibold tabular-nums").props(f"data-testid=job-{key.replace('_', '-')}")
    return labels


def update_counts(labels: dict[str, ui.label], job: dict[str, Any]) -> None:
    for key, label in labels.items():
        label.set_text(str(job.get(key) if job.get(key) is not None else "—"))


class SocketTiles:
    """The sockets as tiles; ``set_state`` lights one as events come, ``update`` refreshes the counts."""

    def __init__(self, job: dict[str, Any], on_switch: Callable[[int, bool], Awaitable[None]]) -> None:
        self.on_switch = on_switch
        self.tiles: dict[int, dict[str, Any]] = {}
        with ui.row().classes("w-full gap-4").props("data-testid=job-sockets"):
            for s in job["sockets"]:
                self._tile(s)

    def _tile(self, s: dict[str, Any]) -> None:
        n = s["socket"]
        card = ui.card().classes("w-56 gap-1 border-2 p-4").props(f"flat data-testid=socket-{n}")
        with card:
            ui.label(_("Socket {n}").format(n=n)).classes("text-lg font-semibold")
            word = ui.label().classes("text-2xl font-black").props(f"data-testid=socket-{n}-state")
            numbers = ui.label().classes("text-base tabular-nums").props(f"data-testid=socket-{n}-counts")
            detail = ui.label().classes("text-sm break-all").props(f"data-testid=socket-{n}-detail")
            switch = ui.button(on_click=lambda n=n: self._switch(n)).props(
                f"flat dense no-caps data-testid=socket-{n}-switch").classes("self-start")
        self.tiles[n] = {"card": card, "word": word, "numbers": numbers, "detail": detail, "switch": switch,
                         "state": None, "on": s["on"]}
        self.update_socket(s)
        self.set_state(n, "idle" if s["on"] else "off")

    async def _switch(self, n: int) -> None:
        await self.on_switch(n, not self.tiles[n]["on"])

    def set_state(self, n: int, state: str, detail: str | None = None) -> None:
        tile = self.tiles.get(n)
        if tile is None:
            return
        word, colours = LOOK.get(state, LOOK["idle"])
        old = LOOK.get(tile["state"] or "idle", LOOK["idle"])[1]
        tile["card"].classes(remove=old, add=colours).props(f"data-state={state}")
        tile["state"] = state
        tile["word"].set_text(_(word))
        tile["detail"].set_text(detail or "")

    def update_socket(self, s: dict[str, Any]) -> None:
        tile = self.tiles.get(s["socket"])
        if tile is None:
            return
        tile["on"] = s["on"]
        tile["numbers"].set_text(_("good {good} · failed {failed} · yield {yield_}").format(
            good=s["good"], failed=s["failed"], yield_=f"{s['yield']} %" if s["yield"] is not None else "—"))
        tile["switch"].set_text(_("Switch off") if s["on"] else _("Switch on"))
        if not s["on"]:
            self.set_state(s["socket"], "off", tile["detail"].text)
        elif tile["state"] == "off":
            self.set_state(s["socket"], "idle")

    def update(self, job: dict[str, Any]) -> None:
        for s in job["sockets"]:
            self.update_socket(s)
