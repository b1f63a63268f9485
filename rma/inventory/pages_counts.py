"""Stock counts (``/stores/counts``, ``/stores/count/CODE``).

The counter scans the bin, then the part, types what is on the shelf and presses Enter: the
line is said to be counted, or to be counted again; the count is blind (no expected quantity
on this screen or on the printed sheet). The lead or the supervisor sees the variances and
approves each one still over the tolerance after its recount, with the reason, or sends it
back to be counted again.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.core.models import Role
from rma.i18n import _
from rma.inventory import counts
from rma.inventory.labels import count_sheet_pdf
from rma.inventory.widgets.common import (
    KeyForm,
    act,
    downloads,
    key_hints,
    part_name,
    stores_page,
    uom_word,
)
from rma.ui import runtime
from rma.ui.banner import ResultBanner, notify_problem
from rma.ui.fields import plain_field, values_js
from rma.ui.frame import SessionUser
from rma.ui.widgets import section_title, table, when

STATUS = {"pending": "Not counted yet", "counted": "Counted", "recount": "Count again", "approval": "Awaiting approval",
          "matched": "Matches", "booked": "Variance booked", "not_counted": "Not counted"}
APPROVERS = {Role.LEAD, Role.SUPERVISOR}
REPORT_COLUMNS = ["bin", "part_number", "name_zh", "uom", "status", "expected", "book", "counted", "recount",
                  "variance", "variance_value", "reason"]


def status_word(status: str) -> str:
    return _(STATUS.get(status, status))


async def counts_list(user: SessionUser) -> None:
    stores_page(_("Counts"), "/stores/counts")
    rows = await runtime.read(counts.list_counts)
    if Role.MATERIALS in user.roles:
        with ui.row().classes("items-center gap-2"):
            ui.label(_("Start a count:")).classes("text-lg")
            for scope, label in (("A", "Class A (due)"), ("B", "Class B (due)"), ("C", "Class C (due)"),
                                 ("full", "Full count")):
                ui.button(_(label), on_click=lambda s=scope: _start(user, s)).props(
                    f"unelevated no-caps data-testid=count-start-{scope}")
    table([_("Count"), _("Scope"), _("State"), _("Started"), _("Counted"), _("Awaiting approval")],
          [[(lambda r=r: ui.link(r["code"], f"/stores/count/{r['code']}").classes("font-mono")), r["scope"],
            _("open") if r["state"] == "open" else _("closed"), when(r["started_at"]), f"{r['counted']}/{r['lines']}",
            r["awaiting_approval"]] for r in rows], empty=_("No counts yet."), testid="counts")


async def _start(user: SessionUser, scope: str) -> None:
    sheet = await act(user, lambda uow, actor: counts.start_count(uow, actor, scope))
    if sheet is not None:
        ui.navigate.to(f"/stores/count/{sheet['code']}")


class CountScreen:
    def __init__(self, user: SessionUser, code: str) -> None:
        self.user, self.code = user, code
        self.approver = bool(user.roles & APPROVERS)

    async def build(self) -> None:
        stores_page(_("Count {code}").format(code=self.code), "/stores/counts")
        sheet = await runtime.read(lambda uow: counts.count_sheet(uow, self.code))
        self.open = sheet["state"] == "open"
        with ui.row().classes("items-center gap-3"):
            self.progress = ui.label().classes("text-lg").props("data-testid=count-progress")
            ui.button(_("Count sheet (PDF)"), icon="print", on_click=self._sheet).props(
                "outline dense no-caps data-testid=count-sheet")
            if self.open:
                ui.button(_("Close the count"), icon="lock", on_click=self._close).props(
                    "outline dense no-caps data-testid=count-close")
        if self.open and Role.MATERIALS in self.user.roles:
            with ui.card().classes("w-full gap-3 border-2 border-slate-300").props(
                    "flat data-testid=count-area data-signal-area data-signal=none"):
                ui.label(_("Scan the bin, then the part; type what is on the shelf")).classes(
                    "text-2xl font-semibold text-slate-800")
                self.form = KeyForm([("bin", _("Bin (scan)"), "w-40"), ("part", _("Part (scan)"), "w-56"),
                                     ("qty", _("Counted"), "w-32")], self._enter, testid="count")
                self.result = ResultBanner("count-result")
                key_hints(("Enter", _("next field; in the last one, enters the count")))
            self.form.focus("bin")
        self.body = ui.column().classes("w-full gap-3")
        await self._refresh(sheet)

    async def _refresh(self, sheet: dict[str, Any] | None = None) -> None:
        sheet = sheet or await runtime.read(lambda uow: counts.count_sheet(uow, self.code))
        self.progress.set_text(_("{done} of {total} lines settled").format(done=sheet["done"], total=sheet["total"]))
        report = None
        if self.approver or not self.open:
            report = await act(self.user, lambda uow, actor: counts.count_report(uow, actor, self.code))
        self.body.clear()
        with self.body:
            if report is None:
                section_title(_("Bins and parts to count"))
                table([_("Bin"), _("Part"), _("Name"), _("Unit of measure"), _("Status")],
                      [[ln["bin"], ln["part_number"], part_name(ln), uom_word(ln["uom"]), status_word(ln["status"])]
                       for ln in sheet["lines"]], empty=_("Nothing to count."), testid="count-lines")
                return
            section_title(_("Variance report (盘点盈亏表): variance value {value}, {rate} % of the stock counted")
                          .format(value=report["variance_value"], rate=report["variance_rate"] or "—"))
            lines = report["lines"]  # as the page shows them: an open count only to an approver
            downloads(f"count-{self.code}", lambda _uow: (lines, REPORT_COLUMNS), testid="count-export")
            table([_("Bin"), _("Part"), _("Name"), _("Expected at start"), _("Book when counted"), _("Counted"),
                   _("Recount"), _("Variance"), _("Value (yuan)"), _("Status"), _("Reason")],
                  [[ln["bin"], ln["part_number"], part_name(ln), ln["expected"], ln["book"], ln["counted"],
                    ln["recount"], ln["variance"], ln["variance_value"], status_word(ln["status"]),
                    self._decision(ln) if ln["status"] == "approval" and self.approver and self.open else ln["reason"]]
                   for ln in report["lines"]], empty=_("Nothing to count."), testid="count-report")

    def _decision(self, ln: dict[str, Any]):  # noqa: ANN202
        def build() -> None:
            with ui.row().classes("items-end gap-2 no-wrap").props(
                    f"data-testid=approve-{ln['bin']}-{ln['part_number']}"):
                reason = plain_field(_("Reason"), f"reason-{ln['bin']}-{ln['part_number']}", width="w-48")
                ui.button(_("Approve"), on_click=lambda: self._decide(ln, reason, True)).props(
                    "unelevated dense no-caps color=positive data-testid=approve")
                ui.button(_("Count again"), on_click=lambda: self._decide(ln, reason, False)).props(
                    "outline dense no-caps data-testid=reject")
        return build

    async def _decide(self, ln: dict[str, Any], field: ui.element, approve: bool) -> None:
        values = await ui.run_javascript(f"({values_js({'reason': field})})")
        reason = (values or {}).get("reason", "")
        fn = counts.approve_variance if approve else counts.reject_variance
        if await act(self.user, lambda uow, actor: fn(uow, actor, self.code, ln["bin"], ln["part_number"], reason)):
            await self._refresh()

    async def _enter(self, values: dict[str, str]) -> None:
        bin_code, part, qty = (values.get(k, "").strip() for k in ("bin", "part", "qty"))
        if not (bin_code and part and qty):
            self.form.focus("part" if bin_code else "bin")
            return
        done = await act(self.user, lambda uow, actor: counts.enter_count(uow, actor, self.code, bin_code, part, qty))
        if done is None:
            self.result.show("error", _("Not entered"))
            return
        if done["status"] == "recount":
            self.result.show("warn", _("{part} in {bin}: count it again").format(part=done["part_number"], bin=done["bin"]))
        else:
            self.result.show("ok", _("{part} in {bin}: counted").format(part=done["part_number"], bin=done["bin"]))
        self.form.set("part", "")
        self.form.set("qty", "")
        self.form.focus("part")
        await self._refresh()

    async def _sheet(self) -> None:
        try:
            data = await runtime.read(lambda uow: count_sheet_pdf(uow, self.code))
        except Exception as exc:  # noqa: BLE001 - a missing font is said, not raised
            notify_problem(str(exc))
            return
        ui.download.content(data, f"{self.code}.pdf", "application/pdf")

    async def _close(self) -> None:
        if await act(self.user, lambda uow, actor: counts.close_count(uow, actor, self.code)) is not None:
            ui.navigate.reload()

