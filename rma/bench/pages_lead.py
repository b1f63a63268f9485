"""The lead's view (``/bench/lead``): work in progress per technician and state with its ageing, what
waits for approval (human damage, scrap, waivers: approve or reject here), today's and this week's output."""

from __future__ import annotations

from nicegui import ui

from rma.bench import services, views
from rma.bench.widgets.decision_bar import requests_table
from rma.bench.widgets.keyboard import BENCH_HEAD
from rma.core.models import Role
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.ui import runtime
from rma.ui.banner import notify_problem, signal
from rma.ui.frame import SessionUser, access_denied
from rma.ui.widgets import section_title, state_badge, table, when

DECISIONS = {"test": "To test", "programming": "To programming", "scrap": "Scrapped", "return": "Returned unrepaired"}


async def lead_view(user: SessionUser) -> None:
    if Role.LEAD not in user.roles:
        access_denied()
        return
    ui.add_head_html(BENCH_HEAD)
    area = ui.column().classes("w-full gap-4").props("data-signal-area data-testid=lead-view")

    async def answer(request_id: int, approve: bool, note: str | None) -> None:
        try:
            await user.act(lambda uow, actor: services.decide_request(uow, actor, request_id, approve=approve,
                                                                      note=note))
        except DomainError as exc:
            signal("error")
            notify_problem(error_message(exc))
            return
        signal("ok")
        await draw()

    async def draw() -> None:
        view = await runtime.read(views.lead_view)
        area.clear()
        with area:
            with ui.row().classes("w-full items-baseline gap-6"):
                ui.label(_("Bench: the lead's view")).classes("text-2xl font-semibold")
                ui.label(_("as of {when}").format(when=when(view["at"]))).classes("text-slate-500")
                ui.space()
                ui.link(_("Bench queue"), "/bench").classes("text-base")
            with ui.row().classes("gap-4"):
                for label, value, testid in ((_("In progress"), view["totals"]["wip"], "total-wip"),
                                             (_("Waiting for approval"), len(view["approvals"]), "total-approvals"),
                                             (_("Output today"), view["totals"]["today"], "total-today"),
                                             (_("Output this week"), view["totals"]["week"], "total-week")):
                    with ui.card().classes("px-4 py-2 gap-0").props("flat bordered"):
                        ui.label(label).classes("text-sm text-slate-500")
                        ui.label(str(value)).classes("text-3xl font-bold").props(f"data-testid={testid}")
            section_title(_("Work in progress by technician and state"))
            table([_("Technician"), _("State"), _("Units"), _("Oldest"), _("0–2 days"), _("3–7 days"), _("Over 7 days")],
                  [[r["technician_name"] or _("nobody yet"), (lambda r=r: state_badge(r["state"])), r["count"],
                    _("{n} d").format(n=r["oldest_days"]), r["age"]["0-2"], r["age"]["3-7"], r["age"]["8+"]]
                   for r in view["wip"]], empty=_("Nothing on the bench."), testid="lead-wip")
            section_title(_("Waiting for approval"))
            requests_table(view["approvals"], lead=True, answer=answer, testid="lead-approvals")
            section_title(_("Output: units that left the bench"))
            table([_("Technician"), _("Today"), _("This week"),
                   *[_(DECISIONS[d]) + " " + _("(week)") for d in DECISIONS]],
                  [[r["technician_name"] or "—", r["today"], r["week"],
                    *[r["decisions"][d]["week"] for d in DECISIONS]] for r in view["output"]],
                  empty=_("Nothing left the bench this week."), testid="lead-output")

    await draw()
