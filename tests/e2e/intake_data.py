"""What the intake browser tests find in the depot before the clerk starts: made through the services."""

from __future__ import annotations

from datetime import date, timedelta

from rma.core import catalogue, services as core
from rma.core.models import Role, Unit
from rma.core.states import VisitState
from rma.db import Database
from rma.intake import services

REASON = "NOPWR"
INTERCEPT_ACTION = "Replace the GPS module (批次拦截 2026-07)"
IN_WARRANTY = "HU88000003"  # sold 100 days ago: in warranty
OUT_OF_WARRANTY = "HU88000004"  # sold three years ago
INTERCEPTED = "HU88000150"  # inside the interception's serial range
REPEATED = "HU88000200"  # repaired and shipped back last week


def seed_intake(db_url: str) -> dict[str, str]:
    """A supervisor, a reason code, a dash-cam model, factory records, an interception plan, and a
    unit that already went through the depot once (so it comes back as a repeat). Returns tags."""
    db = Database.from_url(db_url)
    today = date.today()
    try:
        with db.uow() as uow:
            admin = core.get_actor(uow, "admin")
            boss = core.add_user(uow, admin, username="boss", password="boss-pass-1", roles=[Role.SUPERVISOR],
                                 display_name="Chen Jie")
            core.add_user(uow, admin, username="stores", password="stores-pass-1", roles=[Role.MATERIALS],
                          display_name="Zhao Lei")
            services.add_reason(uow, boss, REASON, "不开机 no power")
            services.add_reason(uow, boss, "NOSCR", "黑屏 no picture")
            catalogue.add_model(uow, boss, code="DC-220", name="行车记录仪 DC-220", family="dash_cam",
                                serial_pattern=r"^DC22\d{6}$", warranty_months=12,
                                accessories=["suction mount", "microSD"])
            catalogue.add_customer(uow, boss, code="GZ-TH02", name="广州天河汽车服务有限公司", region="华南")
            model = catalogue.get_model(uow, "HU-8800")
            for serial, sold in ((IN_WARRANTY, today - timedelta(days=100)),
                                 (OUT_OF_WARRANTY, today - timedelta(days=3 * 365))):
                uow.session.add(Unit(serial=serial, model=model, sold_on=sold, manufactured_on=sold - timedelta(days=30),
                                     created_at=uow.now()))
            services.add_interception(uow, boss, model_code="HU-8800", serial_from="HU88000100",
                                      serial_to="HU88000199", action=INTERCEPT_ACTION)
        first = receive(db, REPEATED, waybill="SF900000000001", customer="GZ-TH02")
        with db.uow() as uow:
            lead = core.get_actor(uow, "lead")
            for state in ("in_repair", "awaiting_test", "in_test", "passed"):  # closing the parcel handed it to the bench
                core.move_visit(uow, lead, first, VisitState(state), "repaired")
        with db.uow() as uow:
            services.ship_unit(uow, core.get_actor(uow, "clerk"), first, courier="SF", waybill="SF900000000002")
        return {"repeat_of": first}
    finally:
        db.dispose()


def receive(db: Database, serial: str, *, waybill: str, customer: str = "SH-PD01", close: bool = True) -> str:
    """A unit received by the clerk in its own parcel (closed), as the CLI would; returns its tag."""
    with db.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        parcel, _ = services.receive_parcel(uow, clerk, courier="SF", waybill=waybill, customer_code=customer)
        tag = services.receive_unit(uow, clerk, parcel, serial, reason_code=REASON).visit.tag
    if close:
        with db.uow() as uow:
            services.close_parcel(uow, core.get_actor(uow, "clerk"), waybill)
    return tag
