"""The stores' share of ``rma demo``, all of it through the stores' services.

The store opened a little over a year before the demo's today (``MONTHS_OF_HISTORY``): the
materials clerk keyed in the suppliers, the bins and the catalogue (``demo_parts``), the lead
the bills of materials, and the opening stock came in as receipts. Since then: monthly
deliveries of consumables and passives; a batch of parts for newer model variants that nobody
has asked for since (slow stock); parts for the demo's repairs, requested by the technician,
issued by the clerk (a part the store does not keep is backordered, ordered and issued when it
comes, and the unit waits meanwhile), fitted at their designators, the faulty ones of warranty
repairs kept as old parts; refurbished units into stock and out to dealers; a class C count
with a small variance booked at once, and a class A count with one the lead approved; and every
month closed early in the next one, so statements read closed months' snapshots.

``rma.demo`` calls ``StoresDemo``: ``open_store`` at the start, ``schedule`` for the timed
actions, and ``step`` for a visit's parts events; every row is dated by the demo's clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import select

from rma.core.models import Role, User, Visit
from rma.db import UnitOfWork
from rma.inventory import catalogue, counts, reports, services, stock
from rma.inventory.amounts import add_months, month_text
from rma.inventory.demo_parts import (
    BOM,
    CASE_PARTS,
    MODEL_PARTS,
    ON_DEMAND,
    RACKS,
    SAFETY,
    SHARED,
    SLOW_BATCH,
    SUPPLIERS,
    Part,
)

CHINA = timezone(timedelta(hours=8), "CST")
SEED = 7851
MONTHS_OF_HISTORY = 13  # the store opened this many months before the demo's month
RESTOCK = {"ic": "5", "pcba": "3", "connector": "20", "passive": "200", "harness": "5", "display": "2",
           "mechanical": "10", "consumable": "5"}
# What the monthly deliveries bring: part number, quantity (consumables and passives the bench uses up).
MONTHLY = (("CS-SOLDER-08", "2"), ("CS-FLUX", "6"), ("CS-IPA", "2000"), ("CS-ESD-BAG", "200"), ("CS-SEAL", "300"),
           ("C-100U-25V", "200"), ("C-100N-0402", "1000"), ("R-10K-0402", "1000"), ("W-FFC-40P", "10"),
           ("M-SCREW-M2x4", "500"), ("IC-LDO-3V3", "50"), ("CS-CARTON", "20"))
Action = Callable[[], None]
Schedule = Callable[[datetime, int, Action], None]


def _working_day(day: date) -> date:
    while day.weekday() == 6:
        day += timedelta(days=1)
    return day


def china(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), CHINA).astimezone(timezone.utc)


def month_day(month: int, day: int) -> date:
    return _working_day(date(month // 100, month % 100, day))


class StoresDemo:
    def __init__(self, uow: UnitOfWork, clock: Any, users: dict[Role, User], today: date) -> None:
        self.uow, self.clock, self.users = uow, clock, users
        self.today = today
        self.rng = random.Random(SEED)
        self.month_now = today.year * 100 + today.month
        self.opened = month_day(add_months(self.month_now, -MONTHS_OF_HISTORY), 2)
        self.parts: dict[str, Part] = {p[0]: p for p in (*SHARED, *[p for ps in MODEL_PARTS.values() for p in ps],
                                                          *SLOW_BATCH)}
        self.home: dict[str, str] = {}
        self.supplier: dict[str, str] = {}
        self.notes = 0
        self.counting = ""  # the count under way

    @property
    def clerk(self) -> User:
        return self.users[Role.MATERIALS]

    @property
    def setup_at(self) -> datetime:
        """When the department set rma up: the working day before the store opened."""
        day = self.opened - timedelta(days=1)
        return china(day - timedelta(days=1) if day.weekday() == 6 else day, 9)

    # -------------------------------------------------------------- opening the store

    def open_store(self) -> None:
        uow, clerk = self.uow, self.clerk
        self.clock.at = china(self.opened, 8, 40)
        for code, name, categories in SUPPLIERS:
            catalogue.add_supplier(uow, clerk, code, name)
            for category in categories:
                self.supplier.setdefault(category, code)
        slots: dict[str, int] = {}
        for number, part in self.parts.items():
            rack = RACKS[part[4]]
            n = slots[rack] = slots.get(rack, 0) + 1
            self.home[number] = f"{rack}-{(n - 1) // 12 + 1:02d}-{(n - 1) % 12 + 1:02d}"
        for code in sorted(set(self.home.values())):
            catalogue.add_bin(uow, clerk, code)
        self.clock.at = china(self.opened, 9, 30)
        for number, zh, en, spec, category, uom, abc, cost, _opening in self.parts.values():
            catalogue.add_part(uow, clerk, part_number=number, name_zh=zh, name_en=en, spec=spec or None,
                               category=category, uom=uom, abc=abc, unit_cost=cost, home_bin=self.home[number],
                               safety_stock=SAFETY.get(number), reorder_qty=RESTOCK[category])
        self.clock.at = china(self.opened, 11)
        lead = self.users[Role.LEAD]
        for model, lines in BOM.items():
            for designator, number, qty in lines:
                catalogue.add_bom_line(uow, lead, model, designator, number, qty)
        self.clock.at = china(self.opened, 14)
        opening = [(n, p[8]) for n, p in self.parts.items() if p[8] is not None and n not in {s[0] for s in SLOW_BATCH}]
        self._deliver(opening, note_prefix="INIT", jitter=False)

    def _deliver(self, lines: list[tuple[str, str]], *, note_prefix: str = "DN", jitter: bool = True) -> None:
        """One delivery note per supplier for the lines, at the clock's time."""
        by_supplier: dict[str, list[tuple[str, str]]] = {}
        for number, qty in lines:
            by_supplier.setdefault(self.supplier[self.parts[number][4]], []).append((number, qty))
        local = self.clock.at.astimezone(CHINA)
        for supplier, items in sorted(by_supplier.items()):
            self.notes += 1
            note = f"{note_prefix}-{local:%y%m%d}-{self.notes:03d}"
            for line, (number, qty) in enumerate(items, start=1):
                cost = self.parts[number][7]
                if jitter:  # suppliers' prices move a little from delivery to delivery
                    cost = f"{float(cost) * self.rng.choice((0.96, 0.98, 1.0, 1.0, 1.03, 1.05)):.4f}"
                stock.receive(self.uow, self.clerk, supplier=supplier, delivery_note=note, line=line,
                              part_number=number, bin_code=self.home[number], quantity=qty, unit_cost=cost)

    # -------------------------------------------------------------- what happens on dates

    def schedule(self, at: Schedule) -> None:
        """Monthly deliveries, the slow batch, the two counts and every month's closing."""
        first = add_months(self.month_now, -MONTHS_OF_HISTORY)
        slow = month_day(add_months(self.month_now, -8), 12)
        at(china(slow, 10, 15), 1, lambda: self._at(china(slow, 10, 15), lambda: self._deliver(
            [(p[0], self.rng.choice(("2", "3", "4"))) for p in SLOW_BATCH])))
        for k in range(6, 0, -1):
            day = month_day(add_months(self.month_now, -k), 6)
            picks = self.rng.sample(MONTHLY, 5)
            at(china(day, 10, 30), 1, lambda day=day, picks=picks: self._at(china(day, 10, 30),
                                                                            lambda: self._deliver(list(picks))))
        c_day = _working_day(self.today - timedelta(days=100))
        at(china(c_day, 13, 30), 1, lambda: self._count(c_day, "C", short="C-100U-25V"))
        at(china(c_day, 16, 40), 1, lambda: self._close_count(china(c_day, 16, 40), approve=False))
        a_day = _working_day(self.today - timedelta(days=24))
        at(china(a_day, 13, 30), 1, lambda: self._count(a_day, "A", short="IC-PMIC-RK809"))
        after = _working_day(a_day + timedelta(days=1))
        at(china(after, 9, 20), 1, lambda: self._close_count(china(after, 9, 20), approve=True))
        m = first
        while m < self.month_now:
            day = month_day(add_months(m, 1), 3)
            if china(day, 10) < china(self.today, 0):
                at(china(day, 10), 1, lambda m=m, day=day: self._at(
                    china(day, 10), lambda: reports.close_month(self.uow, self.clerk, month_text(m))))
            m = add_months(m, 1)

    def _at(self, when: datetime, action: Action) -> None:
        self.clock.at = when
        action()

    def _count(self, day: date, scope: str, *, short: str) -> None:
        """A count: every line as the shelf has it (what the ledger says), but one part one short."""
        self.clock.at = china(day, 13, 30)
        sheet = counts.start_count(self.uow, self.clerk, scope)
        self.counting = sheet["code"]
        for n, line in enumerate(sheet["lines"]):
            self.clock.at = china(day, 13, 35) + timedelta(seconds=20 * n)
            held = next((r["quantity"] for r in stock.on_hand(self.uow, part_number=line["part_number"],
                                                               bin_code=line["bin"])), "0")
            shelf = str(int(float(held)) - 1) if line["part_number"] == short else held
            done = counts.enter_count(self.uow, self.clerk, self.counting, line["bin"], line["part_number"], shelf)
            if done["status"] == "recount":  # counted again: still one short
                counts.enter_count(self.uow, self.clerk, self.counting, line["bin"], line["part_number"], shelf)

    def _close_count(self, when: datetime, *, approve: bool) -> None:
        """The lead approves what still waits (the reason in words), and the clerk closes the count."""
        self.clock.at = when
        code, lead = self.counting, self.users[Role.LEAD]
        if approve:
            for line in counts.count_report(self.uow, lead, code)["lines"]:
                if line["status"] == "approval":
                    counts.approve_variance(self.uow, lead, code, line["bin"], line["part_number"],
                                            "维修台抽屉中找到一颗已拆封损坏的芯片，按报废处理")
        self.clock.at = when + timedelta(minutes=10)
        counts.close_count(self.uow, self.clerk, code)

    # -------------------------------------------------------------- a visit's parts

    def part_for(self, model: str, case_part: str | None) -> str | None:
        return CASE_PARTS.get(case_part or "", {}).get(model)

    def step(self, event: str, visit: Visit, case_part: str | None) -> None:
        """A visit's parts event of the demo's plan, done through the services."""
        number = self.part_for(visit.unit.model.code, case_part)
        uow, tech = self.uow, self.users[Role.TECHNICIAN]
        qty = "2" if number == "CN-TERM-025" else "1"
        if event == "refurbished_into_stock":
            services.refurbish_into_stock(uow, tech, visit.tag)
        elif number is None:
            return
        elif event == "parts_requested":
            designator = self._designator(visit, number)
            services.request_parts(uow, tech, visit.tag, [(number, qty, designator)] if designator
                                   else [(number, qty)])
        elif event == "parts_backordered":
            services.backorder(uow, self.clerk, visit.tag, number)
        elif event == "parts_issued":
            held = sum(float(r["quantity"]) for r in stock.on_hand(uow, part_number=number,
                                                                    bin_code=self.home[number]))
            if held < float(qty):  # the order for it (or a restock) came in just now
                wanted = qty if case_part in ON_DEMAND else RESTOCK[self.parts[number][4]]
                self._deliver([(number, wanted)])
            services.issue_to_tag(uow, self.clerk, tag=visit.tag, part_number=number, bin_code=self.home[number])
        elif event == "part_fitted":
            designator = self._designator(visit, number) or "J1"
            services.fit_part(uow, tech, visit.tag, number, qty, designator)
            if self._warranty(visit) == "in":  # the faulty one goes to old parts for the supplier claim
                self.clock.at += timedelta(seconds=40)
                services.remove_old_part(uow, tech, visit.tag, number, qty, designator=designator,
                                         note="故障件，随派工单退供应商索赔")

    def _designator(self, visit: Visit, number: str) -> str | None:
        return next((d for d, n, _q in BOM.get(visit.unit.model.code, ()) if n == number), None)

    def _warranty(self, visit: Visit) -> str | None:
        from rma.intake.models import IntakeRecord

        record = self.uow.session.scalar(select(IntakeRecord).where(IntakeRecord.visit_id == visit.id))
        return record.warranty.value if record else None
