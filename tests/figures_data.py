"""A small June made through the services (see tests/integration/test_figures.py for the story),
shared by the figures' tests, the monthly report's and the dashboard's browser test."""

from __future__ import annotations

from datetime import datetime

from drivers.fixture_sim import FixtureSimulator
from rma.bench import labour
from rma.bench import services as bench
from rma.core import services as core
from rma.core.models import Role
from rma.core.states import VisitState
from rma.intake import services as intake
from rma.test_station import services as station
from tests.factories import seed_basics

FIRMWARE = "3.2.1"
ANSWERS = {"display_red": "yes", "harness_id": "TH-0042"}


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2025, 6, day, hour, minute).astimezone()


def act(db, when: datetime, who: str, fn, *args, **kw):
    with db.with_clock(lambda: when).uow() as uow:
        return fn(uow, core.get_actor(uow, who), *args, **kw)


def run_at(db, when, tag, url):
    return station.run_test(db.with_clock(lambda: when), "tess", tag, port=url, answers=ANSWERS,
                            accessories_ok=True, incoming=False)




def make_june(db, *, seeded: bool = False) -> dict[str, str]:
    """The June of the story; returns the tags by unit name (U1 … U6, U1b: U1 back).

    ``seeded``: the browser tests' station already holds the admin, clerk, lead, model and customer."""
    if not seeded:
        seed_basics(db)
    with db.uow() as uow:
        admin = core.get_actor(uow, "admin")
        core.add_user(uow, admin, username="tess", password="tess-pass", roles=[Role.TESTER])
        if seeded:
            core.add_user(uow, admin, username="tech", password="tech-pass", roles=[Role.TECHNICIAN])
            core.add_user(uow, admin, username="boss", password="boss-pass-1", roles=[Role.SUPERVISOR])
    act(db, at(1), "boss", intake.add_interception, model_code="HU-8800", action="replace U12",
        serial_from="HU88100006", serial_to="HU88100006")
    tags: dict[str, str] = {}

    def parcel(day: int, courier: str, waybill: str, cost: str, serials: list[str]) -> list[str]:
        out = []
        with db.with_clock(lambda: at(day)).uow() as uow:
            clerk = core.get_actor(uow, "clerk")
            p, _new = intake.receive_parcel(uow, clerk, courier=courier, waybill=waybill, customer_code="SH-PD01",
                                            declared=len(serials), cost=cost)
            for s in serials:
                out.append(intake.receive_unit(uow, clerk, p, s, reason_text="no picture").visit.tag)
            intake.close_parcel(uow, clerk, waybill, courier)
        return out

    t = parcel(2, "SF", "SF1000000001", "20.00", [f"HU8810000{i}" for i in range(1, 6)])
    tags.update(zip(("U1", "U2", "U3", "U4", "U5"), t, strict=True))

    def take(tag: str, finding: dict | None, hours: tuple[int, int] = (10, 11)) -> None:
        act(db, at(3, hours[0]), "tech", bench.start_repair, tag)
        act(db, at(3, hours[0]), "tech", labour.start, tag)
        act(db, at(3, hours[0], 5), "tech", bench.code_complaint, tag, condition="5", symptom="202")
        if finding:
            act(db, at(3, hours[0], 10), "tech", bench.add_finding, tag, **finding)
        act(db, at(3, hours[1]), "tech", labour.end, tag)

    lcd = {"section": "LCD", "designator": "J3", "defect": "D09", "repair": "R08"}
    take(tags["U1"], lcd, (10, 11))  # 1 h
    take(tags["U2"], lcd, (11, 13))  # 2 h
    take(tags["U3"], {"nff": True}, (13, 14))  # 1 h
    take(tags["U4"], {"section": "PWR", "designator": "U12", "defect": "D03", "repair": "R01"}, (14, 15))  # 1 h
    for u in ("U1", "U2", "U3"):
        act(db, at(3, 16), "tech", bench.decide, tags[u], "test")
    act(db, at(3, 9), "tech", bench.start_repair, tags["U5"])
    act(db, at(3, 23, 59), "tech", bench.decide, tags["U4"], "return", reason="customer refused the quote")

    with FixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        assert run_at(db, at(4, 10), tags["U1"], sim.url).outcome.value == "pass"
        assert run_at(db, at(4, 11), tags["U3"], sim.url).outcome.value == "pass"
    with FixtureSimulator("head_unit", firmware=FIRMWARE, faults=["dead_rail"]) as sim:
        assert run_at(db, at(4, 12), tags["U2"], sim.url).outcome.value == "fail"
    act(db, at(6, 10), "tech", bench.decide, tags["U2"], "test")
    with FixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        assert run_at(db, at(7, 10), tags["U2"], sim.url).outcome.value == "pass"

    act(db, at(5), "clerk", intake.ship_unit, "HU88100001", courier="SF", waybill="SF2000000001", cost="15.00")
    act(db, at(9), "clerk", intake.ship_unit, "HU88100002", courier="SF", waybill="SF2000000002", cost="15.00")
    act(db, at(12), "lead", core.move_visit, tags["U3"], VisitState.REFURBISHED, "into stock")
    later = parcel(27, "ZTO", "ZT3000000001", "12.50", ["HU88100001", "HU88100006"])
    tags.update(zip(("U1b", "U6"), later, strict=True))
    return tags


