"""What happened to a label, said where the worker looks: "saved to …", "sent to printer …", or
"not printed, still queued: why". And the station's print queue: labels print in order, one at a
time, so a slow printer never holds up scanning."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from nicegui import background_tasks, run, ui

from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.intake import labelling
from rma.ui import runtime
from rma.ui.banner import notify_aside
from rma.ui.frame import SessionUser

log = logging.getLogger(__name__)

COLOURS = {"saved": "text-green-800", "printed": "text-green-800", "failed": "text-red-800 font-semibold"}


def label_look(result: dict[str, Any]) -> tuple[str, str]:
    """``(data-status, sentence)`` of a print result: ``saved``, ``printed`` or ``failed``."""
    status = {"saved": "saved", "sent": "printed"}.get(result.get("outcome") or "", "failed")
    return status, labelling.outcome_text(result, _)


async def print_now(job: int) -> dict[str, Any]:
    """Print one queued label off the event loop; a bug is a failed label, never a lost one."""
    try:
        return await run.io_bound(labelling.print_job, runtime.database(), job)
    except Exception as exc:  # noqa: BLE001 - the label stays queued; say so
        log.exception("printing label job %s failed", job)
        return {"job": job, "status": "failed", "outcome": "queued", "error": str(exc)}


class LabelStatus:
    """One line that says where a label is: queued, printing, saved, sent, failed."""

    def __init__(self, text: str | None = None, *, testid: str = "label-status") -> None:
        self.label = ui.label(text or "").classes("text-base text-slate-600").props(
            f"data-testid={testid} data-status=" + ("queued" if text else "none"))
        self.label.set_visibility(bool(text))

    @property
    def status(self) -> str:
        return str(self.label.props.get("data-status") or "")

    def set(self, status: str, text: str) -> None:
        self.label.set_text(text)
        self.label.classes(replace=f"text-base break-all {COLOURS.get(status, 'text-slate-600')}")
        self.label.props(f"data-status={status}")
        self.label.set_visibility(True)

    def show_result(self, result: dict[str, Any]) -> None:
        self.set(*label_look(result))


class LabelQueue:
    """The station's print queue: each tag's last job and every line that shows its label."""

    def __init__(self, user: SessionUser, root: ui.element) -> None:
        self.user, self.root = user, root
        self.jobs: dict[str, int] = {}  # tag -> its last label job
        self.lines: dict[str, list[LabelStatus]] = defaultdict(list)
        self.waiting: asyncio.Queue[tuple[str, int | None]] = asyncio.Queue()

    def start(self) -> asyncio.Task:
        return background_tasks.create(self._work(), name="intake-labels")

    def line(self, tag: str, text: str | None = None) -> LabelStatus:
        line = LabelStatus(text)
        self.lines[tag].append(line)
        return line

    def clear(self) -> None:
        self.lines.clear()

    def put(self, tag: str, job: int | None) -> None:
        """Print ``job`` for ``tag``; ``None`` queues a new label of the tag first (a reprint)."""
        if job is not None:
            self.jobs[tag] = job
        self._set(tag, "queued", _("Label queued…"))
        self.waiting.put_nowait((tag, job))

    def reprint(self, tag: str) -> None:
        """A failed label is tried again as it is; a printed one is queued anew."""
        job = self.jobs.get(tag)
        retry = job is not None and any(line.status == "failed" for line in self.lines.get(tag, []))
        self.put(tag, job if retry else None)

    def _set(self, tag: str, status: str, text: str) -> None:
        for line in self.lines.get(tag, []):
            line.set(status, text)

    async def _work(self) -> None:
        while True:
            tag, job = await self.waiting.get()
            try:
                if job is None:
                    job = await self.user.act(
                        lambda uow, actor, tag=tag: labelling.reprint_unit_label(uow, actor, tag).id)
                    self.jobs[tag] = job
                self._set(tag, "printing", _("Printing…"))
                result = await print_now(job)
            except asyncio.CancelledError:
                raise
            except DomainError as exc:
                with self.root:
                    self._set(tag, "failed", _("Label failed: {reason}").format(reason=error_message(exc)))
                continue
            with self.root:
                status, text = label_look(result)
                self._set(tag, status, text)
                if status == "failed":
                    notify_aside(_("The label of {tag} did not print: {reason}").format(
                        tag=tag, reason=result.get("error")))


def reprint_button(user: SessionUser, tag: str) -> None:
    """The unit page's reprint: the button, and the line that says where the label went."""

    async def reprint() -> None:
        button.props("loading")
        try:
            job = await user.act(lambda uow, actor: labelling.reprint_unit_label(uow, actor, tag).id)
        except DomainError as exc:
            status.set("failed", _("Label failed: {reason}").format(reason=error_message(exc)))
            return
        finally:
            button.props(remove="loading")
        status.set("printing", _("Printing…"))
        status.show_result(await print_now(job))

    with ui.column().classes("items-end gap-1 max-w-md"):
        button = ui.button(_("Reprint label"), icon="print", on_click=reprint).props(
            "outline no-caps data-testid=reprint-label")
        status = LabelStatus(testid="reprint-status")
