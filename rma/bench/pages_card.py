"""The repair card (``/bench/card/{tag}``): one per visit, everything the technician records on it.

A technician's scan opens it and takes the unit (``?scan=1``); a unit someone else has opens
read-only, saying who has it. From the top: the unit and the labour clock, a failed outgoing
test's steps (rework), interception alerts, the complaint, findings and suggestions, photos and
human damage, the decision, what waits for the lead, and the unit's earlier visits. Every
action is one unit of work; the card is read again after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from rma.bench import codes as code_lists
from rma.bench import labour, photos, services, views
from rma.bench import parts as bench_parts
from rma.bench.widgets.alerts_panel import alerts_panel
from rma.bench.widgets.card_header import card_header
from rma.bench.widgets.complaint_form import complaint_form
from rma.bench.widgets.decision_bar import decision_bar, requests_table
from rma.bench.widgets.findings import findings_section
from rma.bench.widgets.history import history
from rma.bench.widgets.keyboard import BENCH_HEAD, focus_in, key_hint
from rma.bench.widgets.parts_panel import parts_panel
from rma.bench.widgets.photos_panel import photos_panel
from rma.bench.widgets.rework_banner import rework_banner
from rma.core.models import Role, User, Visit
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.ui import runtime
from rma.ui.banner import notify_done, notify_problem, signal
from rma.ui.frame import SessionUser
from rma.ui.widgets import error_panel, section_title

NOT_FOUND = ("unknown_unit", "unknown_visit", "no_open_visit")
WATCH_SECONDS = 3.0  # how soon an open card shows what the stores did to its parts


def technicians(uow: UnitOfWork) -> dict[str, str]:
    """Who may get a card: active technicians and leads, by user name."""
    from sqlalchemy import select

    users = uow.session.scalars(select(User).where(User.active).order_by(User.username))
    return {u.username: f"{u.display_name} ({u.username})" for u in users if u.roles & set(services.BENCH_WORKERS)}


def _start(uow: UnitOfWork, actor: User, key: str) -> str:
    card = services.start_repair(uow, actor, key)
    return uow.session.get(Visit, card.visit_id).tag


class CardScreen:
    def __init__(self, user: SessionUser, key: str, *, scanned: bool) -> None:
        self.user, self.key, self.scanned = user, key, scanned
        self.lead = Role.LEAD in user.roles
        self.message: str | None = None
        self.offered: list[dict[str, Any]] | None = None
        self.seen: tuple[Any, ...] | None = None  # the parts' version the card shows (parts_version)
        self.parts_box: ui.column | None = None

    async def build(self) -> None:
        self.client = ui.context.client
        ui.add_head_html(BENCH_HEAD)
        if self.scanned and Role.TECHNICIAN in self.user.roles:
            try:
                self.key = await self.user.act(lambda uow, actor: _start(uow, actor, self.key))
            except DomainError as exc:
                if exc.code in NOT_FOUND:
                    error_panel(error_message(exc), _("Check the label and scan again."), testid="card-error")
                    return
                self.message = error_message(exc)  # someone else has it, or it is not on the bench
        self.codes = await runtime.read(lambda uow: code_lists.list_codes(uow))
        self.people = await runtime.read(technicians) if self.lead else {}
        self.area = ui.column().classes("w-full gap-4").props("data-signal-area data-testid=repair-card")
        await self.load()
        ui.timer(WATCH_SECONDS, self.watch)

    async def watch(self) -> None:
        """Someone else moved the tag's parts (the stores issued one, a lead cancelled a line):
        the parts are drawn again where they are, and the rest of the card, with whatever is being
        typed in it, stays; a new state (parts arrived: back in repair) reads the whole card again."""
        if self.seen is None or self.parts_box is None:
            return
        key, before = self.key, self.seen
        try:
            now = await runtime.read(lambda uow: bench_parts.parts_version(uow, key))
        except DomainError:
            return
        if now == before or self.seen != before:
            return
        if not now or now[0] != before[0]:
            await self.load()
            return
        card = await runtime.read(lambda uow: views.card_view(uow, key, viewer_id=self.user.id))
        self.seen = now
        self.parts_box.clear()
        with self.parts_box:
            self._parts(card)
        notify_done(_("The stores changed this unit's parts: the card shows them now."))

    async def load(self) -> None:
        try:
            card = await runtime.read(lambda uow: views.card_view(uow, self.key, viewer_id=self.user.id))
        except DomainError as exc:
            self.area.clear()
            with self.area:
                error_panel(error_message(exc), _("Check the label and scan again."), testid="card-error")
            return
        self.key = card["tag"]
        if self.offered is None and card["on_bench"]:
            model = card["model"]["code"]
            self.offered = await runtime.read(lambda uow: bench_parts.offered_parts(uow, model))
        self.seen = await runtime.read(lambda uow: bench_parts.parts_version(uow, card["tag"]))
        self.area.clear()
        with self.area:
            self._draw(card)

    # -------------------------------------------------------------- drawing

    def _can_work(self, card: dict[str, Any]) -> bool:
        return card["on_bench"] and (card["mine"] or self.lead)

    def _draw(self, card: dict[str, Any]) -> None:
        can_work = self._can_work(card)
        if self.message:
            error_panel(self.message, testid="card-message")
            self.message = None
        elif card["on_bench"] and card["technician"] and not card["mine"] and not self.lead:
            error_panel(_("{tag} is on the bench of {name}: you can read its card, not change it.").format(
                tag=card["tag"], name=card["technician_name"]), testid="card-message")
        if card["on_bench"] and card["technician"] is None and Role.TECHNICIAN in self.user.roles:
            ui.button(_("Take this unit"), icon="play_arrow", on_click=self.take).props(
                "unelevated no-caps size=lg data-testid=take-card")
        card_header(card, can_work=can_work, labour=self.labour, technicians=self.people,
                    assign=self.assign if self.lead else None)
        if card["on_bench"]:
            rework_banner(card)
        alerts_panel(card, can_work=can_work, may_waive=self.lead, mark=self.mark_alert)
        complaint_form(card, self.codes, can_work=can_work and card["state"] in ("in_repair", "awaiting_parts"),
                       save=self.save_complaint)
        findings_section(card, self.codes, can_work=can_work, add=self.add_finding, withdraw=self.withdraw)
        self.parts_box = ui.column().classes("w-full gap-0")
        with self.parts_box:
            self._parts(card)
        photos_panel(card, can_work=can_work, upload=self.upload, report=self.report_damage)
        decision_bar(card, can_work=can_work, lead=self.lead, decide=self.decide)
        if card["requests"]:
            section_title(_("Asked of the lead"))
            requests_table(card["requests"], lead=self.lead, answer=self.answer, testid="card-requests")
        history(card)
        with ui.row().classes("gap-x-5 gap-y-1"):
            key_hint(("Alt+C",), _("complaint"))
            key_hint(("Alt+F",), _("finding"))
            key_hint(("Alt+N",), _("no fault found"))
            key_hint(("1", "5"), _("take a suggestion"))
            key_hint(("Alt+R",), _("ask for a part"))
            key_hint(("Alt+L",), _("labour start / pause"))
            key_hint(("Alt+T", "Alt+P"), _("to test / to programming"))

    def _parts(self, card: dict[str, Any]) -> None:
        parts_panel(card, self.offered or [], can_work=self._can_work(card), request=self.request_part, fit=self.fit_part,
                    give_back=self.return_part, cancel=self.cancel_part)

    # -------------------------------------------------------------- actions

    async def _do(self, work: Callable[[UnitOfWork, User], Any], done: str | None = None,
                  then: str | None = None) -> bool:
        try:
            await self.user.act(work)
        except DomainError as exc:
            signal("error")
            notify_problem(error_message(exc))
            return False
        signal("ok")
        if done:
            notify_done(done)
        await self.load()
        if then:
            focus_in(then, self.client)
        return True

    async def take(self) -> None:
        await self._do(lambda uow, actor: _start(uow, actor, self.key))

    async def labour(self, action: str) -> None:
        key = self.key
        if action == "start":
            await self._do(lambda uow, actor: labour.start(uow, actor, key))
        else:
            await self._do(lambda uow, actor: labour.end(uow, actor, key, kind=action))

    async def assign(self, technician: str | None) -> None:
        key = self.key
        await self._do(lambda uow, actor: services.assign(uow, actor, key, technician),
                       _("{tag} assigned.").format(tag=key))

    async def mark_alert(self, alert_id: int, note: str, waive: bool) -> None:
        key = self.key
        await self._do(lambda uow, actor: services.mark_alert(uow, actor, key, alert_id, note=note, waive=waive))

    async def save_complaint(self, condition: str | None, symptom: str | None, note: str) -> None:
        key = self.key
        await self._do(lambda uow, actor: services.code_complaint(uow, actor, key, condition=condition or "",
                                                                  symptom=symptom or "", note=note),
                       then="finding-section")

    async def add_finding(self, values: dict[str, Any]) -> None:
        key = self.key
        await self._do(lambda uow, actor: services.add_finding(uow, actor, key, **values), then="finding-section")

    async def withdraw(self, finding_id: int) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[32rem] gap-3").props("data-testid=withdraw-dialog"):
            ui.label(_("Why is this finding withdrawn?")).classes("text-lg font-semibold")
            reason = ui.input(_("Reason")).props("outlined autofocus data-testid=withdraw-reason").classes("w-full")
            reason.on("keydown.enter", lambda: dialog.submit(reason.value))
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(_("Cancel"), on_click=lambda: dialog.submit(None)).props("flat no-caps")
                ui.button(_("Withdraw"), on_click=lambda: dialog.submit(reason.value)).props(
                    "unelevated no-caps data-testid=withdraw-confirm")
        why = await dialog
        dialog.delete()
        if why is None:
            return
        key = self.key
        await self._do(lambda uow, actor: services.withdraw_finding(uow, actor, key, finding_id, reason=why))

    async def request_part(self, part: str, qty: str, designator: str | None) -> None:
        key = self.key
        await self._do(lambda uow, actor: bench_parts.request(uow, actor, key, [(part, qty, designator)]),
                       _("Asked of the stores."), then="parts-request-part")

    async def fit_part(self, part: str, designator: str, qty: str, keep_old: bool) -> None:
        key = self.key

        def work(uow: UnitOfWork, actor: User) -> None:
            done = bench_parts.fit(uow, actor, key, part, qty, designator or None)
            if keep_old:
                bench_parts.remove_old(uow, actor, key, done["part_number"], qty, done["designator"])

        await self._do(work, _("Part fitted."))

    async def return_part(self, part: str, qty: str, bin_code: str) -> None:
        key = self.key
        await self._do(lambda uow, actor: bench_parts.give_back(uow, actor, key, part, qty, bin_code),
                       _("Returned to stores."))

    async def cancel_part(self, part: str) -> None:
        key = self.key
        await self._do(lambda uow, actor: bench_parts.cancel(uow, actor, key, part))

    async def upload(self, name: str, data: bytes, purpose: str) -> None:
        key = self.key
        await self._do(lambda uow, actor: photos.attach_photo(uow, actor, key, filename=name, data=data,
                                                              purpose=purpose), _("Photo kept."))

    async def report_damage(self, kind: str, reason: str) -> None:
        key = self.key
        await self._do(lambda uow, actor: services.report_damage(uow, actor, key, damage=kind, reason=reason),
                       _("Human damage reported: it waits for the lead."))

    async def decide(self, decision: str, reason: str | None) -> None:
        key = self.key
        await self._do(lambda uow, actor: services.decide(uow, actor, key, decision, reason=reason))

    async def answer(self, request_id: int, approve: bool, note: str | None) -> None:
        await self._do(lambda uow, actor: services.decide_request(uow, actor, request_id, approve=approve, note=note))
