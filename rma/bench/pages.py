"""The bench area: its pages (NiceGUI).

- ``/bench``            my bench and the queue; a scan anywhere on the bench's pages opens the card
- ``/bench/card/{key}`` the repair card of a tag (or of a serial's open visit), pages_card.py
- ``/bench/lead``       the lead's view: work in progress, approvals, output, pages_lead.py
"""

from __future__ import annotations

from nicegui import ui

from rma.bench import services, views
from rma.bench.pages_card import CardScreen
from rma.bench.pages_lead import lead_view
from rma.bench.widgets.keyboard import BENCH_HEAD, key_hint
from rma.bench.widgets.queue_table import card_url, queue_table
from rma.core.models import Role, User, Visit
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.ui import runtime
from rma.ui.areas import BENCH
from rma.ui.banner import notify_problem, signal
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import section_title

LEAD_PATH = "/bench/lead"


def scanned_card(key: str) -> str:
    """Where a scan on a bench page goes: the card, taken by a technician who scans it."""
    return card_url(key) + "?scan=1"


async def bench_list(user: SessionUser) -> None:
    ui.add_head_html(BENCH_HEAD)
    technician = Role.TECHNICIAN in user.roles
    rows = await runtime.read(lambda uow: views.queue(uow))
    mine = await runtime.read(lambda uow: views.queue(uow, mine=user.id)) if technician else []

    async def take_next() -> None:
        try:
            tag = await user.act(_take)
        except DomainError as exc:
            signal("warn")
            notify_problem(error_message(exc))
            return
        ui.navigate.to(card_url(tag))

    with ui.row().classes("w-full items-baseline gap-6").props("data-signal-area"):
        ui.label(_("Bench")).classes("text-2xl font-semibold")
        ui.label(_("Scan a tag to open its repair card.")).classes("text-lg text-slate-600")
        ui.space()
        if Role.LEAD in user.roles:
            ui.link(_("Lead's view"), LEAD_PATH).classes("text-base").props("data-testid=lead-link")
    if technician:
        with ui.row().classes("items-center gap-4"):
            ui.button(_("Take the next unit (Alt+N)"), icon="play_arrow", on_click=take_next).props(
                "unelevated no-caps size=lg data-testid=take-next")
            key_hint(("Alt+N",), _("takes the oldest unit nobody has"))
        section_title(_("My bench"))
        queue_table(mine, testid="my-bench", empty=_("Nothing on your bench: scan a tag, or take the next unit."))
    section_title(_("Queue: awaiting the bench and in repair, oldest first"))
    queue_table(rows, testid="bench-queue", empty=_("Nothing waits for the bench."))


def _take(uow: UnitOfWork, actor: User) -> str:
    """The oldest unit nobody has, taken: its tag."""
    return uow.session.get(Visit, services.take_next(uow, actor).visit_id).tag


def register() -> None:
    @protected_page(BENCH.path, area=BENCH, title="Bench", scan_to=scanned_card)
    async def bench_page(user: SessionUser) -> None:
        await bench_list(user)

    @protected_page("/bench/card/{key:path}", area=BENCH, title="Repair card", scan_to=scanned_card)
    async def card_page(user: SessionUser, key: str, scan: str | None = None) -> None:
        await CardScreen(user, key, scanned=scan == "1").build()

    @protected_page(LEAD_PATH, area=BENCH, title="Bench lead", scan_to=scanned_card)
    async def lead_page(user: SessionUser) -> None:
        await lead_view(user)
