"""The test ledger (``/test/ledger``, 测试台账) and one run with every step (``/test/run/{id}``)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from html import escape
from typing import Any

from nicegui import ui

from rma.core import catalogue
from rma.core.parse import parse_day
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.sentences import Lookups, words
from rma.test_station import plans, services
from rma.test_station.pages_common import (
    OUTCOME_LOOK,
    OUTCOMES,
    kind_label,
    limits_text,
    notify_problem,
    outcome_badge,
    outcome_label,
    value_text,
    verdict_badge,
)
from rma.test_station.sentences import run_summary, step_problem
from rma.ui import runtime
from rma.ui.areas import TEST_LEDGER
from rma.ui.fields import date_field
from rma.ui.frame import SessionUser, protected_page, unit_url
from rma.ui.ledger_view import Column, LedgerView, badge, link, text
from rma.ui.widgets import error_panel, section_title, table

PAGE_ROWS = 100  # on the page, newest first; older pages on demand; the exports have them all


def at(iso: str | None) -> str:
    """An ISO timestamp in the station's local time, to the second (a test run is short)."""
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _choices(uow: UnitOfWork) -> dict[str, Any]:
    try:
        steps = {s.id: s.name for plan in plans.all_plans() for s in plan.steps}
    except DomainError:
        steps = {}  # a broken plan file does not keep the ledger from opening
    return {"models": {m.code: f"{m.code} · {m.name}" for m in catalogue.list_models(uow)},
            "stations": services.run_stations(uow),
            "steps": dict(sorted(steps.items(), key=lambda kv: kv[1]))}


def _outcome(outcome: str | None) -> str:
    label, colours, _icon = OUTCOME_LOOK.get(outcome or "", (outcome or "—", "bg-slate-300 text-slate-800", ""))
    return badge(_(label), f"{colours} font-bold rounded px-2 py-0.5 text-sm whitespace-nowrap",
                 attrs=f'data-outcome="{escape(outcome or "")}"')


def run_columns(look: Lookups) -> list[Column]:
    w = words()
    return [
        Column(_("Run"), lambda r: link(str(r["run_id"]), f"/test/run/{r['run_id']}", attrs='data-testid="ledger-run-link"'),
               key="run"),
        Column(_("Tag"), lambda r: link(r["tag"], unit_url(r["tag"]), attrs='data-testid="ledger-tag-link"'), key="tag"),
        Column(_("Serial"), lambda r: text(r["serial"], classes="font-mono"), key="serial"),
        Column(_("Model"), lambda r: text(r["model"]), key="model"),
        Column(_("Test"), lambda r: text(f"{kind_label(r['kind'])} #{r['attempt']}"), key="kind"),
        Column(_("Station"), lambda r: text(r["station"]), key="station"),
        Column(_("Tester"), lambda r: text(r["operator"]), key="tester"),
        Column(_("Started"), lambda r: text(at(r["started_at"])), key="started"),
        Column(_("Ended"), lambda r: text(at(r["ended_at"]) if r["ended_at"] else None), key="ended"),
        Column(_("Outcome"), lambda r: _outcome(r["outcome"]), key="outcome"),
        Column(_("Failed steps / reason"), lambda r: text(run_summary(r, w, look) or None, classes="truncate",
                                                           title=run_summary(r, w, look) or None),
               fill=True, key="summary"),
    ]


def _yield_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[r["model"], r["first_tests"], r["first_pass"],
             f"{r['yield'] * 100:.1f} %" if r["yield"] is not None else None, r["retests"]] for r in rows]


def _export_row(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, "failed_steps": " ".join(r["failed_steps"])}


def register() -> None:
    @protected_page(TEST_LEDGER.path, area=TEST_LEDGER, title="Test ledger")
    async def test_ledger_page(user: SessionUser) -> None:
        choices = await runtime.read(_choices)
        look = Lookups(steps=choices["steps"])

        with ui.row().classes("w-full items-baseline gap-4"):
            ui.label(_("Test ledger")).classes("text-2xl font-semibold")
            ui.space()
            ui.link(_("Test station"), "/test").classes("text-base")
        filters = ui.card().classes("w-full gap-2").props("flat bordered data-testid=test-ledger-filters")
        with filters, ui.row().classes("w-full items-end gap-3"):
            date_from = date_field(_("From"), "tf-from", lambda _day: show())
            date_to = date_field(_("To"), "tf-to", lambda _day: show())
            model = ui.select(choices["models"], with_input=True, clearable=True, label=_("Model")) \
                .props("outlined dense data-testid=tf-model").classes("min-w-48")
            station = ui.select(choices["stations"], clearable=True, label=_("Station")) \
                .props("outlined dense data-testid=tf-station").classes("min-w-40")
            outcome = ui.select({o: outcome_label(o) for o in OUTCOMES}, clearable=True, label=_("Outcome")) \
                .props("outlined dense data-testid=tf-outcome").classes("min-w-40")
            failed = ui.select(choices["steps"], with_input=True, clearable=True, label=_("Failed step")) \
                .props("outlined dense data-testid=tf-failed-step").classes("min-w-64")

        def current() -> services.RunFilter:
            return services.RunFilter(date_from=parse_day(date_from.value), date_to=parse_day(date_to.value),
                                      model=model.value or None, station=station.value or None,
                                      outcome=outcome.value or None, failed_step=failed.value or None)

        view = LedgerView(
            columns=run_columns(look), current=current, count=services.count_runs,
            page=lambda uow, f, limit, offset: services.list_runs(uow, replace(f, limit=limit), offset=offset),
            export=lambda uow, f: (_export_row(r) for r in services.iter_runs(uow, f)),
            export_columns=services.RUN_COLUMNS, file_name=lambda: f"test-ledger-{date.today():%Y%m%d}.csv",
            empty=_("No test runs match."), all_shown=_("Runs: {total}"),
            paged=_("Runs {first}–{last} of {total}, newest first; the exports have them all."),
            page_size=PAGE_ROWS, testid="test-ledger")
        with filters, ui.row().classes("w-full justify-end gap-3"):
            view.export_button().props("data-testid=test-ledger-csv")

            async def export_json() -> None:
                try:
                    f = current()
                    data = await runtime.read(lambda uow: json.dumps(list(services.iter_runs(uow, f)),
                                                                     ensure_ascii=False, indent=2).encode("utf-8"))
                except DomainError as exc:
                    notify_problem(error_message(exc))
                    return
                ui.download.content(data, f"test-ledger-{date.today():%Y%m%d}.json", "application/json")

            ui.button(_("Export JSON"), icon="data_object", on_click=export_json).props(
                "outline no-caps data-testid=test-ledger-json")
        section_title(_("First-pass yield"))
        ui.label(_("Outgoing tests per model: a unit's first test that ended PASS or FAIL, and the re-tests after it.")) \
            .classes("text-sm text-slate-500")
        fpy = ui.column().classes("w-full")

        async def show() -> None:
            await view.show()
            f = current()
            try:
                yields = await runtime.read(lambda uow: services.first_pass_yield(uow, date_from=f.date_from,
                                                                                  date_to=f.date_to))
            except DomainError as exc:
                notify_problem(error_message(exc))
                return
            fpy.clear()
            with fpy:
                table([_("Model"), _("First tests"), _("Passed first time"), _("First-pass yield"), _("Re-tests")],
                      _yield_rows(yields), empty=_("No finished outgoing tests yet."), testid="test-fpy-table")

        for element in (model, station, outcome, failed):
            element.on_value_change(show)
        await show()

    @protected_page("/test/run/{run_id}", area=TEST_LEDGER, title="Test run")
    async def test_run_page(user: SessionUser, run_id: str) -> None:
        try:
            number = int(run_id)
            run = await runtime.read(lambda uow: services.show_run(uow, number))
        except ValueError:
            error_panel(_("{run!r} is not a run number.").format(run=run_id))
            return
        except DomainError as exc:
            error_panel(error_message(exc))
            return
        _run_detail(run)


def _fact(label: str, value: str | None, testid: str, *, mono: bool = False) -> None:
    with ui.column().classes("gap-0 min-w-32"):
        ui.label(label).classes("text-xs uppercase text-slate-500")
        ui.label(value or "—").classes("text-base text-slate-900" + (" font-mono" if mono else "")).props(
            f"data-testid={testid}")


def _run_detail(run: dict[str, Any]) -> None:
    with ui.row().classes("w-full items-center gap-4"):
        ui.label(_("Test run {run}").format(run=run["run_id"])).classes("text-2xl font-semibold").props(
            "data-testid=run-title")
        outcome_badge(run["outcome"]).classes("text-xl px-3 py-1").props("data-testid=run-outcome")
        ui.space()
        ui.button(_("Export JSON"), icon="data_object", on_click=lambda: ui.download.content(
            json.dumps(run, ensure_ascii=False, indent=2).encode("utf-8"), f"test-run-{run['run_id']}.json",
            "application/json")).props("outline no-caps data-testid=run-json")
        ui.link(_("Test ledger"), TEST_LEDGER.path).classes("text-base")
    with ui.card().classes("w-full gap-3").props("flat bordered data-testid=run-facts"):
        with ui.row().classes("w-full gap-x-8 gap-y-3"):
            with ui.column().classes("gap-0"):
                ui.label(_("Tag")).classes("text-xs uppercase text-slate-500")
                ui.link(run["tag"], unit_url(run["tag"])).classes("text-base font-mono").props("data-testid=run-tag")
            _fact(_("Serial"), run["serial"], "run-serial", mono=True)
            _fact(_("Model"), run["model"], "run-model")
            _fact(_("Test"), kind_label(run["kind"]), "run-kind")
            _fact(_("Attempt"), str(run["attempt"]), "run-attempt")
            _fact(_("Station"), run["station"], "run-station")
            _fact(_("Tester"), run["operator"], "run-operator")
            _fact(_("Fixture port"), run["port"], "run-port", mono=True)
            _fact(_("Fixture"), run["fixture"], "run-fixture", mono=True)
            _fact(_("Plan"), f"{run['plan']} · v{run['plan_version']}", "run-plan")
            _fact(_("Plan SHA-256"), run["plan_sha256"][:16] + "…", "run-plan-sha", mono=True)
            _fact(_("Started"), at(run["started_at"]), "run-started")
            _fact(_("Ended"), at(run["ended_at"]) if run["ended_at"] else _("incomplete: the run has no end"),
                  "run-ended")
        look = Lookups(steps={s["step"]: s["name"] for s in run["steps"]})
        reason = run_summary(run, words(), look)
        if reason:  # in the reader's words; the ledger's own on hover
            ui.label(reason).classes("text-base text-slate-800 break-all").props("data-testid=run-reason") \
                .tooltip(run["reason"] or "")
    section_title(_("Steps"))
    table(["#", _("Step"), _("Command"), _("Limits"), _("Value"), _("Verdict"), _("Message"), _("Attempts"),
           _("Time (ms)"), _("Raw reply")],
          [[s["seq"], (lambda s=s: _step_name(s)), s["command"], limits_text(s["limits"]),
            value_text(s["value"], s["limits"], s["numeric"]), (lambda v=s["verdict"]: verdict_badge(v)),
            step_problem(s, words()),
            s["attempts"], f"{s['elapsed_ms']:.1f}", (lambda raw=s["raw"]: _raw(raw))] for s in run["steps"]],
          empty=_("No steps were recorded."), testid="run-steps")
    section_title(_("Accessories and packaging check"))
    checklist = run["checklist"] or {}
    if not checklist:
        ui.label(_("No checklist: an incoming test, or the run ended before it.")).classes("text-slate-500 italic") \
            .props("data-testid=run-checklist")
        return
    with ui.column().classes("gap-1").props("data-testid=run-checklist"):
        for item, present in checklist.items():
            with ui.row().classes("items-center gap-2"):
                ui.icon("check_box" if present else "disabled_by_default").classes(
                    "text-green-700" if present else "text-red-700")
                ui.label(item).classes("text-base")
                if not present:
                    ui.label(_("missing")).classes("text-red-800 font-semibold")


def _step_name(s: dict[str, Any]) -> None:
    ui.label(s["name"] if s["step"] != "fixture.identify" else _("Fixture identity")).classes("font-medium") \
        .props(f"data-step={s['step']}")


def _raw(raw: str | None) -> None:
    ui.label(raw or "—").classes("font-mono text-xs text-slate-600 break-all max-w-72")
