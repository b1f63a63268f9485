"""Small builders for tests: users, a catalogue, units and visits, made through the services."""

from __future__ import annotations

from datetime import date

from rma.core import services
from rma.core.models import Customer, ProductModel, Role, Unit
from rma.db import Database


def seed_basics(db: Database) -> dict[str, str]:
    """An admin, a clerk, a lead, a technician; one model, one customer. Returns passwords."""
    with db.uow() as uow:
        admin = services.add_user(uow, None, username="admin", password="admin-pass", roles=[Role.ADMIN])
        for name, role in (("clerk", Role.CLERK), ("lead", Role.LEAD), ("tech", Role.TECHNICIAN),
                           ("boss", Role.SUPERVISOR)):
            services.add_user(uow, admin, username=name, password=f"{name}-pass", roles=[role])
        uow.session.add(ProductModel(code="HU-8800", name="Head unit 8800", family="head_unit",
                                     serial_pattern=r"^HU88\d{6}$", warranty_months=24,
                                     firmware_version="3.2.1", accessories=["harness", "bracket"]))
        uow.session.add(Customer(code="SH-PD01", name="上海浦东汽车销售服务有限公司", region="华东"))
    return {n: f"{n}-pass" for n in ("admin", "clerk", "lead", "tech", "boss")}


def receive_unit(db: Database, serial: str, reason: str = "no power") -> str:
    """A unit received by the clerk; returns the new visit's tag."""
    from sqlalchemy import select

    with db.uow() as uow:
        clerk = services.get_actor(uow, "clerk")
        model = uow.session.scalar(select(ProductModel).where(ProductModel.code == "HU-8800"))
        customer = uow.session.scalar(select(Customer).where(Customer.code == "SH-PD01"))
        unit = uow.session.scalar(select(Unit).where(Unit.serial == serial))
        if unit is None:
            unit = Unit(serial=serial, model=model, manufactured_on=date(2025, 3, 1), created_at=uow.now())
            uow.session.add(unit)
            uow.session.flush()
        return services.open_visit(uow, clerk, unit, customer=customer, reason=reason).tag
