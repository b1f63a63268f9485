"""The unit page: what a scan shows: the unit, its visits and its full ledger timeline."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma import sentences
from rma.bench.widgets.queue_table import card_url
from rma.core import services
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.intake import labelling
from rma.intake import services as intake
from rma.intake.pages_common import alert_lines, repeat_badge, warranty_badge
from rma.intake.widgets.label_status import reprint_button
from rma.intake.widgets.reason_form import may_record_reason, reason_form
from rma.inventory import services as stores
from rma.inventory.widgets.tag_parts import tag_parts_section
from rma.programming.widgets.attempts import unit_programming
from rma.test_station import services as test_services
from rma.test_station.pages_common import outcome_badge
from rma.ui import runtime
from rma.ui.areas import BENCH
from rma.ui.frame import SessionUser, protected_page, unit_url
from rma.ui.home import tag_link, timeline_table
from rma.ui.widgets import (
    STATE_COLOURS,
    error_panel,
    section_title,
    state_badge,
    table,
    when,
)


def _unit_with_intake(uow: UnitOfWork, key: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[dict],
                                                         sentences.Lookups]:
    """The unit's report, the intake facts of each of its visits (by tag), its test runs, and the names they use."""
    report = services.unit_report(uow, key)
    facts = {v["tag"]: intake.intake_summary(uow, services.find_visit(uow, v["tag"])) for v in report["visits"]}
    for v in report["visits"]:
        v["reason_parts"] = intake.return_reason_of(uow, services.find_visit(uow, v["tag"]))
    runs = [r for v in report["visits"] for r in test_services.runs_of_visit(uow, v["tag"])]
    look = sentences.lookups(uow, report["timeline"], runs=[r["run_id"] for r in runs])
    report["parts"] = [stores.tag_parts(uow, v["tag"]) for v in reversed(report["visits"])]
    return report, facts, sorted(runs, key=lambda r: r["started_at"], reverse=True), look


def _reasons(uow: UnitOfWork) -> dict[str, str]:
    return {r.code: f"{r.code} · {r.text}" for r in intake.list_reasons(uow)}


def _visit_intake(user: SessionUser, visit: dict[str, Any], facts: dict[str, Any],
                  reasons: dict[str, str]) -> None:
    """One visit's card: what intake decided, and the reprint of its label."""
    tag = visit["tag"]
    with ui.card().classes("w-full gap-2").props(f"flat bordered data-testid=visit-intake data-tag={tag}"):
        with ui.row().classes("w-full items-center gap-4"):
            ui.link(tag, unit_url(tag)).classes("text-xl font-mono font-bold")
            state_badge(visit["state"])
            if facts:
                warranty_badge(facts["warranty"], facts["warranty_until"])
                if facts.get("repeat_of"):
                    repeat_badge(facts["repeat_of"])
            ui.space()
            if user.roles & set(labelling.ANY_WORKER):
                reprint_button(user, tag)
        if not facts:
            ui.label(_("No intake record: this visit was opened before courier intake.")).classes(
                "text-slate-500 italic")
        else:
            with ui.row().classes("gap-8"):
                parcel = facts.get("parcel")
                _fact(_("Parcel"), f"{parcel['courier']} {parcel['waybill']}" if parcel else None, "intake-parcel")
                _fact(_("Model"), facts["model"] + (" " + _("(picked by the clerk)") if facts.get("model_chosen")
                                                    else ""), "intake-model")
                _fact(_("Accessories received"), ", ".join(facts.get("accessories") or []) or _("none recorded"),
                      "intake-accessories")
            alert_lines(facts.get("interceptions") or [])
        if visit["closed_at"] is None and may_record_reason(user.roles):
            reason_form(user, tag, reasons, *visit["reason_parts"])


def _fact(label: str, value: str | None, testid: str) -> None:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("text-xs uppercase text-slate-500")
        ui.label(value or "—").classes("text-base").props(f"data-testid={testid}")


def register() -> None:
    # ":path" so that a serial with a slash still reaches this page.
    @protected_page("/unit/{key:path}", title="Unit")
    async def unit_page(user: SessionUser, key: str) -> None:
        try:
            report, intake_facts, runs, look = await runtime.read(lambda uow: _unit_with_intake(uow, key))
        except DomainError as exc:
            error_panel(error_message(exc), _("Check the label and scan again."))
            return

        colour = STATE_COLOURS.get(VisitState(report["state"]), "bg-slate-400") if report["state"] else "bg-slate-400"
        with ui.card().classes(f"w-full border-l-8 {colour.replace('bg-', 'border-')}").props(
            "flat bordered data-testid=unit-card"
        ):
            with ui.row().classes("w-full items-start justify-between"):
                with ui.column().classes("gap-1"):
                    ui.label(_("Serial")).classes("text-xs uppercase text-slate-500")
                    ui.label(report["serial"]).classes("text-3xl font-bold font-mono").props(
                        "data-testid=unit-serial"
                    )
                    model = report["model"]
                    ui.label(f"{model['code']} · {model['name']}").classes("text-lg text-slate-700").props(
                        "data-testid=unit-model"
                    )
                with ui.column().classes("items-end gap-2"):
                    state_badge(report["state"], large=True).props("data-testid=unit-state")
                    with ui.row().classes("items-center gap-2"):
                        ui.label(_("Open visit")).classes("text-slate-500")
                        ui.label(report["open_visit"] or _("none")).classes("text-xl font-mono font-semibold").props(
                            "data-testid=open-visit"
                        )
            with ui.row().classes("gap-8"):
                _fact(_("Manufactured"), report["manufactured_on"], "unit-manufactured")
                _fact(_("Sold / shipped"), report["sold_on"], "unit-sold")
                _fact(_("Visits"), str(len(report["visits"])), "unit-visit-count")

        section_title(_("Visits"))
        table(
            [_("Tag"), _("State"), _("Opened at"), _("Closed at"), _("Customer"), _("Return reason")],
            [[tag_link(v["tag"]), (lambda s=v["state"]: state_badge(s)), when(v["opened_at"]),
              when(v["closed_at"]) if v["closed_at"] else "—",
              " · ".join(x for x in (v["customer"], v["customer_name"]) if x) or None, v["return_reason"]]
             for v in report["visits"]],
            empty=_("No visits yet."), testid="unit-visits",
        )

        if BENCH.admits(user.roles) and report["visits"]:
            with ui.row().classes("items-center gap-3").props("data-testid=unit-repair-cards"):
                ui.label(_("Repair cards:")).classes("text-slate-600")
                for v in reversed(report["visits"]):
                    ui.link(v["tag"], card_url(v["tag"])).classes("font-mono")

        section_title(_("Intake and labels"))
        with ui.column().classes("w-full gap-2").props("data-testid=unit-intake"):
            reasons = await runtime.read(_reasons) if may_record_reason(user.roles) else {}
            for visit in reversed(report["visits"]):
                _visit_intake(user, visit, intake_facts.get(visit["tag"]) or {}, reasons)

        section_title(_("Test runs"))
        table(
            [_("Run"), _("Tag"), _("Test"), _("Station"), _("Started"), _("Outcome"), _("Failed steps")],
            [[(lambda r=r: ui.link(str(r["run_id"]), f"/test/run/{r['run_id']}")), r["tag"],
              f"{_('Incoming test') if r['kind'] == 'incoming' else _('Outgoing test')} #{r['attempt']}", r["station"],
              when(r["started_at"]), (lambda o=r["outcome"]: outcome_badge(o)),
              sentences.words().join(look.step(s) for s in r["failed_steps"]) or None]
             for r in runs],
            empty=_("No test runs yet."), testid="unit-test-runs",
        )

        section_title(_("Parts"))
        with ui.column().classes("w-full gap-3").props("data-testid=unit-parts"):
            for parts in report["parts"]:
                tag_parts_section(parts)
            if not any(p["parts"] for p in report["parts"]):
                ui.label(_("No parts requested or issued for this unit.")).classes("text-slate-500 italic")

        await unit_programming(report["serial"])

        section_title(_("Ledger timeline"))
        timeline_table(report["timeline"], look, testid="unit-timeline")
