"""A small store for tests: a materials clerk, bins, a supplier, parts with a bill of materials,
stock received, and units at the bench; made through the services."""

from __future__ import annotations

from datetime import datetime

from rma.core import services
from rma.core.models import Role
from rma.core.states import VisitState
from rma.db import Database
from rma.inventory import catalogue, stock
from tests.factories import receive_unit, seed_basics

PARTS = (  # part number, 中文, English, category, uom, abc, cost
    ("IC-TDA7851", "功放IC TDA7851", "Amplifier IC TDA7851", "ic", "each", "A", "18.60"),
    ("IC-PMIC-88", "电源管理IC", "Power management IC", "ic", "each", "A", "9.80"),
    ("C-100U-25V", "电解电容 100uF 25V", "Electrolytic capacitor 100uF 25V", "passive", "each", "C", "0.0850"),
    ("W-FFC-40P", "排线 40P", "Flat cable 40-pin", "harness", "m", "B", "3.20"),
    ("SPI-W25Q128", "SPI Flash W25Q128（空白）", "SPI flash W25Q128 (blank)", "ic", "each", "B", "4.50"),
)
BOM = (("U12", "IC-PMIC-88"), ("U30", "IC-TDA7851"), ("C45", "C-100U-25V"), ("C46", "C-100U-25V"),
       ("FPC1", "W-FFC-40P"), ("U7", "SPI-W25Q128"))
STOCK = (("A-01-01", "IC-TDA7851", "10"), ("A-01-02", "IC-PMIC-88", "6"), ("B-02-01", "C-100U-25V", "500"),
         ("B-02-02", "W-FFC-40P", "12.50"), ("A-02-01", "SPI-W25Q128", "40"))
MATERIALS_PASSWORD = "materials-pass"


def seed_stores(db: Database, *, units: int = 2, clock=None) -> dict[str, object]:  # noqa: ANN001
    """The basics (tests.factories), a materials clerk, the store, and ``units`` visits in repair."""
    seed_basics(db)
    with db.uow(clock=clock) as uow:
        admin = services.get_actor(uow, "admin")
        services.add_user(uow, admin, username="materials", password=MATERIALS_PASSWORD, roles=[Role.MATERIALS])
    with db.uow(clock=clock) as uow:
        clerk = services.get_actor(uow, "materials")
        catalogue.add_supplier(uow, clerk, "SZ-HX", "深圳华星电子有限公司")
        for code in sorted({b for b, _p, _q in STOCK} | {"A-09-09"}):
            catalogue.add_bin(uow, clerk, code)
        for number, zh, en, category, uom, abc, cost in PARTS:
            catalogue.add_part(uow, clerk, part_number=number, name_zh=zh, name_en=en, category=category, uom=uom,
                               abc=abc, unit_cost=cost)
    with db.uow(clock=clock) as uow:
        lead = services.get_actor(uow, "lead")
        for ref, number in BOM:
            catalogue.add_bom_line(uow, lead, "HU-8800", ref, number)
    for n, (bin_code, number, qty) in enumerate(STOCK, start=1):
        with db.uow(clock=clock) as uow:
            stock.receive(uow, services.get_actor(uow, "materials"), supplier="SZ-HX", delivery_note="DN-0001",
                          line=n, part_number=number, bin_code=bin_code, quantity=qty)
    tags = [at_bench(db, f"HU8800{n:04d}", clock=clock) for n in range(1, units + 1)]
    return {"tags": tags}


def at_bench(db: Database, serial: str, *, clock=None) -> str:  # noqa: ANN001
    """A unit received and moved by the lead to the bench: its visit is in repair."""
    tag = receive_unit(db, serial)
    with db.uow(clock=clock) as uow:
        lead = services.get_actor(uow, "lead")
        services.move_visit(uow, lead, tag, VisitState.AWAITING_BENCH, "to the bench")
        services.move_visit(uow, lead, tag, VisitState.IN_REPAIR, "repair starts")
    return tag


def fixed(at: datetime):  # noqa: ANN201
    return lambda: at
